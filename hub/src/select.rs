//! Waiting on several file descriptors at once (gevent's `gevent.select`): [`select()`],
//! [`poll()`] (the `poll(2)` shape) and [`Poll`] (Python's `select.poll` object).
//!
//! # Implementation
//!
//! A call first asks the kernel with a zero-timeout `ppoll(2)` (a direct system call): if any
//! fd is ready, or the timeout is zero, that is the answer, without switching. Otherwise each fd
//! gets a temporary registration with the hub's poller (a `dup` of it if an
//! [`IoSource`](crate::IoSource) already registered it, so a socket another greenlet reads can
//! be selected on too), the greenlet parks until the first of them reports readiness or the
//! timeout passes, and a second zero-timeout `ppoll(2)` collects everything ready at that
//! moment. The registrations are removed however the wait ends.
//!
//! As in gevent, the "exceptional" list of `select` is only checked, never waited for.
//!
//! # Examples
//!
//! ```
//! use std::{io::Write, os::fd::AsRawFd, os::unix::net::UnixStream, time::Duration};
//! use gevent_hub::select::select;
//!
//! let (a, mut b) = UnixStream::pair().unwrap();
//! let fd = a.as_raw_fd();
//! let (r, w, _) = select(&[fd], &[], &[], Some(Duration::from_millis(10))).unwrap();
//! assert!(r.is_empty() && w.is_empty()); // timed out
//! gevent_hub::spawn(move || b.write_all(b"x").unwrap());
//! let (r, _, _) = select(&[fd], &[], &[], None).unwrap(); // switches until readable
//! assert_eq!(r, [fd]);
//! ```

use std::collections::BTreeMap;
use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use greenlet::Value;

use crate::io::{closed_error, is_closed_value, ppoll, TempReg, READABLE, WRITABLE};
use crate::park::park_timeout;

/// Data to read (`poll(2)`'s flag).
///
/// # Examples
///
/// ```
/// use gevent_hub::select::{PollFd, POLLIN, POLLPRI};
/// let p = PollFd::new(0, POLLIN | POLLPRI);
/// assert_eq!(p.events & POLLIN, POLLIN);
/// ```
pub const POLLIN: i16 = libc::POLLIN;
/// Urgent data to read.
///
/// # Examples
///
/// ```
/// use gevent_hub::select::{Poll, POLLIN, POLLPRI};
/// let mut p = Poll::new();
/// p.register(0, POLLIN | POLLPRI);
/// ```
pub const POLLPRI: i16 = libc::POLLPRI;
/// Writing will not block.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use gevent_hub::select::{poll, PollFd, POLLOUT};
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let mut fds = [PollFd::new(a.as_raw_fd(), POLLOUT)];
/// assert_eq!(poll(&mut fds, None).unwrap(), 1);
/// assert_eq!(fds[0].revents, POLLOUT);
/// ```
pub const POLLOUT: i16 = libc::POLLOUT;
/// An error (reported, never asked for).
///
/// # Examples
///
/// ```
/// use gevent_hub::select::{PollFd, POLLERR, POLLHUP};
/// let p = PollFd::new(0, 0);
/// assert_eq!(p.revents & (POLLERR | POLLHUP), 0);
/// ```
pub const POLLERR: i16 = libc::POLLERR;
/// Hang-up (reported, never asked for).
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use gevent_hub::select::{poll, PollFd, POLLHUP, POLLIN};
/// let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
/// drop(b);
/// let mut fds = [PollFd::new(a.as_raw_fd(), POLLIN)];
/// poll(&mut fds, None).unwrap();
/// assert!(fds[0].revents & POLLHUP != 0);
/// ```
pub const POLLHUP: i16 = libc::POLLHUP;
/// The fd is not open (reported, never asked for).
///
/// # Examples
///
/// ```
/// use gevent_hub::select::{poll, PollFd, POLLIN, POLLNVAL};
/// let mut fds = [PollFd::new(1_000_000, POLLIN)]; // not an open fd
/// assert_eq!(poll(&mut fds, Some(std::time::Duration::ZERO)).unwrap(), 1);
/// assert_eq!(fds[0].revents, POLLNVAL);
/// ```
pub const POLLNVAL: i16 = libc::POLLNVAL;

