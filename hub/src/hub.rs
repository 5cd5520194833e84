//! The hub: one per thread, created by the first call that waits. Its loop runs inside the
//! greenlet crate's trampoline as that crate's [`Scheduler`]: whenever a greenlet switches to the
//! hub, [`HubInner::schedule`] runs callbacks, timers and the poller until some greenlet is
//! ready, and answers which one runs next.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use greenlet::{Greenlet as RawGreenlet, Message, Scheduler, Value};

use crate::error::LoopExit;
use crate::monitor::Monitor;
use crate::park::Unparker;
use crate::poller::{Events, Poller};
use crate::reactor::Reactor;
use crate::timer::{Action, TimerId, Timers};

/// How many ready greenlets run between two looks at timers and the poller, so that greenlets
/// that keep yielding cannot starve I/O (tokio's scheduler uses a similar interval).
const BUDGET: u32 = 61;

thread_local! {
    /// This thread's hub, once created.
    static HUB: RefCell<Option<Hub>> = const { RefCell::new(None) };
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
    /// The queue the hub drains.
    tx: Sender<Box<dyn FnOnce() + Send>>,
    /// Wakes the hub's poller.
    poller: Arc<Poller>,
    /// Operations under way elsewhere that the hub must stay alive for.
    refs: Arc<AtomicUsize>,
}

/// A hook for reporting errors (gevent's `Hub.handle_error`).
pub type ErrorHandler = Box<dyn Fn(&ErrorReport)>;

/// What the hub reports when a greenlet (or a callback) panics.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    /// The greenlet's name or `#id`, or `"hub"` for a callback.
    pub context: String,
    /// `panicked at <file:line:col>: <message>` as the panic hook saw it, or the payload's text.
    pub message: String,
}

impl fmt::Display for ErrorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "greenlet {} {}", self.context, self.message)
    }
}

/// The hub's state.
pub struct HubInner {
    /// The hub's pseudo-greenlet: switching to it runs the loop.
    greenlet: RefCell<Option<RawGreenlet>>,
    /// Greenlets ready to run, with what to send them.
    ready: RefCell<VecDeque<(RawGreenlet, Message)>>,
    /// Callbacks to run in the hub, in order.
    callbacks: RefCell<VecDeque<Box<dyn FnOnce()>>>,
    /// Callbacks to run when the loop is about to block (gevent's `idle`).
    idle: RefCell<VecDeque<Box<dyn FnOnce()>>>,
    /// Deadlines.
    timers: RefCell<Timers>,
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
    /// The error reporter, if replaced.
    error_handler: RefCell<Option<ErrorHandler>>,
    /// The blocking monitor's view of this hub.
    pub(crate) monitor: Monitor,
    /// Greenlets in `Hub::join`, woken when the loop runs dry.
    joiners: RefCell<Vec<Unparker>>,
    /// Whether the loop is inside `schedule` (for `is_in_loop`).
    in_loop: Cell<bool>,
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
    hub
}

