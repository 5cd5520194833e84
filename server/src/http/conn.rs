//! One HTTP/1.1 connection: read, parse every buffered request, run the handler, queue the
//! responses, write them with one system call, repeat.
//!
//! # Design
//!
//! * One read buffer per connection (`BytesMut`), reused: each request head is split off it
//!   and frozen, so the `http::Request`'s URI and header values share those bytes; once the
//!   handler has dropped the request, the buffer is unique again and `reserve` reclaims it.
//! * Responses are appended to one write buffer. It is flushed only when the connection has to
//!   wait for the client (no complete request left in the read buffer), when it grows large,
//!   before a streamed body, and before closing: pipelined requests get all their responses in
//!   one `send`, a lone keep-alive request costs one `recv` and one `send`.
//! * Timeouts are coarse deadlines stored in the socket while it waits (no hub timer; see the
//!   `sock` module): the idle keep-alive timeout between requests, one deadline for the whole
//!   head (slowloris), a body timeout per read, a write timeout per write. One sweeper per
//!   server thread (a hub timer re-armed while connections exist) ends the waits whose
//!   deadline passed.
//! * The request is built in place: the head is parsed straight into the `http::Request`
//!   handed to the handler, so the large `http` structures are not moved around.

use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gevent_hub::Timer;

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, DATE, SERVER, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version};
use slab::Slab;

use super::body::{Body, ConnInfo, Kind};
use super::chunked::{ChunkError, ChunkLimits, ChunkedDecoder};
use super::date::{http_date, DATE_LEN};
use super::head::{self, Framing, HeadInfo, Reject, Scan};
use super::sock::{deadline_in, now_ms, ConnSock, NEVER};
use super::{AccessLog, HttpConfig, LogRecord};
use crate::net::TcpStream;

/// The user's handler on one thread.
pub(crate) type HttpHandler = Rc<dyn Fn(Request<Body>) -> Response<Body>>;

/// Read room below which the buffer is reclaimed or grown before a read.
const MIN_ROOM: usize = 512;
/// Write buffer size above which responses are flushed at once.
const FLUSH_AT: usize = 64 * 1024;
/// Bodies up to this size are copied into the write buffer; longer ones are written directly.
const COPY_BODY: usize = 16 * 1024;
/// Length of the `date` line ending a head.
const DATE_LINE: usize = 6 + DATE_LEN + 4;
/// Leading empty lines tolerated before a request line.
const MAX_EMPTY_LINES: usize = 8;
/// How long a closing connection reads (and discards) what the client still sends.
const LINGER: Duration = Duration::from_secs(2);

/// What one server thread shares between its connections.
pub(crate) struct Shared {
    /// The settings.
    pub(crate) cfg: Arc<HttpConfig>,
    /// The handler.
    pub(crate) handler: HttpHandler,
    /// The server is stopping: answer with `Connection: close`, take no new request.
    pub(crate) stopping: Cell<bool>,
    /// The open connections (to close the idle ones on stop, and for the sweeper).
    pub(crate) conns: RefCell<Slab<Rc<Conn>>>,
    /// The sweeper's timer, while connections exist.
    pub(crate) sweeper: RefCell<Option<Timer>>,
}

/// How often the sweeper looks for expired deadlines: an eighth of the shortest timeout,
/// between 5 ms and 250 ms (a deadline fires at most that late).
pub(crate) fn sweep_period(cfg: &HttpConfig) -> Duration {
    let mut t = cfg.keep_alive_timeout.min(cfg.header_read_timeout);
    for d in [
        cfg.body_read_timeout,
        cfg.write_timeout,
        cfg.tls_handshake_timeout(),
    ]
    .into_iter()
    .flatten()
    {
        t = t.min(d);
    }
    (t / 8).clamp(Duration::from_millis(5), Duration::from_millis(250))
}

impl Shared {
    /// Starts a graceful stop: idle keep-alive connections close now, busy ones after their
    /// current response.
    pub(crate) fn begin_stop(&self) {
        self.stopping.set(true);
        let idle: Vec<Rc<Conn>> = self
            .conns
            .borrow()
            .iter()
            .filter(|(_, c)| c.idle.get())
            .map(|(_, c)| c.clone())
            .collect();
        for c in idle {
            c.stream.close();
        }
    }

