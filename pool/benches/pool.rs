//! The `pool_imap_unordered` metric of `../shared/bench` (Pool(100).imap_unordered over trivial
//! work, ns per item; N/10 items), as `benches/micro.rs` measures it.
//!
//! `cargo bench -p gevent-pool --bench pool -- [scale]`

use std::hint::black_box;
use std::time::Instant;

use gevent_pool::Pool;

/// The scale argument: the first one that parses as a number (cargo adds `--bench`).
fn scale() -> u64 {
    let s: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1.0);
    (1_000_000.0 * s) as u64
}

/// Pool(100).imap_unordered over trivial work: as micro.py's `pool_imap_unordered`.
fn pool_imap_unordered(n: u64) {
    let sum: u64 = Pool::new(100)
        .imap_unordered(|x: u64| x, 0..n)
        .map(|r| r.unwrap())
        .sum();
    black_box(sum);
}

/// Plain spawn + joinall of trivial greenlets (the hub's floor), for comparison.
fn spawn_join(n: u64) {
    let gs: Vec<_> = (0..n).map(|i| gevent_hub::spawn(move || i)).collect();
    gevent_hub::joinall(&gs);
}

/// Pool(100).spawn of trivial greenlets, then join.
fn pool_spawn(n: u64) {
    let p = Pool::new(100);
    for i in 0..n {
        p.spawn(move || i);
    }
    p.join();
}

fn main() {
    let n = scale() / 10;
    if std::env::var_os("POOL_BENCH_ALL").is_some() {
        for (name, f) in [
            ("spawn_join", spawn_join as fn(u64)),
            ("pool_spawn", pool_spawn),
        ] {
            f(1000);
            let t = Instant::now();
            f(n);
            println!(
                "{name}\t{:.1}\tns/op",
                t.elapsed().as_nanos() as f64 / n as f64
            );
        }
    }
    pool_imap_unordered(1000);
    for _ in 0..3 {
        let t = Instant::now();
        pool_imap_unordered(n);
        println!(
            "pool_imap_unordered\t{:.1}\tns/op",
            t.elapsed().as_nanos() as f64 / n as f64
        );
    }
}
