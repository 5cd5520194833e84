//! A UDP echo server and a client, both greenlets of one thread.
//!
//! gevent's `examples/udp_server.py` and `udp_client.py`. The server greenlet waits in
//! `recv_from` and sends each datagram back; the client sends a few and prints the replies.
//!
//! Run it with `cargo run --example udp_echo`, or only the server with
//! `cargo run --example udp_echo -- serve 127.0.0.1:9000` (then try
//! `nc -u 127.0.0.1 9000`).

use gevent::net::UdpSocket;

/// Echoes datagrams forever (or `count` of them).
fn serve(socket: UdpSocket, count: Option<usize>) -> std::io::Result<()> {
    let mut buf = [0u8; 2048];
    let mut served = 0;
    while count != Some(served) {
        let (n, from) = socket.recv_from(&mut buf)?;
        socket.send_to(&buf[..n], from)?;
        served += 1;
    }
    Ok(())
}

/// Runs the example.
pub fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        let addr = args.get(1).map_or("127.0.0.1:9000", String::as_str);
        let socket = UdpSocket::bind(addr)?;
        println!("serving UDP on {}", socket.local_addr()?);
        return serve(socket, None);
    }
    let messages = ["ping", "hello", "gevent"];
    let server = UdpSocket::bind("127.0.0.1:0")?;
    let addr = server.local_addr()?;
    let s = gevent::spawn(move || serve(server, Some(messages.len())));

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
    s.join();
    println!("server done: {}", s.successful());
    Ok(())
}
