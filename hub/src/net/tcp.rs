//! TCP: [`TcpListener`] and [`TcpStream`].

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use rustix::net::{AddressFamily, SocketFlags, SocketType};

use super::addr::{each_addr, ToSocketAddrs};
use super::sock::{errno, Sock};
use crate::io::{READABLE, WRITABLE};

/// The backlog of listening sockets: `SOMAXCONN` (the kernel caps it at
/// `net.core.somaxconn`). std uses 128; a server accepting in a greenlet while thousands of
/// clients connect at once benefits from the longer queue.
const BACKLOG: i32 = libc::SOMAXCONN;

/// A TCP server socket (std's [`std::net::TcpListener`], cooperative).
///
/// # Examples
///
/// ```no_run
/// use std::io::{Read, Write};
/// use gevent_hub::net::TcpListener;
///
/// let listener = TcpListener::bind("127.0.0.1:8000")?;
/// for stream in listener.incoming() {
///     let mut stream = stream?;
///     gevent_hub::spawn(move || {
///         let mut buf = [0u8; 4096];
///         while let Ok(n @ 1..) = stream.read(&mut buf) {
///             if stream.write_all(&buf[..n]).is_err() { break; }
///         }
///     });
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct TcpListener {
    /// The socket, shared by clones.
    sock: Rc<Sock<std::net::TcpListener>>,
}

impl TcpListener {
    /// Creates a socket bound to `addr` and listening (with `SO_REUSEADDR`, like std). Each
    /// resolved address is tried in turn.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_hub::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert_ne!(l.local_addr().unwrap().port(), 0);
    /// ```
    ///
    /// # Errors
    ///
    /// The last address's error (address in use...), or the resolver's.
    ///
    /// # Switches
    ///
    /// Only to resolve a host name.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(&addr, |a| {
            let fd = new_socket(a, SocketType::STREAM)?;
            rustix::net::sockopt::set_socket_reuseaddr(&fd, true).map_err(errno)?;
            rustix::net::bind(&fd, a).map_err(errno)?;
            rustix::net::listen(&fd, BACKLOG).map_err(errno)?;
            let sock = Sock::new(std::net::TcpListener::from(fd), READABLE | WRITABLE)?;
            Ok(TcpListener {
                sock: Rc::new(sock),
            })
        })
    }

    /// Accepts a connection: switches until a client connects. The new stream is
    /// non-blocking underneath, close-on-exec, and registered with the hub.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = l.local_addr().unwrap();
    /// let c = gevent_hub::spawn(move || TcpStream::connect(addr).unwrap());
    /// let (s, peer) = l.accept().unwrap();
    /// assert_eq!(peer, c.get().unwrap().local_addr().unwrap());
    /// # drop(s);
    /// ```
    ///
    /// # Errors
    ///
    /// `accept4`'s error; `WouldBlock` in non-blocking mode; `EBADF` after
    /// [`close`](TcpListener::close); `Other`
    /// ([`ConcurrentUse`](crate::ConcurrentUse)) if another greenlet already waits in
    /// `accept` on this listener.
    ///
    /// # Switches
    ///
    /// Yes, until a connection arrives.
    ///
    /// # Kill safety
    ///
    /// A kill while waiting accepted nothing.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (fd, addr) = self.sock.read(|l| {
            rustix::net::acceptfrom_with(l, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC)
                .map_err(errno)
        })?;
        let addr = addr
            .and_then(|a| SocketAddr::try_from(a).ok())
            .ok_or_else(|| io::Error::other("accept returned no peer address"))?;
        let s = TcpStream::from_nonblocking(std::net::TcpStream::from(fd), READABLE | WRITABLE)?;
        Ok((s, addr))
    }

    /// An iterator over incoming connections (`accept` in a loop); it never ends.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = l.local_addr().unwrap();
    /// gevent_hub::spawn(move || { let _c = TcpStream::connect(addr).unwrap(); });
    /// let first = l.incoming().next().unwrap().unwrap();
    /// # drop(first);
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
    /// let l = gevent_hub::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(l.local_addr().unwrap().ip().is_loopback());
    /// ```
    ///
    /// # Errors
    ///
    /// `getsockname`'s error; `EBADF` after `close`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get()?.local_addr()
    }

    /// Another handle to the same listener (shares the fd and its registration; the socket
    /// closes when the last handle is dropped). Never fails; `io::Result` for std's signature.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_hub::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let l2 = l.try_clone().unwrap();
    /// assert_eq!(l.local_addr().unwrap(), l2.local_addr().unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// `EBADF` after `close`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        self.sock.get()?;
        Ok(self.clone())
    }

    /// Sets `IP_TTL`.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_hub::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// l.set_ttl(64).unwrap();
    /// assert_eq!(l.ttl().unwrap(), 64);
    /// ```
    ///
    /// # Errors
    ///
    /// `setsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.get()?.set_ttl(ttl)
    }

    /// `IP_TTL`.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_hub::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(l.ttl().unwrap() > 0);
    /// ```
    ///
    /// # Errors
    ///
    /// `getsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.get()?.ttl()
    }

    /// Takes the pending `SO_ERROR`.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_hub::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(l.take_error().unwrap().is_none());
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

    /// In non-blocking mode, `accept` returns `WouldBlock` instead of waiting. Shared by all
    /// handles.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_hub::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// l.set_nonblocking(true).unwrap();
    /// let e = l.accept().unwrap_err(); // nobody is connecting: no wait
    /// assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
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

    /// gevent's `close()`: closes the listener for every handle now; a greenlet waiting in
    /// `accept` wakes with `EBADF`. The fd is released when the last handle is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_hub::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let l2 = l.try_clone().unwrap();
    /// let g = gevent_hub::spawn(move || l2.accept().map(|_| ()).map_err(|e| e.raw_os_error()));
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// l.close();
    /// assert_eq!(g.get().unwrap(), Err(Some(libc::EBADF)));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn close(&self) {
        self.sock.close(true);
    }

    /// The std listener, deregistered and in blocking mode (unless `set_nonblocking(true)`).
    /// If other handles remain, they keep the socket: the result is a `dup` of it, which
    /// shares its non-blocking file status.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_hub::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let std_l: std::net::TcpListener = l.into_std().unwrap();
    /// # drop(std_l);
    /// ```
    ///
    /// # Errors
    ///
    /// `ioctl`/`dup` errors.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
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
    /// let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let l = gevent_hub::net::TcpListener::from_std(std_l).unwrap();
    /// # drop(l);
    /// ```
    ///
    /// # Errors
    ///
    /// If the poller refuses the fd.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn from_std(l: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            sock: Rc::new(Sock::from_blocking(l)?),
        })
    }
}

