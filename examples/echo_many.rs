//! A server and many clients in one thread: an echo `StreamServer`, and 100 client greenlets
//! that each connect, send three lines and read them back.
//!
//! gevent's `examples/echoserver.py`, with its clients in the same program. The
//! [`StreamServer`](gevent::server::StreamServer) accepts each connection and runs `handle` in
//! a greenlet of its own; the handler takes 50 ms before it answers (a slow backend), so 100
//! clients served one after the other would take 5 s: all greenlets wait at once, and it
//! takes about 50 ms. Each client greenlet returns an `io::Result<Vec<String>>`, which is not
//! `Clone`: `Greenlet::take` moves it out.
//!
//! Run it with `cargo run --example echo_many`, or `cargo run --example echo_many -- 1000`
//! for 1000 clients.

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent::net::TcpStream;
use gevent::server::StreamServer;

/// How long the handler takes before it answers.
const DELAY: Duration = Duration::from_millis(50);

/// Echoes each line back as `echo: <line>` until the client closes.
fn handle(stream: TcpStream, _peer: SocketAddr) {
    let mut writer = stream.clone();
    gevent::sleep(DELAY);
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { return };
        if writeln!(writer, "echo: {line}").is_err() {
            return;
        }
    }
}

/// One client: sends three lines, reads the echoes, closes.
fn client(addr: SocketAddr, i: usize) -> io::Result<Vec<String>> {
    let mut stream = TcpStream::connect(addr)?;
    write!(stream, "hello {i}\nfrom {i}\nbye {i}\n")?;
    stream.shutdown(std::net::Shutdown::Write)?;
    BufReader::new(stream).lines().collect()
}

/// Runs the server and `n` clients.
pub fn run(n: usize) -> io::Result<()> {
    let connections = Rc::new(Cell::new(0));
    let c = connections.clone();
    let server = StreamServer::new("127.0.0.1:0", move |stream, peer| {
        c.set(c.get() + 1);
        handle(stream, peer)
    });
    server.start()?;
    let addr = server.local_addr()?;

    let start = Instant::now();
    let clients: Vec<gevent::Greenlet<io::Result<Vec<String>>>> = (0..n)
        .map(|i| gevent::spawn(move || client(addr, i)))
        .collect();
    gevent::joinall(&clients);
    let took = start.elapsed();

    let mut served = 0;
    for (i, g) in clients.iter().enumerate() {
        let expected = [
            format!("echo: hello {i}"),
            format!("echo: from {i}"),
            format!("echo: bye {i}"),
        ];
        match g.take().expect("a client greenlet does not panic") {
            Ok(lines) => {
                if i == 0 {
                    println!("client 0 got back {lines:?}");
                }
                if lines == expected {
                    served += 1;
                } else {
                    println!("client {i}: unexpected {lines:?}");
                }
            }
            Err(e) => println!("client {i}: {e}"),
        }
    }
    println!("{served} of {n} clients got their lines back");
    println!(
        "served concurrently (well under {n} x {} ms): {}",
        DELAY.as_millis(),
        took < DELAY * (n as u32).div_ceil(4).max(2)
    );
    server.stop(Some(Duration::from_secs(1)));
    println!(
        "the server accepted {} connections, and is closed: {}",
        connections.get(),
        server.closed()
    );
    Ok(())
}

/// Runs the example.
pub fn main() -> io::Result<()> {
    let n = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("a number of clients"))
        .unwrap_or(100);
    run(n)
}
