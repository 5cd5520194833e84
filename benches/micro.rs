//! Micro-benchmarks, printed as `name<TAB>value<TAB>unit` like the peers in
//! `../shared/bench` so that `../shared/bench/compare.sh 'cargo bench -q --bench micro --'`
//! puts them side by side.
//!
//! `cargo bench --bench micro -- [scale]` (scale 1.0 = the peers' sizes; `--bench` from cargo
//! is ignored).

use std::hint::black_box;
use std::time::Instant;

use gevent::greenlet::{getcurrent, Greenlet, Value};

/// Prints one metric line.
fn out(name: &str, v: f64, unit: &str) {
    println!("{name}\t{v:.1}\t{unit}");
}

/// Runs `f(n)` once and prints its time per operation.
fn timed(name: &str, n: u64, f: impl FnOnce(u64)) {
    let t = Instant::now();
    f(n);
    out(name, t.elapsed().as_nanos() as f64 / n as f64, "ns/op");
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

fn main() {
    let n = scale();
    // Warm the stack pool so that the figures measure reuse, as the peers' do.
    raw_spawn_join(1000);
    timed("switch", 10 * n, switch);
    timed("raw_spawn_join", n / 10, raw_spawn_join);
}
