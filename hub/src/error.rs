//! Errors of the gevent layer: [`GreenletError`] (a greenlet's panic or kill), [`LoopExit`],
//! the error reports the hub makes ([`ErrorReport`], and the [`Reporter`] that holds the
//! handler), and the panic hook that lets the hub report a greenlet's panic exactly once.
//!
//! This module depends on no other module of the crate: the loop describes its own state for
//! a [`LoopExit`], and hands reports to its [`Reporter`].

use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{self, AssertUnwindSafe, Location, PanicHookInfo};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};

use greenlet::Panic;
use parking_lot::Mutex;

/// The text of a panic payload.
pub(crate) fn panic_text(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else if let Some(e) = p.downcast_ref::<LoopExit>() {
        e.to_string()
    } else if let Some(t) = FORMATTERS.read().iter().find_map(|f| f(p)) {
        t
    } else {
        "panicked with a non-string payload".to_owned()
    }
}

/// Formatters for panic payload types other than strings, registered by the crates that raise
/// them (a `Timeout`, say).
static FORMATTERS: parking_lot::RwLock<Vec<Formatter>> = parking_lot::RwLock::new(Vec::new());

/// Shows a panic payload of one type.
type Formatter = fn(&(dyn Any + Send)) -> Option<String>;

/// Registers `T` as a panic payload type that the hub reports with its `Display` text, for
/// types that are raised in greenlets as panics (timeouts, custom kill payloads). Registering
/// a type twice has no further effect.
///
/// # Examples
///
/// ```
/// #[derive(Debug)]
/// struct Deadline;
/// impl std::fmt::Display for Deadline {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("deadline passed") }
/// }
/// gevent_hub::register_payload_display::<Deadline>();
/// # gevent_hub::get_hub().set_error_handler(|_| {});
/// let g = gevent_hub::spawn(|| -> () { std::panic::panic_any(Deadline) });
/// assert_eq!(g.get().unwrap_err().message(), "deadline passed");
/// # gevent_hub::get_hub().reset_error_handler();
/// ```
///
/// # Switches
///
/// Never.
pub fn register_payload_display<T: Any + fmt::Display>() {
    fn show<T: Any + fmt::Display>(p: &(dyn Any + Send)) -> Option<String> {
        p.downcast_ref::<T>().map(|t| t.to_string())
    }
    let f: Formatter = show::<T>;
    let mut list = FORMATTERS.write();
    if !list.iter().any(|g| std::ptr::fn_addr_eq(*g, f)) {
        list.push(f);
    }
}

/// Why a greenlet did not produce its value: it panicked, or it was killed. Modelled on
/// tokio's `JoinError`. Cheap to clone and `Send`, so it can be stored and passed around; the
/// panic payload itself can be taken back once with [`into_panic`](GreenletError::into_panic).
///
/// # Examples
///
/// ```
/// let g = gevent_hub::spawn(|| -> i32 { panic!("boom") });
/// # gevent_hub::get_hub().set_error_handler(|_| {});
/// let e = g.get().unwrap_err();
/// assert!(e.is_panic());
/// assert_eq!(e.message(), "boom");
/// # gevent_hub::get_hub().reset_error_handler();
/// ```
#[derive(Clone)]
pub struct GreenletError {
    /// What happened.
    repr: Arc<Repr>,
}

/// The kinds of failure.
enum Repr {
    /// Killed with `GreenletExit` (counts as successful, as in gevent).
    Killed,
    /// It returned a value, which [`Greenlet::take`](crate::Greenlet::take) has moved out.
    Taken,
    /// Panicked.
    Panic {
        /// The panic's text (with its location when the hub's hook saw it).
        message: String,
        /// The payload, until someone takes it.
        payload: Mutex<Option<Panic>>,
    },
}

impl GreenletError {
    /// A kill.
    pub(crate) fn killed() -> GreenletError {
        GreenletError {
            repr: Arc::new(Repr::Killed),
        }
    }

    /// The value was taken by `Greenlet::take`.
    pub(crate) fn taken() -> GreenletError {
        GreenletError {
            repr: Arc::new(Repr::Taken),
        }
    }

    /// A panic with its payload.
    pub(crate) fn panic(payload: Panic) -> GreenletError {
        GreenletError {
            repr: Arc::new(Repr::Panic {
                message: panic_text(&*payload),
                payload: Mutex::new(Some(payload)),
            }),
        }
    }

