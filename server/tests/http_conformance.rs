//! RFC 9112 conformance and request-smuggling defences: every malformed or ambiguous request
//! gets its 4xx and the connection closes, and no byte after a framing error is ever parsed as
//! a request. Cases re-expressed from dropseed/h1spec (request line, Host, obs-fold,
//! whitespace before the colon, NUL, TE + CL, `chunked, gzip`, chunk framing) and from
//! narfindustries/http-garden's TROPHIES.md payloads (`0x`/`+` chunk sizes, empty chunk size,
//! empty header name, `\x00` in values).

mod support;

use gevent_server::http::{AccessLog, Body, HttpServer};
use http::{Request, Response};
use std::io::Read;
use support::Client;

/// A server whose handler reads the body and answers with its length.
fn server() -> (HttpServer, std::net::SocketAddr) {
    let s = HttpServer::builder("127.0.0.1:0")
        .access_log(AccessLog::Off)
        .handler(|mut r: Request<Body>| {
            let mut b = Vec::new();
            let _ = r.body_mut().read_to_end(&mut b);
            Response::new(Body::from(format!("{} {}", r.uri().path(), b.len())))
        })
        .build()
        .unwrap();
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    (s, a)
}

/// Sends `req` followed by a valid GET that must never be answered; expects `status` and a
/// closed connection.
fn rejected(addr: std::net::SocketAddr, req: &[u8], status: u16) {
    let mut c = Client::connect(addr);
    let mut bytes = req.to_vec();
    bytes.extend_from_slice(b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
    c.send(&bytes);
    let r = c
        .response()
        .unwrap_or_else(|| panic!("no response to {:?}", String::from_utf8_lossy(req)));
    assert_eq!(r.status, status, "{:?}", String::from_utf8_lossy(req));
    assert_eq!(r.header("connection"), Some("close"));
    let rest = c.read_to_end();
    assert!(
        !String::from_utf8_lossy(&rest).contains("HTTP/1.1"),
        "a second response after {:?}",
        String::from_utf8_lossy(req)
    );
}

#[test]
fn framing_conflicts_are_400() {
    let (s, a) = server();
    for req in [
        // §6.3: Transfer-Encoding with Content-Length (in both orders).
        &b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        // Differing or malformed Content-Length.
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\nab",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\na",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x1\r\n\r\na",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 1\r\n\r\na",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        // Unknown or repeated transfer codings; chunked not last; TE in HTTP/1.0.
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ] {
        rejected(a, req, 400);
    }
    s.stop(None);
}

#[test]
fn bad_chunk_framing_is_400() {
    let (s, a) = server();
    for body in [
        &b"5\r\nhelloXX0\r\n\r\n"[..],
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"+5\r\nhello\r\n0\r\n\r\n",
        b"\r\nhello\r\n0\r\n\r\n",
        b"5 \r\nhello\r\n0\r\n\r\n",
        b"5\nhello\r\n0\r\n\r\n",
        b"5\r\nhello\n0\r\n\r\n",
        b"5;\x00\r\nhello\r\n0\r\n\r\n",
        b"0\n\r\n",
        b"0\r\nX: y\n\r\n",
        b"0\r\n bad: fold\r\n\r\n",
        b"ffffffffffffffffff\r\n",
    ] {
        let mut req = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        req.extend_from_slice(body);
        rejected(a, &req, 400);
    }
    s.stop(None);
}

#[test]
fn malformed_heads_are_400() {
    let (s, a) = server();
    for req in [
        &b"GET / HTTP/1.1\nHost: x\n\n"[..],                // bare LF
        b"GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",         // bare LF in one line
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", // obs-fold
        b"GET / HTTP/1.1\r\n\r\n",                          // missing Host
        b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",    // two Hosts
        b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",             // invalid Host
        b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",              // space before colon
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",  // NUL in a value
        b"GET / HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n",    // empty field name
        b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",               // invalid method
        b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",              // two spaces
        b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",            // space in the target
        b"GET / HTTP/1.1 \r\nHost: x\r\n\r\n",              // space after the version
        b"GET / HTTX/1.1\r\nHost: x\r\n\r\n",               // bad protocol name
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", // TLS to a plain port
    ] {
        let mut c = Client::connect(a);
        c.send(req);
        let r = c
            .response()
            .unwrap_or_else(|| panic!("no response to {:?}", String::from_utf8_lossy(req)));
        assert!(
            r.status == 400 || r.status == 505,
            "{} for {:?}",
            r.status,
            String::from_utf8_lossy(req)
        );
        assert!(c.is_closed());
    }
    s.stop(None);
}

#[test]
fn accepted_edge_cases() {
    let (s, a) = server();
    for (req, want) in [
        // Leading empty line (RFC 9112 §2.2), identical duplicate Content-Length, empty list
        // element before chunked, chunked in any case, HTTP/1.0 without Host, empty Host,
        // absolute-form target, OPTIONS *.
        (&b"\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n"[..], "/a 0"),
        (b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab", "/b 2"),
        (b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: , Chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n", "/c 1"),
        (b"GET /d HTTP/1.0\r\n\r\n", "/d 0"),
        (b"GET /e HTTP/1.1\r\nHost:\r\n\r\n", "/e 0"),
        (b"GET http://x/f?q HTTP/1.1\r\nHost: x\r\n\r\n", "/f 0"),
        (b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "* 0"),
    ] {
        let mut c = Client::connect(a);
        c.send(req);
        let r = c.response().unwrap();
        assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(req));
        assert_eq!(r.text(), want);
    }
    s.stop(None);
}

#[test]
fn floods_do_not_destabilise() {
    let (s, a) = server();
    // 101 header fields, a 9,000-byte header line, a 9,000-byte request line.
    let many = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
        "A: b\r\n".repeat(101)
    );
    let long_field = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nA: {}\r\n\r\n",
        "b".repeat(9000)
    );
    let long_line = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000));
    for (req, status) in [(many, 431), (long_line, 414)] {
        let mut c = Client::connect(a);
        c.send(req.as_bytes());
        assert_eq!(c.response().unwrap().status, status);
    }
    let mut c = Client::connect(a);
    c.send(long_field.as_bytes());
    assert_eq!(c.response().unwrap().status, 200); // under the 64 KiB head limit
                                                   // More fields than the parser keeps on the stack, fewer than the limit.
    let sixty = format!("GET / HTTP/1.1\r\nHost: x\r\n{}\r\n", "A: b\r\n".repeat(60));
    let mut c = Client::connect(a);
    c.send(sixty.as_bytes());
    assert_eq!(c.response().unwrap().status, 200);
    s.stop(None);
}
