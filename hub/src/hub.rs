//! The hub: one per thread, created by the first call that waits. Its loop runs inside the
//! greenlet crate's trampoline as that crate's [`Scheduler`]: whenever a greenlet switches to the
//! hub, [`HubInner::schedule`] runs callbacks, timers and the poller until some greenlet is
//! ready, and answers which one runs next.
//!
//! The parts of the loop are types owned by their modules, each with a small interface: the
//! timer table ([`Timers`], which knows nothing of greenlets), the poller, the error
//! [`Reporter`](crate::error::Reporter), the blocking [`Monitor`]. The loop describes its own
//! state for a [`LoopExit`].
//!
//! # Teardown at thread exit
//!
//! A thread that exits with greenlets still suspended tears its hub down, from a thread-local
//! destructor registered when the hub is created:
//!
//! 1. pending timers, callbacks and idle callbacks are dropped (they would never run);
//! 2. every greenlet of the thread that has started and not finished is killed
//!    (`GreenletExit` is raised where it waits, so its `Drop`s run), and greenlets spawned
//!    but not started are killed without running; the loop runs until they are all dead (a
//!    `Drop` that waits is served as usual: timers, sockets and other threads' callbacks
//!    still work meanwhile). Greenlets spawned meanwhile are killed in further rounds;
//! 3. the loop is closed: its poller's fds and the signal pipe are closed, callbacks queued
//!    by other threads are dropped, and [`RemoteHub::run_callback`] returns `false` from
//!    then on.
//!
//! Thread-local destructors run in the reverse order of the thread-locals' first use. The
//! hub makes sure that what the teardown needs (the greenlet crate's state, the stack pool,
//! its own tables) was created before its destructor was registered, so that it is destroyed
//! after the teardown. A thread-local that the thread used for the first time *after* its hub
//! was created may already be destroyed when the killed greenlets' `Drop`s run: such code
//! must use [`LocalKey::try_with`](std::thread::LocalKey::try_with) (`with` panics on a
//! destroyed thread-local, and a panic in a `Drop` that runs during the kill aborts the
//! process), or first touch its thread-locals before its first waiting call.
//!
//! The process's main thread is not torn down: when `main` returns, the process exits (glibc
//! runs the main thread's thread-local destructors inside `exit`, but killing greenlets there
//! would run their code while the process is shutting down, and gevent does not do it
//! either). To run the `Drop`s of greenlets still suspended, kill them before `main` returns
//! (`killall`, or `Hub::join`). A thread that leaves by `exit` or from inside a greenlet
//! (not its main greenlet) only closes its hub.

use std::any::Any;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use greenlet::{Greenlet as RawGreenlet, GreenletExit, Message, Scheduler, Value};

pub(crate) use crate::error::ErrorReport;
use crate::error::{LoopExit, Reporter};
use crate::monitor::Monitor;
use crate::park::Unparker;
use crate::poller::{Events, Poller};
use crate::reactor::Reactor;
use crate::timer::{TimerId, Timers};

/// How many ready greenlets run between two looks at timers and the poller, so that greenlets
/// that keep yielding cannot starve I/O (tokio's scheduler uses a similar interval).
const BUDGET: u32 = 61;

/// How many times the teardown kills the greenlets left (killing one may spawn others).
const TEARDOWN_ROUNDS: usize = 8;

thread_local! {
    /// This thread's hub, once created (and still there, closed, after its teardown).
    static HUB: RefCell<Option<Hub>> = const { RefCell::new(None) };
    /// Tears the hub down when the thread exits; first used (so its destructor registered)
    /// once everything the teardown needs exists.
    static TEARDOWN: TeardownGuard = const { TeardownGuard };
    /// What runs on this thread ([`thread_state`]): `STATE_*` bits. A const `Cell` without a
    /// destructor, so reading it is one thread-local load, valid at any point of the thread's
    /// life (before `main`, in signal handlers, during thread-local destruction).
    static THREAD_STATE: Cell<u8> = const { Cell::new(0) };
}

/// [`THREAD_STATE`] bit: this thread has a hub.
const STATE_HUB: u8 = 1;
/// [`THREAD_STATE`] bit: the hub's loop runs (inside `Scheduler::schedule`: callbacks, timers,
/// the poller).
const STATE_IN_LOOP: u8 = 2;
/// [`THREAD_STATE`] bit: the hub is being torn down, or is closed (set before the teardown
/// touches anything, never cleared).
const STATE_TEARDOWN: u8 = 4;

