//! A TCP echo server written with std's `TcpListener` and `TcpStream` only, made cooperative by
//! `patch_all()`: one greenlet per connection, one thread.
//!
//! The same program as `echo_server` (which uses `gevent::net`), for
//! `../shared/bench/echo_compare.sh`: clients send 64-byte messages and wait for each echo.
//!
//! Run it with `cargo run --release --example monkey_echo_server -- 127.0.0.1:7011` (port 0
//! picks a free port; the first line printed is the address it listens on).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// Echoes everything the client sends until it closes the connection.
fn handle(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

/// Runs the example.
pub fn main() -> std::io::Result<()> {
    gevent_monkey::patch_all().map_err(std::io::Error::other)?;
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7011".into());
    let listener = TcpListener::bind(addr.as_str())?;
    println!("listening on {}", listener.local_addr()?);
    // The accept loop runs in a greenlet too (the main greenlet would do as well).
    let acceptor = gevent::spawn(move || {
        for stream in listener.incoming() {
            match stream {
                Ok(s) => {
                    gevent::spawn(move || handle(s));
                }
                Err(e) => {
                    eprintln!("accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    });
    acceptor.join();
    Ok(())
}
