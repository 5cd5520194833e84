//! An HTTP/1.1 server (the role of gevent's `pywsgi`): plain blocking handlers
//! `Fn(http::Request<Body>) -> http::Response<Body>`, one greenlet per connection.
//!
//! * Keep-alive with an idle timeout; pipelining, with the responses to all the requests that
//!   arrived together written in one system call; HTTP/1.0 keep-alive on request.
//! * Request bodies with `Content-Length` or chunked (trailers kept), read lazily through
//!   [`Body`]; `Expect: 100-continue` answered only when the handler reads; an unread small
//!   body is discarded (up to `drain_limit`), a larger one closes the connection.
//! * Responses: `Content-Length` for sized bodies, chunked for streamed ones on HTTP/1.1 (on
//!   1.0 the connection is closed after the body); no body for HEAD, 1xx, 204 and 304; a
//!   `Date` header formatted once per second.
//! * A handler that panics gets a `500 Internal Server Error` with `Connection: close` (if
//!   nothing of its response was sent; else the connection closes); a kill or a `stop` never
//!   produces a 500.
//! * Hardening (defaults in [`HttpBuilder`]): one deadline for the whole request head (408),
//!   an idle timeout, body and write timeouts; request line → 414, header count and bytes →
//!   431, body → 413; RFC 9112 §6.3: `Transfer-Encoding` with `Content-Length`, differing or
//!   malformed `Content-Length`, unknown or repeated transfer codings, bad chunk framing, a
//!   bare LF in the head, obs-fold, a missing or repeated `Host` → 400, and the connection
//!   closes: the bytes after a framing error are never parsed as a request.
//!
//! # Examples
//!
//! ```
//! use std::io::{Read, Write};
//! use gevent_server::http::{Body, HttpServer};
//!
//! let server = HttpServer::new("127.0.0.1:0", |req: http::Request<Body>| {
//!     http::Response::new(Body::from(format!("you asked for {}", req.uri().path())))
//! });
//! server.start().unwrap();
//! let mut c = gevent_net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
//! c.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
//! let mut out = String::new();
//! c.read_to_string(&mut out).unwrap();
//! assert!(out.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(out.ends_with("\r\n\r\nyou asked for /hello"));
//! server.stop(None);
//! ```

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Method, Request, Response, StatusCode, Uri, Version};

use crate::addr::ServerAddr;
use crate::stream::{Config, Service, StreamServer};

mod body;
mod chunked;
mod conn;
mod date;
mod head;
mod sock;

pub use self::body::{Body, ConnInfo, StreamFn};

/// Where the access log goes.
///
/// # Examples
///
/// ```
/// use gevent_server::http::AccessLog;
/// let log = AccessLog::Custom(std::sync::Arc::new(|r| println!("{r}")));
/// # drop(log);
/// ```
#[derive(Clone, Default)]
pub enum AccessLog {
    /// No access log.
    Off,
    /// One line per request on stderr, in gevent's format (the default, as gevent).
    #[default]
    Stderr,
    /// One `tracing` event per request (target `gevent_server::access`, level INFO).
    Tracing,
    /// A function called for each request.
    Custom(Arc<dyn Fn(&LogRecord<'_>) + Send + Sync>),
}

impl AccessLog {
    /// Records one request.
    fn log(&self, r: &LogRecord<'_>) {
        match self {
            AccessLog::Off => {}
            AccessLog::Stderr => {
                use std::io::Write;
                let line = format!("{r}\n");
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
            AccessLog::Tracing => tracing::info!(
                target: "gevent_server::access",
                peer = %r.peer,
                method = %r.method,
                uri = %r.uri,
                status = r.status.as_u16(),
                bytes = r.body_bytes,
                elapsed_us = r.elapsed.as_micros() as u64,
                "{r}"
            ),
            AccessLog::Custom(f) => f(r),
        }
    }
}

impl fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccessLog::Off => "Off",
            AccessLog::Stderr => "Stderr",
            AccessLog::Tracing => "Tracing",
            AccessLog::Custom(_) => "Custom",
        })
    }
}

