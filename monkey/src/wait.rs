//! Every wait a hook makes goes through this module, and nothing unwinds out of it.
//!
//! A hook is an `extern "C"` function, and C frames (libpq's, hiredis's) may sit between it and
//! the greenlet's Rust code: a panic leaving it aborts the process. So the waits here park with
//! [`gevent_hub::park_no_unwind`], which returns a kill or a `Timeout` that reaches the greenlet
//! as a value and keeps it pending: the wait reports [`Outcome::Interrupted`] with `ECANCELED`
//! (a kill) or `ETIMEDOUT` (a `Timeout`), and the hook returns that error (never `EINTR`, which
//! std and hiredis retry) or, for a sleep, returns early as if it had slept. The interrupt is
//! raised at the greenlet's next wait made from Rust, or when its function returns (a later
//! hook only fails again).
//!
//! # Fd waits: one registration per fd
//!
//! Fd waits go through the hub's reactor. Each thread caches one raw
//! [`Registration`](gevent_hub::reactor::Registration) per fd number (made on the fd's first
//! wait, kept across calls: no `dup`, no `epoll_ctl` per wait). The `close`, `dup2` and
//! `dup3` hooks look after the cache: on the thread that closes, they wake the fd's waiters
//! with `EBADF` (`cancel_wait`, which also takes the fd out of the poller while it is still
//! open) and drop its entry, before the real call; on every thread they bump the fd number's
//! *generation*, so that another thread's entry for that number is known to be stale at its
//! next use. A stale entry that was not cancelled (the fd was closed by another thread) is
//! not dropped then (deleting it from the poller by number could hit a new file that got the
//! number): it is kept aside until the thread exits. An fd closed where no hook sees it
//! (glibc's `fclose` of a socket's `FILE`, `close_range`, a raw system call) leaves an entry
//! that never reports readiness again for a new file with that number: don't close sockets
//! that greenlets use that way.
//!
//! When another greenlet already waits on the fd for the same direction (the reactor allows
//! one waiter per direction), the wait uses a one-off watch (a `dup` registered for that
//! wait) instead.
//!
//! A failure of the runtime itself (the poller refuses an fd, a panic) gives
//! [`Outcome::Unavailable`]: the hook then makes the blocking system call, which is what the
//! caller asked for.

use std::cell::RefCell;
use std::io;
use std::os::fd::RawFd;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use gevent_event::AsyncResult;
use gevent_hub::reactor::{Armed, Interest as Ready, Registration};
use gevent_hub::{park_no_unwind, InterruptKind, ParkError, Waitable};
use greenlet::Value;
use libc::{c_int, pollfd};

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
    /// `ETIMEDOUT`); the interrupt stays pending.
    Interrupted(c_int),
    /// The hub cannot wait for this (an fd the poller refuses, a runtime failure): make the
    /// blocking system call instead.
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

impl Interest {
    /// The reactor's interest.
    fn ready(self) -> Ready {
        match self {
            Interest::Read => Ready::READABLE,
            Interest::Write => Ready::WRITABLE,
        }
    }
}

/// How many fd numbers have a generation (and a cache slot); beyond, each wait registers the
/// fd for that wait only.
const SIZE: usize = 65536;

/// Per fd number: bumped by the `close`, `dup2` and `dup3` hooks of any thread.
static GENERATION: [AtomicU32; SIZE] = [const { AtomicU32::new(0) }; SIZE];

/// This thread's registrations, by fd number, with the generation they were made in.
struct Cache {
    /// Slot `fd`: the registration of `fd`, if any.
    regs: Vec<Option<(u32, Rc<Registration>)>>,
    /// Stale registrations of fds closed by other threads, dropped at thread exit.
    stale: Vec<Rc<Registration>>,
}

thread_local! {
    /// This thread's cache (touched only by hooks' slow paths on a thread with a running hub).
    static CACHE: RefCell<Cache> = const {
        RefCell::new(Cache {
            regs: Vec::new(),
            stale: Vec::new(),
        })
    };
}

