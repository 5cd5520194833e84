//! Waiting on several file descriptors at once (gevent's `gevent.select`): [`select()`],
//! [`poll()`] (the `poll(2)` shape) and [`Poll`] (Python's `select.poll` object). Every fd is
//! borrowed ([`BorrowedFd`]): it cannot be closed while a call waits on it.
//!
//! # Implementation
//!
//! A call first asks the kernel with a zero-timeout `ppoll(2)` (a direct system call): if any
//! fd is ready, or the timeout is zero, that is the answer, without switching. Otherwise each fd
//! gets a temporary watch with the hub's reactor
//! ([`Registration::watch`](gevent_hub::reactor::Registration::watch): a `dup` of the fd, so a
//! socket another greenlet reads can be selected on too, and nothing done to the original
//! number can disturb another registration), the greenlet parks until the first of them
//! reports readiness or the timeout passes, and a second zero-timeout `ppoll(2)` collects
//! everything ready at that moment. The watches are removed however the wait ends.
//!
//! As in gevent, the "exceptional" list of `select` is only checked, never waited for.
//!
//! # Examples
//!
//! ```
//! use std::{io::Write, os::fd::{AsFd, AsRawFd}, os::unix::net::UnixStream, time::Duration};
//! use gevent_net::select::select;
//!
//! let (a, mut b) = UnixStream::pair().unwrap();
//! let (r, w, _) = select(&[a.as_fd()], &[], &[], Some(Duration::from_millis(10))).unwrap();
//! assert!(r.is_empty() && w.is_empty()); // timed out
//! gevent_hub::spawn(move || b.write_all(b"x").unwrap());
//! let (r, _, _) = select(&[a.as_fd()], &[], &[], None).unwrap(); // switches until readable
//! assert_eq!(r[0].as_raw_fd(), a.as_raw_fd());
//! ```

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use gevent_hub::reactor::{Armed, Interest, Registration};
use rustix::event::PollFlags;

use crate::sock::closed_error;

/// Data to read (`poll(2)`'s flag).
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// use gevent_net::select::{PollFd, POLLIN, POLLPRI};
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let p = PollFd::new(a.as_fd(), POLLIN | POLLPRI);
/// assert_eq!(p.events & POLLIN, POLLIN);
/// ```
pub const POLLIN: i16 = libc::POLLIN;
/// Urgent data to read.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// use gevent_net::select::{Poll, POLLIN, POLLPRI};
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let mut p = Poll::new();
/// p.register(a.as_fd(), POLLIN | POLLPRI);
/// ```
pub const POLLPRI: i16 = libc::POLLPRI;
/// Writing will not block.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// use gevent_net::select::{poll, PollFd, POLLOUT};
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let mut fds = [PollFd::new(a.as_fd(), POLLOUT)];
/// assert_eq!(poll(&mut fds, None).unwrap(), 1);
/// assert_eq!(fds[0].revents, POLLOUT);
/// ```
pub const POLLOUT: i16 = libc::POLLOUT;
/// An error (reported, never asked for).
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// use gevent_net::select::{PollFd, POLLERR, POLLHUP};
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let p = PollFd::new(a.as_fd(), 0);
/// assert_eq!(p.revents & (POLLERR | POLLHUP), 0);
/// ```
pub const POLLERR: i16 = libc::POLLERR;
/// Hang-up (reported, never asked for).
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// use gevent_net::select::{poll, PollFd, POLLHUP, POLLIN};
/// let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
/// drop(b);
/// let mut fds = [PollFd::new(a.as_fd(), POLLIN)];
/// poll(&mut fds, None).unwrap();
/// assert!(fds[0].revents & POLLHUP != 0);
/// ```
pub const POLLHUP: i16 = libc::POLLHUP;
/// The fd is not open (reported, never asked for). A [`BorrowedFd`] is open, so this shows
/// only when code outside Rust's ownership rules (`unsafe`, a C library) closed the number.
///
/// # Examples
///
/// ```
/// use gevent_net::select::{PollFd, POLLNVAL};
/// # let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// # let p = PollFd::new(std::os::fd::AsFd::as_fd(&a), 0);
/// assert_eq!(p.revents & POLLNVAL, 0);
/// ```
pub const POLLNVAL: i16 = libc::POLLNVAL;

