//! Kill and timeout safety of queue waits: a killed or timed-out getter consumes nothing, no
//! item is ever lost, a killed putter puts nothing, and the others keep their places.
//! Scenarios from gevent's src/gevent/tests/test__queue.py (`TestGetInterrupt`,
//! `TestPutInterrupt`, `test_two_waiters_one_dies`), extended.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{sleep, spawn, throw_into, KillOptions};
use gevent_queue::{Channel, GetError, PutError, Queue};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn a_killed_getter_consumes_nothing() {
    let q = Queue::new();
    let g = {
        let q = q.clone();
        spawn(move || q.get())
    };
    sleep(Duration::ZERO);
    assert_eq!(q.getters_waiting(), 1);
    g.kill();
    assert!(g.get().unwrap_err().is_killed());
    assert_eq!(q.getters_waiting(), 0);
    q.put(1);
    assert_eq!(q.get_nowait(), Ok(1));
}

#[test]
fn a_killed_getter_keeps_the_others_in_order() {
    let q = Queue::new();
    let gs: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            spawn(move || q.get())
        })
        .collect();
    sleep(Duration::ZERO);
    gs[1].kill();
    q.put("first");
    q.put("second");
    assert_eq!(gs[0].get().unwrap(), "first");
    assert!(gs[1].get().unwrap_err().is_killed());
    assert_eq!(gs[2].get().unwrap(), "second");
}

#[test]
fn a_getter_killed_right_after_the_hand_over_loses_no_item() {
    // The item goes to the parked getter at `put`; the kill arrives before the getter runs.
    // Either the getter returns the item (the kill then lands at its next wait) or the item is
    // back in the queue: it is never lost.
    let q = Queue::new();
    let seen: Rc<RefCell<Vec<i32>>> = Rc::default();
    let g = {
        let (q, seen) = (q.clone(), seen.clone());
        spawn(move || {
            let v = q.get();
            seen.borrow_mut().push(v);
            sleep(Duration::from_secs(60));
        })
    };
    sleep(Duration::ZERO);
    q.put(7);
    g.kill_with(KillOptions {
        block: false,
        timeout: None,
    });
    g.join_timeout(Duration::from_secs(5));
    assert!(g.dead());
    let in_queue: Vec<i32> = std::iter::from_fn(|| q.get_nowait().ok()).collect();
    let mut all = seen.borrow().clone();
    all.extend(in_queue);
    assert_eq!(all, [7]);
}

#[test]
fn a_timed_out_getter_consumes_nothing() {
    let q = Queue::new();
    let g = {
        let q = q.clone();
        spawn(move || q.get_timeout(ms(10)))
    };
    sleep(ms(50));
    assert_eq!(g.get().unwrap(), Err(GetError::Empty));
    q.put("kept");
    assert_eq!(q.get_nowait(), Ok("kept"));
}

#[test]
fn a_getter_unwound_by_a_thrown_payload_consumes_nothing() {
    // What a `Timeout` does: raise in the greenlet at its wait.
    let q = Queue::<i32>::new();
    let g = {
        let q = q.clone();
        spawn(move || q.get())
    };
    sleep(Duration::ZERO);
    throw_into(&g.raw().unwrap(), Box::new("time is up"));
    gevent_hub::get_hub().set_error_handler(|_| {});
    let e = g.get().unwrap_err();
    gevent_hub::get_hub().reset_error_handler();
    assert_eq!(e.message(), "time is up");
    assert_eq!(q.getters_waiting(), 0);
    q.put(3);
    assert_eq!(q.get_nowait(), Ok(3));
}

#[test]
fn a_killed_putter_puts_nothing() {
    let q = Queue::bounded(1);
    q.put("first");
    let p1 = {
        let q = q.clone();
        spawn(move || q.put("killed"))
    };
    let p2 = {
        let q = q.clone();
        spawn(move || q.put("second"))
    };
    sleep(Duration::ZERO);
    assert_eq!(q.putters_waiting(), 2);
    p1.kill();
    assert_eq!(q.putters_waiting(), 1);
    assert_eq!(q.get(), "first");
    assert_eq!(q.get(), "second");
    assert_eq!(q.get_nowait(), Err(GetError::Empty));
    p2.join();
    assert_eq!(q.unfinished_tasks(), 2);
}

#[test]
fn a_timed_out_putter_gets_its_item_back() {
    let q = Queue::bounded(1);
    q.put(String::from("in"));
    let t = Instant::now();
    let e = q.put_timeout(String::from("out"), ms(20)).unwrap_err();
    assert!(t.elapsed() >= ms(20));
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_eq!(e, PutError::Full(String::from("out")));
    assert_eq!(q.len(), 1);
    assert_eq!(q.putters_waiting(), 0);
}

#[test]
fn a_killed_peeker_leaves_no_trace() {
    let q = Queue::new();
    let g = {
        let q = q.clone();
        spawn(move || q.peek())
    };
    sleep(Duration::ZERO);
    g.kill();
    q.put(1);
    assert_eq!(q.get_nowait(), Ok(1));
}

#[test]
fn a_killed_channel_getter_takes_nothing() {
    let ch = Channel::new();
    let g = {
        let ch = ch.clone();
        spawn(move || ch.get())
    };
    sleep(Duration::ZERO);
    g.kill();
    assert_eq!(ch.balance(), 0);
    assert!(ch.put_timeout(1, ms(10)).unwrap_err().is_full());
}

#[test]
fn a_killed_channel_putter_hands_over_nothing() {
    let ch = Channel::new();
    let p = {
        let ch = ch.clone();
        spawn(move || ch.put("never"))
    };
    sleep(Duration::ZERO);
    assert_eq!(ch.balance(), 1);
    p.kill();
    assert_eq!(ch.balance(), 0);
    assert_eq!(ch.get_timeout(ms(10)), Err(GetError::Empty));
}

#[test]
fn kill_unblocks_a_waiting_get_promptly() {
    let q = Queue::<u8>::new();
    let g = {
        let q = q.clone();
        spawn(move || q.get())
    };
    sleep(Duration::ZERO);
    let t = Instant::now();
    g.kill();
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(g.dead());
}
