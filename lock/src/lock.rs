//! [`Lock`]: a mutual-exclusion lock.

use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{Notify, Waitable, WaiterKey};

use crate::core::{Core, OverRelease};
use crate::semaphore::SemaphoreGuard;

/// The guard of a [`Lock`]: the lock is released when it is dropped.
pub type LockGuard<'a> = SemaphoreGuard<'a>;

/// A lock for greenlets: a [`BoundedSemaphore`](crate::BoundedSemaphore) of one permit, held
/// by at most one greenlet at a time (gevent's `Semaphore(1)` used as a lock, and
/// `threading.Lock` once monkey-patched). It is not re-entrant: see [`RLock`](crate::RLock).
/// Greenlets waiting for it get it in FIFO order.
///
/// `Lock` is a cheap handle: clones share one lock. It is `!Send`.
///
/// # Examples
///
/// ```
/// use std::{cell::RefCell, rc::Rc, time::Duration};
/// use gevent_lock::Lock;
///
/// let lock = Lock::new();
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let gs: Vec<_> = (0..3).map(|i| {
///     let (lock, log) = (lock.clone(), log.clone());
///     gevent_hub::spawn(move || {
///         let _held = lock.lock();
///         log.borrow_mut().push(format!("{i} in"));
///         gevent_hub::sleep(Duration::from_millis(1));
///         log.borrow_mut().push(format!("{i} out"));
///     })
/// }).collect();
/// gevent_hub::joinall(&gs);
/// assert_eq!(*log.borrow(), ["0 in", "0 out", "1 in", "1 out", "2 in", "2 out"]);
/// ```
#[derive(Clone)]
pub struct Lock {
    /// A semaphore with one permit, bounded at one.
    core: Rc<Core>,
}

impl Lock {
    /// A new, unlocked lock.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!gevent_lock::Lock::new().locked());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new() -> Lock {
        Lock {
            core: Rc::new(Core::new(1, Some(1))),
        }
    }

    /// Locks it, waiting while another greenlet holds it. Pair with
    /// [`release`](Lock::release), or use [`lock`](Lock::lock) for a guard.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_lock::Lock::new();
    /// l.acquire();
    /// assert!(l.locked());
    /// l.release();
    /// ```
    ///
    /// # Panics
    ///
    /// With [`LoopExit`](gevent_hub::LoopExit) when the main greenlet waits and nothing can
    /// ever release the lock (for instance it already holds it); re-raises a kill or timeout
    /// aimed at the greenlet.
    ///
    /// # Switches
    ///
    /// Only if the lock is held.
    ///
    /// # Kill safety
    ///
    /// A greenlet killed (or timed out) while it waits does not get the lock; if the lock was
    /// handed to it just before the kill, it goes to the next waiter.
    pub fn acquire(&self) {
        self.core.acquire_opt(None);
    }

    /// Locks it, waiting at most `timeout`; returns whether it did.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let l = gevent_lock::Lock::new();
    /// assert!(l.acquire_timeout(Duration::from_millis(1)));
    /// assert!(!l.acquire_timeout(Duration::from_millis(1)));
    /// ```
    ///
    /// # Switches
    ///
    /// Only if the lock is held and `timeout` is not zero.
    ///
    /// # Kill safety
    ///
    /// As [`acquire`](Lock::acquire).
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.core.acquire_opt(Some(timeout))
    }

    /// Locks it if it is free now.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_lock::Lock::new();
    /// assert!(l.try_acquire());
    /// assert!(!l.try_acquire());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn try_acquire(&self) -> bool {
        self.core.try_acquire()
    }

    /// Unlocks it: the greenlet that has waited longest gets it.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_lock::Lock::new();
    /// l.acquire();
    /// l.release();
    /// assert!(!l.locked());
    /// ```
    ///
    /// # Panics
    ///
    /// If the lock is not locked.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn release(&self) {
        if self.core.try_release().is_err() {
            panic!("Lock::release: the lock is not locked");
        }
    }

    /// Unlocks it, unless it is not locked.
    ///
    /// # Errors
    ///
    /// [`OverRelease`] if it is not locked.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_lock::Lock::new();
    /// assert!(l.try_release().is_err());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn try_release(&self) -> Result<(), OverRelease> {
        self.core.try_release()
    }

    /// Locks it and returns a guard that unlocks it when dropped (`with lock:`).
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_lock::Lock::new();
    /// {
    ///     let _g = l.lock();
    ///     assert!(l.locked());
    /// }
    /// assert!(!l.locked());
    /// ```
    ///
    /// # Panics
    ///
    /// As [`acquire`](Lock::acquire).
    ///
    /// # Switches
    ///
    /// Only if the lock is held.
    ///
    /// # Kill safety
    ///
    /// As [`acquire`](Lock::acquire); a greenlet killed while it holds the guard unlocks as it
    /// unwinds.
    pub fn lock(&self) -> LockGuard<'_> {
        self.core.acquire_opt(None);
        SemaphoreGuard::new(&self.core)
    }

    /// [`lock`](Lock::lock) if it is free now.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_lock::Lock::new();
    /// let g = l.try_lock();
    /// assert!(g.is_some() && l.try_lock().is_none());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn try_lock(&self) -> Option<LockGuard<'_>> {
        self.core
            .try_acquire()
            .then(|| SemaphoreGuard::new(&self.core))
    }

    /// [`lock`](Lock::lock), waiting at most `timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let l = gevent_lock::Lock::new();
    /// assert!(l.lock_timeout(Duration::from_millis(1)).is_some());
    /// ```
    ///
    /// # Switches
    ///
    /// Only if the lock is held and `timeout` is not zero.
    ///
    /// # Kill safety
    ///
    /// As [`acquire`](Lock::acquire).
    pub fn lock_timeout(&self, timeout: Duration) -> Option<LockGuard<'_>> {
        self.core
            .acquire_opt(Some(timeout))
            .then(|| SemaphoreGuard::new(&self.core))
    }

    /// Whether it is locked.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_lock::Lock::new();
    /// let _g = l.lock();
    /// assert!(l.locked());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn locked(&self) -> bool {
        self.core.counter() == 0
    }

    /// How many greenlets wait for it.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_lock::Lock::new();
    /// let _g = l.lock();
    /// let l2 = l.clone();
    /// let w = gevent_hub::spawn(move || l2.acquire_timeout(std::time::Duration::from_millis(20)));
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// assert_eq!(l.waiter_count(), 1);
    /// # w.join();
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

impl Default for Lock {
    fn default() -> Self {
        Lock::new()
    }
}

impl Waitable for Lock {
    /// Whether the lock is free.
    fn ready(&self) -> bool {
        self.core.ready()
    }

    fn add_waiter(&self, notify: Notify) -> WaiterKey {
        self.core.add_waiter(notify)
    }

    fn remove_waiter(&self, key: WaiterKey) {
        self.core.remove_waiter(key)
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.locked())
            .field("waiters", &self.waiter_count())
            .finish()
    }
}
