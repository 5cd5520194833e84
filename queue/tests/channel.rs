//! Ported from gevent's src/gevent/tests/test__queue.py (`TestChannel` and the
//! `UsesOnlyOneItemMixin` tests run on a `Channel`).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{get_hub, sleep, spawn};
use gevent_queue::{Channel, GetError, PutError};

/// Results collected from callbacks.
type Log<T> = Rc<RefCell<Vec<T>>>;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn put_nowait_simple() {
    // Without a waiting getter, a channel cannot take an item.
    let q = Channel::new();
    let result: Log<Result<(), PutError<i32>>> = Rc::default();
    for v in [2, 3] {
        let (q, r) = (q.clone(), result.clone());
        get_hub().run_callback(move || r.borrow_mut().push(q.put_nowait(v)));
    }
    sleep(Duration::ZERO);
    assert_eq!(
        *result.borrow(),
        [Err(PutError::Full(2)), Err(PutError::Full(3))]
    );
}

#[test]
fn put_nowait_unlock() {
    let q = Channel::new();
    let p = {
        let q = q.clone();
        spawn(move || q.get())
    };
    assert!(q.empty());
    assert!(q.full());
    sleep(ms(1));
    let result: Log<Result<(), PutError<i32>>> = Rc::default();
    {
        let (q, r) = (q.clone(), result.clone());
        get_hub().run_callback(move || r.borrow_mut().push(q.put_nowait(10)));
    }
    assert!(!p.ready());
    sleep(ms(1));
    assert_eq!(*result.borrow(), [Ok(())]);
    assert!(p.ready());
    assert_eq!(p.get().unwrap(), 10);
    assert!(q.full() && q.empty());
}

#[test]
fn send_last() {
    let q = Channel::new();
    let p = {
        let q = q.clone();
        spawn(move || {
            assert_eq!(q.get_timeout(Duration::from_secs(2)), Ok("hi2"));
            "OK"
        })
    };
    sleep(ms(10));
    q.put("hi2");
    sleep(ms(10));
    assert_eq!(p.get_timeout(Duration::ZERO).unwrap().unwrap(), "OK");
}

#[test]
fn get_nowait_unlock_channel() {
    // get_nowait runs fine in the hub, and takes from a waiting putter.
    let q = Channel::new();
    let p = {
        let q = q.clone();
        spawn(move || q.put(5))
    };
    assert!(q.empty() && q.full());
    sleep(ms(1));
    assert!(q.empty() && q.full());
    let result: Log<Result<i32, GetError>> = Rc::default();
    {
        let (q, r) = (q.clone(), result.clone());
        get_hub().run_callback(move || r.borrow_mut().push(q.get_nowait()));
    }
    sleep(ms(1));
    assert!(q.empty() && q.full());
    assert_eq!(*result.borrow(), [Ok(5)]);
    assert!(p.ready() && p.dead());
}

#[test]
fn zero_max_size() {
    let q = Channel::new();
    let e1: Rc<RefCell<Option<&str>>> = Rc::default();
    let p1 = {
        let (q, e1) = (q.clone(), e1.clone());
        spawn(move || {
            q.put("hi");
            *e1.borrow_mut() = Some("done");
        })
    };
    sleep(ms(1));
    assert!(e1.borrow().is_none());
    let p2 = {
        let q = q.clone();
        spawn(move || q.get())
    };
    assert_eq!(p2.get().unwrap(), "hi");
    p1.join();
    assert_eq!(*e1.borrow(), Some("done"));
}

#[test]
fn send() {
    let channel = Channel::new();
    let events: Rc<RefCell<Vec<&str>>> = Rc::default();
    let g = {
        let (channel, events) = (channel.clone(), events.clone());
        spawn(move || {
            let v = channel.get();
            events.borrow_mut().push(v);
            let v = channel.get();
            events.borrow_mut().push(v);
        })
    };
    events.borrow_mut().push("sending");
    channel.put("hello");
    events.borrow_mut().push("sent hello");
    channel.put("world");
    events.borrow_mut().push("sent world");
    assert_eq!(
        *events.borrow(),
        ["sending", "hello", "sent hello", "world", "sent world"]
    );
    g.get().unwrap();
}

#[test]
fn wait() {
    let channel = Channel::new();
    let events: Rc<RefCell<Vec<&str>>> = Rc::default();
    let g = {
        let (channel, events) = (channel.clone(), events.clone());
        spawn(move || {
            events.borrow_mut().push("sending hello");
            channel.put("hello");
            events.borrow_mut().push("sending world");
            channel.put("world");
            events.borrow_mut().push("sent world");
        })
    };
    events.borrow_mut().push("waiting");
    let v = channel.get();
    events.borrow_mut().push(v);
    let v = channel.get();
    events.borrow_mut().push(v);
    assert_eq!(
        *events.borrow(),
        [
            "waiting",
            "sending hello",
            "hello",
            "sending world",
            "world"
        ]
    );
    sleep(Duration::ZERO);
    assert_eq!(
        *events.borrow(),
        [
            "waiting",
            "sending hello",
            "hello",
            "sending world",
            "world",
            "sent world"
        ]
    );
    g.get().unwrap();
}

#[test]
fn getters_and_putters_are_served_in_order() {
    let ch = Channel::new();
    let gs: Vec<_> = (0..3)
        .map(|_| {
            let ch = ch.clone();
            spawn(move || ch.get())
        })
        .collect();
    sleep(Duration::ZERO);
    assert_eq!(ch.balance(), -3);
    for i in 0..3 {
        ch.put(i);
    }
    let got: Vec<i32> = gs.iter().map(|g| g.get().unwrap()).collect();
    assert_eq!(got, [0, 1, 2]);

    let ps: Vec<_> = (0..3)
        .map(|i| {
            let ch = ch.clone();
            spawn(move || ch.put(i))
        })
        .collect();
    sleep(Duration::ZERO);
    assert_eq!(ch.balance(), 3);
    let got: Vec<i32> = (0..3).map(|_| ch.get()).collect();
    assert_eq!(got, [0, 1, 2]);
    gevent_hub::joinall(&ps);
}

#[test]
fn timeouts() {
    let ch = Channel::<u8>::new();
    let t = Instant::now();
    assert_eq!(ch.get_timeout(ms(20)), Err(GetError::Empty));
    assert!(t.elapsed() >= ms(20) && t.elapsed() < Duration::from_secs(2));
    let t = Instant::now();
    assert_eq!(ch.put_timeout(4, ms(20)), Err(PutError::Full(4)));
    assert!(t.elapsed() >= ms(20) && t.elapsed() < Duration::from_secs(2));
    assert_eq!(ch.balance(), 0);
    assert_eq!(ch.len(), 0);
    assert!(ch.is_empty());
}
