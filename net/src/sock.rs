//! The core every socket type shares: a registered non-blocking fd plus the std-like settings
//! (timeouts, the user's non-blocking flag) that all handles of one socket see; the stream
//! operations; and the loop behind `incoming()`.

use std::cell::Cell;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use gevent_hub::reactor::{Interest, IoSafe, IoSource};
use rustix::net::{RecvFlags, SendFlags};

/// One socket, shared (through an `Rc`) by all the handles `try_clone` made.
pub(crate) struct Sock<T: IoSafe> {
    /// The registered socket, non-blocking underneath.
    io: IoSource<T>,
    /// How long a read waits before `WouldBlock`; `None`: forever.
    read_timeout: Cell<Option<Duration>>,
    /// How long a write waits before `WouldBlock`; `None`: forever.
    write_timeout: Cell<Option<Duration>>,
    /// The user asked for non-blocking mode: calls never wait.
    nonblocking: Cell<bool>,
    /// `close()` was called: every call fails with `EBADF`.
    closed: Cell<bool>,
}

impl<T: IoSafe> Sock<T> {
    /// Registers `io`, whose fd is already non-blocking, with the directions presumed ready.
    pub(crate) fn new(io: T, ready: Interest) -> io::Result<Sock<T>> {
        Ok(Sock {
            io: IoSource::with_ready(io, ready)?,
            read_timeout: Cell::new(None),
            write_timeout: Cell::new(None),
            nonblocking: Cell::new(false),
            closed: Cell::new(false),
        })
    }

    /// Makes `io`'s fd non-blocking and registers it.
    pub(crate) fn from_blocking(io: T) -> io::Result<Sock<T>> {
        rustix::io::ioctl_fionbio(io.as_fd(), true)?;
        Sock::new(io, Interest::BOTH)
    }

    /// The socket, or `EBADF` once closed.
    pub(crate) fn get(&self) -> io::Result<&T> {
        if self.closed.get() {
            return Err(closed_error());
        }
        Ok(self.io.get_ref())
    }

    /// The socket, closed or not (for `Debug` and fd access).
    pub(crate) fn raw(&self) -> &T {
        self.io.get_ref()
    }

    /// Whether `close()` was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// Runs a read-side `op` (read, receive, accept, peek) the cooperative way.
    #[inline]
    pub(crate) fn read<R>(&self, op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.op(Interest::READABLE, self.read_timeout.get(), op)
    }

    /// Runs a write-side `op` (write, send); see [`Sock::read`].
    #[inline]
    pub(crate) fn write<R>(&self, op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.op(Interest::WRITABLE, self.write_timeout.get(), op)
    }