    /// Starts the sweeper if it is not running.
    fn ensure_sweeper(self: &Rc<Self>) {
        if self.sweeper.borrow().is_none() {
            arm_sweeper(Rc::downgrade(self));
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(t) = self.sweeper.get_mut().take() {
            t.cancel();
        }
    }
}

/// Arms the sweeper's next pass. Its timer does not keep the hub's loop alive (the
/// connections' own waits do).
fn arm_sweeper(shared: std::rc::Weak<Shared>) {
    let Some(s) = shared.upgrade() else { return };
    let period = sweep_period(&s.cfg);
    let t = gevent_hub::get_hub().call_later(period, move || sweep(shared));
    t.set_ref(false);
    *s.sweeper.borrow_mut() = Some(t);
}

/// One sweeper pass (in the hub): ends the waits whose deadline passed, and re-arms while
/// connections exist.
fn sweep(shared: std::rc::Weak<Shared>) {
    let Some(s) = shared.upgrade() else { return };
    s.sweeper.borrow_mut().take();
    let now = now_ms();
    let expired: Vec<Rc<Conn>> = s
        .conns
        .borrow()
        .iter()
        .filter(|(_, c)| c.stream.sock.deadline() <= now)
        .map(|(_, c)| c.clone())
        .collect();
    for c in expired {
        c.stream.sock.expire();
    }
    if !s.conns.borrow().is_empty() {
        arm_sweeper(shared);
    }
}

/// The state of the current request's body.
enum BodyState {
    /// Read to its end (or none).
    Done,
    /// `Content-Length` bytes still to come.
    Length(u64),
    /// A chunked body being decoded.
    Chunked(Box<ChunkedDecoder>),
    /// Reading failed; the connection must close.
    Failed(BodyError),
}

/// Why reading a request body failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyError {
    /// Bad chunked framing (→ 400).
    Framing,
    /// Over the body limit (→ 413).
    TooLarge,
    /// The client was too slow (→ 408).
    Timeout,
    /// The client hung up or the socket failed (no response).
    Gone,
}

/// A connection's buffers and the current body's state.
struct Io {
    /// Read buffer: `rbuf[..filled]` are received, unconsumed bytes; the rest is initialised
    /// room.
    rbuf: BytesMut,
    /// See `rbuf`.
    filled: usize,
    /// Responses not yet sent.
    wbuf: Vec<u8>,
    /// The current request's body.
    body: BodyState,
    /// `Expect: 100-continue` not yet answered.
    continue_pending: bool,
    /// Trailers of the last chunked body.
    trailers: Option<HeaderMap>,
    /// `date: <the date for this batch>\r\n\r\n` (the end of a head).
    date: [u8; DATE_LINE],
    /// Whether `date` was taken since the last read.
    date_fresh: bool,
}

/// A connection's byte stream: the socket, or a TLS session over it.
pub(crate) struct Wire {
    /// The socket (also under the TLS session).
    pub(crate) sock: Rc<ConnSock>,
    /// The TLS session (HTTPS), once its handshake is done.
    #[cfg(feature = "tls")]
    tls: std::cell::OnceCell<RefCell<gevent_ssl::TlsStream<super::sock::TlsSock>>>,
}

impl Wire {
    /// Reads into `buf`, waiting at most until `deadline`; a short read of the socket clears
    /// readability (see the `sock` module).
    #[inline]
    fn read(&self, buf: &mut [u8], deadline: u64) -> io::Result<usize> {
        #[cfg(feature = "tls")]
        if let Some(t) = self.tls.get() {
            return self.tls_read(t, buf, deadline);
        }
        self.sock.read(buf, deadline)
    }

    /// Reads into `buf`, waiting at most until `deadline`, seeing an end-of-file for sure.
    fn read_eof(&self, buf: &mut [u8], deadline: u64) -> io::Result<usize> {
        #[cfg(feature = "tls")]
        if let Some(t) = self.tls.get() {
            return self.tls_read(t, buf, deadline);
        }
        self.sock.read_eof(buf, deadline)
    }

    /// Reads decrypted bytes.
    #[cfg(feature = "tls")]
    fn tls_read(
        &self,
        t: &RefCell<gevent_ssl::TlsStream<super::sock::TlsSock>>,
        buf: &mut [u8],
        deadline: u64,
    ) -> io::Result<usize> {
        use std::io::Read;
        let mut t = t
            .try_borrow_mut()
            .map_err(|_| io::Error::other("the TLS session is in use"))?;
        self.sock.set_tls_read_deadline(deadline);
        let r = t.read(buf);
        self.sock.set_tls_read_deadline(NEVER);
        match r {
            // The peer closed without close_notify: for HTTP/1.1 framing, the end of the
            // stream (the framing says whether anything was cut short).
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            r => r,
        }
    }

    /// Writes all of `buf` (each wait at most the write timeout).
    fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        #[cfg(feature = "tls")]
        if let Some(t) = self.tls.get() {
            let mut t = t
                .try_borrow_mut()
                .map_err(|_| io::Error::other("the TLS session is in use"))?;
            t.write_all(buf)?;
            return t.flush();
        }
        self.sock.write_all(buf)
    }

    /// Ends the sending side: `close_notify` then a half-close with TLS, a half-close
    /// without.
    fn shutdown_write(&self) -> io::Result<()> {
        #[cfg(feature = "tls")]
        if let Some(t) = self.tls.get() {
            let t = t
                .try_borrow()
                .map_err(|_| io::Error::other("the TLS session is in use"))?;
            return t.shutdown();
        }
        self.sock.shutdown(std::net::Shutdown::Write)
    }

    /// Closes the socket now (waiters wake with `EBADF`).
    pub(crate) fn close(&self) {
        self.sock.close();
    }
}