/// One request, as the access log sees it. `Display` writes gevent's line:
/// `127.0.0.1 - - [2013-11-19 12:08:00] "GET / HTTP/1.1" 200 128 0.000725` (the time in UTC).
///
/// # Examples
///
/// ```
/// use gevent_server::http::LogRecord;
/// let r = LogRecord {
///     peer: "127.0.0.1:5000".parse().unwrap(),
///     method: &http::Method::GET,
///     uri: &"/".parse().unwrap(),
///     version: http::Version::HTTP_11,
///     status: http::StatusCode::OK,
///     body_bytes: Some(13),
///     elapsed: std::time::Duration::from_micros(725),
/// };
/// let line = r.to_string();
/// assert!(line.starts_with("127.0.0.1 - - ["));
/// assert!(line.ends_with("] \"GET / HTTP/1.1\" 200 13 0.000725"));
/// ```
#[derive(Debug)]
pub struct LogRecord<'a> {
    /// The client.
    pub peer: SocketAddr,
    /// The method.
    pub method: &'a Method,
    /// The request target.
    pub uri: &'a Uri,
    /// The request's version.
    pub version: Version,
    /// The status sent.
    pub status: StatusCode,
    /// Body bytes sent (`None`: no body, as for HEAD).
    pub body_bytes: Option<u64>,
    /// From the parsed head to the response queued.
    pub elapsed: Duration,
}

impl fmt::Display for LogRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} - - [{}] \"{} {} {:?}\" {} ",
            self.peer.ip(),
            date::log_time(),
            self.method,
            self.uri,
            self.version,
            self.status.as_u16()
        )?;
        match self.body_bytes {
            Some(n) => write!(f, "{n}")?,
            None => f.write_str("-")?,
        }
        write!(f, " {:.6}", self.elapsed.as_secs_f64())
    }
}

/// The HTTP settings shared by all threads of a server.
#[derive(Debug, Clone)]
pub(crate) struct HttpConfig {
    /// Allow persistent connections.
    pub(crate) keep_alive: bool,
    /// Idle time allowed between requests.
    pub(crate) keep_alive_timeout: Duration,
    /// Deadline for a whole request head, from its first bytes.
    pub(crate) header_read_timeout: Duration,
    /// Wait allowed for each read of a body.
    pub(crate) body_read_timeout: Option<Duration>,
    /// Wait allowed for each write.
    pub(crate) write_timeout: Option<Duration>,
    /// Head limits.
    pub(crate) head: head::HeadLimits,
    /// Largest request body.
    pub(crate) max_body: Option<u64>,
    /// Longest chunk size line.
    pub(crate) max_chunk_ext_bytes: usize,
    /// Longest trailer section.
    pub(crate) max_trailer_bytes: usize,
    /// Unread body bytes discarded to keep a connection.
    pub(crate) drain_limit: u64,
    /// Write the responses of pipelined requests together.
    pub(crate) pipeline_batching: bool,
    /// Add `Date`.
    pub(crate) date_header: bool,
    /// Add `Server`.
    pub(crate) server_header: Option<HeaderValue>,
    /// The access log.
    pub(crate) access_log: AccessLog,
    /// Initial read buffer size.
    pub(crate) read_buffer: usize,
    /// HTTPS: the TLS settings.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<TlsSettings>,
}

/// The TLS side of an HTTPS server.
#[cfg(feature = "tls")]
#[derive(Debug, Clone)]
pub(crate) struct TlsSettings {
    /// The rustls configuration (with ALPN `http/1.1`).
    pub(crate) config: Arc<gevent_ssl::rustls::ServerConfig>,
    /// Deadline for a connection's handshake.
    pub(crate) handshake_timeout: Duration,
}

impl HttpConfig {
    /// The TLS handshake's deadline, for an HTTPS server.
    pub(crate) fn tls_handshake_timeout(&self) -> Option<Duration> {
        #[cfg(feature = "tls")]
        if let Some(t) = &self.tls {
            return Some(t.handshake_timeout);
        }
        None
    }
}

/// The default deadline for a TLS handshake.
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            keep_alive: true,
            keep_alive_timeout: Duration::from_secs(5),
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Some(Duration::from_secs(60)),
            write_timeout: Some(Duration::from_secs(60)),
            head: head::HeadLimits::default(),
            max_body: None,
            max_chunk_ext_bytes: 16 * 1024,
            max_trailer_bytes: 16 * 1024,
            drain_limit: 64 * 1024,
            pipeline_batching: true,
            date_header: true,
            server_header: None,
            access_log: AccessLog::Stderr,
            read_buffer: 1024,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// The handler, or its factory.
