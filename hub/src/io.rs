//! Waiting for file descriptors: [`IoSource`], the registration every cooperative I/O type
//! builds on, and [`wait_read`] / [`wait_write`] for any fd.

use std::cell::Cell;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use greenlet::Value;

use crate::hub::{get_hub, Hub};
use crate::park::{park_timeout, Unparker};

/// The wake value of a waiter whose fd was closed (deregistered) under it.
struct Closed;

/// Two greenlets tried to wait for the same direction of one fd (gevent's
/// `ConcurrentObjectUseError`). Returned inside an `io::Error` of kind `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConcurrentUse {
    /// The fd.
    pub fd: RawFd,
    /// `true` for reading, `false` for writing.
    pub read: bool,
}

impl fmt::Display for ConcurrentUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "another greenlet is already waiting to {} fd {} (one reader and one writer at a \
             time: gevent's ConcurrentObjectUseError)",
            if self.read { "read" } else { "write" },
            self.fd
        )
    }
}

impl std::error::Error for ConcurrentUse {}

/// An I/O object (a socket, a pipe end...) registered with this thread's hub, so that
/// greenlets can wait for it to become readable or writable.
///
/// It owns `T`; when it is dropped, the fd leaves the poller first, waiters still parked on it
/// are woken with an error (`NotConnected`, "closed while waiting"), and then `T` is dropped
/// (closing the fd). At most one greenlet waits per direction.
///
/// # Examples
///
/// ```
/// use std::os::unix::net::UnixStream;
/// use std::io::Write;
/// use gevent_hub::IoSource;
///
/// let (a, mut b) = UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// let a = IoSource::new(a).unwrap();
/// let g = gevent_hub::spawn(move || { b.write_all(b"x").unwrap(); b });
/// a.wait_readable(None).unwrap(); // switches until `g` has written
/// # drop(g);
/// ```
pub struct IoSource<T: AsRawFd> {
    /// The object.
    io: Option<T>,
    /// Its key in the hub's registry.
    key: usize,
    /// The hub it is registered with.
    hub: Hub,
    /// Whether its waiters keep the loop alive.
    refd: Cell<bool>,
}

impl<T: AsRawFd> IoSource<T> {
    /// Registers `io` with this thread's hub. Put it in non-blocking mode first if the waits
    /// are to be followed by non-blocking calls.
    ///
    /// # Errors
    ///
    /// If the poller refuses the fd.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new(io: T) -> io::Result<IoSource<T>> {
        let hub = get_hub();
        let key = hub.register_fd(io.as_raw_fd())?;
        Ok(IoSource {
            io: Some(io),
            key,
            hub,
            refd: Cell::new(true),
        })
    }

    /// The object.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn get_ref(&self) -> &T {
        self.io.as_ref().expect("present until drop")
    }

    /// The object, mutably.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn get_mut(&mut self) -> &mut T {
        self.io.as_mut().expect("present until drop")
    }

    /// Deregisters and returns the object.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn into_inner(mut self) -> T {
        self.deregister();
        self.io.take().expect("present until drop")
    }

    /// Whether waiters on this object keep the loop alive (gevent's `ref`); default `true`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_ref(&self, refd: bool) {
        self.refd.set(refd);
        if let Some(e) = self.hub.0.io.borrow_mut().get_mut(self.key) {
            e.refd = refd;
        }
    }

    /// Waits until the object is readable (or has an error or hang-up), or `timeout` passes.
    ///
    /// # Errors
    ///
    /// `TimedOut` after `timeout`; `NotConnected` if it is closed while waiting; `Other`
    /// wrapping [`ConcurrentUse`] if another greenlet already waits to read it; the poller's
    /// error if it cannot arm.
    ///
    /// # Switches
    ///
    /// Yes.
    ///
    /// # Kill safety
    ///
    /// A kill or timeout leaves nothing behind: the waiter is removed.
    pub fn wait_readable(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.wait(true, timeout)
    }

    /// Waits until the object is writable; see [`wait_readable`](IoSource::wait_readable).
    ///
    /// # Errors
    ///
    /// As [`wait_readable`](IoSource::wait_readable).
    ///
    /// # Switches
    ///
    /// Yes.
    pub fn wait_writable(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.wait(false, timeout)
    }

    fn wait(&self, read: bool, timeout: Option<Duration>) -> io::Result<()> {
        let fd = self.get_ref().as_raw_fd();
        {
            let io = self.hub.0.io.borrow();
            let e = &io[self.key];
            let slot = if read { &e.reader } else { &e.writer };
            if slot.as_ref().is_some_and(Unparker::is_waiting) {
                return Err(io::Error::other(ConcurrentUse { fd, read }));
            }
        }
        let guard = ClearSlot { src: self, read };
        let mut arm_err = None;
        let r = park_timeout(timeout, |u| {
            {
                let mut io = self.hub.0.io.borrow_mut();
                let e = &mut io[self.key];
                let slot = if read { &mut e.reader } else { &mut e.writer };
                *slot = Some(u.clone());
                if e.refd {
                    self.hub.0.io_refs.set(self.hub.0.io_refs.get() + 1);
                }
            }
            if let Err(e) = self.hub.arm_fd(self.key) {
                arm_err = Some(e);
                u.wake(Value::empty());
            }
        });
        drop(guard);
        if let Some(e) = arm_err {
            return Err(e);
        }
        match r {
            Ok(v) if v.is::<Closed>() => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the file descriptor was closed while a greenlet waited on it",
            )),
            Ok(_) => Ok(()),
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "timed out")),
        }
    }

    fn deregister(&mut self) {
        self.hub.deregister_fd(self.key, || Value::new(Closed));
    }
}

