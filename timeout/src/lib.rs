//! Time limits for greenlets — gevent's `Timeout` and `with_timeout`.
//!
//! A started [`Timeout`] raises itself, as a panic payload, in the greenlet that started it
//! when its time is up, at the point where that greenlet waits (a `sleep`, a `join`, a socket
//! read...). The payload unwinds the greenlet's stack, so `Drop`s run exactly as `finally:`
//! blocks do, until it reaches the [`Timeout::run`] (or [`with_timeout`]) that owns it, which
//! turns it into `Err(timeout)`. Anything else unwinding through `run` — a kill, another
//! `Timeout`, a panic — is passed on untouched.
//!
//! ```
//! use std::time::Duration;
//! use gevent_timeout::{with_timeout, Timeout};
//!
//! // gevent: `with Timeout(0.01): gevent.sleep(10)`
//! let t = Timeout::new(Duration::from_millis(10));
//! let r = t.run(|| gevent_hub::sleep(Duration::from_secs(10)));
//! assert_eq!(r.unwrap_err(), t);
//! assert_eq!(t.to_string(), "timed out after 10ms");
//!
//! // gevent: `with_timeout(1, func)`, finishing in time
//! assert_eq!(with_timeout(Duration::from_secs(1), || 42), Ok(42));
//! ```
//!
//! Calls with their own time limit (`join_timeout`, `wait_timeout`, `get_timeout`...) return a
//! `bool`/`Option`/`Result` instead; a `Timeout` bounds a whole block of code.
//!
//! # Implementation
//!
//! * `start` arms a timer in this thread's hub (created by the first use). When it fires (in
//!   the hub), the `Timeout` is delivered to its greenlet with [`throw_timeout_into`]: raised
//!   at once at the wait where it is parked, or at its next wait if it was already woken by
//!   something else (the hub's rules: `gevent_hub`'s docs, "Kills and timeouts"). A kill
//!   always goes before a timeout, and is never lost to one.
//! * A `Timeout` is a small value (an id and a duration; `Send`, `Clone`, compared by id):
//!   the same value is the handle you `cancel` and the payload that unwinds, so `run` knows
//!   its own. Its timer and its greenlet live in a per-thread table: `cancel` and `pending`
//!   act on the thread that started it, from any greenlet of that thread.
//! * `cancel` stops the timer; if the time was already up but the payload has not been raised
//!   yet, it is taken back ([`revoke_timeout`]), so a cancelled
//!   timeout is never raised later, whichever greenlet cancels it.
//! * Dropping a `Timeout` does not cancel it (gevent's semantics: `Timeout::start_new(d);`
//!   alone bounds the rest of the greenlet). Use `run`, `with_timeout`, or `cancel`.
//!
//! # Examples
//!
//! Nested time limits: the earliest fires; the other stays pending.
//!
//! ```
//! use std::time::Duration;
//! use gevent_timeout::Timeout;
//!
//! let outer = Timeout::new(Duration::from_millis(10));
//! let r = outer.run(|| {
//!     let inner = Timeout::new(Duration::from_secs(5));
//!     let r = inner.run(|| gevent_hub::sleep(Duration::from_secs(10)));
//!     unreachable!("the outer timeout unwinds through the inner run: {r:?}");
//! });
//! assert_eq!(r, Err::<(), _>(outer));
//! ```

#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gevent_hub::{get_hub, revoke_timeout, throw_timeout_into, timeout_pending, Timer};

/// Numbers timeouts, process-wide (a `Timeout` may be sent to another thread as a payload).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's started timeouts, by id: from `start` until `cancel`, or until the payload
    /// is raised (entries whose payload left are swept as the table grows).
    static ARMED: RefCell<Armed> = RefCell::new(Armed::default());
    /// The timeouts whose `run` is under way on this thread (their payload has an owner).
    static RUNNING: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// The table of started timeouts.
#[derive(Default)]
struct Armed {
    /// The entries, by timeout id.
    map: HashMap<u64, Entry>,
    /// The size at which the next sweep runs.
    sweep_at: usize,
}

/// A started timeout.
struct Entry {
    /// Its timer, until it fires.
    timer: Option<Timer>,
    /// The greenlet it is for. A `Current`, which does not keep a suspended greenlet alive
    /// (a greenlet whose last handle goes is still killed).
    owner: greenlet::Current,
}