    /// An error holding the panic payload `payload` (what `catch_unwind` returns), for code
    /// that produces a greenlet-like outcome itself: an `AsyncResult`'s `set_exception`, a
    /// thread pool's failed job. A [`GreenletExit`](greenlet::GreenletExit) payload gives a
    /// kill.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = gevent_hub::GreenletError::from_panic(Box::new("boom"));
    /// assert!(e.is_panic());
    /// assert_eq!(e.message(), "boom");
    /// let k = gevent_hub::GreenletError::from_panic(Box::new(greenlet::GreenletExit));
    /// assert!(k.is_killed());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn from_panic(payload: Panic) -> GreenletError {
        if payload.is::<greenlet::GreenletExit>() {
            GreenletError::killed()
        } else {
            GreenletError::panic(payload)
        }
    }

    /// Whether the greenlet was killed (`GreenletExit`).
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gevent_hub::spawn(|| gevent_hub::sleep(std::time::Duration::from_secs(60)));
    /// g.kill();
    /// assert!(g.get().unwrap_err().is_killed());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_killed(&self) -> bool {
        matches!(*self.repr, Repr::Killed)
    }

    /// Whether the greenlet panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gevent_hub::spawn(|| gevent_hub::sleep(std::time::Duration::ZERO));
    /// g.kill();
    /// assert!(!g.get().unwrap_err().is_panic());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_panic(&self) -> bool {
        matches!(*self.repr, Repr::Panic { .. })
    }

    /// Whether the greenlet returned a value that [`Greenlet::take`](crate::Greenlet::take)
    /// already moved out: what a second `take` (or a `get` after `take`) returns.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gevent_hub::spawn(|| String::from("once"));
    /// assert_eq!(g.take().unwrap(), "once");
    /// assert!(g.take().unwrap_err().is_taken());
    /// assert!(g.successful()); // it still returned successfully
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_taken(&self) -> bool {
        matches!(*self.repr, Repr::Taken)
    }

    /// The panic message (`"killed"` for a kill, `"value already taken"` after
    /// [`Greenlet::take`](crate::Greenlet::take)).
    ///
    /// # Examples
    ///
    /// ```
    /// # gevent_hub::get_hub().set_error_handler(|_| {});
    /// let g = gevent_hub::spawn(|| -> () { panic!("bad {}", 1) });
    /// assert_eq!(g.get().unwrap_err().message(), "bad 1");
    /// # gevent_hub::get_hub().reset_error_handler();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn message(&self) -> &str {
        match &*self.repr {
            Repr::Killed => "killed",
            Repr::Taken => "value already taken",
            Repr::Panic { message, .. } => message,
        }
    }

    /// The panic payload, to re-raise it with `std::panic::resume_unwind`. The first call gets
    /// the original payload; later calls (on clones) get the message as a `String`. A kill
    /// gives `GreenletExit`; a taken value gives the message `"value already taken"`.
    ///
    /// # Examples
    ///
    /// ```
    /// # gevent_hub::get_hub().set_error_handler(|_| {});
    /// let g = gevent_hub::spawn(|| -> () { std::panic::panic_any(42u8) });
    /// let p = g.get().unwrap_err().into_panic();
    /// assert_eq!(*p.downcast::<u8>().unwrap(), 42);
    /// # gevent_hub::get_hub().reset_error_handler();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn into_panic(self) -> Panic {
        match &*self.repr {
            Repr::Killed => Box::new(greenlet::GreenletExit),
            Repr::Taken => Box::new(String::from("value already taken")),
            Repr::Panic { message, payload } => payload
                .lock()
                .take()
                .unwrap_or_else(|| Box::new(message.clone())),
        }
    }
}

impl fmt::Debug for GreenletError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.repr {
            Repr::Killed => f.write_str("GreenletError::Killed"),
            Repr::Taken => f.write_str("GreenletError::Taken"),
            Repr::Panic { message, .. } => f
                .debug_tuple("GreenletError::Panic")
                .field(message)
                .finish(),
        }
    }
}

impl fmt::Display for GreenletError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.repr {
            Repr::Killed => f.write_str("greenlet was killed"),
            Repr::Taken => f.write_str("greenlet's value was already taken"),
            Repr::Panic { message, .. } => write!(f, "greenlet panicked: {message}"),
        }
    }
}