/// The generation of `fd` (0 beyond the table).
#[inline]
fn generation(fd: RawFd) -> Option<&'static AtomicU32> {
    usize::try_from(fd).ok().and_then(|i| GENERATION.get(i))
}

/// Called by the `close`, `dup2` and `dup3` hooks before the fd number `fd` is closed or
/// replaced, on any thread: every thread's registration of it is stale from now on.
#[inline]
pub(crate) fn fd_closing(fd: RawFd) {
    if let Some(g) = generation(fd) {
        g.fetch_add(1, Ordering::Release);
    }
}

/// On a thread with a running hub, before the fd number `fd` is closed or replaced: wakes this
/// thread's waiters on it with `EBADF`, takes it out of the poller and drops its cached
/// registration.
pub(crate) fn cancel_fd(fd: RawFd) {
    let _ = panic::catch_unwind(|| {
        // SAFETY: the caller's fd, about to be closed by the caller (still open now; if it
        // is not open, the reactor has nothing under that number to cancel).
        gevent_hub::reactor::cancel_wait(unsafe { crate::sys::bfd(fd) });
        let old = CACHE.with(|c| {
            let mut c = c.borrow_mut();
            usize::try_from(fd)
                .ok()
                .and_then(|i| c.regs.get_mut(i))
                .and_then(Option::take)
        });
        // Cancelled: dropping it only releases memory.
        drop(old);
    });
}

/// The registration to wait on `fd` with (cached unless the fd is beyond the table).
fn registration(fd: RawFd) -> io::Result<Rc<Registration>> {
    let Some(g) = generation(fd) else {
        // SAFETY: the hook's caller keeps `fd` open for the call; this registration is
        // dropped when the wait ends (a close by another greenlet cancels it first).
        return unsafe { Registration::from_raw_fd(fd) }.map(Rc::new);
    };
    let i = fd as usize;
    let gen = g.load(Ordering::Acquire);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.regs.len() <= i {
            c.regs.resize_with(i + 1, || None);
        }
        if let Some((g0, reg)) = &c.regs[i] {
            if *g0 == gen && !reg.is_closed() {
                return Ok(reg.clone());
            }
        }
        if let Some((_, old)) = c.regs[i].take() {
            if !old.is_closed() {
                // Closed by another thread, not cancelled here: keep it out of the poller's
                // way until the thread exits.
                c.stale.push(old);
            }
        }
        // SAFETY: the fd is open now (the hook's caller uses it); the hooks cancel the
        // registration before this thread closes the fd, and never drop it before that
        // unless the thread exits (see the module docs for closes the hooks do not see).
        let reg = Rc::new(unsafe { Registration::from_raw_fd(fd) }?);
        c.regs[i] = Some((gen, reg.clone()));
        Ok(reg)
    })
}

/// The time left until `deadline` (`None`: no limit; a passed deadline gives zero).
fn left(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// Runs `f`, giving [`Outcome::Unavailable`] if the runtime panics (it should not: nothing
/// here raises kills).
fn guarded<T>(f: impl FnOnce() -> Result<T, Outcome>) -> Result<T, Outcome> {
    panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or(Err(Outcome::Unavailable))
}

/// The errno for an interrupt.
fn interrupted(e: ParkError) -> Outcome {
    match e {
        ParkError::TimedOut => Outcome::TimedOut,
        ParkError::Interrupted(InterruptKind::Timeout) => Outcome::Interrupted(libc::ETIMEDOUT),
        _ => Outcome::Interrupted(libc::ECANCELED),
    }
}

/// Parks until one of `regs` is ready for its interest, or `deadline` passes. `Err(i)`:
/// registration `i` already has a waiter for that direction (another greenlet's).
fn park_on(regs: &[(&Registration, Ready)], deadline: Option<Instant>) -> Result<Outcome, usize> {
    let t = left(deadline);
    if t == Some(Duration::ZERO) {
        return Ok(Outcome::TimedOut);
    }
    let mut armed: Vec<Armed<'_>> = Vec::with_capacity(regs.len());
    let r = park_no_unwind(t, |u| {
        for (reg, i) in regs {
            armed.push(reg.arm(*i, u.clone()));
        }
    });
    match r {
        Ok(v) => finish(armed, &v),
        Err(e) => Ok(interrupted(e)),
    }
}

/// What a wake with `v` means for the armed registrations.
fn finish(armed: Vec<Armed<'_>>, v: &Value) -> Result<Outcome, usize> {
    let mut out = Outcome::Ready;
    for (k, a) in armed.into_iter().enumerate() {
        match a.finish(v) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EBADF) => out = Outcome::Closed,
            Err(_) => return Err(k),
        }
    }
    Ok(out)
}

