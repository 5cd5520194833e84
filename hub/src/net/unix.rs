//! Unix domain stream sockets (std's `std::os::unix::net`, cooperative): [`UnixListener`],
//! [`UnixStream`].
//!
//! # Examples
//!
//! ```
//! use std::io::{Read, Write};
//! use gevent_hub::net::unix::UnixStream;
//! let (mut a, mut b) = UnixStream::pair().unwrap();
//! let g = gevent_hub::spawn(move || { let mut s = String::new(); b.read_to_string(&mut s).unwrap(); s });
//! a.write_all(b"over the socket").unwrap();
//! drop(a);
//! assert_eq!(g.get().unwrap(), "over the socket");
//! ```

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use rustix::net::{AddressFamily, SocketFlags, SocketType};

use super::sock::{errno, Sock};
use super::tcp::fd_impls;
use crate::io::{READABLE, WRITABLE};

/// A Unix domain socket server (std's [`std::os::unix::net::UnixListener`], cooperative).
///
/// # Examples
///
/// ```
/// use gevent_hub::net::unix::{UnixListener, UnixStream};
/// let dir = std::env::temp_dir().join(format!("gevent-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("sock");
/// # let _ = std::fs::remove_file(&path);
/// let l = UnixListener::bind(&path).unwrap();
/// let p2 = path.clone();
/// let c = gevent_hub::spawn(move || UnixStream::connect(p2).unwrap());
/// let (s, _addr) = l.accept().unwrap();
/// # drop((s, c)); std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone)]
pub struct UnixListener {
    /// The socket, shared by clones.
    sock: Rc<Sock<std::os::unix::net::UnixListener>>,
}

