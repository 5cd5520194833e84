//! The core every socket type shares: a registered non-blocking fd plus the std-like settings
//! (timeouts, the user's non-blocking flag) that all handles of one socket see.

use std::cell::Cell;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

use rustix::net::{RecvFlags, SendFlags};

use crate::io::{closed_error, IoSource, READABLE, WRITABLE};

/// One socket, shared (through an `Rc`) by all the handles `try_clone` made.
pub(crate) struct Sock<T: AsRawFd> {
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

impl<T: AsRawFd + AsFd> Sock<T> {
    /// Registers `io`, whose fd is already non-blocking, with readiness bits `ready`.
    pub(crate) fn new(io: T, ready: u8) -> io::Result<Sock<T>> {
        Ok(Sock {
            io: IoSource::with_readiness(io, ready)?,
            read_timeout: Cell::new(None),
            write_timeout: Cell::new(None),
            nonblocking: Cell::new(false),
            closed: Cell::new(false),
        })
    }

    /// Makes `io`'s fd non-blocking and registers it.
    pub(crate) fn from_blocking(io: T) -> io::Result<Sock<T>> {
        rustix::io::ioctl_fionbio(io.as_fd(), true)?;
        Sock::new(io, READABLE | WRITABLE)
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

    /// Runs a read-side `op` (read, receive, accept, peek) the cooperative way.
    pub(crate) fn read<R>(&self, op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.op(READABLE, self.read_timeout.get(), op)
    }

    /// Runs a write-side `op` (write, send); see [`Sock::read`].
    pub(crate) fn write<R>(&self, op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.op(WRITABLE, self.write_timeout.get(), op)
    }

    fn op<R>(
        &self,
        bit: u8,
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
        match self.io.op_with(bit, timeout, op) {
            // The wait timed out (not the system call): std's SO_RCVTIMEO error.
            Err(e) if e.kind() == io::ErrorKind::TimedOut && e.raw_os_error().is_none() => {
                Err(io::Error::from_raw_os_error(libc::EAGAIN))
            }
            r => r,
        }
    }

    /// Waits for the poller to report `bit` (a connect in progress), `timeout` at most.
    pub(crate) fn wait_edge(&self, bit: u8, timeout: Option<Duration>) -> io::Result<()> {
        self.io.wait_edge(bit, timeout)
    }

    /// Marks directions possibly ready (after a connect completed).
    pub(crate) fn set_ready(&self, bits: u8) {
        self.io.set_ready(bits)
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
    pub(crate) fn close(&self, shutdown: bool) {
        if self.closed.replace(true) {
            return;
        }
        self.io.cancel_wait();
        if shutdown {
            let _ = rustix::net::shutdown(self.io.get_ref(), rustix::net::Shutdown::Both);
        }
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
}

/// Stream operations shared by TCP and Unix streams.
impl<T: AsRawFd + AsFd> Sock<T> {
    /// `recv` into `buf`.
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read(|s| {
            rustix::net::recv(s, &mut *buf, RecvFlags::empty())
                .map(|(n, _)| n)
                .map_err(errno)
        })
    }

    /// `recv(MSG_PEEK)` (the data stays).
    pub(crate) fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read(|s| {
            rustix::net::recv(s, &mut *buf, RecvFlags::PEEK)
                .map(|(n, _)| n)
                .map_err(errno)
        })
    }

    /// `send` with `MSG_NOSIGNAL` (a closed peer gives `BrokenPipe`, never `SIGPIPE`).
    pub(crate) fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.write(|s| rustix::net::send(s, buf, SendFlags::NOSIGNAL).map_err(errno))
    }

    /// `readv`.
    pub(crate) fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.read(|s| rustix::io::readv(s, &mut *bufs).map_err(errno))
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
            .map_err(errno)
        })
    }
}

impl<T: AsRawFd + AsFd> AsFd for Sock<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for Sock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.closed.get() {
            f.write_str("(closed)")
        } else {
            self.io.get_ref().fmt(f)
        }
    }
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

/// A `rustix` error as an `io::Error`.
pub(crate) fn errno(e: rustix::io::Errno) -> io::Error {
    io::Error::from(e)
}
