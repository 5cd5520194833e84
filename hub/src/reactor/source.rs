//! [`IoSource`]: an I/O object registered with the hub for its whole life, and [`IoSafe`],
//! the promise that its fd cannot change under the registration.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use super::{Interest, Registration};

/// I/O objects whose fd, seen through a shared reference, stays the same open descriptor for
/// as long as the object lives: no method taking `&self` closes it or replaces it (std's
/// `TcpStream`, `File`, `OwnedFd`... do not; a type with a `RefCell<OwnedFd>` inside might).
/// [`IoSource`] relies on it to delete its registration through a descriptor that is still
/// the registered one.
///
/// # Safety
///
/// `as_fd` must return the same fd, open, every time it is called on a value that is not
/// mutably borrowed or moved, until the value is dropped; and no `&self` method (of this or
/// any trait) may close that fd or make its number refer to another file.
///
/// # Examples
///
/// ```
/// use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
/// /// A pidfd wrapper of one's own.
/// struct PidFd(OwnedFd);
/// impl AsFd for PidFd {
///     fn as_fd(&self) -> BorrowedFd<'_> { self.0.as_fd() }
/// }
/// // SAFETY: the fd is owned, fixed at construction and closed only on drop.
/// unsafe impl gevent_hub::reactor::IoSafe for PidFd {}
/// ```
pub unsafe trait IoSafe: AsFd {}

// SAFETY (for each impl below): std's owned fd types hold one `OwnedFd` fixed at construction;
// their `&self` methods never close it or replace it (`try_clone` makes a new fd).
macro_rules! io_safe {
    ($($t:ty),* $(,)?) => {$(
        // SAFETY: see the comment above the macro.
        unsafe impl IoSafe for $t {}
    )*};
}

io_safe!(
    OwnedFd,
    std::fs::File,
    std::net::TcpStream,
    std::net::TcpListener,
    std::net::UdpSocket,
    std::os::unix::net::UnixStream,
    std::os::unix::net::UnixListener,
    std::os::unix::net::UnixDatagram,
    std::process::ChildStdin,
    std::process::ChildStdout,
    std::process::ChildStderr,
);

/// An I/O object (a socket, a pipe end, a pidfd...) registered with this thread's hub for its
/// whole life, so that greenlets can wait for it to become readable or writable.
///
/// It owns `T`; when it is dropped, the fd leaves the poller first, greenlets waiting on it
/// (here, or through a watch of its fd: `os::wait_read`, `select`) are woken with `EBADF`,
/// and then `T` is dropped (closing the fd). At most one greenlet waits per direction.
///
/// Put `T` in non-blocking mode: the calls made through [`read_with`](IoSource::read_with) and
/// [`write_with`](IoSource::write_with) must return `WouldBlock` rather than block the thread.
///
/// Only shared access to `T` is given ([`get_ref`](IoSource::get_ref)): a `&mut T` could
/// replace the object, and its fd, under the registration.
///
/// # Examples
///
/// ```
/// use std::os::unix::net::UnixStream;
/// use std::io::{Read, Write};
/// use gevent_hub::reactor::IoSource;
///
/// let (a, mut b) = UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// let a = IoSource::new(a).unwrap();
/// let g = gevent_hub::spawn(move || { b.write_all(b"x").unwrap(); b });
/// let mut buf = [0u8; 8];
/// // Tries the read, and switches until `g` has written when it would block.
/// let n = a.read_with(None, |mut s| s.read(&mut buf)).unwrap();
/// assert_eq!(&buf[..n], b"x");
/// # drop(g);
/// ```
///
/// `get_mut` does not exist, so the fd cannot be swapped:
///
/// ```compile_fail
/// let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let mut src = gevent_hub::reactor::IoSource::new(a).unwrap();
/// *src.get_mut() = b;
/// ```
pub struct IoSource<T: IoSafe> {
    /// The registration (declared first: dropped, so deleted from the poller, before `io`
    /// closes the fd).
    reg: Registration,
    /// The object.
    io: T,
}