enum HandlerSource {
    /// A handler for a server on this thread.
    Local(conn::HttpHandler),
    /// Builds each server thread's handler.
    Factory(Arc<dyn Fn() -> conn::HttpHandler + Send + Sync>),
}

/// An HTTP/1.1 server; see the [module documentation](self).
///
/// `start`, `serve_forever`, `close` and `local_addr` behave as [`StreamServer`]'s. `stop`
/// is graceful: idle keep-alive connections close at once, requests in flight are answered
/// with `Connection: close`, and handlers still running at the deadline are killed.
///
/// # Examples
///
/// ```
/// use gevent_server::http::{Body, HttpServer};
/// let server = HttpServer::builder("127.0.0.1:0")
///     .keep_alive_timeout(std::time::Duration::from_secs(5))
///     .max_body(Some(1 << 20))
///     .handler(|_req: http::Request<Body>| http::Response::new(Body::from("ok")))
///     .build()
///     .unwrap();
/// server.start().unwrap();
/// server.stop(None);
/// ```
#[derive(Clone)]
pub struct HttpServer {
    /// The TCP server running the connections.
    server: StreamServer,
}

impl HttpServer {
    /// A server for `addr` with the default settings.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_server::http::HttpServer::new("127.0.0.1:0", |_r| http::Response::new("hi".into()));
    /// assert!(!s.started());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new<A, F>(addr: A, handler: F) -> HttpServer
    where
        A: ServerAddr,
        F: Fn(Request<Body>) -> Response<Body> + 'static,
    {
        HttpServer::builder(addr)
            .handler(handler)
            .build()
            .expect("a one-thread server with a handler always builds")
    }

    /// A builder with every option.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = gevent_server::http::HttpServer::builder("127.0.0.1:0").max_headers(50);
    /// # drop(b);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn builder<A: ServerAddr>(addr: A) -> HttpBuilder {
        HttpBuilder {
            addr: addr.into_server_addr(),
            stream: Config {
                nodelay: true,
                ..Config::default()
            },
            http: HttpConfig::default(),
            handler: None,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "tls")]
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Binds and starts serving; returns at once. See [`StreamServer::start`].
    ///
    /// # Errors
    ///
    /// As [`StreamServer::start`].
    ///
    /// # Switches
    ///
    /// As [`StreamServer::start`].
    ///
    /// # Kill safety
    ///
    /// As [`StreamServer::start`](crate::StreamServer::start).
    pub fn start(&self) -> io::Result<()> {
        self.server.start()
    }

    /// Starts if needed and serves until closed or stopped. See
    /// [`StreamServer::serve_forever`].
    ///
    /// # Errors
    ///
    /// As [`StreamServer::start`].
    ///
    /// # Switches
    ///
    /// Yes, until the server closes.
    ///
    /// # Kill safety
    ///
    /// A kill ends the wait; the server keeps running.
    pub fn serve_forever(&self) -> io::Result<()> {
        self.server.serve_forever()
    }

    /// Graceful stop: stops accepting, closes idle connections, answers requests in flight with
    /// `Connection: close`, waits up to `timeout` (`None`: the `stop_timeout`, 1 s) and kills
    /// the handlers still running.
    ///
    /// # Switches
    ///
    /// Yes, while handlers run.
    ///
    /// # Kill safety
    ///
    /// A kill ends the wait; handlers not yet killed keep running.
    pub fn stop(&self, timeout: Option<Duration>) {
        self.server.stop(timeout)
    }

    /// Stops accepting and closes the listener and the idle connections; requests in flight
    /// complete, with `Connection: close`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn close(&self) {
        self.server.close()
    }

    /// Whether it was started and is not closed.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn started(&self) -> bool {
        self.server.started()
    }

    /// Whether it was closed or stopped.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn closed(&self) -> bool {
        self.server.closed()
    }

    /// The address it listens on.
    ///
    /// # Errors
    ///
    /// `NotConnected` before `start`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.server.local_addr()
    }

    /// The TCP server underneath.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn stream_server(&self) -> &StreamServer {
        &self.server
    }
}

