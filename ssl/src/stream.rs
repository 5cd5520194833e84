//! [`TlsStream`]: a rustls session driven over a cooperative stream.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io::{self, BufRead, IoSlice, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};

use crate::handshake::handshake;
use crate::io::{flush_coop, process, Coop, Try};
use crate::transport::Transport;

/// A TLS connection over a cooperative stream `S` (gevent's [`TcpStream`] or [`UnixStream`]):
/// gevent's `SSLSocket`, on rustls. `Read`, `BufRead` and `Write` look blocking; in a greenlet
/// every wait switches to the hub, so thousands of TLS connections share one thread.
///
/// Made by [`connect`](TlsStream::connect) (client) or [`accept`](TlsStream::accept)
/// (server), which run the whole handshake before returning, or by a [`TlsConnector`] /
/// [`TlsAcceptor`] that carry a handshake timeout.
///
/// # Two ways to do I/O
///
/// * Through `&mut TlsStream` (`Read`, `BufRead`, `Write`): the common case, one greenlet per
///   connection. rustls reads the socket straight into its own record buffer and writes its
///   queued records straight to the socket with one `writev` (no copy of ours on either side;
///   the buffers are rustls's, reused for the life of the connection); waits happen inside the
///   socket's own calls, which honour its read and write timeouts.
/// * Through `&TlsStream` (`Read` and `Write` are implemented for `&TlsStream` too): one
///   greenlet reading while another writes (put the stream in an `Rc`). The session is borrowed
///   only between waits, never across one: a shared read tries the socket without waiting and,
///   if nothing is there, releases the session and waits for readability; a shared write
///   encrypts into the session's queue and sends what the socket takes, waiting for
///   writability with the session released. One reader and one writer at a time, as for the
///   socket (a second reader gets the socket's `ConcurrentUse` error); this path costs one
///   extra `recv` per wait.
///
/// # Timeouts
///
/// Reads and writes honour the stream's read and write timeouts (`get_ref().
/// set_read_timeout(..)`); an expired one gives the stream's error (`WouldBlock`, as std's
/// sockets do), and the session stays usable: a partial record stays buffered for the next
/// read. The handshake has its own limit (`connect_timeout`, [`TlsAcceptor::handshake_timeout`]).
///
/// # Closing
///
/// [`shutdown`](TlsStream::shutdown) sends `close_notify` and half-closes the stream; the peer
/// then reads a clean end-of-file (`Ok(0)`). Dropping a `TlsStream` without `shutdown` sends
/// nothing more (not even `close_notify`, which would tell the peer the data ended cleanly when
/// it may have been cut short by an error or a kill): the peer's rustls reads an
/// `UnexpectedEof` error. Reading after the peer's `close_notify` returns `Ok(0)`; a peer that
/// closes the connection without one gives `UnexpectedEof`.
///
/// # `Send`
///
/// `TlsStream<S>` is `Send` exactly when `S` is. gevent's sockets are `!Send` (they belong to
/// their thread's hub), so a `TlsStream` over one is `!Send` too:
///
/// ```compile_fail
/// fn is_send<T: Send>() {}
/// is_send::<gevent_ssl::TlsStream<gevent_net::TcpStream>>();
/// ```
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use std::sync::Arc;
/// use gevent_net::{TcpListener, TcpStream};
/// use gevent_ssl::{rustls, TlsStream};
///
/// # let (server_config, client_config) = include!("../tests/support/doc_configs.rs");
/// // server_config: Arc<rustls::ServerConfig>, client_config: Arc<rustls::ClientConfig>
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = listener.local_addr().unwrap();
/// let server = gevent_hub::spawn(move || {
///     let (tcp, _) = listener.accept().unwrap();
///     let mut tls = TlsStream::accept(server_config, tcp).unwrap();
///     let mut buf = [0u8; 5];
///     tls.read_exact(&mut buf).unwrap();
///     tls.write_all(&buf).unwrap();
///     tls.shutdown().unwrap();
/// });
/// let tcp = TcpStream::connect(addr).unwrap();
/// let mut tls = TlsStream::connect(client_config, "localhost", tcp).unwrap();
/// tls.write_all(b"hello").unwrap();
/// let mut echoed = String::new();
/// tls.read_to_string(&mut echoed).unwrap(); // up to the server's close_notify
/// assert_eq!(echoed, "hello");
/// server.join();
/// ```
///
/// [`TcpStream`]: gevent_net::TcpStream
/// [`UnixStream`]: gevent_net::unix::UnixStream
/// [`TlsConnector`]: crate::TlsConnector
/// [`TlsAcceptor`]: crate::TlsAcceptor
/// [`TlsAcceptor::handshake_timeout`]: crate::TlsAcceptor::handshake_timeout
pub struct TlsStream<S: Transport> {
    /// The stream the records travel on.
    pub(crate) io: S,
    /// The rustls session.
    ///
    /// # Invariant
    ///
    /// Borrowed (through the `RefCell`) only by the `&self` methods, and never across a
    /// switch, so a borrow never fails; the `&mut self` methods use `get_mut`.
    pub(crate) conn: RefCell<Connection>,
    /// What the handshake settled, copied once when it completed.
    pub(crate) info: Info,
    /// [`shutdown`](TlsStream::shutdown) was called: writes fail from now on.
    pub(crate) shut: Cell<bool>,
}

