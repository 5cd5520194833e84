//! gevent's `Greenlet`: a scheduled greenlet with a result, links and kill.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use greenlet::{Greenlet as RawGreenlet, GreenletExit, Message, Value};

use crate::error::{CaptureGuard, GreenletError};
use crate::hub::{get_hub, ErrorReport};
use crate::park::throw_into;
use crate::timer::{Action, TimerId};
use crate::wait::{wait_one, Notify, Waitable, WaiterKey, WaiterSet};

thread_local! {
    /// Numbers default names, `Greenlet-N`, as gevent does.
    static COUNTER: Cell<u64> = const { Cell::new(0) };
}

/// Where a greenlet is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    /// Created, not started.
    Unstarted,
    /// `start`ed (or `start_later`): waiting for the hub to run it.
    Scheduled,
    /// Its function is running (or suspended in a wait).
    Running,
    /// Finished, panicked, or killed.
    Dead,
}

/// Which outcomes a link fires for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkKind {
    /// Any outcome, in a new greenlet.
    Any,
    /// Success (including a kill), in a new greenlet.
    Value,
    /// A panic, in a new greenlet.
    Exception,
    /// Any outcome, in the hub.
    Raw,
}

/// Identifies a link for [`Greenlet::unlink`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkId(u64);

/// A registered link.
struct Link<T: 'static> {
    /// Its id.
    id: LinkId,
    /// When it fires.
    kind: LinkKind,
    /// What it runs.
    f: Box<dyn FnOnce(&Greenlet<T>)>,
}

/// The state shared by the handles of one greenlet.
struct Shared<T: 'static> {
    /// Its name (`Greenlet-N` unless set).
    name: RefCell<String>,
    /// The function, until it runs.
    run: Cell<Option<Box<dyn FnOnce() -> T>>>,
    /// The raw greenlet, from `start` until death.
    raw: RefCell<Option<RawGreenlet>>,
    /// Where it is in its life.
    life: Cell<Life>,
    /// Whether its function began to run.
    started: Cell<bool>,
    /// The outcome, once dead.
    result: RefCell<Option<Result<T, GreenletError>>>,
    /// Links, in registration order.
    links: RefCell<Vec<Link<T>>>,
    /// The next link id.
    next_link: Cell<u64>,
    /// Waiters (join, wait, iwait).
    waiters: WaiterSet,
    /// The `start_later` timer.
    start_timer: Cell<Option<TimerId>>,
    /// The stack size for its raw greenlet, if set.
    stack_size: Cell<Option<usize>>,
}

/// gevent's `Greenlet`: a function scheduled to run in its own greenlet, with a result.
///
/// Created by [`spawn`] (or [`Greenlet::new`] then [`start`](Greenlet::start)); handles are
/// cheap clones of one shared greenlet, and `!Send`. When its function returns, the value is
/// kept (`get`, `value`); when it panics, the panic is recorded (`exception`), reported once by
/// the hub, and re-raised by nobody: other greenlets carry on. A kill ends it with
/// `GreenletExit` unwinding from the point where it waits, so its `Drop`s run; a killed
/// greenlet counts as successful, as in gevent.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let g = gevent_hub::spawn(|| { gevent_hub::sleep(Duration::from_millis(1)); 40 + 2 });
/// assert!(!g.ready());
/// assert_eq!(g.get().unwrap(), 42);
/// assert!(g.successful() && g.dead());
/// ```
pub struct Greenlet<T: 'static> {
    /// The shared state.
    inner: Rc<Shared<T>>,
}

impl<T: 'static> Clone for Greenlet<T> {
    fn clone(&self) -> Self {
        Greenlet {
            inner: self.inner.clone(),
        }
    }
}

impl<T: 'static> PartialEq for Greenlet<T> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl<T: 'static> Eq for Greenlet<T> {}

/// A type whose value runs as a greenlet: gevent's "subclass `Greenlet` and override `_run`".
///
/// # Examples
///
/// ```
/// struct MyGreen { msg: String }
/// impl gevent_hub::Run for MyGreen {
///     type Output = usize;
///     fn run(self) -> usize { self.msg.len() }
/// }
/// let g = gevent_hub::Greenlet::from_run(MyGreen { msg: "hello".into() });
/// g.start();
/// assert_eq!(g.get().unwrap(), 5);
/// ```
pub trait Run: 'static {
    /// What `run` returns.
    type Output: 'static;
    /// The greenlet's body.
    fn run(self) -> Self::Output;
}

