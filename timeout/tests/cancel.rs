//! `Timeout::cancel` from another greenlet, after the timer fired but before the timeout was
//! raised in its greenlet; and a kill and a timeout arriving together.
//!
//! Each scenario lines its events up in one turn of the hub: the thread is blocked (with
//! `std::thread::sleep`) until every timer involved is due, so the hub fires them in deadline
//! order and only then runs the greenlets, in the order they were woken.

use std::rc::Rc;
use std::time::Duration;

use gevent_event::Event;
use gevent_hub::{get_hub, spawn, throw_into, GreenletExit};
use gevent_timeout::Timeout;

/// Spawns a greenlet that waits for `e`, then runs `then`.
fn after<T: 'static>(e: &Event, then: impl FnOnce() -> T + 'static) -> gevent_hub::Greenlet<T> {
    let e = e.clone();
    spawn(move || {
        e.wait();
        then()
    })
}

/// Sets `e` from a hub timer after `d`.
fn set_later(e: &Event, d: Duration) {
    let e = e.clone();
    let _ = get_hub().call_later(d, move || e.set());
}

/// Blocks the thread until every timer set so far is due, then lets the hub run them all.
fn fire_everything_due() {
    std::thread::sleep(Duration::from_millis(40));
}

#[test]
fn cancel_from_another_greenlet_takes_back_a_timeout_that_ended_a_wait() {
    let t = Timeout::new(Duration::from_millis(10));
    let (a_go, b_go) = (Event::new(), Event::new());
    let t2 = t.clone();
    let a = {
        let a_go = a_go.clone();
        spawn(move || t2.run(|| a_go.wait()))
    };
    let (t3, a_go2) = (t.clone(), a_go.clone());
    let b = after(&b_go, move || {
        // The timeout fired while `a` waited, and `a` has not run since.
        t3.cancel();
        a_go2.set();
    });
    gevent_hub::sleep(Duration::ZERO); // both wait; `a`'s timer runs
    set_later(&b_go, Duration::from_millis(1)); // due before `a`'s timeout
    fire_everything_due();
    b.join();
    assert_eq!(
        a.get().unwrap(),
        Ok(true),
        "the cancelled timeout was raised"
    );
    assert!(!t.pending());
}

#[test]
fn cancel_from_another_greenlet_takes_back_a_timeout_waiting_for_the_next_wait() {
    let t = Timeout::new(Duration::from_millis(10));
    let (a_go, b_go) = (Event::new(), Event::new());
    let t2 = t.clone();
    let a = {
        let a_go = a_go.clone();
        spawn(move || {
            t2.run(|| {
                a_go.wait();
                // Woken before the timeout fired, run after: this wait would raise it.
                gevent_hub::sleep(Duration::from_millis(1));
                "done"
            })
        })
    };
    let t3 = t.clone();
    let b = after(&b_go, move || t3.cancel());
    gevent_hub::sleep(Duration::ZERO);
    set_later(&b_go, Duration::from_millis(1)); // `b` is woken first,
    set_later(&a_go, Duration::from_millis(2)); // then `a`, then the timeout fires
    fire_everything_due();
    b.join();
    assert_eq!(
        a.get().unwrap(),
        Ok("done"),
        "the cancelled timeout was raised"
    );
}

#[test]
fn a_kill_arriving_after_the_timeout_still_wins() {
    let t = Timeout::new(Duration::from_millis(10));
    let b_go = Event::new();
    let t2 = t.clone();
    let a = spawn(move || t2.run(|| gevent_hub::sleep(Duration::from_secs(3600))));
    let a_raw = Rc::new(std::cell::RefCell::new(None));
    let r = a_raw.clone();
    let b = after(&b_go, move || {
        // The timeout has ended `a`'s sleep, and `a` has not run: the kill goes first.
        throw_into(r.borrow().as_ref().unwrap(), Box::new(GreenletExit));
    });
    gevent_hub::sleep(Duration::ZERO);
    *a_raw.borrow_mut() = a.raw();
    set_later(&b_go, Duration::from_millis(1));
    fire_everything_due();
    b.join();
    assert!(
        a.get().unwrap_err().is_killed(),
        "the kill was lost to the timeout"
    );
    assert!(!t.pending());
}

#[test]
fn cancel_from_a_hub_callback_takes_back_a_fired_timeout() {
    let t = Timeout::new(Duration::from_millis(10));
    let a_go = Event::new();
    let t2 = t.clone();
    let a = {
        let a_go = a_go.clone();
        spawn(move || {
            t2.run(|| {
                a_go.wait();
                gevent_hub::sleep(Duration::from_millis(1));
            })
        })
    };
    gevent_hub::sleep(Duration::ZERO);
    set_later(&a_go, Duration::from_millis(1));
    let t3 = t.clone();
    let _ = get_hub().call_later(Duration::from_millis(20), move || t3.cancel());
    fire_everything_due();
    assert_eq!(a.get().unwrap(), Ok(()));
}
