//! The same ten tasks run one after the other, then as ten greenlets at once: the greenlets
//! wait concurrently, so they finish in the order of their delays, and sooner.
//!
//! From gevent's tutorial ("Synchronous & Asynchronous Execution"), and the tutorial snippet
//! `threads = [gevent.spawn(task, i) for i in xrange(10)]; gevent.joinall(threads)`. The
//! tutorial's tasks sleep a random time; here task `i` sleeps `(7 i mod 10) * 5` ms, so the
//! output is the same on every run.
//!
//! Run it with `cargo run --example gevent_sync_async`.

use std::time::{Duration, Instant};

/// Task `pid`: sleeps a little (cooperatively), then says it is done.
fn task(pid: u64) {
    gevent::sleep(Duration::from_millis(pid * 7 % 10 * 5));
    println!("Task {pid} done");
}

/// Runs the example.
pub fn main() {
    println!("Synchronous:");
    let t = Instant::now();
    for i in 0..10 {
        task(i);
    }
    let synchronous = t.elapsed();

    println!("Asynchronous:");
    let t = Instant::now();
    let threads: Vec<_> = (0..10).map(|i| gevent::spawn(move || task(i))).collect();
    gevent::joinall(&threads);
    let asynchronous = t.elapsed();
    println!(
        "the greenlets took less time than the loop: {}",
        asynchronous < synchronous
    );
}