/// Iterator of [`TcpListener::incoming`].
///
/// # Examples
///
/// ```
/// use gevent_hub::net::{TcpListener, TcpStream};
/// let l = TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = l.local_addr().unwrap();
/// gevent_hub::spawn(move || (TcpStream::connect(addr).unwrap(), TcpStream::connect(addr).unwrap()));
/// assert_eq!(l.incoming().take(2).filter(Result::is_ok).count(), 2);
/// ```
#[derive(Debug)]
pub struct Incoming<'a> {
    /// The listener.
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;
    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A TCP connection (std's [`std::net::TcpStream`], cooperative).
///
/// Reads return as soon as some data is there; writes switch while the send buffer is full.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use gevent_hub::net::{TcpListener, TcpStream};
/// let l = TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = l.local_addr().unwrap();
/// gevent_hub::spawn(move || { let (mut s, _) = l.accept().unwrap(); s.write_all(b"hi").unwrap(); });
/// let mut c = TcpStream::connect(addr).unwrap();
/// let mut out = String::new();
/// c.read_to_string(&mut out).unwrap();
/// assert_eq!(out, "hi");
/// ```
#[derive(Clone)]
pub struct TcpStream {
    /// The socket, shared by clones.
    sock: Rc<Sock<std::net::TcpStream>>,
}

impl TcpStream {
    /// Wraps a connected non-blocking stream.
    fn from_nonblocking(s: std::net::TcpStream, ready: u8) -> io::Result<TcpStream> {
        Ok(TcpStream {
            sock: Rc::new(Sock::new(s, ready)?),
        })
    }

    /// Opens a connection to `addr`, trying each resolved address in turn (a non-blocking
    /// `connect`; the greenlet switches until it completes).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// The last address's error (`ConnectionRefused`...), or the resolver's.
    ///
    /// # Switches
    ///
    /// Yes, while connecting (and resolving a host name).
    ///
    /// # Kill safety
    ///
    /// A kill drops the half-open socket.
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(&addr, |a| connect_addr(a, None))
    }

    /// Opens a connection to one address, giving up after `timeout` (`TimedOut`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = TcpStream::connect_timeout(&l.local_addr().unwrap(), Duration::from_secs(5));
    /// assert!(s.is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// `TimedOut` if the connection is not established in time; `InvalidInput` for a zero
    /// timeout; `connect`'s errors.
    ///
    /// # Switches
    ///
    /// Yes, while connecting.
    ///
    /// # Kill safety
    ///
    /// A kill drops the half-open socket.
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        connect_addr(addr, Some(timeout))
    }

    /// The remote address.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// `NotConnected`; `EBADF` after `close`.
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
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let (_peer, addr) = l.accept().unwrap();
    /// assert_eq!(s.local_addr().unwrap(), addr);
    /// ```
    ///
    /// # Errors
    ///
    /// `getsockname`'s error; `EBADF` after `close`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get()?.local_addr()
    }

    /// Shuts down the read half, the write half, or both. Greenlets waiting to read wake and
    /// read end-of-file (the kernel wakes them), also through other handles.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use std::net::Shutdown;
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let mut reader = c.try_clone().unwrap();
    /// let g = gevent_hub::spawn(move || reader.read(&mut [0u8; 8]).unwrap());
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// c.shutdown(Shutdown::Both).unwrap();
    /// assert_eq!(g.get().unwrap(), 0);
    /// ```
    ///
    /// # Errors
    ///
    /// `shutdown`'s error (`NotConnected`); `EBADF` after `close`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.sock.get()?.shutdown(how)
    }

    /// Another handle to the same connection, for example to read in one greenlet and write
    /// in another. Shares the fd, its registration, the timeouts and the non-blocking flag;
    /// the socket closes when the last handle is dropped. Never fails (`io::Result` for std's
    /// signature).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut writer = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let mut reader = writer.try_clone().unwrap();
    /// let (mut peer, _) = l.accept().unwrap();
    /// gevent_hub::spawn(move || { let mut b = [0u8; 2]; peer.read_exact(&mut b).unwrap(); peer.write_all(&b).unwrap(); });
    /// writer.write_all(b"hi").unwrap();
    /// let mut b = [0u8; 2];
    /// reader.read_exact(&mut b).unwrap();
    /// assert_eq!(&b, b"hi");
    /// ```
    ///
    /// # Errors
    ///
    /// `EBADF` after `close`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        self.sock.get()?;
        Ok(self.clone())
    }

    /// Makes reads give up after `d` with `WouldBlock` (std's behaviour on Unix); `None`
    /// waits forever. Shared by all handles.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{io::Read, time::Duration};
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// c.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    /// let e = c.read(&mut [0u8; 4]).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
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

    /// Makes writes give up after `d` with `WouldBlock`; see
    /// [`set_read_timeout`](TcpStream::set_read_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    /// assert_eq!(s.write_timeout().unwrap(), Some(Duration::from_secs(1)));
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
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_eq!(s.read_timeout().unwrap(), None);
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
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_eq!(s.write_timeout().unwrap(), None);
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

    /// Reads without removing the data from the queue (`MSG_PEEK`); switches until some data
    /// (or end-of-file) is there.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let (s, _) = l.accept().unwrap();
    /// c.write_all(b"abc").unwrap();
    /// let mut buf = [0u8; 8];
    /// let n = s.peek(&mut buf).unwrap();
    /// assert_eq!(&buf[..n], b"abc");
    /// assert_eq!(s.peek(&mut buf).unwrap(), 3); // still there
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

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.set_nodelay(true).unwrap();
    /// assert!(s.nodelay().unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// `setsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.sock.get()?.set_nodelay(nodelay)
    }

    /// `TCP_NODELAY`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(!s.nodelay().unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// `getsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.sock.get()?.nodelay()
    }

    /// Sets `IP_TTL`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.set_ttl(10).unwrap();
    /// assert_eq!(s.ttl().unwrap(), 10);
    /// ```
    ///
    /// # Errors
    ///
    /// `setsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.get()?.set_ttl(ttl)
    }

    /// `IP_TTL`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(s.ttl().unwrap() > 0);
    /// ```
    ///
    /// # Errors
    ///
    /// `getsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.get()?.ttl()
    }

    /// Takes the pending `SO_ERROR`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(s.take_error().unwrap().is_none());
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

    /// In non-blocking mode, reads and writes return `WouldBlock` instead of waiting. Shared
    /// by all handles.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut s = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.set_nonblocking(true).unwrap();
    /// let e = s.read(&mut [0u8; 4]).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
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

    /// gevent's `close()`: closes the connection for every handle now. Greenlets waiting to
    /// read or write on it wake with `EBADF` ("closed in another greenlet"), later calls on
    /// any handle fail with `EBADF`, and the socket is shut down so the peer sees the end. The
    /// fd itself is released when the last handle is dropped (so its number is never reused
    /// under a handle that still exists). Dropping every handle closes too.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let mut reader = c.try_clone().unwrap();
    /// let g = gevent_hub::spawn(move || reader.read(&mut [0u8; 8]).map_err(|e| e.raw_os_error()));
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// c.close();
    /// assert_eq!(g.get().unwrap(), Err(Some(libc::EBADF)));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn close(&self) {
        self.sock.close(true);
    }

    /// The std stream, deregistered, in blocking mode unless `set_nonblocking(true)` was
    /// called, with the timeouts carried over to `SO_RCVTIMEO`/`SO_SNDTIMEO`. If other handles
    /// remain, they keep the socket: the result is a `dup` of it that shares its non-blocking
    /// file status.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let std_stream: std::net::TcpStream = c.into_std().unwrap();
    /// # drop(std_stream);
    /// ```
    ///
    /// # Errors
    ///
    /// `ioctl`/`setsockopt`/`dup` errors.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
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
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let std_s = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let s = gevent_hub::net::TcpStream::from_std(std_s).unwrap();
    /// assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// If the poller refuses the fd.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn from_std(s: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            sock: Rc::new(Sock::from_blocking(s)?),
        })
    }
}

