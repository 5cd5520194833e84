//! Every wait a hook makes goes through this module, and nothing unwinds out of it.
//!
//! A hook is an `extern "C"` function, and C frames (libpq's, hiredis's) may sit between it and
//! the greenlet's Rust code: a panic leaving it aborts the process. Kills and timeouts are
//! delivered as panics at the hub's waits, so each wait here runs under `catch_unwind`. A
//! caught kill or `Timeout` is put back as the greenlet's pending payload
//! ([`gevent_hub::throw_into`] on the running greenlet defers it to its next wait) and the wait
//! reports [`Outcome::Interrupted`] with `ECANCELED` (a kill, any other payload) or
//! `ETIMEDOUT` (a `Timeout`): the hook returns that error (never `EINTR`, which std and hiredis
//! retry), or, for a sleep, returns early as if it had slept. The payload is raised at the
//! greenlet's next wait made from Rust (a later hook only fails again).
//!
//! `LoopExit` (nothing else could ever run on this thread) and a panic of the runtime itself
//! give [`Outcome::Unavailable`]: the hook then makes the blocking system call, which is what
//! the caller asked for and cannot hang anything else.
//!
//! These functions are built on the hub's public API as it stands (`wait_read`/`wait_write`,
//! which register the fd for each wait; `sleep`; `select::poll`; a thread-pool job's `join`).
//! A reactor with cached per-fd registrations and a park that returns kills as values can
//! replace their bodies without touching a hook.

use std::any::Any;
use std::io;
use std::os::fd::RawFd;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use gevent_hub::select::PollFd;
use gevent_hub::threadpool::ThreadResult;
use libc::c_int;

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The fd is ready (or the time is up, for a sleep).
    Ready,
    /// The deadline passed first.
    TimedOut,
    /// The fd was closed (or `cancel_wait`ed) by another greenlet: `EBADF`.
    Closed,
    /// A kill or timeout reached the greenlet: fail with this errno (`ECANCELED`,
    /// `ETIMEDOUT`); the payload stays pending.
    Interrupted(c_int),
    /// The hub cannot wait for this (an fd the poller refuses, nothing else alive, a runtime
    /// failure): make the blocking system call instead.
    Unavailable,
}

/// Which readiness to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interest {
    /// Readable (or hung up, or failed).
    Read,
    /// Writable (or failed).
    Write,
}

/// The time left until `deadline` (`None`: no limit; a passed deadline gives zero).
fn left(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// Runs `f`, one of the hub's waits, catching what unwinds out of it.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, Outcome> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => Ok(v),
        Err(p) => Err(caught(p)),
    }
}

/// What a caught payload means; kills and timeouts are put back as pending.
#[cold]
fn caught(p: Box<dyn Any + Send>) -> Outcome {
    if p.is::<gevent_hub::LoopExit>() || p.is::<&'static str>() || p.is::<String>() {
        // Nothing else can run (LoopExit), or the runtime itself failed (a panic message):
        // block in the kernel instead.
        return Outcome::Unavailable;
    }
    let errno = if p.is::<gevent_timeout::Timeout>() {
        libc::ETIMEDOUT
    } else {
        libc::ECANCELED
    };
    let me = greenlet::getcurrent().to_greenlet();
    gevent_hub::throw_into(&me, p);
    Outcome::Interrupted(errno)
}

/// What an `io::Error` of the hub's fd waits means.
fn io_outcome(e: &io::Error) -> Outcome {
    if e.kind() == io::ErrorKind::TimedOut {
        Outcome::TimedOut
    } else if e.raw_os_error() == Some(libc::EBADF) {
        Outcome::Closed
    } else {
        Outcome::Unavailable
    }
}

/// Waits until `fd` is ready for `interest`, or `deadline` passes.
pub(crate) fn wait_fd(fd: RawFd, interest: Interest, deadline: Option<Instant>) -> Outcome {
    let r = guarded(|| {
        let t = left(deadline);
        if t == Some(Duration::ZERO) {
            return Err(io::Error::from(io::ErrorKind::TimedOut));
        }
        match interest {
            Interest::Read => gevent_hub::wait_read(fd, t),
            Interest::Write => gevent_hub::wait_write(fd, t),
        }
    });
    match r {
        Ok(Ok(())) => Outcome::Ready,
        Ok(Err(e)) => io_outcome(&e),
        Err(o) => o,
    }
}

/// Sleeps until `deadline` (`None`: until killed; zero or passed: yields once).
pub(crate) fn sleep_until(deadline: Option<Instant>) -> Outcome {
    let r = guarded(|| match left(deadline) {
        Some(d) => gevent_hub::sleep(d),
        None => {
            gevent_hub::park(std::mem::forget);
        }
    });
    match r {
        Ok(()) => Outcome::Ready,
        Err(o) => o,
    }
}

/// `poll(2)` on the hub: fills `revents`, returns how many entries have events (0: the
/// deadline passed).
pub(crate) fn wait_poll(fds: &mut [PollFd], deadline: Option<Instant>) -> Result<usize, Outcome> {
    let r = guarded(|| gevent_hub::select::poll(fds, left(deadline)));
    match r {
        Ok(Ok(n)) => Ok(n),
        Ok(Err(e)) => Err(io_outcome(&e)),
        Err(o) => Err(o),
    }
}

/// Waits for a job on the thread pool (abandoned if the wait is interrupted: the worker
/// finishes it and drops its result).
pub(crate) fn wait_job<T>(job: ThreadResult<T>) -> Result<T, Outcome> {
    match guarded(move || job.join()) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err(Outcome::Unavailable),
        Err(o) => Err(o),
    }
}
