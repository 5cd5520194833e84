//! An HTTP server that shuts down gracefully on SIGTERM (or SIGINT): it stops accepting,
//! closes idle keep-alive connections at once, answers the requests in flight with
//! `Connection: close`, and kills handlers still running after the grace period.
//!
//! gevent's pattern `gevent.signal_handler(signal.SIGTERM, server.stop)`. `GET /slow` takes
//! two seconds, so a SIGTERM sent meanwhile shows the request completing before the exit.
//! Access log lines go to stderr, in gevent's format.
//!
//! Run it with `cargo run --example http_graceful -- 127.0.0.1:8080` (port 0 picks a free port;
//! the first line printed is the address), then `curl http://127.0.0.1:8080/slow &` and
//! `kill -TERM <pid>`: the request is answered, then the program prints `stopped` and exits.

use std::time::Duration;

use gevent::server::http::{Body, HttpServer};

/// `SIGINT`'s and `SIGTERM`'s numbers (Linux; `libc::SIGINT`, `libc::SIGTERM`).
const SIGNALS: [i32; 2] = [2, 15];

/// Answers `/slow` after two seconds, anything else at once.
fn app(req: http::Request<Body>) -> http::Response<Body> {
    if req.uri().path() == "/slow" {
        gevent::sleep(Duration::from_secs(2));
    }
    http::Response::new(Body::from(format!("done: {}\n", req.uri().path())))
}

/// Runs the example.
pub fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let server = HttpServer::builder(addr.as_str())
        .stop_timeout(Duration::from_secs(10))
        .handler(app)
        .build()?;
    server.start()?;
    println!("serving HTTP on {}", server.local_addr()?);
    let mut handles = Vec::new();
    for sig in SIGNALS {
        let s = server.clone();
        // The handler runs in a new greenlet: stop waits there for the requests in flight.
        handles.push(gevent::signal_handler(sig, move || {
            eprintln!("signal {sig}: stopping");
            s.stop(None);
        })?);
    }
    server.serve_forever()?;
    println!("stopped");
    Ok(())
}
