//! gevent's `Greenlet`: a scheduled greenlet with a result, links and kill.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe, Location};
use std::rc::Rc;
use std::time::Duration;

use greenlet::{Greenlet as RawGreenlet, GreenletExit, Message, Payload, StackError, Value};

use crate::error::GreenletError;
use crate::hub::Action;
use crate::hub::{get_hub, ErrorReport};
use crate::park::throw_into;
use crate::timer::TimerId;
use crate::wait::{wait_one, Waitable};
use crate::waitlist::{Notify, WaitList, WaiterKey};

thread_local! {
    /// Counts the deaths of this thread's greenlets (see [`Waitable::ready_order`]).
    static DEATHS: Cell<u64> = const { Cell::new(0) };
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

/// What a link runs.
type LinkFn<T> = Box<dyn FnOnce(&Greenlet<T>)>;

/// A registered link.
struct Link<T: 'static> {
    /// Its id.
    id: LinkId,
    /// When it fires.
    kind: LinkKind,
    /// What it runs.
    f: LinkFn<T>,
}

/// The state shared by the handles of one greenlet, kept in its raw greenlet's record (as
/// that record's payload: one allocation per greenlet). The raw greenlet's `run` holds the
/// function. While the greenlet is scheduled and has not started, the hub's ready queue (or
/// its `start_later` timer) holds a handle, so a greenlet spawned without keeping its handle
/// still runs; one never started whose handles are all dropped is freed.
struct Shared<T: 'static> {
    /// Where it is in its life.
    life: Cell<Life>,
    /// The outcome, once dead.
    result: RefCell<Option<Result<T, GreenletError>>>,
    /// Its place in the order of deaths of the thread's greenlets (from 1); 0 while alive.
    died: Cell<u64>,
    /// Rarely used state (name, links, start timer), allocated on first use.
    extra: RefCell<Option<Box<Extra<T>>>>,
    /// Where it was spawned (the caller of `Greenlet::new`, `spawn`..., through
    /// `#[track_caller]`), for its panic report.
    spawned_at: Cell<&'static Location<'static>>,
    /// Waiters (join, wait, iwait).
    waiters: WaitList,
}

/// The parts of a greenlet's state that most greenlets never use.
struct Extra<T: 'static> {
    /// Its name, if set.
    name: Option<String>,
    /// Links, in registration order.
    links: Vec<Link<T>>,
    /// The next link id.
    next_link: u64,
    /// The `start_later` timer.
    start_timer: Option<TimerId>,
}

impl<T: 'static> Shared<T> {
    /// The rarely used state, created on first use.
    fn extra(&self) -> std::cell::RefMut<'_, Extra<T>> {
        std::cell::RefMut::map(self.extra.borrow_mut(), |e| {
            &mut **e.get_or_insert_with(|| {
                Box::new(Extra {
                    name: None,
                    links: Vec::new(),
                    next_link: 0,
                    start_timer: None,
                })
            })
        })
    }

    /// Whether any link is registered.
    fn has_links(&self) -> bool {
        self.extra
            .borrow()
            .as_ref()
            .is_some_and(|e| !e.links.is_empty())
    }
}

impl<T: 'static> Payload for Shared<T> {
    /// Its raw greenlet was killed (or discarded) before it ran: the greenlet finishes as
    /// killed if it was still waiting to run, so its waiters and links hear of it.
    fn unrun(g: &RawGreenlet) {
        // SAFETY: this is the payload hook of `Shared<T>`: `g`'s payload is one.
        let me = unsafe { Greenlet::<T>::from_raw(g.clone()) };
        me.finish_unrun();
    }
}

/// Finishes a scheduled greenlet as killed if its `start_later` timer is dropped without
/// running (the hub's teardown drops pending timers): otherwise its waiters would wait for
/// ever.
struct Unrun<T: 'static>(Option<Greenlet<T>>);

impl<T: 'static> Drop for Unrun<T> {
    fn drop(&mut self) {
        if let Some(g) = self.0.take() {
            g.finish_unrun();
        }
    }
}

/// A counted handle to a raw greenlet whose payload is a `Shared<T>`: derefs to it.
struct Handle<T: 'static> {
    /// The raw greenlet.
    raw: RawGreenlet,
    /// The payload's type.
    _t: PhantomData<fn() -> T>,
}