/// What code running on this thread is, as far as waiting goes: see [`thread_state`].
///
/// # Examples
///
/// ```
/// use gevent_hub::{thread_state, ThreadState};
/// let t = std::thread::spawn(|| {
///     assert_eq!(thread_state(), ThreadState::NoHub);
///     gevent_hub::sleep(std::time::Duration::ZERO); // creates the hub
///     thread_state()
/// });
/// assert_eq!(t.join().unwrap(), ThreadState::InGreenlet);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThreadState {
    /// The thread has no hub (none was created yet): a wait would create one.
    NoHub,
    /// A greenlet of the thread's hub runs (the main greenlet included): it may wait.
    InGreenlet,
    /// The hub's loop runs (a callback, a timer, a link): nothing may wait here.
    InHub,
    /// The hub is being torn down at thread exit, or was: greenlets killed by the teardown may
    /// still run, but code that waits on its own terms (libc hooks) must not.
    TearingDown,
}

/// What runs on this thread: no hub yet, a greenlet, the hub's loop, or the hub's teardown.
/// One thread-local load (a const `Cell<u8>` without destructor), valid at any time, also
/// before `main`, in a signal handler and while thread-locals are destroyed: what the
/// `monkey` crate's libc hooks test before anything else (a thread without a hub pays
/// nothing more). Set when the hub is created, around each run of its loop, and before its
/// teardown drops anything.
///
/// # Examples
///
/// ```
/// use gevent_hub::{get_hub, thread_state, ThreadState};
/// gevent_hub::sleep(std::time::Duration::ZERO);
/// assert_eq!(thread_state(), ThreadState::InGreenlet);
/// let seen = std::rc::Rc::new(std::cell::Cell::new(None));
/// let s2 = seen.clone();
/// get_hub().run_callback(move || s2.set(Some(thread_state())));
/// gevent_hub::sleep(std::time::Duration::ZERO);
/// assert_eq!(seen.get(), Some(ThreadState::InHub));
/// ```
///
/// # Switches
///
/// Never.
#[inline(always)]
pub fn thread_state() -> ThreadState {
    match THREAD_STATE.with(Cell::get) {
        STATE_HUB => ThreadState::InGreenlet,
        0 => ThreadState::NoHub,
        s if s & STATE_TEARDOWN != 0 => ThreadState::TearingDown,
        _ => ThreadState::InHub,
    }
}

/// Sets or clears `bit` of this thread's [`thread_state`].
#[inline(always)]
fn set_thread_state(bit: u8, on: bool) {
    THREAD_STATE.with(|s| {
        let v = s.get();
        s.set(if on { v | bit } else { v & !bit })
    });
}

/// What a timer does when it fires.
pub(crate) enum Action {
    /// Wake a parked greenlet with the empty value.
    Wake(Unparker),
    /// Run a callback in the hub.
    Call(Box<dyn FnOnce()>),
}

/// Where a hub is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    /// Running normally.
    Running,
    /// Killing its greenlets at thread exit.
    TearingDown,
    /// Torn down: its poller is closed; waits end with `LoopExit`.
    Closed,
}

/// A handle to this thread's hub (gevent's `get_hub()`).
///
/// # Examples
///
/// ```
/// let hub = gevent_hub::get_hub();
/// hub.run_callback(|| println!("in the hub"));
/// gevent_hub::sleep(std::time::Duration::ZERO);
/// ```
#[derive(Clone)]
pub struct Hub(pub(crate) Rc<HubInner>);

/// A thread-safe handle to a hub: runs callbacks in it from other threads, and keeps its loop
/// alive while work it waits for is under way elsewhere (the thread pool uses it).
///
/// Once the hub's thread has exited (and torn its hub down), [`run_callback`] returns `false`
/// and [`is_alive`] is `false`.
///
/// [`run_callback`]: RemoteHub::run_callback
/// [`is_alive`]: RemoteHub::is_alive
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
/// let remote = gevent_hub::get_hub().remote();
/// let done = Arc::new(AtomicBool::new(false));
/// let d2 = done.clone();
/// let t = std::thread::spawn(move || remote.run_callback(move || d2.store(true, Ordering::SeqCst)));
/// t.join().unwrap();
/// gevent_hub::sleep(std::time::Duration::from_millis(10));
/// assert!(done.load(Ordering::SeqCst));
/// ```
#[derive(Clone)]
pub struct RemoteHub {
    /// What the hub shares with other threads.
    shared: Arc<RemoteShared>,
}

/// The part of a hub that other threads reach.
struct RemoteShared {
    /// The queue the hub drains.
    tx: Sender<Box<dyn FnOnce() + Send>>,
    /// Wakes the hub's poller; closed by the teardown.
    poller: Arc<Poller>,
    /// Operations under way elsewhere that the hub must stay alive for.
    refs: AtomicUsize,
}

