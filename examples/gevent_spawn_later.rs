//! Starting greenlets later: `spawn_later(d, f)` and `Greenlet::new(f)` + `start_later(d)`.
//!
//! From the tutorials' lists of gevent functions: `gevent.spawn_later(seconds=3)`,
//! `Greenlet.spawn_later(seconds=3)`, `job.start_later(3)`. A greenlet started later runs
//! after its delay, never before; until then it is `started` but not `ready`, and killing it
//! means it never runs. Delays are in milliseconds here.
//!
//! Run it with `cargo run --example gevent_spawn_later`.

use std::time::{Duration, Instant};

use gevent::Greenlet;

/// Runs the example.
pub fn main() {
    let t0 = Instant::now();
    let report = move |name: &'static str, delay_ms: u64| {
        let at = t0.elapsed();
        println!(
            "{name} started (at least {delay_ms} ms later: {})",
            at >= Duration::from_millis(delay_ms)
        );
    };

    let later = gevent::spawn_later(Duration::from_millis(40), move || {
        report("spawn_later(40 ms)", 40)
    });
    let job = Greenlet::new(move || report("start_later(20 ms)", 20));
    job.start_later(Duration::from_millis(20));
    let never = gevent::spawn_later(Duration::from_millis(10), || println!("never printed"));
    let now = gevent::spawn(move || report("spawn", 0));

    println!(
        "before waiting: later.started={} later.ready={}",
        later.started(),
        later.ready()
    );
    never.kill();
    gevent::joinall(&[later.clone(), job, now]);
    println!(
        "after joinall: later.ready={} never.ready={} never.successful={}",
        later.ready(),
        never.ready(),
        never.successful()
    );
}
