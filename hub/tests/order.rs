//! Ported from gevent's `src/gevent/tests/test__order.py`: links fire in the order they were
//! added (for 2, 3, 4 and 1000 links), and `sleep(0)` interleaves two greenlets as
//! `1A 2A 1B 2B`. Plus the order guarantees the rest of gevent relies on: greenlets run in the
//! order they were spawned, and callbacks in the order they were queued.

mod support;

use std::time::Duration;

use gevent_hub::{get_hub, joinall, sleep, spawn, spawn_later, spawn_raw};
use support::{log, push, seen, Log};

/// `Test.test_greenlet_link` with `count` links.
fn links_in_order(count: usize) {
    let lst = log();
    let l = lst.clone();
    let g = spawn(move || push(&l, 0));
    for i in 1..count {
        let l = lst.clone();
        g.link(move |_| push(&l, i));
    }
    g.join();
    assert!(support::wait_until(Duration::from_secs(5), || lst
        .borrow()
        .len()
        == count));
    assert_eq!(seen(&lst), (0..count).collect::<Vec<_>>());
}

#[test]
fn links_fire_in_order_2() {
    links_in_order(2);
}

#[test]
fn links_fire_in_order_3() {
    links_in_order(3);
}

#[test]
fn links_fire_in_order_4() {
    links_in_order(4);
}

#[test]
fn links_fire_in_order_1000() {
    links_in_order(1000);
}

/// All kinds of link fire in one registration order between them: a rawlink registered after
/// a link runs after it (gevent runs each link's greenlet at once, until it waits).
#[test]
fn mixed_link_kinds_fire_in_order() {
    let lst = log();
    let g = spawn(|| 1);
    for i in 0..12 {
        let l = lst.clone();
        match i % 4 {
            0 => g.link(move |_| push(&l, i)),
            1 => g.link_value(move |_| push(&l, i)),
            2 => g.rawlink(move |_| push(&l, i)),
            _ => g.link(move |_| push(&l, i)),
        };
    }
    g.link_exception(|_| unreachable!("it succeeded"));
    g.join();
    sleep(Duration::from_millis(10));
    assert_eq!(seen(&lst), (0..12).collect::<Vec<_>>());
}

/// gevent's `sleep0` helper.
fn sleep0(lst: &Log, param: &str) {
    push(lst, format!("{param}A"));
    sleep(Duration::ZERO);
    push(lst, format!("{param}B"));
}

/// `TestSleep0.test`: two greenlets doing `A; sleep(0); B` interleave.
#[test]
fn sleep0_interleaves() {
    let lst = log();
    let l = lst.clone();
    spawn(move || sleep0(&l, "1"));
    let l = lst.clone();
    spawn(move || sleep0(&l, "2"));
    assert!(get_hub().join(None));
    assert_eq!(seen(&lst).join(" "), "1A 2A 1B 2B");
}

/// Greenlets run in the order they were spawned, and a greenlet yielding with `sleep(0)` goes
/// behind every greenlet that was ready.
#[test]
fn spawn_order_is_run_order() {
    let lst = log();
    let gs: Vec<_> = (0..100)
        .map(|i| {
            let l = lst.clone();
            spawn(move || {
                push(&l, i);
                sleep(Duration::ZERO);
                push(&l, 100 + i);
            })
        })
        .collect();
    joinall(&gs);
    assert_eq!(seen(&lst), (0..200).collect::<Vec<_>>());
}

/// Spawned and raw greenlets share one queue; the spawner runs on until it waits.
#[test]
fn spawn_does_not_switch() {
    let lst = log();
    let l = lst.clone();
    spawn(move || push(&l, "spawned"));
    let l = lst.clone();
    spawn_raw(move || push(&l, "raw"));
    push(&lst, "spawner");
    sleep(Duration::ZERO);
    push(&lst, "spawner again");
    assert_eq!(seen(&lst), ["spawner", "spawned", "raw", "spawner again"]);
}

/// Callbacks run in the order they were queued.
#[test]
fn callbacks_in_order() {
    let lst = log();
    let hub = get_hub();
    for i in 0..50 {
        let l = lst.clone();
        hub.run_callback(move || push(&l, i));
    }
    sleep(Duration::ZERO);
    assert_eq!(seen(&lst), (0..50).collect::<Vec<_>>());
}

/// `spawn_later` greenlets start in deadline order, and those with equal deadlines in the
/// order they were spawned.
#[test]
fn spawn_later_order() {
    let lst = log();
    let mut gs = Vec::new();
    for (i, ms) in [30u64, 10, 20, 10, 0].into_iter().enumerate() {
        let l = lst.clone();
        gs.push(spawn_later(Duration::from_millis(ms), move || push(&l, i)));
    }
    joinall(&gs);
    let order = seen(&lst);
    assert_eq!(order[0], 4);
    assert_eq!(&order[3..], [2, 0]);
    // The two 10 ms ones: deadlines taken a few ns apart, so spawn order.
    assert_eq!(&order[1..3], [1, 3]);
}
