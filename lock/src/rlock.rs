//! [`RLock`]: a lock its owner may take again.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use crate::core::Core;

/// A re-entrant lock (gevent's `RLock`): held by one greenlet at a time, which may acquire it
/// again while it holds it; each `acquire` needs a matching `release`, and the lock is free
/// once the last is released. Only the owning greenlet may release it.
///
/// The owner is identified by its raw greenlet (its [`id`](greenlet::Greenlet::id)), so the
/// same greenlet owns it across any number of waits. Other greenlets wait in FIFO order.
/// A greenlet that dies holding the lock leaves it locked (use [`lock`](RLock::lock) guards:
/// they release as a kill unwinds). `RLock` is a cheap handle: clones share one lock. It is
/// `!Send`.
///
/// # Examples
///
/// ```
/// use gevent_lock::RLock;
///
/// let lock = RLock::new();
/// let outer = lock.lock();
/// let inner = lock.lock(); // the owner may take it again
/// let l2 = lock.clone();
/// let other = gevent_hub::spawn(move || l2.try_acquire());
/// assert!(!other.get().unwrap()); // another greenlet may not
/// drop(inner);
/// drop(outer);
/// assert!(!lock.locked());
/// ```
#[derive(Clone)]
pub struct RLock {
    /// The shared state.
    inner: Rc<Inner>,
}

/// The state shared by the handles of one lock.
struct Inner {
    /// One permit: taken by the owner's first acquire, returned by its last release.
    block: Core,
    /// The owning greenlet's id.
    ///
    /// # Invariant
    ///
    /// `Some` exactly when `count > 0`.
    owner: Cell<Option<u64>>,
    /// How many times the owner has acquired it without releasing.
    count: Cell<usize>,
}

/// The error of releasing an [`RLock`] from a greenlet that does not hold it.
///
/// # Examples
///
/// ```
/// let l = gevent_lock::RLock::new();
/// let e = l.try_release().unwrap_err();
/// assert_eq!(e.to_string(), "cannot release un-acquired lock");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotOwner;

impl fmt::Display for NotOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot release un-acquired lock")
    }
}

impl std::error::Error for NotOwner {}

/// A hold on an [`RLock`], released when dropped.
///
/// # Examples
///
/// ```
/// let l = gevent_lock::RLock::new();
/// let g = l.lock();
/// assert!(l.is_owned());
/// drop(g);
/// assert!(!l.locked());
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RLockGuard<'a> {
    /// The lock.
    inner: &'a Inner,
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        self.inner.release_one();
    }
}

impl fmt::Debug for RLockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLockGuard").finish_non_exhaustive()
    }
}

/// The running greenlet's id.
fn me() -> u64 {
    greenlet::getcurrent().id()
}

impl Inner {
    /// Acquires for the running greenlet, waiting at most `timeout` if given.
    fn acquire_opt(&self, timeout: Option<Duration>) -> bool {
        let me = me();
        if self.owner.get() == Some(me) {
            self.count.set(self.count.get() + 1);
            return true;
        }
        if !self.block.acquire_opt(timeout) {
            return false;
        }
        self.owner.set(Some(me));
        self.count.set(1);
        true
    }

    /// Drops one level of the running owner's hold.
    fn release_one(&self) {
        let n = self.count.get() - 1;
        self.count.set(n);
        if n == 0 {
            self.owner.set(None);
            self.block.release_held();
        }
    }
}

