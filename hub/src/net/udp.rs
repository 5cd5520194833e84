//! UDP: [`UdpSocket`].

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use rustix::net::{RecvFlags, SendFlags, SocketType};

use super::addr::{each_addr, ToSocketAddrs};
use super::sock::{errno, Sock};
use super::tcp::{fd_impls, new_socket};
use crate::io::{READABLE, WRITABLE};

/// A UDP socket (std's [`std::net::UdpSocket`], cooperative): receiving switches until a
/// datagram arrives.
///
/// # Examples
///
/// ```
/// use gevent_hub::net::UdpSocket;
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
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
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
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(&addr, |a| {
            let fd = new_socket(a, SocketType::DGRAM)?;
            rustix::net::bind(&fd, a).map_err(errno)?;
            Ok(UdpSocket {
                sock: Rc::new(Sock::new(
                    std::net::UdpSocket::from(fd),
                    READABLE | WRITABLE,
                )?),
            })
        })
    }

    /// Receives one datagram; switches until one arrives. Returns its length (truncated to
    /// `buf`) and its sender.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::UdpSocket;
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
    /// `Other` ([`ConcurrentUse`](crate::ConcurrentUse)) if another greenlet already waits to
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
    /// use gevent_hub::net::UdpSocket;
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
                .map_err(errno)
        })?;
        Ok((n, peer(a)?))
    }

    /// Sends `buf` to `addr` (the first address it resolves to).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::UdpSocket;
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
        self.sock
            .write(|s| rustix::net::sendto(s, buf, SendFlags::NOSIGNAL, &a).map_err(errno))
    }

    /// Connects the socket to `addr`: `send`/`recv` then use it, and datagrams from other
    /// addresses are dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::UdpSocket;
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
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let s = self.sock.get()?;
        each_addr(&addr, |a| rustix::net::connect(s, a).map_err(errno))
    }

    /// Sends `buf` to the connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::UdpSocket;
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
        self.sock
            .write(|s| rustix::net::send(s, buf, SendFlags::NOSIGNAL).map_err(errno))
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::UdpSocket;
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
        self.recv_flags(buf, RecvFlags::empty())
    }

    /// Like [`recv`](UdpSocket::recv), leaving the datagram queued.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::UdpSocket;
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
        self.recv_flags(buf, RecvFlags::PEEK)
    }

    fn recv_flags(&self, buf: &mut [u8], flags: RecvFlags) -> io::Result<usize> {
        self.sock.read(|s| {
            rustix::net::recv(s, &mut *buf, flags)
                .map(|(n, _)| n)
                .map_err(errno)
        })
    }

    /// The remote address of a connected socket.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::net::UdpSocket;
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

    /// The local address.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
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

    /// Another handle to the same socket (shares the fd and its registration).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let s2 = s.try_clone().unwrap();
    /// assert_eq!(s.local_addr().unwrap(), s2.local_addr().unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// `EBADF` after `close`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        self.sock.get()?;
        Ok(self.clone())
    }

    /// Makes receives give up after `d` with `WouldBlock`; `None` waits forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    /// let e = s.recv_from(&mut [0u8; 8]).unwrap_err();
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

    /// Makes sends give up after `d` with `WouldBlock`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
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
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
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
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
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

    /// In non-blocking mode, calls return `WouldBlock` instead of waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_nonblocking(true).unwrap();
    /// let e = s.recv_from(&mut [0u8; 8]).unwrap_err();
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

    /// Sets `SO_BROADCAST`.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_broadcast(true).unwrap();
    /// assert!(s.broadcast().unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// `setsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.sock.get()?.set_broadcast(on)
    }

    /// `SO_BROADCAST`.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(!s.broadcast().unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// `getsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.sock.get()?.broadcast()
    }

    /// Sets `IP_MULTICAST_LOOP`.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_multicast_loop_v4(false).unwrap();
    /// assert!(!s.multicast_loop_v4().unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// `setsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.sock.get()?.set_multicast_loop_v4(on)
    }

    /// `IP_MULTICAST_LOOP`.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.multicast_loop_v4().unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// `getsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.sock.get()?.multicast_loop_v4()
    }

    /// Sets `IP_MULTICAST_TTL`.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_multicast_ttl_v4(4).unwrap();
    /// assert_eq!(s.multicast_ttl_v4().unwrap(), 4);
    /// ```
    ///
    /// # Errors
    ///
    /// `setsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.sock.get()?.set_multicast_ttl_v4(ttl)
    }

    /// `IP_MULTICAST_TTL`.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(s.multicast_ttl_v4().unwrap(), 1);
    /// ```
    ///
    /// # Errors
    ///
    /// `getsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.sock.get()?.multicast_ttl_v4()
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_hub::net::UdpSocket::bind("[::1]:0");
    /// if let Ok(s) = s { // no IPv6 here? nothing to show
    ///     s.set_multicast_loop_v6(false).unwrap();
    ///     assert!(!s.multicast_loop_v6().unwrap());
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
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.sock.get()?.set_multicast_loop_v6(on)
    }

    /// `IPV6_MULTICAST_LOOP`.
    ///
    /// # Examples
    ///
    /// ```
    /// if let Ok(s) = gevent_hub::net::UdpSocket::bind("[::1]:0") {
    ///     assert!(s.multicast_loop_v6().unwrap());
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// `getsockopt`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.sock.get()?.multicast_loop_v6()
    }

    /// Joins an IPv4 multicast group.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// let s = gevent_hub::net::UdpSocket::bind("0.0.0.0:0").unwrap();
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
    /// if let Ok(s) = gevent_hub::net::UdpSocket::bind("[::]:0") {
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
    /// let s = gevent_hub::net::UdpSocket::bind("0.0.0.0:0").unwrap();
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
    /// if let Ok(s) = gevent_hub::net::UdpSocket::bind("[::]:0") {
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

    /// Sets `IP_TTL`.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_ttl(9).unwrap();
    /// assert_eq!(s.ttl().unwrap(), 9);
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
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
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
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
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

    /// gevent's `close()`: closes the socket for every handle now; a greenlet waiting on it
    /// wakes with `EBADF`. The fd is released when the last handle is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let s2 = s.try_clone().unwrap();
    /// let g = gevent_hub::spawn(move || s2.recv_from(&mut [0u8; 8]).map(|_| ()).map_err(|e| e.raw_os_error()));
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// s.close();
    /// assert_eq!(g.get().unwrap(), Err(Some(libc::EBADF)));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn close(&self) {
        self.sock.close(false);
    }

    /// The std socket, deregistered and in blocking mode (unless `set_nonblocking(true)`);
    /// a `dup` if other handles remain (see [`TcpStream::into_std`](super::TcpStream::into_std)).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let std_s: std::net::UdpSocket = s.into_std().unwrap();
    /// # drop(std_s);
    /// ```
    ///
    /// # Errors
    ///
    /// `ioctl`/`setsockopt`/`dup` errors.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        match Rc::try_unwrap(self.sock) {
            Ok(s) => s.into_blocking(),
            Err(rc) => rc.raw().try_clone(),
        }
    }

    /// Registers a std socket (made non-blocking underneath).
    ///
    /// # Examples
    ///
    /// ```
    /// let std_s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let s = gevent_hub::net::UdpSocket::from_std(std_s).unwrap();
    /// # drop(s);
    /// ```
    ///
    /// # Errors
    ///
    /// If the poller refuses the fd.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn from_std(s: std::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            sock: Rc::new(Sock::from_blocking(s)?),
        })
    }
}

fd_impls!(UdpSocket, std::net::UdpSocket);
