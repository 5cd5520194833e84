//! When a hook may wait cooperatively: the process-wide switches set by `patch_*`, the thread's
//! state as the hub reports it, and the in-hook bit.
//!
//! # The fast path
//!
//! Every hook starts with [`active`]: one relaxed atomic load (is this family patched?) and one
//! read of the hub's const thread-local state cell ([`gevent_hub::thread_state`]: no
//! destructor, no lazy initialisation, a plain `#[thread_local]` load). Unless the family is
//! patched *and* the caller runs in a greenlet of a thread whose hub is running, the hook makes
//! the system call and returns: nothing else runs, nothing allocates, no lock is taken. That is
//! what makes calls before `main` (nothing is patched yet), on threads without a hub (thread
//! pool workers, a program's other threads: they pay the atomic load and the thread-local read,
//! nothing more), inside the hub's loop (callbacks), while a thread's hub is torn down (the
//! hub sets its state before it drops anything) and in a forked child (the `fork` handler
//! unpatches the child) safe.
//!
//! # The slow path
//!
//! [`may_wait`] adds one more test, this crate's own in-hook bit: a hook called while another
//! hook's slow path runs on the same thread (from a signal handler that interrupted it) passes
//! through, so the hooks' tables are never re-entered. [`HookScope`] sets the bit for the
//! slow path's bookkeeping (cleared while it waits, when other greenlets run), saves `errno`
//! on entry and restores it on success, and the waits ([`crate::wait`]) return kills and
//! timeouts as values: nothing unwinds into the `extern "C"` frame.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};

use gevent_hub::ThreadState;

/// Family bit: sockets (`recv`... `accept4`, `close`, `dup2`, `dup3`).
pub(crate) const SOCKET: u32 = 1;
/// Family bit: sleeps.
pub(crate) const TIME: u32 = 2;
/// Family bit: `getaddrinfo`.
pub(crate) const DNS: u32 = 4;
/// Family bit: `poll`, `ppoll`, `select`.
pub(crate) const SELECT: u32 = 8;
/// Family bit: `waitpid`, `wait4`.
pub(crate) const SUBPROCESS: u32 = 16;
/// The families whose waits use the per-fd registrations (what `close` and `dup2` look after).
pub(crate) const FD_WAITS: u32 = SOCKET | SELECT;

/// The patched families (bits above).
pub(crate) static ENABLED: AtomicU32 = AtomicU32::new(0);

thread_local! {
    /// Whether a hook's slow path is running on this thread (outside its waits).
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

/// The fast-path test: whether the family `bit` is patched and the caller runs in a greenlet
/// of a thread whose hub is running.
#[inline(always)]
pub(crate) fn active(bit: u32) -> bool {
    ENABLED.load(Ordering::Relaxed) & bit != 0
        && gevent_hub::thread_state() == ThreadState::InGreenlet
}

/// Whether any of the families in `bits` is patched (this process's hooks have work to do even
/// outside greenlets: `close` looks after registrations made by any thread).
#[inline(always)]
pub(crate) fn patched(bits: u32) -> bool {
    ENABLED.load(Ordering::Relaxed) & bits != 0
}

/// The slow-path test: no other hook's slow path is under way on this thread (a signal
/// handler that interrupted one passes through).
#[inline]
pub(crate) fn may_wait() -> bool {
    !IN_HOOK.with(Cell::get)
}

/// Whether this thread has a running hub (not torn down), in a greenlet or in the hub's loop:
/// where `cancel_wait` may be called.
#[inline]
pub(crate) fn has_running_hub() -> bool {
    matches!(
        gevent_hub::thread_state(),
        ThreadState::InGreenlet | ThreadState::InHub
    )
}

/// Marks a hook's slow path as running on this thread (a nested hook passes through) and
/// saves `errno`; [`HookScope::ok`], [`HookScope::fail`] or the drop undoes it.
pub(crate) struct HookScope {
    /// `errno` on entry.
    errno: libc::c_int,
}

impl HookScope {
    /// Enters the slow path.
    #[inline]
    pub(crate) fn enter() -> HookScope {
        IN_HOOK.with(|s| s.set(true));
        HookScope {
            errno: crate::sys::errno(),
        }
    }

    /// Returns `r` (a success): `errno` as it was on entry.
    #[inline]
    pub(crate) fn ok<T>(self, r: T) -> T {
        crate::sys::set_errno(self.errno);
        r
    }

    /// Returns `-1` with `errno = e`.
    #[inline]
    pub(crate) fn fail<T: From<i8>>(self, e: libc::c_int) -> T {
        drop(self);
        crate::sys::set_errno(e);
        T::from(-1)
    }

    /// Runs `f` (a wait: other greenlets of this thread run meanwhile, and their hooks must
    /// not see this one's in-hook bit).
    #[inline]
    pub(crate) fn outside<R>(&self, f: impl FnOnce() -> R) -> R {
        IN_HOOK.with(|s| s.set(false));
        let r = f();
        IN_HOOK.with(|s| s.set(true));
        r
    }
}

impl Drop for HookScope {
    #[inline]
    fn drop(&mut self) {
        IN_HOOK.with(|s| s.set(false));
    }
}

/// The `fork` child handler: a child starts unpatched (it shares its parent's epoll instance
/// until it execs; it must not wait on it, nor ask the parent's threads to close fds).
extern "C" fn after_fork_child() {
    ENABLED.store(0, Ordering::Relaxed);
}

/// Registers [`after_fork_child`] once.
pub(crate) fn install_fork_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: registers a handler that only stores an atomic (async-signal-safe, as a
        // child of a multi-threaded process requires).
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_child));
        }
    });
}