impl RLock {
    /// A new, unlocked lock.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!gevent_lock::RLock::new().locked());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new() -> RLock {
        RLock {
            inner: Rc::new(Inner {
                block: Core::new(1, Some(1)),
                owner: Cell::new(None),
                count: Cell::new(0),
            }),
        }
    }

    /// Acquires the lock: at once if the running greenlet owns it (one more level), else
    /// waiting until it is free.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_lock::RLock::new();
    /// l.acquire();
    /// l.acquire();
    /// l.release();
    /// l.release();
    /// assert!(!l.locked());
    /// ```
    ///
    /// # Panics
    ///
    /// With [`LoopExit`](gevent_hub::LoopExit) when the main greenlet waits and nothing can
    /// ever release the lock; re-raises a kill or timeout aimed at the greenlet.
    ///
    /// # Switches
    ///
    /// Only if another greenlet holds the lock.
    ///
    /// # Kill safety
    ///
    /// A greenlet killed (or timed out) while it waits does not get the lock; if it was handed
    /// the lock just before the kill, the lock goes to the next waiter.
    pub fn acquire(&self) {
        self.inner.acquire_opt(None);
    }

    /// [`acquire`](RLock::acquire), waiting at most `timeout`; returns whether it acquired.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let l = gevent_lock::RLock::new();
    /// assert!(l.acquire_timeout(Duration::from_millis(1)));
    /// let l2 = l.clone();
    /// let other = gevent_hub::spawn(move || l2.acquire_timeout(Duration::from_millis(5)));
    /// assert!(!other.get().unwrap());
    /// l.release();
    /// ```
    ///
    /// # Switches
    ///
    /// Only if another greenlet holds the lock and `timeout` is not zero.
    ///
    /// # Kill safety
    ///
    /// As [`acquire`](RLock::acquire).
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.inner.acquire_opt(Some(timeout))
    }

    /// [`acquire`](RLock::acquire) if that needs no waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_lock::RLock::new();
    /// assert!(l.try_acquire() && l.try_acquire());
    /// # l.release(); l.release();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn try_acquire(&self) -> bool {
        self.inner.acquire_opt(Some(Duration::ZERO))
    }

    /// Releases one level of the running greenlet's hold; the lock is free once every
    /// `acquire` is matched.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_lock::RLock::new();
    /// l.acquire();
    /// l.release();
    /// ```
    ///
    /// # Panics
    ///
    /// If the running greenlet does not hold the lock ("cannot release un-acquired lock");
    /// see [`try_release`](RLock::try_release).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn release(&self) {
        if let Err(e) = self.try_release() {
            panic!("RLock::release: {e}");
        }
    }

    /// Releases one level of the running greenlet's hold, unless it holds none.
    ///
    /// # Errors
    ///
    /// [`NotOwner`] if the running greenlet does not hold the lock; nothing changes.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_lock::RLock::new();
    /// l.acquire();
    /// let l2 = l.clone();
    /// let other = gevent_hub::spawn(move || l2.try_release());
    /// assert!(other.get().unwrap().is_err());
    /// assert!(l.try_release().is_ok());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn try_release(&self) -> Result<(), NotOwner> {
        if self.inner.owner.get() != Some(me()) {
            return Err(NotOwner);
        }
        self.inner.release_one();
        Ok(())
    }

    /// Acquires it and returns a guard that releases that level when dropped (`with rlock:`).
    ///
    /// # Examples
    ///
    /// See [`RLock`].
    ///
    /// # Panics
    ///
    /// As [`acquire`](RLock::acquire).
    ///
    /// # Switches
    ///
    /// Only if another greenlet holds the lock.
    ///
    /// # Kill safety
    ///
    /// As [`acquire`](RLock::acquire); a greenlet killed while it holds the guard releases as
    /// it unwinds.
    pub fn lock(&self) -> RLockGuard<'_> {
        self.inner.acquire_opt(None);
        RLockGuard { inner: &self.inner }
    }

    /// [`lock`](RLock::lock) if that needs no waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_lock::RLock::new();
    /// let _a = l.try_lock().unwrap();
    /// let _b = l.try_lock().unwrap();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn try_lock(&self) -> Option<RLockGuard<'_>> {
        self.inner
            .acquire_opt(Some(Duration::ZERO))
            .then(|| RLockGuard { inner: &self.inner })
    }

    /// [`lock`](RLock::lock), waiting at most `timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let l = gevent_lock::RLock::new();
    /// let _a = l.lock_timeout(Duration::from_millis(1)).unwrap();
    /// let l2 = l.clone();
    /// let other = gevent_hub::spawn(move || l2.lock_timeout(Duration::from_millis(2)).is_some());
    /// assert!(!other.get().unwrap());
    /// ```
    ///
    /// # Switches
    ///
    /// Only if another greenlet holds the lock and `timeout` is not zero.
    ///
    /// # Kill safety
    ///
    /// As [`acquire`](RLock::acquire).
    pub fn lock_timeout(&self, timeout: Duration) -> Option<RLockGuard<'_>> {
        self.inner
            .acquire_opt(Some(timeout))
            .then(|| RLockGuard { inner: &self.inner })
    }

    /// Whether some greenlet holds it.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_lock::RLock::new();
    /// assert!(!l.locked());
    /// let _g = l.lock();
    /// assert!(l.locked());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn locked(&self) -> bool {
        self.inner.count.get() > 0
    }

    /// Whether the running greenlet holds it (gevent's `_is_owned`).
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_lock::RLock::new();
    /// let _g = l.lock();
    /// let l2 = l.clone();
    /// assert!(l.is_owned());
    /// assert!(!gevent_hub::spawn(move || l2.is_owned()).get().unwrap());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "_is_owned")]
    pub fn is_owned(&self) -> bool {
        self.inner.owner.get() == Some(me())
    }

    /// How many levels the owner holds (0 when free).
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_lock::RLock::new();
    /// let (_a, _b) = (l.lock(), l.lock());
    /// assert_eq!(l.count(), 2);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn count(&self) -> usize {
        self.inner.count.get()
    }

    /// How many greenlets wait for it.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gevent_lock::RLock::new().waiter_count(), 0);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "linkcount")]
    pub fn waiter_count(&self) -> usize {
        self.inner.block.waiter_count()
    }
}

impl Default for RLock {
    fn default() -> Self {
        RLock::new()
    }
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLock")
            .field("owner", &self.inner.owner.get())
            .field("count", &self.inner.count.get())
            .field("waiters", &self.waiter_count())
            .finish()
    }
}
