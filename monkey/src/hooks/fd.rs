//! `close`, `dup2`, `dup3`: before an fd number is closed or replaced, the greenlets of this
//! thread waiting on it are woken with `EBADF` (gevent's `cancel_wait`, as when a socket is
//! closed in another greenlet), its cached registration is dropped, every thread's
//! registration of it is marked stale, and the fd's cached kind is forgotten.
//!
//! The kind cache is cleared on every call, patched or not (one atomic store): it must never
//! describe a number that was reused.

use libc::c_int;

use crate::fdkind;
use crate::state::{self, FD_WAITS};
use crate::sys;
use crate::wait;

/// Marks every thread's registration of `fd` stale and wakes this thread's greenlets waiting
/// on it (on a thread with a running hub, outside another hook's slow path).
#[inline]
fn cancel_waiters(fd: c_int) {
    if state::patched(FD_WAITS) {
        cancel_slow(fd);
    }
}

/// The slow path of [`cancel_waiters`].
#[inline(never)]
fn cancel_slow(fd: c_int) {
    wait::fd_closing(fd);
    if state::has_running_hub() && state::may_wait() {
        let scope = state::HookScope::enter();
        wait::cancel_fd(fd);
        scope.ok(());
    }
}

/// `close(2)`.
///
/// # Switches
///
/// Never: first wakes the greenlets of this thread waiting on the fd (their calls fail with
/// `EBADF`) and forgets its registration, then makes the system call.
///
/// # Safety
///
/// As libc's `close`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    fdkind::forget(fd);
    cancel_waiters(fd);
    // SAFETY: the caller's fd.
    unsafe { sys::close(fd) }
}

/// `dup2(2)`.
///
/// # Switches
///
/// Never: first wakes the greenlets of this thread waiting on the fd (their calls fail with
/// `EBADF`) and forgets its registration, then makes the system call.
///
/// # Safety
///
/// As libc's `dup2`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    if old != new {
        fdkind::forget(new);
        cancel_waiters(new);
    }
    // SAFETY: the caller's fds.
    unsafe { sys::dup2(old, new) }
}

/// `dup3(2)`.
///
/// # Switches
///
/// Never: first wakes the greenlets of this thread waiting on the fd (their calls fail with
/// `EBADF`) and forgets its registration, then makes the system call.
///
/// # Safety
///
/// As libc's `dup3`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    if old != new {
        fdkind::forget(new);
        cancel_waiters(new);
    }
    // SAFETY: the caller's fds.
    unsafe { sys::dup3(old, new, flags) }
}