/// One entry of [`poll()`]: an fd, the events asked for, the events reported.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use gevent_hub::select::{poll, PollFd, POLLIN, POLLOUT};
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let mut fds = [PollFd::new(a.as_raw_fd(), POLLIN | POLLOUT)];
/// poll(&mut fds, None).unwrap();
/// assert_eq!(fds[0].revents, POLLOUT);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollFd {
    /// The fd; a negative one is ignored (its `revents` stays 0), as in `poll(2)`.
    pub fd: RawFd,
    /// The events asked for ([`POLLIN`] | [`POLLOUT`] | [`POLLPRI`]).
    pub events: i16,
    /// The events reported by the last [`poll()`].
    pub revents: i16,
}

impl PollFd {
    /// An entry asking for `events` on `fd`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::select::{PollFd, POLLIN};
    /// let p = PollFd::new(0, POLLIN);
    /// assert_eq!(p.revents, 0);
    /// ```
    pub fn new(fd: RawFd, events: i16) -> PollFd {
        PollFd {
            fd,
            events,
            revents: 0,
        }
    }
}

/// Python's `select.select(rlist, wlist, xlist, timeout)` (gevent's cooperative version):
/// waits until some fd of `rlist` is readable or some fd of `wlist` is writable, or `timeout`
/// passes (`None`: no limit; `Some(ZERO)`: just look), and returns the ready subsets. Fds of
/// `xlist` are reported when they have urgent data at that moment, but not waited for.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let (r, w, x) = gevent_hub::select::select(&[a.as_raw_fd()], &[a.as_raw_fd()], &[], None).unwrap();
/// assert_eq!((r.len(), w.len(), x.len()), (0, 1, 0)); // writable at once, nothing to read
/// ```
///
/// # Errors
///
/// `EBADF` for an fd that is not open (or that is closed through its socket while waiting);
/// the poller's error for an fd it cannot watch.
///
/// # Switches
///
/// Yes, unless something is ready at once or `timeout` is zero. With no fds at all it sleeps
/// for `timeout`.
///
/// # Kill safety
///
/// The temporary registrations are removed however the wait ends.
#[allow(clippy::type_complexity)]
pub fn select(
    rlist: &[RawFd],
    wlist: &[RawFd],
    xlist: &[RawFd],
    timeout: Option<Duration>,
) -> io::Result<(Vec<RawFd>, Vec<RawFd>, Vec<RawFd>)> {
    let mut want: BTreeMap<RawFd, i16> = BTreeMap::new();
    for (list, ev) in [(rlist, POLLIN), (wlist, POLLOUT), (xlist, POLLPRI)] {
        for &fd in list {
            if fd < 0 {
                return Err(closed_error());
            }
            *want.entry(fd).or_insert(0) |= ev;
        }
    }
    let mut fds: Vec<PollFd> = want.iter().map(|(&fd, &ev)| PollFd::new(fd, ev)).collect();
    poll_inner(&mut fds, timeout, Mode::Select)?;
    let has = |fd: RawFd, flags: i16| {
        fds.iter()
            .find(|p| p.fd == fd)
            .is_some_and(|p| p.revents & flags != 0)
    };
    let bad = POLLERR | POLLHUP;
    let r = rlist
        .iter()
        .copied()
        .filter(|&fd| has(fd, POLLIN | bad))
        .collect();
    let w = wlist
        .iter()
        .copied()
        .filter(|&fd| has(fd, POLLOUT | bad))
        .collect();
    let x = xlist
        .iter()
        .copied()
        .filter(|&fd| has(fd, POLLPRI))
        .collect();
    Ok((r, w, x))
}

