//! Multiplexing: `poll`, `ppoll` and `select`.
//!
//! Inside a greenlet, a call with a non-zero timeout waits through the hub's reactor: a
//! zero-timeout `ppoll(2)` first (so what is ready answers at once, with the kernel's exact
//! `revents`), then a cooperative wait, then another zero-timeout `ppoll(2)` that fills every
//! `revents` as the kernel reports them (`POLLHUP`, `POLLERR`, `POLLNVAL` included: std's
//! `connect_timeout` and its random-seed read depend on them). A zero timeout, a `ppoll` with a
//! signal mask, and an fd the hub's poller refuses pass through to the kernel.

use std::time::{Duration, Instant};

use libc::{c_int, fd_set, nfds_t, pollfd, sigset_t, timespec, timeval};

use crate::state::{self, HookScope, SELECT};
use crate::sys;
use crate::wait::{sleep_until, wait_poll, Outcome};

/// The most fds one call waits for cooperatively (larger sets pass through).
const MAX_FDS: usize = 1 << 16;

/// Polls `fds` cooperatively until `deadline`; `None` if the hub cannot (the caller then makes
/// the system call). On success: the count, or -1 with the errno.
///
/// # Safety
///
/// `fds` points to `n` valid pollfds.
unsafe fn poll_coop(fds: *mut pollfd, n: usize, deadline: Option<Instant>) -> Option<c_int> {
    if n > MAX_FDS || (n > 0 && fds.is_null()) {
        return None;
    }
    let scope = HookScope::enter();
    if n == 0 {
        // Nothing to watch: a sleep.
        return match scope.outside(|| sleep_until(deadline)) {
            Outcome::Ready => Some(scope.ok(0)),
            Outcome::Interrupted(e) => Some(scope.fail(e)),
            _ => None,
        };
    }
    // SAFETY: the caller's promise.
    let raw = unsafe { std::slice::from_raw_parts_mut(fds, n) };
    match scope.outside(|| wait_poll(raw, deadline)) {
        Ok(count) => Some(scope.ok(count as c_int)),
        Err(Outcome::Interrupted(e)) => Some(scope.fail(e)),
        Err(_) => None,
    }
}

/// `poll(2)`.
///
/// # Switches
///
/// In a greenlet of a running hub, with `select` patched and a timeout that is not zero: waits in
/// the hub for the fds' registrations or the timeout, then polls again so that the results are the
/// kernel's. Anywhere else: never.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` or `ETIMEDOUT`, and the
/// interrupt stays pending: it is raised at the greenlet's next Rust-side wait, or when its
/// function returns.
///
/// # Safety
///
/// As libc's `poll`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn poll(fds: *mut pollfd, n: nfds_t, timeout_ms: c_int) -> c_int {
    if timeout_ms != 0 && state::active(SELECT) && state::may_wait() {
        let deadline = if timeout_ms < 0 {
            None
        } else {
            Instant::now().checked_add(Duration::from_millis(timeout_ms as u64))
        };
        // SAFETY: the caller's arguments.
        if let Some(r) = unsafe { poll_coop(fds, n as usize, deadline) } {
            return r;
        }
    }
    let mut ts = timespec {
        tv_sec: (timeout_ms / 1000) as libc::time_t,
        tv_nsec: (timeout_ms % 1000) as libc::c_long * 1_000_000,
    };
    let tsp: *mut timespec = if timeout_ms < 0 {
        std::ptr::null_mut()
    } else {
        &mut ts
    };
    // SAFETY: the caller's array, a timespec of ours, no mask.
    unsafe { sys::ppoll(fds, n, tsp, std::ptr::null()) }
}

/// `ppoll(2)`: cooperative without a signal mask.
///
/// # Switches
///
/// In a greenlet of a running hub, with `select` patched and a timeout that is not zero: waits in
/// the hub for the fds' registrations or the timeout, then polls again so that the results are the
/// kernel's. Anywhere else: never.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` or `ETIMEDOUT`, and the
/// interrupt stays pending: it is raised at the greenlet's next Rust-side wait, or when its
/// function returns.
///
/// # Safety
///
/// As libc's `ppoll`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ppoll(
    fds: *mut pollfd,
    n: nfds_t,
    timeout: *const timespec,
    sigmask: *const sigset_t,
) -> c_int {
    // SAFETY: null or the caller's valid timespec.
    let t = unsafe { timeout.as_ref() }.copied();
    let zero = t.is_some_and(|t| t.tv_sec == 0 && t.tv_nsec == 0);
    if !zero && sigmask.is_null() && state::active(SELECT) && state::may_wait() {
        match t {
            Some(t) if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) => {
                sys::set_errno(libc::EINVAL);
                return -1;
            }
            _ => {}
        }
        let deadline = t.and_then(|t| {
            Instant::now().checked_add(Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
        });
        // SAFETY: the caller's arguments.
        if let Some(r) = unsafe { poll_coop(fds, n as usize, deadline) } {
            return r;
        }
    }
    // glibc passes a copy: the caller's timeout is never written.
    let mut copy = t;
    let tsp = copy
        .as_mut()
        .map_or(std::ptr::null_mut(), |c| c as *mut timespec);
    // SAFETY: the caller's array and mask, a timespec of ours.
    unsafe { sys::ppoll(fds, n, tsp, sigmask) }
}