/// Creates a non-blocking, close-on-exec socket for `a`'s family.
pub(crate) fn new_socket(a: &SocketAddr, ty: SocketType) -> io::Result<OwnedFd> {
    let family = if a.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    rustix::net::socket_with(
        family,
        ty,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )
    .map_err(errno)
}

/// A non-blocking connect: `EINPROGRESS`, then wait for writability, then `SO_ERROR`.
fn connect_addr(a: &SocketAddr, timeout: Option<Duration>) -> io::Result<TcpStream> {
    let fd = new_socket(a, SocketType::STREAM)?;
    let pending = match rustix::net::connect(&fd, a) {
        Ok(()) => false,
        Err(rustix::io::Errno::INPROGRESS) | Err(rustix::io::Errno::AGAIN) => true,
        Err(rustix::io::Errno::INTR) => true,
        Err(e) => return Err(errno(e)),
    };
    let s = TcpStream::from_nonblocking(std::net::TcpStream::from(fd), 0)?;
    if pending {
        match s.sock.wait_edge(WRITABLE, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::TimedOut && e.raw_os_error().is_none() => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection timed out",
                ))
            }
            Err(e) => return Err(e),
        }
        if let Some(e) = s.sock.raw().take_error()? {
            return Err(e);
        }
    }
    s.sock.set_ready(READABLE | WRITABLE);
    Ok(s)
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.recv(buf)
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.sock.recv_vectored(bufs)
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.recv(buf)
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.sock.recv_vectored(bufs)
    }
}

