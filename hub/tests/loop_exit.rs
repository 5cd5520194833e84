//! `LoopExit` ("this operation would block forever") and the `ref` semantics that decide it,
//! after gevent's `src/gevent/tests/test__sleep0.py`, `test_hub_join_timeout.py`'s `ref`
//! cases and the `LoopExit` behaviour of `gevent.hub` (`gevent.sleep(ref=False)`, joining
//! something nothing can wake). Also: a waiting call inside the hub is a clear panic.

mod support;

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use gevent_hub::{get_hub, park, sleep, sleep_unref, spawn, LoopExit};
use support::{capture_errors, counter, seen, timed, DropCounter, NO_TIME};

/// Runs `f`, which must end with `LoopExit`; returns its message.
fn expect_loop_exit(f: impl FnOnce()) -> String {
    let p = panic::catch_unwind(AssertUnwindSafe(f)).expect_err("expected LoopExit");
    let e = p
        .downcast_ref::<LoopExit>()
        .unwrap_or_else(|| panic!("expected LoopExit, got {}", support_text(&*p)));
    e.to_string()
}

/// The text of a panic payload, for messages.
fn support_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string payload".into())
}

/// Main parks and drops its unparker: nobody can wake it.
#[test]
fn park_with_nobody_to_wake() {
    let (msg, took) = timed(|| expect_loop_exit(|| drop(park(drop))));
    assert!(msg.contains("would block forever"), "{msg}");
    assert!(took < NO_TIME, "{took:?}");
    // The hub is still usable afterwards.
    assert_eq!(spawn(|| 3).get().unwrap(), 3);
}

/// Main joins a greenlet parked forever (its unparker dropped).
#[test]
fn join_a_greenlet_parked_forever() {
    let g = spawn(|| {
        park(drop);
    });
    let msg = expect_loop_exit(|| g.join());
    assert!(msg.contains("would block forever"), "{msg}");
    assert!(!g.dead());
}

/// Main joins a greenlet that waits on a greenlet that was never started.
#[test]
fn join_a_chain_that_cannot_end() {
    let never = gevent_hub::Greenlet::new(|| ());
    let n = never.clone();
    let waiter = spawn(move || n.join());
    let msg = expect_loop_exit(|| waiter.join());
    assert!(msg.contains("would block forever"), "{msg}");
    never.start();
    waiter.join();
    assert!(waiter.dead() && never.dead());
}

/// `sleep(ref=False)` with nothing else to run: LoopExit at once, not after the sleep.
#[test]
fn sleep_unref_alone_is_loop_exit() {
    let (msg, took) = timed(|| expect_loop_exit(|| sleep_unref(Duration::from_secs(10))));
    assert!(msg.contains("would block forever"), "{msg}");
    assert!(took < NO_TIME, "{took:?}");
}

/// `sleep(ref=False)` while something else keeps the loop alive: it sleeps as long as that
/// lasts, and gets LoopExit when it ends.
#[test]
fn sleep_unref_ends_with_the_last_ref() {
    spawn(|| sleep(Duration::from_millis(40)));
    let (_, took) = timed(|| expect_loop_exit(|| sleep_unref(Duration::from_secs(10))));
    assert!(took >= Duration::from_millis(40), "{took:?}");
    assert!(took < Duration::from_millis(40) + NO_TIME, "{took:?}");
    // And an unref sleep shorter than the ref'd work ends normally, by its own timer.
    let work = spawn(|| sleep(Duration::from_secs(2)));
    let (_, took) = timed(|| sleep_unref(Duration::from_millis(10)));
    assert!(took >= Duration::from_millis(10), "{took:?}");
    assert!(!work.dead(), "ended before the ref'd work: {took:?}");
    work.kill();
}

/// `test__sleep0.py`: `sleep(0)` in a loop with nothing else to run never blocks and never
/// raises LoopExit.
#[test]
fn sleep0_loop_alone() {
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < Duration::from_millis(10) {
        sleep(Duration::ZERO);
        n += 1;
    }
    assert!(n > 10, "{n}");
}

/// A greenlet left parked when main gets LoopExit keeps its state; killing it afterwards
/// runs its Drops.
#[test]
fn parked_greenlet_killed_after_loop_exit() {
    let drops = counter();
    let d = drops.clone();
    let g = spawn(move || {
        let _finally = DropCounter(d);
        park(drop);
    });
    expect_loop_exit(|| g.join());
    assert_eq!(drops.get(), 0);
    g.kill();
    assert_eq!(drops.get(), 1);
    assert!(g.dead() && g.successful());
}

/// A waiting call made inside the hub (a callback) panics with a clear message, which the hub
/// reports; the loop carries on.
#[test]
fn waiting_inside_a_callback_is_a_clear_panic() {
    let reports = capture_errors();
    let after = counter();
    let a = after.clone();
    get_hub().run_callback(|| sleep(Duration::from_millis(1)));
    get_hub().run_callback(move || a.set(1));
    sleep(Duration::from_millis(5));
    assert_eq!(after.get(), 1, "the next callback ran");
    let reports = seen(&reports);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].context, "hub");
    assert!(
        reports[0]
            .message
            .contains("callbacks run in the hub and must not wait"),
        "{:?}",
        reports[0]
    );
    // The same inside a timer callback.
    let reports = capture_errors();
    let _t = get_hub().call_later(Duration::from_millis(1), || {
        spawn(|| 1).join();
    });
    sleep(Duration::from_millis(10));
    assert!(
        seen(&reports)
            .iter()
            .any(|r| r.message.contains("inside the hub")),
        "{:?}",
        seen(&reports)
    );
    get_hub().reset_error_handler();
}
