//! The README's hello world: three greenlets sleep 100 ms each, at the same time.
//!
//! Run it with `cargo run --example hello`. `tests/examples.rs` checks that the README shows
//! exactly this program (below this comment), and what it prints.

use std::time::Duration;

fn job(i: u32) -> String {
    gevent::sleep(Duration::from_millis(100)); // waits in the hub: the other jobs run
    format!("job {i} done")
}

fn main() {
    let jobs: Vec<_> = (1..=3).map(|i| gevent::spawn(move || job(i))).collect();
    gevent::joinall(&jobs); // about 100 ms for the three, not 300
    for job in &jobs {
        println!("{}", job.get().unwrap());
    }
}
