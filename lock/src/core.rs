//! The counting semaphore every lock here is built on.
//!
//! # Fairness
//!
//! A permit released while greenlets wait is handed straight to the oldest of them (the
//! counter does not move), so a greenlet that arrives later cannot take it first: waiters are
//! served in FIFO order (gevent #1487). Hence the invariant: while the counter is above zero,
//! nobody waits.
//!
//! # Kill safety
//!
//! A waiter that stops waiting (timeout, kill, `LoopExit`) removes its entry as it unwinds (the
//! hub's [`WaitList`] guard does it). A permit is only handed to a waiter whose park can still
//! be ended; one that was already woken (by its timer) or thrown into (by a kill) refuses it,
//! and the permit goes to the next waiter. A waiter that was handed a permit and then killed
//! (or timed out) before it ran passes the permit on and raises the kill from `acquire`
//! (unless it acquires inside a destructor during unwinding, where nothing is raised: it keeps
//! the permit).

use std::cell::Cell;
use std::fmt;
use std::time::Duration;

use gevent_hub::{pending_interrupt, raise_pending, Notify, WaitList, Waitable, WaiterKey};

/// A counting semaphore with FIFO hand-off.
pub(crate) struct Core {
    /// Permits available now.
    ///
    /// # Invariant
    ///
    /// Above zero only while `waiters` holds no greenlet that can still be woken.
    counter: Cell<usize>,
    /// The most `counter` may reach (bounded semaphores and locks).
    bound: Option<usize>,
    /// Greenlets in `acquire`, oldest first.
    waiters: WaitList,
    /// `Waitable` registrations (`wait`, `iwait`), called when a permit becomes available.
    watchers: WaitList,
}

impl Core {
    /// A semaphore with `permits` permits, at most `bound` if given.
    pub(crate) fn new(permits: usize, bound: Option<usize>) -> Core {
        Core {
            counter: Cell::new(permits),
            bound,
            waiters: WaitList::new(),
            watchers: WaitList::new(),
        }
    }

    /// Permits available now.
    pub(crate) fn counter(&self) -> usize {
        self.counter.get()
    }

    /// The bound, if any.
    pub(crate) fn bound(&self) -> Option<usize> {
        self.bound
    }

    /// Greenlets waiting in `acquire`.
    pub(crate) fn waiter_count(&self) -> usize {
        self.waiters.len()
    }

    /// Takes a permit if one is available.
    #[inline]
    pub(crate) fn try_acquire(&self) -> bool {
        let c = self.counter.get();
        if c > 0 {
            self.counter.set(c - 1);
            true
        } else {
            false
        }
    }

    /// Takes a permit, waiting at most `timeout` if given; returns whether it got one.
    pub(crate) fn acquire_opt(&self, timeout: Option<Duration>) -> bool {
        if self.try_acquire() {
            return true;
        }
        if timeout == Some(Duration::ZERO) {
            return false;
        }
        if !self.waiters.wait(timeout).woken() {
            return false; // the guard removed the entry
        }
        // A releaser took our entry and handed us its permit.
        if pending_interrupt().is_some() {
            // Killed (or timed out) after the hand-off but before we ran: the permit is not
            // ours to keep.
            self.release_held();
            raise_pending();
        }
        true
    }

    /// Returns a permit: to the oldest waiter that can take it, else to the counter.
    ///
    /// # Errors
    ///
    /// [`OverRelease`] if nobody waits and the counter is at the bound (nothing changes).
    pub(crate) fn try_release(&self) -> Result<(), OverRelease> {
        if !self.waiters.is_empty() && self.waiters.notify_one() {
            return Ok(());
        }
        let c = self.counter.get();
        if let Some(b) = self.bound {
            if c >= b {
                return Err(OverRelease { bound: b });
            }
        }
        self.counter.set(c + 1);
        if !self.watchers.is_empty() {
            self.watchers.notify_all();
        }
        Ok(())
    }

    /// Returns a permit the caller holds (a guard's drop): an over-release here means someone
    /// else released a permit they did not hold, which was reported to them, so it is ignored.
    pub(crate) fn release_held(&self) {
        let _ = self.try_release();
    }

    /// Waits until a permit is available (without taking it), at most `timeout` if given.
    pub(crate) fn wait_opt(&self, timeout: Option<Duration>) -> bool {
        gevent_hub::wait_one(self, timeout)
    }
}

impl Waitable for Core {
    fn ready(&self) -> bool {
        self.counter.get() > 0
    }

    fn add_waiter(&self, notify: Notify) -> WaiterKey {
        if self.ready() {
            notify();
            return WaiterKey::NONE;
        }
        self.watchers.add(notify)
    }

    fn remove_waiter(&self, key: WaiterKey) {
        self.watchers.remove(key);
    }
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("");
        d.field("counter", &self.counter.get());
        if let Some(b) = self.bound {
            d.field("bound", &b);
        }
        d.field("waiters", &self.waiters.len()).finish()
    }
}

/// The error of releasing a [`BoundedSemaphore`](crate::BoundedSemaphore) or a
/// [`Lock`](crate::Lock) more times than it was acquired (gevent's `ValueError`).
///
/// # Examples
///
/// ```
/// let s = gevent_lock::BoundedSemaphore::new(1);
/// let e = s.try_release().unwrap_err();
/// assert_eq!(e.bound(), 1);
/// assert_eq!(e.to_string(), "semaphore released too many times (bound 1)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverRelease {
    /// The semaphore's bound.
    bound: usize,
}

impl OverRelease {
    /// The bound that the release would have exceeded.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_lock::BoundedSemaphore::new(3);
    /// assert_eq!(s.try_release().unwrap_err().bound(), 3);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn bound(&self) -> usize {
        self.bound
    }
}

impl fmt::Display for OverRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "semaphore released too many times (bound {})",
            self.bound
        )
    }
}

impl std::error::Error for OverRelease {}