/// One connection.
pub(crate) struct Conn {
    /// The socket, or TLS over it.
    pub(crate) stream: Wire,
    /// Its addresses.
    pub(crate) info: ConnInfo,
    /// The thread's server state.
    shared: Rc<Shared>,
    /// Waiting for a new request with nothing buffered (closable at once on stop).
    idle: Cell<bool>,
    /// The number of the current request.
    seq: Cell<u64>,
    /// Buffers and body state.
    io: RefCell<Io>,
}

/// Takes the connection out of its thread's registry and closes it, however it ends.
struct Registered {
    /// The thread's state.
    shared: Rc<Shared>,
    /// Key in `shared.conns`.
    key: usize,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let c = self.shared.conns.borrow_mut().try_remove(self.key);
        if let Some(c) = c {
            c.stream.close();
        }
    }
}

/// Serves one connection until it closes.
pub(crate) fn serve(shared: Rc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let cfg = shared.cfg.clone();
    let sock = match ConnSock::new(stream, cfg.write_timeout) {
        Ok(s) => Rc::new(s),
        Err(e) => {
            tracing::debug!(error = %e, "gevent-server: cannot register a connection");
            return;
        }
    };
    let local_addr = sock.local_addr().unwrap_or(peer);
    let conn = Rc::new(Conn {
        stream: Wire {
            sock,
            #[cfg(feature = "tls")]
            tls: std::cell::OnceCell::new(),
        },
        info: ConnInfo {
            peer_addr: peer,
            local_addr,
            tls: cfg.tls_handshake_timeout().is_some(),
        },
        shared: shared.clone(),
        idle: Cell::new(false),
        seq: Cell::new(0),
        io: RefCell::new(Io {
            rbuf: BytesMut::new(),
            filled: 0,
            wbuf: Vec::new(),
            body: BodyState::Done,
            continue_pending: false,
            trailers: None,
            date: *b"date: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n",
            date_fresh: false,
        }),
    });
    let key = shared.conns.borrow_mut().insert(conn.clone());
    shared.ensure_sweeper();
    let _registered = Registered { shared, key };
    #[cfg(feature = "tls")]
    if let Some(tls) = &cfg.tls {
        if !conn.handshake(tls) {
            return;
        }
    }
    conn.run();
}

/// What the next step of the connection is.
enum Next {
    /// A request head to parse and handle (its bytes, the empty line included).
    Request(Bytes),
    /// The client sent something unacceptable.
    Reject(Reject),
    /// More bytes are needed (the buffer holds part of a head, or nothing).
    More,
}

impl Conn {
    /// Runs the TLS handshake (within its deadline); `false` if it failed (logged).
    #[cfg(feature = "tls")]
    fn handshake(&self, tls: &super::TlsSettings) -> bool {
        let sock = &self.stream.sock;
        self.idle.set(true);
        sock.set_tls_read_deadline(deadline_in(Some(tls.handshake_timeout)));
        let r =
            gevent_ssl::TlsStream::accept(tls.config.clone(), super::sock::TlsSock(sock.clone()));
        sock.set_tls_read_deadline(NEVER);
        self.idle.set(false);
        match r {
            Ok(t) => {
                let _ = self.stream.tls.set(RefCell::new(t));
                true
            }
            Err(e) if self.shared.stopping.get() => {
                tracing::debug!(peer = %self.info.peer_addr, error = %e, "gevent-server: TLS handshake cut short by stop");
                false
            }
            Err(e) => {
                tracing::info!(
                    peer = %self.info.peer_addr,
                    error = %e,
                    "gevent-server: TLS handshake failed; closing the connection"
                );
                false
            }
        }
    }

