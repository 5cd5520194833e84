//! What a [`TlsStream`](crate::TlsStream) needs from the stream under it, and the cooperative
//! socket types that provide it.
//!
//! This module is the only place that names the socket types (`gevent_hub::net` today); the
//! rest of the crate sees only the [`Transport`] trait.

use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;

use gevent_net::unix::UnixStream;
use gevent_net::TcpStream;

/// A cooperative byte stream that TLS can run over: gevent's [`TcpStream`] and
/// [`UnixStream`] implement it.
///
/// Two styles of I/O are needed. [`read`](Transport::read) and
/// [`write_vectored`](Transport::write_vectored) wait (switch to the hub) like the stream's
/// own `Read`/`Write`, honouring its read and write timeouts: `TlsStream`'s `&mut` methods and
/// the handshake use them, since nothing else can use the TLS session meanwhile. The shared
/// (`&TlsStream`) methods must never wait while they hold the session, so they use the `try_*`
/// calls (never wait) and wait with [`wait_readable`](Transport::wait_readable) /
/// [`wait_writable`](Transport::wait_writable) after releasing it.
///
/// # Examples
///
/// ```
/// use gevent_ssl::Transport;
/// let (a, _b) = gevent_net::unix::UnixStream::pair().unwrap();
/// let e = a.try_read(&mut [0u8; 4]).unwrap_err();
/// assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
/// ```
pub trait Transport {
    /// Reads into `buf`, waiting (switching) until data or end-of-file is there.
    ///
    /// # Errors
    ///
    /// The stream's: `WouldBlock` when its read timeout expires (std's behaviour), `EBADF`
    /// once closed...
    ///
    /// # Switches
    ///
    /// Yes, until data, end-of-file or the timeout.
    ///
    /// # Kill safety
    ///
    /// Nothing was transferred.
    fn read(&self, buf: &mut [u8]) -> io::Result<usize>;

    /// Writes some of `bufs`, waiting (switching) until the stream takes some.
    ///
    /// # Errors
    ///
    /// The stream's: `WouldBlock` when its write timeout expires, `BrokenPipe`...
    ///
    /// # Switches
    ///
    /// Yes, while the stream's send buffer is full.
    ///
    /// # Kill safety
    ///
    /// Nothing was transferred.
    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;

    /// Reads what is there now, never waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when nothing is there; the stream's other errors.
    ///
    /// # Switches
    ///
    /// Never.
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize>;

    /// Writes what the stream takes now, never waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the stream takes nothing now; the stream's other errors.
    ///
    /// # Switches
    ///
    /// Never.
    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;

    /// Waits (switches) until a read would not block: data, end-of-file or an error is
    /// there. Consumes nothing.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the stream's read timeout expires first; `EBADF` once closed;
    /// `ConcurrentUse` if another greenlet already waits to read.
    ///
    /// # Switches
    ///
    /// Yes.
    ///
    /// # Kill safety
    ///
    /// Nothing is consumed or sent.
    fn wait_readable(&self) -> io::Result<()>;

    /// Waits (switches) until a write would not block.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the stream's write timeout expires first; `EBADF` once closed.
    ///
    /// # Switches
    ///
    /// Yes.
    ///
    /// # Kill safety
    ///
    /// Nothing is consumed or sent.
    fn wait_writable(&self) -> io::Result<()>;

    /// Half-closes the write side: the peer reads end-of-file after what was sent.
    ///
    /// # Errors
    ///
    /// `shutdown`'s error (`NotConnected`); `EBADF` once closed.
    ///
    /// # Switches
    ///
    /// Never.
    fn shutdown_write(&self) -> io::Result<()>;
}

/// The error of `wait_writable` when the write timeout expires (kind `WouldBlock`, as the
/// stream's own write gives it).
fn write_timed_out() -> io::Error {
    io::Error::new(
        io::ErrorKind::WouldBlock,
        "timed out waiting for the stream to become writable (its write timeout)",
    )
}

/// Implements [`Transport`] for a gevent stream type with std's stream API (`Read`/`Write`
/// on `&T`, `peek`, `set_nonblocking`, `write_timeout`, `shutdown`).
macro_rules! gevent_stream_transport {
    ($t:ty) => {
        /// Waits use the socket's own registration (`peek` for readability) or a temporary
        /// one (`gevent_net::os::wait_write`, only when the socket's buffer is full); `try_*`
        /// switch the socket's non-blocking flag on for the one call (a `Cell`, no system
        /// call), so a `TlsStream` expects the flag off (the default) and leaves it off.
        impl Transport for $t {
            #[inline]
            fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
                Read::read(&mut &*self, buf)
            }

            #[inline]
            fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                Write::write_vectored(&mut &*self, bufs)
            }

            fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                self.set_nonblocking(true)?;
                let r = Read::read(&mut &*self, buf);
                let _ = self.set_nonblocking(false);
                r
            }

            fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                self.set_nonblocking(true)?;
                let r = Write::write_vectored(&mut &*self, bufs);
                let _ = self.set_nonblocking(false);
                r
            }

            fn wait_readable(&self) -> io::Result<()> {
                self.peek(&mut [0u8; 1]).map(drop)
            }

            fn wait_writable(&self) -> io::Result<()> {
                let timeout = self.write_timeout()?;
                match gevent_net::os::wait_write(self, timeout) {
                    Err(e) if e.kind() == io::ErrorKind::TimedOut && e.raw_os_error().is_none() => {
                        Err(write_timed_out())
                    }
                    r => r,
                }
            }

            fn shutdown_write(&self) -> io::Result<()> {
                self.shutdown(Shutdown::Write)
            }
        }
    };
}

gevent_stream_transport!(TcpStream);
gevent_stream_transport!(UnixStream);
