//! The adapters that let rustls read and write the stream directly, and the loops around them.

use std::io::{self, IoSlice, Read, Write};

use rustls::Connection;

use crate::stream::tls_error;
use crate::transport::Transport;

/// The stream as rustls's `read_tls`/`write_tls` source and sink, waiting (switching) like the
/// stream's own calls.
pub(crate) struct Coop<'a, S>(pub(crate) &'a S);

impl<S: Transport> Read for Coop<'_, S> {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<S: Transport> Write for Coop<'_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_vectored(&[IoSlice::new(buf)])
    }
    #[inline]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The stream as rustls's source and sink, never waiting (`WouldBlock` instead).
pub(crate) struct Try<'a, S>(pub(crate) &'a S);

impl<S: Transport> Read for Try<'_, S> {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl<S: Transport> Write for Try<'_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write_vectored(&[IoSlice::new(buf)])
    }
    #[inline]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Sends every record the session has queued, waiting while the stream's buffer is full.
///
/// Kill safety: rustls drops records from its queue only after the stream took them, so an
/// unwinding wait leaves them queued.
pub(crate) fn flush_coop<S: Transport>(conn: &mut Connection, io: &S) -> io::Result<()> {
    while conn.wants_write() {
        if conn.write_tls(&mut Coop(io))? == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
    }
    Ok(())
}

/// Sends what the stream takes now of the session's queue, ignoring errors: the alert that
/// goes with a failure, on its way out.
pub(crate) fn flush_best_effort<S: Transport>(conn: &mut Connection, io: &S) {
    while conn.wants_write() {
        match conn.write_tls(&mut Try(io)) {
            Ok(n) if n > 0 => {}
            _ => return,
        }
    }
}

/// Decrypts and handles the records read so far. On a TLS error, the alert rustls queued for
/// the peer is sent if the stream takes it at once, and the error is returned as an
/// `io::Error` (kind `InvalidData`) wrapping the [`rustls::Error`].
pub(crate) fn process<S: Transport>(conn: &mut Connection, io: &S) -> io::Result<()> {
    match conn.process_new_packets() {
        Ok(_) => Ok(()),
        Err(e) => {
            flush_best_effort(conn, io);
            Err(tls_error(e))
        }
    }
}