impl Armed {
    /// Adds an entry, sweeping the entries of fired timeouts whose payload is no longer
    /// pending (raised, or gone with its greenlet) whenever the table has doubled.
    fn insert(&mut self, id: u64, e: Entry) {
        if self.map.len() >= self.sweep_at {
            self.map.retain(|&id, e| {
                e.timer.is_some() || (!e.owner.is_dead() && timeout_pending(&e.owner, id))
            });
            self.sweep_at = (2 * self.map.len()).max(64);
        }
        self.map.insert(id, e);
    }
}

/// A time limit for the greenlet that starts it (gevent's `Timeout`): when it expires, the
/// `Timeout` itself is raised (as a panic payload) in that greenlet where it waits.
///
/// The same value is the handle (`start`, `cancel`, `pending`) and the error: [`run`]
/// returns `Err(timeout)` for its own expiry, and a greenlet that let it escape has it as its
/// exception payload. Clones are the same timeout (equal, same id). `Display` says
/// "timed out after 100ms".
///
/// [`run`]: Timeout::run
///
/// # Examples
///
/// gevent's `timeout = Timeout(seconds); timeout.start(); ... timeout.cancel()`:
///
/// ```
/// use std::time::Duration;
/// use gevent_timeout::Timeout;
///
/// let timeout = Timeout::start_new(Duration::from_millis(10));
/// let waiter = gevent_hub::spawn(|| gevent_hub::sleep(Duration::from_secs(4)));
/// // `join` is where this greenlet waits, so that is where the timeout is raised:
/// match timeout.run(|| waiter.join()) {
///     Ok(()) => println!("done"),
///     Err(t) => println!("Could not complete: {t}"),
/// }
/// timeout.cancel();
/// # waiter.kill();
/// ```
#[derive(Clone)]
pub struct Timeout {
    /// Identifies this timeout (its clones share it).
    id: u64,
    /// How long after `start` it fires; `None`: never.
    duration: Option<Duration>,
}

