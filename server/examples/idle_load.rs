//! Load program for the idle-connection and slowloris benchmarks (`server/bench/idle.sh`).
//!
//! Opens `IDLE` keep-alive connections to `ADDR`, each sending one `GET /` and reading its
//! answer, then staying open and silent; and `SLOW` slowloris connections, each trickling a
//! request head one byte every `TRICKLE_MS` (default 1000) and reconnecting when the server
//! closes it. Prints the server's resident memory (`/proc/PID/status`, `VmRSS`) before and
//! after, per idle connection, then `ready`, holds everything for `SECS` seconds (while the
//! benchmark runs `wrk` beside it), and prints what the server closed meanwhile.
//!
//! `cargo run --release -p gevent-server --example idle_load -- PID ADDR IDLE SLOW SECS`
//! (raise `ulimit -n` first: one descriptor per connection on both sides).

use std::cell::Cell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_net::TcpStream;

/// The server's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// One keep-alive request; returns the open connection.
fn idle_conn(addr: &str) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")?;
    let mut buf = [0u8; 1024];
    let mut got = Vec::new();
    while !got.windows(13).any(|w| w == b"Hello, World!") {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got.extend_from_slice(&buf[..n]);
    }
    Ok(s)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 5 {
        eprintln!("usage: idle_load PID ADDR IDLE SLOW SECS");
        std::process::exit(2);
    }
    let pid: u32 = args[0].parse().expect("PID");
    let addr: Rc<str> = args[1].as_str().into();
    let (idle, slow): (usize, usize) = (args[2].parse().unwrap(), args[3].parse().unwrap());
    let secs: u64 = args[4].parse().unwrap();
    let trickle = Duration::from_millis(
        std::env::var("TRICKLE_MS")
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(1000),
    );
    let before = rss_kib(pid);
    // Idle keep-alive connections, opened 200 at a time.
    let mut conns = Vec::with_capacity(idle);
    let mut failed = 0;
    for batch in (0..idle).collect::<Vec<_>>().chunks(200) {
        let gs: Vec<_> = batch
            .iter()
            .map(|_| {
                let a = addr.clone();
                gevent_hub::spawn(move || idle_conn(&a).ok())
            })
            .collect();
        for g in gs {
            match g.get().unwrap() {
                Some(s) => conns.push(s),
                None => failed += 1,
            }
        }
    }
    gevent_hub::sleep(Duration::from_millis(500));
    let after = rss_kib(pid);
    println!(
        "idle connections: {} open, {failed} failed; server RSS {before} KiB -> {after} KiB: {:.1} KiB per idle connection",
        conns.len(),
        (after.saturating_sub(before)) as f64 / conns.len().max(1) as f64
    );
    // Slowloris clients.
    let stop = Rc::new(Cell::new(false));
    let closed_by_server = Rc::new(Cell::new(0u64));
    let bytes_sent = Rc::new(Cell::new(0u64));
    let head = b"GET / HTTP/1.1\r\nHost: bench\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut slow_gs = Vec::new();
    for i in 0..slow {
        let (a, stop, closed, sent) = (
            addr.clone(),
            stop.clone(),
            closed_by_server.clone(),
            bytes_sent.clone(),
        );
        slow_gs.push(gevent_hub::spawn(move || {
            // Spread the first bytes over one trickle period.
            gevent_hub::sleep(trickle * i as u32 / slow.max(1) as u32);
            while !stop.get() {
                let Ok(mut s) = TcpStream::connect(&*a) else {
                    gevent_hub::sleep(trickle);
                    continue;
                };
                for b in head.iter() {
                    if stop.get() {
                        return;
                    }
                    if s.write_all(std::slice::from_ref(b)).is_err() {
                        closed.set(closed.get() + 1);
                        break;
                    }
                    sent.set(sent.get() + 1);
                    gevent_hub::sleep(trickle);
                }
            }
        }));
    }
    gevent_hub::sleep(trickle + Duration::from_millis(200));
    println!(
        "slowloris clients: {slow}; server RSS now {} KiB",
        rss_kib(pid)
    );
    println!("ready");
    let t = Instant::now();
    gevent_hub::sleep(Duration::from_secs(secs));
    stop.set(true);
    // Idle connections still open after the hold (the server's keep-alive timeout may have
    // closed them: a read returns 0 at once then).
    let mut still_open = 0;
    for c in &conns {
        c.set_nonblocking(true).unwrap();
        let mut b = [0u8; 1];
        if matches!((&*c).read(&mut b), Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock) {
            still_open += 1;
        }
    }
    println!(
        "held {:.1} s: idle still open {still_open}/{}; slowloris bytes sent {}, connections closed by the server {}",
        t.elapsed().as_secs_f64(),
        conns.len(),
        bytes_sent.get(),
        closed_by_server.get()
    );
    for g in slow_gs {
        g.kill();
    }
}