    /// The connection loop.
    fn run(self: &Rc<Self>) {
        let cfg = self.shared.cfg.clone();
        let mut scan_from = 0;
        let mut head_deadline = NEVER;
        loop {
            let next = self.io.borrow_mut().next_head(&mut scan_from, &cfg);
            match next {
                Next::Request(h) => {
                    head_deadline = NEVER;
                    scan_from = 0;
                    if !self.handle(h) {
                        return;
                    }
                }
                Next::Reject(r) => {
                    self.reject(r);
                    return;
                }
                Next::More => {
                    let mut io = self.io.borrow_mut();
                    if io.filled == 0 {
                        if self.shared.stopping.get() || io.flush(&self.stream).is_err() {
                            let _ = io.flush(&self.stream);
                            return;
                        }
                        self.idle.set(true);
                        let r = io.fill(
                            &self.stream,
                            deadline_in(Some(cfg.keep_alive_timeout)),
                            cfg.read_buffer,
                        );
                        self.idle.set(false);
                        match r {
                            Ok(n) if n > 0 => {}
                            _ => return, // closed, idle timeout, or error
                        }
                    } else {
                        if head_deadline == NEVER {
                            head_deadline = deadline_in(Some(cfg.header_read_timeout));
                        }
                        match io.fill(&self.stream, head_deadline, cfg.read_buffer) {
                            Ok(n) if n > 0 => {}
                            Ok(_) => return, // hung up mid-head
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                drop(io);
                                self.reject(Reject {
                                    status: StatusCode::REQUEST_TIMEOUT,
                                    reason: "request head not received in time",
                                });
                                return;
                            }
                            Err(_) => return,
                        }
                    }
                }
            }
        }
    }

    /// Parses the head `h` into a request, runs the handler and queues the response;
    /// `false` when the connection must close.
    fn handle(self: &Rc<Self>, h: Bytes) -> bool {
        let shared = &self.shared;
        let cfg = &*shared.cfg;
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        // Built in place: the head is parsed straight into the request the handler gets.
        // It goes to the handler through a slot, so that the unwind guard moves a pointer
        // rather than the large `http` structures (and the response comes back the same way).
        let mut req_slot = Some(Request::new(Body::incoming(self.clone(), seq)));
        let Some(req) = req_slot.as_mut() else {
            return false;
        };
        let info: HeadInfo = match head::parse_into(h, &cfg.head, req) {
            Ok(i) => i,
            Err(r) => {
                drop(req_slot);
                self.reject(r);
                return false;
            }
        };
        {
            let mut io = self.io.borrow_mut();
            io.trailers = None;
            io.body = match info.framing {
                Framing::Length(0) => BodyState::Done,
                Framing::Length(n) => {
                    if cfg.max_body.is_some_and(|m| n > m) {
                        drop(io);
                        drop(req_slot);
                        self.reject(Reject {
                            status: StatusCode::PAYLOAD_TOO_LARGE,
                            reason: "request body too large",
                        });
                        return false;
                    }
                    BodyState::Length(n)
                }
                Framing::Chunked => {
                    BodyState::Chunked(Box::new(ChunkedDecoder::new(ChunkLimits {
                        max_line: cfg.max_chunk_ext_bytes,
                        max_trailers: cfg.max_trailer_bytes,
                        max_body: cfg.max_body,
                    })))
                }
            };
            io.continue_pending = info.expect_continue && !matches!(io.body, BodyState::Done);
        }
        let version = req.version();
        let is_head = req.method() == Method::HEAD;
        let mut keep = info.keep_alive && cfg.keep_alive;
        let log = match cfg.access_log {
            AccessLog::Off => None,
            _ => Some((req.method().clone(), req.uri().clone(), Instant::now())),
        };
        let mut resp_slot: Option<Response<Body>> = None;
        let handler = &*shared.handler;
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            if req_slot.is_some() {
                resp_slot = Some(handler(req_slot.take().expect("checked")));
            }
        }));
        drop(req_slot);
        let ok = match result {
            Ok(()) => true,
            Err(p) if is_kill(&*p) => panic::resume_unwind(p),
            Err(p) => {
                tracing::error!(
                    peer = %self.info.peer_addr,
                    panic = panic_message(&*p),
                    "gevent-server: the HTTP handler panicked; answering 500"
                );
                false
            }
        };
        let io = self.io.borrow_mut();
        let mut drain = false;
        let forced = match &io.body {
            BodyState::Done => None,
            BodyState::Failed(BodyError::Gone) => return false,
            BodyState::Failed(BodyError::Framing) => Some(StatusCode::BAD_REQUEST),
            BodyState::Failed(BodyError::TooLarge) => Some(StatusCode::PAYLOAD_TOO_LARGE),
            BodyState::Failed(BodyError::Timeout) => Some(StatusCode::REQUEST_TIMEOUT),
            BodyState::Length(rem) => {
                if io.continue_pending || *rem > cfg.drain_limit {
                    keep = false;
                } else {
                    drain = true;
                }
                None
            }
            BodyState::Chunked(_) => {
                if io.continue_pending {
                    keep = false;
                } else {
                    drain = true;
                }
                None
            }
        };
        match (forced, ok) {
            (Some(status), _) => {
                keep = false;
                drain = false;
                resp_slot = Some(error_response(status));
            }
            (None, true) => {}
            (None, false) => {
                keep = false;
                drain = false;
                resp_slot = Some(error_response(StatusCode::INTERNAL_SERVER_ERROR));
            }
        }
        if shared.stopping.get() {
            keep = false;
        }
        let Some(resp) = resp_slot.as_mut() else {
            return false; // not reached: the handler returned or a response was made
        };
        let status = resp.status();
        drop(io);
        let sent = match self.write_response(resp, version, is_head, &mut keep) {
            Ok(n) => n,
            Err(_) => return false,
        };
        if let Some((method, uri, t0)) = log {
            cfg.access_log.log(&LogRecord {
                peer: self.info.peer_addr,
                method: &method,
                uri: &uri,
                version,
                status,
                body_bytes: sent,
                elapsed: t0.elapsed(),
            });
        }
        let mut io = self.io.borrow_mut();
        if drain && !io.drain(&self.stream, cfg) {
            keep = false;
        }
        if !keep {
            io.lingering_close(&self.stream);
            return false;
        }
        if !cfg.pipeline_batching || io.wbuf.len() >= FLUSH_AT {
            return io.flush(&self.stream).is_ok();
        }
        true
    }

    /// Answers a rejected request (after the responses queued before it) and closes.
    fn reject(&self, r: Reject) {
        tracing::debug!(peer = %self.info.peer_addr, status = %r.status, reason = r.reason, "gevent-server: request rejected");
        let mut keep = false;
        if self
            .write_response(
                &mut error_response(r.status),
                Version::HTTP_11,
                false,
                &mut keep,
            )
            .is_ok()
        {
            self.io.borrow_mut().lingering_close(&self.stream);
        }
    }

    /// Encodes `resp` into the write buffer (streaming its body if needed); returns the body
    /// bytes sent (`None` when not sent, for HEAD and bodiless statuses). The buffers are
    /// borrowed only around each step, so a body reading the request (`Body::reader(request
    /// body)`) can use them in between.
    fn write_response(
        &self,
        resp: &mut Response<Body>,
        version: Version,
        is_head: bool,
        keep: &mut bool,
    ) -> io::Result<Option<u64>> {
        let cfg = &*self.shared.cfg;
        let mut body = std::mem::take(resp.body_mut());
        let status = resp.status();
        let headers = resp.headers();
        let bodiless = status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED;
        // A request body echoed back: read it now (the connection cannot read and write it
        // at once).
        if let Kind::Incoming(i) = &mut body.kind {
            let mut data = std::mem::take(&mut i.chunk).to_vec();
            let seq = i.seq;
            let mut io = self.io.borrow_mut();
            loop {
                match io.body_poll(&self.stream, cfg, 64 * 1024, seq == self.seq.get()) {
                    Ok(0) => break,
                    Ok(n) => {
                        data.extend_from_slice(&io.rbuf[..n]);
                        io.consume(n);
                    }
                    Err(_) => {
                        *keep = false;
                        break;
                    }
                }
            }
            body = Body::from(data);
        }
        // A reader with a Content-Length set by the handler is a sized body.
        if let Kind::Reader(_) = body.kind {
            if let Some(n) = headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
            {
                if let Kind::Reader(r) = std::mem::replace(&mut body.kind, Kind::Empty) {
                    body.kind = Kind::Sized(n, r);
                }
            }
        }
        enum Frame {
            None,
            Length(u64),
            Chunked,
            Close,
        }
        let frame = if bodiless {
            Frame::None
        } else {
            match &body.kind {
                Kind::Empty => Frame::Length(0),
                Kind::Bytes(b) => Frame::Length(b.len() as u64),
                Kind::Sized(n, _) => Frame::Length(*n),
                Kind::Reader(_) | Kind::Stream(_) | Kind::Incoming(_) => {
                    if version == Version::HTTP_11 {
                        Frame::Chunked
                    } else {
                        *keep = false;
                        Frame::Close
                    }
                }
            }
        };
        // The head.
        let mut guard = self.io.borrow_mut();
        let io = &mut *guard;
        let w = &mut io.wbuf;
        w.extend_from_slice(status_line(status).as_bytes());
        let mut has_date = false;
        let mut has_server = false;
        for (name, value) in headers.iter() {
            if name == CONNECTION {
                if has_token(value.as_bytes(), b"close") {
                    *keep = false;
                }
                continue;
            }
            if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
                continue;
            }
            if name == DATE {
                has_date = true;
            } else if name == SERVER {
                has_server = true;
            }
            w.extend_from_slice(name.as_str().as_bytes());
            w.extend_from_slice(b": ");
            w.extend_from_slice(value.as_bytes());
            w.extend_from_slice(b"\r\n");
        }
        if let (Some(s), false) = (&cfg.server_header, has_server) {
            w.extend_from_slice(b"server: ");
            w.extend_from_slice(s.as_bytes());
            w.extend_from_slice(b"\r\n");
        }
        match frame {
            Frame::Length(n) => {
                w.extend_from_slice(b"content-length: ");
                w.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
                w.extend_from_slice(b"\r\n");
            }
            Frame::Chunked => w.extend_from_slice(b"transfer-encoding: chunked\r\n"),
            Frame::None | Frame::Close => {}
        }
        if !*keep {
            w.extend_from_slice(b"connection: close\r\n");
        } else if version == Version::HTTP_10 {
            w.extend_from_slice(b"connection: keep-alive\r\n");
        }
        if cfg.date_header && !has_date {
            if !io.date_fresh {
                io.date[6..6 + DATE_LEN].copy_from_slice(&http_date());
                io.date_fresh = true;
            }
            io.wbuf.extend_from_slice(&io.date);
        } else {
            io.wbuf.extend_from_slice(b"\r\n");
        }
        if is_head || bodiless {
            return Ok(None);
        }
        // The body.
        drop(guard);
        match body.kind {
            Kind::Empty => Ok(Some(0)),
            Kind::Bytes(b) => {
                let mut io = self.io.borrow_mut();
                if b.len() <= COPY_BODY {
                    io.wbuf.extend_from_slice(&b);
                } else {
                    io.flush(&self.stream)?;
                    self.stream.write_all(&b)?;
                }
                Ok(Some(b.len() as u64))
            }
            Kind::Sized(n, mut r) => {
                let mut left = n;
                while left > 0 {
                    let chunk = r.fill_buf()?;
                    if chunk.is_empty() {
                        *keep = false;
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the sized body ended early",
                        ));
                    }
                    let k = (left.min(chunk.len() as u64)) as usize;
                    self.io.borrow_mut().queue(&self.stream, &chunk[..k])?;
                    r.consume(k);
                    left -= k as u64;
                }
                Ok(Some(n))
            }
            Kind::Reader(mut r) => {
                let chunked = matches!(frame, Frame::Chunked);
                let mut sent = 0u64;
                loop {
                    let chunk = r.fill_buf()?;
                    if chunk.is_empty() {
                        break;
                    }
                    let k = chunk.len();
                    self.io
                        .borrow_mut()
                        .queue_chunk(&self.stream, chunk, chunked)?;
                    r.consume(k);
                    sent += k as u64;
                }
                if chunked {
                    self.io.borrow_mut().wbuf.extend_from_slice(b"0\r\n\r\n");
                }
                Ok(Some(sent))
            }
            Kind::Stream(f) => {
                let chunked = matches!(frame, Frame::Chunked);
                let mut w = StreamWriter {
                    io: &self.io,
                    stream: &self.stream,
                    chunked,
                    sent: 0,
                };
                let r = match f {
                    Some(f) => panic::catch_unwind(AssertUnwindSafe(|| f(&mut w))),
                    None => Ok(Ok(())),
                };
                let sent = w.sent;
                match r {
                    Ok(Ok(())) => {
                        if chunked {
                            self.io.borrow_mut().wbuf.extend_from_slice(b"0\r\n\r\n");
                        }
                        Ok(Some(sent))
                    }
                    Ok(Err(e)) => {
                        *keep = false;
                        Err(e)
                    }
                    Err(p) if is_kill(&*p) => panic::resume_unwind(p),
                    Err(p) => {
                        tracing::error!(
                            panic = panic_message(&*p),
                            "gevent-server: a streamed body panicked; closing the connection"
                        );
                        *keep = false;
                        Err(io::Error::other("the streamed body panicked"))
                    }
                }
            }
            Kind::Incoming(_) => unreachable!("echoed bodies were read into memory"),
        }
    }

    /// Reads up to `buf.len()` bytes of request `seq`'s body.
    pub(crate) fn read_body(&self, seq: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut io = self.borrow_io()?;
        let n = io.body_poll(
            &self.stream,
            &self.shared.cfg,
            buf.len(),
            seq == self.seq.get(),
        )?;
        buf[..n].copy_from_slice(&io.rbuf[..n]);
        io.consume(n);
        Ok(n)
    }

    /// Takes up to `max` bytes of request `seq`'s body without copying them.
    pub(crate) fn body_chunk(&self, seq: u64, max: usize) -> io::Result<Bytes> {
        let mut io = self.borrow_io()?;
        let n = io.body_poll(&self.stream, &self.shared.cfg, max, seq == self.seq.get())?;
        Ok(io.take(n))
    }

    /// Bytes of request `seq`'s body still to come, if known.
    pub(crate) fn body_remaining(&self, seq: u64) -> Option<u64> {
        if seq != self.seq.get() {
            return Some(0);
        }
        let io = self.io.try_borrow().ok()?;
        match &io.body {
            BodyState::Done | BodyState::Failed(_) => Some(0),
            BodyState::Length(n) => Some(*n),
            BodyState::Chunked(_) => None,
        }
    }

    /// The trailers of request `seq`'s chunked body, once read.
    pub(crate) fn trailers(&self, seq: u64) -> Option<HeaderMap> {
        if seq != self.seq.get() {
            return None;
        }
        self.io.try_borrow().ok()?.trailers.clone()
    }

    /// The connection's buffers, or an error if another greenlet uses them right now.
    fn borrow_io(&self) -> io::Result<std::cell::RefMut<'_, Io>> {
        self.io
            .try_borrow_mut()
            .map_err(|_| io::Error::other("the request body is being read by another greenlet"))
    }
}

