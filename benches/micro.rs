//! Micro-benchmarks, printed as `name<TAB>value<TAB>unit` like the peers in
//! `../shared/bench` so that `../shared/bench/compare.sh 'cargo bench -q --bench micro --'`
//! puts them side by side.
//!
//! `cargo bench --bench micro -- [scale] [metric ...]` (scale 1.0 = the peers' sizes; with
//! metric names, only those run; `--bench` from cargo is ignored).

use std::hint::black_box;
use std::time::{Duration, Instant};

use gevent::greenlet::{getcurrent, Greenlet, Value};

/// Prints one metric line.
fn out(name: &str, v: f64, unit: &str) {
    println!("{name}\t{v:.1}\t{unit}");
}

/// Runs `f(n)` once and prints its time per operation.
fn timed(name: &str, n: u64, f: impl FnOnce(u64)) {
    if !wanted(name) {
        return;
    }
    let t = Instant::now();
    f(n);
    out(name, t.elapsed().as_nanos() as f64 / n as f64, "ns/op");
}

/// Whether metric `name` was asked for: all of them, unless names are given as arguments
/// (`cargo bench --bench micro -- 0.3 yield2 timers`, for profiling one at a time).
fn wanted(name: &str) -> bool {
    let names: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-') && a.parse::<f64>().is_err())
        .collect();
    names.is_empty() || names.iter().any(|a| a == name)
}

/// The scale argument: the first one that parses as a number (cargo adds `--bench`).
fn scale() -> u64 {
    let s: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1.0);
    (1_000_000.0 * s) as u64
}

/// Two greenlets ping-ponging: each `switch` call is one switch.
fn switch(n: u64) {
    let b = Greenlet::new(|_: Value| loop {
        getcurrent().parent().unwrap().switch(());
    });
    let bb = b.clone();
    let a = Greenlet::new(move |_: Value| {
        for _ in 0..n / 2 {
            bb.switch(());
        }
    });
    b.set_parent(&a).unwrap();
    a.switch(());
}

/// Create a raw greenlet, run it to completion, release it.
fn raw_spawn_join(n: u64) {
    for i in 0..n {
        let g = Greenlet::new(move |_: Value| black_box(i));
        black_box(g.switch(()));
    }
}

/// `tasks` scheduled greenlets taking turns on `sleep(0)`: `n` yields in all.
fn yields(tasks: u64, n: u64) {
    let gs: Vec<_> = (0..tasks)
        .map(|_| {
            gevent::spawn(move || {
                for _ in 0..n / tasks {
                    gevent::sleep(Duration::ZERO);
                }
            })
        })
        .collect();
    gevent::joinall(&gs);
}

/// `sleep(0)` ping-pong between two scheduled greenlets.
fn yield2(n: u64) {
    yields(2, n);
}

/// 1000 greenlets round-robin on `sleep(0)`.
fn yield1000(n: u64) {
    yields(1000, n);
}

/// Spawn `n` trivial greenlets, then join them all.
fn spawn_join(n: u64) {
    let gs: Vec<_> = (0..n).map(|_| gevent::spawn(|| ())).collect();
    gevent::joinall(&gs);
}

/// 10 rounds of `n / 10` concurrent 1 ms sleeps.
fn timers(n: u64) {
    for _ in 0..10 {
        let gs: Vec<_> = (0..n / 10)
            .map(|_| gevent::spawn(|| gevent::sleep(Duration::from_millis(1))))
            .collect();
        gevent::joinall(&gs);
    }
}

/// This process's resident memory, in bytes.
fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = s
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

/// Resident memory per greenlet for `n` greenlets parked at once on one `Event`, as the peers
/// measure it.
fn parked_bytes(n: u64) {
    if !wanted("parked_bytes") {
        return;
    }
    let before = rss_bytes();
    let e = gevent::event::Event::new();
    let gs: Vec<_> = (0..n)
        .map(|_| {
            let e = e.clone();
            gevent::spawn(move || {
                e.wait();
            })
        })
        .collect();
    gevent::sleep(Duration::ZERO);
    let after = rss_bytes();
    out("parked_bytes", (after - before) as f64 / n as f64, "bytes");
    e.set();
    gevent::joinall(&gs);
}

/// A bounded(100) queue, one producer, one consumer: ns per item.
fn queue(n: u64) {
    let q = gevent::queue::Queue::bounded(100);
    let prod = {
        let q = q.clone();
        gevent::spawn(move || {
            for i in 0..n {
                q.put(Some(i));
            }
            q.put(None);
        })
    };
    let cons = {
        let q = q.clone();
        gevent::spawn(move || while q.get().is_some() {})
    };
    gevent::joinall(&[prod, cons]);
}

/// 1000 greenlets waiting on one `Event`, woken by one `set`: ns per waiter (spawning and
/// joining included, as in the peers).
fn event_fanout(n: u64) {
    const WAITERS: u64 = 1000;
    for _ in 0..n / WAITERS {
        let e = gevent::event::Event::new();
        let gs: Vec<_> = (0..WAITERS)
            .map(|_| {
                let e = e.clone();
                gevent::spawn(move || {
                    e.wait();
                })
            })
            .collect();
        gevent::sleep(Duration::ZERO);
        e.set();
        gevent::joinall(&gs);
    }
}

/// `Pool::new(100).imap_unordered` over trivial work: ns per item.
fn pool_imap_unordered(n: u64) {
    let sum: u64 = gevent::pool::Pool::new(100)
        .imap_unordered(|x: u64| x, 0..n)
        .map(|r| r.expect("trivial work does not panic"))
        .sum();
    black_box(sum);
}

fn main() {
    let n = scale();
    // Warm the stack pool so that the figures measure reuse, as the peers' do.
    raw_spawn_join(1000);
    timed("switch", 10 * n, switch);
    timed("raw_spawn_join", n / 10, raw_spawn_join);
    timed("yield2", n, yield2);
    timed("yield1000", n, yield1000);
    timed("spawn_join", n / 10, spawn_join);
    timed("queue", n, queue);
    timed("event_fanout", n / 10, event_fanout);
    timed("pool_imap_unordered", n / 10, pool_imap_unordered);
    timed("timers", n / 10, timers);
    parked_bytes(n / 50);
}