impl<T: 'static> std::ops::Deref for Handle<T> {
    type Target = Shared<T>;
    #[inline(always)]
    fn deref(&self) -> &Shared<T> {
        // SAFETY: a `Handle<T>` is made only for a raw greenlet built with a `Shared<T>`
        // payload (see `Greenlet::from_raw`).
        unsafe { self.raw.payload_unchecked::<Shared<T>>() }
    }
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
///
/// A `Greenlet` stays on its thread (it is `!Send`):
///
/// ```compile_fail
/// let g = gevent_hub::spawn(|| 1);
/// std::thread::spawn(move || g.join());
/// ```
pub struct Greenlet<T: 'static> {
    /// The shared state, in the raw greenlet's record.
    inner: Handle<T>,
}

impl<T: 'static> Clone for Greenlet<T> {
    fn clone(&self) -> Self {
        Greenlet {
            inner: Handle {
                raw: self.inner.raw.clone(),
                _t: PhantomData,
            },
        }
    }
}

impl<T: 'static> PartialEq for Greenlet<T> {
    fn eq(&self, other: &Self) -> bool {
        self.inner.raw == other.inner.raw
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
    /// Its panic report names the caller of `new` as the place where it was spawned
    /// ([`spawned_at`](Greenlet::spawned_at)).
    ///
    /// # Switches
    ///
    /// Never.
    #[track_caller]
    pub fn new(f: impl FnOnce() -> T + 'static) -> Greenlet<T> {
        let spawned_at = Location::caller();
        let hub = get_hub();
        let shared: Shared<T> = Shared {
            life: Cell::new(Life::Unstarted),
            result: RefCell::new(None),
            died: Cell::new(0),
            extra: RefCell::new(None),
            spawned_at: Cell::new(spawned_at),
            waiters: WaitList::new(),
        };
        // The raw greenlet holds the function (inline when small) and the state, in one
        // allocation. One that cannot get a stack fails itself (`build_fallible_with`): it
        // ends with the error, and the greenlet that was switching to it carries on.
        let raw = RawGreenlet::builder()
            .parent(hub.hub_greenlet())
            .numbered_name("Greenlet-")
            .build_fallible_with(
                shared,
                move |me: RawGreenlet, first: Result<Value, StackError>| {
                    // SAFETY: built with a `Shared<T>` payload just here.
                    let me = unsafe { Greenlet::<T>::from_raw(me) };
                    match first {
                        Ok(_) => me.body(f),
                        Err(e) => me.fail_start(e),
                    }
                },
            );
        // SAFETY: built with a `Shared<T>` payload just above.
        unsafe { Greenlet::from_raw(raw) }
    }

    /// The gevent greenlet whose raw greenlet is `raw`.
    ///
    /// # Safety
    ///
    /// `raw` was built by [`Greenlet::new`] for this `T` (its payload is a `Shared<T>`).
    #[inline(always)]
    unsafe fn from_raw(raw: RawGreenlet) -> Greenlet<T> {
        Greenlet {
            inner: Handle {
                raw,
                _t: PhantomData,
            },
        }
    }

    /// Its raw greenlet until it dies.
    #[inline]
    fn raw_if_alive(&self) -> Option<&RawGreenlet> {
        (self.inner.life.get() != Life::Dead).then_some(&self.inner.raw)
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
    #[track_caller]
    pub fn from_run<R: Run<Output = T>>(r: R) -> Greenlet<T> {
        Greenlet::new(move || r.run())
    }

    /// Creates a greenlet running `f` and starts it (gevent's `Greenlet.spawn`): the same as
    /// [`spawn`](crate::spawn).
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gevent_hub::Greenlet::spawn(|| 6 * 7);
    /// assert!(g.started());
    /// assert_eq!(g.get().unwrap(), 42);
    /// ```
    ///
    /// # Switches
    ///
    /// Never (it runs once the caller waits).
    #[track_caller]
    pub fn spawn(f: impl FnOnce() -> T + 'static) -> Greenlet<T> {
        let g = Greenlet::new(f);
        g.start();
        g
    }

    /// Where the greenlet was spawned: the caller of [`Greenlet::new`], [`spawn`](crate::spawn),
    /// [`spawn_later`](crate::spawn_later) or of a pool's `spawn` (they are
    /// `#[track_caller]`), unless [`set_spawned_at`](Greenlet::set_spawned_at) said otherwise.
    /// The hub's report of a panic in the greenlet shows it.
    ///
    /// # Examples
    ///
    /// ```
    /// let line = line!() + 1;
    /// let g = gevent_hub::spawn(|| ());
    /// assert_eq!(g.spawned_at().line(), line);
    /// assert!(g.spawned_at().file().ends_with(".rs"));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.inner.spawned_at.get()
    }

    /// Records `at` as the place where the greenlet was spawned, for code that creates
    /// greenlets on behalf of its caller later, where `#[track_caller]` cannot reach (a pool's
    /// `imap` spawns its members from a feeder greenlet: it records its own caller here).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::panic::Location;
    /// #[track_caller]
    /// fn caller() -> &'static Location<'static> { Location::caller() }
    /// let here = caller();
    /// let g = gevent_hub::Greenlet::new(|| ());
    /// g.set_spawned_at(here);
    /// assert_eq!(g.spawned_at(), here);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_spawned_at(&self, at: &'static Location<'static>) {
        self.inner.spawned_at.set(at);
    }

    /// Sets the name (shown in reports and by `Debug`).
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
        let name = name.into();
        if let Some(raw) = self.raw_if_alive() {
            // For the stack-overflow report.
            raw.set_name(name.as_str());
        }
        self.inner.extra().name = Some(name);
    }

    /// Sets the stack size of the greenlet; it applies if the greenlet has not started yet.
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
        if let Some(raw) = self.raw_if_alive() {
            raw.set_stack_size(bytes);
        }
    }

    /// The name: `Greenlet-N` unless set.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gevent_hub::spawn(|| ());
    /// assert!(g.name().starts_with("Greenlet-"));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn name(&self) -> String {
        let named = self
            .inner
            .extra
            .borrow()
            .as_ref()
            .and_then(|e| e.name.clone());
        named.unwrap_or_else(|| format!("Greenlet-{}", self.inner.raw.id()))
    }

    /// Schedules the greenlet to run (once the running greenlet waits). No-op if already
    /// started or dead.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gevent_hub::Greenlet::new(|| "ran");
    /// g.start();
    /// assert!(g.started() && !g.ready());
    /// assert_eq!(g.get().unwrap(), "ran");
    /// ```
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
        let mut me = Unrun(Some(self.clone()));
        let id = get_hub().add_timer(
            crate::deadline_after(d),
            true,
            Action::Call(Box::new(move || {
                let Some(me) = me.0.take() else { return };
                me.inner.extra().start_timer = None;
                if me.inner.life.get() == Life::Scheduled {
                    me.launch();
                }
            })),
        );
        self.inner.extra().start_timer = Some(id);
    }

    /// Finishes it as killed if it was scheduled and never ran (its raw greenlet was killed
    /// before it ran, or its `start_later` timer was dropped).
    fn finish_unrun(&self) {
        if self.inner.life.get() == Life::Scheduled {
            self.finish(Err(GreenletError::killed()));
        }
    }

    /// Queues the raw greenlet in the hub.
    fn launch(&self) {
        if let Some(raw) = self.raw_if_alive() {
            get_hub().schedule(raw.clone(), Message::Value(Value::empty()));
        }
    }

    /// What runs in the raw greenlet.
    fn body(self, f: impl FnOnce() -> T) {
        if self.inner.life.get() == Life::Dead {
            return; // killed before it ran
        }
        self.inner.life.set(Life::Running);
        let r = panic::catch_unwind(AssertUnwindSafe(|| {
            let v = f();
            // A kill or timeout still pending when the function returns (a wait that could not
            // unwind, such as a libc hook's, turned it into an error) is raised here: the
            // greenlet ends killed (or with the timeout), not successful.
            crate::park::raise_pending();
            v
        }));
        let outcome = match r {
            Ok(v) => Ok(v),
            Err(p) if p.is::<GreenletExit>() => Err(GreenletError::killed()),
            Err(p) => {
                let (message, trace) = crate::error::report_parts(&*p);
                get_hub().handle_error(ErrorReport::with_trace(
                    format!("'{}'", self.name()),
                    message,
                    Some(self.inner.spawned_at.get()),
                    trace,
                ));
                Err(GreenletError::panic(p))
            }
        };
        self.finish(outcome);
    }

    /// What runs instead of the body when the raw greenlet could not get a stack: it ends with
    /// the error (reported like a panic), in the switching machinery, without waiting.
    #[cold]
    fn fail_start(self, e: StackError) {
        if self.inner.life.get() == Life::Dead {
            return; // killed before it would have run
        }
        crate::error::register_payload_display::<StackError>();
        let err = GreenletError::from_panic(Box::new(e));
        get_hub().handle_error(ErrorReport::new(
            format!("'{}'", self.name()),
            err.to_string(),
            Some(self.inner.spawned_at.get()),
        ));
        self.finish(Err(err));
    }

    /// Records the outcome, wakes waiters, schedules links.
    fn finish(&self, outcome: Result<T, GreenletError>) {
        *self.inner.result.borrow_mut() = Some(outcome);
        self.inner.life.set(Life::Dead);
        self.inner.died.set(DEATHS.with(|d| {
            d.set(d.get() + 1);
            d.get()
        }));
        let raw = &self.inner.raw;
        if !raw.is_started() {
            // Killed before it ran: drop its function now (it never will).
            raw.discard();
        }
        self.inner.waiters.notify_all();
        if self.inner.has_links() {
            let me = self.clone();
            get_hub().run_callback(move || me.fire_links());
        }
    }

    /// Runs the links, in registration order (in the hub), as gevent's `_notify_links` does:
    /// a rawlink runs here; a link runs in a new greenlet, and the links after it fire once
    /// that greenlet has run until its first wait (gevent switches into it at once). Links are
    /// taken from the list one at a time, so a link can unlink later ones before they fire.
    fn fire_links(&self) {
        let ok = self.successful();
        loop {
            let next = {
                let mut e = self.inner.extra();
                if e.links.is_empty() {
                    None
                } else {
                    Some(e.links.remove(0))
                }
            };
            let Some(l) = next else { return };
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
                    let (message, trace) = crate::error::report_parts(&*p);
                    get_hub().handle_error(ErrorReport::with_trace(
                        format!("'{}' (rawlink)", self.name()),
                        message,
                        None,
                        trace,
                    ));
                }
                continue;
            }
            spawn(move || f(&me));
            // Queued behind the link's greenlet: goes on with the next links in the hub once
            // it has run.
            let me = self.clone();
            spawn_raw(move || get_hub().run_callback(move || me.fire_links()));
            return;
        }
    }

    /// Waits until the greenlet is dead (gevent's `join()`; with a time limit:
    /// [`join_timeout`](Greenlet::join_timeout)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let g = gevent_hub::spawn(|| gevent_hub::sleep(Duration::from_millis(5)));
    /// g.join();
    /// assert!(g.dead());
    /// ```
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
    /// # Panics
    ///
    /// As [`join`](Greenlet::join).
    ///
    /// # Switches
    ///
    /// Yes, unless it is dead.
    ///
    /// # Kill safety
    ///
    /// Nothing to undo: the registration and the timer are removed.
    #[doc(alias = "join")]
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

    /// The raw greenlet it runs in, from creation until it dies.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gevent_hub::spawn(|| ());
    /// assert!(g.raw().is_some_and(|r| !r.is_dead()));
    /// g.join();
    /// assert!(g.raw().is_none());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn raw(&self) -> Option<RawGreenlet> {
        self.raw_if_alive().cloned()
    }

    /// Whether this greenlet is the one running now.
    fn is_current(&self) -> bool {
        self.raw_if_alive().is_some_and(|r| r.is_current())
    }

    /// Waits for the greenlet to die and returns (a clone of) its value, or why there is none.
    /// Without `T: Clone`, use [`take`](Greenlet::take).
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gevent_hub::spawn(|| vec![1, 2, 3]);
    /// assert_eq!(g.get().unwrap(), [1, 2, 3]);
    /// assert_eq!(g.get().unwrap(), [1, 2, 3]); // as often as wanted
    /// ```
    ///
    /// # Errors
    ///
    /// [`GreenletError`]: its panic, or its kill (or, after [`take`](Greenlet::take),
    /// [`is_taken`](GreenletError::is_taken)).
    ///
    /// # Panics
    ///
    /// As [`join`](Greenlet::join).
    ///
    /// # Switches
    ///
    /// Yes, unless it is dead.
    ///
    /// # Kill safety
    ///
    /// Nothing to undo: the value stays in the greenlet.
    pub fn get(&self) -> Result<T, GreenletError>
    where
        T: Clone,
    {
        self.join();
        self.result_now()
    }

    /// [`get`](Greenlet::get) with a time limit; `None` if it is still running after `d`
    /// (gevent's `get(timeout=d)`, which raises `Timeout` there).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let slow = gevent_hub::spawn(|| { gevent_hub::sleep(Duration::from_secs(60)); 1 });
    /// assert!(slow.get_timeout(Duration::from_millis(5)).is_none());
    /// let quick = gevent_hub::spawn(|| 2);
    /// assert_eq!(quick.get_timeout(Duration::from_secs(5)).unwrap().unwrap(), 2);
    /// slow.kill();
    /// ```
    ///
    /// # Panics
    ///
    /// As [`join`](Greenlet::join).
    ///
    /// # Switches
    ///
    /// Yes, unless it is dead.
    ///
    /// # Kill safety
    ///
    /// Nothing to undo: the registration and the timer are removed.
    #[doc(alias = "get")]
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

    /// Waits for the greenlet to die and moves its value out: no `T: Clone` needed (a
    /// greenlet returning `io::Result<String>` or a `File` is read this way).
    ///
    /// The value can be taken once. After that, the greenlet still counts as
    /// [`successful`](Greenlet::successful), but its value is gone: a second `take` (and any
    /// `get`) returns an error whose [`is_taken`](GreenletError::is_taken) is true, and
    /// [`value`](Greenlet::value) returns `None`. A panic or a kill is returned by every call
    /// (the error is shared).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io;
    /// let g = gevent_hub::spawn(|| -> io::Result<String> { Ok("read".into()) });
    /// let v: io::Result<String> = g.take().unwrap(); // io::Error is not Clone
    /// assert_eq!(v.unwrap(), "read");
    /// assert!(g.take().unwrap_err().is_taken());
    /// assert!(g.successful());
    /// ```
    ///
    /// # Errors
    ///
    /// [`GreenletError`]: its panic, its kill, or (on a second call) that the value is taken.
    ///
    /// # Panics
    ///
    /// As [`join`](Greenlet::join).
    ///
    /// # Switches
    ///
    /// Yes, unless it is dead.
    ///
    /// # Kill safety
    ///
    /// A caller killed while it waits takes nothing: the value stays for the next `take`.
    pub fn take(&self) -> Result<T, GreenletError> {
        self.join();
        let mut result = self.inner.result.borrow_mut();
        match result.take() {
            Some(Ok(v)) => {
                *result = Some(Err(GreenletError::taken()));
                Ok(v)
            }
            Some(Err(e)) => {
                *result = Some(Err(e.clone()));
                Err(e)
            }
            None => unreachable!("joined, so dead"),
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

    /// The value, if it finished successfully (not for a kill; `None` once
    /// [`take`](Greenlet::take)n). Never waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gevent_hub::spawn(|| 7);
    /// assert_eq!(g.value(), None); // not run yet
    /// g.join();
    /// assert_eq!(g.value(), Some(7));
    /// ```
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
    /// # Examples
    ///
    /// ```
    /// let g = gevent_hub::spawn(|| String::from("long text"));
    /// g.join();
    /// assert_eq!(g.with_value(|s| s.len()), Some(9));
    /// ```
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
    /// # Examples
    ///
    /// ```
    /// # gevent_hub::get_hub().set_error_handler(|_| {});
    /// let g = gevent_hub::spawn(|| -> () { panic!("broken") });
    /// g.join();
    /// assert_eq!(g.exception().unwrap().message(), "broken");
    /// # gevent_hub::get_hub().reset_error_handler();
    /// ```
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
    /// # Examples
    ///
    /// ```
    /// let g = gevent_hub::spawn(|| ());
    /// assert!(!g.ready());
    /// g.join();
    /// assert!(g.ready());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn ready(&self) -> bool {
        self.inner.life.get() == Life::Dead
    }

    /// Whether it is dead without a panic (a kill counts as success, as in gevent: tell them
    /// apart with [`killed`](Greenlet::killed)).
    ///
    /// # Examples
    ///
    /// ```
    /// # gevent_hub::get_hub().set_error_handler(|_| {});
    /// let ok = gevent_hub::spawn(|| 1);
    /// let bad = gevent_hub::spawn(|| -> i32 { panic!("no") });
    /// gevent_hub::joinall(&[&ok, &bad]);
    /// assert!(ok.successful() && !bad.successful());
    /// # gevent_hub::get_hub().reset_error_handler();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn successful(&self) -> bool {
        matches!(&*self.inner.result.borrow(), Some(Ok(_)))
            || matches!(&*self.inner.result.borrow(), Some(Err(e)) if e.is_killed() || e.is_taken())
    }

    /// Whether it was ended by a kill (`GreenletExit`), also one that came before it ran. A
    /// killed greenlet is [`successful`](Greenlet::successful), as in gevent; this tells the
    /// two apart without `get`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let done = gevent_hub::spawn(|| ());
    /// let long = gevent_hub::spawn(|| gevent_hub::sleep(Duration::from_secs(60)));
    /// done.join();
    /// long.kill();
    /// assert!(long.successful() && long.killed());
    /// assert!(done.successful() && !done.killed());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn killed(&self) -> bool {
        matches!(&*self.inner.result.borrow(), Some(Err(e)) if e.is_killed())
    }

    /// Whether it has been started (scheduled or running) and has not died yet: gevent's
    /// `started` (`bool(greenlet)`), false again once it is dead.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gevent_hub::Greenlet::new(|| ());
    /// assert!(!g.started());
    /// g.start();
    /// assert!(g.started());
    /// g.join();
    /// assert!(!g.started());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn started(&self) -> bool {
        matches!(self.inner.life.get(), Life::Scheduled | Life::Running)
    }

    /// Whether it is dead. (gevent's `dead` is also true for a greenlet that was never
    /// started and then killed.)
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gevent_hub::Greenlet::new(|| ());
    /// g.kill(); // never started: dies at once, without running
    /// assert!(g.dead() && g.killed());
    /// ```
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
    /// assert!(g.dead() && g.successful() && g.killed());
    /// ```
    ///
    /// # Switches
    ///
    /// Yes (it waits for the greenlet to die), unless it is already dead or never started.
    /// Killing the running greenlet itself unwinds it at once.
    ///
    /// # Kill safety
    ///
    /// A caller killed while it waits has still delivered its kill: the target dies anyway.
    pub fn kill(&self) {
        self.kill_with(KillOptions::default());
    }

    /// Kills it: `GreenletExit` is raised at the point where it waits, so its `Drop`s run.
    /// A greenlet that has not started never runs (its links still fire). Killing the running
    /// greenlet unwinds it at once. With `block`, waits (at most `timeout`) for it to die.
    ///
    /// A kill goes before any pending `Timeout` and is never lost to one (the rules are in the
    /// [crate docs](crate#kills-and-timeouts)). A greenlet already unwinding (killed before,
    /// or timed out) that waits in a destructor, say for a graceful close, is not interrupted
    /// there: this kill is recorded and raised at its first wait after the unwinding, if the
    /// unwinding does not end it first; so `kill` returns only once that destructor's wait
    /// ends. Give such waits a time limit, or use `kill_with` with a `timeout`.
    ///
    /// While a greenlet waits mid-unwind, `std::thread::panicking()` is true in every greenlet
    /// of the thread (std counts panics per thread, and has no way to save and restore the
    /// count across a switch): a `std::sync::Mutex` guard dropped meanwhile in another greenlet
    /// poisons its mutex. Prefer `gevent_lock`'s locks in greenlets.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gevent_hub::KillOptions;
    /// let g = gevent_hub::spawn(|| gevent_hub::sleep(Duration::from_secs(60)));
    /// gevent_hub::sleep(Duration::ZERO);
    /// // gevent's `kill(block=False)`: deliver the kill, do not wait.
    /// g.kill_with(KillOptions { block: false, timeout: None });
    /// assert!(!g.dead());
    /// g.join();
    /// assert!(g.killed());
    /// ```
    ///
    /// # Switches
    ///
    /// With `block`, yes, unless it is dead.
    ///
    /// # Kill safety
    ///
    /// As [`kill`](Greenlet::kill).
    #[doc(alias = "kill")]
    pub fn kill_with(&self, opts: KillOptions) {
        match self.inner.life.get() {
            Life::Dead => return,
            Life::Unstarted | Life::Scheduled => {
                let timer = self
                    .inner
                    .extra
                    .borrow_mut()
                    .as_mut()
                    .and_then(|e| e.start_timer.take());
                if let Some(t) = timer {
                    get_hub().cancel_timer(t);
                }
                self.finish(Err(GreenletError::killed()));
                return;
            }
            Life::Running => {}
        }
        if let Some(raw) = self.raw_if_alive().cloned() {
            if raw.is_current() {
                crate::park::mark_unwinding(&raw);
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

    /// Like [`link`](Greenlet::link), only if it ends successfully (a kill included).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let got = Rc::new(Cell::new(None));
    /// let g = gevent_hub::spawn(|| 3);
    /// let s = got.clone();
    /// g.link_value(move |g| s.set(g.value()));
    /// g.join();
    /// gevent_hub::sleep(std::time::Duration::from_millis(1));
    /// assert_eq!(got.get(), Some(3));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn link_value(&self, f: impl FnOnce(&Greenlet<T>) + 'static) -> LinkId {
        self.add_link(LinkKind::Value, Box::new(f))
    }

    /// Like [`link`](Greenlet::link), only if it ends with a panic.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// # gevent_hub::get_hub().set_error_handler(|_| {});
    /// let why = Rc::new(RefCell::new(String::new()));
    /// let g = gevent_hub::spawn(|| -> () { panic!("disk full") });
    /// let w = why.clone();
    /// g.link_exception(move |g| *w.borrow_mut() = g.exception().unwrap().message().to_owned());
    /// g.join();
    /// gevent_hub::sleep(std::time::Duration::from_millis(1));
    /// assert_eq!(*why.borrow(), "disk full");
    /// # gevent_hub::get_hub().reset_error_handler();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn link_exception(&self, f: impl FnOnce(&Greenlet<T>) + 'static) -> LinkId {
        self.add_link(LinkKind::Exception, Box::new(f))
    }

    /// Registers `f` to run in the hub itself when it dies (it must not wait): cheaper than a
    /// [`link`](Greenlet::link), which runs in a new greenlet.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let fired = Rc::new(Cell::new(false));
    /// let f = fired.clone();
    /// let g = gevent_hub::spawn(|| ());
    /// g.rawlink(move |g| f.set(g.dead()));
    /// g.join();
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// assert!(fired.get());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn rawlink(&self, f: impl FnOnce(&Greenlet<T>) + 'static) -> LinkId {
        self.add_link(LinkKind::Raw, Box::new(f))
    }

    /// Removes a link that has not fired.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let fired = Rc::new(Cell::new(false));
    /// let f = fired.clone();
    /// let g = gevent_hub::spawn(|| ());
    /// let id = g.link(move |_| f.set(true));
    /// g.unlink(id);
    /// g.join();
    /// gevent_hub::sleep(std::time::Duration::from_millis(1));
    /// assert!(!fired.get());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn unlink(&self, id: LinkId) {
        self.inner.extra().links.retain(|l| l.id != id);
    }

    fn add_link(&self, kind: LinkKind, f: LinkFn<T>) -> LinkId {
        let first = !self.inner.has_links();
        let id = {
            let mut e = self.inner.extra();
            let id = LinkId(e.next_link);
            e.next_link += 1;
            e.links.push(Link { id, kind, f });
            id
        };
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
            return WaiterKey::NONE;
        }
        self.inner.waiters.add(notify)
    }

    fn remove_waiter(&self, key: WaiterKey) {
        self.inner.waiters.remove(key)
    }

    fn failure(&self) -> Option<GreenletError> {
        self.exception()
    }

    fn ready_order(&self) -> Option<u64> {
        Some(self.inner.died.get())
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
/// The caller of `spawn` is recorded as the place where the greenlet was spawned
/// ([`Greenlet::spawned_at`]): the hub's report of a panic in it names that place.
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
#[doc(alias = "Greenlet.spawn")]
#[track_caller]
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
#[doc(alias = "Greenlet.spawn_later")]
#[track_caller]
pub fn spawn_later<T: 'static>(d: Duration, f: impl FnOnce() -> T + 'static) -> Greenlet<T> {
    let g = Greenlet::new(f);
    g.start_later(d);
    g
}