impl Io {
    /// Finds the next request in the buffer.
    fn next_head(&mut self, scan_from: &mut usize, cfg: &HttpConfig) -> Next {
        // RFC 9112 §2.2: ignore empty lines before a request line.
        let mut empty = 0;
        loop {
            let data = &self.rbuf[..self.filled];
            let skip = if data.starts_with(b"\r\n") {
                2
            } else if data.starts_with(b"\n") && !cfg.head.strict_line_endings {
                1
            } else {
                break;
            };
            empty += 1;
            if empty > MAX_EMPTY_LINES {
                return Next::Reject(Reject::bad("too many empty lines"));
            }
            self.consume(skip);
            *scan_from = 0;
        }
        if self.filled == 0 {
            return Next::More;
        }
        match head::scan(&self.rbuf[..self.filled], *scan_from, &cfg.head) {
            Ok(Scan::Partial(from)) => {
                *scan_from = from;
                Next::More
            }
            Err(r) => Next::Reject(r),
            Ok(Scan::Complete(n)) => Next::Request(self.take(n)),
        }
    }

    /// Drops `n` received bytes.
    fn consume(&mut self, n: usize) {
        self.rbuf.advance(n);
        self.filled -= n;
    }

    /// Takes `n` received bytes without copying.
    fn take(&mut self, n: usize) -> Bytes {
        self.filled -= n;
        self.rbuf.split_to(n).freeze()
    }

