//! The switching core: every `unsafe` line about stacks and control transfer lives here.
//!
//! # Design
//!
//! corosensei gives *asymmetric* coroutines: `resume` enters a coroutine, `suspend` leaves it
//! and returns to whoever resumed it. greenlet needs *symmetric* `switch(target)`. We get one
//! from the other with a **trampoline** that runs on the thread's native stack (the main
//! greenlet's) and is the only caller of `resume`:
//!
//! ```text
//!   main stack (native)                 greenlet A's stack        greenlet B's stack
//!   -------------------                 ------------------        ------------------
//!   main: B.switch(v)
//!     trampoline(B, v) --resume(v)----------------------------->  B runs ...
//!                                                                 A.switch(w)
//!     trampoline  <-----------------------------suspend(Switch(A, w))
//!        target = A   --resume(w)------> A runs ...
//!                                        main.switch(x)
//!     trampoline  <---suspend(Switch(main, x))
//!     returns x to main's B.switch(v)
//! ```
//!
//! * A switch from a greenlet to another costs one `suspend` plus one `resume`; a switch between
//!   main and a greenlet costs one of them.
//! * No greenlet ever resumes another directly, so stacks never nest: the trampoline is the
//!   only frame that links them, and it lives inside whichever `switch` call of the main
//!   greenlet is waiting.
//! * The **hub** hook: a scheduler installed with
//!   [`install_scheduler`](crate::install_scheduler) gets a pseudo-greenlet
//!   (kind `Hub`, no stack of its own). Switching to it makes the trampoline call
//!   [`Scheduler::schedule`] right there on the main stack, which answers which greenlet runs
//!   next. The hub therefore adds no second switching layer: a greenlet that waits costs one
//!   `suspend`, the hub's decision, and one `resume`.
//! * While trampoline code runs (between resumes), `CURRENT` is the main greenlet (or the hub
//!   while the scheduler runs), so any `Drop` that runs there sees a sane current greenlet.
//! * A greenlet whose last handle is dropped while it is suspended becomes an *orphan*: it is
//!   resumed with [`GreenletExit`] thrown in, on the spot if the dropper is the main greenlet
//!   (or trampoline code), through a round trip to the trampoline (the mailbox's target left
//!   empty) if the dropper is another
//!   greenlet, and at the next turn of the trampoline if the dropper is the hub or the thread
//!   is unwinding (a greenlet dying of a panic or of `GreenletExit` drops the handles on its
//!   stack while `std::thread::panicking()` is true; it must not switch then).

use std::any::Any;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;
use std::rc::Rc;

use corosensei::{Coroutine, CoroutineResult, Yielder};

use crate::greenlet::Greenlet;
use crate::rec::{Rec, RecVTable};
use crate::run::RunSlot;
use crate::stack::{self, StackError};
use crate::value::{GreenletExit, Value};

/// A panic payload, as `std::panic` passes them.
pub type Panic = Box<dyn Any + Send + 'static>;

/// What arrives at a greenlet when it is switched into.
pub enum Message {
    /// A plain value: `switch` returns it.
    Value(Value),
    /// A panic to raise at the switch point (`throw`, or a child's panic).
    Throw(Panic),
    /// The greenlet we tried to switch to (first) could not get a stack (second); it stays
    /// unstarted. Boxed to keep messages small: they are copied on every switch.
    Failed(Box<(Greenlet, StackError)>),
}

/// How a greenlet's `run` ended: its value, or the panic that escaped it.
type Finish = Result<Value, Panic>;

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Value(v) => f.debug_tuple("Value").field(v).finish(),
            Message::Throw(_) => f.write_str("Throw(..)"),
            Message::Failed(b) => f.debug_tuple("Failed").field(&b.0).field(&b.1).finish(),
        }
    }
}

/// A greenlet's coroutine. Nothing passes through corosensei's own channels: messages go
/// through the thread's [`Mailbox`], which keeps every switch a bare context switch.
type Coro = Coroutine<(), (), (), stack::GStack>;
/// The handle a running greenlet suspends through.
type YielderT = Yielder<(), ()>;

/// What is in transit during a switch. Only one greenlet runs at a time on a thread, so one
/// slot per thread is enough.
///
/// # Invariant
///
/// `target` is set only between a greenlet's `suspend` and the trampoline's reading of it;
/// `msg` holds the message for whoever runs next (or, while trampoline code runs, for the
/// greenlet it is about to resume).
struct Mailbox {
    /// The switch target left by a suspending greenlet: a `Rec::into_raw` pointer (the
    /// trampoline takes ownership), or `None` for a request to kill orphans and come back.
    target: Cell<Option<NonNull<Inner>>>,
    /// The message in transit.
    msg: Cell<Option<Message>>,
}

