//! Runs the I/O examples (`echo_server`, `echo_client`, `fetch`, `udp_echo`, `port_forward`)
//! and checks their output and behaviour: the servers are started on free loopback ports and
//! driven by plain std clients.
//!
//! The examples are built and run by `tests/support`.

mod support;

use support::{examples_dir, run};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A server example running in the background; killed when dropped.
struct Server {
    /// The process.
    child: Child,
    /// The first line it printed.
    first_line: String,
}

impl Server {
    /// Starts example `name` with `args` and reads the first line it prints.
    fn start(name: &str, args: &[&str]) -> Server {
        let mut child = Command::new(examples_dir().join(name))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        Server { child, first_line }
    }

    /// The last word of the first line: the address the server printed.
    fn addr(&self) -> String {
        self.first_line
            .split_whitespace()
            .last()
            .unwrap_or_else(|| panic!("no address in {:?}", self.first_line))
            .to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A std client with a generous timeout, so a broken server fails the test instead of hanging.
fn client(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

#[test]
fn echo_client_alone() {
    assert_eq!(
        run("echo_client", &[]),
        "echo: hello\necho: from\necho: a greenlet\n"
    );
}

/// `echo_server` with the benchmark's protocol: concurrent clients, 64-byte messages, each
/// waiting for its echo; then `echo_client` against it.
#[test]
fn echo_server_serves_concurrent_clients() {
    check_echo_server("echo_server");
}

/// `monkey_echo_server` (std sockets under `patch_all()`) passes the same test.
#[test]
fn monkey_echo_server_serves_concurrent_clients() {
    check_echo_server("monkey_echo_server");
}

/// Starts the echo server example `name`, drives it with 20 concurrent clients and
/// `echo_client`.
fn check_echo_server(name: &str) {
    let server = Server::start(name, &["127.0.0.1:0"]);
    assert!(server.first_line.starts_with("listening on 127.0.0.1:"));
    let addr = server.addr();
    let threads: Vec<_> = (0..20u8)
        .map(|t| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut s = client(&addr);
                s.set_nodelay(true).unwrap();
                for round in 0..50u8 {
                    let msg = [t.wrapping_mul(31).wrapping_add(round); 64];
                    s.write_all(&msg).unwrap();
                    let mut back = [0u8; 64];
                    s.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        run("echo_client", &[&addr, "one", "two"]),
        "echo: one\necho: two\n"
    );
}

#[test]
fn fetch_runs_the_downloads_concurrently() {
    let out = run("fetch", &["50"]);
    let mut expected: String = (0..50)
        .map(|i| format!("/{i}: HTTP/1.0 200 OK: page {i}\n"))
        .collect();
    expected.push_str("fetched 50 pages concurrently: true\n");
    expected.push_str("the server accepted 50 connections\n");
    assert_eq!(out, expected);
}

/// `monkey_fetch`: `ureq` GETs against a slow local server, concurrently.
#[test]
fn monkey_fetch_runs_ureq_requests_concurrently() {
    let out = run("monkey_fetch", &["20"]);
    let mut expected: String = (0..20)
        .map(|i| format!("/{i}: 200 OK: page {i}\n"))
        .collect();
    expected.push_str("fetched 20 pages concurrently: true\n");
    assert_eq!(out, expected);
}

#[test]
fn udp_echo_round_trips() {
    assert_eq!(
        run("udp_echo", &[]),
        "sent \"ping\", got back \"ping\"\n\
         sent \"hello\", got back \"hello\"\n\
         sent \"gevent\", got back \"gevent\"\n\
         server done: true\n"
    );
}

#[test]
fn udp_echo_server_mode() {
    let server = Server::start("udp_echo", &["serve", "127.0.0.1:0"]);
    assert!(server.first_line.starts_with("serving UDP on 127.0.0.1:"));
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    for m in [&b"a"[..], b"datagram", &[7u8; 1000]] {
        s.send_to(m, server.addr()).unwrap();
        let mut buf = [0u8; 2048];
        let (n, from) = s.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], m);
        assert_eq!(from.to_string(), server.addr());
    }
}

/// `port_forward` in front of `echo_server`: a megabyte goes through and comes back, while a
/// second client is served at the same time.
#[test]
fn port_forward_relays_both_ways() {
    let echo = Server::start("echo_server", &["127.0.0.1:0"]);
    let fwd = Server::start("port_forward", &["127.0.0.1:0", &echo.addr()]);
    assert!(fwd.first_line.starts_with("forwarding 127.0.0.1:"));
    assert!(fwd.first_line.ends_with(&format!("-> {}\n", echo.addr())));
    let addr = fwd
        .first_line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();

    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut big = client(&addr);
    let mut small = client(&addr);
    let writer = {
        let mut w = big.try_clone().unwrap();
        let data = data.clone();
        std::thread::spawn(move || {
            w.write_all(&data).unwrap();
            w.shutdown(std::net::Shutdown::Write).unwrap();
        })
    };
    small.write_all(b"meanwhile").unwrap();
    let mut nine = [0u8; 9];
    small.read_exact(&mut nine).unwrap();
    assert_eq!(&nine, b"meanwhile");
    let mut back = Vec::new();
    big.read_to_end(&mut back).unwrap();
    writer.join().unwrap();
    assert_eq!(back.len(), data.len());
    assert!(back == data);
}
