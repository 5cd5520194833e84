//! Unix domain stream sockets (std's `std::os::unix::net`, cooperative): [`UnixListener`],
//! [`UnixStream`].
//!
//! # Examples
//!
//! ```
//! use std::io::{Read, Write};
//! use gevent_net::unix::UnixStream;
//! let (mut a, mut b) = UnixStream::pair().unwrap();
//! let g = gevent_hub::spawn(move || { let mut s = String::new(); b.read_to_string(&mut s).unwrap(); s });
//! a.write_all(b"over the socket").unwrap();
//! drop(a);
//! assert_eq!(g.get().unwrap(), "over the socket");
//! ```

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::reactor::Interest;
use rustix::net::{AddressFamily, SocketFlags, SocketType};

use crate::common::{socket_common, socket_listener, socket_stream, socket_timeouts};
use crate::sock::Sock;

/// A Unix domain socket server (std's [`std::os::unix::net::UnixListener`], cooperative).
///
/// # Examples
///
/// ```
/// use gevent_net::unix::{UnixListener, UnixStream};
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
    /// let l = gevent_net::unix::UnixListener::bind(&path).unwrap();
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
    /// use gevent_net::unix::{UnixListener, UnixStream};
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
    /// ([`ConcurrentUse`](gevent_hub::reactor::ConcurrentUse)) if another greenlet already
    /// waits in `accept`.
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
            rustix::net::accept_with(l, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC)
                .map_err(io::Error::from)
        })?;
        let s = UnixStream::from_nonblocking(fd)?;
        let addr = s.sock.raw().peer_addr()?;
        Ok((s, addr))
    }
}

/// The doc snippet that makes a listener `s` on a fresh path (removed by [`unix_end`]).
macro_rules! unix_listener {
    () => {
        "use gevent_net::unix::{UnixListener, UnixStream};\n\
         let path = std::env::temp_dir().join(format!(\"gevent-doc-{}.sock\", std::process::id()));\n\
         # let _ = std::fs::remove_file(&path);\nlet s = UnixListener::bind(&path).unwrap();"
    };
}

/// The doc snippet that removes the path of [`unix_listener`].
macro_rules! unix_end {
    () => {
        "# std::fs::remove_file(&path).unwrap();"
    };
}

socket_common!(
    UnixListener, std::os::unix::net::UnixListener, SocketAddr,
    new: unix_listener!(), end: unix_end!(), op: "s.accept()",
);
socket_listener!(
    UnixListener, UnixStream,
    new: unix_listener!(), end: unix_end!(),
    connect: "let (c1, c2) = (UnixStream::connect(&path).unwrap(), UnixStream::connect(&path).unwrap());",
);

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
    fn from_nonblocking(fd: OwnedFd) -> io::Result<UnixStream> {
        let s = std::os::unix::net::UnixStream::from(fd);
        Ok(UnixStream {
            sock: Rc::new(Sock::new(s, Interest::BOTH)?),
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
    /// use gevent_net::unix::{UnixListener, UnixStream};
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
        let addr = rustix::net::SocketAddrUnix::new(path.as_ref())?;
        let fd = rustix::net::socket_with(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            None,
        )?;
        let mut pause = Duration::from_micros(100);
        loop {
            match rustix::net::connect(&fd, &addr) {
                Ok(()) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::AGAIN) => {
                    gevent_hub::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(e) => return Err(e.into()),
            }
        }
        UnixStream::from_nonblocking(fd)
    }

    /// A connected pair of sockets.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// let (mut a, mut b) = gevent_net::unix::UnixStream::pair().unwrap();
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
        let (a, b) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            None,
        )?;
        Ok((
            UnixStream::from_nonblocking(a)?,
            UnixStream::from_nonblocking(b)?,
        ))
    }

    /// The remote address.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gevent_net::unix::UnixStream::pair().unwrap();
    /// assert!(a.peer_addr().unwrap().is_unnamed());
    /// ```
    ///
    /// # Errors
    ///
    /// `getpeername`'s error; `EBADF` after `close`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get()?.peer_addr()
    }
}

/// The doc snippet that makes a connected pair: `s` and its `peer`.
macro_rules! unix_pair {
    () => {
        "use gevent_net::unix::UnixStream;\nlet (s, peer) = UnixStream::pair().unwrap();"
    };
}

socket_common!(
    UnixStream, std::os::unix::net::UnixStream, SocketAddr,
    new: unix_pair!(), end: "", op: "(&s).read(&mut [0u8; 1])",
);
socket_timeouts!(UnixStream, new: unix_pair!(), end: "", op: "(&s).read(&mut [0u8; 1])");
socket_stream!(UnixStream, new: unix_pair!(), end: "");
