//! Runs the server examples: `http_hello` (the HTTP benchmark's server) and `http_graceful`
//! (SIGTERM lets the request in flight finish, then the program exits).

mod support;

use support::examples_dir;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts example `name` on a free port; returns the child and the address it printed.
fn start(
    name: &str,
) -> (
    std::process::Child,
    BufReader<std::process::ChildStdout>,
    String,
) {
    let mut child = Command::new(examples_dir().join(name))
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line.split_whitespace().last().unwrap().to_string();
    (child, out, addr)
}

#[test]
fn http_hello_answers_hello_world() {
    let (mut child, _out, addr) = start("http_hello");
    let mut c = TcpStream::connect(&addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut resp = String::new();
    c.read_to_string(&mut resp).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(resp.contains("\r\ncontent-type: text/plain\r\n"), "{resp}");
    assert!(resp.contains("\r\ncontent-length: 13\r\n"), "{resp}");
    assert!(resp.ends_with("\r\n\r\nHello, World!"), "{resp}");
}

#[test]
fn http_graceful_finishes_the_request_in_flight_on_sigterm() {
    let (mut child, mut out, addr) = start("http_graceful");
    let mut c = TcpStream::connect(&addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let mut resp = String::new();
    c.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(resp.contains("\r\nconnection: close\r\n"), "{resp}");
    assert!(resp.ends_with("done: /slow\n"), "{resp}");
    drop(c); // the server lingers until the client closes
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "stopped\n");
    assert!(child.wait().unwrap().success());
    assert!(t.elapsed() < Duration::from_secs(20));
}