/// Leaves `m` for whoever runs next.
#[inline(always)]
fn put_msg(m: Message) {
    let old = MAILBOX.with(|b| b.msg.replace(Some(m)));
    debug_assert!(old.is_none(), "a message was left unread");
    // The slot is empty by the protocol: skip the drop glue.
    mem::forget(old);
}

/// Takes the message left for the running code.
#[inline(always)]
fn take_msg() -> Message {
    match MAILBOX.with(|b| b.msg.take()) {
        Some(m) => m,
        None => no_message(),
    }
}

#[cold]
#[inline(never)]
fn no_message() -> ! {
    unreachable!("a switch always leaves a message")
}

/// A greenlet's life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Created, not yet run: no stack.
    New,
    /// Started and not finished: it has a stack and is running or suspended.
    Active,
    /// Finished (returned, panicked, or killed): its stack went back to the pool.
    Dead,
}

/// The three kinds of greenlet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The thread's native stack.
    Main,
    /// The scheduler's pseudo-greenlet: switching to it runs [`Scheduler::schedule`].
    Hub,
    /// A greenlet with its own stack.
    Normal,
}

/// The shared state behind a [`Greenlet`] handle.
///
/// # Invariant
///
/// `coro` is `Some` exactly while `state == Active` for a `Normal` greenlet, and only the
/// trampoline touches it; `yielder` is valid while `coro` is `Some` and the coroutine has
/// started.
pub(crate) struct Inner {
    /// How many [`Rec`]s point here.
    pub(crate) refs: Cell<usize>,
    /// How to free the record (and its payload's type).
    pub(crate) vt: &'static RecVTable,
    /// Per-thread number, for messages and `Debug`; main is 0.
    pub(crate) id: u64,
    /// Main, hub or normal.
    pub(crate) kind: Kind,
    /// New, active or dead.
    pub(crate) state: Cell<State>,
    /// How many counted handles exist (see `Greenlet`'s docs on dropping).
    pub(crate) handles: Cell<usize>,
    /// Where `run`'s result goes; `None` only for the main greenlet.
    pub(crate) parent: RefCell<Option<Greenlet>>,
    /// Requested stack size in bytes.
    pub(crate) stack_size: Cell<usize>,
    /// Optional name, for messages (also read by the overflow handler).
    pub(crate) name: crate::name::Name,
    /// Whether a failure to get a stack ends this greenlet (its `run` is told) rather than
    /// the switch that tried to start it (see `Builder::build_fallible`).
    pub(crate) fallible: bool,
    /// The coroutine, present while active.
    coro: UnsafeCell<Option<Coro>>,
    /// The yielder of the running coroutine, set on its first resume.
    yielder: Cell<*const YielderT>,
    /// Lowest usable address of the stack while active (the guard page lies below), else 0.
    stack_limit: Cell<usize>,
    /// Its index in the thread's registry of active greenlets once it has suspended
    /// (`registry::add`), else `usize::MAX`.
    pub(crate) active_index: Cell<usize>,
    /// The scheduler's bookkeeping for this greenlet.
    pub(crate) wait: crate::greenlet::WaitState,
    /// Greenlet-local values (see [`Greenlet::local`]), dropped when the greenlet ends.
    pub(crate) locals: RefCell<Option<Box<crate::greenlet::Locals>>>,
    /// The function to run, taken on first start.
    pub(crate) run: RunSlot,
}