impl fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServer")
            .field("server", &self.server)
            .finish()
    }
}

/// Builder of [`HttpServer`]; every option with its default.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent_server::http::{AccessLog, Body, HttpServer};
/// let server = HttpServer::builder("127.0.0.1:0")
///     .keep_alive_timeout(Duration::from_secs(5))
///     .header_read_timeout(Duration::from_secs(30))
///     .max_request_line(8192)
///     .max_headers(100)
///     .max_head_bytes(64 * 1024)
///     .max_body(Some(10 << 20))
///     .access_log(AccessLog::Off)
///     .pool(10_000)
///     .handler(|_req: http::Request<Body>| http::Response::new(Body::empty()))
///     .build()
///     .unwrap();
/// # drop(server);
/// ```
pub struct HttpBuilder {
    /// Where to listen.
    addr: crate::addr::Addr,
    /// TCP settings.
    stream: Config,
    /// HTTP settings.
    http: HttpConfig,
    /// The handler.
    handler: Option<HandlerSource>,
    /// HTTPS: the TLS configuration.
    #[cfg(feature = "tls")]
    tls: Option<Arc<gevent_ssl::rustls::ServerConfig>>,
    /// HTTPS: the handshake's deadline.
    #[cfg(feature = "tls")]
    handshake_timeout: Duration,
}

impl HttpBuilder {
    /// Serve HTTPS: every connection runs a TLS handshake with `config` (in its own
    /// greenlet, within the [handshake timeout](HttpBuilder::tls_handshake_timeout)) before
    /// its first request. A handshake that fails (a plaintext client, garbage, an untrusted
    /// certificate on the client's side, a stall past the deadline) is logged through
    /// `tracing` (INFO) and the connection closed; no handler runs. ALPN is set to `http/1.1`
    /// if `config` offers no protocol (`build` refuses other protocols, such as `h2`).
    /// Requests show it in [`ConnInfo::tls`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let (server_config, _) = include!("../../tests/support/tls_configs.rs");
    /// use gevent_server::http::{Body, HttpServer};
    /// // server_config: Arc<rustls::ServerConfig> (certificate chain and key)
    /// let server = HttpServer::builder("127.0.0.1:0")
    ///     .tls(server_config)
    ///     .handler(|_req| http::Response::new(Body::from("secure hello")))
    ///     .build()
    ///     .unwrap();
    /// # drop(server);
    /// ```
    ///
    /// # Switches
    ///
    /// Never: it only records the configuration (handshakes run in each connection's greenlet).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: Arc<gevent_ssl::rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Deadline for a connection's TLS handshake, from its accept (default 10 s).
    ///
    /// # Switches
    ///
    /// Never: it only records the setting.
    #[cfg(feature = "tls")]
    pub fn tls_handshake_timeout(mut self, d: Duration) -> Self {
        self.handshake_timeout = d;
        self
    }

