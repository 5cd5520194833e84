//! Ported from gevent's `src/gevent/tests/test__joinall.py` (a list with duplicates), the
//! `joinall` cases of `test__greenlet.py` (`TestStuff.test_wait_noerrors`, `test_wait_error`,
//! `test_joinall_exception_order`, `test_joinall_count_raise_error`, `TestJoinAll0`,
//! `TestJoinAll`) and `src/gevent/tests/test__iwait.py` (`test_noiter`, `test_iwait_partial`,
//! `test_iwait_nogarbage`, with a `Waitable` of the test's own instead of a `Semaphore`).

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{
    get_hub, iwait, joinall, joinall_with, sleep, spawn, wait, Greenlet, JoinAll, Notify, WaitList,
    Waitable, WaiterKey,
};
use support::{capture_errors, timed, SMALL_TICK};

/// `test__joinall.py`: the same greenlet twice in the list.
#[test]
fn joinall_with_duplicates() {
    let a = spawn(|| ());
    let b = spawn(|| ());
    let done = joinall(&[a.clone(), b.clone(), a.clone()]);
    let mut sorted = done.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [0, 1, 2]);
    assert!(a.dead() && b.dead());
}

/// `test_wait_noerrors`: with `raise_error`, all succeed: the values are there.
#[test]
fn joinall_raise_error_without_errors() {
    let x = spawn(|| 1);
    let y = spawn(|| 2);
    let z = spawn(|| 3);
    let opts = JoinAll {
        raise_error: true,
        ..JoinAll::default()
    };
    let done = joinall_with(&[x.clone(), y.clone(), z.clone()], opts).unwrap();
    assert_eq!(done, [0, 1, 2]);
    assert_eq!(
        [x.value(), y.value(), z.value()],
        [Some(1), Some(2), Some(3)]
    );
}

/// `test_wait_error`: with `raise_error`, the failure is returned (the others go on).
#[test]
fn joinall_raise_error() {
    let _reports = capture_errors();
    let x = spawn(|| {
        sleep(Duration::from_millis(20));
        1
    });
    let y = spawn(|| -> i32 { panic!("test_wait_error") });
    let opts = JoinAll {
        raise_error: true,
        ..JoinAll::default()
    };
    let e = joinall_with(&[x.clone(), y.clone()], opts).unwrap_err();
    assert_eq!(e.message(), "test_wait_error");
    assert!(!x.dead());
    let e = joinall_with(std::slice::from_ref(&y), opts).unwrap_err();
    assert!(e.is_panic());
    assert_eq!(x.get().unwrap(), 1);
    get_hub().reset_error_handler();
}

/// `test_joinall_exception_order`: of several failures, the earliest is returned.
#[test]
fn joinall_returns_the_earliest_failure() {
    let _reports = capture_errors();
    let a = spawn(|| -> () {
        sleep(Duration::from_millis(100));
        panic!("first")
    });
    let b = spawn(|| -> () { panic!("second") });
    let opts = JoinAll {
        raise_error: true,
        ..JoinAll::default()
    };
    let e = joinall_with(&[a.clone(), b.clone()], opts).unwrap_err();
    assert_eq!(e.message(), "second");
    joinall(&[a, b]);
    get_hub().reset_error_handler();
}

/// `test_joinall_count_raise_error`: `count` works without `raise_error`.
#[test]
fn joinall_count() {
    let _reports = capture_errors();
    let sleeper = spawn(|| loop {
        sleep(Duration::from_millis(100));
    });
    let raiser = spawn(|| -> () { panic!("count") });
    let opts = JoinAll {
        count: Some(1),
        ..JoinAll::default()
    };
    let done = joinall_with(&[sleeper.clone(), raiser.clone()], opts).unwrap();
    assert_eq!(done, [1]);
    assert!(raiser.ready() && !sleeper.ready());
    sleeper.kill();
    assert!(sleeper.ready());
    get_hub().reset_error_handler();
}

/// `TestJoinAll0`: an unstarted greenlet never finishes: joinall returns at its timeout with
/// nothing done. `TestJoinAll`: the same with one that sleeps long.
#[test]
fn joinall_timeout() {
    let unstarted = Greenlet::new(|| ());
    let opts = JoinAll {
        timeout: Some(SMALL_TICK),
        ..JoinAll::default()
    };
    let (done, took) = timed(|| joinall_with(std::slice::from_ref(&unstarted), opts));
    assert_eq!(done.unwrap(), Vec::<usize>::new());
    assert!(
        took >= SMALL_TICK && took < Duration::from_secs(2),
        "{took:?}"
    );

    let g = spawn(|| sleep(Duration::from_secs(10)));
    let (done, took) = timed(|| joinall_with(std::slice::from_ref(&g), opts));
    assert!(done.unwrap().is_empty());
    assert!(
        took >= SMALL_TICK && took < Duration::from_secs(2),
        "{took:?}"
    );
    g.kill();
}

