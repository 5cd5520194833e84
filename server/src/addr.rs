//! Where a server listens: [`ServerAddr`].

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// An address a server can listen on, resolved when the server starts.
///
/// Implemented for `&str` and `String` (`"127.0.0.1:8000"`, `"[::1]:8000"`,
/// `"localhost:8000"`, and gevent's `":8000"` for all IPv4 interfaces), [`SocketAddr`] and
/// `(IpAddr, u16)`. Host names are resolved on the thread pool (the resolution switches).
///
/// # Examples
///
/// ```
/// use gevent_server::ServerAddr;
/// let a = ":8000".into_server_addr();
/// assert_eq!(a.resolve().unwrap()[0], "0.0.0.0:8000".parse().unwrap());
/// ```
pub trait ServerAddr {
    /// Converts into the stored form.
    fn into_server_addr(self) -> Addr;
}

/// A stored server address: literal addresses, or a host name to resolve at start.
///
/// # Examples
///
/// ```
/// use gevent_server::ServerAddr;
/// let a = "127.0.0.1:80".into_server_addr();
/// assert_eq!(a.to_string(), "127.0.0.1:80");
/// ```
#[derive(Debug, Clone)]
pub struct Addr {
    /// Literal addresses (empty when `host` is set).
    addrs: Vec<SocketAddr>,
    /// A `host:port` string to resolve, if not a literal.
    host: Option<String>,
}

impl Addr {
    /// The addresses, resolving a host name if needed.
    ///
    /// # Errors
    ///
    /// The resolver's error, or `InvalidInput` if no address results.
    ///
    /// # Switches
    ///
    /// Only to resolve a host name.
    ///
    /// # Kill safety
    ///
    /// A kill during the lookup abandons it: the resolver thread finishes it and the result is
    /// dropped.
    pub fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        let v: Vec<SocketAddr> = match &self.host {
            None => self.addrs.clone(),
            Some(h) => crate::net::lookup_host(h.as_str())?.collect(),
        };
        if v.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no address to listen on for {self}"),
            ));
        }
        Ok(v)
    }
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.host, self.addrs.first()) {
            (Some(h), _) => f.write_str(h),
            (None, Some(a)) => write!(f, "{a}"),
            (None, None) => f.write_str("(none)"),
        }
    }
}

impl ServerAddr for Addr {
    fn into_server_addr(self) -> Addr {
        self
    }
}

impl ServerAddr for &str {
    fn into_server_addr(self) -> Addr {
        if let Ok(a) = self.parse::<SocketAddr>() {
            return Addr {
                addrs: vec![a],
                host: None,
            };
        }
        // gevent's ":8000" (and "*:8000"): every IPv4 interface.
        let port = self
            .strip_prefix(':')
            .or_else(|| self.strip_prefix("*:"))
            .and_then(|p| p.parse::<u16>().ok());
        if let Some(p) = port {
            return Addr {
                addrs: vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), p)],
                host: None,
            };
        }
        Addr {
            addrs: Vec::new(),
            host: Some(self.to_string()),
        }
    }
}

impl ServerAddr for String {
    fn into_server_addr(self) -> Addr {
        self.as_str().into_server_addr()
    }
}

impl ServerAddr for &String {
    fn into_server_addr(self) -> Addr {
        self.as_str().into_server_addr()
    }
}

impl ServerAddr for SocketAddr {
    fn into_server_addr(self) -> Addr {
        Addr {
            addrs: vec![self],
            host: None,
        }
    }
}

impl ServerAddr for (IpAddr, u16) {
    fn into_server_addr(self) -> Addr {
        SocketAddr::new(self.0, self.1).into_server_addr()
    }
}
