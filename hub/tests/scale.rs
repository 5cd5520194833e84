//! Scale: thousands of greenlets on one hub. 10,000 concurrent 50 ms sleeps finish in well
//! under a second of overhead, and `killall` of 1,000 greenlets blocked in sleeps runs every
//! one of their Drops (gevent's `finally:` blocks).
//!
//! Run with `--nocapture` to see the measured figures.

mod support;

use std::time::{Duration, Instant};

use gevent_hub::{joinall, killall, sleep, spawn};
use support::{counter, DropCounter};

/// 10,000 greenlets each sleep 50 ms at once: all done in well under 2 s of wall time.
#[test]
fn ten_thousand_concurrent_sleeps() {
    let done = counter();
    let t = Instant::now();
    let gs: Vec<_> = (0..10_000)
        .map(|_| {
            let d = done.clone();
            spawn(move || {
                sleep(Duration::from_millis(50));
                d.set(d.get() + 1);
            })
        })
        .collect();
    let spawned = t.elapsed();
    joinall(&gs);
    let took = t.elapsed();
    println!("10,000 concurrent sleep(50ms): spawned in {spawned:?}, all done in {took:?}");
    assert_eq!(done.get(), 10_000);
    assert!(took >= Duration::from_millis(50), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// `killall` of 1,000 greenlets blocked in long sleeps: each is unwound at its sleep, so every
/// Drop guard runs, and all are dead and successful (a kill counts as success).
#[test]
fn killall_runs_every_drop() {
    let drops = counter();
    let after = counter();
    let gs: Vec<_> = (0..1000)
        .map(|i| {
            let (d, a) = (drops.clone(), after.clone());
            spawn(move || {
                let _finally = DropCounter(d);
                sleep(Duration::from_secs(60 + i % 7));
                a.set(a.get() + 1);
            })
        })
        .collect();
    sleep(Duration::ZERO);
    assert!(gs.iter().all(|g| g.started() && !g.ready()));
    let t = Instant::now();
    killall(&gs);
    println!("killall of 1,000 sleeping greenlets: {:?}", t.elapsed());
    assert_eq!(drops.get(), 1000);
    assert_eq!(after.get(), 0);
    assert!(gs.iter().all(|g| g.dead() && g.successful()));
    assert!(gs.iter().all(|g| g.get().unwrap_err().is_killed()));
    // Nothing is left in the loop: the sleeps' timers were cancelled.
    assert!(gevent_hub::get_hub().join(Some(Duration::from_secs(1))));
}