/// The hub's state.
pub struct HubInner {
    /// The hub's pseudo-greenlet: switching to it runs the loop. Set once, at creation; a
    /// `OnceCell` so that a switch to the hub reads it without a borrow held across the
    /// switch.
    greenlet: OnceCell<RawGreenlet>,
    /// Greenlets ready to run, with what to send them.
    ready: RefCell<VecDeque<(RawGreenlet, Message)>>,
    /// Callbacks to run in the hub, in order.
    callbacks: RefCell<VecDeque<Box<dyn FnOnce()>>>,
    /// Callbacks to run when the loop is about to block (gevent's `idle`).
    idle: RefCell<VecDeque<Box<dyn FnOnce()>>>,
    /// Deadlines.
    timers: RefCell<Timers<Action>>,
    /// Readiness of fds (a `polling::Poller`); shared with [`RemoteHub`] for `notify`, and
    /// with the reactor, which registers fds with it.
    poller: Arc<Poller>,
    /// The buffer for poller events.
    events: RefCell<Events>,
    /// Registered fds, their readiness and waiters (see the `reactor` module).
    pub(crate) reactor: Reactor,
    /// Callbacks from other threads.
    remote_rx: Receiver<Box<dyn FnOnce() + Send>>,
    /// The handle other threads use.
    remote: RemoteHub,
    /// Ready greenlets left before the next look at timers and the poller.
    budget: Cell<u32>,
    /// Where error reports go.
    errors: Reporter,
    /// The blocking monitor's view of this hub.
    pub(crate) monitor: Monitor,
    /// Greenlets in `Hub::join`, woken when the loop runs dry.
    joiners: RefCell<Vec<Unparker>>,
    /// Whether the loop is inside `schedule` (for `is_in_loop`; mirrored in the thread's
    /// [`thread_state`] by `set_in_loop`).
    in_loop: Cell<bool>,
    /// Running, tearing down, or closed.
    life: Cell<Life>,
    /// While tearing down: the greenlets killed in the current round, not yet seen dead.
    teardown_targets: RefCell<Vec<RawGreenlet>>,
}

/// This thread's hub, created on first use (gevent's `get_hub()`).
///
/// # Examples
///
/// ```
/// let a = gevent_hub::get_hub();
/// let b = gevent_hub::get_hub();
/// assert!(a.greenlet() == b.greenlet());
/// ```
///
/// # Panics
///
/// If the hub's poller cannot be created (the process is out of fds), or if called from a
/// thread-local destructor after the hub's own thread-locals were destroyed.
///
/// # Switches
///
/// Never.
#[inline]
pub fn get_hub() -> Hub {
    if let Some(h) = HUB.with(|h| h.borrow().clone()) {
        return h;
    }
    create_hub()
}

/// Creates this thread's hub (the slow path of `get_hub`).
#[cold]
#[inline(never)]
fn create_hub() -> Hub {
    let hub = Hub::create().expect("cannot create the hub's poller");
    HUB.with(|h| *h.borrow_mut() = Some(hub.clone()));
    // Last: the teardown's destructor then runs before those of everything created above.
    TEARDOWN.with(|_| ());
    hub
}

impl Hub {
    fn create() -> io::Result<Hub> {
        crate::error::install_panic_hook();
        greenlet::init_thread();
        let poller = Arc::new(Poller::new()?);
        let (tx, rx) = crossbeam_channel::unbounded();
        let remote = RemoteHub {
            shared: Arc::new(RemoteShared {
                tx,
                poller: poller.clone(),
                refs: AtomicUsize::new(0),
            }),
        };
        let inner = Rc::new(HubInner {
            greenlet: OnceCell::new(),
            ready: RefCell::new(VecDeque::with_capacity(64)),
            callbacks: RefCell::new(VecDeque::new()),
            idle: RefCell::new(VecDeque::new()),
            timers: RefCell::new(Timers::default()),
            reactor: Reactor::new(poller.clone()),
            poller,
            events: RefCell::new(Events::new()),
            remote_rx: rx,
            remote,
            budget: Cell::new(BUDGET),
            errors: Reporter::default(),
            monitor: Monitor::new(),
            joiners: RefCell::new(Vec::new()),
            in_loop: Cell::new(false),
            life: Cell::new(Life::Running),
            teardown_targets: RefCell::new(Vec::new()),
        });
        let g = greenlet::install_scheduler(inner.clone());
        let _ = inner.greenlet.set(g);
        crate::monitor::start_if_configured(&inner.monitor);
        set_thread_state(STATE_HUB, true);
        Ok(Hub(inner))
    }

