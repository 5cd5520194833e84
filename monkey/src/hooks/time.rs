//! Sleeps: `sleep`, `usleep`, `nanosleep`, `clock_nanosleep` (std's `thread::sleep` and
//! `sleep_until` call the last one).
//!
//! Inside a greenlet a sleep is the hub's `sleep`: other greenlets run meanwhile. A kill or
//! timeout that arrives during it ends it early, and it returns as if it had slept the whole
//! time (std asserts that `clock_nanosleep` fails only with `EINTR`, and treats `EINTR` as
//! "sleep the rest"): the payload is raised at the greenlet's next wait made from Rust.

use std::time::{Duration, Instant};

use libc::{c_int, c_uint, clockid_t, timespec};

use crate::state::{self, HookScope, TIME};
use crate::sys;
use crate::wait::{sleep_until, Outcome};

/// Whether `ts` is a valid relative or absolute time for the kernel.
fn valid(ts: &timespec) -> bool {
    ts.tv_sec >= 0 && (0..1_000_000_000).contains(&ts.tv_nsec)
}

/// Sleeps for `d` cooperatively; `false` if the hub cannot (then the caller sleeps in the
/// kernel).
fn sleep_for(d: Duration) -> bool {
    let scope = HookScope::enter();
    let deadline = Instant::now().checked_add(d);
    let o = scope.outside(|| sleep_until(deadline));
    scope.ok(o != Outcome::Unavailable)
}

/// `clock_nanosleep(2)`: returns 0 or the error number (not `errno`).
///
/// # Switches
///
/// In a greenlet of a running hub, with `time` patched: sleeps in the hub (other greenlets run).
/// Anywhere else: never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the sleep early, and it returns as if it had slept the whole time (std
/// asserts on any other error); the interrupt stays pending: it is raised at the greenlet's next
/// Rust-side wait, or when its function returns.
///
/// # Safety
///
/// As libc's `clock_nanosleep`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn clock_nanosleep(
    clock: clockid_t,
    flags: c_int,
    req: *const timespec,
    rem: *mut timespec,
) -> c_int {
    if clock == libc::CLOCK_THREAD_CPUTIME_ID {
        // glibc answers this itself, without the system call.
        return libc::EINVAL;
    }
    if !state::active(TIME) || req.is_null() || !state::may_wait() {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { sys::clock_nanosleep(clock, flags, req, rem) };
    }
    // SAFETY: `req` is not null: the caller's valid timespec.
    let ts = unsafe { *req };
    clock_nanosleep_slow(clock, flags, ts, req, rem)
}

/// The slow path of `clock_nanosleep`.
#[inline(never)]
fn clock_nanosleep_slow(
    clock: clockid_t,
    flags: c_int,
    ts: timespec,
    req: *const timespec,
    rem: *mut timespec,
) -> c_int {
    let cooperative = matches!(
        clock,
        libc::CLOCK_MONOTONIC | libc::CLOCK_REALTIME | libc::CLOCK_BOOTTIME
    );
    if !cooperative || !valid(&ts) {
        // CPU-time clocks and bad arguments: the kernel's answer.
        // SAFETY: the caller's arguments, passed on.
        return unsafe { sys::clock_nanosleep(clock, flags, req, rem) };
    }
    let d = Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
    let d = if flags & libc::TIMER_ABSTIME != 0 {
        let mut now = timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid clock and timespec (`clock_gettime` is answered by the vDSO; it is
        // not hooked).
        if unsafe { libc::clock_gettime(clock, &mut now) } != 0 {
            // SAFETY: the caller's arguments, passed on.
            return unsafe { sys::clock_nanosleep(clock, flags, req, rem) };
        }
        let now = Duration::new(now.tv_sec.max(0) as u64, now.tv_nsec as u32);
        d.saturating_sub(now)
    } else {
        d
    };
    if !sleep_for(d) {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { sys::clock_nanosleep(clock, flags, req, rem) };
    }
    if flags & libc::TIMER_ABSTIME == 0 && !rem.is_null() {
        // Nothing left (only an interrupted sleep writes `rem`, and this one was not).
        // SAFETY: the caller's valid timespec.
        unsafe {
            *rem = timespec {
                tv_sec: 0,
                tv_nsec: 0,
            }
        };
    }
    0
}

/// `nanosleep(2)`: 0, or -1 with `errno`.
///
/// # Switches
///
/// In a greenlet of a running hub, with `time` patched: sleeps in the hub (other greenlets run).
/// Anywhere else: never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the sleep early, and it returns as if it had slept the whole time (std
/// asserts on any other error); the interrupt stays pending: it is raised at the greenlet's next
/// Rust-side wait, or when its function returns.
///
/// # Safety
///
/// As libc's `nanosleep`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanosleep(req: *const timespec, rem: *mut timespec) -> c_int {
    // SAFETY: the caller's arguments, passed on.
    match unsafe { clock_nanosleep(libc::CLOCK_REALTIME, 0, req, rem) } {
        0 => 0,
        e => {
            sys::set_errno(e);
            -1
        }
    }
}

/// `usleep(3)`: 0, or -1 with `errno`.
///
/// # Switches
///
/// In a greenlet of a running hub, with `time` patched: sleeps in the hub (other greenlets run).
/// Anywhere else: never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the sleep early, and it returns as if it had slept the whole time (std
/// asserts on any other error); the interrupt stays pending: it is raised at the greenlet's next
/// Rust-side wait, or when its function returns.
///
/// # Safety
///
/// Always safe to call (as libc's `usleep`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn usleep(usec: libc::useconds_t) -> c_int {
    let ts = timespec {
        tv_sec: (usec / 1_000_000) as libc::time_t,
        tv_nsec: (usec % 1_000_000) as libc::c_long * 1000,
    };
    // SAFETY: a valid timespec; no remainder wanted.
    unsafe { nanosleep(&ts, std::ptr::null_mut()) }
}

/// `sleep(3)`: 0, or the seconds not slept when interrupted by a signal; `errno` untouched on
/// success.
///
/// # Switches
///
/// In a greenlet of a running hub, with `time` patched: sleeps in the hub (other greenlets run).
/// Anywhere else: never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the sleep early, and it returns as if it had slept the whole time (std
/// asserts on any other error); the interrupt stays pending: it is raised at the greenlet's next
/// Rust-side wait, or when its function returns.
///
/// # Safety
///
/// Always safe to call (as libc's `sleep`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sleep(seconds: c_uint) -> c_uint {
    let saved = sys::errno();
    let mut ts = timespec {
        tv_sec: seconds as libc::time_t,
        tv_nsec: 0,
    };
    let p: *mut timespec = &mut ts;
    // SAFETY: a valid timespec, read, then written with what is left.
    if unsafe { nanosleep(p, p) } < 0 {
        return ts.tv_sec as c_uint;
    }
    sys::set_errno(saved);
    0
}
