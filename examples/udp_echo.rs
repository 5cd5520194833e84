//! A UDP echo server and a client, both greenlets of one thread.
//!
//! gevent's `examples/udp_server.py` and `udp_client.py`. The server is a
//! [`DatagramServer`](gevent::server::DatagramServer): each datagram runs the handler in its
//! own greenlet, which sends it back; the client sends a few and prints the replies.
//!
//! Run it with `cargo run --example udp_echo`, or only the server with
//! `cargo run --example udp_echo -- serve 127.0.0.1:9000` (then try
//! `nc -u 127.0.0.1 9000`).

use std::net::SocketAddr;

use gevent::net::UdpSocket;
use gevent::server::DatagramServer;

/// Sends a datagram back where it came from.
fn echo(data: &[u8], peer: SocketAddr, socket: &UdpSocket) {
    let _ = socket.send_to(data, peer);
}

/// Runs the example.
pub fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        let addr = args.get(1).map_or("127.0.0.1:9000", String::as_str);
        let server = DatagramServer::new(addr, echo);
        server.start()?;
        println!("serving UDP on {}", server.local_addr()?);
        return server.serve_forever();
    }
    run()
}

/// The server and the client, in one thread.
pub fn run() -> std::io::Result<()> {
    let messages = ["ping", "hello", "gevent"];
    let server = DatagramServer::new("127.0.0.1:0", echo);
    server.start()?;
    let addr = server.local_addr()?;

    let client = UdpSocket::bind("127.0.0.1:0")?;
    client.connect(addr)?;
    for m in messages {
        client.send(m.as_bytes())?;
        let mut buf = [0u8; 2048];
        let n = client.recv(&mut buf)?;
        println!(
            "sent {m:?}, got back {:?}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
    server.stop(None);
    println!("server done: {}", server.closed());
    Ok(())
}
