//! [`Event`]: a flag that greenlets wait on.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{Notify, WaitList, Waitable, WaiterKey};

/// A flag that greenlets can wait for (gevent's `Event`): [`set`](Event::set) wakes every
/// waiter, [`clear`](Event::clear) makes later waits wait again.
///
/// `Event` is a cheap handle: clones share one event, so a clone can be moved into each
/// greenlet. It is `!Send` (it belongs to its thread's hub).
///
/// Waiters are woken in the order they started waiting. A `set` wakes every greenlet waiting
/// at that moment even if the event is cleared again at once: each of their `wait`s returns
/// `true`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent_event::Event;
///
/// let evt = Event::new();
/// let waiters: Vec<_> = (0..3)
///     .map(|i| {
///         let evt = evt.clone();
///         gevent_hub::spawn(move || { evt.wait(); i })
///     })
///     .collect();
/// gevent_hub::sleep(Duration::from_millis(5)); // they are all waiting now
/// evt.set();
/// gevent_hub::joinall(&waiters);
/// assert!(waiters.iter().all(|g| g.successful()));
/// ```
///
/// `Event` stays on its thread:
///
/// ```compile_fail
/// let e = gevent_event::Event::new();
/// std::thread::spawn(move || e.set());
/// ```
#[derive(Clone, Default)]
pub struct Event {
    /// The shared state.
    inner: Rc<Inner>,
}

/// The state shared by the handles of one event.
#[derive(Default)]
struct Inner {
    /// Whether the event is set.
    flag: Cell<bool>,
    /// Greenlets (and `Waitable` registrations) waiting for the flag.
    ///
    /// # Invariant
    ///
    /// Empty while `flag` is set.
    waiters: WaitList,
    /// Greenlets woken by a `set` that have not run yet. A `wait` on the set event while there
    /// are some goes behind them, so that waiters run in the order they came (gevent #1520).
    woken: Cell<usize>,
}

impl Event {
    /// A new, cleared event.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!gevent_event::Event::new().is_set());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new() -> Event {
        Event::default()
    }

    /// Sets the flag and wakes every greenlet waiting for it, in the order they began to
    /// wait. `Waitable` registrations (`wait`, `iwait`, `joinall` on this event) are called
    /// here too. No-op if already set.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = gevent_event::Event::new();
    /// e.set();
    /// assert!(e.is_set());
    /// assert!(e.wait()); // returns at once
    /// ```
    ///
    /// # Switches
    ///
    /// Never: the waiters are queued in the hub and run when the caller next waits. Callable
    /// from hub callbacks.
    pub fn set(&self) {
        let inner = &*self.inner;
        if inner.flag.replace(true) {
            return;
        }
        let woken = inner.waiters.notify_all();
        inner.woken.set(inner.woken.get() + woken);
    }

    /// Clears the flag: later waits wait for the next [`set`](Event::set). Greenlets already
    /// woken by a `set` are not affected.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = gevent_event::Event::new();
    /// e.set();
    /// e.clear();
    /// assert!(!e.wait_timeout(Duration::from_millis(1)));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn clear(&self) {
        self.inner.flag.set(false);
    }

    /// Whether the flag is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = gevent_event::Event::new();
    /// assert!(!e.is_set());
    /// e.set();
    /// assert!(e.is_set());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "ready")]
    pub fn is_set(&self) -> bool {
        self.inner.flag.get()
    }

    /// Waits until the flag is set; returns `true` (the flag was set, before or during the
    /// wait). On a set event this returns at once, except that it lets the greenlets woken by
    /// the last `set` run first.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = gevent_event::Event::new();
    /// let e2 = e.clone();
    /// gevent_hub::spawn(move || e2.set());
    /// assert!(e.wait());
    /// ```
    ///
    /// # Panics
    ///
    /// With [`LoopExit`](gevent_hub::LoopExit) when the main greenlet waits and nothing can
    /// ever set the event; re-raises a kill or timeout aimed at the greenlet. Panics if called
    /// inside the hub (a callback).
    ///
    /// # Switches
    ///
    /// Yes, unless the event is set (and no greenlet woken by it is still to run).
    ///
    /// # Kill safety
    ///
    /// A greenlet killed (or timed out) while it waits leaves no trace in the event.
    pub fn wait(&self) -> bool {
        self.wait_opt(None)
    }

    /// Waits at most `timeout` for the flag; returns whether it was set (gevent's
    /// `wait(timeout)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = gevent_event::Event::new();
    /// assert!(!e.wait_timeout(Duration::from_millis(2)));
    /// e.set();
    /// assert!(e.wait_timeout(Duration::from_millis(2)));
    /// ```
    ///
    /// # Panics
    ///
    /// As [`wait`](Event::wait).
    ///
    /// # Switches
    ///
    /// Yes, unless the event is set.
    ///
    /// # Kill safety
    ///
    /// As [`wait`](Event::wait); a waiter that timed out leaves no trace either.
    #[doc(alias = "wait")]
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_opt(Some(timeout))
    }

    /// Waits for the flag, at most `timeout` if given.
    fn wait_opt(&self, timeout: Option<Duration>) -> bool {
        let inner = &*self.inner;
        if inner.flag.get() {
            if inner.woken.get() > 0 && !greenlet::getcurrent().is_hub() {
                // Go behind the greenlets this event woke (the hub cannot wait: it returns).
                gevent_hub::sleep(Duration::ZERO);
            }
            return true;
        }
        if inner.waiters.wait(timeout).woken() {
            // `set` woke us and counted us in `woken`.
            inner.woken.set(inner.woken.get().saturating_sub(1));
            true
        } else {
            false
        }
    }

    /// How many greenlets (and `Waitable` registrations) are waiting (gevent's
    /// `linkcount`).
    ///
    /// # Examples
    ///
    /// ```
    /// let e = gevent_event::Event::new();
    /// let e2 = e.clone();
    /// let g = gevent_hub::spawn(move || e2.wait());
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// assert_eq!(e.waiter_count(), 1);
    /// e.set();
    /// g.join();
    /// assert_eq!(e.waiter_count(), 0);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "linkcount")]
    pub fn waiter_count(&self) -> usize {
        self.inner.waiters.len()
    }
}

impl Waitable for Event {
    fn ready(&self) -> bool {
        self.is_set()
    }

    fn add_waiter(&self, notify: Notify) -> WaiterKey {
        if self.is_set() {
            notify();
            return WaiterKey::NONE;
        }
        self.inner.waiters.add(notify)
    }

    fn remove_waiter(&self, key: WaiterKey) {
        self.inner.waiters.remove(key);
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .field("waiters", &self.waiter_count())
            .finish()
    }
}