    /// Sends the queued responses.
    fn flush(&mut self, s: &Wire) -> io::Result<()> {
        if !self.wbuf.is_empty() {
            let r = s.write_all(&self.wbuf);
            self.wbuf.clear();
            r?;
        }
        Ok(())
    }

    /// Flushes, then reads more bytes (waiting at most until `deadline`, then
    /// `WouldBlock`); `Ok(0)` at end of stream.
    fn fill(&mut self, s: &Wire, deadline: u64, init: usize) -> io::Result<usize> {
        self.flush(s)?;
        if self.rbuf.len() - self.filled < MIN_ROOM {
            let want = (self.filled * 2).max(init).max(self.filled + MIN_ROOM);
            self.rbuf.truncate(self.filled);
            self.rbuf.reserve(want - self.filled);
            let cap = self.rbuf.capacity();
            self.rbuf.resize(cap, 0);
        }
        let n = s.read(&mut self.rbuf[self.filled..], deadline)?;
        self.filled += n;
        self.date_fresh = false;
        Ok(n)
    }

    /// Makes the next `n ≤ max` bytes of the buffer body data (consuming chunk framing,
    /// reading from the socket as needed); the caller must consume them. 0 at the end of the
    /// body. `current`: the body belongs to the request being handled.
    fn body_poll(
        &mut self,
        s: &Wire,
        cfg: &HttpConfig,
        max: usize,
        current: bool,
    ) -> io::Result<usize> {
        if !current || max == 0 {
            return Ok(0);
        }
        loop {
            match &mut self.body {
                BodyState::Done => return Ok(0),
                BodyState::Failed(e) => return Err(body_error(*e)),
                BodyState::Length(rem) => {
                    if *rem == 0 {
                        self.body = BodyState::Done;
                        return Ok(0);
                    }
                    if self.filled > 0 {
                        let n = (*rem).min(self.filled as u64).min(max as u64) as usize;
                        *rem -= n as u64;
                        if *rem == 0 {
                            self.body = BodyState::Done;
                        }
                        return Ok(n);
                    }
                }
                BodyState::Chunked(d) => {
                    if self.filled > 0 {
                        match d.decode(&self.rbuf[..self.filled], max) {
                            Ok((used, data)) => {
                                let done = d.is_done();
                                if done {
                                    self.trailers = d.take_trailers();
                                    self.body = BodyState::Done;
                                }
                                if !data.is_empty() {
                                    self.consume(data.start);
                                    return Ok(data.len());
                                }
                                self.consume(used);
                                if done {
                                    return Ok(0);
                                }
                                continue;
                            }
                            Err(e) => {
                                let err = match e {
                                    ChunkError::BodyTooLarge => BodyError::TooLarge,
                                    _ => BodyError::Framing,
                                };
                                self.body = BodyState::Failed(err);
                                return Err(body_error(err));
                            }
                        }
                    }
                }
            }
            // Nothing buffered: ask the client (once) and wait for it.
            if self.continue_pending {
                self.continue_pending = false;
                self.wbuf
                    .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
            }
            match self.fill(s, deadline_in(cfg.body_read_timeout), cfg.read_buffer) {
                Ok(n) if n > 0 => {}
                Ok(_) => {
                    self.body = BodyState::Failed(BodyError::Gone);
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the client closed the connection before the end of the body",
                    ));
                }
                Err(e) => {
                    let err = if e.kind() == io::ErrorKind::WouldBlock {
                        BodyError::Timeout
                    } else {
                        BodyError::Gone
                    };
                    self.body = BodyState::Failed(err);
                    return Err(body_error(err));
                }
            }
        }
    }

    /// Discards the rest of an unread body (at most the drain limit); `false` if the
    /// connection cannot be reused.
    fn drain(&mut self, s: &Wire, cfg: &HttpConfig) -> bool {
        let mut left = cfg.drain_limit;
        loop {
            match self.body_poll(s, cfg, 64 * 1024, true) {
                Ok(0) => return true,
                Ok(n) => {
                    self.consume(n);
                    if n as u64 > left {
                        return false;
                    }
                    left -= n as u64;
                }
                Err(_) => return false,
            }
        }
    }

    /// Appends body bytes, flushing when the buffer is large.
    fn queue(&mut self, s: &Wire, data: &[u8]) -> io::Result<()> {
        self.wbuf.extend_from_slice(data);
        if self.wbuf.len() >= FLUSH_AT {
            self.flush(s)?;
        }
        Ok(())
    }

    /// Appends one chunk (framed if `chunked`), flushing when the buffer is large.
    fn queue_chunk(&mut self, s: &Wire, data: &[u8], chunked: bool) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if chunked {
            let mut hex = [0u8; 16];
            let h = hex_len(data.len(), &mut hex);
            self.wbuf.extend_from_slice(h);
            self.wbuf.extend_from_slice(b"\r\n");
            self.wbuf.extend_from_slice(data);
            self.wbuf.extend_from_slice(b"\r\n");
        } else {
            self.wbuf.extend_from_slice(data);
        }
        if self.wbuf.len() >= FLUSH_AT {
            self.flush(s)?;
        }
        Ok(())
    }

    /// Sends what is queued, then closes gracefully: shuts the write side and reads what the
    /// client still sends for a short while, so the kernel does not answer it with a reset
    /// that could destroy the response before the client reads it.
    fn lingering_close(&mut self, s: &Wire) {
        if self.flush(s).is_err() {
            return;
        }
        if s.shutdown_write().is_err() {
            return;
        }
        let deadline = deadline_in(Some(LINGER));
        let mut budget: usize = 256 * 1024;
        let mut scratch = [0u8; 4096];
        loop {
            if budget == 0 {
                return;
            }
            match s.read_eof(&mut scratch, deadline) {
                Ok(0) | Err(_) => return,
                Ok(n) => budget = budget.saturating_sub(n),
            }
        }
    }
}

