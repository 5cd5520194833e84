//! Parking: how a greenlet waits for the hub, how it is woken, and how kills and timeouts reach
//! it. This module is the whole wake protocol; nothing else reads a greenlet's
//! [`WaitState`](greenlet::WaitState).
//!
//! Every waiting call in gevent comes down to the same move: register interest somewhere
//! (a timer, an fd, a [`WaitList`](crate::WaitList)), then switch to the hub; whoever sees the
//! interest satisfied wakes the greenlet, and the hub switches back into it with the outcome.
//! Here the registration receives an [`Unparker`], and [`park`] does the switch.
//!
//! The rules of the protocol, for users, are in the crate docs ("Kills and timeouts"). How
//! this module keeps them: a greenlet's `WaitState` word holds the wait's generation and phase
//! (running, parked, woken, interrupted) and a few flags; its side slot holds the pending
//! interrupts. An `Unparker` names one generation, so a stale one is refused.

use std::any::Any;
use std::cell::Cell;
use std::panic;
use std::time::{Duration, Instant};

use greenlet::{Greenlet as RawGreenlet, Message, Value, WaitState};

use crate::hub::{get_hub, Hub, Timer};

/// A panic payload, as `catch_unwind` returns them.
pub type Panic = Box<dyn Any + Send + 'static>;

// The hub's word in a greenlet's `WaitState`: `generation << GEN_SHIFT | flags`.

/// The phase bits.
const PHASE: u64 = 0b11;
/// Not in a wait.
const RUNNING: u64 = 0;
/// In a wait that nobody has ended yet.
const PARKED: u64 = 1;
/// The wait was ended by a wake: the message that resumes the greenlet carries the value.
const WOKEN: u64 = 2;
/// The wait was ended by an interrupt, which is the first pending one.
const INTERRUPTED: u64 = 3;
/// Interrupts are pending (the side slot holds them).
const HAS_PENDING: u64 = 1 << 2;
/// This wait runs while its greenlet unwinds: interrupts are recorded, never end it.
const SHIELDED: u64 = 1 << 3;
/// The hub started an unwinding in this greenlet (it raised a payload there) and the thread
/// has not stopped panicking since.
const UNWIND_HINT: u64 = 1 << 4;
/// A wake was refused while the wait was `INTERRUPTED` (so a revoked timeout cannot resume the
/// wait: its waker went on).
const MISSED: u64 = 1 << 5;
/// What survives from one wait to the next.
const PERSIST: u64 = HAS_PENDING | UNWIND_HINT;
/// Where the generation starts.
const GEN_SHIFT: u32 = 8;

thread_local! {
    /// How many greenlets of this thread are suspended by the hub (in a park or a yield) while
    /// they looked unwinding: see the module docs.
    static SUSPENDED_UNWINDING: Cell<usize> = const { Cell::new(0) };
}

/// The kind of an interrupt: see the [crate docs](crate#kills-and-timeouts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InterruptKind {
    /// A kill: `GreenletExit` or another payload given to [`throw_into`] (also the
    /// [`LoopExit`](crate::LoopExit) that ends a wait of the main greenlet that nothing could
    /// end). Never revoked; raised before any timeout.
    Kill,
    /// A timeout given to [`throw_timeout_into`]: revocable with [`revoke_timeout`] until it is
    /// raised.
    Timeout,
}

/// One pending interrupt.
struct Pending {
    /// Kill or timeout.
    kind: InterruptKind,
    /// The key it can be revoked by (timeouts).
    key: u64,
    /// What is raised.
    payload: Panic,
    /// It was returned as a value by a [`park_no_unwind`] (the wait failed because of it):
    /// what [`timeout_reported`] tells.
    reported: bool,
}

/// The side data of a greenlet's `WaitState`: its pending interrupts, in arrival order.
type PendingList = Vec<Pending>;

