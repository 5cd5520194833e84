//! Parking: how a greenlet waits for the hub, and how it is woken.
//!
//! Every waiting call in gevent comes down to the same move: register interest somewhere
//! (a timer, an fd, an event's waiter list), then switch to the hub; whoever sees the interest
//! satisfied wakes the greenlet, and the hub switches back into it with the outcome. Here the
//! registration receives an [`Unparker`], and [`park`] does the switch.
//!
//! A park can be ended once: by a [`wake`](Unparker::wake) (a value) or a
//! [`throw`](Unparker::throw) (a panic payload, which is how kills and timeouts arrive). Every
//! later attempt on the same `Unparker` is refused, so a greenlet is never resumed twice for one
//! wait, nor resumed at a later, unrelated wait by a stale waker.

use std::any::Any;
use std::panic;
use std::time::{Duration, Instant};

use greenlet::{Greenlet as RawGreenlet, Message, Value};

use crate::hub::Action;
use crate::hub::{get_hub, Hub};

/// A panic payload, as `catch_unwind` returns them.
pub type Panic = Box<dyn Any + Send + 'static>;

/// Which park of its greenlet an [`Unparker`] is for.
type Generation = u64;

/// Ends one park of one greenlet: wakes it with a value, or raises a panic in it.
///
/// Cheap to clone; every clone refers to the same park, and only the first `wake` or `throw`
/// among them takes effect. Holding an `Unparker` keeps its greenlet alive.
///
/// # Examples
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use gevent_hub::{park, spawn, Unparker};
/// use greenlet::Value;
///
/// let slot: Rc<RefCell<Option<Unparker>>> = Rc::default();
/// let s2 = slot.clone();
/// let waiter = spawn(move || park(|u| *s2.borrow_mut() = Some(u)).take::<i32>());
/// gevent_hub::sleep(std::time::Duration::ZERO); // let it park
/// assert!(slot.borrow().as_ref().unwrap().wake(Value::new(7)));
/// assert_eq!(waiter.get().unwrap(), 7);
/// ```
#[derive(Clone)]
pub struct Unparker {
    /// The parked greenlet (a counted handle: keeps it alive while it waits).
    g: RawGreenlet,
    /// Which park this is.
    gen: Generation,
}

impl Unparker {
    /// Wakes the greenlet: its [`park`] returns `v`. Returns `false` (and does nothing) if this
    /// park has already ended.
    ///
    /// # Switches
    ///
    /// Never: the greenlet is queued in the hub; callable from hub callbacks.
    pub fn wake(&self, v: Value) -> bool {
        self.deliver(Message::Value(v))
    }

    /// Raises `payload` in the greenlet at its park (how kills and timeouts are delivered).
    /// Returns `false` if this park has already ended.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn throw(&self, payload: Panic) -> bool {
        self.deliver(Message::Throw(payload))
    }

    /// Whether the park is still waiting to be ended.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_waiting(&self) -> bool {
        let w = self.g.wait_state();
        w.generation.get() == self.gen && w.parked.get()
    }

    /// The parked greenlet.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn greenlet(&self) -> &RawGreenlet {
        &self.g
    }

    fn deliver(&self, m: Message) -> bool {
        if !self.is_waiting() {
            return false;
        }
        self.g.wait_state().parked.set(false);
        get_hub().schedule(self.g.clone(), m);
        true
    }
}

impl std::fmt::Debug for Unparker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unparker")
            .field("greenlet", &self.g)
            .field("waiting", &self.is_waiting())
            .finish()
    }
}

/// Ends a park on scope exit, also when it unwinds.
struct EndPark<'a>(&'a greenlet::WaitState);

impl Drop for EndPark<'_> {
    fn drop(&mut self) {
        self.0.parked.set(false);
        self.0.generation.set(self.0.generation.get() + 1);
    }
}

/// The message for a waiting call made where no greenlet can wait.
pub(crate) const WAIT_IN_HUB: &str = "a waiting call was made inside the hub (in a callback, \
    a timer, a link or a scheduler hook): callbacks run in the hub and must not wait; spawn a \
    greenlet to do the waiting";

