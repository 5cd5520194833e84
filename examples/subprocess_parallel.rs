//! Ten children at once: ten `sleep 0.3` take about 0.3 s, not 3 s, because waiting for a
//! child switches to the hub instead of blocking the thread.
//!
//! Each greenlet spawns one child and waits for it; the hub notices each exit through the
//! child's pidfd (or `SIGCHLD` on kernels older than 5.3), with no thread per child.
//!
//! Run it with `cargo run --example subprocess_parallel`.

use std::time::{Duration, Instant};

use gevent::subprocess::Command;

/// Runs the example.
pub fn main() {
    let start = Instant::now();
    let jobs: Vec<gevent::Greenlet<bool>> = (0..10)
        .map(|_| {
            gevent::spawn(|| {
                let mut child = Command::new("sleep").arg("0.3").spawn().unwrap();
                child.wait().unwrap().success()
            })
        })
        .collect();
    gevent::joinall(&jobs);
    let elapsed = start.elapsed();
    let ok = jobs.iter().filter(|g| g.get().unwrap()).count();
    println!("{ok} of 10 children exited successfully");
    println!(
        "concurrent: {}",
        if elapsed < Duration::from_secs(2) {
            "yes"
        } else {
            "no"
        }
    );
    println!("elapsed: {:.2} s", elapsed.as_secs_f64());
}