/// Runs `f` on the pending list of `st` (created if absent; removed again if left empty).
fn with_pending<R>(st: &WaitState, f: impl FnOnce(&mut PendingList) -> R) -> R {
    let mut list: Box<PendingList> = match st.take_side() {
        Some(b) => b.downcast().unwrap_or_else(|_| Box::default()),
        None => Box::default(),
    };
    let r = f(&mut list);
    let w = st.word();
    if list.is_empty() {
        st.set_word(w & !HAS_PENDING);
    } else {
        st.set_word(w | HAS_PENDING);
        st.replace_side(Some(list));
    }
    r
}

/// The position of the interrupt to raise next: the first kill, else the first timeout.
fn next_index(list: &PendingList) -> Option<usize> {
    if list.is_empty() {
        return None;
    }
    Some(
        list.iter()
            .position(|p| p.kind == InterruptKind::Kill)
            .unwrap_or(0),
    )
}

/// The kind of the interrupt `st`'s greenlet would raise next.
fn next_kind(st: &WaitState) -> Option<InterruptKind> {
    if st.word() & HAS_PENDING == 0 {
        return None;
    }
    with_pending(st, |l| next_index(l).map(|i| l[i].kind))
}

/// The kind of the interrupt `st`'s greenlet would raise next, marked as reported by a
/// [`park_no_unwind`].
fn report_next(st: &WaitState) -> Option<InterruptKind> {
    if st.word() & HAS_PENDING == 0 {
        return None;
    }
    with_pending(st, |l| {
        next_index(l).map(|i| {
            l[i].reported = true;
            l[i].kind
        })
    })
}

/// Takes the interrupt to raise next.
fn take_next(st: &WaitState) -> Option<Panic> {
    if st.word() & HAS_PENDING == 0 {
        return None;
    }
    with_pending(st, |l| next_index(l).map(|i| l.remove(i).payload))
}

/// Raises `p` in the running greenlet, remembering that the hub started this unwinding.
#[cold]
#[inline(never)]
fn raise(st: &WaitState, p: Panic) -> ! {
    st.set_word(st.word() | UNWIND_HINT);
    crate::error::raise(p)
}

/// Whether the running greenlet (whose state is `st`) is unwinding, as far as the hub can tell
/// (see the module docs). Clears the hint once the thread no longer panics.
#[cold]
#[inline(never)]
fn unwinding_now(st: &WaitState) -> bool {
    let w = st.word();
    if !std::thread::panicking() {
        st.set_word(w & !UNWIND_HINT);
        return false;
    }
    SUSPENDED_UNWINDING.with(Cell::get) == 0 || w & UNWIND_HINT != 0
}

/// Records that the running greenlet starts unwinding because of a kill aimed at itself (which
/// is raised at once, not through a wait).
pub(crate) fn mark_unwinding(g: &RawGreenlet) {
    let st = g.wait_state();
    st.set_word(st.word() | UNWIND_HINT);
}

/// Counts a suspension made while unwinding, for as long as it lasts.
struct SuspendedUnwinding;

impl SuspendedUnwinding {
    /// Counts one.
    fn new() -> SuspendedUnwinding {
        SUSPENDED_UNWINDING.with(|c| c.set(c.get() + 1));
        SuspendedUnwinding
    }
}

impl Drop for SuspendedUnwinding {
    fn drop(&mut self) {
        SUSPENDED_UNWINDING.with(|c| c.set(c.get() - 1));
    }
}

/// The slow part of entering a wait: a pending interrupt is raised (unless the greenlet
/// unwinds: then it stays pending), and a wait entered while unwinding is shielded. Returns
/// whether it is.
#[cold]
#[inline(never)]
fn enter_slow(st: &WaitState) -> bool {
    let unwinding = unwinding_now(st);
    if !unwinding {
        if let Some(p) = take_next(st) {
            raise(st, p);
        }
    }
    unwinding
}

/// Ends a park on scope exit, also when it unwinds: the next wait gets a new generation.
struct EndPark<'a> {
    /// The greenlet's state.
    st: &'a WaitState,
    /// The park's generation.
    gen: u64,
    /// Counts the park among the suspensions made while unwinding, if it is one.
    _unwinding: Option<SuspendedUnwinding>,
}

