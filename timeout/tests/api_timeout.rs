//! Ported from gevent's src/gevent/tests/test__api_timeout.py, plus what gevent's Timeout
//! promises elsewhere: only the owner catches it, an uncaught one is the greenlet's exception,
//! a cancelled one is never raised later, a kill wins over it, waits it interrupts leave no
//! trace.
//!
//! Not ported: the `update_now` proxies (the hub reads the clock itself).

use std::cell::Cell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use gevent_event::{AsyncResult, Event};
use gevent_hub::{get_hub, sleep, spawn, throw_into, GreenletExit};
use gevent_lock::Semaphore;
use gevent_timeout::{with_timeout, Timeout};

const DELAY: Duration = Duration::from_millis(10);

/// Silences the hub's error reports for greenlets that fail on purpose.
fn quiet() -> impl Drop {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            get_hub().reset_error_handler();
        }
    }
    get_hub().set_error_handler(|_| {});
    Reset
}

/// Test.test_api.
#[test]
fn api() {
    // Nothing happens if the block finishes before the timeout expires.
    let t = Timeout::new(DELAY * 2);
    assert!(!t.pending());
    t.run(|| {
        assert!(t.pending());
        sleep(DELAY);
    })
    .unwrap();
    assert!(!t.pending(), "the timer was cancelled");
    sleep(DELAY * 2);

    // It is raised if not.
    let t = Timeout::new(DELAY);
    let r = t.run(|| sleep(DELAY * 10));
    assert_eq!(r.unwrap_err(), t);

    // A custom error.
    let r = Timeout::with_error(DELAY, std::io::Error::other("Operation takes way too long"))
        .run(|| sleep(DELAY * 10));
    assert_eq!(r.unwrap_err().to_string(), "Operation takes way too long");

    // The timer can be cancelled inside the block.
    let timer = Timeout::new(DELAY);
    timer
        .run(|| {
            timer.cancel();
            sleep(DELAY * 2);
        })
        .unwrap();

    // The silent form.
    let xdelay = Duration::from_millis(100);
    let start = Instant::now();
    assert!(Timeout::new(xdelay).run(|| sleep(xdelay * 2)).is_err());
    let delta = start.elapsed();
    assert!(delta >= xdelay - Duration::from_millis(5), "{delta:?}");
    assert!(delta < Duration::from_secs(2), "{delta:?}");

    // None disables the timer.
    Timeout::new(None).run(|| sleep(DELAY)).unwrap();
    sleep(DELAY);
}

/// Test.test_ref: the custom error is not kept once the block is over.
#[test]
fn error_value_is_released() {
    #[derive(Debug)]
    struct Error;
    let err = Rc::new(Error);
    let weak: Weak<Error> = Rc::downgrade(&err);
    Timeout::with_error(DELAY * 2, err)
        .run(|| sleep(DELAY))
        .unwrap();
    assert!(weak.upgrade().is_none());
}

/// Test.test_nested_timeout.
#[test]
fn nested() {
    // The outer one expires first: the inner block is unwound too.
    let r = Timeout::new(DELAY).run(|| {
        let _ = Timeout::new(DELAY * 10).run(|| sleep(DELAY * 60));
        unreachable!("should not get there");
    });
    assert!(r.is_err());

    // Outer first, caught inside the inner block: the outer is no longer pending, the inner
    // still is.
    let t1 = Timeout::new(DELAY);
    t1.run(|| {
        let t2 = Timeout::new(DELAY * 20);
        t2.run(|| {
            let r = catch_unwind(AssertUnwindSafe(|| sleep(DELAY * 30)));
            let ex = *r.unwrap_err().downcast::<Timeout>().unwrap();
            assert_eq!(ex, t1);
            assert!(!t1.pending());
            assert!(t2.pending());
        })
        .unwrap();
        assert!(!t2.pending());
    })
    .unwrap();

    // Inner first: the outer stays pending.
    let t1 = Timeout::new(DELAY * 20);
    t1.run(|| {
        let t2 = Timeout::new(DELAY);
        let r = t2.run(|| sleep(DELAY * 30));
        assert_eq!(r.unwrap_err(), t2);
        assert!(t1.pending());
        assert!(!t2.pending());
    })
    .unwrap();
    assert!(!t1.pending());
}

/// `run` catches only its own timeout: another one (even a clone-less twin with the same
/// duration) goes through.
#[test]
fn run_catches_only_its_own() {
    let mine = Timeout::new(Duration::from_secs(60));
    let other = Timeout::new(Duration::from_secs(60));
    let o2 = other.clone();
    let r = catch_unwind(AssertUnwindSafe(|| {
        let _ = mine.run(|| -> () { resume_unwind(Box::new(o2)) });
    }));
    let p = *r.unwrap_err().downcast::<Timeout>().unwrap();
    assert_eq!(p, other);
    assert!(!mine.pending(), "cancelled on the way out");
}

/// A panic or a kill unwinding through `run` goes on unwinding.
#[test]
fn run_passes_other_payloads() {
    let _q = quiet();
    let g = spawn(|| {
        Timeout::new(Duration::from_secs(60))
            .run(|| -> () { panic!("not a timeout") })
            .ok();
    });
    assert_eq!(g.get().unwrap_err().message(), "not a timeout");

    let g = spawn(|| {
        let _ = Timeout::new(Duration::from_secs(60)).run(|| sleep(Duration::from_secs(60)));
        unreachable!("killed");
    });
    sleep(Duration::ZERO);
    g.kill();
    assert!(g.get().unwrap_err().is_killed());
}