/// One entry of [`poll()`]: an fd, the events asked for, the events reported.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// use gevent_net::select::{poll, PollFd, POLLIN, POLLOUT};
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let mut fds = [PollFd::new(a.as_fd(), POLLIN | POLLOUT)];
/// poll(&mut fds, None).unwrap();
/// assert_eq!(fds[0].revents, POLLOUT);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct PollFd<'fd> {
    /// The fd.
    pub fd: BorrowedFd<'fd>,
    /// The events asked for ([`POLLIN`] | [`POLLOUT`] | [`POLLPRI`]); 0: only errors and
    /// hang-ups are reported, and the entry is not waited on.
    pub events: i16,
    /// The events reported by the last [`poll()`].
    pub revents: i16,
}

impl<'fd> PollFd<'fd> {
    /// An entry asking for `events` on `fd`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsFd;
    /// use gevent_net::select::{PollFd, POLLIN};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let p = PollFd::new(a.as_fd(), POLLIN);
    /// assert_eq!(p.revents, 0);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new(fd: BorrowedFd<'fd>, events: i16) -> PollFd<'fd> {
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
/// use std::os::fd::AsFd;
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let (r, w, x) = gevent_net::select::select(&[a.as_fd()], &[a.as_fd()], &[], None).unwrap();
/// assert_eq!((r.len(), w.len(), x.len()), (0, 1, 0)); // writable at once, nothing to read
/// ```
///
/// # Errors
///
/// `EBADF` if an fd is closed through its socket while waiting (or its number was closed by
/// foreign code); `dup`'s or the poller's error for an fd it cannot watch.
///
/// # Switches
///
/// Yes, unless something is ready at once or `timeout` is zero. With no fds at all it sleeps
/// for `timeout`.
///
/// # Kill safety
///
/// The temporary watches are removed however the wait ends.
#[allow(clippy::type_complexity)]
pub fn select<'fd>(
    rlist: &[BorrowedFd<'fd>],
    wlist: &[BorrowedFd<'fd>],
    xlist: &[BorrowedFd<'fd>],
    timeout: Option<Duration>,
) -> io::Result<(
    Vec<BorrowedFd<'fd>>,
    Vec<BorrowedFd<'fd>>,
    Vec<BorrowedFd<'fd>>,
)> {
    let mut want: BTreeMap<RawFd, PollFd<'fd>> = BTreeMap::new();
    for (list, ev) in [(rlist, POLLIN), (wlist, POLLOUT), (xlist, POLLPRI)] {
        for &fd in list {
            want.entry(fd.as_raw_fd())
                .or_insert_with(|| PollFd::new(fd, 0))
                .events |= ev;
        }
    }
    let mut fds: Vec<PollFd<'fd>> = want.into_values().collect();
    poll_inner(&mut fds, timeout, Mode::Select)?;
    let has = |fd: BorrowedFd<'_>, flags: i16| {
        fds.iter()
            .find(|p| p.fd.as_raw_fd() == fd.as_raw_fd())
            .is_some_and(|p| p.revents & flags != 0)
    };
    let bad = POLLERR | POLLHUP;
    let pick = |list: &[BorrowedFd<'fd>], flags: i16| -> Vec<BorrowedFd<'fd>> {
        list.iter().copied().filter(|&fd| has(fd, flags)).collect()
    };
    Ok((
        pick(rlist, POLLIN | bad),
        pick(wlist, POLLOUT | bad),
        pick(xlist, POLLPRI),
    ))
}

/// `poll(2)`, cooperatively: waits until some entry of `fds` has one of its `events` (or an
/// error or hang-up), or `timeout` passes (`None`: no limit), fills every `revents`, and
/// returns how many entries have events (0: timed out).
///
/// # Examples
///
/// ```
/// use std::{io::Write, os::fd::AsFd, os::unix::net::UnixStream};
/// use gevent_net::select::{poll, PollFd, POLLIN};
/// let (a, mut b) = UnixStream::pair().unwrap();
/// let mut fds = [PollFd::new(a.as_fd(), POLLIN)];
/// gevent_hub::spawn(move || b.write_all(b"x").unwrap());
/// assert_eq!(poll(&mut fds, None).unwrap(), 1);
/// assert!(fds[0].revents & POLLIN != 0); // (and POLLHUP once the writer is gone)
/// ```
///
/// # Errors
///
/// `EBADF` if an fd is closed through its socket while waiting; `dup`'s or the poller's
/// error for an fd it cannot watch. (An fd number that foreign code closed is reported with
/// [`POLLNVAL`], as `poll(2)` does.)
///
/// # Switches
///
/// Yes, unless something is ready at once or `timeout` is zero.
///
/// # Kill safety
///
/// The temporary watches are removed however the wait ends.
pub fn poll(fds: &mut [PollFd<'_>], timeout: Option<Duration>) -> io::Result<usize> {
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
fn poll_inner(fds: &mut [PollFd<'_>], timeout: Option<Duration>, mode: Mode) -> io::Result<usize> {
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
            (None, _) | (Some(_), None) => None,
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

/// One zero-timeout `ppoll(2)` over `fds` (a direct system call), filling `revents`.
fn poll_now(fds: &mut [PollFd<'_>]) -> io::Result<usize> {
    let mut raw: Vec<rustix::event::PollFd<'_>> = fds
        .iter()
        .map(|p| {
            let flags = PollFlags::from_bits_truncate(p.events as u16);
            rustix::event::PollFd::from_borrowed_fd(p.fd, flags)
        })
        .collect();
    let zero = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let n = loop {
        match rustix::event::poll(&mut raw, Some(&zero)) {
            Err(rustix::io::Errno::INTR) => continue,
            r => break r?,
        }
    };
    for (p, r) in fds.iter_mut().zip(&raw) {
        p.revents = r.revents().bits() as i16;
    }
    Ok(n)
}

/// Parks until one of `fds` reports an event it asks for, or `timeout`; `Ok(false)` on
/// timeout.
fn wait_any(fds: &[PollFd<'_>], timeout: Option<Duration>, mode: Mode) -> io::Result<bool> {
    let read = match mode {
        Mode::Select => POLLIN,
        Mode::Poll => POLLIN | POLLPRI,
    };
    let mut regs: Vec<(Registration, Interest)> = Vec::with_capacity(fds.len());
    for p in fds {
        let mut interest = Interest::NONE;
        if p.events & read != 0 {
            interest = interest | Interest::READABLE;
        }
        if p.events & POLLOUT != 0 {
            interest = interest | Interest::WRITABLE;
        }
        if interest != Interest::NONE {
            regs.push((Registration::watch(p.fd)?, interest));
        }
    }
    if regs.is_empty() {
        // Nothing can become ready: just wait out the timeout (`None`: until killed).
        match timeout {
            Some(d) => gevent_hub::sleep(d),
            None => {
                gevent_hub::park(drop);
            }
        }
        return Ok(false);
    }
    let mut armed: Vec<Armed<'_>> = Vec::with_capacity(regs.len());
    let r = gevent_hub::park_timeout(timeout, |u| {
        for (reg, interest) in &regs {
            armed.push(reg.arm(*interest, u.clone()));
        }
    });
    match r {
        Ok(v) => {
            for a in armed {
                a.finish(&v)?;
            }
            Ok(true)
        }
        Err(_) => Ok(false),
    }
}

/// Python's `select.poll()` object (gevent's cooperative `poll`): a set of borrowed fds with
/// event masks, and [`poll`](Poll::poll) to wait on them.
///
/// # Examples
///
/// ```
/// use std::os::fd::{AsFd, AsRawFd};
/// use gevent_net::select::{Poll, POLLIN, POLLOUT};
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let mut p = Poll::new();
/// p.register(a.as_fd(), POLLIN | POLLOUT);
/// let ready = p.poll(None).unwrap();
/// assert_eq!((ready[0].0.as_raw_fd(), ready[0].1), (a.as_raw_fd(), POLLOUT));
/// p.unregister(a.as_fd()).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct Poll<'fd> {
    /// Registered fds and their masks, in fd order.
    fds: BTreeMap<RawFd, PollFd<'fd>>,
}

impl<'fd> Poll<'fd> {
    /// An empty set.
    ///
    /// # Examples
    ///
    /// ```
    /// let p = gevent_net::select::Poll::new();
    /// assert!(p.poll(Some(std::time::Duration::ZERO)).unwrap().is_empty());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new() -> Poll<'fd> {
        Poll::default()
    }

    /// Adds `fd` with `eventmask` (or replaces its mask), like Python's `register`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsFd;
    /// use gevent_net::select::{Poll, POLLOUT};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let mut p = Poll::new();
    /// p.register(a.as_fd(), POLLOUT);
    /// assert_eq!(p.poll(None).unwrap()[0].1, POLLOUT);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn register(&mut self, fd: BorrowedFd<'fd>, eventmask: i16) {
        self.fds.insert(fd.as_raw_fd(), PollFd::new(fd, eventmask));
    }

    /// Changes the mask of a registered `fd`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsFd;
    /// use gevent_net::select::{Poll, POLLIN, POLLOUT};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let mut p = Poll::new();
    /// p.register(a.as_fd(), POLLOUT);
    /// p.modify(a.as_fd(), POLLIN).unwrap();
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
    pub fn modify(&mut self, fd: BorrowedFd<'_>, eventmask: i16) -> io::Result<()> {
        match self.fds.get_mut(&fd.as_raw_fd()) {
            Some(p) => {
                p.events = eventmask;
                Ok(())
            }
            None => Err(not_registered()),
        }
    }

    /// Removes `fd`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsFd;
    /// use gevent_net::select::{Poll, POLLIN};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let mut p = Poll::new();
    /// p.register(a.as_fd(), POLLIN);
    /// p.unregister(a.as_fd()).unwrap();
    /// assert!(p.unregister(a.as_fd()).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// `NotFound` if it is not registered (Python raises `KeyError`).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn unregister(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.fds
            .remove(&fd.as_raw_fd())
            .map(drop)
            .ok_or_else(not_registered)
    }

    /// Waits (switching) until some registered fd has events, or `timeout`; returns the
    /// `(fd, revents)` pairs that have any (empty on timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{io::Write, os::fd::{AsFd, AsRawFd}};
    /// use gevent_net::select::{Poll, POLLIN};
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let mut p = Poll::new();
    /// p.register(a.as_fd(), POLLIN);
    /// gevent_hub::spawn(move || b.write_all(b"x").unwrap());
    /// let ready = p.poll(None).unwrap(); // switches until the greenlet has written
    /// assert_eq!(ready[0].0.as_raw_fd(), a.as_raw_fd());
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
    /// The temporary watches are removed however the wait ends.
    pub fn poll(&self, timeout: Option<Duration>) -> io::Result<Vec<(BorrowedFd<'fd>, i16)>> {
        let mut fds: Vec<PollFd<'fd>> = self.fds.values().copied().collect();
        poll(&mut fds, timeout)?;
        Ok(fds
            .iter()
            .filter(|p| p.revents != 0)
            .map(|p| (p.fd, p.revents))
            .collect())
    }
}

/// The error of `modify`/`unregister` for an fd that is not registered.
fn not_registered() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "the fd is not registered")
}
