//! [`Semaphore`], [`BoundedSemaphore`] and their guard.

use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{GreenletError, Notify, Waitable, WaiterKey};

use crate::core::{Core, OverRelease};

/// A counting semaphore for greenlets (gevent's `Semaphore`): [`acquire`](Semaphore::acquire)
/// takes one of its permits, waiting while there are none; [`release`](Semaphore::release)
/// gives one back (and may add permits beyond the initial count; see [`BoundedSemaphore`] to
/// forbid that).
///
/// Waiters are served in FIFO order: a released permit goes to the greenlet that has waited
/// longest, never to one that arrives later. `Semaphore` is a cheap handle: clones share one
/// semaphore. It is `!Send`.
///
/// # Examples
///
/// At most two greenlets in the section at once:
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// use gevent_lock::Semaphore;
///
/// let sem = Semaphore::new(2);
/// let inside = Rc::new(Cell::new(0));
/// let gs: Vec<_> = (0..6).map(|_| {
///     let (sem, inside) = (sem.clone(), inside.clone());
///     gevent_hub::spawn(move || {
///         let _permit = sem.lock();
///         inside.set(inside.get() + 1);
///         assert!(inside.get() <= 2);
///         gevent_hub::sleep(Duration::from_millis(1));
///         inside.set(inside.get() - 1);
///     })
/// }).collect();
/// gevent_hub::joinall(&gs);
/// assert!(gs.iter().all(|g| g.successful()));
/// assert_eq!(sem.counter(), 2);
/// ```
#[derive(Clone)]
pub struct Semaphore {
    /// The shared semaphore.
    core: Rc<Core>,
}

/// A [`Semaphore`] that may not be released above its initial count (gevent's
/// `BoundedSemaphore`): such a release is a bug, reported by
/// [`try_release`](BoundedSemaphore::try_release) as an error and by
/// [`release`](BoundedSemaphore::release) as a panic.
///
/// # Examples
///
/// ```
/// let sem = gevent_lock::BoundedSemaphore::new(2);
/// sem.acquire();
/// sem.release();
/// assert!(sem.try_release().is_err()); // already at 2
/// {
///     let _guard = sem.lock(); // `with sem:`
///     assert_eq!(sem.counter(), 1);
/// }
/// assert_eq!(sem.counter(), 2);
/// ```
#[derive(Clone)]
pub struct BoundedSemaphore {
    /// The shared semaphore.
    core: Rc<Core>,
}

/// A permit of a semaphore (or a [`Lock`](crate::Lock)), returned when the guard is dropped:
/// gevent's `with sem:` block.
///
/// # Examples
///
/// ```
/// let sem = gevent_lock::Semaphore::new(1);
/// let guard = sem.lock();
/// assert!(sem.locked());
/// drop(guard);
/// assert!(!sem.locked());
/// ```
#[must_use = "the permit is released as soon as the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    /// The semaphore the permit belongs to.
    core: &'a Core,
}