impl<T: IoSafe> IoSource<T> {
    /// Registers `io` with this thread's hub, both directions presumed ready (the first call
    /// is tried). Put it in non-blocking mode first.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let src = gevent_hub::reactor::IoSource::new(a).unwrap();
    /// src.wait_writable(None).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// If the poller refuses the fd (`EPERM` for a regular file).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new(io: T) -> io::Result<IoSource<T>> {
        IoSource::with_ready(io, Interest::BOTH)
    }

    /// [`IoSource::new`] with the directions presumed ready: [`Interest::NONE`] for a socket
    /// that is still connecting (the first wait then waits for the poller).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::reactor::{Interest, IoSource};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let src = IoSource::with_ready(a, Interest::NONE).unwrap();
    /// assert!(!src.registration().is_ready(Interest::WRITABLE));
    /// src.wait_writable(None).unwrap(); // the poller reports it writable
    /// ```
    ///
    /// # Errors
    ///
    /// If the poller refuses the fd.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn with_ready(io: T, ready: Interest) -> io::Result<IoSource<T>> {
        let reg = Registration::owned(io.as_fd(), ready)?;
        Ok(IoSource { reg, io })
    }

    /// The object.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let src = gevent_hub::reactor::IoSource::new(a).unwrap();
    /// assert!(src.get_ref().peer_addr().is_ok());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The registration: readiness bits, [`arm`](Registration::arm), `set_ref`...
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::reactor::Interest;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let src = gevent_hub::reactor::IoSource::new(a).unwrap();
    /// assert!(src.registration().is_ready(Interest::READABLE)); // new: "try the call"
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn registration(&self) -> &Registration {
        &self.reg
    }

    /// Deregisters and returns the object.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let src = gevent_hub::reactor::IoSource::new(a).unwrap();
    /// let a: std::os::unix::net::UnixStream = src.into_inner(); // deregistered
    /// # drop(a);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn into_inner(self) -> T {
        let IoSource { reg, io } = self;
        drop(reg);
        io
    }

    /// Whether waiters on this object keep the loop alive (gevent's `ref`); default `true`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let src = gevent_hub::reactor::IoSource::new(a).unwrap();
    /// src.set_ref(false); // waiting on it alone would be "blocked forever"
    /// assert!(src.wait_readable(Some(Duration::from_millis(1))).is_err());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_ref(&self, refd: bool) {
        self.reg.set_ref(refd);
    }

    /// Waits until the object is readable (or has an error or hang-up), or `timeout` passes.
    /// Level semantics: returns at once while the object is readable, even if nothing was read
    /// since the last wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{io::Write, time::Duration};
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let src = gevent_hub::reactor::IoSource::new(a).unwrap();
    /// let e = src.wait_readable(Some(Duration::from_millis(5))).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    /// b.write_all(b"x").unwrap();
    /// src.wait_readable(None).unwrap();
    /// src.wait_readable(None).unwrap(); // still readable: nothing was read
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Registration::wait`].
    ///
    /// # Panics
    ///
    /// As [`Registration::wait`].
    ///
    /// # Switches
    ///
    /// Yes, unless the object is readable.
    ///
    /// # Kill safety
    ///
    /// A kill or timeout leaves nothing behind: the waiter is removed.
    pub fn wait_readable(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.reg.wait(Interest::READABLE, timeout)
    }

    /// Waits until the object is writable; see [`wait_readable`](IoSource::wait_readable).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let src = gevent_hub::reactor::IoSource::new(a).unwrap();
    /// src.wait_writable(None).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Registration::wait`].
    ///
    /// # Panics
    ///
    /// As [`Registration::wait`].
    ///
    /// # Switches
    ///
    /// Yes, unless the object is writable.
    ///
    /// # Kill safety
    ///
    /// As [`wait_readable`](IoSource::wait_readable).
    pub fn wait_writable(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.reg.wait(Interest::WRITABLE, timeout)
    }

    /// Runs `op` (a non-blocking read, receive or accept on the object) until it does not
    /// return `WouldBlock`, switching to the hub in between until the object is readable, and
    /// returns its outcome; see [`Registration::io_with`].
    ///
    /// # Examples
    ///
    /// See [`IoSource`].
    ///
    /// # Errors
    ///
    /// `op`'s error; `TimedOut` (no OS error code) if `timeout` passes while waiting; as
    /// [`Registration::wait`] otherwise.
    ///
    /// # Panics
    ///
    /// As [`Registration::wait`].
    ///
    /// # Switches
    ///
    /// Yes, when `op` would block.
    ///
    /// # Kill safety
    ///
    /// A kill unwinds only from a wait, between two calls of `op`: what `op` did stays done.
    #[inline]
    pub fn read_with<R>(
        &self,
        timeout: Option<Duration>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.reg
            .io_with(Interest::READABLE, timeout, || op(&self.io))
    }

    /// Runs `op` (a non-blocking write, send or connect on the object) until it does not
    /// return `WouldBlock`, switching to the hub in between until the object is writable.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let src = gevent_hub::reactor::IoSource::new(a).unwrap();
    /// let n = src.write_with(None, |mut s| s.write(b"hello")).unwrap();
    /// let mut buf = [0u8; 5];
    /// b.read_exact(&mut buf[..n]).unwrap();
    /// assert_eq!(&buf, b"hello");
    /// ```
    ///
    /// # Errors
    ///
    /// As [`read_with`](IoSource::read_with).
    ///
    /// # Panics
    ///
    /// As [`Registration::wait`].
    ///
    /// # Switches
    ///
    /// Yes, when `op` would block.
    ///
    /// # Kill safety
    ///
    /// As [`read_with`](IoSource::read_with).
    #[inline]
    pub fn write_with<R>(
        &self,
        timeout: Option<Duration>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.reg
            .io_with(Interest::WRITABLE, timeout, || op(&self.io))
    }

    /// Wakes the greenlets waiting on this object now (its own readers and writers, and
    /// those waiting through a watch of its fd: `os::wait_read`, `select`) with `EBADF`, as
    /// gevent does when a socket is closed in another greenlet. The object stays registered.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let src = std::rc::Rc::new(gevent_hub::reactor::IoSource::new(a).unwrap());
    /// let s2 = src.clone();
    /// let g = gevent_hub::spawn(move || s2.wait_readable(None).map_err(|e| e.raw_os_error()));
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// src.cancel_wait();
    /// assert_eq!(g.get().unwrap(), Err(Some(libc::EBADF)));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn cancel_wait(&self) {
        self.reg.cancel_waiters();
        super::cancel_wait(self.io.as_fd());
    }
}

impl<T: IoSafe> AsFd for IoSource<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl<T: IoSafe> AsRawFd for IoSource<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_fd().as_raw_fd()
    }
}

impl<T: IoSafe + fmt::Debug> fmt::Debug for IoSource<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoSource").field("io", &self.io).finish()
    }
}