/// The `Write` given to a [`Body::stream`] callback.
struct StreamWriter<'a> {
    /// The connection's buffers (borrowed per write).
    io: &'a RefCell<Io>,
    /// The socket.
    stream: &'a Wire,
    /// Frame each write as a chunk.
    chunked: bool,
    /// Body bytes written.
    sent: u64,
}

impl Write for StreamWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.io
            .borrow_mut()
            .queue_chunk(self.stream, buf, self.chunked)?;
        self.sent += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.io.borrow_mut().flush(self.stream)
    }
}

/// `n` in lowercase hex.
fn hex_len(mut n: usize, out: &mut [u8; 16]) -> &[u8] {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b"0123456789abcdef"[n & 15];
        n >>= 4;
        if n == 0 {
            return &out[i..];
        }
    }
}

/// The error a body read returns after `e`.
fn body_error(e: BodyError) -> io::Error {
    match e {
        BodyError::Framing => io::Error::new(
            io::ErrorKind::InvalidData,
            "bad chunked framing in the request body",
        ),
        BodyError::TooLarge => io::Error::other("the request body exceeds the server's limit"),
        BodyError::Timeout => io::Error::new(
            io::ErrorKind::TimedOut,
            "the client sent the request body too slowly",
        ),
        BodyError::Gone => io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the connection ended before the end of the body",
        ),
    }
}

