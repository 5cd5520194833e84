//! The [`Greenlet`] handle and its [`Builder`].

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::rc::Rc;

use crate::rec::{Payload, Rec};
use crate::stack::StackError;
use crate::switch::{self, Inner, Kind, Message, State};
use crate::value::Value;

/// A raw greenlet: a function running on its own stack, switched to explicitly.
///
/// A `Greenlet` is a cheap handle (an `Rc`): clones refer to the same greenlet and compare
/// equal. Greenlets and their handles are `!Send`: a greenlet lives and dies on the thread that
/// created it, and each thread has its own main greenlet (its native stack).
///
/// # Life cycle
///
/// A new greenlet has no stack; the first [`switch`](Greenlet::switch) to it takes one from the
/// thread's pool and calls `run` with the switched value. When `run` returns, its value is
/// switched to the parent (the first ancestor that is not dead). A panic escaping `run` is
/// re-raised in the parent's pending `switch`, except [`GreenletExit`](crate::GreenletExit),
/// which the parent receives as a value.
///
/// # Dropping
///
/// A suspended greenlet whose last handle is dropped gets `GreenletExit` thrown in, so the
/// `Drop`s on its stack run, and its stack goes back to the pool. The handle returned by
/// [`getcurrent`](crate::getcurrent) does not count for this (like a weak reference), so
/// `getcurrent().parent().unwrap().switch(v)` inside a greenlet does not keep it alive (see
/// [`Current`]); every `Greenlet` handle, and every clone, does count. A counted handle that a greenlet keeps on
/// its own stack (for example in a variable captured by its closure) keeps it alive forever:
/// Rust has no cycle collector. Drop or don't capture such handles.
///
/// If the thread is panicking when the last handle goes (a panic, or the `GreenletExit` of a
/// greenlet being killed, unwinding through the code that held it), the greenlet is killed at
/// the thread's next switch instead, never while the thread unwinds.
///
/// # Examples
///
/// The seed example: two greenlets printing 12, 56, 34 (and never 78).
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use greenlet::{Greenlet, Value};
///
/// let out = Rc::new(RefCell::new(Vec::new()));
/// let gr2_slot: Rc<RefCell<Option<Greenlet>>> = Rc::default();
/// let (o1, s1) = (out.clone(), gr2_slot.clone());
/// let gr1 = Greenlet::new(move |_: Value| {
///     o1.borrow_mut().push(12);
///     let gr2 = s1.borrow().clone().unwrap();
///     gr2.switch(());
///     o1.borrow_mut().push(34);
/// });
/// let (o2, g1) = (out.clone(), gr1.clone());
/// let gr2 = Greenlet::new(move |_: Value| {
///     o2.borrow_mut().push(56);
///     g1.switch(());
///     o2.borrow_mut().push(78);
/// });
/// *gr2_slot.borrow_mut() = Some(gr2.clone());
/// gr1.switch(());
/// assert_eq!(*out.borrow(), [12, 56, 34]);
/// assert!(gr1.is_dead() && !gr2.is_dead());
/// # drop(gr2_slot.borrow_mut().take());
/// ```
///
/// `Greenlet` is not `Send`:
///
/// ```compile_fail
/// let g = greenlet::Greenlet::new(|_: greenlet::Value| ());
/// std::thread::spawn(move || g.switch(()));
/// ```
pub struct Greenlet {
    /// The shared record.
    pub(crate) inner: Rec,
    /// Whether this handle counts in `Inner::handles` (keeps a suspended greenlet alive).
    counted: bool,
    /// Greenlets never leave their thread.
    _not_send: PhantomData<*mut ()>,
}

impl Greenlet {
    /// Wraps a record in a counted handle (the record starts with zero counted handles).
    pub(crate) fn from_inner(inner: Rec) -> Greenlet {
        inner.handles.set(inner.handles.get() + 1);
        Greenlet {
            inner,
            counted: true,
            _not_send: PhantomData,
        }
    }

    /// Wraps a record in a handle that does not keep it alive.
    pub(crate) fn uncounted(inner: Rec) -> Greenlet {
        Greenlet {
            inner,
            counted: false,
            _not_send: PhantomData,
        }
    }

    /// Creates a greenlet that will call `run` with the first value switched into it. Its
    /// parent is the greenlet running now; its stack has the thread's default size.
    ///
    /// `run` may return any `'static` value; it becomes a [`Value`] for the parent.
    ///
    /// # Examples
    ///
    /// ```
    /// use greenlet::{Greenlet, Value};
    /// let g = Greenlet::new(|v: Value| v.take::<i32>() * 2);
    /// assert_eq!(g.switch(21).take::<i32>(), 42);
    /// assert!(g.is_dead());
    /// ```
    ///
    /// # Switches
    ///
    /// Never: the greenlet is created, not run.
    pub fn new<F, R>(run: F) -> Greenlet
    where
        F: FnOnce(Value) -> R + 'static,
        R: 'static,
    {
        Builder::new().build(run)
    }

