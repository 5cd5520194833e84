//! Ported from gevent's src/gevent/tests/test__timeout.py.
//!
//! `get_hub().switch()` (wait for nothing) becomes a long `sleep`. Not ported: the
//! non-exception values (`Timeout(d, object())` raising TypeError) — the type system refuses
//! them — and the string values (`Timeout(d, 'XXX')`), whose Rust form is
//! [`Timeout::with_error`] with a message of your own.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::Duration;

use gevent_hub::{sleep, spawn};
use gevent_timeout::{with_timeout, Timeout};

const SHOULD_EXPIRE: Duration = Duration::from_millis(10);
const SHOULD_NOT_EXPIRE: Duration = Duration::from_millis(200);

/// TestDirectRaise.test_direct_raise_instance: a `Timeout` raised by hand is caught by its own
/// `run`, and is not pending.
#[test]
fn direct_raise_instance() {
    let timeout = Timeout::new(Duration::from_secs(60));
    let t2 = timeout.clone();
    let r = timeout.run(|| -> () { resume_unwind(Box::new(t2)) });
    let t = r.unwrap_err();
    assert_eq!(t, timeout);
    assert!(!t.pending());
}

/// Waits "forever", catching the timeout `timeout` (and re-raising anything else).
fn expect_raised(timeout: &Timeout) -> Timeout {
    let r = catch_unwind(AssertUnwindSafe(|| sleep(Duration::from_secs(10))));
    let p = r.expect_err("must raise Timeout");
    let t = *p.downcast::<Timeout>().unwrap_or_else(|p| resume_unwind(p));
    assert_eq!(&t, timeout);
    t
}

/// Test.test_expires: a started timeout is raised where the greenlet waits; it can be
/// restarted after it fired.
#[test]
fn expires_and_restarts() {
    let timeout = Timeout::new(SHOULD_EXPIRE);
    timeout.start();
    expect_raised(&timeout);
    assert!(!timeout.pending());
    timeout.start();
    let ex = expect_raised(&timeout);
    ex.cancel();
    assert!(!timeout.pending());
}

/// Test.test_context_manager: the `with timeout:` block.
#[test]
fn context_manager() {
    let timeout = Timeout::new(SHOULD_EXPIRE);
    let r = timeout.run(|| sleep(Duration::from_secs(10)));
    assert_eq!(r.unwrap_err(), timeout);
}

/// Test.test_context_manager_false: the silent form.
#[test]
fn context_manager_silent() {
    let timeout = Timeout::new(SHOULD_EXPIRE);
    assert!(timeout
        .run(|| sleep(Duration::from_secs(10)))
        .ok()
        .is_none());
}

/// Test.test_cancel: a cancelled timeout is not raised and not pending.
#[test]
fn cancel() {
    let timeout = Timeout::new(SHOULD_EXPIRE);
    timeout.start();
    timeout.cancel();
    sleep(SHOULD_NOT_EXPIRE);
    assert!(!timeout.pending());
}

/// Test.test_with_timeout.
#[test]
fn with_timeout_forms() {
    let r = with_timeout(SHOULD_EXPIRE, || sleep(SHOULD_NOT_EXPIRE));
    assert!(r.is_err());
    let x = "X";
    let r = with_timeout(SHOULD_EXPIRE, || {
        sleep(SHOULD_NOT_EXPIRE);
        "done"
    })
    .unwrap_or(x);
    assert_eq!(r, "X");
    let r = with_timeout(SHOULD_NOT_EXPIRE, || {
        sleep(SHOULD_EXPIRE);
        "done"
    });
    assert_eq!(r, Ok("done"));
}

/// The message, and `Timeout` as an error type.
#[test]
fn display_and_error() {
    let t = Timeout::new(Duration::from_millis(100));
    assert_eq!(t.to_string(), "timed out after 100ms");
    let e: Box<dyn std::error::Error + Send + Sync> = Box::new(t);
    assert_eq!(e.to_string(), "timed out after 100ms");
    assert_eq!(
        Timeout::new(Duration::from_secs(2)).to_string(),
        "timed out after 2s"
    );
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Timeout>();
}

/// Starting a pending timeout is a bug, reported clearly.
#[test]
fn start_twice_panics() {
    let t = Timeout::start_new(Duration::from_secs(60));
    let r = catch_unwind(AssertUnwindSafe(|| t.start()));
    let msg = r.unwrap_err().downcast::<String>().unwrap();
    assert!(
        msg.contains("already started; to restart it, cancel it first"),
        "{msg}"
    );
    assert!(t.pending());
    t.cancel();
}

/// A timeout cannot be started in the hub, where there is no greenlet to time out.
#[test]
fn start_in_the_hub_panics() {
    let out = std::rc::Rc::new(std::cell::RefCell::new(None));
    let o = out.clone();
    gevent_hub::get_hub().run_callback(move || {
        let r = catch_unwind(|| Timeout::start_new(Duration::from_secs(1)));
        *o.borrow_mut() = Some(r.is_err());
    });
    sleep(Duration::ZERO);
    sleep(Duration::from_millis(1));
    assert_eq!(*out.borrow(), Some(true));
}

/// A timeout started by one greenlet is raised in that greenlet, not in the one that happens
/// to be running or waiting elsewhere.
#[test]
fn raised_in_its_own_greenlet() {
    let g = spawn(|| {
        let t = Timeout::start_new(SHOULD_EXPIRE);
        let r = t.run(|| sleep(Duration::from_secs(10)));
        r.unwrap_err() == t
    });
    sleep(SHOULD_EXPIRE * 3);
    assert!(g.get().unwrap());
}