impl Hub {
    fn create() -> io::Result<Hub> {
        crate::error::install_panic_hook();
        let poller = Arc::new(Poller::new()?);
        let (tx, rx) = crossbeam_channel::unbounded();
        let remote = RemoteHub {
            tx,
            poller: poller.clone(),
            refs: Arc::new(AtomicUsize::new(0)),
        };
        let inner = Rc::new(HubInner {
            greenlet: RefCell::new(None),
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
            error_handler: RefCell::new(None),
            monitor: Monitor::new(),
            joiners: RefCell::new(Vec::new()),
            in_loop: Cell::new(false),
        });
        let g = greenlet::install_scheduler(inner.clone());
        *inner.greenlet.borrow_mut() = Some(g);
        crate::monitor::start_if_configured(&inner.monitor);
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

    /// Switches the running greenlet to the hub (it must have arranged to be woken).
    #[inline(always)]
    pub(crate) fn switch_to_hub(&self) -> Message {
        let g = self.0.greenlet.borrow();
        let g = g.as_ref().expect("the hub greenlet is set at creation");
        g.switch_message(Message::Value(Value::empty()))
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

    /// Adds a timer.
    pub(crate) fn add_timer(&self, deadline: Instant, refd: bool, action: Action) -> TimerId {
        self.0.timers.borrow_mut().add(deadline, refd, action)
    }

    /// Cancels a timer (dropping its action outside the timer table's borrow).
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

    /// Runs `f(d)` in the hub after `d`, returning a handle that cancels it.
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
        let deadline = Instant::now() + d;
        let id = self.add_timer(deadline, true, Action::Call(Box::new(f)));
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
    pub fn set_error_handler(&self, f: impl Fn(&ErrorReport) + 'static) {
        *self.0.error_handler.borrow_mut() = Some(Box::new(f));
    }

    /// Goes back to printing errors on stderr.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn reset_error_handler(&self) {
        *self.0.error_handler.borrow_mut() = None;
    }

    /// Reports an error the gevent way: once, through the error handler.
    pub(crate) fn handle_error(&self, report: ErrorReport) {
        let h = self.0.error_handler.borrow();
        match &*h {
            Some(f) => f(&report),
            None => eprintln!("{report}"),
        }
    }

    /// Runs the loop until nothing in it is left that keeps it alive, or until `timeout`;
    /// returns `true` if it ran dry (gevent's `hub.join()` / `gevent.wait()` with no objects).
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
    pub fn join(&self, timeout: Option<Duration>) -> bool {
        if !self.0.alive_besides_caller() {
            // Let what is ready run once, then look again.
            crate::sleep(Duration::ZERO);
            if !self.0.alive_besides_caller() {
                return true;
            }
        }
        let deadline = timeout.map(|d| Instant::now() + d);
        let mut timer = None;
        let v = crate::park::park(|u| {
            if let Some(d) = deadline {
                let t = u.clone();
                // Not ref'd: the deadline alone must not keep the loop alive.
                timer = Some(self.add_timer(
                    d,
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

    /// Starts the blocking monitor for this hub: a thread named `gevent-monitor` that reports,
    /// through `tracing` (at WARN level), any time the hub has not come back to its loop for
    /// longer than `max_blocking_time`, naming the greenlet that was running. It is also
    /// started by the environment variable `GEVENT_MONITOR_THREAD_ENABLE=1` (with
    /// `GEVENT_MAX_BLOCKING_TIME` in seconds, default 0.1), as in gevent.
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
            .finish()
    }
}

impl RemoteHub {
    /// Runs `f` in the hub's thread, in its loop, as soon as it looks (it is woken if it
    /// sleeps). Returns `false` if the hub's thread has gone.
    ///
    /// # Switches
    ///
    /// Never (this is called from other threads).
    pub fn run_callback(&self, f: impl FnOnce() + Send + 'static) -> bool {
        if self.tx.send(Box::new(f)).is_err() {
            return false;
        }
        self.poller.notify().is_ok()
    }

    /// Keeps the hub's loop alive (it will not report "would block forever") until the guard
    /// is dropped: for work under way in another thread whose result will come back through
    /// [`run_callback`](RemoteHub::run_callback).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn hold(&self) -> HoldGuard {
        self.refs.fetch_add(1, Ordering::SeqCst);
        HoldGuard {
            refs: self.refs.clone(),
        }
    }
}

/// Keeps a hub's loop alive while it exists; see [`RemoteHub::hold`].
#[derive(Debug)]
pub struct HoldGuard {
    /// The hub's count of holds.
    refs: Arc<AtomicUsize>,
}

impl Drop for HoldGuard {
    fn drop(&mut self) {
        self.refs.fetch_sub(1, Ordering::SeqCst);
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
        self.greenlet
            .borrow()
            .clone()
            .expect("the hub greenlet is set at creation")
    }

    /// Whether anything other than the greenlet asking (which is parked, waiting on the loop)
    /// keeps the loop alive.
    fn alive_besides_caller(&self) -> bool {
        !self.ready.borrow().is_empty()
            || !self.callbacks.borrow().is_empty()
            || self.timers.borrow().refs() > 0
            || self.reactor.refs() > 0
            || self.remote.refs.load(Ordering::SeqCst) > 0
            || !self.remote_rx.is_empty()
    }

    /// Runs one callback, reporting a panic instead of propagating it.
    fn run_guarded(&self, f: impl FnOnce()) {
        if let Err(p) = panic::catch_unwind(AssertUnwindSafe(f)) {
            self.report_panic("hub".into(), &*p);
        }
    }

    /// Reports a panic that escaped a callback or a raw greenlet.
    fn report_panic(&self, context: String, p: &(dyn Any + Send)) {
        let message = crate::error::report_text(p);
        Hub(self.rc_self()).handle_error(ErrorReport { context, message });
    }

    /// An `Rc` to this hub (it is always owned by the thread's `HUB`).
    fn rc_self(&self) -> Rc<HubInner> {
        get_hub().0
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
            let alive = self.timers.borrow().refs() > 0
                || self.reactor.refs() > 0
                || self.remote.refs.load(Ordering::SeqCst) > 0
                || !self.remote_rx.is_empty();
            if !alive {
                return false;
            }
            let next = self.timers.borrow_mut().next_deadline();
            next.map(|d| d.saturating_duration_since(Instant::now()))
        };
        if timeout == Some(Duration::ZERO) && self.reactor.is_empty() && !block {
            // Nothing to poll: skip the poller's system calls.
        } else {
            self.poll(timeout);
        }
        self.run_callbacks();
        true
    }
}

impl Scheduler for HubInner {
    fn schedule(&self, msg: Message) -> (RawGreenlet, Message) {
        self.in_loop.set(true);
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
                self.in_loop.set(false);
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
                self.in_loop.set(false);
                let e = LoopExit::new(self);
                return (greenlet::main(), Message::Throw(Box::new(e)));
            }
        }
    }
}

impl HubInner {
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
    pub(crate) fn describe(&self) -> String {
        format!(
            "ready={} callbacks={} timers={} (keeping it alive: {}) fds={} (waiters keeping it \
             alive: {}) remote holds={}",
            self.ready.borrow().len(),
            self.callbacks.borrow().len(),
            self.timers.borrow().len(),
            self.timers.borrow().refs(),
            self.reactor.len(),
            self.reactor.refs(),
            self.remote.refs.load(Ordering::SeqCst)
        )
    }
}