    /// A [`Builder`] for a greenlet with a custom stack size, parent or name.
    ///
    /// # Examples
    ///
    /// ```
    /// use greenlet::{Greenlet, Value};
    /// let g = Greenlet::builder().stack_size(64 * 1024).name("worker").build(|_: Value| 1);
    /// assert_eq!(g.name(), Some("worker"));
    /// assert_eq!(g.switch(()).take::<i32>(), 1);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Switches to this greenlet, sending `value`; returns the value that is later switched
    /// back into the caller.
    ///
    /// * An unstarted greenlet starts: `run(value)`.
    /// * A suspended one resumes: its pending `switch` returns `value`.
    /// * A dead one passes `value` on to its first live parent.
    /// * The running greenlet itself: returns `value` at once.
    ///
    /// `value` may be any `'static` type; a [`Value`] is passed as it is and `()` becomes the
    /// empty value.
    ///
    /// # Panics
    ///
    /// Re-raises the panic of a child greenlet that died of it while the caller was its
    /// (first live) parent, or the payload of a [`throw`](Greenlet::throw) aimed at the caller.
    /// Panics with a [`StackError`] message if the target could not get a stack (use
    /// [`try_switch`](Greenlet::try_switch) to get it as an error), and if called from inside
    /// the hub's scheduler.
    ///
    /// # Examples
    ///
    /// ```
    /// use greenlet::{getcurrent, Greenlet, Value};
    /// let g = Greenlet::new(|first: Value| {
    ///     let a = first.take::<&str>();
    ///     let b = getcurrent().parent().unwrap().switch(a.len()).take::<&str>();
    ///     format!("{a}{b}")
    /// });
    /// assert_eq!(g.switch("ab").take::<usize>(), 2);
    /// assert_eq!(g.switch("cd").take::<String>(), "abcd");
    /// ```
    ///
    /// # Switches
    ///
    /// Yes, unless the target is the running greenlet.
    ///
    /// # Kill safety
    ///
    /// A panic thrown into this greenlet while it is switched out (a `GreenletExit` from a kill, a
    /// throw) unwinds out of this call; the value it sent had been delivered.
    #[inline(always)]
    pub fn switch<V: 'static>(&self, value: V) -> Value {
        match switch::switch_to(self, Message::Value(Value::new(value))) {
            Message::Value(v) => v,
            m => receive_slow(m),
        }
    }

    /// This greenlet's local value of type `T` (keyed by the type), created with `init` on
    /// first use. Values are dropped when the greenlet ends (on its own stack), or with the
    /// thread for a main greenlet. Libraries use a private type as the key; `greenlet_local!`
    /// in `gevent-local` builds on [`local_keyed`](Greenlet::local_keyed).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// struct Hits(Cell<u32>);
    /// let me = greenlet::getcurrent();
    /// me.local(|| Hits(Cell::new(0))).0.set(5);
    /// assert_eq!(me.local(|| Hits(Cell::new(0))).0.get(), 5);
    /// ```
    ///
    /// # Panics
    ///
    /// If `init` itself asks for this greenlet's locals (re-entrant initialisation).
    ///
    /// # Switches
    ///
    /// Never (unless `init` switches).
    pub fn local<T: 'static>(&self, init: impl FnOnce() -> T) -> Rc<T> {
        let v = self.local_keyed(LocalKey::Type(std::any::TypeId::of::<T>()), || {
            Rc::new(init())
        });
        v.downcast::<T>()
            .unwrap_or_else(|_| unreachable!("keyed by its own type"))
    }

    /// This greenlet's local value under `key`, created with `init` on first use; see
    /// [`local`](Greenlet::local).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use greenlet::LocalKey;
    /// static KEY: u8 = 0;
    /// let key = LocalKey::Addr(&KEY as *const u8 as usize);
    /// let me = greenlet::getcurrent();
    /// let v = me.local_keyed(key, || Rc::new(String::from("x")));
    /// assert_eq!(v.downcast_ref::<String>().unwrap(), "x");
    /// ```
    ///
    /// # Panics
    ///
    /// If `init` itself asks for this greenlet's locals.
    ///
    /// # Switches
    ///
    /// Never (unless `init` switches).
    pub fn local_keyed(&self, key: LocalKey, init: impl FnOnce() -> Rc<dyn Any>) -> Rc<dyn Any> {
        if let Some(l) = &*self.inner.locals.borrow() {
            if let Some((_, v)) = l.iter().find(|(k, _)| *k == key) {
                return v.clone();
            }
        }
        let v = init();
        self.inner
            .locals
            .borrow_mut()
            .get_or_insert_with(Default::default)
            .push((key, v.clone()));
        v
    }

    /// Removes and returns this greenlet's local value under `key`, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use greenlet::LocalKey;
    /// let me = greenlet::getcurrent();
    /// let key = LocalKey::Addr(1);
    /// me.local_keyed(key, || std::rc::Rc::new(1u8));
    /// assert!(me.remove_local(key).is_some());
    /// assert!(me.remove_local(key).is_none());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn remove_local(&self, key: LocalKey) -> Option<Rc<dyn Any>> {
        let mut l = self.inner.locals.borrow_mut();
        let l = l.as_mut()?;
        let i = l.iter().position(|(k, _)| *k == key)?;
        Some(l.swap_remove(i).1)
    }

    /// Gives up this handle for the bare record, for the trampoline, whose references do not
    /// count as handles. It is about to resume the greenlet, and collects it after its next
    /// suspension if no counted handle is left then.
    pub(crate) fn into_rc(self) -> Rec {
        if self.counted {
            self.inner.handles.set(self.inner.handles.get() - 1);
        }
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so reading the `Rc` out moves it.
        unsafe { std::ptr::read(&this.inner) }
    }

    /// Like [`switch`](Greenlet::switch), but a target that cannot get a stack is an error
    /// instead of a panic.
    ///
    /// # Errors
    ///
    /// [`StackError`] when the kernel refuses a new stack (usually `vm.max_map_count`); the
    /// target stays unstarted.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = greenlet::Greenlet::new(|_: greenlet::Value| 5u8);
    /// assert_eq!(g.try_switch(()).unwrap().take::<u8>(), 5);
    /// ```
    ///
    /// # Switches
    ///
    /// Yes, unless the target is the running greenlet.
    ///
    /// # Kill safety
    ///
    /// As [`switch`](Greenlet::switch); an `Err` sent nothing.
    pub fn try_switch<V: 'static>(&self, value: V) -> Result<Value, StackError> {
        match switch::switch_to(self, Message::Value(Value::new(value))) {
            Message::Value(v) => Ok(v),
            Message::Failed(b) => Err(b.1),
            m => Ok(receive_slow(m)),
        }
    }

    /// Raises `payload` as a panic inside this greenlet, at the switch where it is suspended,
    /// and switches to it. Throwing [`GreenletExit`](crate::GreenletExit) kills it: its stack
    /// unwinds and its `Drop`s run, and its parent receives the `GreenletExit` as a value.
    ///
    /// Throwing into a greenlet that never ran kills it without running it; throwing into a
    /// dead one raises in its first live parent; throwing into the running greenlet raises at
    /// once.
    ///
    /// # Panics
    ///
    /// As [`switch`](Greenlet::switch); in particular, when the caller is the target's parent
    /// and the payload escapes the target, the caller re-raises it.
    ///
    /// # Examples
    ///
    /// ```
    /// use greenlet::{getcurrent, Greenlet, GreenletExit, Value};
    /// let g = Greenlet::new(|_: Value| {
    ///     getcurrent().parent().unwrap().switch(());
    /// });
    /// g.switch(());
    /// assert!(g.throw(GreenletExit).is::<GreenletExit>());
    /// assert!(g.is_dead());
    /// ```
    ///
    /// # Switches
    ///
    /// Yes, unless the target is the running greenlet.
    ///
    /// # Kill safety
    ///
    /// As [`switch`](Greenlet::switch): a panic thrown back into this greenlet unwinds out of
    /// the call; the payload had been delivered.
    pub fn throw<P: Any + Send + 'static>(&self, payload: P) -> Value {
        self.throw_boxed(Box::new(payload))
    }

    /// [`throw`](Greenlet::throw) with an already boxed payload (as `catch_unwind` returns
    /// them).
    ///
    /// # Examples
    ///
    /// ```
    /// let g = greenlet::Greenlet::new(|_: greenlet::Value| ());
    /// let p = std::panic::catch_unwind(|| g.throw_boxed(Box::new("boom"))).unwrap_err();
    /// assert_eq!(*p.downcast::<&str>().unwrap(), "boom");
    /// ```
    ///
    /// # Switches
    ///
    /// Yes, unless the target is the running greenlet.
    ///
    /// # Kill safety
    ///
    /// As [`throw`](Greenlet::throw).
    pub fn throw_boxed(&self, payload: Box<dyn Any + Send + 'static>) -> Value {
        receive_slow(switch::switch_to(self, Message::Throw(payload)))
    }

    /// Sends a [`Message`] (value, panic, or start failure) and returns what comes back, as
    /// a message: the building block of schedulers that route failures themselves.
    ///
    /// # Examples
    ///
    /// ```
    /// use greenlet::{Greenlet, Message, Value};
    /// let g = Greenlet::new(|v: Value| v);
    /// let back = g.switch_message(Message::Value(Value::new(1)));
    /// assert!(matches!(back, Message::Value(v) if v.is::<i32>()));
    /// ```
    ///
    /// # Switches
    ///
    /// Yes, unless the target is the running greenlet.
    ///
    /// # Kill safety
    ///
    /// As [`switch`](Greenlet::switch).
    #[inline(always)]
    pub fn switch_message(&self, msg: Message) -> Message {
        switch::switch_to(self, msg)
    }

    /// The parent: where this greenlet's result goes when `run` ends. `None` only for a
    /// thread's main greenlet.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = greenlet::Greenlet::new(|_: greenlet::Value| ());
    /// assert_eq!(g.parent(), Some(greenlet::main()));
    /// assert_eq!(greenlet::main().parent(), None);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn parent(&self) -> Option<Greenlet> {
        self.inner.parent.borrow().clone()
    }

    /// The payload this greenlet was built with
    /// ([`build_fallible_with`](Builder::build_fallible_with)), if it is of type `P`.
    ///
    /// # Examples
    ///
    /// See [`Payload`].
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn payload<P: 'static>(&self) -> Option<&P> {
        self.inner.payload::<P>()
    }

    /// The payload, without checking its type.
    ///
    /// # Safety
    ///
    /// The greenlet was built with a payload of type `P`
    /// ([`payload`](Greenlet::payload)`::<P>()` would be `Some`).
    ///
    /// # Examples
    ///
    /// ```
    /// struct Tag(u8);
    /// impl greenlet::Payload for Tag {}
    /// let g = greenlet::Builder::new().build_fallible_with(Tag(3), |_, _| ());
    /// // SAFETY: built with a `Tag` just above.
    /// assert_eq!(unsafe { g.payload_unchecked::<Tag>() }.0, 3);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline(always)]
    pub unsafe fn payload_unchecked<P: 'static>(&self) -> &P {
        debug_assert!(self.inner.payload::<P>().is_some());
        // SAFETY: by the contract.
        unsafe { self.inner.payload_unchecked::<P>() }
    }

    /// Sets the parent.
    ///
    /// # Errors
    ///
    /// [`ParentError::Cycle`] if `parent` is this greenlet or one of its descendants, and
    /// [`ParentError::MainGreenlet`] for the main greenlet or the hub, whose parents are fixed.
    ///
    /// # Examples
    ///
    /// ```
    /// use greenlet::{Greenlet, ParentError, Value};
    /// let a = Greenlet::new(|_: Value| ());
    /// let b = Greenlet::new(|_: Value| ());
    /// b.set_parent(&a).unwrap();
    /// assert_eq!(a.set_parent(&b), Err(ParentError::Cycle));
    /// assert_eq!(greenlet::main().set_parent(&a), Err(ParentError::MainGreenlet));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_parent(&self, parent: &Greenlet) -> Result<(), ParentError> {
        if self.inner.kind != Kind::Normal {
            return Err(ParentError::MainGreenlet);
        }
        let mut p = Some(parent.clone());
        while let Some(g) = p {
            if g == *self {
                return Err(ParentError::Cycle);
            }
            p = g.parent();
        }
        *self.inner.parent.borrow_mut() = Some(parent.clone());
        Ok(())
    }

    /// Whether `run` has finished (returned, panicked or been killed), or the greenlet was
    /// killed before it started.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = greenlet::Greenlet::new(|_: greenlet::Value| ());
    /// assert!(!g.is_dead());
    /// g.switch(());
    /// assert!(g.is_dead());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_dead(&self) -> bool {
        self.inner.state.get() == State::Dead
    }

    /// Whether the greenlet has been switched into (main and the hub always have).
    ///
    /// # Examples
    ///
    /// ```
    /// let g = greenlet::Greenlet::new(|_: greenlet::Value| ());
    /// assert!(!g.is_started());
    /// g.switch(());
    /// assert!(g.is_started());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_started(&self) -> bool {
        self.inner.state.get() != State::New
    }

    /// Whether the greenlet is started and not dead: running or suspended in a switch.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(greenlet::getcurrent().is_active());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_active(&self) -> bool {
        self.inner.state.get() == State::Active
    }

    /// Whether this is a thread's main greenlet (its native stack).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(greenlet::getcurrent().is_main());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_main(&self) -> bool {
        self.inner.kind == Kind::Main
    }

    /// Whether this is the hub greenlet of an installed [`Scheduler`](crate::Scheduler).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!greenlet::getcurrent().is_hub());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_hub(&self) -> bool {
        self.inner.kind == Kind::Hub
    }

    /// Whether this is the running greenlet.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(greenlet::main().is_current());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_current(&self) -> bool {
        switch::is_current(&self.inner)
    }

    /// A number identifying this greenlet among its thread's (main is 0).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(greenlet::main().id(), 0);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The name given by the builder or [`set_name`](Greenlet::set_name) ("main" for main
    /// greenlets, "hub" for the hub), with the id written out after a
    /// [`numbered_name`](Builder::numbered_name). An empty name counts as none.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(greenlet::main().name(), Some("main"));
    /// let g = greenlet::Greenlet::builder().numbered_name("task-").build(|_: greenlet::Value| ());
    /// assert_eq!(g.name(), Some(format!("task-{}", g.id()).as_str()));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn name(&self) -> Option<&str> {
        self.inner.name.get(self.inner.id)
    }

    /// Renames the greenlet (what `Debug` and the stack-overflow message show from now on).
    /// Earlier names stay allocated until the greenlet's record is freed, so rename rarely.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = greenlet::Greenlet::new(|_: greenlet::Value| ());
    /// g.set_name("worker-1");
    /// assert_eq!(g.name(), Some("worker-1"));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_name(&self, name: impl Into<String>) {
        self.inner.name.set(name.into().into_boxed_str());
    }

    /// The stack size this greenlet runs (or will run) with; 0 for main and the hub.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = greenlet::Greenlet::builder().stack_size(32 * 1024).build(|_: greenlet::Value| ());
    /// assert_eq!(g.stack_size(), 32 * 1024);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn stack_size(&self) -> usize {
        self.inner.stack_size.get()
    }

    /// The scheduler's per-greenlet state (see [`WaitState`]: it belongs to the thread's
    /// scheduler; code that waits uses the hub's API instead).
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = greenlet::getcurrent().wait_state();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn wait_state(&self) -> &WaitState {
        &self.inner.wait
    }

    /// Changes the stack size of a greenlet that has not started yet (no-op afterwards).
    ///
    /// # Panics
    ///
    /// If `bytes` is below 16 KiB.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = greenlet::Greenlet::new(|_: greenlet::Value| ());
    /// g.set_stack_size(64 * 1024);
    /// assert_eq!(g.stack_size(), 64 * 1024);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_stack_size(&self, bytes: usize) {
        assert!(
            bytes >= 16 * 1024,
            "greenlet stack size {bytes} is below 16 KiB"
        );
        if self.inner.state.get() == State::New && self.inner.kind == Kind::Normal {
            self.inner.stack_size.set(bytes);
        }
    }

    /// Marks a greenlet that never started as dead and drops its function without running it
    /// (and without switching, unlike `throw`). No-op for a started greenlet.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = greenlet::Greenlet::new(|_: greenlet::Value| unreachable!());
    /// g.discard();
    /// assert!(g.is_dead());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn discard(&self) {
        if self.inner.state.get() == State::New && self.inner.kind == Kind::Normal {
            self.inner.state.set(State::Dead);
            self.inner.run.clear();
            (self.inner.vt.unrun)(self);
        }
    }
}

