//! Fetches many URLs at once: N greenlets each open a connection, send an HTTP request and read
//! the response, while a tiny HTTP server (also a greenlet of the same thread) answers them.
//!
//! gevent's `examples/concurrent_download.py`, on loopback. The server takes 100 ms per page,
//! so fetching them one after the other would take N × 100 ms; the greenlets overlap and take
//! about 100 ms in all.
//!
//! When every page is fetched, the listener is closed: that ends the server's
//! `incoming().flatten()` loop (a closed listener's `incoming()` ends, and accept errors pause
//! before the next try, so the loop never spins).
//!
//! Run it with `cargo run --example fetch` (20 pages) or `cargo run --example fetch -- 200`.

use std::io::{BufRead, BufReader, Read, Write};
use std::time::{Duration, Instant};

use gevent::net::{TcpListener, TcpStream};

/// How long the server takes per page.
const DELAY: Duration = Duration::from_millis(100);

/// Serves `GET /<n>` with the body `page <n>`, one greenlet per connection, until the
/// listener is closed; returns how many connections it accepted.
fn serve(listener: TcpListener) -> usize {
    let mut accepted = 0;
    for stream in listener.incoming().flatten() {
        accepted += 1;
        gevent::spawn(move || {
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                return;
            }
            // Skip the headers up to the empty line.
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let body = format!("page {}", path.trim_start_matches('/'));
            gevent::sleep(DELAY);
            let response = format!(
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = (&stream).write_all(response.as_bytes());
        });
    }
    accepted
}

/// Fetches `url` (`http://host:port/path`) with HTTP/1.0; returns the status line and body.
fn fetch(url: &str) -> std::io::Result<(String, String)> {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = TcpStream::connect(host)?;
    write!(stream, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.lines().next().unwrap_or("").to_string();
    Ok((status, body.to_string()))
}

/// Runs the example.
pub fn main() -> std::io::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("a number of pages"))
        .unwrap_or(20);
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = {
        let listener = listener.try_clone()?;
        gevent::spawn(move || serve(listener))
    };

    let start = Instant::now();
    let fetches: Vec<_> = (0..n)
        .map(|i| {
            let url = format!("{base}/{i}");
            gevent::spawn(move || fetch(&url).map_err(|e| e.to_string()))
        })
        .collect();
    gevent::joinall(&fetches);
    let took = start.elapsed();
    for (i, f) in fetches.iter().enumerate() {
        match f.get().unwrap() {
            Ok((status, body)) => println!("/{i}: {status}: {body}"),
            Err(e) => println!("/{i}: failed: {e}"),
        }
    }
    // About one DELAY (some 120 ms here); the bound leaves room for a loaded machine and is
    // still half of what the default 20 pages take one after the other.
    println!("fetched {n} pages concurrently: {}", took < DELAY * 10);
    listener.close(); // ends the server's loop
    println!("the server accepted {} connections", server.get().unwrap());
    Ok(())
}