impl<'a> SemaphoreGuard<'a> {
    /// A guard for a permit already taken from `core`.
    pub(crate) fn new(core: &'a Core) -> SemaphoreGuard<'a> {
        SemaphoreGuard { core }
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        self.core.release_held();
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").finish_non_exhaustive()
    }
}

/// The methods both semaphores share (documented once, generated twice).
macro_rules! semaphore_methods {
    ($ty:ident, $name:literal) => {
        impl $ty {
            #[doc = concat!("Takes a permit, waiting for one if there is none (gevent's `acquire()`).")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let s = gevent_lock::", $name, "::new(1);")]
            /// s.acquire();
            /// assert_eq!(s.counter(), 0);
            /// s.release();
            /// ```
            ///
            /// # Panics
            ///
            /// With [`LoopExit`](gevent_hub::LoopExit) when the main greenlet waits and nothing
            /// can ever release a permit; re-raises a kill or timeout aimed at the greenlet.
            /// Panics if it has to wait inside the hub (a callback).
            ///
            /// # Switches
            ///
            /// Only if no permit is available.
            ///
            /// # Kill safety
            ///
            /// A greenlet killed (or timed out) while it waits takes no permit and loses none:
            /// a permit handed to it just before the kill goes to the next waiter.
            pub fn acquire(&self) {
                self.core.acquire_opt(None);
            }

            /// Takes a permit, waiting at most `timeout`; returns whether it got one (gevent's
            /// `acquire(timeout=...)`).
            ///
            /// # Examples
            ///
            /// ```
            /// use std::time::Duration;
            #[doc = concat!("let s = gevent_lock::", $name, "::new(0);")]
            /// assert!(!s.acquire_timeout(Duration::from_millis(5)));
            /// ```
            ///
            /// # Panics
            ///
            #[doc = concat!("As [`acquire`](", stringify!($ty), "::acquire).")]
            ///
            /// # Switches
            ///
            /// Only if no permit is available and `timeout` is not zero.
            ///
            /// # Kill safety
            ///
            #[doc = concat!("As [`acquire`](", stringify!($ty), "::acquire); a waiter that times out takes no permit either.")]
            pub fn acquire_timeout(&self, timeout: Duration) -> bool {
                self.core.acquire_opt(Some(timeout))
            }

            /// Takes a permit if one is available now (gevent's `acquire(blocking=False)`).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let s = gevent_lock::", $name, "::new(1);")]
            /// assert!(s.try_acquire());
            /// assert!(!s.try_acquire());
            /// ```
            ///
            /// # Switches
            ///
            /// Never.
            pub fn try_acquire(&self) -> bool {
                self.core.try_acquire()
            }

            /// Takes a permit (waiting as [`acquire`](Self::acquire) does) and returns a guard
            /// that gives it back when dropped: gevent's `with sem:`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let s = gevent_lock::", $name, "::new(1);")]
            /// {
            ///     let _g = s.lock();
            ///     assert!(!s.try_acquire());
            /// }
            /// assert!(s.try_acquire());
            /// ```
            ///
            /// # Panics
            ///
            /// As [`acquire`](Self::acquire).
            ///
            /// # Switches
            ///
            /// Only if no permit is available.
            ///
            /// # Kill safety
            ///
            /// As [`acquire`](Self::acquire); a greenlet killed while it holds the guard
            /// releases the permit as it unwinds.
            pub fn lock(&self) -> SemaphoreGuard<'_> {
                self.core.acquire_opt(None);
                SemaphoreGuard::new(&self.core)
            }

            /// [`lock`](Self::lock) if a permit is available now.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let s = gevent_lock::", $name, "::new(1);")]
            /// let g = s.try_lock().unwrap();
            /// assert!(s.try_lock().is_none());
            /// drop(g);
            /// ```
            ///
            /// # Switches
            ///
            /// Never.
            pub fn try_lock(&self) -> Option<SemaphoreGuard<'_>> {
                self.core
                    .try_acquire()
                    .then(|| SemaphoreGuard::new(&self.core))
            }

            /// [`lock`](Self::lock), waiting at most `timeout`.
            ///
            /// # Examples
            ///
            /// ```
            /// use std::time::Duration;
            #[doc = concat!("let s = gevent_lock::", $name, "::new(1);")]
            /// let _g = s.lock();
            /// assert!(s.lock_timeout(Duration::from_millis(2)).is_none());
            /// ```
            ///
            /// # Switches
            ///
            /// Only if no permit is available and `timeout` is not zero.
            ///
            /// # Kill safety
            ///
            /// As [`acquire_timeout`](Self::acquire_timeout).
            pub fn lock_timeout(&self, timeout: Duration) -> Option<SemaphoreGuard<'_>> {
                self.core
                    .acquire_opt(Some(timeout))
                    .then(|| SemaphoreGuard::new(&self.core))
            }

            /// How many permits are available now (gevent's `counter`).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("assert_eq!(gevent_lock::", $name, "::new(3).counter(), 3);")]
            /// ```
            ///
            /// # Switches
            ///
            /// Never.
            #[doc(alias = "available")]
            pub fn counter(&self) -> usize {
                self.core.counter()
            }

            /// Whether no permit is available now (`acquire` would wait).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let s = gevent_lock::", $name, "::new(1);")]
            /// assert!(!s.locked());
            /// s.acquire();
            /// assert!(s.locked());
            /// ```
            ///
            /// # Switches
            ///
            /// Never.
            pub fn locked(&self) -> bool {
                self.core.counter() == 0
            }

            /// Waits until a permit is available, without taking it (gevent's `wait()`).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let s = gevent_lock::", $name, "::new(1);")]
            /// s.wait();
            /// assert_eq!(s.counter(), 1);
            /// ```
            ///
            /// # Panics
            ///
            /// As [`acquire`](Self::acquire).
            ///
            /// # Switches
            ///
            /// Only if no permit is available.
            ///
            /// # Kill safety
            ///
            /// Nothing to undo: the registration is removed.
            pub fn wait(&self) {
                self.core.wait_opt(None);
            }