/// Options of [`Greenlet::kill_with`].
#[derive(Debug, Clone, Copy)]
pub struct KillOptions {
    /// Wait for the greenlet to die (default `true`).
    pub block: bool,
    /// With `block`, wait at most this long.
    pub timeout: Option<Duration>,
}

impl Default for KillOptions {
    fn default() -> Self {
        KillOptions {
            block: true,
            timeout: None,
        }
    }
}

impl<T: 'static> Greenlet<T> {
    /// A greenlet that will run `f` once started.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gevent_hub::Greenlet::new(|| "x");
    /// assert!(!g.started());
    /// g.start();
    /// assert_eq!(g.get().unwrap(), "x");
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new(f: impl FnOnce() -> T + 'static) -> Greenlet<T> {
        let n = COUNTER.with(|c| {
            let n = c.get();
            c.set(n + 1);
            n
        });
        Greenlet {
            inner: Rc::new(Shared {
                name: RefCell::new(format!("Greenlet-{n}")),
                run: Cell::new(Some(Box::new(f))),
                raw: RefCell::new(None),
                life: Cell::new(Life::Unstarted),
                started: Cell::new(false),
                result: RefCell::new(None),
                links: RefCell::new(Vec::new()),
                next_link: Cell::new(0),
                waiters: WaiterSet::new(),
                start_timer: Cell::new(None),
                stack_size: Cell::new(None),
            }),
        }
    }

    /// A greenlet running `r.run()`: the "subclass with `_run`" pattern.
    ///
    /// # Examples
    ///
    /// See [`Run`].
    ///
    /// # Switches
    ///
    /// Never.
    pub fn from_run<R: Run<Output = T>>(r: R) -> Greenlet<T> {
        Greenlet::new(move || r.run())
    }

    /// Sets the name (shown in reports, the monitor, and the stack-overflow message).
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gevent_hub::Greenlet::new(|| ());
    /// g.set_name("worker-1");
    /// assert_eq!(g.name(), "worker-1");
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_name(&self, name: impl Into<String>) {
        *self.inner.name.borrow_mut() = name.into();
    }

    /// Sets the stack size of the greenlet (before it starts).
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gevent_hub::Greenlet::new(|| ());
    /// g.set_stack_size(1 << 20);
    /// g.start();
    /// g.join();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_stack_size(&self, bytes: usize) {
        self.inner.stack_size.set(Some(bytes));
    }

    /// The name: `Greenlet-N` unless set.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn name(&self) -> String {
        self.inner.name.borrow().clone()
    }

    /// Schedules the greenlet to run (once the running greenlet waits). No-op if already
    /// started or dead.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn start(&self) {
        if self.inner.life.get() != Life::Unstarted {
            return;
        }
        self.inner.life.set(Life::Scheduled);
        self.launch();
    }

    /// Schedules the greenlet to run after `d`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let t = Instant::now();
    /// let g = gevent_hub::Greenlet::new(move || t.elapsed());
    /// g.start_later(Duration::from_millis(20));
    /// assert!(g.get().unwrap() >= Duration::from_millis(20));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn start_later(&self, d: Duration) {
        if self.inner.life.get() != Life::Unstarted {
            return;
        }
        self.inner.life.set(Life::Scheduled);
        let me = self.clone();
        let id = get_hub().add_timer(
            Instant::now() + d,
            true,
            Action::Call(Box::new(move || {
                me.inner.start_timer.set(None);
                if me.inner.life.get() == Life::Scheduled {
                    me.launch();
                }
            })),
        );
        self.inner.start_timer.set(Some(id));
    }

    /// Creates the raw greenlet and queues it in the hub.
    fn launch(&self) {
        let hub = get_hub();
        let me = self.clone();
        let mut b = RawGreenlet::builder()
            .parent(&hub.greenlet())
            .name(self.name());
        if let Some(s) = self.inner.stack_size.get() {
            b = b.stack_size(s);
        }
        let raw = b.build(move |_: Value| me.body());
        *self.inner.raw.borrow_mut() = Some(raw.clone());
        hub.schedule(raw, Message::Value(Value::empty()));
    }

    /// What runs in the raw greenlet.
    fn body(self) {
        if self.inner.life.get() == Life::Dead {
            return; // killed before it ran
        }
        self.inner.life.set(Life::Running);
        self.inner.started.set(true);
        let Some(f) = self.inner.run.take() else {
            return;
        };
        let r = {
            let _capture = CaptureGuard::new();
            panic::catch_unwind(AssertUnwindSafe(f))
        };
        let outcome = match r {
            Ok(v) => Ok(v),
            Err(p) if p.is::<GreenletExit>() => Err(GreenletError::killed()),
            Err(p) => {
                let message = crate::error::take_hook_message()
                    .unwrap_or_else(|| crate::error::panic_text(&*p));
                get_hub().handle_error(ErrorReport {
                    context: format!("'{}'", self.name()),
                    message,
                });
                Err(GreenletError::panic(p))
            }
        };
        self.finish(outcome);
    }

    /// Records the outcome, wakes waiters, schedules links.
    fn finish(&self, outcome: Result<T, GreenletError>) {
        *self.inner.result.borrow_mut() = Some(outcome);
        self.inner.life.set(Life::Dead);
        drop(self.inner.run.take());
        let raw = self.inner.raw.borrow_mut().take();
        drop(raw);
        self.inner.waiters.notify_all();
        if !self.inner.links.borrow().is_empty() {
            let me = self.clone();
            get_hub().run_callback(move || me.fire_links());
        }
    }

    /// Runs the links, in registration order (in the hub).
    fn fire_links(&self) {
        let links = std::mem::take(&mut *self.inner.links.borrow_mut());
        let ok = self.successful();
        for l in links {
            let fire = match l.kind {
                LinkKind::Any | LinkKind::Raw => true,
                LinkKind::Value => ok,
                LinkKind::Exception => !ok,
            };
            if !fire {
                continue;
            }
            let me = self.clone();
            let f = l.f;
            if l.kind == LinkKind::Raw {
                if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| f(&me))) {
                    get_hub().handle_error(ErrorReport {
                        context: format!("'{}' (rawlink)", self.name()),
                        message: crate::error::take_hook_message()
                            .unwrap_or_else(|| crate::error::panic_text(&*p)),
                    });
                }
            } else {
                spawn(move || f(&me));
            }
        }
    }

    /// Waits until the greenlet is dead.
    ///
    /// # Panics
    ///
    /// If a greenlet joins itself (it would wait forever), or if nothing could ever end the
    /// wait ([`LoopExit`](crate::LoopExit)).
    ///
    /// # Switches
    ///
    /// Yes, unless it is dead.
    ///
    /// # Kill safety
    ///
    /// Nothing to undo: the registration is removed.
    pub fn join(&self) {
        self.join_timeout_opt(None);
    }

    /// Waits at most `d` for the greenlet to die; returns whether it did.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let g = gevent_hub::spawn(|| gevent_hub::sleep(Duration::from_secs(60)));
    /// assert!(!g.join_timeout(Duration::from_millis(5)));
    /// g.kill();
    /// ```
    ///
    /// # Switches
    ///
    /// Yes, unless it is dead.
    pub fn join_timeout(&self, d: Duration) -> bool {
        self.join_timeout_opt(Some(d))
    }

    fn join_timeout_opt(&self, d: Option<Duration>) -> bool {
        if self.ready() {
            return true;
        }
        if self.is_current() {
            panic!(
                "greenlet '{}' tried to join itself: it would wait forever",
                self.name()
            );
        }
        wait_one(self, d)
    }

    /// The raw greenlet it runs in, from `start` until it dies.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn raw(&self) -> Option<RawGreenlet> {
        self.inner.raw.borrow().clone()
    }

    /// Whether this greenlet is the one running now.
    fn is_current(&self) -> bool {
        self.inner
            .raw
            .borrow()
            .as_ref()
            .is_some_and(|r| r.is_current())
    }

    /// Waits for the greenlet to die and returns its value, or why there is none.
    ///
    /// # Errors
    ///
    /// [`GreenletError`]: its panic, or its kill.
    ///
    /// # Switches
    ///
    /// Yes, unless it is dead.
    pub fn get(&self) -> Result<T, GreenletError>
    where
        T: Clone,
    {
        self.join();
        self.result_now()
    }

    /// [`get`](Greenlet::get) with a time limit; `None` if it is still running after `d`.
    ///
    /// # Switches
    ///
    /// Yes, unless it is dead.
    pub fn get_timeout(&self, d: Duration) -> Option<Result<T, GreenletError>>
    where
        T: Clone,
    {
        if self.join_timeout(d) {
            Some(self.result_now())
        } else {
            None
        }
    }

    fn result_now(&self) -> Result<T, GreenletError>
    where
        T: Clone,
    {
        match &*self.inner.result.borrow() {
            Some(Ok(v)) => Ok(v.clone()),
            Some(Err(e)) => Err(e.clone()),
            None => unreachable!("joined, so dead"),
        }
    }

    /// The value, if it finished successfully (not for a kill).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn value(&self) -> Option<T>
    where
        T: Clone,
    {
        match &*self.inner.result.borrow() {
            Some(Ok(v)) => Some(v.clone()),
            _ => None,
        }
    }

    /// Runs `f` on the value without cloning it, if there is one.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn with_value<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        match &*self.inner.result.borrow() {
            Some(Ok(v)) => Some(f(v)),
            _ => None,
        }
    }

    /// The panic that ended it, if one did (a kill is not an exception).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn exception(&self) -> Option<GreenletError> {
        match &*self.inner.result.borrow() {
            Some(Err(e)) if e.is_panic() => Some(e.clone()),
            _ => None,
        }
    }

    /// Whether it is dead (its result is ready).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn ready(&self) -> bool {
        self.inner.life.get() == Life::Dead
    }

    /// Whether it is dead without a panic (a kill counts as success, as in gevent).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn successful(&self) -> bool {
        matches!(&*self.inner.result.borrow(), Some(Ok(_)))
            || matches!(&*self.inner.result.borrow(), Some(Err(e)) if e.is_killed())
    }

    /// Whether it has been started (scheduled or running), and not yet died: gevent's
    /// `started`, true from `start` until death.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn started(&self) -> bool {
        matches!(self.inner.life.get(), Life::Scheduled | Life::Running)
            || (self.inner.life.get() == Life::Dead && self.inner.started.get())
    }

    /// Whether it is dead. (gevent's `dead` is also true for a greenlet that was never
    /// started and then killed.)
    ///
    /// # Switches
    ///
    /// Never.
    pub fn dead(&self) -> bool {
        self.ready()
    }

    /// Kills it and waits for it to die (see [`kill_with`](Greenlet::kill_with)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let g = gevent_hub::spawn(|| gevent_hub::sleep(Duration::from_secs(60)));
    /// gevent_hub::sleep(Duration::ZERO);
    /// g.kill();
    /// assert!(g.dead() && g.successful());
    /// ```
    ///
    /// # Switches
    ///
    /// Yes (it waits for the greenlet to die), unless it is already dead or never started.
    pub fn kill(&self) {
        self.kill_with(KillOptions::default());
    }

    /// Kills it: `GreenletExit` is raised at the point where it waits, so its `Drop`s run.
    /// A greenlet that has not started never runs (its links still fire). Killing the running
    /// greenlet unwinds it at once. With `block`, waits (at most `timeout`) for it to die.
    ///
    /// # Switches
    ///
    /// With `block`, yes, unless it is dead.
    pub fn kill_with(&self, opts: KillOptions) {
        match self.inner.life.get() {
            Life::Dead => return,
            Life::Unstarted | Life::Scheduled => {
                if let Some(t) = self.inner.start_timer.take() {
                    get_hub().cancel_timer(t);
                }
                self.finish(Err(GreenletError::killed()));
                return;
            }
            Life::Running => {}
        }
        let raw = self.inner.raw.borrow().clone();
        if let Some(raw) = raw {
            if raw.is_current() {
                panic::resume_unwind(Box::new(GreenletExit));
            }
            throw_into(&raw, Box::new(GreenletExit));
        }
        if opts.block {
            self.join_timeout_opt(opts.timeout);
        }
    }

    /// Registers `f` to run in a new greenlet when this one dies (whatever the outcome).
    /// Links fire in registration order; a panicking link does not stop the others.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let seen = Rc::new(Cell::new(0));
    /// let s = seen.clone();
    /// let g = gevent_hub::spawn(|| 5);
    /// g.link(move |g| s.set(g.value().unwrap()));
    /// g.join();
    /// gevent_hub::sleep(std::time::Duration::from_millis(1));
    /// assert_eq!(seen.get(), 5);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn link(&self, f: impl FnOnce(&Greenlet<T>) + 'static) -> LinkId {
        self.add_link(LinkKind::Any, Box::new(f))
    }

    /// Like [`link`](Greenlet::link), only if it ends successfully.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn link_value(&self, f: impl FnOnce(&Greenlet<T>) + 'static) -> LinkId {
        self.add_link(LinkKind::Value, Box::new(f))
    }

    /// Like [`link`](Greenlet::link), only if it ends with a panic.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn link_exception(&self, f: impl FnOnce(&Greenlet<T>) + 'static) -> LinkId {
        self.add_link(LinkKind::Exception, Box::new(f))
    }

    /// Registers `f` to run in the hub itself when it dies (it must not wait).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn rawlink(&self, f: impl FnOnce(&Greenlet<T>) + 'static) -> LinkId {
        self.add_link(LinkKind::Raw, Box::new(f))
    }

    /// Removes a link that has not fired.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn unlink(&self, id: LinkId) {
        self.inner.links.borrow_mut().retain(|l| l.id != id);
    }

    fn add_link(&self, kind: LinkKind, f: Box<dyn FnOnce(&Greenlet<T>)>) -> LinkId {
        let id = LinkId(self.inner.next_link.get());
        self.inner.next_link.set(id.0 + 1);
        let first = self.inner.links.borrow().is_empty();
        self.inner.links.borrow_mut().push(Link { id, kind, f });
        if self.ready() && first {
            let me = self.clone();
            get_hub().run_callback(move || me.fire_links());
        }
        id
    }
}

