//! Driving a handshake to completion, within an optional time limit.

use std::io;
use std::time::Duration;

use rustls::Connection;

use crate::io::{flush_coop, process, Coop};
use crate::stream::{Info, TlsStream};
use crate::transport::Transport;

/// Runs `conn`'s handshake over `io` (within `timeout`, if any) and wraps both in a
/// [`TlsStream`]. `client_name` is the name a client connected to.
pub(crate) fn handshake<S: Transport>(
    mut conn: Connection,
    io: S,
    timeout: Option<Duration>,
    client_name: Option<String>,
) -> io::Result<TlsStream<S>> {
    match timeout {
        None => drive(&mut conn, &io)?,
        Some(d) if d.is_zero() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration TLS handshake timeout",
            ))
        }
        Some(d) => match gevent_timeout::Timeout::new(d).run(|| drive(&mut conn, &io)) {
            Ok(r) => r?,
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("TLS handshake timed out after {d:?}"),
                ))
            }
        },
    }
    let info = Info::of(&conn, client_name);
    Ok(TlsStream {
        io,
        conn: std::cell::RefCell::new(conn),
        info,
        shut: std::cell::Cell::new(false),
    })
}

/// Exchanges handshake records until the handshake is complete and its last flight sent.
fn drive<S: Transport>(conn: &mut Connection, io: &S) -> io::Result<()> {
    loop {
        flush_coop(conn, io).map_err(|e| stalled(e, "write"))?;
        if !conn.is_handshaking() {
            return Ok(());
        }
        if !conn.wants_read() {
            // Only a `close_notify` received mid-handshake stops rustls wanting more.
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed the TLS session during the handshake",
            ));
        }
        let n = conn
            .read_tls(&mut Coop(io))
            .map_err(|e| stalled(e, "read"))?;
        // An alert that came just before the end of the stream is the better error.
        process(conn, io)?;
        if n == 0 && conn.is_handshaking() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed the connection during the TLS handshake",
            ));
        }
    }
}

/// The stream's read or write timeout (`WouldBlock`) during a handshake is a `TimedOut`
/// naming it; other errors pass through.
fn stalled(e: io::Error, dir: &str) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("TLS handshake timed out: the stream's {dir} timeout expired ({e})"),
        )
    } else {
        e
    }
}