/// Whether `fd` is in `set` (null: no).
///
/// # Safety
///
/// `set` is null or a valid fd_set covering `fd`.
unsafe fn isset(set: *const fd_set, fd: c_int) -> bool {
    // SAFETY: the caller's promise.
    !set.is_null() && unsafe { libc::FD_ISSET(fd, set) }
}

/// `select(2)`: cooperative with a non-zero timeout; the timeout is updated with the time
/// left, as Linux's `select` does.
///
/// # Switches
///
/// In a greenlet of a running hub, with `select` patched and a timeout that is not zero: waits in
/// the hub for the fds' registrations or the timeout, then polls again so that the results are the
/// kernel's. Anywhere else: never.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` or `ETIMEDOUT`, and the
/// interrupt stays pending: it is raised at the greenlet's next Rust-side wait, or when its
/// function returns.
///
/// # Safety
///
/// As libc's `select`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn select(
    nfds: c_int,
    r: *mut fd_set,
    w: *mut fd_set,
    e: *mut fd_set,
    timeout: *mut timeval,
) -> c_int {
    // SAFETY: null or the caller's valid timeval.
    let t = unsafe { timeout.as_ref() }.copied();
    let zero = t.is_some_and(|t| t.tv_sec == 0 && t.tv_usec == 0);
    if !zero
        && (0..=libc::FD_SETSIZE as c_int).contains(&nfds)
        && state::active(SELECT)
        && state::may_wait()
    {
        // SAFETY: the caller's arguments.
        if let Some(res) = unsafe { select_coop(nfds, r, w, e, timeout, t) } {
            return res;
        }
    }
    // SAFETY: the caller's arguments, passed on.
    unsafe { sys::select(nfds, r, w, e, timeout) }
}

/// The cooperative `select`; `None`: make the system call.
///
/// # Safety
///
/// As libc's `select`, `nfds <= FD_SETSIZE`.
#[inline(never)]
unsafe fn select_coop(
    nfds: c_int,
    r: *mut fd_set,
    w: *mut fd_set,
    e: *mut fd_set,
    timeout: *mut timeval,
    t: Option<timeval>,
) -> Option<c_int> {
    if let Some(t) = t {
        if t.tv_sec < 0 || !(0..1_000_000).contains(&t.tv_usec) {
            sys::set_errno(libc::EINVAL);
            return Some(-1);
        }
    }
    let start = Instant::now();
    let limit = t.map(|t| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000));
    let deadline = limit.and_then(|l| start.checked_add(l));
    let mut fds: Vec<pollfd> = Vec::new();
    for fd in 0..nfds {
        // SAFETY: the caller's sets cover `nfds` fds.
        let (ir, iw, ie) = unsafe { (isset(r, fd), isset(w, fd), isset(e, fd)) };
        let mut events = 0;
        if ir {
            events |= libc::POLLIN;
        }
        if iw {
            events |= libc::POLLOUT;
        }
        if ie {
            events |= libc::POLLPRI;
        }
        if events != 0 {
            fds.push(pollfd {
                fd,
                events,
                revents: 0,
            });
        }
    }
    // SAFETY: our own array.
    let n = unsafe { poll_coop(fds.as_mut_ptr(), fds.len(), deadline) }?;
    if n < 0 {
        return Some(n);
    }
    if fds.iter().any(|p| p.revents & libc::POLLNVAL != 0) {
        sys::set_errno(libc::EBADF);
        return Some(-1);
    }
    let mut count = 0;
    for set in [r, w, e] {
        if !set.is_null() {
            // SAFETY: the caller's valid set.
            unsafe { libc::FD_ZERO(set) };
        }
    }
    for p in &fds {
        let checks = [
            (
                r,
                libc::POLLIN | libc::POLLHUP | libc::POLLERR,
                libc::POLLIN,
            ),
            (w, libc::POLLOUT | libc::POLLERR, libc::POLLOUT),
            (e, libc::POLLPRI, libc::POLLPRI),
        ];
        for (set, ready, asked) in checks {
            if p.events & asked != 0 && p.revents & ready != 0 {
                // SAFETY: the caller's valid set, `p.fd < nfds`.
                unsafe { libc::FD_SET(p.fd, set) };
                count += 1;
            }
        }
    }
    if let (Some(l), false) = (limit, timeout.is_null()) {
        let left = l.saturating_sub(start.elapsed());
        // SAFETY: the caller's valid timeval.
        unsafe {
            *timeout = timeval {
                tv_sec: left.as_secs() as libc::time_t,
                tv_usec: left.subsec_micros() as libc::suseconds_t,
            };
        }
    }
    Some(count)
}