/// Turns a message that is not a plain value into the caller's outcome.
#[cold]
#[inline(never)]
fn receive_slow(m: Message) -> Value {
    match m {
        Message::Value(v) => v,
        Message::Throw(p) => std::panic::resume_unwind(p),
        Message::Failed(b) => panic!("{}", b.1),
    }
}

impl Clone for Greenlet {
    #[inline]
    fn clone(&self) -> Greenlet {
        Greenlet::from_inner(self.inner.clone())
    }
}

impl Drop for Greenlet {
    #[inline]
    fn drop(&mut self) {
        if !self.counted {
            return;
        }
        let n = self.inner.handles.get() - 1;
        self.inner.handles.set(n);
        if n == 0 && !switch::is_current(&self.inner) {
            collect(&self.inner);
        }
    }
}

/// The last counted handle of a greenlet that is not running is gone: if it is suspended,
/// kill it (later if the thread is unwinding, see the type's docs). A running greenlet is
/// checked by the trampoline when it next suspends.
#[cold]
fn collect(inner: &Rec) {
    if inner.kind == Kind::Normal && inner.state.get() == State::Active {
        switch::orphan(inner.clone());
    }
}

// A greenlet's record stays consistent when a panic unwinds through code holding a handle:
// every state change is a single `Cell` write made by the trampoline.
impl std::panic::UnwindSafe for Greenlet {}
impl std::panic::RefUnwindSafe for Greenlet {}