    /// The hub's greenlet: switching to it (from a greenlet that registered a way to be woken)
    /// waits; greenlets spawned by `spawn` have it as their parent.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn greenlet(&self) -> RawGreenlet {
        self.0.greenlet()
    }

    /// The hub's greenlet, borrowed.
    #[inline(always)]
    pub(crate) fn hub_greenlet(&self) -> &RawGreenlet {
        self.0.hub_greenlet()
    }

    /// Switches the running greenlet to the hub (it must have arranged to be woken).
    #[inline(always)]
    pub(crate) fn switch_to_hub(&self) -> Message {
        self.0
            .hub_greenlet()
            .switch_message(Message::Value(Value::empty()))
    }

    /// The next ready greenlet, taken off the queue, if the hub's scheduler would answer it
    /// right now: no callbacks are queued and the budget before the next look at timers and
    /// the poller is not spent. A greenlet that yields switches to it directly.
    #[inline]
    pub(crate) fn next_ready_direct(&self) -> Option<(RawGreenlet, Message)> {
        let h = &self.0;
        let b = h.budget.get();
        if b == 0 || !h.callbacks.borrow().is_empty() {
            return None;
        }
        let next = h.ready.borrow_mut().pop_front()?;
        h.budget.set(b - 1);
        h.monitor.switching_to(&next.0);
        Some(next)
    }

    /// Queues `g` to be switched into with `m` (at the back of the ready queue).
    pub(crate) fn schedule(&self, g: RawGreenlet, m: Message) {
        self.0.ready.borrow_mut().push_back((g, m));
    }

    /// Takes `g` off the ready queue (what it would have been sent is dropped); returns
    /// whether it was there. O(ready greenlets): only for revoking a timeout that ended a
    /// wait before its greenlet ran.
    pub(crate) fn unschedule(&self, g: &RawGreenlet) -> bool {
        let removed = {
            let mut r = self.0.ready.borrow_mut();
            let i = r.iter().position(|(x, _)| x == g);
            i.and_then(|i| r.remove(i))
        };
        removed.is_some()
    }

    /// Runs `f` in the hub soon (after the greenlets that are ready now), in FIFO order with
    /// other callbacks. `f` runs in the hub: it must not wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let hit = Rc::new(Cell::new(false));
    /// let h2 = hit.clone();
    /// gevent_hub::get_hub().run_callback(move || h2.set(true));
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// assert!(hit.get());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn run_callback(&self, f: impl FnOnce() + 'static) {
        self.0.callbacks.borrow_mut().push_back(Box::new(f));
    }

    /// Runs `f` in the hub when it has nothing else to do (before it would block).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn run_idle(&self, f: impl FnOnce() + 'static) {
        self.0.idle.borrow_mut().push_back(Box::new(f));
    }

    /// A thread-safe handle for running callbacks in this hub from other threads.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn remote(&self) -> RemoteHub {
        self.0.remote.clone()
    }

    /// Adds a timer firing at `deadline` (`None`: never; see the `timer` module).
    #[inline]
    pub(crate) fn add_timer(&self, deadline: Option<Instant>, refd: bool, a: Action) -> TimerId {
        self.0.timers.borrow_mut().add(deadline, refd, a)
    }

    /// Cancels a timer (dropping its action outside the timer table's borrow).
    #[inline]
    pub(crate) fn cancel_timer(&self, id: TimerId) {
        let action = self.0.timers.borrow_mut().cancel(id);
        drop(action);
    }

    /// Whether a timer is still pending.
    pub(crate) fn timer_pending(&self, id: TimerId) -> bool {
        self.0.timers.borrow().is_pending(id)
    }

    /// Changes whether a timer keeps the loop alive.
    pub(crate) fn set_timer_ref(&self, id: TimerId, refd: bool) {
        self.0.timers.borrow_mut().set_ref(id, refd)
    }

    /// Runs `f` in the hub after `d`, returning a handle that cancels it. A `d` too long for
    /// the clock (`Duration::MAX`) never fires, and such a timer does not keep the loop alive.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = gevent_hub::get_hub().call_later(Duration::from_secs(60), || unreachable!());
    /// t.cancel();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn call_later(&self, d: Duration, f: impl FnOnce() + 'static) -> Timer {
        let id = self.add_timer(crate::deadline_after(d), true, Action::Call(Box::new(f)));
        Timer {
            hub: self.clone(),
            id,
        }
    }

    /// Replaces how errors are reported (the default prints the report on stderr). The
    /// handler runs in the hub.
    ///
    /// # Examples
    ///
    /// ```
    /// gevent_hub::get_hub().set_error_handler(|r| eprintln!("oops: {r}"));
    /// # gevent_hub::get_hub().reset_error_handler();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias("handle_error", "print_exception"))]
    pub fn set_error_handler(&self, f: impl Fn(&ErrorReport) + 'static) {
        self.0.errors.set(Box::new(f));
    }

    /// Goes back to printing errors on stderr.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn reset_error_handler(&self) {
        self.0.errors.reset();
    }

    /// Reports an error the gevent way: once, through the error handler. Every report goes
    /// through here. A handler that panics does not take its caller down (a dying greenlet
    /// still finishes, the loop goes on): the report and the handler's panic are printed on
    /// stderr instead.
    pub(crate) fn handle_error(&self, report: ErrorReport) {
        self.0.errors.report(&report);
    }

    /// Runs the loop until nothing in it is left that keeps it alive, or until `timeout`;
    /// returns `true` if it ran dry (gevent's `hub.join()` / `gevent.wait()` with no objects).
    /// A `timeout` too long for the clock (`Duration::MAX`) is no limit.
    ///
    /// # Panics
    ///
    /// If called from inside the hub.
    ///
    /// # Examples
    ///
    /// ```
    /// gevent_hub::spawn(|| gevent_hub::sleep(std::time::Duration::from_millis(5)));
    /// assert!(gevent_hub::get_hub().join(None));
    /// ```
    ///
    /// # Switches
    ///
    /// Yes, until the loop is empty.
    ///
    /// # Kill safety
    ///
    /// A kill or a timeout unwinding out of it leaves the loop's greenlets, timers and callbacks
    /// in place; they run at the caller's next wait.
    pub fn join(&self, timeout: Option<Duration>) -> bool {
        if !self.0.alive_besides_caller() {
            // Let what is ready run once, then look again.
            crate::sleep(Duration::ZERO);
            if !self.0.alive_besides_caller() {
                return true;
            }
        }
        let deadline = timeout.and_then(crate::deadline_after);
        let mut timer = None;
        let v = crate::park::park(|u| {
            if let Some(d) = deadline {
                let t = u.clone();
                // Not ref'd: the deadline alone must not keep the loop alive.
                timer = Some(self.add_timer(
                    Some(d),
                    false,
                    Action::Call(Box::new(move || {
                        t.wake(Value::new(false));
                    })),
                ));
            }
            self.0.joiners.borrow_mut().push(u);
        });
        if let Some(t) = timer {
            self.cancel_timer(t);
        }
        v.downcast::<bool>().unwrap_or(true)
    }

    /// Whether the caller runs inside the hub (a callback).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_in_loop(&self) -> bool {
        self.0.in_loop.get()
    }

    /// Starts the blocking monitor for this hub: a thread named `gevent-monitor` that reports
    /// any time the hub has not come back to its loop for longer than `max_blocking_time`,
    /// naming the greenlet that was running: through `tracing` (at WARN level) when a
    /// subscriber is installed, else on stderr. It is also started by the environment variable
    /// `GEVENT_MONITOR_THREAD_ENABLE=1` (with `GEVENT_MAX_BLOCKING_TIME` in seconds, default
    /// 0.1), as in gevent.
    ///
    /// # Examples
    ///
    /// ```
    /// gevent_hub::get_hub().start_monitor(std::time::Duration::from_secs(1));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn start_monitor(&self, max_blocking_time: Duration) {
        self.0.monitor.start(max_blocking_time);
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("ready", &self.0.ready.borrow().len())
            .field("callbacks", &self.0.callbacks.borrow().len())
            .field("timers", &self.0.timers.borrow().len())
            .field("fds", &self.0.reactor.len())
            .field("life", &self.0.life.get())
            .finish()
    }
}

