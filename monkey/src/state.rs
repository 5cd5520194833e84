//! When a hook may wait cooperatively: the process-wide switches set by `patch_*`, and this
//! thread's state.
//!
//! # The fast path
//!
//! Every hook starts with [`active`]: one relaxed atomic load (is this family patched?) and one
//! read of a const-initialised thread-local `Cell<u8>` (no destructor, no lazy
//! initialisation: a plain `#[thread_local]` access). If either says no, the hook makes the
//! system call and returns; nothing else runs, nothing allocates, no lock is taken. That is
//! what makes calls before `main` (nothing is patched yet), in a forked child (the `fork`
//! handler unpatches the child), in a thread being torn down and in a signal handler that
//! interrupts a hook (the in-hook bit) safe.
//!
//! # The slow path: may this call wait?
//!
//! [`may_wait`] answers whether the calling code runs in a greenlet of a thread that has a hub
//! (the main greenlet counts; the hub itself, running callbacks, does not). Until the hub
//! exposes that as a thread-local of its own, it is found out through the `greenlet` crate's
//! public API and cached: once a thread has a hub it keeps it, so "armed" is remembered; a
//! thread without one asks again at its next call that would wait.
//!
//! Arming a thread also registers a thread-local guard whose destructor runs before the hub's
//! (thread-local destructors run in the reverse order of their registration, and the guard is
//! registered after the hub's): from then on, at thread exit, every hook passes through, so
//! the hub closing its fds and dropping its greenlets never re-enters it.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering};

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

/// The patched families (bits above).
pub(crate) static ENABLED: AtomicU32 = AtomicU32::new(0);

/// Thread state bit: this thread has a hub (set once, by [`may_wait`]).
const ARMED: u8 = 1;
/// Thread state bit: pass everything through (the thread is being torn down).
const DEAD: u8 = 2;
/// Thread state bit: a hook's slow path is running on this thread (outside its waits): a hook
/// called meanwhile (from a signal handler, say) passes through.
const IN_HOOK: u8 = 4;
/// Thread state bit: the guard that sets `DEAD` before the greenlet crate's thread state is
/// destroyed is registered.
const GUARDED: u8 = 8;

/// The bits that make every hook pass through.
const BYPASS: u8 = DEAD | IN_HOOK;

thread_local! {
    /// This thread's state (bits above).
    static STATE: Cell<u8> = const { Cell::new(0) };
    /// Registered (first touched) after the greenlet crate's thread state, so that its
    /// destructor runs first and switches the hooks off.
    static THREAD_GUARD: Guard = const { Guard };
    /// Registered after the hub's thread-locals, for the same reason.
    static HUB_GUARD: Guard = const { Guard };
}

/// Switches the hooks off for this thread when dropped (at thread exit).
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = STATE.try_with(|s| s.set(s.get() | DEAD));
    }
}

/// The fast-path test: whether the family `bit` is patched and this thread may run a hook's
/// slow path.
#[inline(always)]
pub(crate) fn active(bit: u32) -> bool {
    ENABLED.load(Ordering::Relaxed) & bit != 0 && STATE.with(Cell::get) & BYPASS == 0
}

/// Whether the thread is armed (has a hub, and is not torn down).
#[inline]
pub(crate) fn armed() -> bool {
    STATE.with(Cell::get) & (ARMED | BYPASS) == ARMED
}

/// Whether the calling code may wait cooperatively: it runs in a greenlet (the main one
/// included) of a thread with a hub, not in the hub itself.
#[inline]
pub(crate) fn may_wait() -> bool {
    let s = STATE.with(Cell::get);
    if s & BYPASS != 0 {
        return false;
    }
    if s & ARMED == 0 && !probe(s) {
        return false;
    }
    // Cannot panic once the thread is armed (its greenlet state exists and is alive: the guard
    // turns the hooks off before it is destroyed).
    !greenlet::getcurrent().is_hub()
}

/// Finds out whether this thread has a hub; arms it if so.
#[cold]
#[inline(never)]
fn probe(s: u8) -> bool {
    let r = panic::catch_unwind(AssertUnwindSafe(|| {
        let has_hub = greenlet::hub().is_some();
        if s & GUARDED == 0 {
            // After the greenlet crate's thread state exists: our destructor runs before its.
            THREAD_GUARD.with(|_| ());
            STATE.with(|st| st.set(st.get() | GUARDED));
        }
        if has_hub {
            // Make sure the hub's thread-locals the hooks use exist before our guard is
            // registered, so that they are destroyed after the hooks are switched off.
            drop(gevent_hub::get_hub());
            gevent_hub::os::cancel_wait(-1);
            drop(gevent_hub::threadpool::default());
            HUB_GUARD.with(|_| ());
            STATE.with(|st| st.set(st.get() | ARMED));
        }
        has_hub
    }));
    match r {
        Ok(h) => h,
        Err(_) => {
            // The thread's greenlet state is gone (thread exit): pass through from now on.
            STATE.with(|st| st.set(st.get() | DEAD));
            false
        }
    }
}

/// Marks a hook's slow path as running on this thread (a nested hook passes through) and
/// saves `errno`; [`HookScope::leave`] or the drop undoes it.
pub(crate) struct HookScope {
    /// `errno` on entry.
    errno: libc::c_int,
}

impl HookScope {
    /// Enters the slow path.
    #[inline]
    pub(crate) fn enter() -> HookScope {
        STATE.with(|s| s.set(s.get() | IN_HOOK));
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
        STATE.with(|s| s.set(s.get() & !IN_HOOK));
        let r = f();
        STATE.with(|s| s.set(s.get() | IN_HOOK));
        r
    }
}

impl Drop for HookScope {
    fn drop(&mut self) {
        STATE.with(|s| s.set(s.get() & !IN_HOOK));
    }
}

/// The `fork` child handler: a child starts unpatched (it shares its parent's epoll instance
/// until it execs; it must not wait on it).
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
