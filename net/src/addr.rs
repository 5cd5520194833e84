//! Addresses: the cooperative [`ToSocketAddrs`] (host names resolved on the thread pool) and
//! [`lookup_host`].

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// What `bind`, `connect` and `send_to` accept: the same types as std's
/// [`std::net::ToSocketAddrs`] (`SocketAddr`, `(IpAddr, u16)`, `(&str, u16)`, `"host:port"`,
/// `&[SocketAddr]`...), except that a host name is resolved on the thread pool while the
/// calling greenlet waits, instead of blocking the thread in `getaddrinfo`. IP literals are
/// parsed in place.
///
/// The trait is sealed: its method is this crate's business.
///
/// # Examples
///
/// ```
/// use gevent_net::UdpSocket;
/// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
/// let b = UdpSocket::bind(("localhost", 0)).unwrap(); // resolved on the thread pool
/// assert!(b.local_addr().unwrap().ip().is_loopback());
/// # drop(a);
/// ```
pub trait ToSocketAddrs: sealed::Resolve {}

pub(crate) mod sealed {
    use std::io;
    use std::net::SocketAddr;

    /// The resolution itself (may switch to the hub).
    pub trait Resolve {
        /// The addresses, in order.
        #[doc(hidden)]
        fn resolve(&self) -> io::Result<Vec<SocketAddr>>;
    }
}

use sealed::Resolve;

macro_rules! literal {
    ($($t:ty),*) => {$(
        impl Resolve for $t {
            fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
                Ok(vec![SocketAddr::from(*self)])
            }
        }
        impl ToSocketAddrs for $t {}
    )*};
}

literal!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl Resolve for (&str, u16) {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        let (host, port) = *self;
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        gevent_threadpool::resolver::resolve(host, port)
    }
}
impl ToSocketAddrs for (&str, u16) {}

impl Resolve for (String, u16) {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        (self.0.as_str(), self.1).resolve()
    }
}
impl ToSocketAddrs for (String, u16) {}

impl Resolve for str {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        if let Ok(a) = self.parse::<SocketAddr>() {
            return Ok(vec![a]);
        }
        let invalid = || io::Error::new(io::ErrorKind::InvalidInput, "invalid socket address");
        let (host, port) = self.rsplit_once(':').ok_or_else(invalid)?;
        let port: u16 = port
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "invalid port value"))?;
        (host, port).resolve()
    }
}
impl ToSocketAddrs for str {}

impl Resolve for String {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        self.as_str().resolve()
    }
}
impl ToSocketAddrs for String {}

impl Resolve for [SocketAddr] {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(self.to_vec())
    }
}
impl ToSocketAddrs for [SocketAddr] {}

impl<T: Resolve + ?Sized> Resolve for &T {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        (**self).resolve()
    }
}
impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}

/// Resolves `addr` (`"host:port"`, `("host", port)`...) into socket addresses, running
/// `getaddrinfo` on the thread pool while the calling greenlet waits (tokio's `lookup_host`,
/// gevent's `getaddrinfo` through the threaded resolver).
///
/// # Examples
///
/// ```
/// let addrs: Vec<_> = gevent_net::lookup_host("localhost:80").unwrap().collect();
/// assert!(addrs.iter().all(|a| a.port() == 80 && a.ip().is_loopback()));
/// ```
///
/// # Errors
///
/// A malformed address (`InvalidInput`), or the resolver's error (an unknown host...).
///
/// # Switches
///
/// Yes, while a host name is resolved; never for an IP literal.
///
/// # Kill safety
///
/// A kill abandons the lookup: the worker thread finishes it and the result is dropped.
#[doc(alias = "getaddrinfo")]
pub fn lookup_host<A: ToSocketAddrs>(addr: A) -> io::Result<std::vec::IntoIter<SocketAddr>> {
    Ok(addr.resolve()?.into_iter())
}

/// The first IPv4 address of `name` (gevent's `socket.gethostbyname`), or its first address
/// of any family if it has none; a name that is an IP literal is parsed, not looked up. Runs
/// `getaddrinfo` on the thread pool while the calling greenlet waits; the same as
/// [`gevent_threadpool::resolver::gethostbyname`].
///
/// # Examples
///
/// ```
/// let ip = gevent_net::gethostbyname("localhost").unwrap();
/// assert!(ip.is_loopback());
/// assert_eq!(gevent_net::gethostbyname("10.1.2.3").unwrap().to_string(), "10.1.2.3");
/// ```
///
/// # Errors
///
/// The resolver's error (an unknown host...); `NotFound` if the name has no address.
///
/// # Switches
///
/// Yes, while a host name is resolved; never for an IP literal.
///
/// # Kill safety
///
/// A kill abandons the lookup: the worker thread finishes it and the result is dropped.
pub fn gethostbyname(name: &str) -> io::Result<IpAddr> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(ip);
    }
    gevent_threadpool::resolver::gethostbyname(name)
}

/// Tries `f` on each address in turn; returns the first success, or the last error.
pub(crate) fn each_addr<A: ToSocketAddrs + ?Sized, R>(
    addr: &A,
    mut f: impl FnMut(&SocketAddr) -> io::Result<R>,
) -> io::Result<R> {
    let mut last = None;
    for a in addr.resolve()? {
        match f(&a) {
            Ok(r) => return Ok(r),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}