/// What a completed handshake settled (it never changes afterwards).
#[derive(Debug, Clone)]
pub(crate) struct Info {
    /// The peer's certificate chain, end-entity first (`None`: the peer sent none).
    pub(crate) peer_certificates: Option<Vec<CertificateDer<'static>>>,
    /// The application protocol agreed by ALPN.
    pub(crate) alpn: Option<Vec<u8>>,
    /// Server side: the name the client asked for (SNI); client side: the name it connected to.
    pub(crate) server_name: Option<String>,
    /// The TLS version.
    pub(crate) version: Option<rustls::ProtocolVersion>,
    /// The cipher suite.
    pub(crate) suite: Option<rustls::SupportedCipherSuite>,
    /// Whether this is the server side.
    pub(crate) server: bool,
}

impl Info {
    /// Copies what `conn`'s completed handshake settled.
    pub(crate) fn of(conn: &Connection, client_name: Option<String>) -> Info {
        let server_name = match conn {
            Connection::Client(_) => client_name,
            Connection::Server(s) => s.server_name().map(str::to_owned),
        };
        Info {
            peer_certificates: conn.peer_certificates().map(<[_]>::to_vec),
            alpn: conn.alpn_protocol().map(<[_]>::to_vec),
            server_name,
            version: conn.protocol_version(),
            suite: conn.negotiated_cipher_suite(),
            server: matches!(conn, Connection::Server(_)),
        }
    }
}

/// Parses `name` (a DNS name or an IP address) for rustls.
pub(crate) fn parse_server_name(name: &str) -> io::Result<ServerName<'static>> {
    ServerName::try_from(name)
        .map(|n| n.to_owned())
        .map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid TLS server name {name:?}: {e}"),
            )
        })
}

impl<S: Transport> TlsStream<S> {
    /// Runs a client handshake over `stream` for `server_name` (a DNS name, checked against
    /// the server's certificate and sent as SNI, or an IP address), and returns the
    /// connection once the handshake is complete. No time limit beyond the stream's own
    /// timeouts: see [`connect_timeout`](TlsStream::connect_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_net::{TcpListener, TcpStream};
    /// use gevent_ssl::TlsStream;
    /// # let (server_config, client_config) = include!("../tests/support/doc_configs.rs");
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = l.local_addr().unwrap();
    /// let s = gevent_hub::spawn(move || TlsStream::accept(server_config, l.accept().unwrap().0).map(drop).map_err(|e| e.to_string()));
    /// let tls = TlsStream::connect(client_config, "localhost", TcpStream::connect(addr).unwrap()).unwrap();
    /// assert_eq!(tls.server_name(), Some("localhost"));
    /// s.get().unwrap().unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// * `InvalidInput`: `server_name` is neither a DNS name nor an IP address.
    /// * `InvalidData` wrapping the [`rustls::Error`] (`e.get_ref()` downcasts to it) when the
    ///   handshake fails: an untrusted or wrong certificate ("invalid peer certificate:
    ///   UnknownIssuer", "... NotValidForName"), an alert from the server ("received fatal
    ///   alert: ..."), a peer that does not speak TLS. The alert for our side's failure is sent
    ///   to the peer (if the socket takes it without waiting) before the error is returned.
    /// * `UnexpectedEof`: the server closed the connection during the handshake.
    /// * `TimedOut`: the stream's read or write timeout expired during the handshake.
    /// * The stream's I/O errors.
    ///
    /// # Switches
    ///
    /// Yes, while waiting for the server.
    ///
    /// # Kill safety
    ///
    /// A kill or a [`Timeout`](gevent_timeout::Timeout) unwinding out of the handshake drops
    /// the session and `stream` (the socket closes; the peer sees the connection end without
    /// an alert).
    #[doc(alias = "wrap_socket")]
    pub fn connect(
        config: Arc<ClientConfig>,
        server_name: &str,
        stream: S,
    ) -> io::Result<TlsStream<S>> {
        Self::connect_inner(config, server_name, stream, None)
    }