/// An uncaught timeout that escapes a spawned greenlet is that greenlet's exception, and the
/// other greenlets carry on.
#[test]
fn uncaught_timeout_is_the_greenlets_exception() {
    let _q = quiet();
    let g = spawn(|| {
        let t = Timeout::start_new(DELAY);
        sleep(Duration::from_secs(10));
        t
    });
    let other = spawn(|| {
        sleep(DELAY * 3);
        "fine"
    });
    assert_eq!(other.get().unwrap(), "fine");
    let e = g.get().unwrap_err();
    assert!(e.is_panic());
    let t = *e.into_panic().downcast::<Timeout>().unwrap();
    assert_eq!(t.duration(), Some(DELAY));
}

/// The seed: `timeout = Timeout(s); timeout.start(); gevent.spawn(wait).join()` times out in
/// the main greenlet's `join`.
#[test]
fn timeout_around_a_join() {
    let timeout = Timeout::new(DELAY);
    timeout.start();
    let waiter = spawn(|| sleep(Duration::from_secs(4)));
    let r = timeout.run(|| waiter.join());
    assert_eq!(r.unwrap_err(), timeout);
    timeout.cancel();
    assert!(!waiter.dead());
    waiter.kill();
}

/// A timeout that fires after its greenlet was woken (by an event, in the same turn of the
/// loop) but before it ran, and is then cancelled, is never raised later.
#[test]
fn fired_after_wake_then_cancelled_is_not_raised() {
    let e = Event::new();
    let e2 = e.clone();
    let _set = get_hub().call_later(Duration::from_millis(1), move || e2.set());
    let g = spawn(move || {
        let r = Timeout::new(Duration::from_millis(2)).run(|| e.wait());
        sleep(Duration::from_millis(5)); // would raise a stale timeout here
        r
    });
    sleep(Duration::ZERO); // g waits on the event, its timeout armed
    std::thread::sleep(Duration::from_millis(20)); // both timers are due when the hub looks
    assert_eq!(g.get().unwrap(), Ok(true));
}

/// A kill that reaches a woken greenlet in the same turn as its timeout wins, in either order.
#[test]
fn kill_wins_over_a_timeout() {
    for kill_first in [false, true] {
        let e = Event::new();
        let e2 = e.clone();
        let _set = get_hub().call_later(Duration::from_millis(1), move || e2.set());
        let done = Rc::new(Cell::new(false));
        let d2 = done.clone();
        let g = spawn(move || {
            let _ = Timeout::new(Duration::from_millis(3)).run(|| e.wait());
            sleep(Duration::from_millis(5));
            d2.set(true);
        });
        sleep(Duration::ZERO);
        let raw = g.raw().unwrap();
        let kill_at = if kill_first { 2 } else { 4 };
        let _kill = get_hub().call_later(Duration::from_millis(kill_at), move || {
            throw_into(&raw, Box::new(GreenletExit));
        });
        std::thread::sleep(Duration::from_millis(20));
        assert!(g.get().unwrap_err().is_killed(), "kill_first={kill_first}");
        assert!(!done.get());
    }
}

/// gevent's test__event.py TestAsyncResult.test_set: a zero timeout with a custom error
/// interrupts `get`.
#[test]
fn zero_timeout_interrupts_get() {
    #[derive(Debug, PartialEq)]
    struct MyException(&'static str);
    let event1 = AsyncResult::<&str>::new();
    let e2 = event1.clone();
    let g = gevent_hub::spawn_later(DELAY * 10, move || e2.set("hello event1"));
    let r = Timeout::with_error(Duration::ZERO, MyException("interrupted")).run(|| event1.get());
    assert_eq!(r.unwrap_err(), MyException("interrupted"));
    assert_eq!(event1.waiter_count(), 0);
    g.kill();
}

/// A semaphore waiter interrupted by a timeout takes no permit and leaves no entry.
#[test]
fn timeout_interrupts_acquire() {
    let s = Semaphore::new(0);
    let r = with_timeout(DELAY, || s.acquire());
    assert!(r.is_err());
    assert_eq!(s.waiter_count(), 0);
    s.release();
    assert_eq!(s.counter(), 1);
}

/// Drops run as the timeout unwinds (they are the `finally:` blocks).
#[test]
fn drops_run() {
    let dropped = Rc::new(Cell::new(false));
    struct Guard(Rc<Cell<bool>>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let d = dropped.clone();
    let r = with_timeout(DELAY, move || {
        let _g = Guard(d);
        sleep(Duration::from_secs(10));
    });
    assert!(r.is_err());
    assert!(dropped.get());
}

/// A timeout that ended a wait which cannot unwind (a libc hook's, which fails its call with
/// `ETIMEDOUT` instead of raising) makes `run` return it, even though the block returned.
#[test]
fn a_timeout_turned_into_an_error_by_a_no_unwind_wait_is_run_s_error() {
    let t = Timeout::new(DELAY);
    let r = t.run(|| {
        let r = gevent_hub::park_no_unwind(None, |_u| {});
        assert_eq!(
            r.err(),
            Some(gevent_hub::ParkError::Interrupted(
                gevent_hub::InterruptKind::Timeout
            ))
        );
        "the hook's caller gave up"
    });
    assert_eq!(r, Err(t));
    sleep(Duration::from_millis(5)); // taken back by `run`: not raised later
}