impl Inner {
    /// A new inner record; `Normal` greenlets start `New`, the others `Active`.
    pub(crate) fn new(
        id: u64,
        kind: Kind,
        parent: Option<Greenlet>,
        stack_size: usize,
        name: crate::name::Name,
        fallible: bool,
        run: RunSlot,
    ) -> Inner {
        Inner {
            refs: Cell::new(0),
            vt: crate::rec::plain_vt(),
            id,
            kind,
            state: Cell::new(if kind == Kind::Normal {
                State::New
            } else {
                State::Active
            }),
            handles: Cell::new(0),
            parent: RefCell::new(parent),
            stack_size: Cell::new(stack_size),
            name,
            fallible,
            coro: UnsafeCell::new(None),
            yielder: Cell::new(std::ptr::null()),
            stack_limit: Cell::new(0),
            active_index: Cell::new(usize::MAX),
            wait: crate::greenlet::WaitState::default(),
            locals: RefCell::new(None),
            run,
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A suspended coroutine reaching here was not killed (its thread is being torn down,
        // or the dropper was itself unwinding): unwinding it now would run its code in an
        // unknown context, so its stack is leaked instead.
        if let Some(c) = self.coro.get_mut().take() {
            crate::registry::remove(self);
            mem::forget(c);
        }
    }
}

/// The scheduler hook: what the hub implements.
///
/// Installed per thread with [`install_scheduler`](crate::install_scheduler), which returns the
/// hub's pseudo-greenlet.
/// Whenever control is switched to that greenlet (a greenlet waits with `hub.switch(())`, or a
/// greenlet whose parent is the hub finishes), the trampoline calls `schedule` on the thread's
/// main stack, with [`getcurrent`](crate::getcurrent) returning the hub. `schedule` runs the
/// event loop until something is ready and answers which greenlet to resume and with what;
/// answering the main greenlet returns control to main's pending switch.
///
/// `schedule` must not call [`Greenlet::switch`] (it panics there: the hub is not a greenlet
/// with a stack); it answers instead.
///
/// # Examples
///
/// A scheduler that runs a FIFO of ready greenlets and goes back to main when it is empty:
///
/// ```
/// use std::{cell::RefCell, collections::VecDeque, rc::Rc};
/// use greenlet::{Greenlet, Message, Scheduler, Value};
///
/// struct Fifo(RefCell<VecDeque<Greenlet>>);
/// impl Scheduler for Fifo {
///     fn schedule(&self, msg: Message) -> (Greenlet, Message) {
///         if let Message::Throw(p) = msg { std::panic::resume_unwind(p) }
///         match self.0.borrow_mut().pop_front() {
///             Some(g) => (g, Message::Value(Value::empty())),
///             None => (greenlet::main(), Message::Value(Value::empty())),
///         }
///     }
/// }
///
/// std::thread::spawn(|| {
///     let fifo = Rc::new(Fifo(RefCell::new(VecDeque::new())));
///     let hub = greenlet::install_scheduler(fifo.clone());
///     let log = Rc::new(RefCell::new(Vec::new()));
///     for name in ["a", "b"] {
///         let (log, fifo2, hub2) = (log.clone(), fifo.clone(), hub.clone());
///         let g = Greenlet::builder().parent(&hub).build(move |_| {
///             log.borrow_mut().push(format!("{name}1"));
///             fifo2.0.borrow_mut().push_back(greenlet::getcurrent().to_greenlet()); // yield
///             hub2.switch(());
///             log.borrow_mut().push(format!("{name}2"));
///         });
///         fifo.0.borrow_mut().push_back(g);
///     }
///     hub.switch(());
///     assert_eq!(*log.borrow(), ["a1", "b1", "a2", "b2"]);
/// }).join().unwrap();
/// ```
pub trait Scheduler {
    /// Decides what runs next, given what was switched to the hub: a value, the panic of a
    /// child whose parent is the hub, or a start failure.
    fn schedule(&self, msg: Message) -> (Greenlet, Message);
}

thread_local! {
    /// The running greenlet (while trampoline code runs: main, or the hub in `schedule`).
    /// `None` until the thread first touches greenlets.
    static CURRENT: Cell<Option<NonNull<Inner>>> = const { Cell::new(None) };
    /// The hub's scheduler, once installed.
    static SCHED: Cell<Option<NonNull<dyn Scheduler>>> = const { Cell::new(None) };
    /// Whether `ThreadCtx::orphans` may be non-empty.
    static ORPHANS_PENDING: Cell<bool> = const { Cell::new(false) };
    /// The thread's mailbox (no destructor: a message left at thread exit is leaked).
    static MAILBOX: std::mem::ManuallyDrop<Mailbox> = const {
        std::mem::ManuallyDrop::new(Mailbox { target: Cell::new(None), msg: Cell::new(None) })
    };
    /// How many start-failure `run`s are running (see `fail_itself`): no switching then.
    static NO_SWITCH: Cell<u32> = const { Cell::new(0) };
    /// Set once this thread's context has been destroyed (thread exit).
    static TORN_DOWN: Cell<bool> = const { Cell::new(false) };
    /// The per-thread context.
    static THREAD: ThreadCtx = ThreadCtx::new();
}

/// Per-thread state that needs a destructor.
struct ThreadCtx {
    /// The thread's main greenlet.
    main: Greenlet,
    /// The hub and its scheduler, once installed (the scheduler is kept alive here).
    hub: RefCell<Option<(Greenlet, Rc<dyn Scheduler>)>>,
    /// Suspended greenlets whose last handle was dropped, waiting to be killed.
    orphans: RefCell<Vec<Rec>>,
    /// The next greenlet id.
    next_id: Cell<u64>,
}

impl ThreadCtx {
    fn new() -> ThreadCtx {
        let main = Greenlet::from_inner(Rec::new(
            Inner::new(
                0,
                Kind::Main,
                None,
                0,
                crate::name::Name::fixed("main", false),
                false,
                RunSlot::empty(),
            ),
            (),
        ));
        CURRENT.with(|c| c.set(Some(NonNull::from(&*main.inner))));
        ThreadCtx {
            main,
            hub: RefCell::new(None),
            orphans: RefCell::new(Vec::new()),
            next_id: Cell::new(1),
        }
    }
}

impl Drop for ThreadCtx {
    fn drop(&mut self) {
        TORN_DOWN.with(|t| t.set(true));
        crate::registry::release();
        CURRENT.with(|c| c.set(None));
        SCHED.with(|s| s.set(None));
    }
}

/// The running greenlet's record, creating the thread's main greenlet on first use.
#[inline]
fn current_ptr() -> NonNull<Inner> {
    match CURRENT.with(Cell::get) {
        Some(p) => p,
        None => init_thread(),
    }
}

#[cold]
fn init_thread() -> NonNull<Inner> {
    assert!(
        !TORN_DOWN.with(Cell::get),
        "greenlets used while this thread is being torn down"
    );
    THREAD.with(|t| NonNull::from(&*t.main.inner))
}

/// The running greenlet's record, as an `Rc`.
fn current_rc() -> Rec {
    let p = current_ptr();
    // SAFETY: `CURRENT` always points at a live `Inner`: the main greenlet (owned by `THREAD`),
    // the hub (owned by `THREAD.hub`), or the greenlet the trampoline is resuming, of which the
    // trampoline holds a handle for the whole resume. Every record is made by `Rec::new`.
    unsafe { Rec::clone_from_ptr(p) }
}

/// A handle to the running greenlet that does not keep it alive (what `getcurrent` returns).
pub(crate) fn current() -> crate::Current {
    crate::Current(Greenlet::uncounted(current_rc()))
}

/// A counted handle to the running greenlet.
pub(crate) fn current_counted() -> Greenlet {
    Greenlet::from_inner(current_rc())
}

/// Whether `g` is the running greenlet.
#[inline]
pub(crate) fn is_current(g: &Inner) -> bool {
    match CURRENT.with(Cell::get) {
        Some(p) => std::ptr::addr_eq(p.as_ptr(), g as *const Inner),
        None => false,
    }
}

/// The thread's main greenlet.
pub(crate) fn main_greenlet() -> Greenlet {
    current_ptr();
    THREAD.with(|t| t.main.clone())
}

/// A fresh id for a greenlet of this thread.
pub(crate) fn next_id() -> u64 {
    current_ptr();
    THREAD.with(|t| {
        let id = t.next_id.get();
        t.next_id.set(id + 1);
        id
    })
}

/// Installs `sched` as this thread's scheduler and returns the hub greenlet.
pub(crate) fn install_scheduler(sched: Rc<dyn Scheduler>) -> Greenlet {
    let main = main_greenlet();
    THREAD.with(|t| {
        let mut hub = t.hub.borrow_mut();
        assert!(
            hub.is_none(),
            "a scheduler is already installed on this thread (one hub per thread)"
        );
        let g = Greenlet::from_inner(Rec::new(
            Inner::new(
                next_id(),
                Kind::Hub,
                Some(main),
                0,
                crate::name::Name::fixed("hub", false),
                false,
                RunSlot::empty(),
            ),
            (),
        ));
        SCHED.with(|s| s.set(Some(NonNull::from(&*sched))));
        *hub = Some((g.clone(), sched));
        g
    })
}

/// The hub greenlet of this thread, if a scheduler is installed.
pub(crate) fn hub() -> Option<Greenlet> {
    current_ptr();
    THREAD.with(|t| t.hub.borrow().as_ref().map(|(g, _)| g.clone()))
}

/// Switches from the running greenlet to `target` with `msg`; returns what comes back.
///
/// The path from a greenlet is forced inline, down to corosensei's context switch: every
/// function frame that is live across a switch costs a mispredicted return when control comes
/// back (the CPU's return-stack buffer holds the other stack's addresses), measured here at
/// about 30 ns per frame. Switches from main and the hub take the out-of-line path.
#[inline(always)]
pub(crate) fn switch_to(target: &Greenlet, msg: Message) -> Message {
    let cur = current_ptr();
    // SAFETY: see `current_rc`: the running greenlet's record outlives this call.
    let cur = unsafe { cur.as_ref() };
    if cur.kind != Kind::Normal || std::ptr::addr_eq(cur, target.inner.as_ptr()) {
        return switch_to_slow(cur, target, msg);
    }
    let t = target.inner.clone().into_raw();
    MAILBOX.with(|b| b.target.set(Some(t)));
    put_msg(msg);
    suspend(cur);
    take_msg()
}

/// `switch_to` from main or the hub, or to oneself.
#[inline(never)]
fn switch_to_slow(cur: &Inner, target: &Greenlet, msg: Message) -> Message {
    if std::ptr::addr_eq(cur, target.inner.as_ptr()) {
        return msg;
    }
    match cur.kind {
        Kind::Normal => unreachable!("normal greenlets take the inline path"),
        Kind::Main if NO_SWITCH.with(Cell::get) > 0 => panic!(
            "switch called from the `run` of a greenlet that could not get a stack (it runs in \
             the switching machinery, on the main stack, and must not switch)"
        ),
        Kind::Main => trampoline(target.inner.clone(), msg),
        Kind::Hub => panic!(
            "switch called from inside the hub (a scheduler callback): the hub cannot wait or \
             switch; schedule the greenlet instead"
        ),
    }
}

/// Suspends the running normal greenlet `cur` to the trampoline.
#[inline(always)]
fn suspend(cur: &Inner) {
    // SAFETY: a running normal greenlet has started, so its yielder was set on its first
    // resume and lives on its own stack until it finishes; we are on that stack.
    unsafe { &*cur.yielder.get() }.suspend(());
}

/// Makes `g` (suspended, with no counted handle left) an orphan and kills it as soon as the
/// running context allows (see the module docs).
pub(crate) fn orphan(g: Rec) {
    if TORN_DOWN.with(Cell::get) || CURRENT.with(Cell::get).is_none() {
        // Nothing can run any more on this thread: leak it.
        mem::forget(g);
        return;
    }
    THREAD.with(|t| t.orphans.borrow_mut().push(g));
    ORPHANS_PENDING.with(|p| p.set(true));
    if std::thread::panicking() {
        // No switching while unwinding: the next turn of the trampoline kills it.
        return;
    }
    // SAFETY: see `current_rc`.
    let cur = unsafe { current_ptr().as_ref() };
    match cur.kind {
        Kind::Main => kill_orphans(),
        Kind::Normal => {
            MAILBOX.with(|b| b.target.set(None));
            suspend(cur);
            let back = take_msg();
            debug_assert!(matches!(back, Message::Value(_)));
        }
        Kind::Hub => {}
    }
}

/// Restores `CURRENT` to the main greenlet if the trampoline unwinds (a panicking scheduler).
struct ResetCurrent(NonNull<Inner>);

impl Drop for ResetCurrent {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(Some(self.0)));
    }
}

