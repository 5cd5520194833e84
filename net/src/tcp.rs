//! TCP: [`TcpListener`] and [`TcpStream`].

use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::reactor::Interest;
use rustix::net::{AddressFamily, SocketFlags, SocketType};

use crate::addr::{each_addr, ToSocketAddrs};
use crate::common::{
    socket_common, socket_listener, socket_option, socket_stream, socket_timeouts,
};
use crate::sock::Sock;

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
/// use gevent_net::TcpListener;
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
    /// let l = gevent_net::TcpListener::bind("127.0.0.1:0").unwrap();
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
    ///
    /// # Kill safety
    ///
    /// A kill during a host-name lookup abandons it (the resolver thread finishes it and the
    /// result is dropped); no socket is made.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(&addr, |a| {
            let fd = new_socket(a, SocketType::STREAM)?;
            rustix::net::sockopt::set_socket_reuseaddr(&fd, true)?;
            rustix::net::bind(&fd, a)?;
            rustix::net::listen(&fd, BACKLOG)?;
            let sock = Sock::new(std::net::TcpListener::from(fd), Interest::BOTH)?;
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
    /// use gevent_net::{TcpListener, TcpStream};
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
    /// ([`ConcurrentUse`](gevent_hub::reactor::ConcurrentUse)) if another greenlet already
    /// waits in `accept` on this listener.
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
                .map_err(io::Error::from)
        })?;
        let addr = addr
            .and_then(|a| SocketAddr::try_from(a).ok())
            .ok_or_else(|| io::Error::other("accept returned no peer address"))?;
        let s = TcpStream::from_nonblocking(fd, Interest::BOTH)?;
        Ok((s, addr))
    }
}

socket_common!(
    TcpListener, std::net::TcpListener, SocketAddr,
    new: "use gevent_net::TcpListener;\nlet s = TcpListener::bind(\"127.0.0.1:0\").unwrap();",
    end: "",
    op: "s.accept()",
);
socket_listener!(
    TcpListener, TcpStream,
    new: "use gevent_net::{TcpListener, TcpStream};\nlet s = TcpListener::bind(\"127.0.0.1:0\").unwrap();",
    end: "",
    connect: "let a = s.local_addr().unwrap();\nlet (c1, c2) = (TcpStream::connect(a).unwrap(), TcpStream::connect(a).unwrap());",
);
socket_option!(
    TcpListener,
    new: "let s = gevent_net::TcpListener::bind(\"127.0.0.1:0\").unwrap();",
    end: "";
    "IP_TTL": set_ttl, ttl: u32 = 64;
);

/// A TCP connection (std's [`std::net::TcpStream`], cooperative).
///
/// Reads return as soon as some data is there; writes switch while the send buffer is full.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use gevent_net::{TcpListener, TcpStream};
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
    /// Wraps a connected (or connecting) non-blocking stream.
    fn from_nonblocking(fd: OwnedFd, ready: Interest) -> io::Result<TcpStream> {
        Ok(TcpStream {
            sock: Rc::new(Sock::new(std::net::TcpStream::from(fd), ready)?),
        })
    }

    /// Opens a connection to `addr`, trying each resolved address in turn (a non-blocking
    /// `connect`; the greenlet switches until it completes). Python's
    /// `socket.create_connection(address)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_net::{TcpListener, TcpStream};
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
    #[doc(alias = "create_connection")]
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(&addr, |a| connect_addr(a, None))
    }

    /// Opens a connection to one address, giving up after `timeout` (`TimedOut`). Python's
    /// `socket.create_connection(address, timeout)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gevent_net::{TcpListener, TcpStream};
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
    #[doc(alias = "create_connection")]
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
    /// use gevent_net::{TcpListener, TcpStream};
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
}

/// The doc snippet that makes a connected `TcpStream` `s` and its accepted `peer`.
macro_rules! tcp_pair {
    () => {
        "use gevent_net::{TcpListener, TcpStream};\nlet l = TcpListener::bind(\"127.0.0.1:0\").unwrap();\n\
         let s = TcpStream::connect(l.local_addr().unwrap()).unwrap();\nlet (peer, _) = l.accept().unwrap();"
    };
}

socket_common!(
    TcpStream, std::net::TcpStream, SocketAddr,
    new: tcp_pair!(), end: "", op: "(&s).read(&mut [0u8; 1])",
);
socket_timeouts!(TcpStream, new: tcp_pair!(), end: "", op: "(&s).read(&mut [0u8; 1])");
socket_stream!(TcpStream, new: tcp_pair!(), end: "");
socket_option!(
    TcpStream, new: tcp_pair!(), end: "";
    "IP_TTL": set_ttl, ttl: u32 = 64;
    "TCP_NODELAY": set_nodelay, nodelay: bool = true;
);

/// Creates a non-blocking, close-on-exec socket for `a`'s family.
pub(crate) fn new_socket(a: &SocketAddr, ty: SocketType) -> io::Result<OwnedFd> {
    let family = if a.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    Ok(rustix::net::socket_with(
        family,
        ty,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?)
}

/// A non-blocking connect: `EINPROGRESS`, then wait for writability, then `SO_ERROR`.
fn connect_addr(a: &SocketAddr, timeout: Option<Duration>) -> io::Result<TcpStream> {
    let fd = new_socket(a, SocketType::STREAM)?;
    let pending = match rustix::net::connect(&fd, a) {
        Ok(()) => false,
        Err(rustix::io::Errno::INPROGRESS | rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {
            true
        }
        Err(e) => return Err(e.into()),
    };
    if !pending {
        return TcpStream::from_nonblocking(fd, Interest::BOTH);
    }
    let s = TcpStream::from_nonblocking(fd, Interest::NONE)?;
    s.sock.wait_connected(timeout)?;
    if let Some(e) = s.sock.raw().take_error()? {
        return Err(e);
    }
    Ok(s)
}
