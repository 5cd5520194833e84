//! [`Body`]: the body of requests (a lazy reader over the connection) and of responses
//! (sized, empty or streamed).

use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;

use bytes::{Buf, Bytes};
use http::HeaderMap;

use super::conn::Conn;

/// Where a request came from, available from its body ([`Body::conn_info`]).
///
/// # Examples
///
/// ```
/// let info = gevent_server::http::ConnInfo {
///     peer_addr: "127.0.0.1:5000".parse().unwrap(),
///     local_addr: "127.0.0.1:80".parse().unwrap(),
///     tls: false,
/// };
/// assert_eq!(info.peer_addr.port(), 5000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnInfo {
    /// The client's address.
    pub peer_addr: SocketAddr,
    /// The server's address on this connection.
    pub local_addr: SocketAddr,
    /// The connection is HTTPS (the request came through TLS).
    pub tls: bool,
}

/// A writer for [`Body::stream`]'s callback.
pub type StreamFn = Box<dyn FnOnce(&mut dyn Write) -> io::Result<()>>;

/// The body of an HTTP request or response.
///
/// * A **request** body reads lazily from the connection (`Read` and `BufRead`): bytes come
///   from the socket only as the handler reads, `Expect: 100-continue` is answered at the
///   first read that needs the client's bytes, and the end comes at the `Content-Length` or at
///   the last chunk (the chunked coding is removed; trailers are in
///   [`trailers`](Body::trailers)). Errors: `InvalidData` for bad chunked framing,
///   `TimedOut` when the client is too slow, `UnexpectedEof` when it hangs up early,
///   `Other` when the body exceeds the server's limit.
/// * A **response** body is empty, bytes (sent with `Content-Length`), a reader of known
///   length ([`Body::sized`]), or a stream of unknown length ([`Body::reader`],
///   [`Body::stream`]: chunked on HTTP/1.1, delimited by closing the connection on 1.0).
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use gevent_server::http::Body;
///
/// let mut b = Body::from("hello");
/// assert_eq!(b.len(), Some(5));
/// let mut s = String::new();
/// b.read_to_string(&mut s).unwrap();
/// assert_eq!(s, "hello");
/// assert_eq!(Body::empty().len(), Some(0));
/// ```
pub struct Body {
    /// What it is.
    pub(crate) kind: Kind,
}

/// The kinds of [`Body`].
pub(crate) enum Kind {
    /// No bytes.
    Empty,
    /// Bytes in memory (the unread rest).
    Bytes(Bytes),
    /// A reader of unknown length.
    Reader(Box<dyn BufRead>),
    /// A reader of exactly this many bytes.
    Sized(u64, Box<dyn BufRead>),
    /// A callback writing the body.
    Stream(Option<StreamFn>),
    /// A request's body, read from its connection.
    Incoming(Incoming),
}

/// A request body being read from the connection.
pub(crate) struct Incoming {
    /// The connection.
    pub(crate) conn: Rc<Conn>,
    /// Which request of the connection this is (a body kept past its request reads nothing).
    pub(crate) seq: u64,
    /// Bytes taken from the connection and not yet read (for `BufRead`).
    pub(crate) chunk: Bytes,
}

impl Body {
    /// An empty body.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gevent_server::http::Body::empty().is_empty());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn empty() -> Body {
        Body { kind: Kind::Empty }
    }

    /// A body read from `r`, of unknown length: sent chunked to HTTP/1.1 clients, and
    /// delimited by closing the connection for HTTP/1.0 ones.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = gevent_server::http::Body::reader(std::io::Cursor::new(b"data".to_vec()));
    /// assert_eq!(b.len(), None);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn reader(r: impl Read + 'static) -> Body {
        Body {
            kind: Kind::Reader(Box::new(io::BufReader::with_capacity(16 * 1024, r))),
        }
    }

    /// A body of exactly `len` bytes read from `r` (sent with `Content-Length`; if `r` ends
    /// early the connection is closed, the response being cut short).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = gevent_server::http::Body::sized(4, std::io::Cursor::new(b"data".to_vec()));
    /// assert_eq!(b.len(), Some(4));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn sized(len: u64, r: impl Read + 'static) -> Body {
        Body {
            kind: Kind::Sized(len, Box::new(io::BufReader::with_capacity(16 * 1024, r))),
        }
    }

    /// A body written by `f` after the head is sent (the role of WSGI's `write` callable):
    /// chunked on HTTP/1.1, delimited by closing on 1.0. If `f` fails or panics, the connection
    /// is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// let b = gevent_server::http::Body::stream(|w| { w.write_all(b"part 1, ")?; w.write_all(b"part 2") });
    /// assert_eq!(b.len(), None);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn stream(f: impl FnOnce(&mut dyn Write) -> io::Result<()> + 'static) -> Body {
        Body {
            kind: Kind::Stream(Some(Box::new(f))),
        }
    }

    /// The length if known: bytes left for in-memory and sized bodies, the `Content-Length`
    /// left for a request body (`None` if chunked).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gevent_server::http::Body::from(vec![1, 2, 3]).len(), Some(3));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn len(&self) -> Option<u64> {
        match &self.kind {
            Kind::Empty => Some(0),
            Kind::Bytes(b) => Some(b.len() as u64),
            Kind::Sized(n, _) => Some(*n),
            Kind::Reader(_) | Kind::Stream(_) => None,
            Kind::Incoming(i) => i
                .conn
                .body_remaining(i.seq)
                .map(|n| n + i.chunk.len() as u64),
        }
    }

    /// Whether it is known to be empty.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!gevent_server::http::Body::from("x").is_empty());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// For a request body: the connection's addresses.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gevent_server::http::Body::empty().conn_info().is_none());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn conn_info(&self) -> Option<ConnInfo> {
        match &self.kind {
            Kind::Incoming(i) => Some(i.conn.info),
            _ => None,
        }
    }

    /// For a chunked request body read to its end: its trailer fields, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gevent_server::http::Body::empty().trailers().is_none());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn trailers(&self) -> Option<HeaderMap> {
        match &self.kind {
            Kind::Incoming(i) => i.conn.trailers(i.seq),
            _ => None,
        }
    }

    /// A request body reading from `conn`.
    pub(crate) fn incoming(conn: Rc<Conn>, seq: u64) -> Body {
        Body {
            kind: Kind::Incoming(Incoming {
                conn,
                seq,
                chunk: Bytes::new(),
            }),
        }
    }
}

