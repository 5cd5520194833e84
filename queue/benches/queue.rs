//! The `queue` metric of `../shared/bench` (bounded(100) queue, one producer, one consumer, ns
//! per item), as `benches/micro.rs` measures it.
//!
//! `cargo bench -p gevent-queue --bench queue -- [scale]`

use std::time::Instant;

use gevent_queue::Queue;

/// The scale argument: the first one that parses as a number (cargo adds `--bench`).
fn scale() -> u64 {
    let s: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1.0);
    (1_000_000.0 * s) as u64
}

/// bounded(100) queue, one producer, one consumer: as micro.py's `queue`.
fn queue(n: u64) {
    let q = Queue::bounded(100);
    let prod = {
        let q = q.clone();
        gevent_hub::spawn(move || {
            for i in 0..n {
                q.put(Some(i));
            }
            q.put(None);
        })
    };
    let cons = {
        let q = q.clone();
        gevent_hub::spawn(move || while q.get().is_some() {})
    };
    gevent_hub::joinall(&[prod, cons]);
}

fn main() {
    let n = scale();
    queue(1000);
    for _ in 0..3 {
        let t = Instant::now();
        queue(n);
        println!(
            "queue\t{:.1}\tns/op",
            t.elapsed().as_nanos() as f64 / n as f64
        );
    }
}
