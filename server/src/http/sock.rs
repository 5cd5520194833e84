//! The HTTP connection's socket: the accepted stream re-registered as a hub
//! [`IoSource`](gevent_hub::reactor::IoSource), so that a short read can clear readability,
//! and waits bounded by coarse deadlines instead of hub timers.
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
//! # Deadlines
//!
//! A wait with a time limit on a hub socket arms a hub timer (a heap entry, a boxed callback,
//! two clock reads) and cancels it when the socket is ready: for a keep-alive connection, once
//! per request. Here a wait only stores its deadline (milliseconds of the kernel's coarse
//! monotonic clock, a vDSO read of a few nanoseconds) in the socket; one sweeper per server
//! thread (see `conn::Shared`) looks at every connection a few times per shortest timeout and
//! wakes the waits whose deadline passed ([`ConnSock::expire`]). A deadline therefore fires
//! late by at most the sweep period, never early.
//!
//! All system calls go through `rustix`.

use std::cell::Cell;
use std::io::{self, IoSlice};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsFd;
use std::sync::OnceLock;
use std::time::Duration;

use gevent_hub::reactor::{Interest, IoSource};
use rustix::net::{RecvFlags, SendFlags};

use crate::net::TcpStream;

/// No deadline.
pub(crate) const NEVER: u64 = u64::MAX;

/// Milliseconds on the kernel's coarse monotonic clock (`CLOCK_MONOTONIC_COARSE`: a vDSO read,
/// no hardware clock access; it advances once per scheduler tick).
pub(crate) fn now_ms() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::MonotonicCoarse);
    (t.tv_sec as u64)
        .saturating_mul(1000)
        .saturating_add(t.tv_nsec as u64 / 1_000_000)
}

