//! Ported from gevent's src/gevent/tests/test__event.py (the `Event` parts), plus FIFO order,
//! kill safety and `set` + `clear` tests.
//!
//! Not ported: the cross-thread tests (`Event` is `!Send` here: the compiler refuses them) and
//! the weakref test.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_event::{AsyncResult, Event};
use gevent_hub::{joinall, joinall_with, sleep, spawn, wait, JoinAll, Waitable};

/// TestEventWait: `wait(timeout)` on an event nobody sets takes about `timeout`.
#[test]
fn wait_timeout_waits_about_the_timeout() {
    let e = Event::new();
    let t = Instant::now();
    assert!(!e.wait_timeout(Duration::from_millis(50)));
    let el = t.elapsed();
    assert!(el >= Duration::from_millis(45), "{el:?}");
    assert!(el < Duration::from_secs(2), "{el:?}");
    assert_eq!(e.waiter_count(), 0);
    assert_eq!(format!("{e:?}"), "Event { set: false, waiters: 0 }");
}

/// TestGeventWaitOnEvent: `gevent.wait([Event()], timeout)`.
#[test]
fn gevent_wait_on_event_times_out() {
    let e = Event::new();
    let t = Instant::now();
    let done = wait(std::slice::from_ref(&e), Some(Duration::from_millis(30)));
    assert!(done.is_empty());
    assert!(t.elapsed() >= Duration::from_millis(25));
    assert_eq!(e.waiter_count(), 0, "the registration is removed");
}

/// TestGeventWaitOnEvent.test_set_during_wait (gevent #771): registrations made while `set`
/// notifies do not fire in that same `set`.
#[test]
fn set_during_wait() {
    let event = Event::new();
    let ev = event.clone();
    let waiter = spawn(move || {
        let ev2 = ev.clone();
        let s = spawn(move || ev2.set());
        assert!(ev.wait());
        assert!(ev.is_set());
        s.join();
        ev.clear();
        assert!(!ev.is_set());
        let o = wait(std::slice::from_ref(&ev), Some(Duration::from_millis(10)));
        assert!(!ev.is_set());
        assert!(o.is_empty());
    });
    waiter.get().unwrap();
}

/// TestEvent_SetThenClear{,100,1000}: a `set` followed at once by a `clear` wakes every
/// waiter, and each `wait` returns `true`.
#[test]
fn set_then_clear_wakes_everyone() {
    for n in [1, 100, 1000] {
        let e = Event::new();
        let waiters: Vec<_> = (0..n)
            .map(|_| {
                let e = e.clone();
                spawn(move || e.wait())
            })
            .collect();
        sleep(Duration::from_millis(1));
        assert_eq!(e.waiter_count(), n);
        e.set();
        e.clear();
        joinall(&waiters);
        assert!(waiters.iter().all(|g| g.get().unwrap()), "n={n}");
        assert!(!e.is_set());
        assert_eq!(e.waiter_count(), 0);
    }
}

/// Waiters are woken in the order they began to wait.
#[test]
fn waiters_wake_in_fifo_order() {
    let e = Event::new();
    let order = Rc::new(RefCell::new(Vec::new()));
    let waiters: Vec<_> = (0..50)
        .map(|i| {
            let (e, order) = (e.clone(), order.clone());
            spawn(move || {
                e.wait();
                order.borrow_mut().push(i);
            })
        })
        .collect();
    sleep(Duration::ZERO);
    e.set();
    joinall(&waiters);
    assert_eq!(*order.borrow(), (0..50).collect::<Vec<_>>());
}