impl UnixListener {
    /// Creates a socket bound to `path` and listening.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-doc-bind-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = gevent_hub::net::unix::UnixListener::bind(&path).unwrap();
    /// assert_eq!(l.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `bind`'s error (`AddrInUse` if the path exists...).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        UnixListener::from_std(std::os::unix::net::UnixListener::bind(path)?)
    }

    /// Accepts a connection, switching until one arrives.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::unix::{UnixListener, UnixStream};
    /// let path = std::env::temp_dir().join(format!("gevent-doc-accept-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = UnixListener::bind(&path).unwrap();
    /// let p2 = path.clone();
    /// let c = gevent_hub::spawn(move || UnixStream::connect(p2).unwrap());
    /// let (s, _addr) = l.accept().unwrap();
    /// # drop((s, c)); std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `accept4`'s error; `WouldBlock` in non-blocking mode; `EBADF` after `close`; `Other`
    /// ([`ConcurrentUse`](crate::ConcurrentUse)) if another greenlet already waits in `accept`.
    ///
    /// # Switches
    ///
    /// Yes, until a connection arrives.
    ///
    /// # Kill safety
    ///
    /// A kill while waiting accepted nothing.
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let fd = self.sock.read(|l| {
            rustix::net::accept_with(l, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC).map_err(errno)
        })?;
        let s = std::os::unix::net::UnixStream::from(fd);
        let addr = s.peer_addr()?;
        Ok((UnixStream::from_nonblocking(s, READABLE | WRITABLE)?, addr))
    }

    /// An iterator over incoming connections; it never ends.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::unix::{UnixListener, UnixStream};
    /// let path = std::env::temp_dir().join(format!("gevent-doc-incoming-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = UnixListener::bind(&path).unwrap();
    /// let p2 = path.clone();
    /// gevent_hub::spawn(move || UnixStream::connect(p2).unwrap());
    /// assert!(l.incoming().next().unwrap().is_ok());
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Switches
    ///
    /// Each `next` switches until a connection arrives.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The local address.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-doc-laddr-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = gevent_hub::net::unix::UnixListener::bind(&path).unwrap();
    /// assert_eq!(l.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `getsockname`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get()?.local_addr()
    }

    /// Another handle to the same listener.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-doc-lclone-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = gevent_hub::net::unix::UnixListener::bind(&path).unwrap();
    /// let l2 = l.try_clone().unwrap();
    /// # drop((l, l2)); std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `EBADF` after `close`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn try_clone(&self) -> io::Result<UnixListener> {
        self.sock.get()?;
        Ok(self.clone())
    }

    /// In non-blocking mode, `accept` returns `WouldBlock` instead of waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-doc-lnb-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = gevent_hub::net::unix::UnixListener::bind(&path).unwrap();
    /// l.set_nonblocking(true).unwrap();
    /// assert_eq!(l.accept().unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `EBADF` after `close`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.sock.get()?;
        self.sock.set_nonblocking(nonblocking);
        Ok(())
    }

    /// Takes the pending `SO_ERROR`.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-doc-lerr-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = gevent_hub::net::unix::UnixListener::bind(&path).unwrap();
    /// assert!(l.take_error().unwrap().is_none());
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `getsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.get()?.take_error()
    }

    /// gevent's `close()` (see [`TcpListener::close`](super::TcpListener::close)).
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-doc-lclose-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = gevent_hub::net::unix::UnixListener::bind(&path).unwrap();
    /// let l2 = l.try_clone().unwrap();
    /// let g = gevent_hub::spawn(move || l2.accept().map(|_| ()).map_err(|e| e.raw_os_error()));
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// l.close();
    /// assert_eq!(g.get().unwrap(), Err(Some(libc::EBADF)));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn close(&self) {
        self.sock.close(true);
    }

    /// The std listener, deregistered and in blocking mode (a `dup` if other handles remain).
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-doc-lstd-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = gevent_hub::net::unix::UnixListener::bind(&path).unwrap();
    /// let std_l: std::os::unix::net::UnixListener = l.into_std().unwrap();
    /// # drop(std_l); std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `ioctl`/`dup` errors.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        match Rc::try_unwrap(self.sock) {
            Ok(s) => s.into_blocking(),
            Err(rc) => rc.raw().try_clone(),
        }
    }

    /// Registers a std listener (made non-blocking underneath).
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gevent-doc-lfrom-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let std_l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    /// let l = gevent_hub::net::unix::UnixListener::from_std(std_l).unwrap();
    /// # drop(l); std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// If the poller refuses the fd.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn from_std(l: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            sock: Rc::new(Sock::from_blocking(l)?),
        })
    }
}

/// Iterator of [`UnixListener::incoming`].
///
/// # Examples
///
/// ```
/// use gevent_hub::net::unix::{UnixListener, UnixStream};
/// let path = std::env::temp_dir().join(format!("gevent-doc-inc2-{}", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let l = UnixListener::bind(&path).unwrap();
/// let p2 = path.clone();
/// gevent_hub::spawn(move || (UnixStream::connect(&p2).unwrap(), UnixStream::connect(&p2).unwrap()));
/// assert_eq!(l.incoming().take(2).filter(Result::is_ok).count(), 2);
/// # std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Debug)]
pub struct Incoming<'a> {
    /// The listener.
    listener: &'a UnixListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<UnixStream>;
    fn next(&mut self) -> Option<io::Result<UnixStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A Unix domain stream connection (std's [`std::os::unix::net::UnixStream`], cooperative).
///
/// # Examples
///
/// See the [module](self).
#[derive(Clone)]
pub struct UnixStream {
    /// The socket, shared by clones.
    sock: Rc<Sock<std::os::unix::net::UnixStream>>,
}

impl UnixStream {
    /// Wraps a connected non-blocking stream.
    fn from_nonblocking(s: std::os::unix::net::UnixStream, ready: u8) -> io::Result<UnixStream> {
        Ok(UnixStream {
            sock: Rc::new(Sock::new(s, ready)?),
        })
    }

    /// Connects to the socket at `path`. When the listener's backlog is full (`EAGAIN`), the
    /// greenlet sleeps briefly and tries again, instead of failing as a non-blocking connect
    /// would.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use gevent_hub::net::unix::{UnixListener, UnixStream};
    /// let path = std::env::temp_dir().join(format!("gevent-doc-connect-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = UnixListener::bind(&path).unwrap();
    /// gevent_hub::spawn(move || { let (mut s, _) = l.accept().unwrap(); s.write_all(b"hi").unwrap(); });
    /// let mut c = UnixStream::connect(&path).unwrap();
    /// let mut s = String::new();
    /// c.read_to_string(&mut s).unwrap();
    /// assert_eq!(s, "hi");
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `connect`'s error (`NotFound`, `ConnectionRefused`...).
    ///
    /// # Switches
    ///
    /// Only while the listener's backlog is full.
    ///
    /// # Kill safety
    ///
    /// A kill drops the unconnected socket.
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let addr = rustix::net::SocketAddrUnix::new(path.as_ref()).map_err(errno)?;
        let fd = rustix::net::socket_with(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            None,
        )
        .map_err(errno)?;
        let mut pause = Duration::from_micros(100);
        loop {
            match rustix::net::connect(&fd, &addr) {
                Ok(()) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::AGAIN) => {
                    crate::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(e) => return Err(errno(e)),
            }
        }
        UnixStream::from_nonblocking(
            std::os::unix::net::UnixStream::from(fd),
            READABLE | WRITABLE,
        )
    }

    /// A connected pair of sockets.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// let (mut a, mut b) = gevent_hub::net::unix::UnixStream::pair().unwrap();
    /// a.write_all(b"x").unwrap();
    /// let mut buf = [0u8; 1];
    /// b.read_exact(&mut buf).unwrap();
    /// assert_eq!(&buf, b"x");
    /// ```
    ///
    /// # Errors
    ///
    /// `socketpair`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// The remote address.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gevent_hub::net::unix::UnixStream::pair().unwrap();
    /// assert!(a.peer_addr().unwrap().is_unnamed());
    /// ```
    ///
    /// # Errors
    ///
    /// `getpeername`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get()?.peer_addr()
    }

    /// The local address.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gevent_hub::net::unix::UnixStream::pair().unwrap();
    /// assert!(a.local_addr().unwrap().is_unnamed());
    /// ```
    ///
    /// # Errors
    ///
    /// `getsockname`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get()?.local_addr()
    }

    /// Shuts down one or both halves; waiting readers read end-of-file.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// let (a, mut b) = gevent_hub::net::unix::UnixStream::pair().unwrap();
    /// a.shutdown(std::net::Shutdown::Write).unwrap();
    /// assert_eq!(b.read(&mut [0u8; 4]).unwrap(), 0);
    /// ```
    ///
    /// # Errors
    ///
    /// `shutdown`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.sock.get()?.shutdown(how)
    }

    /// Another handle to the same connection (see
    /// [`TcpStream::try_clone`](super::TcpStream::try_clone)).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gevent_hub::net::unix::UnixStream::pair().unwrap();
    /// let a2 = a.try_clone().unwrap();
    /// # drop((a, a2));
    /// ```
    ///
    /// # Errors
    ///
    /// `EBADF` after `close`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn try_clone(&self) -> io::Result<UnixStream> {
        self.sock.get()?;
        Ok(self.clone())
    }

    /// Makes reads give up after `d` with `WouldBlock`; `None` waits forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{io::Read, time::Duration};
    /// let (mut a, _b) = gevent_hub::net::unix::UnixStream::pair().unwrap();
    /// a.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    /// assert_eq!(a.read(&mut [0u8; 4]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(d)
    }

    /// Makes writes give up after `d` with `WouldBlock`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (a, _b) = gevent_hub::net::unix::UnixStream::pair().unwrap();
    /// a.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    /// assert_eq!(a.write_timeout().unwrap(), Some(Duration::from_secs(1)));
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.sock.set_write_timeout(d)
    }

    /// The read timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gevent_hub::net::unix::UnixStream::pair().unwrap();
    /// assert_eq!(a.read_timeout().unwrap(), None);
    /// ```
    ///
    /// # Errors
    ///
    /// Never (std's signature).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.sock.read_timeout())
    }

    /// The write timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gevent_hub::net::unix::UnixStream::pair().unwrap();
    /// assert_eq!(a.write_timeout().unwrap(), None);
    /// ```
    ///
    /// # Errors
    ///
    /// Never (std's signature).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.sock.write_timeout())
    }

    /// In non-blocking mode, reads and writes return `WouldBlock` instead of waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// let (mut a, _b) = gevent_hub::net::unix::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// assert_eq!(a.read(&mut [0u8; 4]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// ```
    ///
    /// # Errors
    ///
    /// `EBADF` after `close`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.sock.get()?;
        self.sock.set_nonblocking(nonblocking);
        Ok(())
    }

    /// Reads without consuming (`MSG_PEEK`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// let (a, mut b) = gevent_hub::net::unix::UnixStream::pair().unwrap();
    /// b.write_all(b"abc").unwrap();
    /// let mut buf = [0u8; 8];
    /// assert_eq!(a.peek(&mut buf).unwrap(), 3);
    /// assert_eq!(a.peek(&mut buf).unwrap(), 3);
    /// ```
    ///
    /// # Errors
    ///
    /// As `read`.
    ///
    /// # Switches
    ///
    /// Yes, until data is there.
    ///
    /// # Kill safety
    ///
    /// Nothing is consumed.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.peek(buf)
    }

    /// Takes the pending `SO_ERROR`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gevent_hub::net::unix::UnixStream::pair().unwrap();
    /// assert!(a.take_error().unwrap().is_none());
    /// ```
    ///
    /// # Errors
    ///
    /// `getsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.get()?.take_error()
    }

    /// gevent's `close()` (see [`TcpStream::close`](super::TcpStream::close)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// let (a, _b) = gevent_hub::net::unix::UnixStream::pair().unwrap();
    /// let mut reader = a.try_clone().unwrap();
    /// let g = gevent_hub::spawn(move || reader.read(&mut [0u8; 8]).map_err(|e| e.raw_os_error()));
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// a.close();
    /// assert_eq!(g.get().unwrap(), Err(Some(libc::EBADF)));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn close(&self) {
        self.sock.close(true);
    }

    /// The std stream, deregistered and in blocking mode (a `dup` if other handles remain).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gevent_hub::net::unix::UnixStream::pair().unwrap();
    /// let std_a: std::os::unix::net::UnixStream = a.into_std().unwrap();
    /// # drop(std_a);
    /// ```
    ///
    /// # Errors
    ///
    /// `ioctl`/`setsockopt`/`dup` errors.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        match Rc::try_unwrap(self.sock) {
            Ok(s) => s.into_blocking(),
            Err(rc) => rc.raw().try_clone(),
        }
    }

    /// Registers a std stream (made non-blocking underneath).
    ///
    /// # Examples
    ///
    /// ```
    /// let (x, _y) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = gevent_hub::net::unix::UnixStream::from_std(x).unwrap();
    /// # drop(a);
    /// ```
    ///
    /// # Errors
    ///
    /// If the poller refuses the fd.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn from_std(s: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            sock: Rc::new(Sock::from_blocking(s)?),
        })
    }
}

impl Read for UnixStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.recv(buf)
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.sock.recv_vectored(bufs)
    }
}

impl Read for &UnixStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.recv(buf)
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.sock.recv_vectored(bufs)
    }
}

impl Write for UnixStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.send(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.sock.send_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &UnixStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.send(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.sock.send_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fd_impls!(UnixListener, std::os::unix::net::UnixListener);
fd_impls!(UnixStream, std::os::unix::net::UnixStream);