impl<T: 'static> Waitable for Greenlet<T> {
    fn ready(&self) -> bool {
        Greenlet::ready(self)
    }

    fn add_waiter(&self, notify: Notify) -> WaiterKey {
        if self.ready() {
            notify();
        }
        self.inner.waiters.add(notify)
    }

    fn remove_waiter(&self, key: WaiterKey) {
        self.inner.waiters.remove(key)
    }

    fn failure(&self) -> Option<GreenletError> {
        self.exception()
    }
}

impl<T: 'static> fmt::Debug for Greenlet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Greenlet")
            .field("name", &self.name())
            .field("state", &self.inner.life.get())
            .finish()
    }
}

/// Spawns `f` in a new greenlet and returns its handle (gevent's `spawn`). It runs once the
/// caller waits (or yields with `sleep(Duration::ZERO)`).
///
/// # Examples
///
/// ```
/// let g: gevent_hub::Greenlet<i32> = gevent_hub::spawn(|| 40 + 2);
/// assert_eq!(g.get().unwrap(), 42);
/// ```
///
/// # Switches
///
/// Never.
pub fn spawn<T: 'static>(f: impl FnOnce() -> T + 'static) -> Greenlet<T> {
    let g = Greenlet::new(f);
    g.start();
    g
}

/// Spawns `f` to start after `d` (gevent's `spawn_later`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let h = gevent_hub::spawn_later(Duration::from_millis(10), || "late");
/// assert_eq!(h.get().unwrap(), "late");
/// ```
///
/// # Switches
///
/// Never.
pub fn spawn_later<T: 'static>(d: Duration, f: impl FnOnce() -> T + 'static) -> Greenlet<T> {
    let g = Greenlet::new(f);
    g.start_later(d);
    g
}