impl Drop for EndPark<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        let w = self.st.word();
        self.st
            .set_word(((self.gen + 1) << GEN_SHIFT) | (w & PERSIST) | RUNNING);
    }
}

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
    gen: u64,
}

impl Unparker {
    /// Wakes the greenlet: its [`park`] returns `v`. Returns `false` (and does nothing) if this
    /// park has already ended (woken, timed out, interrupted).
    ///
    /// # Examples
    ///
    /// See [`Unparker`].
    ///
    /// # Switches
    ///
    /// Never: the greenlet is queued in the hub; callable from hub callbacks.
    #[inline]
    pub fn wake(&self, v: Value) -> bool {
        let st = self.g.wait_state();
        let w = st.word();
        if w >> GEN_SHIFT != self.gen {
            return false;
        }
        match w & PHASE {
            PARKED => {
                st.set_word((w & !PHASE) | WOKEN);
                get_hub().schedule(self.g.clone(), Message::Value(v));
                true
            }
            INTERRUPTED => {
                st.set_word(w | MISSED);
                false
            }
            _ => false,
        }
    }

    /// [`wake`](Unparker::wake) with the thread's hub at hand (for loops that wake many).
    #[inline]
    pub(crate) fn wake_in(&self, hub: &Hub, v: Value) -> bool {
        let st = self.g.wait_state();
        let w = st.word();
        if w >> GEN_SHIFT != self.gen {
            return false;
        }
        match w & PHASE {
            PARKED => {
                st.set_word((w & !PHASE) | WOKEN);
                hub.schedule(self.g.clone(), Message::Value(v));
                true
            }
            INTERRUPTED => {
                st.set_word(w | MISSED);
                false
            }
            _ => false,
        }
    }