/// Sets the running greenlet.
#[inline(always)]
fn set_current(p: NonNull<Inner>) {
    CURRENT.with(|c| c.set(Some(p)));
}

/// Resumes the active greenlet `g` until it suspends or returns; `true` if it returned.
#[inline(always)]
fn resume(g: &Inner, main: NonNull<Inner>) -> bool {
    set_current(NonNull::from(g));
    // SAFETY: `g` is active, so `coro` is `Some`; only trampoline code (on the main stack,
    // outside any other resume) touches it, so this is the only reference. The caller holds an
    // `Rc` to `g` across the resume.
    let r = unsafe { (*g.coro.get()).as_mut().unwrap_unchecked() }.resume(());
    set_current(main);
    let done = matches!(r, CoroutineResult::Return(()));
    if !done && g.active_index.get() == usize::MAX {
        // Suspended for the first time: from now on a thread that exits must find it.
        crate::registry::add(g);
    }
    done
}

/// Takes the switch target a suspended greenlet left (`None`: it asks for orphans killed).
#[inline(always)]
fn take_target() -> Option<Rec> {
    let p = MAILBOX.with(|b| b.target.take())?;
    // SAFETY: the pointer came from `Rec::into_raw` in `switch_to`, and is taken once.
    Some(unsafe { Rec::from_raw(p) })
}

