//! Ported from gevent's `src/gevent/tests/test__hub_join_timeout.py` (`gevent.wait()` with
//! no objects is `Hub::join`: it returns `true` when the loop ran dry, `false` at its timeout)
//! and `src/gevent/tests/test__hub_join.py` (`test_join_many_times`, and a hub per thread).
//! Each scenario runs twice, as gevent's `@repeated` does.

mod support;

use std::time::Duration;

use gevent_hub::{get_hub, sleep, sleep_unref, spawn, spawn_later};
use support::{timed, NO_TIME, SMALL_TICK};

/// `test_callback`: the loop runs dry once the spawned greenlet finished.
#[test]
fn join_after_spawn() {
    for _ in 0..2 {
        let x = spawn(|| 5);
        let (result, took) = timed(|| get_hub().join(Some(Duration::from_secs(10))));
        assert!(result);
        assert!(took < NO_TIME, "{took:?}");
        assert!(x.dead());
        assert_eq!(x.value(), Some(5));
    }
}

/// `test_later`: the loop runs dry once the `spawn_later` greenlet finished.
#[test]
fn join_after_spawn_later() {
    for _ in 0..2 {
        let x = spawn_later(SMALL_TICK, || 5);
        let (result, took) = timed(|| get_hub().join(Some(Duration::from_secs(10))));
        assert!(result);
        assert!(
            took >= SMALL_TICK && took < SMALL_TICK + NO_TIME,
            "{took:?}"
        );
        assert!(x.dead());
    }
}

/// `test_timeout`: the timeout comes first (the greenlet still waits to start); after a kill
/// the loop runs dry at once.
#[test]
fn join_timeout() {
    for _ in 0..2 {
        let x = spawn_later(Duration::from_secs(10), || 5);
        let (result, took) = timed(|| get_hub().join(Some(SMALL_TICK)));
        assert!(!result);
        assert!(
            took >= SMALL_TICK && took < SMALL_TICK + NO_TIME,
            "{took:?}"
        );
        assert!(!x.dead());
        x.kill();
        let (result, took) = timed(|| get_hub().join(None));
        assert!(result);
        assert!(took < NO_TIME, "{took:?}");
    }
}

/// `test_ref_arg` / `test_ref_attribute`: a timer that does not keep the loop alive does not
/// hold up `join`.
#[test]
fn join_ignores_unref_timers() {
    for _ in 0..2 {
        let t = get_hub().call_later(Duration::from_secs(10), || {});
        t.set_ref(false);
        let (result, took) = timed(|| get_hub().join(None));
        assert!(result);
        assert!(took < NO_TIME, "{took:?}");
        assert!(t.pending());
        t.cancel();
        assert!(!t.pending());
    }
}

/// `sleep(ref=False)` in a greenlet does not hold up `join` either.
#[test]
fn join_ignores_unref_sleepers() {
    let g = spawn(|| sleep_unref(Duration::from_secs(10)));
    let (result, took) = timed(|| get_hub().join(None));
    assert!(result);
    assert!(took < NO_TIME, "{took:?}");
    assert!(!g.dead());
    g.kill();
}

/// `test_join_many_times`: join on an idle hub returns at once, repeatedly, and the hub is
/// still usable afterwards.
#[test]
fn join_many_times() {
    assert!(get_hub().join(None));
    assert!(get_hub().join(None));
    sleep(Duration::from_millis(10));
    assert!(get_hub().join(None));
    assert_eq!(spawn(|| 7).get().unwrap(), 7);
}

/// A callback queued before `join` runs before it returns.
#[test]
fn join_runs_pending_callbacks() {
    let hit = support::counter();
    let h = hit.clone();
    get_hub().run_callback(move || h.set(1));
    assert!(get_hub().join(None));
    assert_eq!(hit.get(), 1);
}

/// `test_join_in_new_thread_doesnt_leak_hub_or_greenlet`: each thread gets its own hub, which
/// works and joins on its own.
#[test]
fn hub_per_thread() {
    let main_hub = get_hub().greenlet().id();
    let ts: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let g = spawn(move || {
                    sleep(Duration::from_millis(5));
                    i
                });
                let v = g.get().unwrap();
                assert!(get_hub().join(None));
                v
            })
        })
        .collect();
    let got: Vec<i32> = ts.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(got, [0, 1, 2, 3]);
    assert_eq!(get_hub().greenlet().id(), main_hub);
}

/// `Hub::join` from inside a greenlet waits for the rest of the loop (everything but itself).
#[test]
fn join_from_a_greenlet() {
    let sleeper = spawn(|| sleep(Duration::from_millis(30)));
    let s = sleeper.clone();
    let joiner = spawn(move || {
        let r = get_hub().join(Some(Duration::from_secs(5)));
        (r, s.dead())
    });
    assert_eq!(joiner.get().unwrap(), (true, true));
}