    /// Raises `payload` in the greenlet at this park, as a kill (see [`throw_into`]). Returns
    /// `false` if this park has already ended. In a wait shielded by rule 4 of the [crate
    /// docs](crate#kills-and-timeouts) (a destructor running during unwinding), the payload is recorded instead
    /// and raised at the greenlet's next wait; that still counts as `true`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// let slot: Rc<RefCell<Option<gevent_hub::Unparker>>> = Rc::default();
    /// let s2 = slot.clone();
    /// let g = gevent_hub::spawn(move || { gevent_hub::park(|u| *s2.borrow_mut() = Some(u)); });
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// assert!(slot.borrow().as_ref().unwrap().throw(Box::new(greenlet::GreenletExit)));
    /// assert!(g.get().unwrap_err().is_killed());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn throw(&self, payload: Panic) -> bool {
        if !self.is_waiting() {
            return false;
        }
        interrupt(&self.g, InterruptKind::Kill, 0, payload);
        true
    }

    /// Whether the park is still waiting to be ended.
    ///
    /// # Examples
    ///
    /// ```
    /// let u = std::rc::Rc::new(std::cell::RefCell::new(None));
    /// let u2 = u.clone();
    /// gevent_hub::park(move |p: gevent_hub::Unparker| {
    ///     assert!(p.is_waiting());
    ///     p.wake(greenlet::Value::empty());
    ///     assert!(!p.is_waiting());
    ///     *u2.borrow_mut() = Some(p);
    /// });
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn is_waiting(&self) -> bool {
        let w = self.g.wait_state().word();
        w >> GEN_SHIFT == self.gen && w & PHASE == PARKED
    }

    /// The parked greenlet.
    ///
    /// # Examples
    ///
    /// ```
    /// gevent_hub::park(|u| {
    ///     assert!(u.greenlet().is_current());
    ///     u.wake(greenlet::Value::empty());
    /// });
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn greenlet(&self) -> &RawGreenlet {
        &self.g
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

/// The message for a waiting call made where no greenlet can wait.
pub(crate) const WAIT_IN_HUB: &str = "a waiting call was made inside the hub (in a callback, \
    a timer, a link or a scheduler hook): callbacks run in the hub and must not wait; spawn a \
    greenlet to do the waiting";

/// Panics with [`WAIT_IN_HUB`].
#[cold]
#[inline(never)]
fn wait_in_hub() -> ! {
    panic!("{WAIT_IN_HUB}");
}

/// What resumed a park.
enum Resumed {
    /// A wake, with its value.
    Woken(Value),
    /// An interrupt (the first pending one).
    Interrupted,
    /// A payload sent by the switch itself (the hub's `LoopExit` for main, a raw greenlet's
    /// `throw`, the greenlet crate killing an orphan).
    Thrown(Panic),
}

/// The core of every park: registers, switches to the hub (or straight to the next ready
/// greenlet), and tells what resumed it. With `SHIELD`, a park entered while the greenlet
/// unwinds is shielded from interrupts (rule 4); without, interrupts always end it.
#[inline(always)]
fn park_core<const SHIELD: bool>(
    hub: &Hub,
    st: &WaitState,
    cur: &greenlet::Current,
    unwinding: bool,
    register: impl FnOnce(Unparker),
) -> Resumed {
    let w = st.word();
    let gen = w >> GEN_SHIFT;
    let shielded = SHIELD && unwinding;
    let flags = (w & PERSIST) | if shielded { SHIELDED } else { 0 };
    st.set_word((gen << GEN_SHIFT) | flags | PARKED);
    let end = EndPark {
        st,
        gen,
        _unwinding: if unwinding {
            Some(SuspendedUnwinding::new())
        } else {
            None
        },
    };
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
    let phase = st.word() & PHASE;
    drop(end);
    match m {
        Message::Value(v) if phase != INTERRUPTED => Resumed::Woken(v),
        Message::Value(_) => Resumed::Interrupted,
        Message::Throw(p) => Resumed::Thrown(p),
        Message::Failed(b) => failed(&b.1),
    }
}

/// A start failure sent back to a parked greenlet (it handed over to one that could not start).
#[cold]
#[inline(never)]
fn failed(e: &greenlet::StackError) -> ! {
    panic!("{e}")
}

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
/// Raises a kill or timeout aimed at the greenlet, pending or arriving while it waits (see the
/// [crate docs](crate#kills-and-timeouts) for the rules, including waits in destructors during unwinding, which
/// raise nothing). Panics if called from inside the hub (a callback).
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
/// Yes, always (unless an interrupt is pending: it is raised before waiting).
///
/// # Kill safety
///
/// If a kill or timeout unwinds out of `park`, the `Unparker` is dead: a later `wake` is
/// refused. The registration itself is the caller's to remove (use a guard, or a
/// [`WaitList`](crate::WaitList), which does it).
#[inline(always)]
pub fn park(register: impl FnOnce(Unparker)) -> Value {
    let hub = get_hub();
    let cur = greenlet::getcurrent();
    if cur.is_hub() {
        wait_in_hub();
    }
    let st = cur.wait_state();
    if st.word() & HAS_PENDING != 0 || std::thread::panicking() {
        return park_slow(&hub, st, &cur, register);
    }
    match park_core::<true>(&hub, st, &cur, false, register) {
        Resumed::Woken(v) => v,
        Resumed::Interrupted => raise_interrupted(st),
        Resumed::Thrown(p) => raise(st, p),
    }
}

/// [`park`] when an interrupt is pending or the thread is panicking (kept out of the fast
/// path).
#[cold]
#[inline(never)]
fn park_slow(
    hub: &Hub,
    st: &WaitState,
    cur: &greenlet::Current,
    register: impl FnOnce(Unparker),
) -> Value {
    let unwinding = enter_slow(st);
    match park_core::<true>(hub, st, cur, unwinding, register) {
        Resumed::Woken(v) => v,
        Resumed::Interrupted => raise_interrupted(st),
        Resumed::Thrown(p) => raise(st, p),
    }
}

/// Raises the interrupt that ended a park.
#[cold]
#[inline(never)]
fn raise_interrupted(st: &WaitState) -> ! {
    match take_next(st) {
        Some(p) => raise(st, p),
        None => unreachable!("an interrupted park has an interrupt pending"),
    }
}

/// The outcome of [`park_timeout`] when the time ran out.
///
/// # Examples
///
/// ```
/// assert_eq!(gevent_hub::TimedOut.to_string(), "timed out");
/// ```
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
    let hub = get_hub();
    let mut timer = CancelTimer(None);
    let v = park(|u| {
        timer.0 = arm_timeout(&hub, d, &u);
        register(u)
    });
    drop(timer);
    if v.is::<TimeoutMarker>() {
        Err(TimedOut)
    } else {
        Ok(v)
    }
}

