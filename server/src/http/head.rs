//! Finding, parsing and checking a request head: `httparse` for the syntax, then RFC 9112's
//! framing rules (§3.2 Host, §6.1 Transfer-Encoding, §6.3 message body length).

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, Version};
use std::mem::MaybeUninit;

use super::chunked::trim_ows;

/// Headers parsed on the stack (few requests have more; those are parsed again with room on
/// the heap). Small, because every connection's greenlet keeps the stack pages it touched.
const STACK_HEADERS: usize = 32;

/// Limits on a request head.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// Longest request line, bytes (→ 414).
    pub max_request_line: usize,
    /// Most header fields (→ 431).
    pub max_headers: usize,
    /// Longest head, bytes (→ 431).
    pub max_head_bytes: usize,
    /// Reject a bare LF as a line end (→ 400); off: accept it as `httparse` does.
    pub strict_line_endings: bool,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            max_request_line: 8 * 1024,
            max_headers: 100,
            max_head_bytes: 64 * 1024,
            strict_line_endings: true,
        }
    }
}

/// A request rejected before its handler runs: the status to answer (the connection then
/// closes) and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reject {
    /// 400, 413, 414, 417, 431, 505...
    pub status: StatusCode,
    /// A short reason (logged, not sent).
    pub reason: &'static str,
}