    #[inline]
    fn op<R>(
        &self,
        interest: Interest,
        timeout: Option<Duration>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        if self.closed.get() {
            return Err(closed_error());
        }
        if self.nonblocking.get() {
            loop {
                match op(self.io.get_ref()) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => return r,
                }
            }
        }
        let io = self.io.get_ref();
        match self.io.registration().io_with(interest, timeout, || op(io)) {
            // The wait timed out (not the system call): std's SO_RCVTIMEO error.
            Err(e) if e.kind() == io::ErrorKind::TimedOut && e.raw_os_error().is_none() => {
                Err(io::Error::from_raw_os_error(libc::EAGAIN))
            }
            r => r,
        }
    }

    /// Waits, `timeout` at most, for a connect in progress to finish (the socket to become
    /// writable), then marks both directions ready.
    pub(crate) fn wait_connected(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self.io.wait_writable(timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::TimedOut && e.raw_os_error().is_none() => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection timed out",
                ))
            }
            Err(e) => return Err(e),
        }
        self.io.registration().set_ready(Interest::BOTH);
        Ok(())
    }

    /// std's `set_read_timeout`.
    pub(crate) fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        check_timeout(d)?;
        self.read_timeout.set(d);
        Ok(())
    }

    /// std's `set_write_timeout`.
    pub(crate) fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        check_timeout(d)?;
        self.write_timeout.set(d);
        Ok(())
    }

    /// std's `read_timeout`.
    pub(crate) fn read_timeout(&self) -> Option<Duration> {
        self.read_timeout.get()
    }

    /// std's `write_timeout`.
    pub(crate) fn write_timeout(&self) -> Option<Duration> {
        self.write_timeout.get()
    }

    /// std's `set_nonblocking`.
    pub(crate) fn set_nonblocking(&self, on: bool) {
        self.nonblocking.set(on);
    }

    /// gevent's `close()`: every handle fails with `EBADF` from now on, waiters wake with
    /// `EBADF`, and the socket is shut down in both directions (for streams) so the peer sees
    /// the end; the fd itself is released with the last handle.
    pub(crate) fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        self.io.cancel_wait();
        // Listeners and datagram sockets answer ENOTCONN: nothing to tell a peer.
        let _ = rustix::net::shutdown(self.io.get_ref(), rustix::net::Shutdown::Both);
    }

    /// Deregisters and returns the socket, in blocking mode unless the user asked for
    /// non-blocking, with the timeouts carried over to `SO_RCVTIMEO` / `SO_SNDTIMEO`.
    pub(crate) fn into_blocking(self) -> io::Result<T> {
        let (nb, rt, wt) = (
            self.nonblocking.get(),
            self.read_timeout.get(),
            self.write_timeout.get(),
        );
        let io = self.io.into_inner();
        use rustix::net::sockopt::{set_socket_timeout, Timeout};
        if rt.is_some() {
            set_socket_timeout(&io, Timeout::Recv, rt)?;
        }
        if wt.is_some() {
            set_socket_timeout(&io, Timeout::Send, wt)?;
        }
        rustix::io::ioctl_fionbio(io.as_fd(), nb)?;
        Ok(io)
    }

    /// `recv` into `buf` (`MSG_PEEK` with `peek`).
    #[inline]
    pub(crate) fn recv(&self, buf: &mut [u8], peek: bool) -> io::Result<usize> {
        let flags = if peek {
            RecvFlags::PEEK
        } else {
            RecvFlags::empty()
        };
        self.read(|s| {
            rustix::net::recv(s, &mut *buf, flags)
                .map(|(n, _)| n)
                .map_err(io::Error::from)
        })
    }

    /// `send` with `MSG_NOSIGNAL` (a closed peer gives `BrokenPipe`, never `SIGPIPE`).
    #[inline]
    pub(crate) fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.write(|s| rustix::net::send(s, buf, SendFlags::NOSIGNAL).map_err(io::Error::from))
    }

    /// `readv`.
    pub(crate) fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.read(|s| rustix::io::readv(s, &mut *bufs).map_err(io::Error::from))
    }

    /// `sendmsg` with `MSG_NOSIGNAL`.
    pub(crate) fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.write(|s| {
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

impl<T: IoSafe> AsFd for Sock<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl<T: IoSafe + fmt::Debug> fmt::Debug for Sock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.closed.get() {
            f.write_str("(closed)")
        } else {
            self.io.get_ref().fmt(f)
        }
    }
}

/// The error of a call on a closed socket, or of a wait cut short by `close()`: `EBADF`.
pub(crate) fn closed_error() -> io::Error {
    io::Error::from_raw_os_error(libc::EBADF)
}

/// std refuses a zero timeout.
fn check_timeout(d: Option<Duration>) -> io::Result<()> {
    if d == Some(Duration::ZERO) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot set a 0 duration timeout",
        ));
    }
    Ok(())
}

/// The state of an `incoming()` iterator: after an error it pauses before the next
/// `accept`, so that `incoming().flatten()` never spins without letting the hub run.
#[derive(Debug, Default)]
pub(crate) struct AcceptLoop {
    /// How long to wait before the next `accept`: zero after a transient error (a yield),
    /// growing after running out of descriptors or memory (gevent's `StreamServer` backs off
    /// the same way, from 10 ms to 1 s).
    pause: Option<Duration>,
}

/// The shortest back-off after running out of descriptors or memory.
const MIN_BACKOFF: Duration = Duration::from_millis(10);
/// The longest.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

impl AcceptLoop {
    /// The next item of `incoming()`: `None` once the listener `sock` is closed; otherwise
    /// `accept`'s outcome, after the pause an error before it asked for.
    pub(crate) fn next<T: IoSafe, S>(
        &mut self,
        sock: &Sock<T>,
        accept: impl FnOnce() -> io::Result<S>,
    ) -> Option<io::Result<S>> {
        if sock.is_closed() {
            return None;
        }
        if let Some(p) = self.pause {
            gevent_hub::sleep(p);
            if sock.is_closed() {
                return None;
            }
        }
        match accept() {
            Ok(s) => {
                self.pause = None;
                Some(Ok(s))
            }
            Err(_) if sock.is_closed() => None,
            Err(e) => {
                let exhausted = matches!(
                    e.raw_os_error(),
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                );
                self.pause = Some(match (exhausted, self.pause) {
                    (false, _) => Duration::ZERO,
                    (true, Some(p)) if !p.is_zero() => (p * 2).min(MAX_BACKOFF),
                    (true, _) => MIN_BACKOFF,
                });
                Some(Err(e))
            }
        }
    }
}