/// The coarse clock's step in whole milliseconds, rounded up (at least 1).
fn coarse_step_ms() -> u64 {
    static STEP: OnceLock<u64> = OnceLock::new();
    *STEP.get_or_init(|| {
        let r = rustix::time::clock_getres(rustix::time::ClockId::MonotonicCoarse);
        let ns = (r.tv_sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(r.tv_nsec as u64);
        ns.div_ceil(1_000_000).clamp(1, 1000)
    })
}

/// The deadline `d` from now (`None`: [`NEVER`]). Both readings of the coarse clock lag the
/// true time by less than one step, so one step of slack makes sure it never fires early.
pub(crate) fn deadline_in(d: Option<Duration>) -> u64 {
    match d {
        None => NEVER,
        Some(d) => {
            let ms = u64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
            now_ms()
                .saturating_add(ms)
                .saturating_add(coarse_step_ms())
                .min(NEVER - 1)
        }
    }
}

/// A connection's socket.
pub(crate) struct ConnSock {
    /// The registered, non-blocking socket.
    io: IoSource<std::net::TcpStream>,
    /// Wait allowed for each write.
    write_timeout: Option<Duration>,
    /// Closed: every call fails with `EBADF`.
    closed: Cell<bool>,
    /// When the wait under way must end ([`NEVER`]: no wait, or no limit); read by the
    /// sweeper.
    deadline: Cell<u64>,
    /// Set by the sweeper when it ended a wait at its deadline.
    expired: Cell<bool>,
    /// The deadline for the reads a TLS session makes (see the `Transport` impl).
    tls_read_deadline: Cell<u64>,
}

/// The error of a closed socket.
fn closed() -> io::Error {
    io::Error::from_raw_os_error(libc::EBADF)
}

/// The error of a wait that reached its deadline (`WouldBlock`, as std's socket timeouts).
pub(crate) fn timed_out() -> io::Error {
    io::ErrorKind::WouldBlock.into()
}

/// Resets the socket's deadline however a wait ends (a kill unwinds through it).
struct WaitGuard<'a>(&'a ConnSock);

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        self.0.deadline.set(NEVER);
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
            deadline: Cell::new(NEVER),
            expired: Cell::new(false),
            tls_read_deadline: Cell::new(NEVER),
        })
    }

    /// The local address.
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The deadline of the wait under way ([`NEVER`] if none).
    #[inline]
    pub(crate) fn deadline(&self) -> u64 {
        self.deadline.get()
    }

    /// Ends the wait under way as timed out (the sweeper calls it once its deadline passed).
    pub(crate) fn expire(&self) {
        self.deadline.set(NEVER);
        self.expired.set(true);
        self.io.registration().cancel_waiters();
    }

    /// Waits until `interest` is ready, at most until `deadline`.
    fn wait(&self, interest: Interest, deadline: u64) -> io::Result<()> {
        if deadline != NEVER && deadline <= now_ms() {
            return Err(timed_out());
        }
        self.expired.set(false);
        self.deadline.set(deadline);
        let guard = WaitGuard(self);
        let r = self.io.registration().wait(interest, None);
        drop(guard);
        match r {
            Err(_) if self.expired.replace(false) && !self.closed.get() => Err(timed_out()),
            r => r,
        }
    }

    /// Runs the non-blocking `op` for `interest` until it does not return `WouldBlock`,
    /// waiting in between (at most until `deadline`).
    #[inline]
    fn io_op<R>(
        &self,
        interest: Interest,
        deadline: u64,
        mut op: impl FnMut(&std::net::TcpStream) -> io::Result<R>,
    ) -> io::Result<R> {
        let reg = self.io.registration();
        loop {
            if self.closed.get() {
                return Err(closed());
            }
            if reg.is_ready(interest) {
                match op(self.io.get_ref()) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => reg.clear_ready(interest),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => return r,
                }
            }
            self.wait(interest, deadline)?;
        }
    }

    /// Reads into `buf`, waiting at most until `deadline` (then `WouldBlock`); a short read
    /// clears readability (see the module documentation).
    pub(crate) fn read(&self, buf: &mut [u8], deadline: u64) -> io::Result<usize> {
        let n = self.read_eof(buf, deadline)?;
        if n > 0 && n < buf.len() {
            self.io.registration().clear_ready(Interest::READABLE);
        }
        Ok(n)
    }

    /// Reads into `buf`, waiting at most until `deadline`; readability is cleared only by
    /// `WouldBlock`, so an end-of-file is always seen.
    pub(crate) fn read_eof(&self, buf: &mut [u8], deadline: u64) -> io::Result<usize> {
        self.io_op(Interest::READABLE, deadline, |s| {
            rustix::net::recv(s, &mut *buf, RecvFlags::empty())
                .map(|(n, _)| n)
                .map_err(io::Error::from)
        })
    }

    /// Sends some of `buf`, waiting at most until `deadline`.
    fn send(&self, buf: &[u8], deadline: u64) -> io::Result<usize> {
        self.io_op(Interest::WRITABLE, deadline, |s| {
            rustix::net::send(s, buf, SendFlags::NOSIGNAL).map_err(io::Error::from)
        })
    }

    /// Writes all of `buf` (each wait at most the write timeout).
    pub(crate) fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            // The deadline is taken only if a wait is needed.
            let n = match self.try_send(buf)? {
                Some(n) => n,
                None => self.send(buf, deadline_in(self.write_timeout))?,
            };
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Sends some of `buf` if the socket takes it now (`None`: it would wait).
    fn try_send(&self, buf: &[u8]) -> io::Result<Option<usize>> {
        match self.io_op(Interest::WRITABLE, 0, |s| {
            rustix::net::send(s, buf, SendFlags::NOSIGNAL).map_err(io::Error::from)
        }) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && !self.closed.get() => Ok(None),
            Err(e) => Err(e),
        }
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

    /// Sets the deadline of the reads a TLS session makes through the `Transport` impl.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn set_tls_read_deadline(&self, deadline: u64) {
        self.tls_read_deadline.set(deadline);
    }

    /// Sends some of `bufs` (one `sendmsg`), waiting at most until `deadline`.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    fn send_vectored(&self, bufs: &[IoSlice<'_>], deadline: u64) -> io::Result<usize> {
        self.io_op(Interest::WRITABLE, deadline, |s| {
            rustix::net::sendmsg(
                s,
                bufs,
                &mut rustix::net::SendAncillaryBuffer::default(),
                SendFlags::NOSIGNAL,
            )
            .map_err(io::Error::from)
        })
    }
}

/// The socket under a TLS session (HTTPS), shared with the connection (which closes it and
/// whose sweeper expires its waits).
#[cfg(feature = "tls")]
pub(crate) struct TlsSock(pub(crate) std::rc::Rc<ConnSock>);

#[cfg(feature = "tls")]
impl std::ops::Deref for TlsSock {
    type Target = ConnSock;
    fn deref(&self) -> &ConnSock {
        &self.0
    }
}

/// rustls reads and writes the socket through these calls, with the connection's deadlines.
#[cfg(feature = "tls")]
impl gevent_ssl::Transport for TlsSock {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        ConnSock::read(self, buf, self.tls_read_deadline.get())
    }

    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self.io_op(Interest::WRITABLE, 0, |s| {
            rustix::net::sendmsg(
                s,
                bufs,
                &mut rustix::net::SendAncillaryBuffer::default(),
                SendFlags::NOSIGNAL,
            )
            .map_err(io::Error::from)
        }) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && !self.closed.get() => {
                self.send_vectored(bufs, deadline_in(self.write_timeout))
            }
            r => r,
        }
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        ConnSock::read_eof(self, buf, 0)
    }

    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.send_vectored(bufs, 0)
    }

    fn wait_readable(&self) -> io::Result<()> {
        if self.io.registration().is_ready(Interest::READABLE) {
            return Ok(());
        }
        self.wait(Interest::READABLE, self.tls_read_deadline.get())
    }

    fn wait_writable(&self) -> io::Result<()> {
        if self.io.registration().is_ready(Interest::WRITABLE) {
            return Ok(());
        }
        self.wait(Interest::WRITABLE, deadline_in(self.write_timeout))
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}
