//! Noticing that a child exited, without a thread per child.
//!
//! * **pidfd** (Linux 5.3+): right after the spawn, `pidfd_open(pid)` gives a descriptor that
//!   becomes readable when the child exits. It goes into the hub's poller as an [`IoSource`]
//!   that does not keep the loop alive, watched by one small greenlet per child; when it is
//!   readable, the greenlet reaps the child (`waitpid(pid, WNOHANG)`) under the child's own
//!   state and wakes its waiters.
//! * **`SIGCHLD`** (when `pidfd_open` fails, or when forced for tests): this thread installs,
//!   once and before its first such child is spawned, a handler through the hub's signal path
//!   ([`gevent_hub::signal_handler`]); on each `SIGCHLD` it tries to reap every live child of
//!   this thread, by pid. It never calls `waitpid(-1)`, so children that are not ours (and a
//!   user's own `SIGCHLD` handler, which the signal registry keeps calling) are left alone.
//!
//! Either way, the watcher holds the child's state until it is reaped, so a dropped `Child`
//! leaves no zombie while this thread's hub runs. Waiters keep the loop alive with a
//! [`HoldGuard`](gevent_hub::HoldGuard) held in the child's state, not the watchers.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicU8, Ordering};

use gevent_hub::reactor::IoSource;
use gevent_hub::{signal_handler, spawn_raw};

use crate::child::{ChildState, Detection};
use crate::sys;

/// The environment variable that forces the `SIGCHLD` fallback (any value but `""` or `"0"`).
pub(crate) const NO_PIDFD_ENV: &str = "GEVENT_SUBPROCESS_NO_PIDFD";

/// Process-wide choice: 0 not decided yet, 1 pidfd, 2 `SIGCHLD` (forced, or pidfds are
/// unsupported here).
static MODE: AtomicU8 = AtomicU8::new(0);

/// [`MODE`]: pidfd.
const MODE_PIDFD: u8 = 1;
/// [`MODE`]: `SIGCHLD`.
const MODE_SIGCHLD: u8 = 2;

thread_local! {
    /// This thread's children watched through `SIGCHLD`, once its handler is installed.
    static SIGCHLD_CHILDREN: RefCell<Option<Vec<Rc<ChildState>>>> = const { RefCell::new(None) };
}

/// Forces (or stops forcing) the `SIGCHLD` fallback for children spawned from now on, in every
/// thread. For tests of the fallback path.
#[doc(hidden)]
pub fn __force_sigchld_fallback(on: bool) {
    MODE.store(if on { MODE_SIGCHLD } else { MODE_PIDFD }, Ordering::SeqCst);
}

/// The detection method for the next child, decided before it is spawned: with `SIGCHLD`, the
/// handler must be in place before the child can exit.
///
/// # Errors
///
/// If the `SIGCHLD` handler cannot be installed.
pub(crate) fn prepare() -> io::Result<Detection> {
    let mut mode = MODE.load(Ordering::SeqCst);
    if mode == 0 {
        let forced = std::env::var_os(NO_PIDFD_ENV).is_some_and(|v| !v.is_empty() && v != "0");
        mode = if forced { MODE_SIGCHLD } else { MODE_PIDFD };
        // Another thread may have decided meanwhile (say, that pidfds are unsupported).
        mode = match MODE.compare_exchange(0, mode, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => mode,
            Err(m) => m,
        };
    }
    if mode == MODE_SIGCHLD {
        install_sigchld()?;
        Ok(Detection::Sigchld)
    } else {
        Ok(Detection::Pidfd)
    }
}

/// Starts watching a child spawned after [`prepare`] returned `plan`.
///
/// # Errors
///
/// If neither method can watch it (the `SIGCHLD` handler cannot be installed).
pub(crate) fn watch(state: &Rc<ChildState>, plan: Detection) -> io::Result<()> {
    if plan == Detection::Pidfd {
        match watch_pidfd(state) {
            Ok(()) => return Ok(()),
            Err(e) => {
                if e.raw_os_error() == Some(libc::ENOSYS) {
                    // No pidfds on this kernel (or a seccomp filter hides them): stop trying.
                    MODE.store(MODE_SIGCHLD, Ordering::SeqCst);
                }
                // Otherwise (EMFILE...), fall back for this child only.
                install_sigchld()?;
            }
        }
    }
    state.set_detection(Detection::Sigchld);
    SIGCHLD_CHILDREN.with(|c| {
        if let Some(v) = c.borrow_mut().as_mut() {
            v.push(state.clone());
        }
    });
    // If the handler was installed only now, the child may have exited before it: look once.
    let _ = state.reap();
    Ok(())
}

/// Opens a pidfd for the child and starts its watcher greenlet.
fn watch_pidfd(state: &Rc<ChildState>) -> io::Result<()> {
    let fd = sys::pidfd_open(state.pid())?;
    let src = IoSource::new(fd)?;
    // Only waiters keep the loop alive (through the child's hold), not the watcher.
    src.set_ref(false);
    let state = state.clone();
    spawn_raw(move || loop {
        if !matches!(state.reap(), Ok(None)) {
            return; // reaped (here or by a try_wait), or reaping failed for good
        }
        if src.wait_readable(None).is_err() {
            return;
        }
    });
    Ok(())
}

/// Installs this thread's `SIGCHLD` handler, once.
fn install_sigchld() -> io::Result<()> {
    if SIGCHLD_CHILDREN.with(|c| c.borrow().is_some()) {
        return Ok(());
    }
    signal_handler(libc::SIGCHLD, on_sigchld)?.forget();
    SIGCHLD_CHILDREN.with(|c| *c.borrow_mut() = Some(Vec::new()));
    Ok(())
}

/// On `SIGCHLD` (in a greenlet of its own): tries to reap each live child of this thread, by
/// pid, and forgets those that are done.
fn on_sigchld() {
    let live: Vec<Rc<ChildState>> =
        SIGCHLD_CHILDREN.with(|c| c.borrow().as_ref().cloned().unwrap_or_default());
    for s in &live {
        let _ = s.reap();
    }
    SIGCHLD_CHILDREN.with(|c| {
        if let Some(v) = c.borrow_mut().as_mut() {
            v.retain(|s| !s.is_done());
        }
    });
}