/// joinall returns completion order, over greenlets of different types.
#[test]
fn joinall_mixed_types_in_completion_order() {
    let a = spawn(|| {
        sleep(Duration::from_millis(30));
        "a"
    });
    let b = spawn(|| {
        sleep(Duration::from_millis(10));
        2u8
    });
    let c = spawn(|| ());
    let objs: [&dyn Waitable; 3] = [&a, &b, &c];
    assert_eq!(joinall(&objs), [2, 1, 0]);
    assert_eq!((a.get().unwrap(), b.get().unwrap()), ("a", 2));
}

/// An empty list returns at once, without switching.
#[test]
fn joinall_empty() {
    let empty: [Greenlet<()>; 0] = [];
    assert!(joinall(&empty).is_empty());
    assert!(wait(&empty, None).is_empty());
    assert_eq!(iwait(&empty, None).count(), 0);
}

/// A one-shot flag: the test's own `Waitable` (like gevent's `Semaphore` in test__iwait).
#[derive(Default)]
struct Flag {
    /// Whether it was set.
    set: Cell<bool>,
    /// Who waits for it.
    waiters: WaitList,
}

impl Flag {
    fn set(&self) {
        self.set.set(true);
        self.waiters.notify_all();
    }
}

impl Waitable for Flag {
    fn ready(&self) -> bool {
        self.set.get()
    }
    fn add_waiter(&self, notify: Notify) -> WaiterKey {
        let k = self.waiters.add(notify.clone());
        if self.ready() {
            self.waiters.notify_all();
        }
        k
    }
    fn remove_waiter(&self, key: WaiterKey) {
        self.waiters.remove(key)
    }
}

/// `test_noiter`: the first index out of iwait is the one that became ready.
#[test]
fn iwait_first_ready() {
    let f1 = Rc::new(Flag::default());
    let f2 = Rc::new(Flag::default());
    let s = f1.clone();
    spawn(move || s.set());
    let objs = [f1.clone(), f2.clone()];
    let first = iwait(&objs, None).next();
    assert_eq!(first, Some(0));
}

/// `test_iwait_partial`: an iterator consumed partly, with a timeout, then dropped.
#[test]
fn iwait_partial() {
    let f = Rc::new(Flag::default());
    let s = f.clone();
    let setter = spawn(move || s.set());
    {
        let objs = [f.clone()];
        let mut it = iwait(&objs, Some(Duration::from_millis(10)));
        assert_eq!(it.next(), Some(0));
    }
    setter.get().unwrap();
}

/// `test_iwait_nogarbage`: dropping the iterator removes its registrations from the objects
/// that did not become ready.
#[test]
fn iwait_removes_its_registrations() {
    let f1 = Rc::new(Flag::default());
    let f2 = Rc::new(Flag::default());
    let s = f1.clone();
    let setter = spawn(move || s.set());
    {
        let objs = [f1.clone(), f2.clone()];
        let mut it = iwait(&objs, None);
        assert_eq!(it.next(), Some(0));
        assert_eq!(f2.waiters.len(), 1);
    }
    assert_eq!(f2.waiters.len(), 0);
    assert_eq!(f1.waiters.len(), 0);
    setter.get().unwrap();
}

/// iwait yields indices in readiness order, already-ready ones first, and stops at its
/// timeout with what it has.
#[test]
fn iwait_order_and_timeout() {
    let gs: Vec<_> = [40u64, 5, 20, 0]
        .into_iter()
        .map(|ms| spawn(move || sleep(Duration::from_millis(ms))))
        .collect();
    let order: Vec<usize> = iwait(&gs, None).collect();
    assert_eq!(order, [3, 1, 2, 0]);
    // All ready now: no switch needed, original order.
    assert_eq!(iwait(&gs, None).collect::<Vec<_>>(), [0, 1, 2, 3]);

    let slow: Vec<_> = [5u64, 10_000]
        .into_iter()
        .map(|ms| spawn(move || sleep(Duration::from_millis(ms))))
        .collect();
    let (order, took) = timed(|| iwait(&slow, Some(SMALL_TICK)).collect::<Vec<_>>());
    assert_eq!(order, [0]);
    assert!(
        took >= SMALL_TICK && took < Duration::from_secs(2),
        "{took:?}"
    );
    gevent_hub::killall(&slow);
}

/// `wait` on objects with a timeout gives back those done.
#[test]
fn wait_with_timeout() {
    let a = spawn(|| ());
    let b = spawn(|| sleep(Duration::from_secs(10)));
    let (done, took) = timed(|| wait(&[a.clone(), b.clone()], Some(SMALL_TICK)));
    assert_eq!(done, [0]);
    assert!(took >= SMALL_TICK, "{took:?}");
    b.kill();
}