/// The running greenlet, as [`getcurrent`](crate::getcurrent) returns it: derefs to
/// [`Greenlet`], but does not keep the greenlet alive.
///
/// A greenlet whose last handle is dropped while it is suspended is killed (see [`Greenlet`]).
/// If `getcurrent()` returned a plain handle, the common
/// `getcurrent().parent().unwrap().switch(v)` would keep a handle to the greenlet on its own
/// stack for the whole switch, and such a greenlet could never be collected. A `Current` does
/// not count; to store the running greenlet somewhere (a wait queue, a struct), convert it with
/// [`to_greenlet`](Current::to_greenlet) or `Greenlet::from`, which gives a counted handle.
///
/// # Examples
///
/// ```
/// use greenlet::{getcurrent, Greenlet};
/// let me: Greenlet = getcurrent().to_greenlet();
/// assert!(getcurrent() == me && me.is_main());
/// ```
pub struct Current(
    /// An uncounted handle.
    pub(crate) Greenlet,
);

impl Current {
    /// A counted handle to the same greenlet, which keeps it alive.
    ///
    /// # Examples
    ///
    /// ```
    /// let g: greenlet::Greenlet = greenlet::getcurrent().to_greenlet();
    /// assert!(g.is_current());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn to_greenlet(&self) -> Greenlet {
        self.0.clone()
    }
}