            /// Waits at most `timeout` until a permit is available, without taking it; returns
            /// whether one is.
            ///
            /// # Examples
            ///
            /// ```
            /// use std::time::Duration;
            #[doc = concat!("let s = gevent_lock::", $name, "::new(0);")]
            /// assert!(!s.wait_timeout(Duration::from_millis(2)));
            /// ```
            ///
            /// # Switches
            ///
            /// Only if no permit is available.
            ///
            /// # Kill safety
            ///
            /// Nothing to undo: the registration is removed.
            pub fn wait_timeout(&self, timeout: Duration) -> bool {
                self.core.wait_opt(Some(timeout))
            }

            /// How many greenlets are waiting in `acquire` (gevent's `linkcount`).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("assert_eq!(gevent_lock::", $name, "::new(1).waiter_count(), 0);")]
            /// ```
            ///
            /// # Switches
            ///
            /// Never.
            #[doc(alias = "linkcount")]
            pub fn waiter_count(&self) -> usize {
                self.core.waiter_count()
            }
        }

        impl Waitable for $ty {
            /// Whether a permit is available.
            fn ready(&self) -> bool {
                self.core.ready()
            }

            fn add_waiter(&self, notify: Notify) -> WaiterKey {
                self.core.add_waiter(notify)
            }

            fn remove_waiter(&self, key: WaiterKey) {
                self.core.remove_waiter(key)
            }

            fn failure(&self) -> Option<GreenletError> {
                None
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{:?}", $name, self.core)
            }
        }
    };
}

semaphore_methods!(Semaphore, "Semaphore");
semaphore_methods!(BoundedSemaphore, "BoundedSemaphore");

impl Semaphore {
    /// A semaphore with `permits` permits (gevent's `Semaphore(value)`; its default is 1).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_lock::Semaphore::new(2);
    /// assert_eq!(s.counter(), 2);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            core: Rc::new(Core::new(permits, None)),
        }
    }

    /// Gives a permit back: to the greenlet that has waited longest, if any, else to the
    /// counter (which may grow beyond the initial count).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_lock::Semaphore::new(0);
    /// s.release();
    /// assert_eq!(s.counter(), 1);
    /// ```
    ///
    /// # Switches
    ///
    /// Never: a woken waiter runs when the caller next waits. Callable from hub callbacks.
    pub fn release(&self) {
        let _ = self.core.try_release();
    }
}

impl Default for Semaphore {
    /// A semaphore with one permit, as gevent's `Semaphore()`.
    fn default() -> Self {
        Semaphore::new(1)
    }
}

impl BoundedSemaphore {
    /// A semaphore with `permits` permits, which is also its bound.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_lock::BoundedSemaphore::new(2);
    /// assert_eq!((s.counter(), s.bound()), (2, 2));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new(permits: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            core: Rc::new(Core::new(permits, Some(permits))),
        }
    }

    /// The bound: the initial number of permits.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gevent_lock::BoundedSemaphore::new(4).bound(), 4);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn bound(&self) -> usize {
        self.core.bound().unwrap_or(usize::MAX)
    }

    /// Gives a permit back: to the greenlet that has waited longest, if any, else to the
    /// counter.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_lock::BoundedSemaphore::new(1);
    /// s.acquire();
    /// s.release();
    /// ```
    ///
    /// # Panics
    ///
    /// If nobody waits and the counter is already at the bound ("semaphore released too many
    /// times"); see [`try_release`](BoundedSemaphore::try_release).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn release(&self) {
        if let Err(e) = self.core.try_release() {
            panic!("BoundedSemaphore::release: {e}");
        }
    }

    /// Gives a permit back, unless that would exceed the bound.
    ///
    /// # Errors
    ///
    /// [`OverRelease`] if nobody waits and the counter is already at the bound; nothing
    /// changes.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_lock::BoundedSemaphore::new(1);
    /// assert!(s.try_release().is_err());
    /// s.acquire();
    /// assert!(s.try_release().is_ok());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn try_release(&self) -> Result<(), OverRelease> {
        self.core.try_release()
    }
}

impl Default for BoundedSemaphore {
    /// A bounded semaphore with one permit.
    fn default() -> Self {
        BoundedSemaphore::new(1)
    }
}