/// Spawns `f` in a bare scheduled greenlet that keeps no result (gevent's `spawn_raw`); a panic
/// in it is reported by the hub, with the place where it was spawned.
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
#[track_caller]
pub fn spawn_raw(f: impl FnOnce() + 'static) -> RawGreenlet {
    let spawned_at = Location::caller();
    let hub = get_hub();
    let raw = RawGreenlet::builder()
        .parent(&hub.greenlet())
        .build_fallible(move |first: Result<Value, StackError>| match first {
            Ok(_) => run_raw(f, spawned_at),
            // No stack: nothing to run it on; say so, as for a panic.
            Err(e) => get_hub().handle_error(ErrorReport::new(
                "spawn_raw greenlet",
                e.to_string(),
                Some(spawned_at),
            )),
        });
    hub.schedule(raw.clone(), Message::Value(Value::empty()));
    raw
}

/// Runs the function of a [`spawn_raw`] greenlet. Its panic is reported here, with the place
/// where it was spawned, and ends the greenlet normally (its parent, the hub, would report it
/// without that place); a kill (`GreenletExit`) unwinds on to the greenlet's end, as before.
fn run_raw(f: impl FnOnce(), spawned_at: &'static Location<'static>) {
    let Err(p) = panic::catch_unwind(AssertUnwindSafe(f)) else {
        return;
    };
    if p.is::<GreenletExit>() {
        panic::resume_unwind(p);
    }
    let (message, trace) = crate::error::report_parts(&*p);
    get_hub().handle_error(ErrorReport::with_trace(
        format!("#{} (spawn_raw)", greenlet::getcurrent().id()),
        message,
        Some(spawned_at),
        trace,
    ));
    // A payload whose drop panics must not take the hub down.
    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(p)));
}