impl std::ops::Deref for Current {
    type Target = Greenlet;
    fn deref(&self) -> &Greenlet {
        &self.0
    }
}

impl From<Current> for Greenlet {
    fn from(c: Current) -> Greenlet {
        c.0.clone()
    }
}

impl PartialEq<Greenlet> for Current {
    fn eq(&self, other: &Greenlet) -> bool {
        self.0 == *other
    }
}

impl PartialEq<Current> for Greenlet {
    fn eq(&self, other: &Current) -> bool {
        *self == other.0
    }
}

impl PartialEq for Current {
    fn eq(&self, other: &Current) -> bool {
        self.0 == other.0
    }
}

impl fmt::Debug for Current {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for Greenlet {
    fn eq(&self, other: &Greenlet) -> bool {
        Rec::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Greenlet {}

impl Hash for Greenlet {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.inner.as_ptr() as *const () as usize).hash(state);
    }
}

impl fmt::Debug for Greenlet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.inner.state.get() {
            State::New => "new",
            State::Active if self.is_current() => "running",
            State::Active => "suspended",
            State::Dead => "dead",
        };
        let mut d = f.debug_struct("Greenlet");
        d.field("id", &self.id());
        if let Some(n) = self.name() {
            d.field("name", &n);
        }
        d.field("state", &state).finish()
    }
}