/// Whether a comma-separated header value contains `token` (case-insensitive).
fn has_token(v: &[u8], token: &[u8]) -> bool {
    v.split(|&b| b == b',')
        .any(|t| super::chunked::trim_ows(t).eq_ignore_ascii_case(token))
}

/// Whether a panic payload is a kill or a timeout (to be re-raised, never answered with 500).
fn is_kill(p: &(dyn std::any::Any + Send)) -> bool {
    p.is::<greenlet::GreenletExit>() || p.is::<gevent_timeout::Timeout>()
}

/// A panic's message, if it is text.
fn panic_message(p: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = p.downcast_ref::<&str>() {
        s
    } else if let Some(s) = p.downcast_ref::<String>() {
        s
    } else {
        "(not a string)"
    }
}

/// A plain-text response for an error status (gevent's canned responses).
pub(crate) fn error_response(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(Body::from(status.canonical_reason().unwrap_or("Error")));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

/// The status line.
fn status_line(s: StatusCode) -> std::borrow::Cow<'static, str> {
    let line = match s.as_u16() {
        200 => "HTTP/1.1 200 OK\r\n",
        201 => "HTTP/1.1 201 Created\r\n",
        204 => "HTTP/1.1 204 No Content\r\n",
        301 => "HTTP/1.1 301 Moved Permanently\r\n",
        302 => "HTTP/1.1 302 Found\r\n",
        304 => "HTTP/1.1 304 Not Modified\r\n",
        400 => "HTTP/1.1 400 Bad Request\r\n",
        404 => "HTTP/1.1 404 Not Found\r\n",
        500 => "HTTP/1.1 500 Internal Server Error\r\n",
        _ => {
            return format!(
                "HTTP/1.1 {} {}\r\n",
                s.as_u16(),
                s.canonical_reason().unwrap_or("Unknown")
            )
            .into()
        }
    };
    line.into()
}