impl RemoteHub {
    /// Runs `f` in the hub's thread, in its loop, as soon as it looks (it is woken if it
    /// sleeps). Returns `false` (and drops `f`) if the hub's thread has exited.
    ///
    /// # Switches
    ///
    /// Never (this is called from other threads).
    pub fn run_callback(&self, f: impl FnOnce() + Send + 'static) -> bool {
        let s = &self.shared;
        s.poller.send_and_notify(|| s.tx.send(Box::new(f)).is_ok())
    }

    /// Whether the hub's thread is still there (it has not exited and torn its hub down).
    ///
    /// # Examples
    ///
    /// ```
    /// let remote = std::thread::spawn(|| gevent_hub::get_hub().remote()).join().unwrap();
    /// assert!(!remote.is_alive());
    /// assert!(!remote.run_callback(|| ()));
    /// assert!(gevent_hub::get_hub().remote().is_alive());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_alive(&self) -> bool {
        self.shared.poller.is_open()
    }

    /// Keeps the hub's loop alive (it will not report "would block forever") until the guard
    /// is dropped: for work under way in another thread whose result will come back through
    /// [`run_callback`](RemoteHub::run_callback).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn hold(&self) -> HoldGuard {
        self.shared.refs.fetch_add(1, Ordering::SeqCst);
        HoldGuard {
            shared: self.shared.clone(),
        }
    }
}

