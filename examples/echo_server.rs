//! A TCP echo server: one greenlet per connection, written as plain blocking code.
//!
//! gevent's `examples/echoserver.py`, and the server of the project's echo benchmark
//! (`../shared/bench/echo_compare.sh`: clients send 64-byte messages with `TCP_NODELAY` and wait
//! for each echo). It runs on [`StreamServer`](gevent::server::StreamServer), as gevent's
//! does: the server accepts and spawns `handle` per connection; every `read` and `write_all`
//! that would block switches to the hub, which serves all connections from one thread.
//!
//! Run it with `cargo run --release --example echo_server -- 127.0.0.1:7010` (port 0 picks a
//! free port; the first line printed is the address it listens on), then connect with
//! `nc 127.0.0.1 7010` or `cargo run --example echo_client -- 127.0.0.1:7010`.

use std::io::{Read, Write};
use std::net::SocketAddr;

use gevent::net::TcpStream;
use gevent::server::StreamServer;

/// Echoes everything the client sends until it closes the connection.
fn handle(mut stream: TcpStream, _peer: SocketAddr) {
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
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7010".into());
    let server = StreamServer::new(addr.as_str(), handle);
    server.start()?;
    println!("listening on {}", server.local_addr()?);
    server.serve_forever()
}
