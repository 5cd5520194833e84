//! The wake protocol's rules (see `gevent_hub`'s docs, "Kills and timeouts"): which of a wake,
//! a kill and a timeout ends a wait, and what happens to the others.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{
    get_hub, park, park_no_unwind, pending_interrupt, raise_pending, revoke_timeout, sleep, spawn,
    throw_into, throw_timeout_into, timeout_pending, timeout_reported, InterruptKind, ParkError,
    Unparker,
};
use greenlet::{GreenletExit, Value};

/// The payload of a panic, as a string.
fn text(p: Box<dyn std::any::Any + Send>) -> &'static str {
    *p.downcast::<&'static str>().expect("a &str payload")
}

#[test]
fn a_kill_goes_before_a_timeout_and_the_timeout_stays_pending() {
    let me = greenlet::getcurrent();
    throw_timeout_into(&me, 1, Box::new("timeout"));
    throw_into(&me, Box::new("kill"));
    assert_eq!(pending_interrupt(), Some(InterruptKind::Kill));
    let first = catch_unwind(|| sleep(Duration::ZERO)).unwrap_err();
    assert_eq!(text(first), "kill");
    assert_eq!(pending_interrupt(), Some(InterruptKind::Timeout));
    let second = catch_unwind(|| sleep(Duration::ZERO)).unwrap_err();
    assert_eq!(text(second), "timeout");
    assert_eq!(pending_interrupt(), None);
    sleep(Duration::ZERO);
}

#[test]
fn timeouts_are_raised_in_the_order_they_fired() {
    let me = greenlet::getcurrent();
    throw_timeout_into(&me, 1, Box::new("inner"));
    throw_timeout_into(&me, 2, Box::new("outer"));
    assert_eq!(text(catch_unwind(raise_pending).unwrap_err()), "inner");
    assert_eq!(text(catch_unwind(raise_pending).unwrap_err()), "outer");
    raise_pending();
}

#[test]
fn a_woken_wait_keeps_its_value_and_a_later_kill_waits_for_the_next_wait() {
    let slot: Rc<RefCell<Option<Unparker>>> = Rc::default();
    let got = Rc::new(Cell::new(0));
    let (s, g2) = (slot.clone(), got.clone());
    let g = spawn(move || {
        let v = park(|u| *s.borrow_mut() = Some(u));
        g2.set(v.take::<i32>());
        sleep(Duration::from_secs(60));
    });
    sleep(Duration::ZERO);
    assert!(slot.borrow().as_ref().unwrap().wake(Value::new(5)));
    // Killed after the wake, before it ran: the value is not taken away.
    throw_into(&g.raw().unwrap(), Box::new(GreenletExit));
    g.join();
    assert_eq!(got.get(), 5);
    assert!(g.get().unwrap_err().is_killed());
}

#[test]
fn an_interrupted_wait_refuses_a_later_wake() {
    let slot: Rc<RefCell<Option<Unparker>>> = Rc::default();
    let s = slot.clone();
    let g = spawn(move || {
        park(|u| *s.borrow_mut() = Some(u));
    });
    sleep(Duration::ZERO);
    throw_into(&g.raw().unwrap(), Box::new(GreenletExit));
    let u = slot.borrow_mut().take().unwrap();
    assert!(!u.is_waiting());
    assert!(!u.wake(Value::empty()));
    g.join();
    assert!(g.get().unwrap_err().is_killed());
}

#[test]
fn a_revoked_timeout_that_ended_a_wait_lets_the_wait_go_on() {
    let slot: Rc<RefCell<Option<Unparker>>> = Rc::default();
    let s = slot.clone();
    let g = spawn(move || park(|u| *s.borrow_mut() = Some(u)).take::<&str>());
    sleep(Duration::ZERO);
    let raw = g.raw().unwrap();
    throw_timeout_into(&raw, 7, Box::new("too late"));
    assert!(timeout_pending(&raw, 7));
    assert!(revoke_timeout(&raw, 7));
    assert!(!timeout_pending(&raw, 7));
    // The wait was resumed: its waker still works.
    sleep(Duration::ZERO);
    assert!(!g.ready());
    assert!(slot.borrow().as_ref().unwrap().wake(Value::new("woken")));
    assert_eq!(g.get().unwrap(), "woken");
}

#[test]
fn a_revoked_timeout_stands_if_a_wake_was_refused_meanwhile() {
    let slot: Rc<RefCell<Option<Unparker>>> = Rc::default();
    let s = slot.clone();
    let g = spawn(move || {
        catch_unwind(AssertUnwindSafe(|| park(|u| *s.borrow_mut() = Some(u))))
            .map(|_| ())
            .map_err(text)
    });
    sleep(Duration::ZERO);
    let raw = g.raw().unwrap();
    throw_timeout_into(&raw, 7, Box::new("timed out"));
    // Its waker was refused and went on: resuming the wait now would lose that wake-up.
    assert!(!slot.borrow().as_ref().unwrap().wake(Value::empty()));
    assert!(!revoke_timeout(&raw, 7));
    assert_eq!(g.get().unwrap(), Err("timed out"));
}

#[test]
fn a_timeout_revoked_before_the_greenlet_runs_again_is_never_raised() {
    let g = spawn(|| {
        sleep(Duration::from_millis(1));
        "finished"
    });
    sleep(Duration::ZERO);
    let raw = g.raw().unwrap();
    throw_timeout_into(&raw, 3, Box::new("never"));
    get_hub().run_callback(move || {
        revoke_timeout(&raw, 3);
    });
    assert_eq!(g.get().unwrap(), "finished");
}

