//! Ported from gevent's `src/gevent/tests/test__systemerror.py` (`TestSpawn`, `TestCallback`):
//! a panic in a greenlet or a hub callback never takes down another greenlet, and is reported
//! exactly once through the hub's error handler (gevent's `handle_error`).
//!
//! gevent re-raises `SystemExit`/`KeyboardInterrupt` from a greenlet in the main greenlet;
//! Rust has no such exceptions, so every panic is treated as gevent treats a regular
//! exception (`test_exception`: "regular exception must not kill the program").

mod support;

use std::time::Duration;

use gevent_hub::{get_hub, sleep, spawn, spawn_raw};
use support::{capture_errors, counter, seen};

const MSG: &str = "regular exception must not kill the program";

/// `TestSpawn.test_exception`: a greenlet panics; main's sleep is not disturbed; the greenlet
/// is dead and the panic reported once, with its location.
#[test]
fn panic_in_a_spawned_greenlet() {
    let reports = capture_errors();
    let x = spawn(|| -> () { panic!("{MSG}") });
    sleep(Duration::from_millis(1));
    sleep(Duration::from_micros(100));
    assert!(x.dead());
    let reports = seen(&reports);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].context.contains(&x.name()), "{:?}", reports[0]);
    assert!(reports[0].message.contains(MSG), "{:?}", reports[0]);
    assert!(
        reports[0].message.contains("systemerror.rs:"),
        "{:?}",
        reports[0]
    );
    assert!(reports[0].to_string().starts_with("greenlet "));
    get_hub().reset_error_handler();
}

/// `TestCallback.test_exception`: a hub callback panics; it is reported once, as "hub", and
/// the callback is not pending any more.
#[test]
fn panic_in_a_callback() {
    let reports = capture_errors();
    get_hub().run_callback(|| panic!("{MSG}"));
    sleep(Duration::from_millis(1));
    let reports = seen(&reports);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].context, "hub");
    assert!(reports[0].message.contains(MSG));
    get_hub().reset_error_handler();
}

/// The same for a timer callback and a raw greenlet.
#[test]
fn panic_in_a_timer_and_a_raw_greenlet() {
    let reports = capture_errors();
    let t = get_hub().call_later(Duration::from_millis(1), || panic!("timer {MSG}"));
    let r = spawn_raw(|| panic!("raw {MSG}"));
    sleep(Duration::from_millis(10));
    assert!(!t.pending() && r.is_dead());
    let reports = seen(&reports);
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(reports.iter().any(|r| r.message.contains("timer ")));
    assert!(reports.iter().any(|r| r.message.contains("raw ")));
    get_hub().reset_error_handler();
}

/// Many greenlets panic while others work: every other greenlet finishes normally, and each
/// panic is reported exactly once.
#[test]
fn panics_never_reach_other_greenlets() {
    let reports = capture_errors();
    let done = counter();
    let mut gs = Vec::new();
    for i in 0..100u32 {
        let d = done.clone();
        gs.push(spawn(move || {
            sleep(Duration::from_millis(u64::from(i % 7)));
            if i % 3 == 0 {
                panic!("greenlet {i} fails");
            }
            d.set(d.get() + 1);
            i
        }));
    }
    gevent_hub::joinall(&gs);
    assert_eq!(done.get(), 66);
    for (i, g) in gs.iter().enumerate() {
        assert_eq!(g.successful(), i % 3 != 0, "{i}");
    }
    let reports = seen(&reports);
    assert_eq!(reports.len(), 34);
    get_hub().reset_error_handler();
}

/// Without a handler, the report goes to stderr, and the program goes on.
#[test]
fn default_handler_goes_on() {
    get_hub().reset_error_handler();
    let x = spawn(|| -> () { panic!("expected panic, printed on stderr by the hub") });
    x.join();
    assert!(x.exception().is_some());
    assert_eq!(spawn(|| 1).get().unwrap(), 1);
}