impl std::error::Error for GreenletError {}

/// Raised (as a panic payload) in the main greenlet when it waits and nothing left in the loop
/// could ever wake it: gevent's `LoopExit`, "this operation would block forever".
///
/// It is raised like a `panic!`: the panic hook sees it, and the hub's hook prints it (with
/// the thread's name, where it was raised, and what the loop held), so a `LoopExit` that
/// escapes `main` is never silent. Catching it (`catch_unwind`) works as for any panic.
///
/// # Examples
///
/// ```
/// use std::panic;
/// let r = panic::catch_unwind(|| gevent_hub::park(|_unparker| { /* dropped: nobody can wake us */ }));
/// let p = r.unwrap_err();
/// let e = p.downcast_ref::<gevent_hub::LoopExit>().unwrap();
/// assert!(e.to_string().contains("would block forever"));
/// assert!(e.state().contains("timers=0"));
/// ```
#[derive(Debug, Clone)]
pub struct LoopExit {
    /// The waiting thread's name (or id).
    thread: String,
    /// What the loop held when it gave up, as the loop described it.
    state: String,
}

impl LoopExit {
    /// A `LoopExit` for the running thread, whose loop holds `state`.
    pub(crate) fn new(state: String) -> LoopExit {
        let t = std::thread::current();
        let thread = match t.name() {
            Some(n) => format!("'{n}'"),
            None => format!("{:?}", t.id()),
        };
        LoopExit { thread, state }
    }

    /// What the hub's loop held when it gave up (how many ready greenlets, callbacks, timers,
    /// fds and waiters, and how many of them kept it alive).
    ///
    /// # Examples
    ///
    /// See [`LoopExit`].
    ///
    /// # Switches
    ///
    /// Never.
    pub fn state(&self) -> &str {
        &self.state
    }
}

impl fmt::Display for LoopExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "this operation would block forever: the main greenlet of thread {} waits, and the \
             hub has nothing left that could ever wake it (hub: {})",
            self.thread, self.state
        )
    }
}

impl std::error::Error for LoopExit {}

thread_local! {
    /// Whether this thread has a hub (set when it is created), so that the hook looks at the
    /// running greenlet only on such threads.
    static HUB_THREAD: Cell<bool> = const { Cell::new(false) };
    /// The last panic the hook captured on this thread.
    static LAST: RefCell<Option<Captured>> = const { RefCell::new(None) };
}

/// What the hook saw of a panic the hub will report.
struct Captured {
    /// The payload's text.
    message: String,
    /// `panicked at <location>: <message>`.
    text: String,
    /// The stack, when `RUST_BACKTRACE` asks for it.
    backtrace: Option<Backtrace>,
}

/// Whether the hub reports a panic raised here: in the hub itself (a callback, a timer, a
/// rawlink) or in a greenlet it runs (`spawn`, `spawn_raw`: their parent is the hub). A panic
/// in the main greenlet, or in a raw greenlet of the user's, is not the hub's to report.
///
/// This looks at the running greenlet, not at a per-thread count of running bodies: greenlets
/// suspend, so such a count is above zero whenever any greenlet waits, and would swallow the
/// panics of the main greenlet too.
fn reported_by_hub() -> bool {
    if !HUB_THREAD.try_with(Cell::get).unwrap_or(false) {
        return false;
    }
    let cur = greenlet::getcurrent();
    cur.is_hub() || cur.parent().is_some_and(|p| p.is_hub())
}

/// The text to report for the panic payload `p`: what the hook captured for it (with its
/// location) if the last panic the hook saw carried the same message, else the payload's own
/// text. (A payload raised with `resume_unwind` never goes through the hook, and an older
/// panic's text, caught by user code, must not be reported for it.)
pub(crate) fn report_text(p: &(dyn Any + Send)) -> String {
    report_parts(p).0
}

/// [`report_text`], and the backtrace the hook captured for the same panic.
pub(crate) fn report_parts(p: &(dyn Any + Send)) -> (String, Option<Arc<Backtrace>>) {
    let own = panic_text(p);
    let captured = LAST.try_with(|l| l.borrow_mut().take()).ok().flatten();
    match captured {
        Some(c) if c.message == own => (c.text, c.backtrace.map(Arc::new)),
        _ => (own, None),
    }
}