/// Builds a greenlet with a custom stack size, parent or name.
///
/// # Examples
///
/// ```
/// use greenlet::{Greenlet, Value};
/// let p = Greenlet::new(|v: Value| v.take::<i32>() + 1);
/// let c = Greenlet::builder().parent(&p).build(|_: Value| 41);
/// // c's result goes to p, which starts with it; p's goes to main.
/// assert_eq!(c.switch(()).take::<i32>(), 42);
/// ```
#[derive(Default, Debug)]
#[must_use = "a builder does nothing until `build`"]
pub struct Builder {
    /// Stack size in bytes; the thread's default when `None`.
    stack_size: Option<usize>,
    /// Parent; the running greenlet when `None`.
    parent: Option<Greenlet>,
    /// Name for messages.
    name: Option<String>,
    /// Prefix of a numbered name (the id follows), when `name` is `None`.
    numbered: Option<&'static str>,
}

/// What a `build_fallible` greenlet's `run` is called with when it could not get a stack (a
/// private type, so no switched value can be mistaken for it).
pub(crate) struct StartFailure(pub(crate) StackError);

impl Builder {
    /// A builder with the defaults: the thread's default stack size, the running greenlet as
    /// parent, no name.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = greenlet::Builder::new().build(|_: greenlet::Value| ());
    /// assert_eq!(g.stack_size(), greenlet::default_stack_size());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// The stack size in bytes (rounded up to pages; a guard page is added below it).
    ///
    /// # Panics
    ///
    /// In `build`, if below 16 KiB.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = greenlet::Greenlet::builder().stack_size(1 << 20).build(|_: greenlet::Value| ());
    /// assert_eq!(g.stack_size(), 1 << 20);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// The parent greenlet.
    ///
    /// # Examples
    ///
    /// ```
    /// let p = greenlet::Greenlet::new(|_: greenlet::Value| ());
    /// let g = greenlet::Greenlet::builder().parent(&p).build(|_: greenlet::Value| ());
    /// assert_eq!(g.parent(), Some(p));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn parent(mut self, parent: &Greenlet) -> Builder {
        self.parent = Some(parent.clone());
        self
    }

    /// A name, shown in `Debug` and in the stack-overflow message.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = greenlet::Greenlet::builder().name("io").build(|_: greenlet::Value| ());
    /// assert_eq!(g.name(), Some("io"));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self.numbered = None;
        self
    }

    /// A name made of `prefix` and the greenlet's [`id`](Greenlet::id) (`"task-17"`), which
    /// costs no allocation unless [`name`](Greenlet::name) is asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = greenlet::Greenlet::builder().numbered_name("io-").build(|_: greenlet::Value| ());
    /// assert!(g.name().unwrap().starts_with("io-"));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn numbered_name(mut self, prefix: &'static str) -> Builder {
        self.numbered = Some(prefix);
        self.name = None;
        self
    }

    /// Creates the greenlet (not yet run).
    ///
    /// # Panics
    ///
    /// If the stack size is below 16 KiB.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = greenlet::Greenlet::builder().build(|v: greenlet::Value| v);
    /// assert!(!g.is_started());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn build<F, R>(self, run: F) -> Greenlet
    where
        F: FnOnce(Value) -> R + 'static,
        R: 'static,
    {
        self.build_slot(
            false,
            crate::run::RunSlot::new(move |_: *const Inner, v| run(v)),
        )
    }

    /// Creates a greenlet that *fails itself* if it cannot get a stack, instead of failing the
    /// switch that starts it.
    ///
    /// `run` receives `Ok(value)` with the first value switched in, as with
    /// [`build`](Builder::build). If no stack can be had when something first switches to the
    /// greenlet (the kernel refused the memory, see [`StackError`]), the greenlet is marked
    /// dead and `run` is called at once with `Err(error)`, without a stack of its own: in the
    /// switching machinery, on the thread's main stack, where [`getcurrent`](crate::getcurrent)
    /// is the main greenlet and `switch` panics. Its return value (or its panic) goes to its
    /// parent as a finished greenlet's does, and the greenlet that switched to it is not told:
    /// it stays suspended unless it is that parent. A scheduler uses this so that a task that
    /// cannot start records its own failure (the hub's `Greenlet<T>` ends with the error).
    ///
    /// # Panics
    ///
    /// If the stack size is below 16 KiB.
    ///
    /// # Examples
    ///
    /// ```
    /// use greenlet::{Greenlet, Value};
    /// let g = Greenlet::builder().build_fallible(|first: Result<Value, greenlet::StackError>| {
    ///     match first {
    ///         Ok(v) => v.take::<i32>() + 1,
    ///         Err(_) => -1, // no stack: recorded as the result
    ///     }
    /// });
    /// assert_eq!(g.switch(41).take::<i32>(), 42);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn build_fallible<F, R>(self, run: F) -> Greenlet
    where
        F: FnOnce(Result<Value, StackError>) -> R + 'static,
        R: 'static,
    {
        let run = move |_: *const Inner, v: Value| match v.downcast::<StartFailure>() {
            Ok(StartFailure(e)) => run(Err(e)),
            Err(v) => run(Ok(v)),
        };
        self.build_slot(true, crate::run::RunSlot::new(run))
    }

    /// [`build_fallible`](Builder::build_fallible), with a scheduler's `payload` kept in the
    /// greenlet's record (the same allocation: one per greenlet), read back with
    /// [`Greenlet::payload`]. The payload lives as long as the record: until the last handle
    /// to the greenlet is gone. `run` also receives a (counted) handle to the greenlet itself,
    /// which is how it finds its payload (also when it runs without a stack of its own, where
    /// [`getcurrent`](crate::getcurrent) is the main greenlet).
    ///
    /// # Panics
    ///
    /// If the stack size is below 16 KiB.
    ///
    /// # Examples
    ///
    /// ```
    /// struct Tag(&'static str);
    /// impl greenlet::Payload for Tag {}
    /// let g = greenlet::Builder::new()
    ///     .build_fallible_with(Tag("job"), |me, r| r.is_ok() && me.payload::<Tag>().unwrap().0 == "job");
    /// assert_eq!(g.payload::<Tag>().unwrap().0, "job");
    /// assert!(g.switch(()).take::<bool>());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn build_fallible_with<P, F, R>(self, payload: P, run: F) -> Greenlet
    where
        P: Payload,
        F: FnOnce(Greenlet, Result<Value, StackError>) -> R + 'static,
        R: 'static,
    {
        let run = move |me: *const Inner, v: Value| {
            // SAFETY: `me` is the record whose `run` this is (a pointer from `Rec::as_ptr`),
            // live while it runs; every record is made by `Rec::new`.
            let me = Greenlet::from_inner(unsafe {
                Rec::clone_from_ptr(NonNull::new_unchecked(me.cast_mut()))
            });
            match v.downcast::<StartFailure>() {
                Ok(StartFailure(e)) => run(me, Err(e)),
                Err(v) => run(me, Ok(v)),
            }
        };
        self.build_slot_with(true, crate::run::RunSlot::new(run), payload)
    }

    /// Creates the greenlet around its `run`.
    #[inline(always)]
    fn build_slot(self, fallible: bool, run: crate::run::RunSlot) -> Greenlet {
        self.build_slot_with(fallible, run, ())
    }

    /// Creates the greenlet around its `run`, with a payload.
    #[inline(always)]
    fn build_slot_with<P: Payload>(
        self,
        fallible: bool,
        run: crate::run::RunSlot,
        payload: P,
    ) -> Greenlet {
        let size = self.stack_size.unwrap_or_else(crate::default_stack_size);
        assert!(
            size >= 16 * 1024,
            "greenlet stack size {size} is below 16 KiB"
        );
        let parent = self.parent.unwrap_or_else(switch::current_counted);
        let inner = Rec::new(
            Inner::new(
                switch::next_id(),
                Kind::Normal,
                Some(parent),
                size,
                match (self.name, self.numbered) {
                    (Some(s), _) => crate::name::Name::owned(s.into_boxed_str()),
                    (None, Some(p)) => crate::name::Name::fixed(p, true),
                    (None, None) => crate::name::Name::none(),
                },
                fallible,
                run,
            ),
            payload,
        );
        Greenlet::from_inner(inner)
    }
}

