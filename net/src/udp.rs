//! UDP: [`UdpSocket`].

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;

use gevent_hub::reactor::Interest;
use rustix::net::{RecvFlags, SendFlags, SocketType};

use crate::addr::{each_addr, ToSocketAddrs};
use crate::common::{socket_common, socket_option, socket_timeouts};
use crate::sock::Sock;
use crate::tcp::new_socket;

/// A UDP socket (std's [`std::net::UdpSocket`], cooperative): receiving switches until a
/// datagram arrives.
///
/// # Examples
///
/// ```
/// use gevent_net::UdpSocket;
/// let server = UdpSocket::bind("127.0.0.1:0").unwrap();
/// let addr = server.local_addr().unwrap();
/// let g = gevent_hub::spawn(move || {
///     let mut buf = [0u8; 64];
///     let (n, from) = server.recv_from(&mut buf).unwrap();
///     server.send_to(&buf[..n], from).unwrap();
/// });
/// let client = UdpSocket::bind("127.0.0.1:0").unwrap();
/// client.send_to(b"ping", addr).unwrap();
/// let mut buf = [0u8; 64];
/// let (n, from) = client.recv_from(&mut buf).unwrap();
/// assert_eq!((&buf[..n], from), (&b"ping"[..], addr));
/// g.join();
/// ```
#[derive(Clone)]
pub struct UdpSocket {
    /// The socket, shared by clones.
    sock: Rc<Sock<std::net::UdpSocket>>,
}

/// Converts a peer address from `recvfrom`.
fn peer(a: Option<rustix::net::SocketAddrAny>) -> io::Result<SocketAddr> {
    a.and_then(|a| SocketAddr::try_from(a).ok())
        .ok_or_else(|| io::Error::other("recvfrom returned no IP address"))
}