/// The trampoline: runs on the main stack until control comes back to main; returns the
/// message main receives.
fn trampoline(first: Rec, msg: Message) -> Message {
    let main = current_ptr();
    let _reset = ResetCurrent(main);
    let mut target = if is_runnable(&first) {
        put_msg(msg);
        first
    } else {
        match route(first, msg, None, main) {
            Ok(t) => t,
            Err(m) => return m,
        }
    };
    loop {
        if resume(&target, main) {
            // `run` ended; the greenlet left its outcome in the mailbox.
            finish(&target);
            let m = take_msg();
            let p = first_live_parent(&target);
            target = match route(p, m, Some(target), main) {
                Ok(t) => t,
                Err(m) => return m,
            };
            continue;
        }
        let Some(next) = take_target() else {
            kill_orphans();
            put_msg(Message::Value(Value::empty()));
            continue;
        };
        if target.handles.get() == 0 && target.kind == Kind::Normal {
            // Nothing can switch back to it any more: collect it.
            orphan(target.clone());
        }
        if is_runnable(&next) {
            // The hot path: the message stays in the mailbox for `next`.
            target = next;
            continue;
        }
        let mut from = target;
        let mut next = next;
        if next.kind == Kind::Hub && !ORPHANS_PENDING.with(Cell::get) {
            // The other hot path: a greenlet waits; ask the scheduler what runs next.
            let (g, m) = run_scheduler(&next, take_msg(), main);
            put_msg(m);
            from = mem::replace(&mut next, g);
            if is_runnable(&next) {
                target = next;
                continue;
            }
        }
        if next.kind == Kind::Main && !ORPHANS_PENDING.with(Cell::get) {
            return take_msg();
        }
        let m = take_msg();
        target = match route(next, m, Some(from), main) {
            Ok(t) => t,
            Err(m) => return m,
        };
    }
}