/// Arms the timer that ends a park after `d` with the [`TimeoutMarker`] (none if `d` is too
/// long for the clock: forever). Only the hub's public timer API is used.
fn arm_timeout(hub: &Hub, d: Duration, u: &Unparker) -> Option<Timer> {
    Instant::now().checked_add(d)?;
    let t = u.clone();
    Some(hub.call_later(d, move || {
        t.wake(Value::new(TimeoutMarker));
    }))
}

/// Cancels a timer on scope exit.
struct CancelTimer(Option<Timer>);

impl Drop for CancelTimer {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.cancel();
        }
    }
}

/// Why [`park_no_unwind`] returned without a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParkError {
    /// Its own time limit passed (nothing is pending because of it).
    TimedOut,
    /// A kill or a timeout ended it, or was already pending when it was called. It stays
    /// pending: the greenlet's next ordinary wait raises it (a timeout can still be revoked).
    Interrupted(InterruptKind),
}

impl std::fmt::Display for ParkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParkError::TimedOut => f.write_str("timed out"),
            ParkError::Interrupted(InterruptKind::Kill) => {
                f.write_str("interrupted by a kill (still pending)")
            }
            ParkError::Interrupted(InterruptKind::Timeout) => {
                f.write_str("interrupted by a timeout (still pending)")
            }
        }
    }
}

impl std::error::Error for ParkError {}

/// [`park_timeout`] that never unwinds: a kill or timeout that ends the wait (or is already
/// pending when it is called) is returned as [`ParkError::Interrupted`] and stays pending, to
/// be raised at the greenlet's next ordinary wait ([`park`], `sleep`, a socket read...) or
/// by [`raise_pending`]. This is for code that a panic cannot leave, such as the `extern "C"`
/// libc hooks of the `monkey` crate, which turn the error into `ECANCELED` or `ETIMEDOUT`.
///
/// Unlike [`park`], it is interrupted also inside a destructor running during unwinding (rule
/// 4 of the [crate docs](crate#kills-and-timeouts) is about not *raising* there; nothing is raised here). The main
/// greenlet's [`LoopExit`](crate::LoopExit) (nothing could ever wake it) comes back as
/// `Interrupted(Kill)`, pending like a kill.
///
/// # Errors
///
/// [`ParkError::TimedOut`] when `timeout` passed first; [`ParkError::Interrupted`] when an
/// interrupt ended the wait or was pending.
///
/// # Panics
///
/// If called from inside the hub (a callback): the hooks check `is_in_loop` first.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent_hub::{park_no_unwind, pending_interrupt, spawn, InterruptKind, ParkError};
///
/// let g = spawn(|| {
///     let r = park_no_unwind(None, |_u| {}); // nobody wakes it: only a kill ends it
///     assert_eq!(r.unwrap_err(), ParkError::Interrupted(InterruptKind::Kill));
///     assert_eq!(pending_interrupt(), Some(InterruptKind::Kill)); // still pending...
///     gevent_hub::sleep(Duration::ZERO); // ...and raised at the next wait
///     unreachable!();
/// });
/// gevent_hub::sleep(Duration::ZERO);
/// g.kill();
/// assert!(g.get().unwrap_err().is_killed());
/// ```
///
/// # Switches
///
/// Yes, unless an interrupt is already pending.
///
/// # Kill safety
///
/// Nothing unwinds out of it. The registration is the caller's to remove; the timer is
/// cancelled.
pub fn park_no_unwind(
    timeout: Option<Duration>,
    register: impl FnOnce(Unparker),
) -> Result<Value, ParkError> {
    let hub = get_hub();
    let cur = greenlet::getcurrent();
    if cur.is_hub() {
        wait_in_hub();
    }
    let st = cur.wait_state();
    if let Some(kind) = report_next(st) {
        return Err(ParkError::Interrupted(kind));
    }
    let unwinding = std::thread::panicking() && unwinding_now(st);
    let mut timer = CancelTimer(None);
    let r = park_core::<false>(&hub, st, &cur, unwinding, |u| {
        if let Some(d) = timeout {
            timer.0 = arm_timeout(&hub, d, &u);
        }
        register(u)
    });
    drop(timer);
    match r {
        Resumed::Woken(v) if v.is::<TimeoutMarker>() => Err(ParkError::TimedOut),
        Resumed::Woken(v) => Ok(v),
        Resumed::Interrupted => Err(ParkError::Interrupted(
            report_next(st).unwrap_or(InterruptKind::Kill),
        )),
        Resumed::Thrown(p) => {
            with_pending(st, |l| {
                l.push(Pending {
                    kind: InterruptKind::Kill,
                    key: 0,
                    payload: p,
                    reported: true,
                })
            });
            Err(ParkError::Interrupted(InterruptKind::Kill))
        }
    }
}