impl UdpSocket {
    /// Creates a socket bound to `addr` (each resolved address tried in turn).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_ne!(s.local_addr().unwrap().port(), 0);
    /// ```
    ///
    /// # Errors
    ///
    /// The last address's error, or the resolver's.
    ///
    /// # Switches
    ///
    /// Only to resolve a host name.
    ///
    /// # Kill safety
    ///
    /// A kill during a host-name lookup abandons it (the resolver thread finishes it and the
    /// result is dropped); no socket is made.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(&addr, |a| {
            let fd = new_socket(a, SocketType::DGRAM)?;
            rustix::net::bind(&fd, a).map_err(io::Error::from)?;
            Ok(UdpSocket {
                sock: Rc::new(Sock::new(std::net::UdpSocket::from(fd), Interest::BOTH)?),
            })
        })
    }

    /// Receives one datagram; switches until one arrives. Returns its length (truncated to
    /// `buf`) and its sender.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_net::UdpSocket;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0").unwrap(), UdpSocket::bind("127.0.0.1:0").unwrap());
    /// b.send_to(b"hi", a.local_addr().unwrap()).unwrap();
    /// let mut buf = [0u8; 16];
    /// let (n, from) = a.recv_from(&mut buf).unwrap();
    /// assert_eq!((&buf[..n], from), (&b"hi"[..], b.local_addr().unwrap()));
    /// ```
    ///
    /// # Errors
    ///
    /// `WouldBlock` after the read timeout or in non-blocking mode; `EBADF` after `close`;
    /// `Other` ([`ConcurrentUse`](gevent_hub::reactor::ConcurrentUse)) if another greenlet already waits to
    /// receive on this socket.
    ///
    /// # Switches
    ///
    /// Yes, until a datagram arrives.
    ///
    /// # Kill safety
    ///
    /// A kill while waiting received nothing.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.recv_from_flags(buf, RecvFlags::empty())
    }

    /// Like [`recv_from`](UdpSocket::recv_from), leaving the datagram queued (`MSG_PEEK`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_net::UdpSocket;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0").unwrap(), UdpSocket::bind("127.0.0.1:0").unwrap());
    /// b.send_to(b"hi", a.local_addr().unwrap()).unwrap();
    /// let mut buf = [0u8; 16];
    /// assert_eq!(a.peek_from(&mut buf).unwrap().0, 2);
    /// assert_eq!(a.recv_from(&mut buf).unwrap().0, 2); // still queued
    /// ```
    ///
    /// # Errors
    ///
    /// As `recv_from`.
    ///
    /// # Switches
    ///
    /// Yes, until a datagram arrives.
    ///
    /// # Kill safety
    ///
    /// Nothing is consumed.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.recv_from_flags(buf, RecvFlags::PEEK)
    }

    fn recv_from_flags(&self, buf: &mut [u8], flags: RecvFlags) -> io::Result<(usize, SocketAddr)> {
        let (n, a) = self.sock.read(|s| {
            rustix::net::recvfrom(s, &mut *buf, flags)
                .map(|(n, _, a)| (n, a))
                .map_err(io::Error::from)
        })?;
        Ok((n, peer(a)?))
    }

    /// Sends `buf` to `addr` (the first address it resolves to).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_net::UdpSocket;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0").unwrap(), UdpSocket::bind("127.0.0.1:0").unwrap());
    /// assert_eq!(b.send_to(b"hello", a.local_addr().unwrap()).unwrap(), 5);
    /// ```
    ///
    /// # Errors
    ///
    /// `sendto`'s error; `InvalidInput` if `addr` resolves to nothing.
    ///
    /// # Switches
    ///
    /// Only if the send buffer is full, or to resolve a host name.
    ///
    /// # Kill safety
    ///
    /// A kill while waiting sent nothing.
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let a = addr.resolve()?.into_iter().next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no addresses to send data to")
        })?;
        self.sock.write(|s| {
            rustix::net::sendto(s, buf, SendFlags::NOSIGNAL, &a).map_err(io::Error::from)
        })
    }

    /// Connects the socket to `addr`: `send`/`recv` then use it, and datagrams from other
    /// addresses are dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_net::UdpSocket;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0").unwrap(), UdpSocket::bind("127.0.0.1:0").unwrap());
    /// b.connect(a.local_addr().unwrap()).unwrap();
    /// assert_eq!(b.peer_addr().unwrap(), a.local_addr().unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// `connect`'s error, or the resolver's.
    ///
    /// # Switches
    ///
    /// Only to resolve a host name.
    ///
    /// # Kill safety
    ///
    /// A kill during a host-name lookup abandons it; the socket is left as it was, not
    /// connected.
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let s = self.sock.get()?;
        each_addr(&addr, |a| {
            rustix::net::connect(s, a).map_err(io::Error::from)
        })
    }

    /// Sends `buf` to the connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_net::UdpSocket;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0").unwrap(), UdpSocket::bind("127.0.0.1:0").unwrap());
    /// b.connect(a.local_addr().unwrap()).unwrap();
    /// b.send(b"x").unwrap();
    /// assert_eq!(a.recv_from(&mut [0u8; 4]).unwrap().0, 1);
    /// ```
    ///
    /// # Errors
    ///
    /// `send`'s error (`NotConnected`...).
    ///
    /// # Switches
    ///
    /// Only if the send buffer is full.
    ///
    /// # Kill safety
    ///
    /// A kill while waiting sent nothing.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.sock.send(buf)
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_net::UdpSocket;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0").unwrap(), UdpSocket::bind("127.0.0.1:0").unwrap());
    /// a.connect(b.local_addr().unwrap()).unwrap();
    /// b.send_to(b"abc", a.local_addr().unwrap()).unwrap();
    /// assert_eq!(a.recv(&mut [0u8; 8]).unwrap(), 3);
    /// ```
    ///
    /// # Errors
    ///
    /// As `recv_from`.
    ///
    /// # Switches
    ///
    /// Yes, until a datagram arrives.
    ///
    /// # Kill safety
    ///
    /// A kill while waiting received nothing.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.recv(buf, false)
    }

    /// Like [`recv`](UdpSocket::recv), leaving the datagram queued.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_net::UdpSocket;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0").unwrap(), UdpSocket::bind("127.0.0.1:0").unwrap());
    /// a.connect(b.local_addr().unwrap()).unwrap();
    /// b.send_to(b"abc", a.local_addr().unwrap()).unwrap();
    /// assert_eq!(a.peek(&mut [0u8; 8]).unwrap(), 3);
    /// assert_eq!(a.recv(&mut [0u8; 8]).unwrap(), 3);
    /// ```
    ///
    /// # Errors
    ///
    /// As `recv_from`.
    ///
    /// # Switches
    ///
    /// Yes, until a datagram arrives.
    ///
    /// # Kill safety
    ///
    /// Nothing is consumed.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.recv(buf, true)
    }

    /// The remote address of a connected socket.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_net::UdpSocket;
    /// let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(s.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    /// ```
    ///
    /// # Errors
    ///
    /// `NotConnected`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get()?.peer_addr()
    }

    /// Joins an IPv4 multicast group.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// let s = gevent_net::UdpSocket::bind("0.0.0.0:0").unwrap();
    /// let group = Ipv4Addr::new(239, 255, 0, 1);
    /// // Needs a multicast-capable interface: the result depends on the machine.
    /// if s.join_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED).is_ok() {
    ///     s.leave_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED).unwrap();
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// `setsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn join_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.sock.get()?.join_multicast_v4(multiaddr, interface)
    }

    /// Joins an IPv6 multicast group.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv6Addr;
    /// if let Ok(s) = gevent_net::UdpSocket::bind("[::]:0") {
    ///     let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x1234);
    ///     if s.join_multicast_v6(&group, 0).is_ok() {
    ///         s.leave_multicast_v6(&group, 0).unwrap();
    ///     }
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// `setsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.sock.get()?.join_multicast_v6(multiaddr, interface)
    }

    /// Leaves an IPv4 multicast group.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// let s = gevent_net::UdpSocket::bind("0.0.0.0:0").unwrap();
    /// let group = Ipv4Addr::new(239, 255, 0, 2);
    /// // Leaving a group never joined fails.
    /// assert!(s.leave_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// `setsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn leave_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.sock.get()?.leave_multicast_v4(multiaddr, interface)
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv6Addr;
    /// if let Ok(s) = gevent_net::UdpSocket::bind("[::]:0") {
    ///     let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x1235);
    ///     assert!(s.leave_multicast_v6(&group, 0).is_err());
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// `setsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.sock.get()?.leave_multicast_v6(multiaddr, interface)
    }
}