    /// As [`connect`](TlsStream::connect), with the whole handshake limited to `timeout`.
    ///
    /// # Examples
    ///
    /// A server that accepts the connection but never answers:
    ///
    /// ```
    /// use std::time::Duration;
    /// use gevent_net::{TcpListener, TcpStream};
    /// use gevent_ssl::TlsStream;
    /// # let (_, client_config) = include!("../tests/support/doc_configs.rs");
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let tcp = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let e = TlsStream::connect_timeout(client_config, "localhost", tcp, Duration::from_millis(20))
    ///     .unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    /// ```
    ///
    /// # Errors
    ///
    /// As [`connect`](TlsStream::connect); `TimedOut` ("TLS handshake timed out after ...")
    /// when the handshake is not complete after `timeout`.
    ///
    /// # Switches
    ///
    /// Yes, while waiting for the server.
    ///
    /// # Kill safety
    ///
    /// As [`connect`](TlsStream::connect).
    pub fn connect_timeout(
        config: Arc<ClientConfig>,
        server_name: &str,
        stream: S,
        timeout: Duration,
    ) -> io::Result<TlsStream<S>> {
        Self::connect_inner(config, server_name, stream, Some(timeout))
    }

    /// The client handshake with an optional time limit.
    pub(crate) fn connect_inner(
        config: Arc<ClientConfig>,
        server_name: &str,
        stream: S,
        timeout: Option<Duration>,
    ) -> io::Result<TlsStream<S>> {
        let name = parse_server_name(server_name)?;
        let conn = ClientConnection::new(config, name).map_err(tls_error)?;
        handshake(
            Connection::Client(conn),
            stream,
            timeout,
            Some(server_name.to_owned()),
        )
    }

    /// Runs a server handshake over `stream` (an accepted connection) and returns the
    /// connection once the handshake is complete. No time limit beyond the stream's own
    /// timeouts: a server should use [`accept_timeout`](TlsStream::accept_timeout) or a
    /// [`TlsAcceptor`](crate::TlsAcceptor) with a handshake timeout, so that a client that
    /// connects and sends nothing cannot hold a greenlet for ever.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_net::{TcpListener, TcpStream};
    /// use gevent_ssl::TlsStream;
    /// # let (server_config, client_config) = include!("../tests/support/doc_configs.rs");
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = l.local_addr().unwrap();
    /// let c = gevent_hub::spawn(move || {
    ///     TlsStream::connect(client_config, "localhost", TcpStream::connect(addr).unwrap()).map(drop).map_err(|e| e.to_string())
    /// });
    /// let tls = TlsStream::accept(server_config, l.accept().unwrap().0).unwrap();
    /// assert_eq!(tls.server_name(), Some("localhost")); // the client's SNI
    /// c.get().unwrap().unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// * `InvalidData` wrapping the [`rustls::Error`]: the client does not speak TLS
    ///   (plaintext, garbage: "received corrupt message of type InvalidContentType"...), offers
    ///   nothing acceptable, rejects our certificate ("received fatal alert: UnknownCA").
    /// * `UnexpectedEof`: the client closed the connection during the handshake.
    /// * `TimedOut`: the stream's read or write timeout expired during the handshake.
    /// * The stream's I/O errors.
    ///
    /// # Switches
    ///
    /// Yes, while waiting for the client.
    ///
    /// # Kill safety
    ///
    /// A kill or a [`Timeout`](gevent_timeout::Timeout) unwinding out of the handshake drops
    /// the session and `stream`.
    #[doc(alias = "wrap_socket")]
    pub fn accept(config: Arc<ServerConfig>, stream: S) -> io::Result<TlsStream<S>> {
        Self::accept_inner(config, stream, None)
    }