impl Timeout {
    /// A timeout of `duration` (`None`: one that never fires, gevent's `Timeout(None)`), not
    /// started yet.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = gevent_timeout::Timeout::new(Duration::from_secs(1));
    /// assert!(!t.pending());
    /// let never = gevent_timeout::Timeout::new(None);
    /// assert_eq!(never.duration(), None);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new(duration: impl Into<Option<Duration>>) -> Timeout {
        Timeout {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            duration: duration.into(),
        }
    }

    /// A timeout of `duration`, started for the running greenlet (gevent's
    /// `Timeout.start_new`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = gevent_timeout::Timeout::start_new(Duration::from_secs(60));
    /// assert!(t.pending());
    /// t.cancel();
    /// ```
    ///
    /// # Panics
    ///
    /// If called inside the hub (a callback): there is no greenlet to time out.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn start_new(duration: impl Into<Option<Duration>>) -> Timeout {
        let t = Timeout::new(duration);
        t.start();
        t
    }

    /// A timeout whose [`run`](TimeoutWith::run) gives `Err(error)` instead of the
    /// `Timeout`: gevent's `Timeout(seconds, exception)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// #[derive(Debug, PartialEq)]
    /// struct TooLong;
    /// let r = gevent_timeout::Timeout::with_error(Duration::from_millis(5), TooLong)
    ///     .run(|| gevent_hub::sleep(Duration::from_secs(10)));
    /// assert_eq!(r, Err(TooLong));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn with_error<E>(duration: impl Into<Option<Duration>>, error: E) -> TimeoutWith<E> {
        TimeoutWith {
            timeout: Timeout::new(duration),
            error,
        }
    }

    /// Starts the timer for the running greenlet: when it expires, this `Timeout` is raised
    /// there. A timeout of `None` never fires.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = gevent_timeout::Timeout::new(Duration::from_millis(1));
    /// t.start();
    /// let r = std::panic::catch_unwind(|| gevent_hub::sleep(Duration::from_secs(1)));
    /// assert_eq!(*r.unwrap_err().downcast::<gevent_timeout::Timeout>().unwrap(), t);
    /// assert!(!t.pending());
    /// ```
    ///
    /// # Panics
    ///
    /// If it is already pending ("cancel it first"), or if called inside the hub.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn start(&self) {
        // A Timeout that escapes its greenlet is reported by the hub with its own text; one
        // raised outside its own `run` (nobody owns it) is raised like a panic, so that it is
        // never silent (in `main` above all).
        static REGISTER: std::sync::Once = std::sync::Once::new();
        REGISTER.call_once(|| gevent_hub::register_loud_payload::<Timeout>(|t| !t.in_run()));
        assert!(
            !self.pending(),
            "Timeout::start: {self:?} is already started; to restart it, cancel it first"
        );
        let Some(d) = self.duration else {
            return;
        };
        let cur = greenlet::getcurrent();
        assert!(
            !cur.is_hub(),
            "Timeout::start inside the hub (a callback): there is no greenlet to time out"
        );
        let me = self.clone();
        let timer = get_hub().call_later(d, move || fire(me));
        let mut entry = Some(Entry {
            timer: Some(timer),
            owner: cur,
        });
        // `try_with`: a `Drop` run by the hub's teardown at thread exit may start a timeout
        // after this thread-local is gone; the loop is being torn down, so it never fires.
        let armed = ARMED.try_with(|a| {
            let e = entry.take().expect("taken once");
            a.borrow_mut().insert(self.id, e)
        });
        if armed.is_err() {
            if let Some(Entry { timer: Some(t), .. }) = entry {
                t.cancel();
            }
        }
    }

    /// Stops the timer if it is pending (gevent's `cancel`/`close`). If the time was already
    /// up and the running greenlet has not received the timeout yet, it is taken back: a
    /// cancelled timeout is never raised later.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = gevent_timeout::Timeout::start_new(Duration::from_millis(1));
    /// t.cancel();
    /// gevent_hub::sleep(Duration::from_millis(5)); // not raised
    /// assert!(!t.pending());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "close")]
    pub fn cancel(&self) {
        let entry = ARMED
            .try_with(|a| a.borrow_mut().map.remove(&self.id))
            .ok()
            .flatten();
        let Some(e) = entry else { return };
        match e.timer {
            Some(t) => t.cancel(),
            // It fired: if its payload has not been raised yet, take it back.
            None => {
                revoke_timeout(&e.owner, self.id);
            }
        }
    }

    /// Whether the timer is running: started, neither expired nor cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = gevent_timeout::Timeout::new(Duration::from_secs(1));
    /// assert!(!t.pending());
    /// t.start();
    /// assert!(t.pending());
    /// t.cancel();
    /// assert!(!t.pending());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn pending(&self) -> bool {
        ARMED
            .try_with(|a| {
                a.borrow()
                    .map
                    .get(&self.id)
                    .is_some_and(|e| e.timer.is_some())
            })
            .unwrap_or(false)
    }

    /// How long after `start` it fires (`None`: never).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = gevent_timeout::Timeout::new(Duration::from_secs(2));
    /// assert_eq!(t.duration(), Some(Duration::from_secs(2)));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn duration(&self) -> Option<Duration> {
        self.duration
    }

    /// Runs `f` under this time limit: the `with Timeout(d):` block. Starts the timeout (unless
    /// it is already pending), runs `f`, cancels it. If it expires while `f` waits, the
    /// `Timeout` unwinds `f` (its `Drop`s run) and `run` returns `Err(timeout)`.
    ///
    /// Only this timeout is caught: a kill, a panic, or any other `Timeout` unwinding out of
    /// `f` goes on unwinding (after this one is cancelled).
    ///
    /// # Errors
    ///
    /// This `Timeout`, if it expired while `f` ran.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gevent_timeout::Timeout;
    /// let t = Timeout::new(Duration::from_millis(50));
    /// assert_eq!(t.run(|| 1 + 1), Ok(2));
    /// assert!(!t.pending());
    /// // gevent's `Timeout(d, False)`, the silent form:
    /// let r = Timeout::new(Duration::from_millis(1)).run(|| gevent_hub::sleep(Duration::from_secs(5))).ok();
    /// assert_eq!(r, None);
    /// ```
    ///
    /// # Panics
    ///
    /// Re-raises whatever other panic unwinds out of `f`.
    ///
    /// # Switches
    ///
    /// Whenever `f` does.
    ///
    /// # Kill safety
    ///
    /// The timeout is cancelled however `f` ends.
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> Result<T, Timeout> {
        if !self.pending() {
            self.start();
        }
        let _ = RUNNING.try_with(|r| r.borrow_mut().push(self.id));
        let r = panic::catch_unwind(AssertUnwindSafe(f));
        let _ = RUNNING.try_with(|r| {
            let mut r = r.borrow_mut();
            if let Some(i) = r.iter().rposition(|&id| id == self.id) {
                r.remove(i);
            }
        });
        self.cancel();
        match r {
            Ok(v) => Ok(v),
            Err(p) => match p.downcast::<Timeout>() {
                Ok(t) if *t == *self => Err(*t),
                Ok(t) => panic::resume_unwind(t),
                Err(p) => panic::resume_unwind(p),
            },
        }
    }
}