impl fmt::Debug for RemoteHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteHub")
            .field("alive", &self.is_alive())
            .field("holds", &self.shared.refs.load(Ordering::Relaxed))
            .finish()
    }
}

/// Keeps a hub's loop alive while it exists; see [`RemoteHub::hold`].
pub struct HoldGuard {
    /// The hub's shared state (its count of holds).
    shared: Arc<RemoteShared>,
}

impl fmt::Debug for HoldGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HoldGuard")
    }
}

impl Drop for HoldGuard {
    fn drop(&mut self) {
        self.shared.refs.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A pending callback timer; see [`Hub::call_later`].
#[derive(Debug)]
pub struct Timer {
    /// Its hub.
    hub: Hub,
    /// Its id.
    id: TimerId,
}

impl Timer {
    /// Cancels the timer if it has not fired.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn cancel(&self) {
        self.hub.cancel_timer(self.id);
    }

    /// Whether it has neither fired nor been cancelled.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn pending(&self) -> bool {
        self.hub.timer_pending(self.id)
    }

    /// Whether the timer keeps the loop alive (gevent's `ref`); default `true`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_ref(&self, refd: bool) {
        self.hub.set_timer_ref(self.id, refd);
    }
}

impl HubInner {
    /// The hub greenlet.
    fn greenlet(&self) -> RawGreenlet {
        self.hub_greenlet().clone()
    }

    /// The hub greenlet, borrowed.
    #[inline(always)]
    fn hub_greenlet(&self) -> &RawGreenlet {
        match self.greenlet.get() {
            Some(g) => g,
            None => unreachable!("the hub greenlet is set at creation"),
        }
    }

    /// Whether anything other than the greenlet asking (which is parked, waiting on the loop)
    /// keeps the loop alive.
    fn alive_besides_caller(&self) -> bool {
        !self.ready.borrow().is_empty() || !self.callbacks.borrow().is_empty() || self.refd()
    }

    /// Whether a timer, an fd waiter, a remote hold or a remote callback keeps the loop alive.
    fn refd(&self) -> bool {
        self.life.get() != Life::Closed
            && (self.timers.borrow().refs() > 0
                || self.reactor.refs() > 0
                || self.remote.shared.refs.load(Ordering::SeqCst) > 0
                || !self.remote_rx.is_empty())
    }

    /// Runs one callback, reporting a panic instead of propagating it.
    fn run_guarded(&self, f: impl FnOnce()) {
        if let Err(p) = panic::catch_unwind(AssertUnwindSafe(f)) {
            self.report_panic("hub".into(), &*p);
        }
    }

    /// Reports a panic that escaped a callback or a raw greenlet.
    fn report_panic(&self, context: String, p: &(dyn Any + Send)) {
        self.errors.report_panic(context, p);
    }

    /// Fires due timers, runs queued callbacks and remote callbacks. Returns whether anything
    /// ran.
    fn run_callbacks(&self) -> bool {
        let mut any = false;
        let now = Instant::now();
        loop {
            let a = self.timers.borrow_mut().pop_expired(now);
            let Some(a) = a else { break };
            any = true;
            match a {
                Action::Wake(u) => {
                    u.wake(Value::empty());
                }
                Action::Call(f) => self.run_guarded(f),
            }
        }
        let n = self.callbacks.borrow().len();
        for _ in 0..n {
            let f = self.callbacks.borrow_mut().pop_front();
            let Some(f) = f else { break };
            any = true;
            self.run_guarded(f);
        }
        while let Ok(f) = self.remote_rx.try_recv() {
            any = true;
            self.run_guarded(f);
        }
        any
    }

    /// Waits on the poller (up to `timeout`; a [`RemoteHub`] notification ends it early),
    /// records the fds' readiness and wakes their waiters.
    fn poll(&self, timeout: Option<Duration>) {
        let mut events = self.events.borrow_mut();
        events.clear();
        self.monitor.enter_poll();
        let r = self.poller.wait(&mut events, timeout);
        self.monitor.leave_poll();
        if let Err(e) = r {
            if e.kind() != io::ErrorKind::Interrupted {
                tracing::error!(error = %e, "the hub's poller failed");
            }
            return;
        }
        self.reactor.dispatch(&events);
    }

