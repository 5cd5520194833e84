//! Monkey patching: std's blocking calls, made inside greenlets, wait cooperatively.
//!
//! After `patch_all()`, `std::thread::sleep`, `std::net`, `std::process` and `ToSocketAddrs`
//! switch to the hub when they would block, so code (yours, or a crate's) that knows nothing of
//! gevent runs concurrently in greenlets. Outside greenlets nothing changes.
//!
//! In your own crate: `gevent = { version = "...", features = ["monkey"] }` and
//! `gevent::monkey::patch_all()`. The examples use the `gevent-monkey` crate directly (the
//! same code, a dev-dependency of the facade), so that they run without the feature.
//!
//! Run it with `cargo run --example monkey_std`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use gevent_monkey as monkey;

/// Runs the example.
pub fn main() {
    match monkey::patch_all() {
        Ok(()) => println!("patch_all: ok"),
        Err(e) => {
            println!("patch_all failed: {e}");
            return;
        }
    }
    for name in ["socket", "time", "dns", "select", "subprocess", "thread"] {
        println!("  is_patched({name:?}) = {}", monkey::is_patched(name));
    }

    // Ten plain std sleeps of 100 ms, each in its own greenlet: they overlap.
    let t = Instant::now();
    let sleepers: Vec<_> = (0..10)
        .map(|_| gevent::spawn(|| std::thread::sleep(Duration::from_millis(100))))
        .collect();
    gevent::joinall(&sleepers);
    let together = t.elapsed() < Duration::from_millis(500);
    println!("10 x std::thread::sleep(100 ms) in greenlets finished together: {together}");

    // A std TcpListener and std TcpStream clients, all in this one thread.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let server = gevent::spawn(move || {
        for _ in 0..3 {
            let (mut conn, _) = listener.accept().expect("accept");
            gevent::spawn(move || {
                let mut buf = [0u8; 64];
                while let Ok(n @ 1..) = conn.read(&mut buf) {
                    let reply = String::from_utf8_lossy(&buf[..n]).to_uppercase();
                    if conn.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    let clients: Vec<_> = ["one", "two", "three"]
        .into_iter()
        .map(|word| {
            gevent::spawn(move || {
                let mut s = TcpStream::connect(addr).expect("connect");
                s.write_all(word.as_bytes()).expect("write");
                let mut buf = vec![0u8; word.len()];
                s.read_exact(&mut buf).expect("read");
                format!("{word} -> {}", String::from_utf8_lossy(&buf))
            })
        })
        .collect();
    gevent::joinall(&clients);
    for c in &clients {
        println!("std client: {}", c.get().expect("client"));
    }
    server.get().expect("server");

    // Child processes: `Command::output` waits (poll, read, waitpid) cooperatively.
    let t = Instant::now();
    let children: Vec<_> = (0..5)
        .map(|i| {
            gevent::spawn(move || {
                std::process::Command::new("sh")
                    .args(["-c", &format!("sleep 0.2; echo child {i}")])
                    .output()
                    .expect("spawn sh")
            })
        })
        .collect();
    gevent::joinall(&children);
    for c in &children {
        print!(
            "{}",
            String::from_utf8_lossy(&c.get().expect("child").stdout)
        );
    }
    let together = t.elapsed() < Duration::from_millis(1000);
    println!("5 x `sleep 0.2` through Command::output finished together: {together}");
}