/// Whether `g` can be resumed as it is: an active normal greenlet, with no orphans to kill
/// first.
#[inline(always)]
fn is_runnable(g: &Inner) -> bool {
    g.kind == Kind::Normal && g.state.get() == State::Active && !ORPHANS_PENDING.with(Cell::get)
}

/// Resolves where a message goes: through dead greenlets to their parents, into the
/// scheduler for the hub, starting new greenlets. Returns the active greenlet to resume (its
/// message left in the mailbox), or `Err` with main's message when control returns to main.
/// `from` is who asked, which gets a `Failed` if the target cannot get a stack.
#[cold]
#[inline(never)]
fn route(
    mut target: Rec,
    mut msg: Message,
    mut from: Option<Rec>,
    main: NonNull<Inner>,
) -> Result<Rec, Message> {
    loop {
        if ORPHANS_PENDING.with(Cell::get) {
            kill_orphans();
        }
        match target.kind {
            Kind::Normal => {}
            Kind::Main => return Err(msg),
            Kind::Hub => {
                let (next, m) = run_scheduler(&target, msg, main);
                from = Some(mem::replace(&mut target, next));
                msg = m;
                continue;
            }
        }
        match target.state.get() {
            State::Active => {
                put_msg(msg);
                return Ok(target);
            }
            State::Dead => {
                // A dead greenlet eats a thrown `GreenletExit` (as Python's greenlet does): its
                // parent receives it as a value. Other payloads are raised in the parent.
                if let Message::Throw(p) = msg {
                    msg = finish_message(Err(p));
                }
                target = first_live_parent(&target);
            }
            State::New => match msg {
                Message::Value(v) => match start(&target) {
                    Ok(()) => {
                        put_msg(Message::Value(v));
                        return Ok(target);
                    }
                    Err(e) if target.fallible => (target, msg) = fail_itself(&target, e),
                    Err(e) => {
                        let back = from.take().unwrap_or_else(|| main_greenlet().inner.clone());
                        let failed = mem::replace(&mut target, back);
                        msg = Message::Failed(Box::new((Greenlet::from_inner(failed), e)));
                    }
                },
                // Throwing into a greenlet that never ran kills it without running it.
                Message::Throw(p) => (target, msg) = kill_unstarted(&target, p),
                Message::Failed(b) => (target, msg) = kill_unstarted(&target, Box::new(b.1)),
            },
        }
    }
}