/// `poll(2)`, cooperatively: waits until some entry of `fds` has one of its `events` (or an
/// error or hang-up), or `timeout` passes (`None`: no limit), fills every `revents`, and
/// returns how many entries have events (0: timed out).
///
/// # Examples
///
/// ```
/// use std::{io::Write, os::fd::AsRawFd, os::unix::net::UnixStream};
/// use gevent_hub::select::{poll, PollFd, POLLIN};
/// let (a, mut b) = UnixStream::pair().unwrap();
/// let mut fds = [PollFd::new(a.as_raw_fd(), POLLIN)];
/// gevent_hub::spawn(move || b.write_all(b"x").unwrap());
/// assert_eq!(poll(&mut fds, None).unwrap(), 1);
/// assert!(fds[0].revents & POLLIN != 0); // (and POLLHUP once the writer is gone)
/// ```
///
/// # Errors
///
/// `EBADF` if an fd is closed through its socket while waiting; the poller's error for an fd
/// it cannot watch. (An fd that is not open is reported with [`POLLNVAL`], as `poll(2)` does.)
///
/// # Switches
///
/// Yes, unless something is ready at once or `timeout` is zero.
///
/// # Kill safety
///
/// The temporary registrations are removed however the wait ends.
pub fn poll(fds: &mut [PollFd], timeout: Option<Duration>) -> io::Result<usize> {
    poll_inner(fds, timeout, Mode::Poll)
}

/// Which API runs [`poll_inner`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `select`: `POLLNVAL` is an `EBADF` error, and `POLLPRI` is only checked, not waited for.
    Select,
    /// `poll`: `POLLNVAL` is reported, `POLLPRI` waited for.
    Poll,
}

/// The engine of `select` and `poll`.
fn poll_inner(fds: &mut [PollFd], timeout: Option<Duration>, mode: Mode) -> io::Result<usize> {
    let deadline = timeout.and_then(|d| Instant::now().checked_add(d));
    loop {
        let n = poll_now(fds)?;
        if mode == Mode::Select && fds.iter().any(|p| p.revents & POLLNVAL != 0) {
            return Err(closed_error());
        }
        if n > 0 || timeout == Some(Duration::ZERO) {
            return Ok(n);
        }
        let left = match (timeout, deadline) {
            (None, _) => None,
            (Some(_), None) => None,
            (Some(_), Some(d)) => {
                let now = Instant::now();
                if now >= d {
                    return Ok(0);
                }
                Some(d - now)
            }
        };
        if !wait_any(fds, left, mode)? {
            // Timed out: one last look, as the kernel may have something now.
            return poll_now(fds);
        }
    }
}

/// One zero-timeout `ppoll(2)` over `fds`, filling `revents`.
fn poll_now(fds: &mut [PollFd]) -> io::Result<usize> {
    let mut raw: Vec<libc::pollfd> = fds
        .iter()
        .map(|p| libc::pollfd {
            fd: p.fd,
            events: p.events,
            revents: 0,
        })
        .collect();
    let n = ppoll(&mut raw, Some(Duration::ZERO))?;
    for (p, r) in fds.iter_mut().zip(&raw) {
        p.revents = r.revents;
    }
    Ok(n)
}

/// Parks until one of `fds` reports an event it asks for, or `timeout`; `Ok(false)` on
/// timeout.
fn wait_any(fds: &[PollFd], timeout: Option<Duration>, mode: Mode) -> io::Result<bool> {
    let read = match mode {
        Mode::Select => POLLIN,
        Mode::Poll => POLLIN | POLLPRI,
    };
    let mut regs: Vec<(TempReg, u8)> = Vec::with_capacity(fds.len());
    for p in fds {
        let mut bits = 0;
        if p.events & read != 0 {
            bits |= READABLE;
        }
        if p.events & POLLOUT != 0 {
            bits |= WRITABLE;
        }
        if p.fd >= 0 && bits != 0 {
            regs.push((TempReg::new(p.fd)?, bits));
        }
    }
    if regs.is_empty() {
        // Nothing can become ready: just wait out the timeout (`None`: until killed).
        match timeout {
            Some(d) => crate::sleep(d),
            None => {
                crate::park::park(drop);
            }
        }
        return Ok(false);
    }
    let _cleanup = RemoveWaiters(&regs);
    let r = park_timeout(timeout, |u| {
        for (reg, bits) in &regs {
            if !reg.add_waiter(*bits, &u) {
                u.wake(Value::empty());
            }
        }
    });
    match r {
        Ok(v) if is_closed_value(&v) => Err(closed_error()),
        Ok(_) => Ok(true),
        Err(_) => Ok(false),
    }
}

/// Removes the waiters of a multi-fd park on scope exit.
struct RemoveWaiters<'a>(&'a [(TempReg, u8)]);