/// `set` wakes direct waiters and calls `Waitable` registrations (at once, in the caller).
#[test]
fn set_wakes_waiters_and_calls_registrations() {
    let e = Event::new();
    let order = Rc::new(RefCell::new(Vec::new()));
    let o = order.clone();
    let g1 = {
        let e = e.clone();
        spawn(move || {
            e.wait();
        })
    };
    sleep(Duration::ZERO);
    e.add_waiter(Rc::new(move || o.borrow_mut().push("notify")));
    let o2 = order.clone();
    g1.rawlink(move |_| o2.borrow_mut().push("g1 done"));
    e.set();
    order.borrow_mut().push("after set");
    g1.join();
    sleep(Duration::from_millis(1));
    assert_eq!(*order.borrow(), ["notify", "after set", "g1 done"]);
}

/// A waiter killed while it waits leaves no entry behind, and the others still wake.
#[test]
fn killed_waiter_is_removed() {
    let e = Event::new();
    let woke = Rc::new(Cell::new(0));
    let gs: Vec<_> = (0..3)
        .map(|_| {
            let (e, woke) = (e.clone(), woke.clone());
            spawn(move || {
                e.wait();
                woke.set(woke.get() + 1);
            })
        })
        .collect();
    sleep(Duration::ZERO);
    assert_eq!(e.waiter_count(), 3);
    gs[1].kill();
    assert!(gs[1].dead());
    assert_eq!(e.waiter_count(), 2);
    e.set();
    joinall(&gs);
    assert_eq!(woke.get(), 2);
    assert!(gs[1].get().unwrap_err().is_killed());
}

/// A waiter that timed out leaves no entry behind.
#[test]
fn timed_out_waiter_is_removed() {
    let e = Event::new();
    let gs: Vec<_> = (0..10)
        .map(|i| {
            let e = e.clone();
            spawn(move || e.wait_timeout(Duration::from_millis(if i % 2 == 0 { 5 } else { 5000 })))
        })
        .collect();
    sleep(Duration::from_millis(30));
    assert_eq!(e.waiter_count(), 5);
    e.set();
    joinall(&gs);
    let r: Vec<bool> = gs.iter().map(|g| g.get().unwrap()).collect();
    assert_eq!(r, (0..10).map(|i| i % 2 == 1).collect::<Vec<_>>());
    assert_eq!(e.waiter_count(), 0);
}

/// A waiter woken by `set` and killed before it ran still counts as woken: its `wait`
/// returns, and the kill reaches it at its next wait.
#[test]
fn waiter_killed_after_wake_gets_the_kill_at_its_next_wait() {
    let e = Event::new();
    let returned = Rc::new(Cell::new(false));
    let g = {
        let (e, returned) = (e.clone(), returned.clone());
        spawn(move || {
            let r = e.wait();
            returned.set(r);
            sleep(Duration::from_secs(60));
        })
    };
    sleep(Duration::ZERO);
    e.set();
    let t = Instant::now();
    g.kill();
    assert!(g.dead());
    assert!(returned.get());
    assert!(t.elapsed() < Duration::from_secs(2));
}

/// TestWait (and _notimeout): `gevent.wait` on events and results set one by one.
#[test]
fn gevent_wait_on_events_and_results() {
    for timeout in [Some(Duration::from_secs(5)), None] {
        let n = 5;
        let events: Vec<Event> = (0..n).map(|_| Event::new()).collect();
        let asyncs: Vec<AsyncResult<()>> = (0..n).map(|_| AsyncResult::new()).collect();
        let (es, as_) = (events.clone(), asyncs.clone());
        let sender = spawn(move || {
            let period = Duration::from_millis(2);
            for (e, a) in es.iter().zip(&as_).rev() {
                sleep(period);
                e.set();
                sleep(period);
                a.set(());
            }
        });
        let mut objs: Vec<&dyn Waitable> = Vec::new();
        objs.extend(events.iter().map(|e| e as &dyn Waitable));
        objs.extend(asyncs.iter().map(|a| a as &dyn Waitable));
        let results = wait(&objs, timeout);
        assert_eq!(results.len(), 2 * n);
        assert!(sender.ready());
    }
}