impl Timeout {
    /// Whether a `run` of this timeout is under way on this thread.
    fn in_run(&self) -> bool {
        RUNNING
            .try_with(|r| r.borrow().contains(&self.id))
            .unwrap_or(false)
    }
}

/// Delivers `t` to its greenlet (in the hub, when `t`'s time is up). Its entry stays, without
/// a timer, so that `cancel` can still take the payload back until it is raised.
fn fire(t: Timeout) {
    let owner = ARMED
        .try_with(|a| {
            a.borrow_mut().map.get_mut(&t.id).map(|e| {
                e.timer = None;
                e.owner.to_greenlet()
            })
        })
        .ok()
        .flatten();
    if let Some(owner) = owner {
        let id = t.id;
        throw_timeout_into(&owner, id, Box::new(t));
    }
}

impl PartialEq for Timeout {
    fn eq(&self, other: &Timeout) -> bool {
        self.id == other.id
    }
}

impl Eq for Timeout {}

impl std::hash::Hash for Timeout {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl fmt::Debug for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("id", &self.id)
            .field("duration", &self.duration)
            .finish()
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.duration {
            Some(d) => write!(f, "timed out after {d:?}"),
            None => f.write_str("timed out (a timeout without a duration)"),
        }
    }
}

impl std::error::Error for Timeout {}

/// A `Timeout` crosses threads (as a panic payload, or inside an error): `Send + Sync`, checked
/// at compile time.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Timeout>();
};

/// A [`Timeout`] whose [`run`](TimeoutWith::run) gives a custom error: gevent's
/// `Timeout(seconds, exception)`. Made by [`Timeout::with_error`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let r: Result<(), std::io::Error> = gevent_timeout::Timeout::with_error(
///     Duration::from_millis(5),
///     std::io::Error::new(std::io::ErrorKind::TimedOut, "operation takes way too long"),
/// )
/// .run(|| gevent_hub::sleep(Duration::from_secs(10)));
/// assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
/// ```
#[derive(Debug)]
pub struct TimeoutWith<E> {
    /// The time limit.
    timeout: Timeout,
    /// What `run` gives when it expires.
    error: E,
}

impl<E> TimeoutWith<E> {
    /// Runs `f` under the time limit, as [`Timeout::run`], but gives the custom error when it
    /// expires.
    ///
    /// # Errors
    ///
    /// The error given to [`Timeout::with_error`], if the time ran out while `f` ran.
    ///
    /// # Examples
    ///
    /// See [`Timeout::with_error`].
    ///
    /// # Panics
    ///
    /// Re-raises whatever other panic unwinds out of `f`.
    ///
    /// # Switches
    ///
    /// Whenever `f` does.
    ///
    /// # Kill safety
    ///
    /// The timeout is cancelled however `f` ends.
    pub fn run<T>(self, f: impl FnOnce() -> T) -> Result<T, E> {
        let TimeoutWith { timeout, error } = self;
        timeout.run(f).map_err(|_| error)
    }

    /// The underlying [`Timeout`] (to `cancel` it from inside the block, say).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let tw = gevent_timeout::Timeout::with_error(Duration::from_millis(5), "too long");
    /// let t = tw.timeout().clone();
    /// let r = tw.run(|| {
    ///     t.cancel(); // no time limit after all
    ///     gevent_hub::sleep(Duration::from_millis(10));
    /// });
    /// assert_eq!(r, Ok(()));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn timeout(&self) -> &Timeout {
        &self.timeout
    }
}

/// Runs `f` with a time limit of `duration` (gevent's `with_timeout(seconds, func)`);
/// `with_timeout(d, f).unwrap_or(x)` is gevent's `timeout_value=x`.
///
/// # Errors
///
/// The [`Timeout`] if `f` had not finished after `duration`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent_timeout::with_timeout;
/// let r = with_timeout(Duration::from_millis(5), || gevent_hub::sleep(Duration::from_secs(10)));
/// assert!(r.is_err());
/// let x = with_timeout(Duration::from_millis(5), || { gevent_hub::sleep(Duration::from_secs(10)); 1 })
///     .unwrap_or(0);
/// assert_eq!(x, 0);
/// ```
///
/// # Panics
///
/// Re-raises whatever other panic unwinds out of `f`.
///
/// # Switches
///
/// Whenever `f` does.
///
/// # Kill safety
///
/// The timeout is cancelled however `f` ends.
pub fn with_timeout<T>(duration: Duration, f: impl FnOnce() -> T) -> Result<T, Timeout> {
    Timeout::new(duration).run(f)
}