    /// As [`accept`](TlsStream::accept), with the whole handshake limited to `timeout`: a
    /// client that stalls, trickles bytes or sends a partial record is cut off at the deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gevent_net::{TcpListener, TcpStream};
    /// use gevent_ssl::TlsStream;
    /// # let (server_config, _) = include!("../tests/support/doc_configs.rs");
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let _silent_client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let tcp = l.accept().unwrap().0;
    /// let e = TlsStream::accept_timeout(server_config, tcp, Duration::from_millis(20)).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    /// ```
    ///
    /// # Errors
    ///
    /// As [`accept`](TlsStream::accept); `TimedOut` ("TLS handshake timed out after ...")
    /// when the handshake is not complete after `timeout`.
    ///
    /// # Switches
    ///
    /// Yes, while waiting for the client.
    ///
    /// # Kill safety
    ///
    /// As [`accept`](TlsStream::accept).
    pub fn accept_timeout(
        config: Arc<ServerConfig>,
        stream: S,
        timeout: Duration,
    ) -> io::Result<TlsStream<S>> {
        Self::accept_inner(config, stream, Some(timeout))
    }

    /// The server handshake with an optional time limit.
    pub(crate) fn accept_inner(
        config: Arc<ServerConfig>,
        stream: S,
        timeout: Option<Duration>,
    ) -> io::Result<TlsStream<S>> {
        let conn = ServerConnection::new(config).map_err(tls_error)?;
        handshake(Connection::Server(conn), stream, timeout, None)
    }