    /// One turn of the loop: callbacks, then a poll that blocks only if `block` and nothing
    /// is ready. Returns `false` if nothing is alive (the loop would block forever).
    fn turn(&self, block: bool) -> bool {
        self.run_callbacks();
        if self.ready.borrow().is_empty() && self.callbacks.borrow().is_empty() {
            let idle: Vec<_> = self.idle.borrow_mut().drain(..).collect();
            for f in idle {
                self.run_guarded(f);
            }
        }
        let busy = !self.ready.borrow().is_empty() || !self.callbacks.borrow().is_empty();
        let timeout = if busy || !block {
            Some(Duration::ZERO)
        } else {
            if !self.refd() || self.teardown_done() {
                return false;
            }
            let next = self.timers.borrow_mut().next_deadline();
            next.map(|d| d.saturating_duration_since(Instant::now()))
        };
        if self.life.get() == Life::Closed
            || (timeout == Some(Duration::ZERO) && self.reactor.is_empty() && !block)
        {
            // Nothing to poll: skip the poller's system calls.
        } else {
            self.poll(timeout);
        }
        self.run_callbacks();
        true
    }

    /// While tearing down: whether every greenlet killed in this round has died, so the
    /// teardown can go on (greenlets spawned meanwhile are the next round's).
    #[cold]
    fn teardown_done(&self) -> bool {
        if self.life.get() != Life::TearingDown {
            return false;
        }
        let mut t = self.teardown_targets.borrow_mut();
        t.retain(|g| !g.is_dead());
        t.is_empty()
    }
}

impl Scheduler for HubInner {
    fn schedule(&self, msg: Message) -> (RawGreenlet, Message) {
        self.set_in_loop(true);
        match msg {
            Message::Value(v) => drop(v),
            m => self.incoming(m),
        }
        if !self.callbacks.borrow().is_empty() {
            // Callbacks queued by the greenlet that just switched here run before the next
            // greenlet does, as gevent's single callback FIFO would have them.
            self.run_callbacks();
        }
        loop {
            let b = self.budget.get();
            if b == 0 {
                self.budget.set(BUDGET);
                self.turn(false);
            } else {
                self.budget.set(b - 1);
            }
            let next = self.ready.borrow_mut().pop_front();
            if let Some((g, m)) = next {
                self.monitor.switching_to(&g);
                self.set_in_loop(false);
                return (g, m);
            }
            self.budget.set(BUDGET);
            if !self.turn(true) && self.ready.borrow().is_empty() {
                // The loop ran dry: first wake those waiting for exactly that.
                let joiners: Vec<_> = self.joiners.borrow_mut().drain(..).collect();
                let mut woke = false;
                for u in joiners {
                    woke |= u.wake(Value::new(true));
                }
                if woke {
                    continue;
                }
                self.set_in_loop(false);
                if self.life.get() == Life::TearingDown {
                    // A teardown round is over, and main is not parked: it threw into a
                    // greenlet suspended outside the hub (see `kill_all`).
                    return (greenlet::main(), Message::Value(Value::empty()));
                }
                let e = LoopExit::new(self.describe());
                return (greenlet::main(), Message::Throw(Box::new(e)));
            }
        }
    }
}

impl HubInner {
    /// Records whether the loop runs (`in_loop` and the thread's [`thread_state`]).
    #[inline(always)]
    fn set_in_loop(&self, on: bool) {
        self.in_loop.set(on);
        set_thread_state(STATE_IN_LOOP, on);
    }

    /// Handles what a raw greenlet left the hub when it died: its panic, or a start failure.
    #[cold]
    #[inline(never)]
    fn incoming(&self, msg: Message) {
        match msg {
            Message::Value(_) => {}
            Message::Throw(p) => {
                // A raw greenlet whose parent is the hub died of a panic.
                self.report_panic("(raw)".into(), &*p);
            }
            Message::Failed(b) => {
                let (g, e) = *b;
                self.report_panic(format!("#{}", g.id()), &e.to_string());
            }
        }
    }

    /// A one-line summary of what the loop holds, for `LoopExit`.
    fn describe(&self) -> String {
        let t = self.timers.borrow();
        let mut s = format!(
            "ready={} callbacks={} timers={} (keeping it alive: {}) fds={} (waiters keeping \
             it alive: {}) remote holds={}",
            self.ready.borrow().len(),
            self.callbacks.borrow().len(),
            t.len(),
            t.refs(),
            self.reactor.len(),
            self.reactor.refs(),
            self.remote.shared.refs.load(Ordering::SeqCst)
        );
        if self.life.get() == Life::Closed {
            s.push_str("; the hub was torn down when its thread exited");
        }
        s
    }
}

