//! DNS resolution on the thread pool (gevent's default threaded resolver,
//! `gevent.resolver.thread`).
//!
//! `getaddrinfo` blocks, and glibc's internal calls cannot be made cooperative, so the whole
//! call runs on a worker of this thread's default [`ThreadPool`](crate::ThreadPool)
//! while the calling greenlet waits; other greenlets keep running. Addresses that are IP
//! literals never get here (the socket types parse them in place).
//!
//! # Examples
//!
//! ```
//! let addrs = gevent_threadpool::resolver::resolve("localhost", 8080).unwrap();
//! assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
//! ```

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// Resolves `host` (a name or an IP literal) with `port`, on the thread pool; the addresses
/// come in `getaddrinfo`'s order.
///
/// # Examples
///
/// ```
/// let a = gevent_threadpool::resolver::resolve("127.0.0.1", 1).unwrap();
/// assert_eq!(a, ["127.0.0.1:1".parse().unwrap()]);
/// ```
///
/// # Errors
///
/// The resolver's error (an unknown host gives an error whose text comes from
/// `getaddrinfo`).
///
/// # Switches
///
/// Yes, while the lookup runs (even for an IP literal: use the socket types, or parse it,
/// to avoid the trip).
///
/// # Kill safety
///
/// A kill abandons the lookup; the worker finishes it and drops the result.
pub fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let host = host.to_owned();
    crate::default().apply(move || {
        (host.as_str(), port)
            .to_socket_addrs()
            .map(Iterator::collect)
    })
}

/// The first IPv4 address of `host` (gevent's `gethostbyname`), or its first address of any
/// family if it has no IPv4 one.
///
/// # Examples
///
/// ```
/// let ip = gevent_threadpool::resolver::gethostbyname("localhost").unwrap();
/// assert!(ip.is_loopback());
/// ```
///
/// # Errors
///
/// The resolver's error; `NotFound` if the name has no address.
///
/// # Switches
///
/// Yes, while the lookup runs.
///
/// # Kill safety
///
/// As [`resolve`].
pub fn gethostbyname(host: &str) -> io::Result<IpAddr> {
    let addrs = resolve(host, 0)?;
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .map(SocketAddr::ip)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address for this host"))
}
