//! A TCP port forwarder: every connection to LISTEN is relayed to TARGET, with one greenlet per
//! direction.
//!
//! gevent's `examples/portforwarder.py`, on a [`StreamServer`](gevent::server::StreamServer).
//! Each accepted connection opens one to the target;
//! two greenlets copy bytes (one each way) with `std::io::copy` over cloned handles, and shut
//! the other side's write half down when their side ends.
//!
//! Run it with `cargo run --example port_forward -- 127.0.0.1:8080 127.0.0.1:7010` (with
//! `echo_server` on 7010, `nc 127.0.0.1 8080` now echoes). The first line printed is
//! `forwarding <listen address> -> <target>`.

use std::net::Shutdown;

use gevent::net::TcpStream;
use gevent::server::StreamServer;

/// Copies `from` into `to` until `from` ends, then shuts down `to`'s write half.
fn pump(from: TcpStream, to: TcpStream) {
    let _ = std::io::copy(&mut &from, &mut &to);
    let _ = to.shutdown(Shutdown::Write);
}

/// Relays one client to `target`.
fn forward(client: TcpStream, target: &str) {
    let server = match TcpStream::connect(target) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot connect to {target}: {e}");
            return;
        }
    };
    let (c2, s2) = (client.clone(), server.clone());
    let up = gevent::spawn(move || pump(c2, s2));
    pump(server, client);
    up.join();
}

/// Runs the example.
pub fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(target)) = (args.next(), args.next()) else {
        eprintln!("usage: port_forward LISTEN_ADDR TARGET_ADDR");
        std::process::exit(2);
    };
    let server = StreamServer::new(listen.as_str(), move |client, _peer| {
        forward(client, &target)
    });
    server.start()?;
    println!("forwarding {} -> {}", server.local_addr()?, args_target());
    server.serve_forever()
}

/// The target address, as given (for the first line printed).
fn args_target() -> String {
    std::env::args().nth(2).unwrap_or_default()
}