/// TestWait_count1 / count2: with a count, only that many; the sender is still running.
#[test]
fn gevent_wait_with_count() {
    for count in [1, 2] {
        let events: Vec<Event> = (0..5).map(|_| Event::new()).collect();
        let es = events.clone();
        let sender = spawn(move || {
            for e in es.iter().rev() {
                sleep(Duration::from_millis(5));
                e.set();
            }
        });
        let r = joinall_with(
            &events,
            JoinAll {
                timeout: Some(Duration::from_secs(5)),
                raise_error: false,
                count: Some(count),
            },
        )
        .unwrap();
        assert_eq!(r.len(), count);
        assert!(!sender.ready());
        sender.kill();
    }
}

/// TestEventBasics.test_wait_while_notifying (gevent #1520): a greenlet waiting on an event
/// that was just set runs after the greenlets the `set` woke.
#[test]
fn wait_while_notifying_goes_last() {
    let event = Event::new();
    let results = Rc::new(RefCell::new(Vec::new()));
    let wait_then_append = {
        let (event, results) = (event.clone(), results.clone());
        move |arg: i32| {
            event.wait();
            results.borrow_mut().push(arg);
        }
    };
    let (w1, w2) = (wait_then_append.clone(), wait_then_append.clone());
    spawn(move || w1(1));
    spawn(move || w2(2));
    gevent_hub::idle();
    assert_eq!(event.waiter_count(), 2);
    event.set();
    wait_then_append(3);
    assert_eq!(*results.borrow(), [1, 2, 3]);
}

/// TestEventBasics.test_gevent_wait_twice_when_already_set.
#[test]
fn gevent_wait_twice_when_already_set() {
    let event = Event::new();
    event.set();
    assert_eq!(wait(std::slice::from_ref(&event), None), [0]);
    assert_eq!(wait(std::slice::from_ref(&event), None), [0]);
    assert_eq!(event.waiter_count(), 0);
}

/// `set` may be called from the hub (a callback or timer), and wakes the waiters.
#[test]
fn set_from_a_hub_callback() {
    let e = Event::new();
    let e2 = e.clone();
    let _t = gevent_hub::get_hub().call_later(Duration::from_millis(5), move || e2.set());
    let t = Instant::now();
    assert!(e.wait());
    assert!(t.elapsed() >= Duration::from_millis(4));
}

/// The main greenlet waiting on an event nobody can set gets `LoopExit`, and leaves no
/// entry behind.
#[test]
fn wait_forever_is_loop_exit() {
    let e = Event::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| e.wait()));
    let p = r.unwrap_err();
    assert!(p.is::<gevent_hub::LoopExit>());
    assert_eq!(e.waiter_count(), 0);
}

/// Many waiters that time out, out of order, leave nothing behind (the list compacts).
#[test]
fn many_timeouts_leave_nothing() {
    let e = Event::new();
    let gs: Vec<_> = (0..200u64)
        .map(|i| {
            let e = e.clone();
            spawn(move || e.wait_timeout(Duration::from_millis(1 + (i * 7919) % 20)))
        })
        .collect();
    joinall(&gs);
    assert!(gs.iter().all(|g| !g.get().unwrap()));
    assert_eq!(e.waiter_count(), 0);
}

/// A `wait` on a set event returns at once in the hub too, even while greenlets it woke are
/// still to run (the hub cannot go behind them).
#[test]
fn wait_on_a_set_event_in_the_hub() {
    let e = Event::new();
    let e2 = e.clone();
    let g = spawn(move || e2.wait());
    sleep(Duration::ZERO);
    e.set();
    let seen = Rc::new(Cell::new(None));
    let (e3, s) = (e.clone(), seen.clone());
    gevent_hub::get_hub().run_callback(move || s.set(Some(e3.wait())));
    assert!(g.get().unwrap());
    sleep(Duration::from_millis(1));
    assert_eq!(seen.get(), Some(true));
}