    /// Persistent connections (default on).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn keep_alive(mut self, on: bool) -> Self {
        self.http.keep_alive = on;
        self
    }

    /// How long a connection may stay idle between requests (default 5 s).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn keep_alive_timeout(mut self, d: Duration) -> Self {
        self.http.keep_alive_timeout = d;
        self
    }

    /// Deadline for a whole request head, counted from its first bytes (default 30 s, as
    /// hyper); past it: 408 and close. This is the slowloris defence: a client trickling one
    /// byte at a time cannot hold a connection longer.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn header_read_timeout(mut self, d: Duration) -> Self {
        self.http.header_read_timeout = d;
        self
    }

    /// Wait allowed for each read of a request body (default 60 s; `None`: forever).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn body_read_timeout(mut self, d: Option<Duration>) -> Self {
        self.http.body_read_timeout = d;
        self
    }

    /// Wait allowed for each write (default 60 s; `None`: forever).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn write_timeout(mut self, d: Option<Duration>) -> Self {
        self.http.write_timeout = d;
        self
    }

    /// Longest request line (default 8,192 bytes, as pywsgi) → 414.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn max_request_line(mut self, n: usize) -> Self {
        self.http.head.max_request_line = n;
        self
    }

    /// Most header fields (default 100) → 431.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn max_headers(mut self, n: usize) -> Self {
        self.http.head.max_headers = n.max(1);
        self
    }

    /// Longest request head (default 64 KiB) → 431.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn max_head_bytes(mut self, n: usize) -> Self {
        self.http.head.max_head_bytes = n;
        self
    }

    /// Largest request body (default `None`: unlimited): a larger `Content-Length` → 413
    /// before the handler runs; a chunked body going over → the handler's read fails and the
    /// answer is 413.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn max_body(mut self, n: Option<u64>) -> Self {
        self.http.max_body = n;
        self
    }

    /// Longest chunk-size line, extensions included (default 16 KiB).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn max_chunk_ext_bytes(mut self, n: usize) -> Self {
        self.http.max_chunk_ext_bytes = n.max(1);
        self
    }

    /// Longest trailer section (default 16 KiB).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn max_trailer_bytes(mut self, n: usize) -> Self {
        self.http.max_trailer_bytes = n;
        self
    }

    /// Unread request body bytes discarded after the response to keep the connection
    /// (default 64 KiB); a longer unread `Content-Length` body closes it.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn drain_limit(mut self, n: u64) -> Self {
        self.http.drain_limit = n;
        self
    }

    /// Write the responses of requests that arrived together in one system call (default
    /// on); off: one write per response.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn pipeline_batching(mut self, on: bool) -> Self {
        self.http.pipeline_batching = on;
        self
    }

    /// Add a `Date` header (default on; formatted once per second).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn date_header(mut self, on: bool) -> Self {
        self.http.date_header = on;
        self
    }

    /// A `Server` header to add (default none).
    ///
    /// # Panics
    ///
    /// If `name` is not a valid header value.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn server_header(mut self, name: Option<&str>) -> Self {
        self.http.server_header =
            name.map(|n| HeaderValue::from_str(n).expect("a valid Server header value"));
        self
    }

    /// The access log (default [`AccessLog::Stderr`], as gevent).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn access_log(mut self, log: AccessLog) -> Self {
        self.http.access_log = log;
        self
    }

    /// Reject a bare LF as a line end in the head (default on); off: accept it (RFC 9112 §2.2
    /// allows either). Chunk framing always requires CRLF.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn strict_line_endings(mut self, on: bool) -> Self {
        self.http.head.strict_line_endings = on;
        self
    }

    /// Initial size of each connection's read buffer (default 1 KiB, so that idle connections
    /// stay small; it grows for larger heads or batches, and keeps its size).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn read_buffer(mut self, n: usize) -> Self {
        self.http.read_buffer = n.max(MIN_READ_BUFFER);
        self
    }

    /// `TCP_NODELAY` on connections (default on).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn nodelay(mut self, on: bool) -> Self {
        self.stream.nodelay = on;
        self
    }

    /// At most `n` connections served at once per thread; accepting waits while full.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn pool(mut self, n: usize) -> Self {
        self.stream.pool = Some(n.max(1));
        self
    }

    /// `listen`'s backlog (default `SOMAXCONN`).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn backlog(mut self, n: i32) -> Self {
        self.stream.sock.backlog = n;
        self
    }

    /// `SO_REUSEADDR` (default on).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn reuse_addr(mut self, on: bool) -> Self {
        self.stream.sock.reuse_addr = on;
        self
    }

    /// `SO_REUSEPORT` (default off; on with `threads(n > 1)`).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.stream.sock.reuse_port = on;
        self
    }

    /// Connections accepted in a row before the handlers run (default 100).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn max_accept(mut self, n: usize) -> Self {
        self.stream.max_accept = n.max(1);
        self
    }

    /// Pause after accept errors such as `EMFILE` (default 10 ms doubling to 1 s).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn accept_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.stream.min_delay = min.max(Duration::from_micros(100));
        self.stream.max_delay = max.max(self.stream.min_delay);
        self
    }

    /// Grace period of `stop(None)` (default 1 s).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn stop_timeout(mut self, d: Duration) -> Self {
        self.stream.stop_timeout = d;
        self
    }

    /// Serve from `n` threads, one hub and one `SO_REUSEPORT` listener each; needs
    /// [`handler_factory`](HttpBuilder::handler_factory).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn threads(mut self, n: usize) -> Self {
        self.stream.threads = n.max(1);
        self
    }

    /// The request handler, for a server on this thread.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn handler<F>(mut self, f: F) -> Self
    where
        F: Fn(Request<Body>) -> Response<Body> + 'static,
    {
        self.handler = Some(HandlerSource::Local(Rc::new(f)));
        self
    }

    /// Builds the request handler once on each server thread.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn handler_factory<FF, F>(mut self, factory: FF) -> Self
    where
        FF: Fn() -> F + Send + Sync + 'static,
        F: Fn(Request<Body>) -> Response<Body> + 'static,
    {
        self.handler = Some(HandlerSource::Factory(Arc::new(move || {
            Rc::new(factory()) as conn::HttpHandler
        })));
        self
    }

    /// The server (not started).
    ///
    /// # Errors
    ///
    /// `InvalidInput` without a handler, with `threads(n > 1)` and `handler` instead of
    /// `handler_factory`, or with a TLS configuration whose ALPN protocols are not
    /// `http/1.1` (and `http/1.0`).
    ///
    /// # Switches
    ///
    /// Never.
    #[allow(unused_mut)]
    pub fn build(mut self) -> io::Result<HttpServer> {
        #[cfg(feature = "tls")]
        if let Some(config) = self.tls.take() {
            self.http.tls = Some(TlsSettings {
                config: with_http11_alpn(config)?,
                handshake_timeout: self.handshake_timeout,
            });
        }
        let cfg = Arc::new(self.http);
        let server = match self.handler {
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the server needs a handler",
                ))
            }
            Some(HandlerSource::Local(h)) => {
                if self.stream.threads > 1 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "threads(n) with n > 1 needs handler_factory",
                    ));
                }
                StreamServer::with_service(self.addr, self.stream, service(cfg, h))
            }
            Some(HandlerSource::Factory(f)) => StreamServer::with_factory(
                self.addr,
                self.stream,
                Arc::new(move || service(cfg.clone(), f())),
            ),
        };
        Ok(HttpServer { server })
    }
}