/// A greenlet that [`kill`] and [`killall`] can kill, whatever its output type: `killall`
/// takes `&[&dyn Killable]` to kill greenlets of different types together, as
/// [`joinall`](crate::joinall) takes `&[&dyn Waitable]`. Implemented by [`Greenlet<T>`] (and
/// by references and `Rc`s to a `Killable`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent_hub::{killall, sleep, spawn, Killable};
/// let a = spawn(|| { sleep(Duration::from_secs(60)); 1u8 });
/// let b = spawn(|| { sleep(Duration::from_secs(60)); String::from("b") });
/// sleep(Duration::ZERO);
/// killall(&[&a as &dyn Killable, &b]);
/// assert!(a.killed() && b.killed());
/// ```
pub trait Killable: Waitable {
    /// Kills it as [`Greenlet::kill_with`] does.
    ///
    /// # Switches
    ///
    /// As [`Greenlet::kill_with`]: with `block`, yes, unless it is dead.
    ///
    /// # Kill safety
    ///
    /// As [`Greenlet::kill_with`].
    fn kill_with(&self, opts: KillOptions);

    /// Whether it is the greenlet running now ([`killall`] kills the caller last).
    ///
    /// # Switches
    ///
    /// Never.
    fn is_current(&self) -> bool;
}

