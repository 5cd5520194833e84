//! The HTTP connection's socket: the accepted stream re-registered as a hub
//! [`IoSource`](gevent_hub::reactor::IoSource), so that a short read can clear readability.
//!
//! # Why not the cooperative `TcpStream`
//!
//! The cooperative stream clears a socket's readability only when a read returns `WouldBlock`
//! (the hub's poller cannot ask for `EPOLLRDHUP`, so a short read might leave an end-of-file
//! unread). For a keep-alive HTTP connection that means two `recv` per request (the request,
//! then `EAGAIN`) where hyper makes one. Here a short read of a request head clears the bit:
//! the next read waits for the poller. The price is the case the rule guards against: when a
//! request and the client's FIN arrive in one poller event, the connection, having answered,
//! waits for its idle timeout instead of seeing the end of the stream at once. Reads that must
//! see the end (the lingering close) use [`ConnSock::read_eof`], which never clears.
//!
//! All system calls go through `rustix`.

use std::cell::Cell;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsFd;
use std::time::Duration;

use gevent_hub::reactor::{Interest, IoSource};
use rustix::net::{RecvFlags, SendFlags};

use crate::net::TcpStream;

/// A connection's socket.
pub(crate) struct ConnSock {
    /// The registered, non-blocking socket.
    io: IoSource<std::net::TcpStream>,
    /// Wait allowed for each write.
    write_timeout: Option<Duration>,
    /// Closed: every call fails with `EBADF`.
    closed: Cell<bool>,
}

/// The error of a closed socket.
fn closed() -> io::Error {
    io::Error::from_raw_os_error(libc::EBADF)
}

/// A wait's time-out as `WouldBlock` (std's `SO_RCVTIMEO` error), other errors unchanged.
fn timeout_as_would_block(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::TimedOut && e.raw_os_error().is_none() {
        io::ErrorKind::WouldBlock.into()
    } else {
        e
    }
}

impl ConnSock {
    /// Takes over an accepted stream (its registration moves here).
    pub(crate) fn new(s: TcpStream, write_timeout: Option<Duration>) -> io::Result<ConnSock> {
        let std = s.into_std()?;
        rustix::io::ioctl_fionbio(std.as_fd(), true)?;
        Ok(ConnSock {
            io: IoSource::new(std)?,
            write_timeout,
            closed: Cell::new(false),
        })
    }

    /// The local address.
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Reads into `buf`, waiting at most `timeout` (then `WouldBlock`); a short read clears
    /// readability (see the module documentation).
    pub(crate) fn read(&self, buf: &mut [u8], timeout: Option<Duration>) -> io::Result<usize> {
        let n = self.read_eof(buf, timeout)?;
        if n > 0 && n < buf.len() {
            self.io.registration().clear_ready(Interest::READABLE);
        }
        Ok(n)
    }

    /// Reads into `buf`, waiting at most `timeout`; readability is cleared only by
    /// `WouldBlock`, so an end-of-file is always seen.
    pub(crate) fn read_eof(&self, buf: &mut [u8], timeout: Option<Duration>) -> io::Result<usize> {
        if self.closed.get() {
            return Err(closed());
        }
        self.io
            .read_with(timeout, |s| {
                rustix::net::recv(s, &mut *buf, RecvFlags::empty())
                    .map(|(n, _)| n)
                    .map_err(io::Error::from)
            })
            .map_err(timeout_as_would_block)
    }

    /// Writes all of `buf` (each wait at most the write timeout).
    pub(crate) fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            if self.closed.get() {
                return Err(closed());
            }
            let n = self
                .io
                .write_with(self.write_timeout, |s| {
                    rustix::net::send(s, buf, SendFlags::NOSIGNAL).map_err(io::Error::from)
                })
                .map_err(timeout_as_would_block)?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }

    /// `shutdown(2)`.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if self.closed.get() {
            return Err(closed());
        }
        let how = match how {
            Shutdown::Read => rustix::net::Shutdown::Read,
            Shutdown::Write => rustix::net::Shutdown::Write,
            Shutdown::Both => rustix::net::Shutdown::Both,
        };
        rustix::net::shutdown(self.io.get_ref(), how).map_err(io::Error::from)
    }

    /// Closes it now: waiters wake with `EBADF`, the peer sees the end (the fd is released
    /// with the last reference).
    pub(crate) fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        self.io.cancel_wait();
        let _ = rustix::net::shutdown(self.io.get_ref(), rustix::net::Shutdown::Both);
    }
}