/// Whether a payload is of a loud type and loud.
type LoudCheck = Box<dyn Fn(&(dyn Any + Send)) -> bool + Send + Sync>;

/// A payload type registered with [`register_loud_payload`]: whether an instance is loud, and
/// how to raise it as itself through the panic hook.
struct Loud {
    /// Whether the payload is of this type and loud.
    is_loud: LoudCheck,
    /// Raises it with `panic_any` (it is of this type).
    raise: fn(Panic) -> !,
}

/// The loud payload types, besides [`LoopExit`] (always loud).
static LOUD: parking_lot::RwLock<Vec<Loud>> = parking_lot::RwLock::new(Vec::new());

/// Makes payloads of type `T` that satisfy `loud` raise like a `panic!` when they arrive at a
/// wait (thrown into a greenlet by [`throw_into`](crate::throw_into), or by a timer): through
/// the panic hook, which prints them with their `Display` text, the thread's name and where
/// they were raised, instead of unwinding silently. Catching them still works as for any
/// payload; the hook's message is printed either way, as for a `panic!`.
///
/// Kills and timeouts that their code catches are silent; this is for payloads that nobody may
/// be waiting to catch: the timeout crate registers its `Timeout` so, for a timeout raised
/// outside its own `run` (which would otherwise leave `main` without a word). [`LoopExit`]
/// is always loud. Also registers `T` with [`register_payload_display`].
///
/// # Examples
///
/// ```
/// #[derive(Debug)]
/// struct Alarm(u32);
/// impl std::fmt::Display for Alarm {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "alarm {}", self.0) }
/// }
/// // Alarms above 10 are loud.
/// gevent_hub::register_loud_payload::<Alarm>(|a| a.0 > 10);
/// let main = greenlet::getcurrent().to_greenlet();
/// gevent_hub::get_hub().run_callback(move || gevent_hub::throw_into(&main, Box::new(Alarm(11))));
/// // Prints "thread 'main' panicked at ...: alarm 11" (like a panic!), then unwinds:
/// let r = std::panic::catch_unwind(|| gevent_hub::sleep(std::time::Duration::from_secs(5)));
/// assert_eq!(r.unwrap_err().downcast::<Alarm>().unwrap().0, 11);
/// ```
///
/// # Switches
///
/// Never.
pub fn register_loud_payload<T: Any + Send + fmt::Display>(loud: fn(&T) -> bool) {
    fn raise_as<T: Any + Send>(p: Panic) -> ! {
        match p.downcast::<T>() {
            Ok(t) => panic::panic_any(*t),
            Err(p) => panic::resume_unwind(p),
        }
    }
    register_payload_display::<T>();
    LOUD.write().push(Loud {
        is_loud: Box::new(move |p| p.downcast_ref::<T>().is_some_and(loud)),
        raise: raise_as::<T>,
    });
}

/// Raises `p`, a payload that arrived at a wait (a kill, a timeout, a [`LoopExit`]), in the
/// running greenlet. A [`LoopExit`], and a payload made loud with [`register_loud_payload`],
/// go through the panic hook as a `panic!` would (so that one escaping `main` is printed); the
/// others unwind silently (`resume_unwind`): kills and timeouts are the caller's to catch, and
/// the hub reports those that escape a greenlet.
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn raise(p: Panic) -> ! {
    let p = match p.downcast::<LoopExit>() {
        Ok(e) => panic::panic_any(*e),
        Err(p) => p,
    };
    let raise = LOUD
        .read()
        .iter()
        .find(|l| (l.is_loud)(&*p))
        .map(|l| l.raise);
    match raise {
        Some(raise) => raise(p),
        None => panic::resume_unwind(p),
    }
}

/// Whether the panic hook prints `p` itself (std's hook would show a non-string payload as
/// `Box<dyn Any>`).
fn is_loud(p: &(dyn Any + Send)) -> bool {
    p.is::<LoopExit>() || LOUD.read().iter().any(|l| (l.is_loud)(p))
}