/// The smallest read buffer.
const MIN_READ_BUFFER: usize = 1024;

/// `config` with ALPN `http/1.1` if it offers no protocol.
///
/// # Errors
///
/// `InvalidInput` if it offers protocols other than HTTP/1.x (`h2`: a client choosing it would
/// get HTTP/1.1), or not `http/1.1`.
#[cfg(feature = "tls")]
fn with_http11_alpn(
    config: Arc<gevent_ssl::rustls::ServerConfig>,
) -> io::Result<Arc<gevent_ssl::rustls::ServerConfig>> {
    const H1: &[u8] = b"http/1.1";
    if config.alpn_protocols.is_empty() {
        let mut c = (*config).clone();
        c.alpn_protocols = vec![H1.to_vec()];
        return Ok(Arc::new(c));
    }
    let only_h1 = config
        .alpn_protocols
        .iter()
        .all(|p| p == H1 || p == b"http/1.0");
    if only_h1 && config.alpn_protocols.iter().any(|p| p == H1) {
        return Ok(config);
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "the TLS configuration's ALPN protocols must be http/1.1 (and http/1.0), the only \
         protocols this server speaks",
    ))
}

impl fmt::Debug for HttpBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpBuilder")
            .field("addr", &self.addr)
            .field("stream", &self.stream)
            .field("http", &self.http)
            .finish()
    }
}

/// The TCP service of an HTTP server on one thread.
fn service(cfg: Arc<HttpConfig>, handler: conn::HttpHandler) -> Service {
    let shared = Rc::new(conn::Shared {
        cfg,
        handler,
        stopping: Cell::new(false),
        conns: RefCell::new(slab::Slab::new()),
        sweeper: RefCell::new(None),
    });
    let s2 = shared.clone();
    Service {
        handler: Rc::new(move |stream, peer| conn::serve(shared.clone(), stream, peer)),
        on_close: Some(Rc::new(move || s2.begin_stop())),
        close_after: false,
    }
}

/// The request parser and chunked decoder, for fuzzing and tests (not a stable API).
#[doc(hidden)]
pub mod fuzzing {
    pub use super::chunked::{ChunkError, ChunkLimits, ChunkedDecoder};
    pub use super::head::{parse, scan, Framing, Head, HeadLimits, Reject, Scan};
    pub use http::Version;
}