socket_common!(
    UdpSocket, std::net::UdpSocket, SocketAddr,
    new: "use gevent_net::UdpSocket;\nlet s = UdpSocket::bind(\"127.0.0.1:0\").unwrap();",
    end: "", op: "s.recv(&mut [0u8; 1])",
);
socket_timeouts!(
    UdpSocket,
    new: "use gevent_net::UdpSocket;\nlet s = UdpSocket::bind(\"127.0.0.1:0\").unwrap();",
    end: "", op: "s.recv(&mut [0u8; 1])",
);
socket_option!(
    UdpSocket, new: "let s = gevent_net::UdpSocket::bind(\"127.0.0.1:0\").unwrap();", end: "";
    "IP_TTL": set_ttl, ttl: u32 = 9;
    "SO_BROADCAST": set_broadcast, broadcast: bool = true;
    "IP_MULTICAST_LOOP": set_multicast_loop_v4, multicast_loop_v4: bool = false;
    "IP_MULTICAST_TTL": set_multicast_ttl_v4, multicast_ttl_v4: u32 = 4;
);
socket_option!(
    UdpSocket,
    new: "let Ok(s) = gevent_net::UdpSocket::bind(\"[::1]:0\") else { return }; // no IPv6 here",
    end: "";
    "IPV6_MULTICAST_LOOP": set_multicast_loop_v6, multicast_loop_v6: bool = false;
);
