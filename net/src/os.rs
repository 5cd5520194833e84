//! Waiting on one file descriptor (gevent's `gevent.os`): [`wait_read`], [`wait_write`],
//! [`cancel_wait`]. The fd is borrowed (`impl AsFd`), never a bare number: it cannot be
//! closed while a greenlet waits on it.
//!
//! Each wait makes a watch with the hub's reactor
//! ([`Registration::watch`](gevent_hub::reactor::Registration::watch): a `dup` of the fd,
//! registered for this wait only), so it works on any pollable fd, also one that a socket of
//! this crate already registered, and nothing done to the original number by foreign code
//! can disturb another registration.
//!
//! # Examples
//!
//! ```
//! use std::{io::Write, os::fd::AsFd, os::unix::net::UnixStream, time::Duration};
//! let (a, mut b) = UnixStream::pair().unwrap();
//! let e = gevent_net::os::wait_read(a.as_fd(), Some(Duration::from_millis(5))).unwrap_err();
//! assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
//! b.write_all(b"x").unwrap();
//! gevent_net::os::wait_read(&a, None).unwrap();
//! ```

use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

use gevent_hub::reactor::{Interest, Registration};

/// Waits until `fd` is readable (or has an error or hang-up), or `timeout` passes (gevent's
/// `os.wait_read`). Level semantics: returns at once if it is readable now.
///
/// # Examples
///
/// ```
/// use std::{io::Write, os::fd::AsFd, time::Duration};
/// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
/// gevent_hub::spawn(move || b.write_all(b"x").unwrap());
/// gevent_net::os::wait_read(a.as_fd(), Some(Duration::from_secs(5))).unwrap();
/// ```
///
/// # Errors
///
/// `TimedOut` after `timeout`; `EBADF` if the fd's socket is closed, or [`cancel_wait`] is
/// called for it, meanwhile; `dup`'s error, or the poller's for an fd it cannot watch
/// (`EPERM` for a regular file).
///
/// # Switches
///
/// Yes.
///
/// # Kill safety
///
/// The watch is removed however the wait ends.
pub fn wait_read(fd: impl AsFd, timeout: Option<Duration>) -> io::Result<()> {
    Registration::watch(fd.as_fd())?.wait(Interest::READABLE, timeout)
}

/// Waits until `fd` is writable, or `timeout` passes (gevent's `os.wait_write`).
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// gevent_net::os::wait_write(a.as_fd(), None).unwrap();
/// ```
///
/// # Errors
///
/// As [`wait_read`].
///
/// # Switches
///
/// Yes.
///
/// # Kill safety
///
/// The watch is removed however the wait ends.
pub fn wait_write(fd: impl AsFd, timeout: Option<Duration>) -> io::Result<()> {
    Registration::watch(fd.as_fd())?.wait(Interest::WRITABLE, timeout)
}

/// Wakes every greenlet waiting on `fd` in [`wait_read`], [`wait_write`], `select` or `poll`
/// with `EBADF` (gevent's `cancel_wait`); see
/// [`gevent_hub::reactor::cancel_wait`]. Call it before closing an fd that other greenlets
/// may be waiting on; the socket types do it themselves when they close.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// use std::rc::Rc;
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let a = Rc::new(a);
/// let a2 = a.clone();
/// let g = gevent_hub::spawn(move || gevent_net::os::wait_read(a2.as_fd(), None).map_err(|e| e.raw_os_error()));
/// gevent_hub::sleep(std::time::Duration::ZERO); // let it wait
/// gevent_net::os::cancel_wait(a.as_fd());
/// assert_eq!(g.get().unwrap(), Err(Some(libc::EBADF)));
/// ```
///
/// # Switches
///
/// Never.
pub fn cancel_wait(fd: impl AsFd) {
    gevent_hub::reactor::cancel_wait(fd.as_fd());
}