impl Reject {
    /// A 400 for `reason`.
    pub(crate) const fn bad(reason: &'static str) -> Reject {
        Reject {
            status: StatusCode::BAD_REQUEST,
            reason,
        }
    }
}

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length` bytes (0: no body).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed, checked request head.
#[derive(Debug)]
pub struct Head {
    /// The method.
    pub method: Method,
    /// The request target.
    pub uri: Uri,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The header fields (values share the head's bytes).
    pub headers: HeaderMap,
    /// The body's framing.
    pub framing: Framing,
    /// The client allows the connection to persist (HTTP/1.1 without `close`, HTTP/1.0 with
    /// `keep-alive`).
    pub keep_alive: bool,
    /// `Expect: 100-continue`.
    pub expect_continue: bool,
}

/// What the server needs from a head besides the request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadInfo {
    /// The body's framing.
    pub framing: Framing,
    /// The client allows the connection to persist.
    pub keep_alive: bool,
    /// `Expect: 100-continue`.
    pub expect_continue: bool,
}

/// Where the end of a head is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// The head is `buf[..n]` (the empty line included).
    Complete(usize),
    /// More bytes are needed; scanning may resume at this offset.
    Partial(usize),
}

/// Looks for the end of the head in `buf` from offset `from` (the `Partial` value of an
/// earlier call on a prefix of `buf`, or 0), applying the size limits and, with
/// `strict_line_endings`, rejecting a bare LF (every LF of the head passes here once).
///
/// # Errors
///
/// 414 when the request line, or 431 when the head, exceeds its limit; 400 for a bare LF.
///
/// # Switches
///
/// Never.
pub fn scan(buf: &[u8], from: usize, limits: &HeadLimits) -> Result<Scan, Reject> {
    let mut i = from;
    while let Some(p) = memchr::memchr(b'\n', &buf[i..]) {
        let nl = i + p;
        if limits.strict_line_endings && (nl == 0 || buf[nl - 1] != b'\r') {
            return Err(Reject::bad("bare LF in the request head"));
        }
        match buf.get(nl + 1) {
            Some(b'\n') => return check_sizes(buf, nl + 2, limits),
            Some(b'\r') => match buf.get(nl + 2) {
                Some(b'\n') => return check_sizes(buf, nl + 3, limits),
                Some(_) => {}
                None => return partial(buf, nl, limits),
            },
            Some(_) => {}
            None => return partial(buf, nl, limits),
        }
        i = nl + 1;
    }
    partial(buf, buf.len(), limits)
}

/// `Partial(resume)` unless the bytes so far already exceed a limit.
fn partial(buf: &[u8], resume: usize, limits: &HeadLimits) -> Result<Scan, Reject> {
    if buf.len() > limits.max_head_bytes {
        return Err(head_too_large(buf, limits));
    }
    if buf.len() > limits.max_request_line && memchr::memchr(b'\n', buf).is_none() {
        return Err(uri_too_long());
    }
    Ok(Scan::Partial(resume))
}

/// The limits checked on a complete head of `len` bytes.
fn check_sizes(buf: &[u8], len: usize, limits: &HeadLimits) -> Result<Scan, Reject> {
    if len > limits.max_head_bytes {
        return Err(head_too_large(buf, limits));
    }
    Ok(Scan::Complete(len))
}

/// 414 if the request line alone is too long, else 431.
fn head_too_large(buf: &[u8], limits: &HeadLimits) -> Reject {
    match memchr::memchr(b'\n', buf) {
        Some(n) if n <= limits.max_request_line => Reject {
            status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            reason: "request head too large",
        },
        _ => uri_too_long(),
    }
}

/// The 414 rejection.
fn uri_too_long() -> Reject {
    Reject {
        status: StatusCode::URI_TOO_LONG,
        reason: "request line too long",
    }
}

/// Parses and checks `head` (a complete head found by [`scan`], which also checked its line
/// endings; leading empty lines removed).
///
/// # Errors
///
/// The rejection to answer with.
///
/// # Switches
///
/// Never.
pub fn parse(head: Bytes, limits: &HeadLimits) -> Result<Head, Reject> {
    let mut req = Request::new(());
    let info = parse_into(head, limits, &mut req)?;
    let (parts, ()) = req.into_parts();
    Ok(Head {
        method: parts.method,
        uri: parts.uri,
        version: parts.version,
        headers: parts.headers,
        framing: info.framing,
        keep_alive: info.keep_alive,
        expect_continue: info.expect_continue,
    })
}

/// [`parse`] into the method, target, version and headers of `req` (in place: nothing large
/// is moved); returns the rest.
///
/// # Errors
///
/// The rejection to answer with (`req` is then partly filled).
///
/// # Switches
///
/// Never: it parses bytes already read.
pub fn parse_into<B>(
    head: Bytes,
    limits: &HeadLimits,
    req: &mut Request<B>,
) -> Result<HeadInfo, Reject> {
    let mut stack: [MaybeUninit<httparse::Header<'_>>; STACK_HEADERS] =
        [const { MaybeUninit::uninit() }; STACK_HEADERS];
    let mut parsed = httparse::Request::new(&mut []);
    let first = parsed.parse_with_uninit_headers(
        &head,
        &mut stack[..limits.max_headers.clamp(1, STACK_HEADERS)],
    );
    let mut heap: Vec<MaybeUninit<httparse::Header<'_>>> = Vec::new();
    let status = match first {
        Err(httparse::Error::TooManyHeaders) if limits.max_headers > STACK_HEADERS => {
            heap.resize_with(limits.max_headers, MaybeUninit::uninit);
            parsed = httparse::Request::new(&mut []);
            parsed.parse_with_uninit_headers(&head, &mut heap)
        }
        r => r,
    };
    let n = match status {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err(Reject::bad("malformed request head")),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Reject {
                status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                reason: "too many header fields",
            })
        }
        Err(httparse::Error::Version) => {
            return Err(Reject {
                status: StatusCode::HTTP_VERSION_NOT_SUPPORTED,
                reason: "unsupported HTTP version",
            })
        }
        Err(_) => return Err(Reject::bad("malformed request head")),
    };
    if n != head.len() {
        return Err(Reject::bad("malformed request head"));
    }
    let line_end = memchr::memchr(b'\n', &head).unwrap_or(head.len());
    if line_end > limits.max_request_line {
        return Err(uri_too_long());
    }
    let method = match parsed.method.unwrap_or("") {
        "GET" => Method::GET,
        m => Method::from_bytes(m.as_bytes()).map_err(|_| Reject::bad("invalid method"))?,
    };
    let version = match parsed.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let path = parsed.path.unwrap_or("");
    let uri = if path == "/" {
        Uri::default() // "/", without parsing
    } else {
        Uri::from_maybe_shared(head.slice_ref(path.as_bytes()))
            .map_err(|_| Reject::bad("invalid request target"))?
    };
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    *req.version_mut() = version;
    let headers = req.headers_mut();
    headers.reserve(parsed.headers.len());
    let mut hosts = 0;
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut te_seen = false;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut expect_continue = false;
    for h in parsed.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| Reject::bad("invalid header name"))?;
        let value = if h.value.is_empty() {
            HeaderValue::from_static("")
        } else {
            HeaderValue::from_maybe_shared(head.slice_ref(h.value))
                .map_err(|_| Reject::bad("invalid header value"))?
        };
        if name == HOST {
            hosts += 1;
            if hosts > 1 {
                return Err(Reject::bad("more than one Host"));
            }
            if !valid_host(h.value) {
                return Err(Reject::bad("invalid Host"));
            }
        } else if name == CONTENT_LENGTH {
            for part in h.value.split(|&b| b == b',') {
                let v =
                    parse_length(trim_ows(part)).ok_or(Reject::bad("invalid Content-Length"))?;
                if length.is_some_and(|l| l != v) {
                    return Err(Reject::bad("differing Content-Length values"));
                }
                length = Some(v);
            }
        } else if name == TRANSFER_ENCODING {
            te_seen = true;
            for coding in h.value.split(|&b| b == b',') {
                let coding = trim_ows(coding);
                if coding.is_empty() {
                    continue; // an empty list element (RFC 9110 §5.6.1)
                }
                if chunked {
                    return Err(Reject::bad("transfer coding after chunked"));
                }
                if !coding.eq_ignore_ascii_case(b"chunked") {
                    return Err(Reject::bad("unsupported transfer coding"));
                }
                chunked = true;
            }
        } else if name == CONNECTION {
            for token in h.value.split(|&b| b == b',') {
                let token = trim_ows(token);
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive_token = true;
                }
            }
        } else if name == EXPECT {
            if trim_ows(h.value).eq_ignore_ascii_case(b"100-continue") {
                expect_continue = true;
            } else {
                return Err(Reject {
                    status: StatusCode::EXPECTATION_FAILED,
                    reason: "unsupported expectation",
                });
            }
        }
        headers.append(name, value);
    }
    if version == Version::HTTP_11 && hosts == 0 {
        return Err(Reject::bad("missing Host"));
    }
    let framing = if te_seen {
        if version == Version::HTTP_10 {
            return Err(Reject::bad("Transfer-Encoding in HTTP/1.0"));
        }
        if length.is_some() {
            return Err(Reject::bad("both Transfer-Encoding and Content-Length"));
        }
        if !chunked {
            return Err(Reject::bad("Transfer-Encoding without chunked"));
        }
        Framing::Chunked
    } else {
        Framing::Length(length.unwrap_or(0))
    };
    let keep_alive = !close && (version == Version::HTTP_11 || keep_alive_token);
    let expect_continue = expect_continue && version == Version::HTTP_11;
    Ok(HeadInfo {
        framing,
        keep_alive,
        expect_continue,
    })
}

/// `1*DIGIT` that fits a `u64`.
fn parse_length(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((b - b'0') as u64)?;
    }
    Some(v)
}

/// A plausible `Host` value: `uri-host [":" port]` characters only (RFC 3986 reg-name,
/// IP-literal, port), possibly empty (RFC 9112 §3.2 allows an empty Host).
fn valid_host(v: &[u8]) -> bool {
    v.iter().all(|&b| HOST_CHARS[b as usize])
}

/// The bytes [`valid_host`] accepts.
static HOST_CHARS: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'['
                    | b']'
            );
        b += 1;
    }
    t
};
