//! Timers: `sleep`, `spawn_later` and `call_later` never fire early, fire in deadline order,
//! and cancel cleanly (gevent's `test__sleep0.py`, the timing parts of `test__greenlet.py`'s
//! `TestBasic` and `test__hub_join_timeout.py`'s `test_later`).

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{get_hub, joinall, sleep, spawn, spawn_later};
use support::{counter, log, push, seen};

/// A small deterministic pseudo-random sequence (xorshift), for varied sleep lengths.
fn lengths(n: usize, max_us: u64) -> Vec<Duration> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_micros(x % max_us)
        })
        .collect()
}

/// Many concurrent sleeps of various lengths (0 to 30 ms): each measured elapsed time is at
/// least what was asked.
#[test]
fn sleeps_never_end_early() {
    let early = log();
    let gs: Vec<_> = lengths(2000, 30_000)
        .into_iter()
        .map(|d| {
            let e = early.clone();
            spawn(move || {
                let t = Instant::now();
                sleep(d);
                let took = t.elapsed();
                if took < d {
                    push(&e, (d, took));
                }
            })
        })
        .collect();
    joinall(&gs);
    assert!(seen(&early).is_empty(), "early: {:?}", seen(&early));
}

/// The same, one after another in one greenlet, for short sleeps (sub-millisecond included).
#[test]
fn sequential_short_sleeps_never_end_early() {
    for d in lengths(300, 2_000) {
        let t = Instant::now();
        sleep(d);
        let took = t.elapsed();
        assert!(took >= d, "asked {d:?}, slept {took:?}");
    }
}

/// `call_later` callbacks never run early, and run in deadline order (deadlines 1 ms apart,
/// set up in shuffled order).
#[test]
fn call_later_never_early_and_in_order() {
    let hub = get_hub();
    let fired = log();
    let start = Instant::now();
    let mut ms: Vec<u64> = (1..=40).collect();
    // A fixed shuffle: i * 17 mod 41 visits 1..=40 once each.
    for (i, m) in ms.iter_mut().enumerate() {
        *m = (i as u64 + 1) * 17 % 41;
    }
    let timers: Vec<_> = ms
        .iter()
        .map(|&m| {
            let f = fired.clone();
            // Due 50 + `m` ms after `start`: a preemption while they are set up (in
            // microseconds) cannot reorder them.
            let d = Duration::from_millis(50 + m).saturating_sub(start.elapsed());
            hub.call_later(d, move || push(&f, (m, start.elapsed())))
        })
        .collect();
    assert!(hub.join(Some(Duration::from_secs(10))));
    assert!(timers.iter().all(|t| !t.pending()));
    let fired = seen(&fired);
    for &(m, at) in &fired {
        assert!(
            at >= Duration::from_millis(50 + m),
            "timer of {m} ms fired at {at:?}"
        );
    }
    let order: Vec<u64> = fired.iter().map(|&(m, _)| m).collect();
    assert_eq!(order, (1..=40).collect::<Vec<_>>(), "deadline order");
}

/// `spawn_later` starts after its delay, not before.
#[test]
fn spawn_later_timing() {
    let t = Instant::now();
    let gs: Vec<_> = [1u64, 5, 20, 50]
        .into_iter()
        .map(|ms| spawn_later(Duration::from_millis(ms), move || (ms, t.elapsed())))
        .collect();
    joinall(&gs);
    for g in &gs {
        let (ms, at) = g.get().unwrap();
        assert!(at >= Duration::from_millis(ms), "{ms} ms started at {at:?}");
        assert!(
            at < Duration::from_millis(ms + 1000),
            "{ms} ms started at {at:?}"
        );
    }
}

/// A cancelled timer never fires, and a killed `spawn_later` greenlet never starts: neither
/// keeps the loop alive.
#[test]
fn cancelled_timers_never_fire() {
    let hits = counter();
    let h = hits.clone();
    let t = get_hub().call_later(Duration::from_millis(5), move || h.set(h.get() + 1));
    assert!(t.pending());
    t.cancel();
    assert!(!t.pending());
    t.cancel();
    let h = hits.clone();
    let g = spawn_later(Duration::from_millis(5), move || h.set(h.get() + 1));
    g.kill();
    let t0 = Instant::now();
    assert!(get_hub().join(None));
    assert!(t0.elapsed() < Duration::from_millis(5) + support::NO_TIME);
    sleep(Duration::from_millis(10));
    assert_eq!(hits.get(), 0);
}

/// A greenlet killed in a sleep cancels its timer: the loop is not kept alive by it.
#[test]
fn killed_sleep_cancels_its_timer() {
    let g = spawn(|| sleep(Duration::from_secs(60)));
    sleep(Duration::ZERO);
    g.kill();
    let (dry, took) = support::timed(|| get_hub().join(None));
    assert!(dry && took < support::NO_TIME, "{took:?}");
}

/// Sleeps of zero yield without a timer; huge sleeps wait (for a kill) instead of
/// overflowing the clock.
#[test]
fn zero_and_huge_sleeps() {
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    spawn(move || r.set(true));
    sleep(Duration::ZERO);
    assert!(ran.get());
    let g = spawn(|| sleep(Duration::MAX));
    sleep(Duration::from_millis(1));
    assert!(!g.dead());
    g.kill();
    assert!(g.dead());
}

/// Greenlets that keep yielding with `sleep(0)` do not starve timers: the hub still looks at
/// them every few dozen switches.
#[test]
fn yielding_greenlets_do_not_starve_timers() {
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    let _t = get_hub().call_later(Duration::from_millis(5), move || f.set(true));
    let spinners: Vec<_> = (0..3)
        .map(|_| {
            let f = fired.clone();
            spawn(move || {
                let t = Instant::now();
                while !f.get() && t.elapsed() < Duration::from_secs(5) {
                    sleep(Duration::ZERO);
                }
                f.get()
            })
        })
        .collect();
    joinall(&spinners);
    assert!(spinners.iter().all(|g| g.get().unwrap()));
}