/// Asks the scheduler what runs next, with `CURRENT` set to the hub meanwhile.
#[inline]
fn run_scheduler(hub: &Rec, msg: Message, main: NonNull<Inner>) -> (Rec, Message) {
    let Some(sched) = SCHED.with(Cell::get) else {
        unreachable!("a hub greenlet exists only with its scheduler")
    };
    set_current(NonNull::from(&**hub));
    // SAFETY: the scheduler is owned by `THREAD.hub` for the rest of the thread's life;
    // `SCHED` is cleared when that is dropped.
    let (next, m) = unsafe { sched.as_ref() }.schedule(msg);
    set_current(main);
    (next.into_rc(), m)
}

/// A greenlet built with `build_fallible` could not get a stack: it fails itself. It is marked
/// dead and its `run` is called right here, in trampoline code on the main stack (so that
/// nothing runs on anybody else's stack), with the error; what `run` returns (or the panic that
/// escapes it) goes to its parent as a finished greenlet's would. `run` must not switch
/// meanwhile (`switch` panics there).
#[cold]
#[inline(never)]
fn fail_itself(inner: &Rec, e: StackError) -> (Rec, Message) {
    inner.state.set(State::Dead);
    let v = Value::new(crate::greenlet::StartFailure(e));
    NO_SWITCH.with(|n| n.set(n.get() + 1));
    let fin = panic::catch_unwind(AssertUnwindSafe(|| inner.run.call(inner.as_ptr(), v)));
    NO_SWITCH.with(|n| n.set(n.get() - 1));
    let locals = mem::take(&mut *inner.locals.borrow_mut());
    if let Err(p) = panic::catch_unwind(AssertUnwindSafe(move || drop(locals))) {
        eprintln!(
            "greenlet {}: a greenlet-local value panicked when dropped: {}",
            describe(inner),
            panic_message(&*p)
        );
    }
    (first_live_parent(inner), finish_message(fin))
}

/// Marks a never-started greenlet dead and sends what killed it to its parent.
fn kill_unstarted(inner: &Rec, p: Panic) -> (Rec, Message) {
    inner.state.set(State::Dead);
    inner.run.clear();
    (inner.vt.unrun)(&Greenlet::uncounted(inner.clone()));
    (first_live_parent(inner), finish_message(Err(p)))
}

/// What a greenlet's parent receives when it finishes.
fn finish_message(fin: Finish) -> Message {
    match fin {
        Ok(v) => Message::Value(v),
        Err(p) if p.is::<GreenletExit>() => Message::Value(Value::new(GreenletExit)),
        Err(p) => Message::Throw(p),
    }
}

/// The first ancestor of `inner` that is not dead (main is never dead).
fn first_live_parent(inner: &Inner) -> Rec {
    let parent_of = |i: &Inner| match &*i.parent.borrow() {
        Some(p) => p.inner.clone(),
        None => main_greenlet().inner.clone(),
    };
    let mut p = parent_of(inner);
    while p.state.get() == State::Dead {
        p = parent_of(&p);
    }
    p
}

/// Gives `inner` a stack and its coroutine.
fn start(inner: &Rec) -> Result<(), StackError> {
    let size = inner.stack_size.get();
    let stack = match stack::acquire_cached(size) {
        Some(s) => s,
        None => stack::acquire_slow(size)?,
    };
    inner.stack_limit.set(stack::limit(&stack));
    let rec: *const Inner = inner.as_ptr();
    let coro = Coro::with_stack(stack, move |y: &YielderT, ()| {
        // SAFETY: the coroutine is owned by the record it points to, and the trampoline holds an
        // `Rc` to that record whenever it resumes the coroutine, so `rec` is live here.
        let inner = unsafe { &*rec };
        inner.yielder.set(y);
        // Every payload is caught here, so no unwind ever crosses into corosensei. (corosensei
        // force-unwinds only coroutines dropped while suspended, and `Inner::drop` leaks those
        // instead of dropping them.)
        let fin = panic::catch_unwind(AssertUnwindSafe(|| match take_msg() {
            Message::Value(v) => inner.run.call(rec, v),
            _ => unreachable!("the trampoline starts greenlets with values only"),
        }));
        // Greenlet-local values die with the greenlet, on its own stack (so their `Drop`s see
        // it as the current greenlet). A panicking `Drop` is reported, not propagated.
        let locals = mem::take(&mut *inner.locals.borrow_mut());
        if let Err(p) = panic::catch_unwind(AssertUnwindSafe(move || drop(locals))) {
            eprintln!(
                "greenlet {}: a greenlet-local value panicked when dropped: {}",
                describe(inner),
                panic_message(&*p)
            );
        }
        put_msg(finish_message(fin));
    });
    // SAFETY: only the trampoline touches `coro`, and `inner` is not running.
    unsafe { *inner.coro.get() = Some(coro) };
    inner.state.set(State::Active);
    Ok(())
}