/// A scheduler's per-greenlet state: which wait the greenlet is in, and what is waiting to be
/// raised in it. It is storage the thread's scheduler gives its meaning to; this crate never
/// reads it.
///
/// The scheduler of gevent (the `gevent-hub` crate) keeps its wake protocol here: a wait
/// counter and phase packed in one word (so that a wake-up is valid only for the wait it was
/// made for, and a greenlet is woken at most once per wait), and a rarely used side slot for
/// the kills and timeouts waiting to be raised. Everything above the hub goes through the
/// hub's API (`park`, `Unparker`, `throw_into`, ...), never through this type: its methods are
/// for the one scheduler installed on the thread, and a value written here by anyone else
/// breaks that scheduler's invariants (not memory safety).
///
/// It costs one word and one pointer per greenlet, and nothing on a switch.
///
/// # Examples
///
/// ```
/// let me = greenlet::getcurrent();
/// let w = me.wait_state();
/// // What a greenlet that never waited holds: zero, and no side data.
/// assert_eq!(w.word(), 0);
/// assert!(!w.has_side());
/// ```
#[derive(Default)]
pub struct WaitState {
    /// The scheduler's hot state (for gevent's hub: `generation << 8 | flags`).
    word: Cell<u64>,
    /// The scheduler's cold state, allocated only when needed (for gevent's hub: the
    /// interrupts waiting to be raised).
    side: Cell<Option<Box<dyn Any>>>,
}