/// Removes a waiter that was not woken by the poller (timeout, kill, arm failure).
struct ClearSlot<'a, T: AsRawFd> {
    /// The source.
    src: &'a IoSource<T>,
    /// Which direction.
    read: bool,
}

impl<T: AsRawFd> Drop for ClearSlot<'_, T> {
    fn drop(&mut self) {
        let hub = &self.src.hub.0;
        let mut io = hub.io.borrow_mut();
        let Some(e) = io.get_mut(self.src.key) else {
            return;
        };
        let refd = e.refd;
        let slot = if self.read {
            &mut e.reader
        } else {
            &mut e.writer
        };
        if slot.take().is_some() && refd {
            hub.io_refs.set(hub.io_refs.get() - 1);
        }
    }
}

impl<T: AsRawFd> Drop for IoSource<T> {
    fn drop(&mut self) {
        if self.io.is_some() {
            self.deregister();
        }
    }
}

impl<T: AsRawFd> AsRawFd for IoSource<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd + AsFd> AsFd for IoSource<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for IoSource<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoSource").field("io", &self.io).finish()
    }
}

/// A borrowed fd, for waiting on descriptors the caller owns.
struct Borrowed(RawFd);

impl AsRawFd for Borrowed {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// Waits until `fd` is readable, or `timeout` passes (gevent's `os.wait_read`). The fd stays
/// the caller's; it is registered with the hub only for the wait.
///
/// # Errors
///
/// `TimedOut` after `timeout`; the poller's error for a bad fd.
///
/// # Examples
///
/// ```
/// use std::{io::Write, os::fd::AsRawFd, os::unix::net::UnixStream, time::Duration};
/// let (a, mut b) = UnixStream::pair().unwrap();
/// let r = gevent_hub::wait_read(a.as_raw_fd(), Some(Duration::from_millis(5)));
/// assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
/// b.write_all(b"x").unwrap();
/// gevent_hub::wait_read(a.as_raw_fd(), None).unwrap();
/// ```
///
/// # Switches
///
/// Yes.
pub fn wait_read(fd: RawFd, timeout: Option<Duration>) -> io::Result<()> {
    IoSource::new(Borrowed(fd))?.wait_readable(timeout)
}

/// Waits until `fd` is writable, or `timeout` passes (gevent's `os.wait_write`).
///
/// # Errors
///
/// As [`wait_read`].
///
/// # Switches
///
/// Yes.
pub fn wait_write(fd: RawFd, timeout: Option<Duration>) -> io::Result<()> {
    IoSource::new(Borrowed(fd))?.wait_writable(timeout)
}