/// What an error making a registration means.
fn reg_error(e: &io::Error) -> Outcome {
    if e.raw_os_error() == Some(libc::EBADF) {
        Outcome::Closed
    } else {
        Outcome::Unavailable
    }
}

/// Waits until `fd`, on which the caller's non-blocking call just failed with `EAGAIN`, is
/// ready for `interest`, or `deadline` passes.
pub(crate) fn wait_fd(fd: RawFd, interest: Interest, deadline: Option<Instant>) -> Outcome {
    guarded(|| {
        let reg = registration(fd).map_err(|e| reg_error(&e))?;
        let i = interest.ready();
        // The call just said it would block.
        reg.clear_ready(i);
        match park_on(&[(&reg, i)], deadline) {
            Ok(o) => Ok(o),
            Err(_) => {
                // Another greenlet waits on this fd: a watch of our own for this wait.
                // SAFETY: the hook's caller keeps `fd` open for the call.
                let w = Registration::watch(unsafe { crate::sys::bfd(fd) })
                    .map_err(|e| reg_error(&e))?;
                park_on(&[(&w, i)], deadline).map_err(|_| Outcome::Unavailable)
            }
        }
    })
    .unwrap_or_else(|o| o)
}

/// Waits until `fd`, which the hook owns and closes itself without the `close` hook (a
/// pidfd), is readable: registered for this wait only.
pub(crate) fn wait_own_fd(fd: RawFd) -> Outcome {
    guarded(|| {
        // SAFETY: the hook keeps `fd` open until this registration is dropped (at the end of
        // this function).
        let reg = unsafe { Registration::from_raw_fd(fd) }.map_err(|e| reg_error(&e))?;
        park_on(&[(&reg, Ready::READABLE)], None).map_err(|_| Outcome::Unavailable)
    })
    .unwrap_or_else(|o| o)
}

/// Sleeps until `deadline` (`None`: until interrupted; zero or passed: yields once).
pub(crate) fn sleep_until(deadline: Option<Instant>) -> Outcome {
    guarded(|| match park_no_unwind(left(deadline), |_u| {}) {
        Ok(_) | Err(ParkError::TimedOut) => Ok(Outcome::Ready),
        Err(e) => Ok(interrupted(e)),
    })
    .unwrap_or_else(|o| o)
}

/// Zero-timeout `ppoll(2)` of `fds` (filling `revents`); `None` on an error (the caller then
/// makes the system call, which reports it).
fn poll_now(fds: &mut [pollfd]) -> Option<usize> {
    let mut zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    loop {
        // SAFETY: our caller's valid array, a timespec of ours, no mask.
        let n = unsafe {
            crate::sys::ppoll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                &mut zero,
                std::ptr::null(),
            )
        };
        if n >= 0 {
            return Some(n as usize);
        }
        if crate::sys::errno() != libc::EINTR {
            return None;
        }
    }
}

