//! Listening sockets built with `socket2` (backlog, `SO_REUSEADDR`, `SO_REUSEPORT`), handed to
//! the cooperative types through their `from_std` constructors.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

/// How to build a listening socket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SocketOptions {
    /// `listen`'s backlog (TCP only).
    pub(crate) backlog: i32,
    /// `SO_REUSEADDR`.
    pub(crate) reuse_addr: bool,
    /// `SO_REUSEPORT` (Linux: several sockets share the port, the kernel spreads connections).
    pub(crate) reuse_port: bool,
}

/// A socket of `ty` for `addr` with the options set, not yet bound.
fn socket(addr: &SocketAddr, ty: Type, proto: Protocol, o: &SocketOptions) -> io::Result<Socket> {
    let s = Socket::new(Domain::for_address(*addr), ty, Some(proto))?;
    s.set_reuse_address(o.reuse_addr)?;
    if o.reuse_port {
        s.set_reuse_port(true)?;
    }
    Ok(s)
}

/// A TCP socket bound to `addr` and listening.
pub(crate) fn tcp(addr: &SocketAddr, o: &SocketOptions) -> io::Result<std::net::TcpListener> {
    let s = socket(addr, Type::STREAM, Protocol::TCP, o)?;
    s.bind(&(*addr).into())?;
    s.listen(o.backlog)?;
    Ok(s.into())
}

/// A UDP socket bound to `addr`.
pub(crate) fn udp(addr: &SocketAddr, o: &SocketOptions) -> io::Result<std::net::UdpSocket> {
    let s = socket(addr, Type::DGRAM, Protocol::UDP, o)?;
    s.bind(&(*addr).into())?;
    Ok(s.into())
}

/// Binds `n` sockets with `bind` to the first address of `addrs` that works; with `n > 1`
/// they share the port through `SO_REUSEPORT` (port 0: the first bind picks it, the others
/// take the same).
pub(crate) fn bind_all<S>(
    addrs: &[SocketAddr],
    n: usize,
    bind: impl Fn(&SocketAddr) -> io::Result<S>,
    local: impl Fn(&S) -> io::Result<SocketAddr>,
) -> io::Result<Vec<S>> {
    let mut last = None;
    for a in addrs {
        let first = match bind(a) {
            Ok(s) => s,
            Err(e) => {
                last = Some(e);
                continue;
            }
        };
        let at = local(&first)?;
        let mut all = vec![first];
        for _ in 1..n {
            all.push(bind(&at)?);
        }
        return Ok(all);
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address")))
}