/// Whether `g` is in a wait of the hub that nobody has ended yet (the thread's teardown
/// kills such greenlets through the hub).
pub(crate) fn is_parked(g: &RawGreenlet) -> bool {
    g.wait_state().word() & PHASE == PARKED
}

/// Delivers an interrupt to `g` (rule 1 of the module docs).
fn interrupt(g: &RawGreenlet, kind: InterruptKind, key: u64, payload: Panic) {
    if g.is_dead() {
        return;
    }
    let st = g.wait_state();
    with_pending(st, |l| {
        l.push(Pending {
            kind,
            key,
            payload,
            reported: false,
        })
    });
    let w = st.word();
    if w & PHASE == PARKED && w & SHIELDED == 0 {
        st.set_word((w & !PHASE) | INTERRUPTED);
        get_hub().schedule(g.clone(), Message::Value(Value::empty()));
    }
}

/// Kills `g` with `payload` (usually [`GreenletExit`](greenlet::GreenletExit)) the gevent way:
/// the payload is raised inside `g` at the point where it waits, at once (queued in the hub)
/// if it is parked now, else at its next wait; it unwinds `g`'s stack, so its `Drop`s run.
/// A kill is never revoked and goes before any timeout (see the [crate docs](crate#kills-and-timeouts) for all the
/// rules). A dead greenlet ignores it.
///
/// Throwing into the running greenlet is deferred to its next wait too (to raise at once, use
/// `std::panic::resume_unwind`).
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
    interrupt(g, InterruptKind::Kill, 0, payload);
}

/// Delivers a timeout to `g`: `payload` is raised where `g` waits, as [`throw_into`] does, but
/// after any kill, and it can be revoked with [`revoke_timeout`]`(g, key)` until it is raised
/// (`Timeout::cancel` does that). `key` must tell it from the other timeouts of `g` (an id
/// from a process-wide counter does).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let g = gevent_hub::spawn(|| {
///     std::panic::catch_unwind(|| gevent_hub::sleep(Duration::from_secs(60)))
///         .unwrap_err()
///         .downcast::<&str>()
///         .map(|s| *s)
///         .unwrap()
/// });
/// gevent_hub::sleep(Duration::ZERO);
/// gevent_hub::throw_timeout_into(&g.raw().unwrap(), 7, Box::new("too slow"));
/// assert_eq!(g.get().unwrap(), "too slow");
/// ```
///
/// # Switches
///
/// Never.
pub fn throw_timeout_into(g: &RawGreenlet, key: u64, payload: Panic) {
    interrupt(g, InterruptKind::Timeout, key, payload);
}