/// What the hub's panic hook prints for a loud payload, as std's hook prints a `panic!`.
fn print_loud(info: &PanicHookInfo<'_>) {
    let at = info
        .location()
        .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
        .unwrap_or_default();
    let t = std::thread::current();
    let thread = t.name().unwrap_or("<unnamed>");
    let what = if info.payload().is::<LoopExit>() {
        "LoopExit"
    } else {
        "a payload raised where it waited"
    };
    eprintln!(
        "thread '{thread}' panicked{at} with {what}:\n{}",
        panic_text(info.payload())
    );
    let bt = Backtrace::capture();
    if bt.status() == BacktraceStatus::Captured {
        eprintln!("stack backtrace:\n{bt}");
    } else {
        eprintln!(
            "note: run with `RUST_BACKTRACE=1` environment variable to see where the greenlet \
             waited"
        );
    }
}

/// Installs (once per process) a panic hook that, for panics the hub reports (see
/// `reported_by_hub`), records `panicked at <location>: <message>` (and the stack, when
/// `RUST_BACKTRACE` asks for it) for the hub to report once,
/// prints a [`LoopExit`] or another loud payload with its text (std's hook would print only
/// `Box<dyn Any>`), and
/// otherwise defers to the hook that was there before. Called when a thread creates its hub.
pub(crate) fn install_panic_hook() {
    let _ = HUB_THREAD.try_with(|h| h.set(true));
    // Created now, before the hub's teardown guard, so that reports made while the hub is torn
    // down at thread exit still see it (see `hub::teardown`).
    let _ = LAST.try_with(|_| ());
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            if !reported_by_hub() {
                if is_loud(info.payload()) {
                    return print_loud(info);
                }
                return prev(info);
            }
            let msg = panic_text(info.payload());
            let text = match info.location() {
                Some(l) => format!(
                    "panicked at {}:{}:{}: {msg}",
                    l.file(),
                    l.line(),
                    l.column()
                ),
                None => format!("panicked: {msg}"),
            };
            let backtrace = crate::trace::capture();
            let _ = LAST.try_with(|l| {
                *l.borrow_mut() = Some(Captured {
                    message: msg,
                    text,
                    backtrace,
                })
            });
        }));
    });
}

/// A hook for reporting errors (gevent's `Hub.handle_error`).
pub(crate) type ErrorHandler = Box<dyn Fn(&ErrorReport)>;

/// What the hub reports when a greenlet (or a callback) panics.
///
/// Its `Display` is what the hub prints on stderr when no error handler is set:
///
/// ```text
/// greenlet 'Greenlet-7' (spawned at src/main.rs:12:5) panicked at src/main.rs:4:9: no such user
/// ```
///
/// followed, when `RUST_BACKTRACE` asks for one, by the panic's stack backtrace.
///
/// # Examples
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let s = seen.clone();
/// gevent_hub::get_hub().set_error_handler(move |r| s.borrow_mut().push(r.clone()));
/// let line = line!() + 1;
/// let g = gevent_hub::spawn(|| -> () { panic!("no such user") });
/// g.join();
/// let r = seen.borrow()[0].clone();
/// assert_eq!(r.spawned_at.unwrap().line(), line);
/// assert!(r.message.ends_with("no such user"));
/// assert_eq!(r.backtrace().is_some(), std::env::var("RUST_BACKTRACE").is_ok_and(|v| v != "0"));
/// assert!(r.to_string().starts_with(&format!("greenlet '{}' (spawned at ", g.name())));
/// gevent_hub::get_hub().reset_error_handler();
/// ```
#[derive(Clone)]
pub struct ErrorReport {
    /// The greenlet's name or `#id`, or `"hub"` for a callback.
    pub context: String,
    /// `panicked at <file:line:col>: <message>` as the panic hook saw it, or the payload's text.
    pub message: String,
    /// Where the greenlet was spawned: the caller of `spawn`, `spawn_later`, `spawn_raw`,
    /// `Greenlet::new` or a pool's `spawn` (`#[track_caller]`). `None` for a callback.
    pub spawned_at: Option<&'static Location<'static>>,
    /// The stack the panic hook captured, when the environment asked for it (symbols are
    /// resolved only if the report is shown).
    trace: Option<Arc<Backtrace>>,
}