impl<T: 'static> Killable for Greenlet<T> {
    fn kill_with(&self, opts: KillOptions) {
        Greenlet::kill_with(self, opts)
    }
    fn is_current(&self) -> bool {
        Greenlet::is_current(self)
    }
}

impl<K: Killable + ?Sized> Killable for &K {
    fn kill_with(&self, opts: KillOptions) {
        (**self).kill_with(opts)
    }
    fn is_current(&self) -> bool {
        (**self).is_current()
    }
}

impl<K: Killable + ?Sized> Killable for Rc<K> {
    fn kill_with(&self, opts: KillOptions) {
        (**self).kill_with(opts)
    }
    fn is_current(&self) -> bool {
        (**self).is_current()
    }
}

/// Kills `g` and waits for it (gevent's `kill`). `g` is a [`Greenlet`] of any output type, or
/// a `&dyn Killable`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let g = gevent_hub::spawn(|| gevent_hub::sleep(Duration::from_secs(60)));
/// gevent_hub::sleep(Duration::ZERO);
/// gevent_hub::kill(&g);
/// assert!(g.killed());
/// let erased: &dyn gevent_hub::Killable = &g;
/// gevent_hub::kill(erased); // already dead: returns at once
/// ```
///
/// # Switches
///
/// As [`Greenlet::kill`]: yes (it waits for the greenlet to die), unless it is already dead
/// or never started.
///
/// # Kill safety
///
/// As [`Greenlet::kill`]: a caller killed while it waits has still delivered its kill.
pub fn kill<K: Killable + ?Sized>(g: &K) {
    g.kill_with(KillOptions::default());
}