/// Takes back the timeout `key` given to [`throw_timeout_into`] for `g`, if it has not been
/// raised yet; returns whether it was taken back. If it had already ended `g`'s wait and `g`
/// has not run since, the wait goes on as if nothing happened; unless something tried to wake
/// `g` meanwhile (and was refused), in which case the timeout stands and this returns `false`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let g = gevent_hub::spawn(|| gevent_hub::sleep(Duration::from_millis(20)));
/// gevent_hub::sleep(Duration::ZERO);
/// let raw = g.raw().unwrap();
/// gevent_hub::throw_timeout_into(&raw, 1, Box::new("late"));
/// assert!(gevent_hub::revoke_timeout(&raw, 1)); // before it ran: the sleep goes on
/// assert!(!gevent_hub::revoke_timeout(&raw, 1));
/// assert!(g.get().is_ok());
/// ```
///
/// # Switches
///
/// Never.
pub fn revoke_timeout(g: &RawGreenlet, key: u64) -> bool {
    let st = g.wait_state();
    if st.word() & HAS_PENDING == 0 {
        return false;
    }
    let taken = with_pending(st, |l| {
        let i = l
            .iter()
            .position(|p| p.kind == InterruptKind::Timeout && p.key == key)?;
        Some((i, l.remove(i)))
    });
    let Some((i, p)) = taken else {
        return false;
    };
    let w = st.word();
    if w & PHASE == INTERRUPTED && w & HAS_PENDING == 0 {
        // It ended the wait, and nothing else would be raised there.
        if w & MISSED != 0 {
            with_pending(st, |l| l.insert(i, p));
            return false;
        }
        get_hub().unschedule(g);
        st.set_word((w & !PHASE) | PARKED);
    }
    drop(p);
    true
}

/// Whether the timeout `key` given to [`throw_timeout_into`] for `g` is still waiting to be
/// raised there (neither raised nor revoked, and `g` not dead).
///
/// # Examples
///
/// ```
/// let me = greenlet::getcurrent();
/// gevent_hub::throw_timeout_into(&me, 9, Box::new("later"));
/// assert!(gevent_hub::timeout_pending(&me, 9));
/// gevent_hub::revoke_timeout(&me, 9);
/// assert!(!gevent_hub::timeout_pending(&me, 9));
/// ```
///
/// # Switches
///
/// Never.
pub fn timeout_pending(g: &RawGreenlet, key: u64) -> bool {
    let st = g.wait_state();
    if st.word() & HAS_PENDING == 0 {
        return false;
    }
    with_pending(st, |l| {
        l.iter()
            .any(|p| p.kind == InterruptKind::Timeout && p.key == key)
    })
}

/// Whether the timeout `key` given to [`throw_timeout_into`] for `g` is still pending and was
/// returned by a [`park_no_unwind`] as [`ParkError::Interrupted`]: a wait that cannot unwind
/// (a libc hook) failed because of it. `Timeout::run` uses it: such a timeout ended the block
/// (as an error of the call it interrupted) without being raised, and `run` reports it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent_hub::{park_no_unwind, throw_timeout_into, timeout_pending, timeout_reported};
/// let me = greenlet::getcurrent();
/// throw_timeout_into(&me, 5, Box::new("late"));
/// assert!(timeout_pending(&me, 5) && !timeout_reported(&me, 5));
/// assert!(park_no_unwind(Some(Duration::from_secs(1)), |_u| {}).is_err()); // fails at once
/// assert!(timeout_reported(&me, 5));
/// gevent_hub::revoke_timeout(&me, 5);
/// assert!(!timeout_reported(&me, 5));
/// ```
///
/// # Switches
///
/// Never.
pub fn timeout_reported(g: &RawGreenlet, key: u64) -> bool {
    let st = g.wait_state();
    if st.word() & HAS_PENDING == 0 {
        return false;
    }
    with_pending(st, |l| {
        l.iter()
            .any(|p| p.kind == InterruptKind::Timeout && p.key == key && p.reported)
    })
}

