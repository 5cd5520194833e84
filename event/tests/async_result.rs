//! Ported from gevent's src/gevent/tests/test__event.py (the `AsyncResult` parts), plus kill
//! safety and set-once tests.
//!
//! Not ported: the cross-thread tests (`AsyncResult` is `!Send` here), `rawlink(None)`'s
//! TypeError, and `test_set`'s `Timeout.start_new(0, exc)` (see gevent-timeout's tests).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_event::AsyncResult;
use gevent_hub::{joinall, joinall_with, sleep, spawn, spawn_later, wait, GreenletError, JoinAll};

/// Silences the hub's error reports for greenlets that panic on purpose.
fn quiet() -> impl Drop {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            gevent_hub::get_hub().reset_error_handler();
        }
    }
    gevent_hub::get_hub().set_error_handler(|_| {});
    Reset
}

#[derive(Debug, Clone, PartialEq)]
struct MyException(&'static str);

/// TestAsyncResultWait / TestAsyncResultGet / TestWaitAsyncResult: nobody sets it.
#[test]
fn waits_time_out() {
    let a = AsyncResult::<u8>::new();
    let t = Instant::now();
    assert!(!a.wait_timeout(Duration::from_millis(30)));
    assert!(t.elapsed() >= Duration::from_millis(25));
    let t = Instant::now();
    assert!(a.get_timeout(Duration::from_millis(30)).is_none());
    assert!(t.elapsed() >= Duration::from_millis(25));
    assert!(wait(std::slice::from_ref(&a), Some(Duration::from_millis(10))).is_empty());
    assert_eq!(a.waiter_count(), 0);
    assert_eq!(
        format!("{a:?}"),
        "AsyncResult { state: \"unset\", waiters: 0 }"
    );
}

/// TestAsyncResult.test_set_exc: a waiter's `get` returns the error.
#[test]
fn set_exception_reaches_the_waiter() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let e = AsyncResult::<(), MyException>::new();
    assert_eq!(e.exception(), None);
    let (e2, log2) = (e.clone(), log.clone());
    spawn(move || {
        let r = e2.get();
        log2.borrow_mut().push(("caught", r.unwrap_err()));
    });
    let obj = MyException("x");
    e.set_exception(obj.clone());
    sleep(Duration::ZERO);
    assert_eq!(*log.borrow(), [("caught", obj)]);
    assert!(e.ready() && !e.successful());
}

/// TestAsyncResult.test_set: the value set later by another greenlet.
#[test]
fn set_later() {
    let a = AsyncResult::<&str>::new();
    let a2 = a.clone();
    let _g = spawn_later(Duration::from_millis(10), move || a2.set("hello event1"));
    assert_eq!(a.get().unwrap(), "hello event1");
    assert_eq!(a.value(), Some("hello event1"));
}

/// TestAsyncResult.test_set_with_timeout: nobody sent anything.
#[test]
fn get_timeout_on_unset() {
    let a = AsyncResult::<u32>::new();
    assert!(a.get_timeout(Duration::from_millis(10)).is_none());
}

/// TestAsyncResult.test_nonblocking_get.
#[test]
fn get_nowait() {
    let a = AsyncResult::<u32>::new();
    assert!(a.get_nowait().is_none());
    a.set(3);
    assert_eq!(a.get_nowait().unwrap().unwrap(), 3);
}

/// TestAsyncResultAsLinkTarget.test_set.
#[test]
fn link_target_value() {
    let g = spawn(|| 1);
    let (s1, s2, s3) = (
        AsyncResult::<i32>::new(),
        AsyncResult::<i32>::new(),
        AsyncResult::<i32>::new(),
    );
    let (c1, c2, c3) = (s1.clone(), s2.clone(), s3.clone());
    g.link(move |g| c1.set_from(g));
    g.link_value(move |g| c2.set_from(g));
    g.link_exception(move |g| c3.set_from(g));
    assert_eq!(s1.get().unwrap(), 1);
    assert_eq!(s2.get().unwrap(), 1);
    assert!(s3.get_timeout(Duration::from_millis(20)).is_none());
}