#[test]
fn park_no_unwind_returns_the_interrupt_and_keeps_it_pending() {
    let g = spawn(|| {
        let me = greenlet::getcurrent();
        let r = park_no_unwind(None, |_u| {});
        assert_eq!(
            r.err(),
            Some(ParkError::Interrupted(InterruptKind::Timeout))
        );
        // Pending: a second no-unwind park fails at once, and an ordinary wait raises it.
        let r = park_no_unwind(Some(Duration::from_secs(60)), |_u| unreachable!());
        assert_eq!(
            r.err(),
            Some(ParkError::Interrupted(InterruptKind::Timeout))
        );
        assert!(timeout_pending(&me, 4));
        text(catch_unwind(|| sleep(Duration::ZERO)).unwrap_err())
    });
    sleep(Duration::ZERO);
    throw_timeout_into(&g.raw().unwrap(), 4, Box::new("deadline"));
    assert_eq!(g.get().unwrap(), "deadline");
}

/// A greenlet whose function returns while an interrupt is pending (a no-unwind wait turned it
/// into a value, and nothing waited since) ends killed, not successful: the interrupt is raised
/// when the function returns.
#[test]
fn a_kill_pending_when_the_function_returns_ends_the_greenlet_killed() {
    let reached = Rc::new(Cell::new(false));
    let r2 = reached.clone();
    let g = spawn(move || {
        let r = park_no_unwind(None, |_u| {});
        assert_eq!(r.err(), Some(ParkError::Interrupted(InterruptKind::Kill)));
        r2.set(true);
        "returned"
    });
    sleep(Duration::ZERO);
    g.kill();
    assert!(g.get().unwrap_err().is_killed());
    assert!(reached.get(), "the function ran to its end");
}

/// The same for a timeout: the greenlet ends with it as its exception.
#[test]
fn a_timeout_pending_when_the_function_returns_is_raised_there() {
    let g = spawn(|| {
        let r = park_no_unwind(None, |_u| {});
        assert_eq!(
            r.err(),
            Some(ParkError::Interrupted(InterruptKind::Timeout))
        );
        "returned"
    });
    sleep(Duration::ZERO);
    throw_timeout_into(&g.raw().unwrap(), 6, Box::new("deadline"));
    let e = g.get().unwrap_err();
    assert!(!e.is_killed());
    assert!(e.to_string().contains("deadline"), "{e}");
}

/// `timeout_reported` tells a timeout that a no-unwind wait returned as a value from one that
/// only fired (the greenlet was woken first).
#[test]
fn timeout_reported_only_after_a_no_unwind_wait_returned_it() {
    let g = spawn(|| {
        let me = greenlet::getcurrent();
        let woken = park_no_unwind(None, |u| {
            get_hub().run_callback(move || {
                u.wake(Value::empty());
            })
        });
        assert!(woken.is_ok());
        // Fired meanwhile (after the wake): pending, not reported.
        let before = (timeout_pending(&me, 8), timeout_reported(&me, 8));
        let r = park_no_unwind(None, |_u| unreachable!());
        let after = timeout_reported(&me, 8);
        assert!(revoke_timeout(&me, 8));
        (before, r.err(), after, timeout_reported(&me, 8))
    });
    let raw = g.raw().unwrap();
    sleep(Duration::ZERO); // g parks; its waker runs before this greenlet goes on
    get_hub().run_callback(move || throw_timeout_into(&raw, 8, Box::new("t")));
    assert_eq!(
        g.get().unwrap(),
        (
            (true, false),
            Some(ParkError::Interrupted(InterruptKind::Timeout)),
            true,
            false
        )
    );
}

#[test]
fn park_no_unwind_times_out_and_wakes() {
    let r = park_no_unwind(Some(Duration::from_millis(2)), |_u| {});
    assert_eq!(r.unwrap_err(), ParkError::TimedOut);
    let v = park_no_unwind(None, |u| {
        get_hub().run_callback(move || {
            u.wake(Value::new(3u8));
        })
    });
    assert_eq!(v.unwrap().take::<u8>(), 3);
    assert_eq!(pending_interrupt(), None);
}

/// A panicking error handler (gevent's `handle_error` raising): the greenlet still finishes,
/// and nothing unwinds into the greenlet that joins it.
#[test]
fn a_panicking_error_handler_neither_hangs_the_greenlet_nor_unwinds_the_joiner() {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    get_hub().set_error_handler(move |_| {
        c.set(c.get() + 1);
        panic!("the error handler itself fails");
    });
    let g = spawn(|| -> u8 { panic!("boom") });
    g.join();
    assert!(g.dead());
    assert_eq!(g.exception().unwrap().message(), "boom");
    // A raw greenlet's panic and a callback's panic go through the same handler, in the hub.
    spawn_and_fail_in_the_hub();
    sleep(Duration::from_millis(1));
    assert_eq!(calls.get(), 3);
    // The loop goes on.
    assert_eq!(spawn(|| 1).get().unwrap(), 1);
    get_hub().reset_error_handler();
}

/// A raw greenlet and a hub callback that panic.
fn spawn_and_fail_in_the_hub() {
    gevent_hub::spawn_raw(|| panic!("raw"));
    get_hub().run_callback(|| panic!("callback"));
}