/// The kind of the interrupt that the running greenlet's next wait would raise, if any: a kill
/// or timeout that arrived while it was not parked. `None` also while it unwinds through a
/// destructor (nothing is raised there; see the [crate docs](crate#kills-and-timeouts)).
///
/// # Examples
///
/// ```
/// let me = greenlet::getcurrent();
/// assert_eq!(gevent_hub::pending_interrupt(), None);
/// gevent_hub::throw_timeout_into(&me, 3, Box::new("soon"));
/// assert_eq!(gevent_hub::pending_interrupt(), Some(gevent_hub::InterruptKind::Timeout));
/// assert!(gevent_hub::revoke_timeout(&me, 3));
/// assert_eq!(gevent_hub::pending_interrupt(), None);
/// ```
///
/// # Switches
///
/// Never.
pub fn pending_interrupt() -> Option<InterruptKind> {
    let cur = greenlet::getcurrent();
    let st = cur.wait_state();
    if st.word() & HAS_PENDING == 0 || unwinding_now(st) {
        return None;
    }
    next_kind(st)
}

/// Raises, now, the interrupt that the running greenlet's next wait would raise (see
/// [`pending_interrupt`]); does nothing if there is none. A wait that handed something over
/// to the greenlet (a lock, an item) and then finds it was killed meanwhile gives it back and
/// calls this, so the kill is not delayed.
///
/// # Panics
///
/// With the pending payload.
///
/// # Examples
///
/// ```
/// let me = greenlet::getcurrent();
/// gevent_hub::throw_into(&me, Box::new("stop"));
/// let p = std::panic::catch_unwind(gevent_hub::raise_pending).unwrap_err();
/// assert_eq!(*p.downcast::<&str>().unwrap(), "stop");
/// gevent_hub::raise_pending(); // nothing left
/// ```
///
/// # Switches
///
/// Never.
pub fn raise_pending() {
    let cur = greenlet::getcurrent();
    let st = cur.wait_state();
    if st.word() & HAS_PENDING == 0 || unwinding_now(st) {
        return;
    }
    if let Some(p) = take_next(st) {
        raise(st, p);
    }
}

/// Yields: queues the running greenlet at the back of the ready queue and lets the others
/// run (`sleep(Duration::ZERO)`). A kill pending for it is raised here (not while it unwinds).
#[inline(always)]
pub(crate) fn yield_now() {
    let hub = get_hub();
    let cur = greenlet::getcurrent();
    if cur.is_hub() {
        wait_in_hub();
    }
    let st = cur.wait_state();
    if st.word() & HAS_PENDING != 0 || std::thread::panicking() {
        return yield_slow(&hub, st, &cur);
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
        Message::Throw(p) => raise_current(p),
        Message::Failed(b) => failed(&b.1),
    }
}

/// [`yield_now`] when an interrupt is pending or the thread is panicking.
#[cold]
#[inline(never)]
fn yield_slow(hub: &Hub, st: &WaitState, cur: &greenlet::Current) {
    let unwinding = enter_slow(st).then(SuspendedUnwinding::new);
    hub.schedule(cur.to_greenlet(), Message::Value(Value::empty()));
    let m = match hub.next_ready_direct() {
        Some((g, m)) => g.switch_message(m),
        None => hub.switch_to_hub(),
    };
    drop(unwinding);
    match m {
        Message::Value(_) => {}
        Message::Throw(p) => raise(st, p),
        Message::Failed(b) => failed(&b.1),
    }
}

/// [`raise`] in the running greenlet.
#[cold]
#[inline(never)]
fn raise_current(p: Panic) -> ! {
    raise(greenlet::getcurrent().wait_state(), p)
}
