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
        let fd = self.sock.read(
            |l| {
                rustix::net::accept_with(l, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC)
                    .map_err(errno)
            },
            |_| false,
        )?;
        let s = std::os::unix::net::UnixStream::from(fd);
        let addr = s.peer_addr()?;
        Ok((UnixStream::from_nonblocking(s, READABLE | WRITABLE)?, addr))
    }

    /// An iterator over incoming connections; it never ends.
    ///
    /// # Switches
    ///
    /// Each `next` switches until a connection arrives.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The local address.
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
    /// # Switches
    ///
    /// Never.
    pub fn close(&self) {
        self.sock.close(true);
    }

    /// The std listener, deregistered and in blocking mode (a `dup` if other handles remain).
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
    /// # Switches
    ///
    /// Never.
    pub fn close(&self) {
        self.sock.close(true);
    }

    /// The std stream, deregistered and in blocking mode (a `dup` if other handles remain).
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
