//! Errors of the gevent layer: [`GreenletError`] (a greenlet's panic or kill), [`LoopExit`],
//! and the panic hook that lets the hub report a greenlet's panic exactly once.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{self, PanicHookInfo};
use std::sync::{Arc, Once};

use parking_lot::Mutex;

use crate::hub::HubInner;
use crate::park::Panic;

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

/// The two kinds of failure.
enum Repr {
    /// Killed with `GreenletExit` (counts as successful, as in gevent).
    Killed,
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
    pub fn is_panic(&self) -> bool {
        matches!(*self.repr, Repr::Panic { .. })
    }

    /// The panic message (`"killed"` for a kill).
    ///
    /// # Examples
    ///
    /// ```
    /// # gevent_hub::get_hub().set_error_handler(|_| {});
    /// let g = gevent_hub::spawn(|| -> () { panic!("bad {}", 1) });
    /// assert_eq!(g.get().unwrap_err().message(), "bad 1");
    /// # gevent_hub::get_hub().reset_error_handler();
    /// ```
    pub fn message(&self) -> &str {
        match &*self.repr {
            Repr::Killed => "killed",
            Repr::Panic { message, .. } => message,
        }
    }

    /// The panic payload, to re-raise it with `std::panic::resume_unwind`. The first call gets
    /// the original payload; later calls (on clones) get the message as a `String`. A kill
    /// gives `GreenletExit`.
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
    pub fn into_panic(self) -> Panic {
        match &*self.repr {
            Repr::Killed => Box::new(greenlet::GreenletExit),
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
            Repr::Panic { message, .. } => write!(f, "greenlet panicked: {message}"),
        }
    }
}

impl std::error::Error for GreenletError {}

/// Raised (as a panic payload) in the greenlet waiting on the hub when nothing left in the loop
/// could ever wake it: gevent's `LoopExit`, "this operation would block forever".
///
/// # Examples
///
/// ```
/// use std::panic;
/// let r = panic::catch_unwind(|| gevent_hub::park(|_unparker| { /* dropped: nobody can wake us */ }));
/// let p = r.unwrap_err();
/// let e = p.downcast_ref::<gevent_hub::LoopExit>().unwrap();
/// assert!(e.to_string().contains("would block forever"));
/// ```
#[derive(Debug, Clone)]
pub struct LoopExit {
    /// What the loop held when it gave up.
    state: String,
}

impl LoopExit {
    pub(crate) fn new(hub: &HubInner) -> LoopExit {
        LoopExit {
            state: hub.describe(),
        }
    }
}

impl fmt::Display for LoopExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "this operation would block forever: the hub has nothing left that could wake the \
             waiting greenlet ({})",
            self.state
        )
    }
}

impl std::error::Error for LoopExit {}

thread_local! {
    /// Whether this thread has a hub (set when it is created), so that the hook looks at the
    /// running greenlet only on such threads.
    static HUB_THREAD: Cell<bool> = const { Cell::new(false) };
    /// The last panic the hook captured on this thread.
    static LAST: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
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
    let own = panic_text(p);
    let captured = LAST.try_with(|l| l.borrow_mut().take()).ok().flatten();
    match captured {
        Some((msg, full)) if msg == own => full,
        _ => own,
    }
}

/// Installs (once per process) a panic hook that, for panics the hub reports (see
/// `reported_by_hub`), records `panicked at <location>: <message>` for the hub to report once,
/// and otherwise defers to the hook that was there before. Called when a thread creates its
/// hub.
pub(crate) fn install_panic_hook() {
    let _ = HUB_THREAD.try_with(|h| h.set(true));
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            if !reported_by_hub() {
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
            let _ = LAST.try_with(|l| *l.borrow_mut() = Some((msg, text)));
        }));
    });
}