impl ErrorReport {
    /// A report of `message` in `context`, spawned at `spawned_at`, with no backtrace.
    ///
    /// # Examples
    ///
    /// ```
    /// let r = gevent_hub::ErrorReport::new("'worker'", "panicked: out of work", None);
    /// assert_eq!(r.to_string(), "greenlet 'worker' panicked: out of work");
    /// assert!(r.backtrace().is_none());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new(
        context: impl Into<String>,
        message: impl Into<String>,
        spawned_at: Option<&'static Location<'static>>,
    ) -> ErrorReport {
        ErrorReport {
            context: context.into(),
            message: message.into(),
            spawned_at,
            trace: None,
        }
    }

    /// A report with the backtrace `trace` (captured by the hook, possibly none).
    pub(crate) fn with_trace(
        context: String,
        message: String,
        spawned_at: Option<&'static Location<'static>>,
        trace: Option<Arc<Backtrace>>,
    ) -> ErrorReport {
        ErrorReport {
            context,
            message,
            spawned_at,
            trace,
        }
    }

    /// The panic's stack backtrace, when `RUST_BACKTRACE` (or `RUST_LIB_BACKTRACE`) asks for
    /// one: std's format, beginning with `stack backtrace:`, from the panicking code down to
    /// the greenlet's function, without the frames of the panic machinery and of the runtime
    /// that ran the greenlet (every frame with `RUST_BACKTRACE=full`). `None` otherwise, and
    /// for a payload raised with `resume_unwind` (it never went through the panic hook).
    ///
    /// The stack is captured when the greenlet panics; its symbols are resolved here (the
    /// first time, that reads the program's debug information: it takes a while).
    ///
    /// # Examples
    ///
    /// See [`ErrorReport`].
    ///
    /// # Switches
    ///
    /// Never.
    pub fn backtrace(&self) -> Option<String> {
        self.trace.as_deref().map(crate::trace::render)
    }
}

impl fmt::Debug for ErrorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorReport")
            .field("context", &self.context)
            .field("message", &self.message)
            .field("spawned_at", &self.spawned_at)
            .field("backtrace", &self.trace.as_ref().map(|_| "captured"))
            .finish()
    }
}

impl fmt::Display for ErrorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "greenlet {}", self.context)?;
        if let Some(at) = self.spawned_at {
            write!(f, " (spawned at {at})")?;
        }
        write!(f, " {}", self.message)?;
        if let Some(bt) = self.backtrace() {
            write!(f, "\n{bt}")?;
        }
        Ok(())
    }
}

/// Whether the hub printed a report on stderr yet (for the one-time backtrace note).
static PRINTED_ONE: AtomicBool = AtomicBool::new(false);

/// Prints a report on stderr; after the first report of the process, when backtraces are
/// off, the same note as std's panic hook prints.
fn print_report(report: &ErrorReport) {
    eprintln!("{report}");
    if !PRINTED_ONE.swap(true, Ordering::Relaxed)
        && report.trace.is_none()
        && crate::trace::style() == crate::trace::Style::Off
    {
        eprintln!(
            "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace of a \
             greenlet's panic"
        );
    }
}

/// An installed error handler.
type SharedHandler = Rc<dyn Fn(&ErrorReport)>;

/// Where a hub's error reports go: the handler set with
/// [`Hub::set_error_handler`](crate::Hub::set_error_handler), or stderr.
#[derive(Default)]
pub(crate) struct Reporter {
    /// The handler, if replaced (shared, so that it can replace itself while it runs).
    handler: RefCell<Option<SharedHandler>>,
}

impl Reporter {
    /// Sets the handler.
    pub(crate) fn set(&self, f: ErrorHandler) {
        *self.handler.borrow_mut() = Some(Rc::from(f));
    }

    /// Goes back to printing on stderr.
    pub(crate) fn reset(&self) {
        *self.handler.borrow_mut() = None;
    }

    /// Reports once, through the handler or on stderr. A handler that panics does not take
    /// its caller down (a dying greenlet still finishes, the loop goes on): the report and the
    /// handler's panic are printed on stderr instead.
    pub(crate) fn report(&self, report: &ErrorReport) {
        let h = self.handler.borrow().clone();
        let Some(f) = h else {
            print_report(report);
            return;
        };
        if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| f(report))) {
            print_report(report);
            eprintln!(
                "the hub's error handler panicked while reporting that: {}",
                report_text(&*p)
            );
            // A payload whose drop panics would escape here: drop it under a guard too.
            let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(p)));
        }
    }

    /// Reports the panic payload `p` that escaped `context` (a callback, a raw greenlet).
    pub(crate) fn report_panic(&self, context: String, p: &(dyn Any + Send)) {
        let (message, trace) = report_parts(p);
        self.report(&ErrorReport::with_trace(context, message, None, trace));
    }
}