    /// The stream under the session (for `peer_addr`, timeouts, `set_nodelay`...). Reading or
    /// writing it directly corrupts the TLS stream.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gevent_net::{TcpListener, TcpStream};
    /// # use gevent_ssl::TlsStream;
    /// # let (tls, _peer) = include!("../tests/support/doc_pair.rs");
    /// tls.get_ref().set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The stream under the session, mutably; see [`get_ref`](TlsStream::get_ref).
    ///
    /// # Examples
    ///
    /// ```
    /// # let (mut tls, _peer) = include!("../tests/support/doc_pair.rs");
    /// tls.get_mut().set_nodelay(true).unwrap();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// The rustls session, for what this type does not wrap (exporting keying material,
    /// `dangerous_extract_secrets`...).
    ///
    /// # Examples
    ///
    /// ```
    /// # let (mut tls, _peer) = include!("../tests/support/doc_pair.rs");
    /// assert!(!tls.connection().is_handshaking());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn connection(&mut self) -> &mut Connection {
        self.conn.get_mut()
    }

    /// Takes the stream and the session apart. Records rustls still holds (queued to send,
    /// received and not yet read) stay in the session.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (tls, _peer) = include!("../tests/support/doc_pair.rs");
    /// let (tcp, conn) = tls.into_parts();
    /// assert!(!conn.wants_write());
    /// # drop(tcp);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn into_parts(self) -> (S, Connection) {
        (self.io, self.conn.into_inner())
    }

    /// Whether this is the server side.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (tls, _peer) = include!("../tests/support/doc_pair.rs");
    /// assert!(!tls.is_server()); // doc_pair's first stream is the client
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_server(&self) -> bool {
        self.info.server
    }

    /// The peer's certificate chain, end-entity first, as the handshake received it: on a
    /// client, the server's chain; on a server, the client's (only if the server asked for
    /// client certificates and the client sent some).
    ///
    /// # Examples
    ///
    /// ```
    /// # let (client, server) = include!("../tests/support/doc_pair.rs");
    /// assert_eq!(client.peer_certificates().unwrap().len(), 1);
    /// assert!(server.peer_certificates().is_none()); // no client authentication
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.info.peer_certificates.as_deref()
    }

    /// The application protocol agreed through ALPN (for example `b"http/1.1"`), if both sides
    /// configured ALPN and agreed on one.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (tls, _peer) = include!("../tests/support/doc_pair.rs");
    /// assert_eq!(tls.alpn_protocol(), None); // the doc configs set no ALPN
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.info.alpn.as_deref()
    }

    /// On a server, the host name the client asked for (SNI), if it sent one; on a client, the
    /// name given to `connect`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (client, server) = include!("../tests/support/doc_pair.rs");
    /// assert_eq!(client.server_name(), Some("localhost"));
    /// assert_eq!(server.server_name(), Some("localhost"));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn server_name(&self) -> Option<&str> {
        self.info.server_name.as_deref()
    }

    /// The TLS version agreed.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (tls, _peer) = include!("../tests/support/doc_pair.rs");
    /// assert_eq!(tls.protocol_version(), Some(gevent_ssl::rustls::ProtocolVersion::TLSv1_3));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        self.info.version
    }

    /// The cipher suite agreed.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (tls, _peer) = include!("../tests/support/doc_pair.rs");
    /// println!("{:?}", tls.cipher_suite().unwrap().suite());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn cipher_suite(&self) -> Option<rustls::SupportedCipherSuite> {
        self.info.suite
    }

    /// Ends the TLS stream cleanly: sends `close_notify` (and anything still queued before
    /// it), then half-closes the stream's write side. The peer reads what was sent, then a
    /// clean end-of-file (`Ok(0)`). Reading can go on until the peer's own `close_notify`.
    /// Later writes fail with `BrokenPipe`. Calling it twice sends one `close_notify`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// # let (client, mut server) = include!("../tests/support/doc_pair.rs");
    /// client.shutdown().unwrap();
    /// assert_eq!(server.read(&mut [0u8; 16]).unwrap(), 0); // clean end-of-file
    /// ```
    ///
    /// # Errors
    ///
    /// The stream's write errors (`WouldBlock` when its write timeout expires while the peer
    /// does not read) and `shutdown`'s.
    ///
    /// # Switches
    ///
    /// Yes, while the socket's send buffer is full.
    ///
    /// # Kill safety
    ///
    /// A kill while waiting to send leaves the `close_notify` queued in the session (sent by a
    /// later `flush` or `shutdown`; lost if the stream is dropped) and the write side open.
    pub fn shutdown(&self) -> io::Result<()> {
        self.shut.set(true);
        self.conn.borrow_mut().send_close_notify();
        self.flush_shared()?;
        self.io.shutdown_write()
    }

    /// Sends what the session has queued, never holding the session across a wait.
    fn flush_shared(&self) -> io::Result<()> {
        loop {
            {
                let mut conn = self.conn.borrow_mut();
                while conn.wants_write() {
                    match conn.write_tls(&mut Try(&self.io)) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
                if !conn.wants_write() {
                    return Ok(());
                }
            }
            self.io.wait_writable()?;
        }
    }

    /// `Read` through `&self`.
    fn read_shared(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            {
                let mut conn = self.conn.borrow_mut();
                let conn = &mut *conn;
                match conn.reader().read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    r => return r,
                }
                if conn.wants_write() {
                    // Alerts or key-update replies: whatever the socket takes now; a writer
                    // (or the next read) sends the rest.
                    match conn.write_tls(&mut Try(&self.io)) {
                        Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                        _ => {}
                    }
                }
                match conn.read_tls(&mut Try(&self.io)) {
                    Ok(_) => {
                        process(conn, &self.io)?;
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            self.io.wait_readable()?;
        }
    }

    /// `Write::write_vectored` through `&self`.
    fn write_shared(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        check_open(&self.shut)?;
        // Earlier records first: the session's queue has room, and nothing is accepted if
        // this wait is interrupted.
        self.flush_shared()?;
        let n = self.conn.borrow_mut().writer().write_vectored(bufs)?;
        // Accepted: `n` must be reported whatever happens to the sending, so an error here
        // waits for the next call (the records stay queued).
        let _ = self.flush_shared();
        Ok(n)
    }
}

impl<S: Transport> Read for TlsStream<S> {
    /// Reads decrypted data: what the session has already decrypted, or else reads records
    /// from the socket (waiting) until some data is decrypted. `Ok(0)` after the peer's
    /// `close_notify`.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` when the peer closed the connection without `close_notify`;
    /// `InvalidData` wrapping a [`rustls::Error`] for a corrupt or forged record or an alert;
    /// the stream's errors (`WouldBlock` at its read timeout).
    ///
    /// # Kill safety
    ///
    /// A kill or timeout unwinding out of the wait consumed nothing: bytes of a partial record
    /// already read stay in the session's buffer, and the next read goes on from there.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let conn = self.conn.get_mut();
        loop {
            match conn.reader().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                r => return r,
            }
            fill(conn, &self.io)?;
        }
    }
}