impl WaitState {
    /// The scheduler's word.
    ///
    /// # Examples
    ///
    /// See [`WaitState`].
    ///
    /// # Switches
    ///
    /// Never.
    #[inline(always)]
    pub fn word(&self) -> u64 {
        self.word.get()
    }

    /// Replaces the scheduler's word (for the thread's scheduler only; see the type's docs).
    ///
    /// # Switches
    ///
    /// Never.
    #[inline(always)]
    pub fn set_word(&self, word: u64) {
        self.word.set(word);
    }

    /// Whether side data is stored.
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn has_side(&self) -> bool {
        let s = self.side.take();
        let has = s.is_some();
        self.side.set(s);
        has
    }

    /// Takes the side data out, leaving none (for the thread's scheduler only).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn take_side(&self) -> Option<Box<dyn Any>> {
        self.side.take()
    }

    /// Stores side data, returning what was there (for the thread's scheduler only).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn replace_side(&self, side: Option<Box<dyn Any>>) -> Option<Box<dyn Any>> {
        self.side.replace(side)
    }
}

impl fmt::Debug for WaitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitState")
            .field("word", &format_args!("{:#x}", self.word.get()))
            .field("side", &self.has_side())
            .finish()
    }
}

/// A greenlet's local values, by key.
pub(crate) type Locals = Vec<(LocalKey, Rc<dyn Any>)>;

/// The key of a greenlet-local value: a type, or an address (of a `static`, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LocalKey {
    /// Keyed by a type (what [`Greenlet::local`] uses).
    Type(std::any::TypeId),
    /// Keyed by an address, unique per key (what `greenlet_local!` uses).
    Addr(usize),
}

/// Why [`Greenlet::set_parent`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParentError {
    /// The new parent is the greenlet itself or one of its descendants.
    Cycle,
    /// The main greenlet (and the hub) have fixed parents.
    MainGreenlet,
}

impl fmt::Display for ParentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParentError::Cycle => f.write_str("cyclic parent chain"),
            ParentError::MainGreenlet => {
                f.write_str("the parent of a main greenlet or hub cannot be changed")
            }
        }
    }
}

impl std::error::Error for ParentError {}