/// Spawns `f` in a bare scheduled greenlet that keeps no result (gevent's `spawn_raw`); a panic
/// in it is reported by the hub.
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// let hit = Rc::new(Cell::new(false));
/// let h = hit.clone();
/// let r = gevent_hub::spawn_raw(move || h.set(true));
/// gevent_hub::sleep(std::time::Duration::ZERO);
/// assert!(hit.get() && r.is_dead());
/// ```
///
/// # Switches
///
/// Never.
pub fn spawn_raw(f: impl FnOnce() + 'static) -> RawGreenlet {
    let hub = get_hub();
    let raw = RawGreenlet::builder()
        .parent(&hub.greenlet())
        .build(move |_: Value| {
            let _capture = CaptureGuard::new();
            f()
        });
    hub.schedule(raw.clone(), Message::Value(Value::empty()));
    raw
}

/// Kills `g` and waits for it (gevent's `kill`).
///
/// # Switches
///
/// As [`Greenlet::kill`].
pub fn kill<T: 'static>(g: &Greenlet<T>) {
    g.kill();
}

/// Kills every greenlet in `gs`, then waits for all of them to die (gevent's `killall`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let gs: Vec<_> = (0..10).map(|_| gevent_hub::spawn(|| gevent_hub::sleep(Duration::from_secs(60)))).collect();
/// gevent_hub::sleep(Duration::ZERO);
/// gevent_hub::killall(&gs);
/// assert!(gs.iter().all(|g| g.dead()));
/// ```
///
/// # Switches
///
/// Yes, unless all are dead.
pub fn killall<T: 'static>(gs: &[Greenlet<T>]) {
    killall_with(gs, KillOptions::default())
}

/// [`killall`] with options (`block: false` returns at once).
///
/// # Switches
///
/// With `block`, yes, unless all are dead.
pub fn killall_with<T: 'static>(gs: &[Greenlet<T>], opts: KillOptions) {
    let mut me = None;
    let mut others = Vec::with_capacity(gs.len());
    for g in gs {
        if g.is_current() {
            me = Some(g.clone());
            continue;
        }
        g.kill_with(KillOptions {
            block: false,
            timeout: None,
        });
        others.push(g.clone());
    }
    if opts.block {
        crate::wait::wait(&others, opts.timeout);
    }
    if let Some(me) = me {
        me.kill();
    }
}