/// The reactor interest for poll `events`.
fn poll_interest(events: libc::c_short) -> Ready {
    let mut i = None;
    if events & (libc::POLLIN | libc::POLLPRI | libc::POLLRDNORM | libc::POLLRDBAND) != 0 {
        i = Some(Ready::READABLE);
    }
    if events & (libc::POLLOUT | libc::POLLWRNORM | libc::POLLWRBAND) != 0 {
        i = Some(i.map_or(Ready::WRITABLE, |r| r | Ready::WRITABLE));
    }
    // No event asked: only errors and hang-ups, which the poller reports as both.
    i.unwrap_or(Ready::READABLE)
}

/// `poll(2)` on the hub: a zero-timeout `ppoll` (the kernel's exact `revents`), then, if
/// nothing is ready, a wait on the fds' registrations and another round. Returns the count (0:
/// the deadline passed, `revents` all zero).
pub(crate) fn wait_poll(fds: &mut [pollfd], deadline: Option<Instant>) -> Result<usize, Outcome> {
    // Fds other greenlets wait on already: watched for each round instead.
    let mut busy: Vec<RawFd> = Vec::new();
    loop {
        let n = poll_now(fds).ok_or(Outcome::Unavailable)?;
        if n > 0 {
            return Ok(n);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(0);
        }
        // One entry per fd (an fd may be listed twice; a direction takes one waiter).
        let mut want: Vec<(RawFd, Ready)> = Vec::with_capacity(fds.len());
        for p in fds.iter().filter(|p| p.fd >= 0) {
            let i = poll_interest(p.events);
            match want.iter_mut().find(|(fd, _)| *fd == p.fd) {
                Some((_, w)) => *w = *w | i,
                None => want.push((p.fd, i)),
            }
        }
        let o = guarded(|| {
            let mut regs: Vec<Rc<Registration>> = Vec::with_capacity(want.len());
            for &(fd, i) in &want {
                let r = if busy.contains(&fd) {
                    // SAFETY: the caller keeps its fds open for the call.
                    Registration::watch(unsafe { crate::sys::bfd(fd) }).map(Rc::new)
                } else {
                    registration(fd)
                };
                match r {
                    Ok(r) => {
                        // The ppoll above said it is not ready.
                        r.clear_ready(i);
                        regs.push(r);
                    }
                    // Closed meanwhile: the next round reports it (`POLLNVAL`).
                    Err(e) if e.raw_os_error() == Some(libc::EBADF) => return Ok(Outcome::Closed),
                    Err(_) => return Err(Outcome::Unavailable),
                }
            }
            let pairs: Vec<(&Registration, Ready)> = regs
                .iter()
                .zip(&want)
                .map(|(r, &(_, i))| (&**r, i))
                .collect();
            match park_on(&pairs, deadline) {
                Ok(o) => Ok(o),
                Err(k) => {
                    busy.push(want[k].0);
                    Ok(Outcome::Closed)
                }
            }
        })?;
        match o {
            Outcome::Ready | Outcome::Closed => {}
            Outcome::TimedOut => {
                for p in fds.iter_mut() {
                    p.revents = 0;
                }
                return Ok(0);
            }
            o => return Err(o),
        }
    }
}

/// Waits until a job on the thread pool is done (abandoned if the wait is interrupted: the
/// worker finishes it and its result is dropped with the last handle).
pub(crate) fn wait_job<T: 'static>(job: &AsyncResult<T>) -> Result<(), Outcome> {
    guarded(|| {
        while !job.ready() {
            let mut key = None;
            let r = park_no_unwind(None, |u| {
                key = Some(job.add_waiter(Rc::new(move || {
                    u.wake(Value::empty());
                })));
            });
            if let Some(k) = key {
                job.remove_waiter(k);
            }
            if let Err(e) = r {
                return Err(interrupted(e));
            }
        }
        if job.successful() {
            Ok(())
        } else {
            Err(Outcome::Unavailable)
        }
    })
}