impl Drop for RemoveWaiters<'_> {
    fn drop(&mut self) {
        for (reg, _) in self.0 {
            reg.remove_waiters();
        }
    }
}

/// Python's `select.poll()` object (gevent's cooperative `poll`): a set of fds with event
/// masks, and [`poll`](Poll::poll) to wait on them.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use gevent_hub::select::{Poll, POLLIN, POLLOUT};
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let mut p = Poll::new();
/// p.register(a.as_raw_fd(), POLLIN | POLLOUT);
/// assert_eq!(p.poll(None).unwrap(), [(a.as_raw_fd(), POLLOUT)]);
/// p.unregister(a.as_raw_fd()).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct Poll {
    /// Registered fds and their masks, in fd order.
    fds: BTreeMap<RawFd, i16>,
}

impl Poll {
    /// An empty set.
    ///
    /// # Examples
    ///
    /// ```
    /// let p = gevent_hub::select::Poll::new();
    /// assert!(p.poll(Some(std::time::Duration::ZERO)).unwrap().is_empty());
    /// ```
    pub fn new() -> Poll {
        Poll::default()
    }

    /// Adds `fd` with `eventmask` (or replaces its mask), like Python's `register`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use gevent_hub::select::{Poll, POLLOUT};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let mut p = Poll::new();
    /// p.register(a.as_raw_fd(), POLLOUT);
    /// assert_eq!(p.poll(None).unwrap(), [(a.as_raw_fd(), POLLOUT)]);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn register(&mut self, fd: RawFd, eventmask: i16) {
        self.fds.insert(fd, eventmask);
    }

    /// Changes the mask of a registered `fd`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use gevent_hub::select::{Poll, POLLIN, POLLOUT};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let mut p = Poll::new();
    /// p.register(a.as_raw_fd(), POLLOUT);
    /// p.modify(a.as_raw_fd(), POLLIN).unwrap();
    /// assert!(p.poll(Some(std::time::Duration::from_millis(1))).unwrap().is_empty());
    /// ```
    ///
    /// # Errors
    ///
    /// `NotFound` if `fd` is not registered (Python raises `FileNotFoundError`).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn modify(&mut self, fd: RawFd, eventmask: i16) -> io::Result<()> {
        match self.fds.get_mut(&fd) {
            Some(m) => {
                *m = eventmask;
                Ok(())
            }
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "the fd is not registered",
            )),
        }
    }

    /// Removes `fd`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::select::{Poll, POLLIN};
    /// let mut p = Poll::new();
    /// p.register(5, POLLIN);
    /// p.unregister(5).unwrap();
    /// assert!(p.unregister(5).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// `NotFound` if it is not registered (Python raises `KeyError`).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn unregister(&mut self, fd: RawFd) -> io::Result<()> {
        self.fds
            .remove(&fd)
            .map(drop)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the fd is not registered"))
    }

    /// Waits (switching) until some registered fd has events, or `timeout`; returns the
    /// `(fd, revents)` pairs that have any (empty on timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{io::Write, os::fd::AsRawFd};
    /// use gevent_hub::select::{Poll, POLLIN};
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let mut p = Poll::new();
    /// p.register(a.as_raw_fd(), POLLIN);
    /// gevent_hub::spawn(move || b.write_all(b"x").unwrap());
    /// let ready = p.poll(None).unwrap(); // switches until the greenlet has written
    /// assert_eq!(ready[0].0, a.as_raw_fd());
    /// ```
    ///
    /// # Errors
    ///
    /// As [`poll()`].
    ///
    /// # Switches
    ///
    /// Yes, unless something is ready at once or `timeout` is zero.
    ///
    /// # Kill safety
    ///
    /// The temporary registrations are removed however the wait ends.
    pub fn poll(&self, timeout: Option<Duration>) -> io::Result<Vec<(RawFd, i16)>> {
        let mut fds: Vec<PollFd> = self
            .fds
            .iter()
            .map(|(&fd, &ev)| PollFd::new(fd, ev))
            .collect();
        poll(&mut fds, timeout)?;
        Ok(fds
            .iter()
            .filter(|p| p.revents != 0)
            .map(|p| (p.fd, p.revents))
            .collect())
    }
}