/// Marks `inner` dead and returns its stack to the pool.
fn finish(inner: &Inner) {
    inner.state.set(State::Dead);
    crate::registry::remove(inner);
    inner.stack_limit.set(0);
    // SAFETY: the coroutine has returned; only the trampoline touches `coro`.
    if let Some(c) = unsafe { (*inner.coro.get()).take() } {
        stack::release(c.into_stack());
    }
}

/// Kills every pending orphan, on the main stack. A message waiting in the mailbox for the
/// greenlet the trampoline is about to resume is kept aside meanwhile.
#[cold]
#[inline(never)]
fn kill_orphans() {
    let saved = MAILBOX.with(|b| b.msg.take());
    ORPHANS_PENDING.with(|p| p.set(false));
    while let Some(o) = THREAD.with(|t| t.orphans.borrow_mut().pop()) {
        kill_one(o);
    }
    MAILBOX.with(|b| b.msg.set(saved));
}

/// Throws `GreenletExit` into one orphan and runs it until it finishes.
fn kill_one(o: Rec) {
    let main = current_ptr();
    if o.state.get() != State::Active || o.handles.get() != 0 {
        return;
    }
    put_msg(Message::Throw(Box::new(GreenletExit)));
    loop {
        if resume(&o, main) {
            finish(&o);
            if let Message::Throw(p) = take_msg() {
                eprintln!(
                    "greenlet {} panicked while being killed because its last handle was \
                     dropped: {}",
                    describe(&o),
                    panic_message(&*p)
                );
            }
            return;
        }
        match take_target() {
            None => {
                kill_orphans();
                put_msg(Message::Value(Value::empty()));
            }
            Some(_) => {
                drop(take_msg());
                eprintln!(
                    "greenlet {} switched away while being killed because its last handle was \
                     dropped; it is leaked",
                    describe(&o)
                );
                mem::forget(o);
                return;
            }
        }
    }
}

/// `'name'` or `#id`, for messages.
pub(crate) fn describe(inner: &Inner) -> String {
    match inner.name.get(inner.id) {
        Some(n) => format!("'{n}'"),
        None => format!("#{}", inner.id),
    }
}

/// The text of a panic payload, when it is a string.
pub(crate) fn panic_message(p: &(dyn Any + Send)) -> &str {
    if let Some(s) = p.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = p.downcast_ref::<String>() {
        s
    } else {
        "<non-string payload>"
    }
}

/// What the overflow handler needs to know about the running greenlet's stack.
pub(crate) struct StackInfo {
    /// Lowest usable address; the guard page is just below. 0 when it has no stack.
    pub(crate) limit: usize,
    /// The stack size asked for.
    pub(crate) size: usize,
    /// The greenlet's id.
    pub(crate) id: u64,
    /// The greenlet's name, and whether its id follows the text.
    pub(crate) name: Option<(&'static [u8], bool)>,
}

/// The running greenlet's stack, for the signal handler. Reads only a const thread-local and
/// immutable or `Cell` fields, so it is async-signal-safe.
pub(crate) fn current_stack() -> Option<StackInfo> {
    let p = CURRENT.try_with(Cell::get).ok()??;
    // SAFETY: `CURRENT` points at a live record (see `current`); the handler runs on the
    // thread that owns it, interrupting it, and aborts before the record could be freed.
    let inner = unsafe { p.as_ref() };
    if inner.kind != Kind::Normal {
        return None;
    }
    Some(StackInfo {
        limit: inner.stack_limit.get(),
        size: inner.stack_size.get(),
        id: inner.id,
        // SAFETY: a name's text lives as long as the record (see `Name`), and the handler
        // aborts before the record could be freed.
        name: inner
            .name
            .raw()
            .map(|(t, with_id)| (unsafe { &*(t as *const [u8]) }, with_id)),
    })
}