impl Body {
    /// Runs a stream body's callback into memory: reading a stream body reads what it writes.
    fn run_stream(&mut self) -> io::Result<()> {
        if let Kind::Stream(f) = &mut self.kind {
            let mut out = Vec::new();
            if let Some(f) = f.take() {
                f(&mut out)?;
            }
            self.kind = Kind::Bytes(Bytes::from(out));
        }
        Ok(())
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Body {
            kind: Kind::Bytes(Bytes::from(v)),
        }
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::from(s.into_bytes())
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Body {
            kind: Kind::Bytes(Bytes::from_static(s.as_bytes())),
        }
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Self {
        Body {
            kind: Kind::Bytes(Bytes::from_static(s)),
        }
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body {
            kind: Kind::Bytes(b),
        }
    }
}

impl From<()> for Body {
    fn from(_: ()) -> Self {
        Body::empty()
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.kind {
            Kind::Empty => Ok(0),
            Kind::Bytes(b) => {
                let n = b.len().min(buf.len());
                buf[..n].copy_from_slice(&b[..n]);
                b.advance(n);
                Ok(n)
            }
            Kind::Reader(r) => r.read(buf),
            Kind::Sized(left, r) => {
                let max = (*left).min(buf.len() as u64) as usize;
                let n = r.read(&mut buf[..max])?;
                *left -= n as u64;
                Ok(n)
            }
            Kind::Stream(_) => {
                self.run_stream()?;
                self.read(buf)
            }
            Kind::Incoming(i) => {
                if !i.chunk.is_empty() {
                    let n = i.chunk.len().min(buf.len());
                    buf[..n].copy_from_slice(&i.chunk[..n]);
                    i.chunk.advance(n);
                    return Ok(n);
                }
                i.conn.read_body(i.seq, buf)
            }
        }
    }
}

impl BufRead for Body {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if let Kind::Stream(_) = self.kind {
            self.run_stream()?;
        }
        match &mut self.kind {
            Kind::Empty => Ok(&[]),
            Kind::Bytes(b) => Ok(&b[..]),
            Kind::Reader(r) => r.fill_buf(),
            Kind::Sized(left, r) => {
                let b = r.fill_buf()?;
                let n = (*left).min(b.len() as u64) as usize;
                Ok(&b[..n])
            }
            Kind::Stream(_) => Ok(&[]),
            Kind::Incoming(i) => {
                if i.chunk.is_empty() {
                    i.chunk = i.conn.body_chunk(i.seq, 64 * 1024)?;
                }
                Ok(&i.chunk[..])
            }
        }
    }

    fn consume(&mut self, amt: usize) {
        match &mut self.kind {
            Kind::Empty | Kind::Stream(_) => {}
            Kind::Bytes(b) => b.advance(amt.min(b.len())),
            Kind::Reader(r) => r.consume(amt),
            Kind::Sized(left, r) => {
                let amt = (*left).min(amt as u64);
                *left -= amt;
                r.consume(amt as usize);
            }
            Kind::Incoming(i) => i.chunk.advance(amt.min(i.chunk.len())),
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Empty => "empty",
            Kind::Bytes(_) => "bytes",
            Kind::Reader(_) => "reader",
            Kind::Sized(..) => "sized",
            Kind::Stream(_) => "stream",
            Kind::Incoming(_) => "incoming",
        };
        f.debug_struct("Body")
            .field("kind", &kind)
            .field("len", &self.len())
            .finish()
    }
}
