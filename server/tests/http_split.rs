//! Every test request split at every byte boundary (two writes with a pause between them, so
//! the server sees two reads), and sent one byte at a time: the answers must be exactly those
//! to the request sent whole. Also the head scanner and the chunked decoder alone, at every
//! split point, without sockets.

mod support;

use std::io::Read;
use std::time::Duration;

use gevent_server::http::fuzzing::{scan, HeadLimits, Scan};
use gevent_server::http::{AccessLog, Body, HttpServer};
use http::{Request, Response};
use support::Client;

/// Requests and how many responses each produces.
const CASES: &[(&[u8], usize)] = &[
    (b"GET /plain HTTP/1.1\r\nHost: example.org\r\n\r\n", 1),
    (b"GET /h?x=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\nAccept: */*\r\nX-A: a, b\r\n\r\n", 1),
    (b"POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world", 1),
    (b"POST /ch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4;e=\"v\"\r\nwiki\r\n5\r\npedia\r\n0\r\nT: 1\r\n\r\n", 1),
    (b"GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /p2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nokGET /p3 HTTP/1.1\r\nHost: x\r\n\r\n", 3),
    (b"\r\nGET /lead HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1),
    (b"POST /bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\nGET /no HTTP/1.1\r\nHost: x\r\n\r\n", 1),
    (b"POST /badchunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n", 1),
];

/// A server answering with the method, path, body and trailer count.
fn server() -> (HttpServer, std::net::SocketAddr) {
    let s = HttpServer::builder("127.0.0.1:0")
        .access_log(AccessLog::Off)
        .handler(|mut r: Request<Body>| {
            let mut b = Vec::new();
            let _ = r.body_mut().read_to_end(&mut b);
            let t = r.body().trailers().map_or(0, |t| t.len());
            Response::new(Body::from(format!(
                "{} {} {} {t}",
                r.method(),
                r.uri(),
                String::from_utf8_lossy(&b)
            )))
        })
        .build()
        .unwrap();
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    (s, a)
}

/// The answers to `parts` sent in turn (pausing between them), as (status, body) lines.
fn answers(addr: std::net::SocketAddr, parts: &[&[u8]], n: usize) -> Vec<(u16, String)> {
    let mut c = Client::connect(addr);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            gevent_hub::sleep(Duration::from_millis(1));
        }
        c.send(p);
    }
    let mut out = Vec::new();
    for _ in 0..n {
        match c.response() {
            Some(r) => out.push((r.status, r.text())),
            None => break,
        }
    }
    out
}

#[test]
fn every_split_point_gives_the_same_answers() {
    let (s, a) = server();
    for &(req, n) in CASES {
        let whole = answers(a, &[req], n);
        assert!(!whole.is_empty(), "{:?}", String::from_utf8_lossy(req));
        for i in 1..req.len() {
            let split = answers(a, &[&req[..i], &req[i..]], n);
            assert_eq!(
                split,
                whole,
                "split at {i} of {:?}",
                String::from_utf8_lossy(req)
            );
        }
        let bytes: Vec<&[u8]> = req.chunks(1).collect();
        assert_eq!(answers(a, &bytes, n), whole, "byte by byte");
    }
    s.stop(None);
}

#[test]
fn scanner_agrees_at_every_split() {
    let limits = HeadLimits::default();
    for &(req, _) in CASES {
        let whole = scan(req, 0, &limits).unwrap();
        for i in 0..req.len() {
            // Scan the prefix, then resume on the whole from where the prefix stopped.
            let from = match scan(&req[..i], 0, &limits).unwrap() {
                Scan::Partial(f) => f,
                Scan::Complete(n) => {
                    assert_eq!(Scan::Complete(n), whole);
                    continue;
                }
            };
            assert_eq!(scan(req, from, &limits).unwrap(), whole, "split at {i}");
        }
    }
}