impl Write for TcpStream {
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

impl Write for &TcpStream {
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

macro_rules! fd_impls {
    ($t:ident, $std:ty) => {
        impl AsFd for $t {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.sock.as_fd()
            }
        }

        impl AsRawFd for $t {
            fn as_raw_fd(&self) -> RawFd {
                self.sock.raw().as_raw_fd()
            }
        }

        /// Takes the fd out (see `into_std` for what happens when other handles remain).
        ///
        /// # Panics
        ///
        /// If `dup` or `ioctl` fail.
        impl IntoRawFd for $t {
            fn into_raw_fd(self) -> RawFd {
                self.into_std()
                    .expect("cannot take the fd out of a cooperative socket")
                    .into_raw_fd()
            }
        }

        impl From<$t> for OwnedFd {
            fn from(s: $t) -> OwnedFd {
                OwnedFd::from(
                    s.into_std()
                        .expect("cannot take the fd out of a cooperative socket"),
                )
            }
        }

        /// Registers the socket with this thread's hub.
        ///
        /// # Panics
        ///
        /// If the poller refuses the fd (use `from_std` to get the error instead).
        impl From<$std> for $t {
            fn from(s: $std) -> $t {
                <$t>::from_std(s).expect("cannot register the socket with the hub's poller")
            }
        }

        /// Registers the socket with this thread's hub.
        ///
        /// # Panics
        ///
        /// If the poller refuses the fd.
        impl From<OwnedFd> for $t {
            fn from(fd: OwnedFd) -> $t {
                <$t>::from(<$std>::from(fd))
            }
        }

        impl FromRawFd for $t {
            /// # Safety
            ///
            /// `fd` must be an open socket of the right kind, owned by nobody else.
            ///
            /// # Panics
            ///
            /// If the poller refuses the fd.
            unsafe fn from_raw_fd(fd: RawFd) -> $t {
                // SAFETY: the caller hands over ownership of an open socket fd.
                <$t>::from(unsafe { <$std>::from_raw_fd(fd) })
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.sock.fmt(f)
            }
        }
    };
}

pub(crate) use fd_impls;

fd_impls!(TcpListener, std::net::TcpListener);
fd_impls!(TcpStream, std::net::TcpStream);