/// Reads records from `io` (waiting) until the session has plaintext, end-of-file or an error
/// to report: one `read_tls` and its processing per call.
fn fill<S: Transport>(conn: &mut Connection, io: &S) -> io::Result<()> {
    // Records queued earlier (an interrupted write, alerts, key-update replies) go first.
    flush_coop(conn, io)?;
    conn.read_tls(&mut Coop(io))?;
    process(conn, io)
}

impl<S: Transport> BufRead for TlsStream<S> {
    /// The decrypted data rustls holds (the rest of one record), reading and decrypting
    /// records (waiting) while there is none; empty at the clean end.
    ///
    /// # Errors
    ///
    /// As `read`.
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let conn = self.conn.get_mut();
        loop {
            match conn.reader().into_first_chunk() {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            fill(conn, &self.io)?;
        }
        conn.reader().into_first_chunk()
    }

    fn consume(&mut self, amt: usize) {
        self.conn.get_mut().reader().consume(amt)
    }
}

impl<S: Transport> Write for TlsStream<S> {
    /// Encrypts `buf` (up to the session's buffer limit, 64 KiB by default) and sends the
    /// records, waiting while the socket's buffer is full.
    ///
    /// # Errors
    ///
    /// `BrokenPipe` after [`shutdown`](TlsStream::shutdown); the session's error (after a
    /// failed read); the stream's errors
    /// while sending records queued by an earlier call. Once `buf` is accepted, `Ok` is
    /// returned even if sending fails: the error comes with the next call.
    ///
    /// # Kill safety
    ///
    /// Killed before `buf` is accepted: nothing is written. Killed while its records are
    /// being sent: they stay queued in the session, and the next `write`, `flush`, `read` or
    /// `shutdown` sends them first (dropping the stream loses them).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    /// As `write`, for several buffers that go out in as few records as they fit in (rustls
    /// encrypts across the slices without joining them first) and one `writev`.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        check_open(&self.shut)?;
        let conn = self.conn.get_mut();
        flush_coop(conn, &self.io)?;
        let n = conn.writer().write_vectored(bufs)?;
        let _ = flush_coop(conn, &self.io);
        Ok(n)
    }

    /// Sends every queued record, waiting as needed.
    fn flush(&mut self) -> io::Result<()> {
        let conn = self.conn.get_mut();
        flush_coop(conn, &self.io)?;
        conn.writer().flush()
    }
}

impl<S: Transport> Read for &TlsStream<S> {
    /// As `TlsStream`'s `read`, without holding the session while waiting, so another
    /// greenlet can write meanwhile.
    ///
    /// # Kill safety
    ///
    /// As `TlsStream`'s `read`.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_shared(buf)
    }
}

impl<S: Transport> Write for &TlsStream<S> {
    /// As `TlsStream`'s `write`, without holding the session while waiting, so another
    /// greenlet can read meanwhile.
    ///
    /// # Kill safety
    ///
    /// As `TlsStream`'s `write`.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_shared(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.write_shared(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_shared()?;
        self.conn.borrow_mut().writer().flush()
    }
}

impl<S: Transport + fmt::Debug> fmt::Debug for TlsStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("io", &self.io)
            .field("server", &self.info.server)
            .field("version", &self.info.version)
            .field(
                "alpn",
                &self.info.alpn.as_deref().map(String::from_utf8_lossy),
            )
            .field("server_name", &self.info.server_name)
            .finish_non_exhaustive()
    }
}

/// The error of a write after [`TlsStream::shutdown`].
fn check_open(shut: &Cell<bool>) -> io::Result<()> {
    if shut.get() {
        return Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "write after the TLS stream was shut down (close_notify sent)",
        ));
    }
    Ok(())
}

/// A rustls error as an `io::Error` (kind `InvalidData`, rustls's own convention) whose inner
/// error is the [`rustls::Error`].
pub(crate) fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}
