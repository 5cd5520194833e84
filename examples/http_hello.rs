//! "Hello, World!" over HTTP/1.1: the server of the HTTP benchmark
//! (`../shared/bench/http_compare.sh`).
//!
//! Answers `GET /` (and any other request) with `200 OK`, `Content-Type: text/plain` and
//! `Hello, World!`, with keep-alive and pipelining; no access log. `THREADS=n` in the
//! environment serves from `n` threads (one hub and one `SO_REUSEPORT` listener each);
//! `KEEPALIVE_SECS=n` sets the idle keep-alive timeout (default 5 s; the idle-connection
//! benchmark holds connections longer).
//!
//! Run it with `cargo run --release --example http_hello -- 127.0.0.1:7030` (port 0 picks a
//! free port; the first line printed is the address), then `curl http://127.0.0.1:7030/` or
//! `wrk -c 64 http://127.0.0.1:7030/`.

use gevent::server::http::{AccessLog, Body, HttpServer};
use http::header::{HeaderValue, CONTENT_TYPE};

/// The handler: the same response to every request.
fn hello(_req: http::Request<Body>) -> http::Response<Body> {
    let mut r = http::Response::new(Body::from("Hello, World!"));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

/// Runs the example.
pub fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7030".into());
    let threads: usize = std::env::var("THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1);
    let keep_alive = std::env::var("KEEPALIVE_SECS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(5);
    let server = HttpServer::builder(addr.as_str())
        .access_log(AccessLog::Off)
        .keep_alive_timeout(std::time::Duration::from_secs(keep_alive))
        .threads(threads)
        .handler_factory(|| hello)
        .build()?;
    server.start()?;
    println!("serving HTTP on {}", server.local_addr()?);
    server.serve_forever()
}