/// Kills every greenlet in `gs`, then waits for all of them to die (gevent's `killall`). The
/// greenlets may have different output types: pass `&[&dyn Killable]`, as for
/// [`joinall`](crate::joinall). If the caller is among them, it is killed last.
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
/// Greenlets of different types:
///
/// ```
/// use std::time::Duration;
/// use gevent_hub::{killall, sleep, spawn, Killable};
/// let number = spawn(|| { sleep(Duration::from_secs(60)); 42 });
/// let text = spawn(|| { sleep(Duration::from_secs(60)); "text" });
/// sleep(Duration::ZERO);
/// killall(&[&number as &dyn Killable, &text]);
/// assert!(number.killed() && text.killed());
/// ```
///
/// # Switches
///
/// Yes, unless all are dead.
///
/// # Kill safety
///
/// Every kill is delivered before the caller waits, so a caller killed while it waits leaves
/// them all dying.
pub fn killall<K: Killable>(gs: &[K]) {
    killall_with(gs, KillOptions::default())
}

/// [`killall`] with options (`block: false` returns at once).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent_hub::{killall_with, sleep, spawn, KillOptions};
/// let gs = [spawn(|| sleep(Duration::from_secs(60))), spawn(|| sleep(Duration::from_secs(60)))];
/// sleep(Duration::ZERO);
/// killall_with(&gs, KillOptions { block: false, timeout: None });
/// assert!(!gs[0].dead()); // the kills are on their way
/// gevent_hub::joinall(&gs);
/// assert!(gs.iter().all(|g| g.killed()));
/// ```
///
/// # Switches
///
/// With `block`, yes, unless all are dead.
///
/// # Kill safety
///
/// As [`killall`].
pub fn killall_with<K: Killable>(gs: &[K], opts: KillOptions) {
    let mut me = None;
    let mut others = Vec::with_capacity(gs.len());
    for g in gs {
        if g.is_current() {
            me = Some(g);
            continue;
        }
        g.kill_with(KillOptions {
            block: false,
            timeout: None,
        });
        others.push(g);
    }
    if opts.block {
        crate::wait::wait(&others, opts.timeout);
    }
    if let Some(me) = me {
        me.kill_with(KillOptions::default());
    }
}
