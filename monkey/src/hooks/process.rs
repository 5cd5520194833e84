//! `waitpid` and `wait4` for one child: the greenlet waits on a pidfd of the child (readable
//! when it exits) instead of blocking the thread.
//!
//! Waits for any child (`pid <= 0`), `WNOHANG` and the stop/continue options (`WUNTRACED`,
//! `WCONTINUED`: a pidfd only reports exit) pass through.

use libc::{c_int, pid_t, rusage};

use crate::state::{self, HookScope, SUBPROCESS};
use crate::sys::{self, errno};
use crate::wait::{wait_own_fd, Outcome};

/// Options under which the call passes through.
const PASS: c_int = libc::WNOHANG | libc::WUNTRACED | libc::WCONTINUED;

/// `wait4(2)`.
///
/// # Switches
///
/// In a greenlet of a running hub, with `subprocess` patched, waiting for one child without
/// `WNOHANG`: waits in the hub on the child's pidfd. Anywhere else: never.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` or `ETIMEDOUT`, the child is
/// not reaped, and the interrupt stays pending: it is raised at the greenlet's next Rust-side
/// wait, or when its function returns.
///
/// # Safety
///
/// As libc's `wait4`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wait4(
    pid: pid_t,
    status: *mut c_int,
    options: c_int,
    ru: *mut rusage,
) -> pid_t {
    if pid <= 0 || options & PASS != 0 || !state::active(SUBPROCESS) || !state::may_wait() {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { sys::wait4(pid, status, options, ru) };
    }
    // SAFETY: the caller's arguments.
    unsafe { wait_slow(pid, status, options, ru) }
}

/// `waitpid(2)`.
///
/// # Switches
///
/// In a greenlet of a running hub, with `subprocess` patched, waiting for one child without
/// `WNOHANG`: waits in the hub on the child's pidfd. Anywhere else: never.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` or `ETIMEDOUT`, the child is
/// not reaped, and the interrupt stays pending: it is raised at the greenlet's next Rust-side
/// wait, or when its function returns.
///
/// # Safety
///
/// As libc's `waitpid`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn waitpid(pid: pid_t, status: *mut c_int, options: c_int) -> pid_t {
    // SAFETY: the caller's arguments.
    unsafe { wait4(pid, status, options, std::ptr::null_mut()) }
}

/// The slow path: `WNOHANG` polls around a wait on the child's pidfd.
///
/// # Safety
///
/// As libc's `wait4`.
#[inline(never)]
unsafe fn wait_slow(pid: pid_t, status: *mut c_int, options: c_int, ru: *mut rusage) -> pid_t {
    let scope = HookScope::enter();
    let mut pidfd: Option<c_int> = None;
    let r = loop {
        // SAFETY: the caller's arguments, with WNOHANG.
        let r = unsafe { sys::wait4(pid, status, options | libc::WNOHANG, ru) };
        if r != 0 {
            break if r > 0 { Ok(r) } else { Err(errno()) };
        }
        let fd = match pidfd {
            Some(fd) => fd,
            None => match sys::pidfd_open(pid) {
                Some(fd) => {
                    // Look again: it may have exited before the pidfd existed.
                    pidfd = Some(fd);
                    continue;
                }
                None => break Err(0),
            },
        };
        match scope.outside(|| wait_own_fd(fd)) {
            Outcome::Ready | Outcome::TimedOut => {}
            Outcome::Interrupted(e) => break Err(e),
            Outcome::Closed | Outcome::Unavailable => break Err(0),
        }
    };
    if let Some(fd) = pidfd {
        sys::close_raw(fd);
    }
    match r {
        Ok(p) => scope.ok(p),
        Err(0) => {
            drop(scope);
            // The hub cannot wait for this child: block in the kernel.
            // SAFETY: the caller's arguments, passed on.
            unsafe { sys::wait4(pid, status, options, ru) }
        }
        Err(e) => scope.fail(e),
    }
}
