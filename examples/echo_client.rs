//! A TCP echo client: sends each line given on the command line and prints what comes back.
//!
//! The client of gevent's `examples/echoserver.py`. With no server address, it starts an echo
//! server of its own in a greenlet first, so it runs alone.
//!
//! Run it with `cargo run --example echo_client` (its own server), or against
//! `echo_server` with `cargo run --example echo_client -- 127.0.0.1:7010 hello world`.

use std::io::{BufRead, BufReader, Write};

use gevent::net::{TcpListener, TcpStream};

/// An echo server on a free loopback port, in a greenlet; returns its address.
fn own_server() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    gevent::spawn(move || {
        for s in listener.incoming().flatten() {
            gevent::spawn(move || {
                let _ = std::io::copy(&mut &s, &mut &s);
            });
        }
    });
    Ok(addr)
}

/// Runs the example.
pub fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = match args.next() {
        Some(a) => a,
        None => own_server()?,
    };
    let mut lines: Vec<String> = args.collect();
    if lines.is_empty() {
        lines = vec!["hello".into(), "from".into(), "a greenlet".into()];
    }
    let stream = TcpStream::connect(addr.as_str())?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    for line in &lines {
        writer.write_all(format!("{line}\n").as_bytes())?;
        let mut back = String::new();
        reader.read_line(&mut back)?;
        print!("echo: {back}");
    }
    Ok(())
}