/// Parks the running greenlet until it is woken: `register` receives the [`Unparker`] and
/// stores it wherever the wake-up will come from; then the greenlet switches to the hub.
/// Returns the value passed to [`Unparker::wake`].
///
/// From the main greenlet this runs the hub's loop until main is woken. If nothing left in the
/// loop could ever wake it, main gets a [`LoopExit`](crate::LoopExit) panic ("this operation
/// would block forever") instead of hanging.
///
/// # Panics
///
/// Re-raises a payload passed to [`Unparker::throw`] (for example `GreenletExit` from a kill),
/// or one that arrived while the greenlet was not parked. Panics if called from inside the hub
/// (a callback).
///
/// # Examples
///
/// ```
/// use gevent_hub::{get_hub, park};
/// use greenlet::Value;
/// // Wake ourselves from a hub callback.
/// let v = park(|u| get_hub().run_callback(move || { u.wake(Value::new("hi")); }));
/// assert_eq!(v.take::<&str>(), "hi");
/// ```
///
/// # Switches
///
/// Yes, always.
///
/// # Kill safety
///
/// If a kill or timeout unwinds out of `park`, the `Unparker` is dead: a later `wake` is
/// refused. The registration itself is the caller's to remove (use a guard).
#[inline(always)]
pub fn park(register: impl FnOnce(Unparker)) -> Value {
    let hub = get_hub();
    let cur = greenlet::getcurrent();
    if cur.is_hub() {
        panic!("{WAIT_IN_HUB}");
    }
    let st = cur.wait_state();
    if let Some(p) = st.pending.take() {
        panic::resume_unwind(p);
    }
    st.parked.set(true);
    let gen = st.generation.get();
    let end = EndPark(st);
    register(Unparker {
        g: cur.to_greenlet(),
        gen,
    });
    // As in `yield_now`: hand over to the next ready greenlet directly when that is what the
    // hub's scheduler would do.
    let m = match hub.next_ready_direct() {
        Some((g, m)) => g.switch_message(m),
        None => hub.switch_to_hub(),
    };
    drop(end);
    match m {
        Message::Value(v) => v,
        Message::Throw(p) => crate::error::raise(p),
        Message::Failed(b) => panic!("{}", b.1),
    }
}

/// The outcome of [`park_timeout`] when the time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut;

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("timed out")
    }
}

impl std::error::Error for TimedOut {}

/// The value a timeout timer wakes a park with.
struct TimeoutMarker;

/// [`park`] with a time limit: `Err(TimedOut)` if nobody wakes the greenlet within `timeout`
/// (`None`: no limit).
///
/// # Errors
///
/// [`TimedOut`] when the time limit passed first.
///
/// # Panics
///
/// As [`park`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let r = gevent_hub::park_timeout(Some(Duration::from_millis(5)), |_u| {});
/// assert!(r.is_err());
/// ```
///
/// # Switches
///
/// Yes, always.
///
/// # Kill safety
///
/// As [`park`]; the timer is cancelled however the park ends.
pub fn park_timeout(
    timeout: Option<Duration>,
    register: impl FnOnce(Unparker),
) -> Result<Value, TimedOut> {
    let Some(d) = timeout else {
        return Ok(park(register));
    };
    let deadline = Instant::now().checked_add(d);
    let hub = get_hub();
    let mut timer = None;
    let guard = CancelTimer(&hub, &mut timer);
    let v = park(|u| {
        if let Some(deadline) = deadline {
            let t = u.clone();
            *guard.1 = Some(hub.add_timer(
                Some(deadline),
                true,
                Action::Call(Box::new(move || {
                    t.wake(Value::new(TimeoutMarker));
                })),
            ));
        }
        register(u)
    });
    drop(guard);
    if v.is::<TimeoutMarker>() {
        Err(TimedOut)
    } else {
        Ok(v)
    }
}

/// Cancels a timer on scope exit.
struct CancelTimer<'a>(&'a Hub, &'a mut Option<crate::timer::TimerId>);

impl Drop for CancelTimer<'_> {
    fn drop(&mut self) {
        if let Some(t) = self.1.take() {
            self.0.cancel_timer(t);
        }
    }
}

/// Raises `payload` in the greenlet `g` at the point where it waits: at once (queued in the
/// hub) if it is parked now, else at its next [`park`]. This is how kills and timeouts are
/// delivered; the payload unwinds `g`'s stack, so its `Drop`s run.
///
/// Throwing into the running greenlet is deferred to its next park too (to raise at once,
/// use `std::panic::resume_unwind`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let g = gevent_hub::spawn(|| gevent_hub::sleep(Duration::from_secs(60)));
/// gevent_hub::sleep(Duration::ZERO); // let it park in its sleep
/// let raw = g.raw().unwrap();
/// gevent_hub::throw_into(&raw, Box::new(greenlet::GreenletExit));
/// assert!(g.get().unwrap_err().is_killed());
/// ```
///
/// # Switches
///
/// Never.
pub fn throw_into(g: &RawGreenlet, payload: Panic) {
    let st = g.wait_state();
    if st.parked.get() {
        st.parked.set(false);
        get_hub().schedule(g.clone(), Message::Throw(payload));
    } else {
        st.pending.set(Some(payload));
    }
}

/// Yields: queues the running greenlet at the back of the ready queue and lets the others
/// run (`sleep(Duration::ZERO)`). A kill pending for it is raised here.
#[inline(always)]
pub(crate) fn yield_now() {
    let hub = get_hub();
    let cur = greenlet::getcurrent();
    if cur.is_hub() {
        panic!("{WAIT_IN_HUB}");
    }
    let st = cur.wait_state();
    if let Some(p) = st.pending.take() {
        panic::resume_unwind(p);
    }
    hub.schedule(cur.to_greenlet(), Message::Value(Value::empty()));
    // Hand over to the next ready greenlet directly when the hub has nothing else to do first
    // (what its scheduler would answer anyway), saving the scheduler's round.
    let m = match hub.next_ready_direct() {
        Some((g, m)) => g.switch_message(m),
        None => hub.switch_to_hub(),
    };
    match m {
        Message::Value(_) => {}
        Message::Throw(p) => panic::resume_unwind(p),
        Message::Failed(b) => panic!("{}", b.1),
    }
}
