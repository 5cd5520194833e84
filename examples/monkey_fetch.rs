//! Concurrent HTTP requests with `ureq`, a blocking HTTP client that knows nothing of gevent,
//! made cooperative by `patch_all()`: one greenlet per request, one thread.
//!
//! A local server (std sockets, also patched) answers every request after a 200 ms pause; the
//! requests overlap, so N of them take about 200 ms, not N × 200 ms. (gevent's
//! `examples/concurrent_download.py`, on loopback.)
//!
//! Run it with `cargo run --example monkey_fetch -- [N]` (N requests, default 10).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// How long the server takes to answer.
const PAUSE: Duration = Duration::from_millis(200);

/// Answers one request on `conn` after [`PAUSE`]: `page <path>`.
fn answer(conn: TcpStream) {
    let mut reader = BufReader::new(conn);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Skip the headers.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
    std::thread::sleep(PAUSE); // a slow backend: cooperative under patch_all
    let body = format!("page {}", path.trim_start_matches('/'));
    let mut conn = reader.into_inner();
    let _ = write!(
        conn,
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Starts the slow server in a greenlet; returns its address.
fn start_server() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    gevent::spawn(move || {
        for conn in listener.incoming().flatten() {
            gevent::spawn(move || answer(conn));
        }
    });
    Ok(addr)
}

/// Runs the example.
pub fn main() {
    gevent_monkey::patch_all().expect("patch_all");
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    let addr = start_server().expect("server");
    let t = Instant::now();
    let fetches: Vec<_> = (0..n)
        .map(|i| {
            gevent::spawn(move || {
                let url = format!("http://{addr}/{i}");
                let mut resp = ureq::get(&url).call().map_err(|e| e.to_string())?;
                let status = resp.status();
                let body = resp
                    .body_mut()
                    .read_to_string()
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>(format!("/{i}: {status}: {body}"))
            })
        })
        .collect();
    gevent::joinall(&fetches);
    for f in &fetches {
        match f.get().expect("fetch greenlet") {
            Ok(line) => println!("{line}"),
            Err(e) => println!("error: {e}"),
        }
    }
    let together = t.elapsed() < PAUSE * 5;
    println!("fetched {n} pages concurrently: {together}");
}