/// TestAsyncResultAsLinkTarget.test_set_exception.
#[test]
fn link_target_exception() {
    let _q = quiet();
    let g = spawn(|| -> i32 { panic!("TestAsyncResultAsLinkTarget.test_set_exception") });
    let (s1, s2, s3) = (
        AsyncResult::<i32>::new(),
        AsyncResult::<i32>::new(),
        AsyncResult::<i32>::new(),
    );
    let (c1, c2, c3) = (s1.clone(), s2.clone(), s3.clone());
    g.link(move |g| c1.set_from(g));
    g.link_value(move |g| c2.set_from(g));
    g.link_exception(move |g| c3.set_from(g));
    let e = s1.get().unwrap_err();
    assert!(e.is_panic());
    assert_eq!(
        e.message(),
        "TestAsyncResultAsLinkTarget.test_set_exception"
    );
    assert!(s2.get_timeout(Duration::from_millis(20)).is_none());
    assert!(s3.get().unwrap_err().is_panic());
}

/// A killed greenlet gives a kill error to its link target.
#[test]
fn link_target_kill() {
    let g = spawn(|| sleep(Duration::from_secs(60)));
    let a = AsyncResult::<()>::new();
    let a2 = a.clone();
    g.link(move |g| a2.set_from(g));
    sleep(Duration::ZERO);
    g.kill();
    assert!(a.get().unwrap_err().is_killed());
}

/// Set once: a second `set` panics, `try_set_result` gives the value back, the first result
/// stays.
#[test]
fn set_once() {
    let a = AsyncResult::<u8>::new();
    a.set(1);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| a.set(2)));
    let p = r.unwrap_err();
    assert!(p
        .downcast_ref::<&str>()
        .unwrap()
        .contains("set once and never reset"));
    let e = a.try_set_result(Err(GreenletError::from_panic(Box::new("x"))));
    assert!(e.unwrap_err().into_inner().is_err());
    assert_eq!(a.get().unwrap(), 1);
}

/// Every waiter gets a copy, and they wake in FIFO order.
#[test]
fn many_waiters_fifo() {
    let a = AsyncResult::<String>::new();
    let order = Rc::new(RefCell::new(Vec::new()));
    let gs: Vec<_> = (0..20)
        .map(|i| {
            let (a, order) = (a.clone(), order.clone());
            spawn(move || {
                let v = a.get().unwrap();
                order.borrow_mut().push(i);
                v
            })
        })
        .collect();
    sleep(Duration::ZERO);
    assert_eq!(a.waiter_count(), 20);
    a.set("Hello!".to_owned());
    joinall(&gs);
    assert!(gs.iter().all(|g| g.get().unwrap() == "Hello!"));
    assert_eq!(*order.borrow(), (0..20).collect::<Vec<_>>());
}

/// A `get` killed while it waits leaves no entry behind.
#[test]
fn killed_getter_is_removed() {
    let a = AsyncResult::<u8>::new();
    let gs: Vec<_> = (0..3)
        .map(|_| {
            let a = a.clone();
            spawn(move || a.get().unwrap())
        })
        .collect();
    sleep(Duration::ZERO);
    gs[0].kill();
    assert_eq!(a.waiter_count(), 2);
    a.set(9);
    assert_eq!(gs[1].get().unwrap(), 9);
    assert_eq!(gs[2].get().unwrap(), 9);
    assert_eq!(a.waiter_count(), 0);
}

/// `joinall(raise_error)` sees a `GreenletError` set on an `AsyncResult` as a failure.
#[test]
fn failure_for_joinall() {
    let a = AsyncResult::<u8>::new();
    let b = AsyncResult::<u8>::new();
    a.set_exception(GreenletError::from_panic(Box::new("bad")));
    b.set(1);
    let r = joinall_with(
        &[a, b],
        JoinAll {
            raise_error: true,
            ..JoinAll::default()
        },
    );
    assert_eq!(r.unwrap_err().message(), "bad");
}

/// `set` from a hub callback.
#[test]
fn set_from_hub() {
    let a = AsyncResult::<u8>::new();
    let a2 = a.clone();
    gevent_hub::get_hub().run_callback(move || a2.set(4));
    assert_eq!(a.get().unwrap(), 4);
}