/// Tears the hub down at thread exit (see the module docs).
struct TeardownGuard;

impl Drop for TeardownGuard {
    fn drop(&mut self) {
        // First: code that waits on its own terms (libc hooks) passes through from now on.
        set_thread_state(STATE_TEARDOWN, true);
        let Some(hub) = HUB.try_with(|h| h.borrow().clone()).ok().flatten() else {
            return;
        };
        if is_main_thread() {
            // The process is exiting: see the module docs.
            return;
        }
        hub.0.teardown();
    }
}

/// Whether this is the process's main thread.
fn is_main_thread() -> bool {
    rustix::thread::gettid() == rustix::process::getpid()
}

impl HubInner {
    /// Kills every greenlet of the thread, then closes the loop (see the module docs).
    fn teardown(&self) {
        if self.life.get() != Life::Running {
            return;
        }
        let cur = greenlet::getcurrent();
        if cur.is_main() && !self.in_loop.get() {
            self.life.set(Life::TearingDown);
            let left = self.kill_all();
            if left > 0 {
                eprintln!(
                    "gevent: {left} greenlet(s) of thread {:?} could not be killed when it \
                     exited (suspended outside the hub, or respawning); they are leaked",
                    std::thread::current().name().unwrap_or("<unnamed>")
                );
            }
        }
        self.close();
    }

    /// Kills the thread's greenlets, in rounds (killing one may spawn others); returns how many
    /// are left alive.
    fn kill_all(&self) -> usize {
        for _ in 0..TEARDOWN_ROUNDS {
            self.drop_pending();
            let alive = greenlet::alive();
            let unstarted = self.kill_unstarted();
            if alive.is_empty() && unstarted.is_empty() {
                return 0;
            }
            // Greenlets that wait in the hub (parked, or ready to run) get the kill through
            // it; the others were suspended by a raw switch, outside the hub.
            let ready: Vec<RawGreenlet> = self.ready.borrow().iter().map(|e| e.0.clone()).collect();
            let (hubbed, outside): (Vec<_>, Vec<_>) = alive
                .into_iter()
                .partition(|g| crate::park::is_parked(g) || ready.contains(g));
            for g in &hubbed {
                crate::park::throw_into(g, Box::new(GreenletExit));
            }
            *self.teardown_targets.borrow_mut() = hubbed.into_iter().chain(unstarted).collect();
            let r = panic::catch_unwind(AssertUnwindSafe(|| {
                crate::park::park(|u| self.joiners.borrow_mut().push(u));
            }));
            drop(r);
            for g in outside {
                if g.is_dead() {
                    continue;
                }
                *self.teardown_targets.borrow_mut() = vec![g.clone()];
                let _ = panic::catch_unwind(AssertUnwindSafe(|| g.throw(GreenletExit)));
            }
            self.teardown_targets.borrow_mut().clear();
        }
        self.drop_pending();
        greenlet::alive_count()
    }

    /// Drops pending timers, callbacks and idle callbacks (outside the tables' borrows).
    fn drop_pending(&self) {
        let timers = self.timers.borrow_mut().drain();
        drop(timers);
        let callbacks = std::mem::take(&mut *self.callbacks.borrow_mut());
        drop(callbacks);
        let idle = std::mem::take(&mut *self.idle.borrow_mut());
        drop(idle);
    }

    /// Makes every greenlet in the ready queue that never started die without running;
    /// returns them.
    fn kill_unstarted(&self) -> Vec<RawGreenlet> {
        let mut killed = Vec::new();
        for (g, m) in self.ready.borrow_mut().iter_mut() {
            if !g.is_started() && !g.is_dead() {
                *m = Message::Throw(Box::new(GreenletExit));
                killed.push(g.clone());
            }
        }
        killed
    }

    /// Closes the loop: drops what is queued, wakes fd waiters with "closed", closes the
    /// signal pipe and the poller; other threads' callbacks are refused from then on.
    fn close(&self) {
        self.life.set(Life::Closed);
        crate::signal::teardown();
        self.drop_pending();
        let ready = std::mem::take(&mut *self.ready.borrow_mut());
        drop(ready);
        let joiners = std::mem::take(&mut *self.joiners.borrow_mut());
        drop(joiners);
        self.reactor.close();
        self.poller.close();
        while let Ok(f) = self.remote_rx.try_recv() {
            drop(f);
        }
        self.monitor.stop();
    }
}
