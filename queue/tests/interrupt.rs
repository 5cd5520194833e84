//! Ported from gevent's src/gevent/tests/test__queue.py (`TestGetInterrupt*` and
//! `TestPutInterrupt*` over every queue kind, built on `AbstractGenericGetTestCase`): a wait
//! with a time limit gives up after about that long, and a kill ends a wait promptly.

use std::time::{Duration, Instant};

use gevent_hub::{sleep, spawn};
use gevent_queue::{Channel, GetError, LifoQueue, PriorityQueue, PutError, Queue};

const LIMIT: Duration = Duration::from_millis(30);

/// `f` gives up after `LIMIT`, and well before 2 s.
fn gives_up_in_time<R>(f: impl FnOnce(Duration) -> R) -> R {
    let t = Instant::now();
    let r = f(LIMIT);
    let e = t.elapsed();
    assert!(e >= LIMIT, "gave up too early: {e:?}");
    assert!(e < Duration::from_secs(2), "gave up too late: {e:?}");
    r
}

#[test]
fn get_timeout_on_every_kind() {
    assert_eq!(
        gives_up_in_time(|d| Queue::<u8>::new().get_timeout(d)),
        Err(GetError::Empty)
    );
    assert_eq!(
        gives_up_in_time(|d| LifoQueue::<u8>::new().get_timeout(d)),
        Err(GetError::Empty)
    );
    assert_eq!(
        gives_up_in_time(|d| PriorityQueue::<u8>::new().get_timeout(d)),
        Err(GetError::Empty)
    );
    assert_eq!(
        gives_up_in_time(|d| Channel::<u8>::new().get_timeout(d)),
        Err(GetError::Empty)
    );
}

#[test]
fn put_timeout_on_every_kind() {
    let q = Queue::bounded(1);
    q.put(1);
    assert_eq!(
        gives_up_in_time(|d| q.put_timeout(2, d)),
        Err(PutError::Full(2))
    );
    let q = LifoQueue::bounded(1);
    q.put(1);
    assert_eq!(
        gives_up_in_time(|d| q.put_timeout(2, d)),
        Err(PutError::Full(2))
    );
    let q = PriorityQueue::bounded(1);
    q.put(1);
    assert_eq!(
        gives_up_in_time(|d| q.put_timeout(2, d)),
        Err(PutError::Full(2))
    );
    let q = Channel::new();
    assert_eq!(
        gives_up_in_time(|d| q.put_timeout(2, d)),
        Err(PutError::Full(2))
    );
}

#[test]
fn peek_timeout() {
    assert_eq!(
        gives_up_in_time(|d| Queue::<u8>::new().peek_timeout(d)),
        Err(GetError::Empty)
    );
}

#[test]
fn timeouts_from_greenlets_run_concurrently() {
    // Ten greenlets each waiting LIMIT take about LIMIT in all, not ten times it.
    let q = Queue::<u8>::new();
    let t = Instant::now();
    let gs: Vec<_> = (0..10)
        .map(|_| {
            let q = q.clone();
            spawn(move || q.get_timeout(LIMIT))
        })
        .collect();
    gevent_hub::joinall(&gs);
    // 9 times what it should take (the machines are shared), still below the 10 times that
    // waits one after the other would take.
    assert!(t.elapsed() < LIMIT * 9, "{:?}", t.elapsed());
    assert!(gs.iter().all(|g| g.get().unwrap() == Err(GetError::Empty)));
}

#[test]
fn kill_interrupts_get_and_put_on_every_kind() {
    let q = Queue::<u8>::new();
    let l = LifoQueue::<u8>::bounded(1);
    l.put(0);
    let c = Channel::<u8>::new();
    let gs = [
        {
            let q = q.clone();
            spawn(move || {
                q.get();
            })
        },
        {
            let l = l.clone();
            spawn(move || l.put(1))
        },
        {
            let c = c.clone();
            spawn(move || c.put(1))
        },
        spawn(move || {
            let _ = PriorityQueue::<u8>::new().get_timeout(Duration::from_secs(60));
        }),
    ];
    sleep(Duration::ZERO);
    let t = Instant::now();
    gevent_hub::killall(&gs);
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(gs.iter().all(|g| g.get().unwrap_err().is_killed()));
    assert_eq!(l.len(), 1);
    assert_eq!(c.balance(), 0);
}

#[test]
fn an_outer_timeout_interrupts_get_and_put_and_leaves_no_trace() {
    // test_raises_timeout_Timeout: a `Timeout` around the wait, rather than a time limit on it.
    let q = Queue::<u8>::bounded(1);
    let r = gives_up_in_time(|d| gevent_timeout::with_timeout(d, || q.get()));
    assert!(r.is_err());
    assert_eq!(q.getters_waiting(), 0);
    q.put(1);
    let r = gives_up_in_time(|d| gevent_timeout::with_timeout(d, || q.put(2)));
    assert!(r.is_err());
    assert_eq!(q.putters_waiting(), 0);
    assert_eq!(q.get_nowait(), Ok(1));
    assert_eq!(q.get_nowait(), Err(GetError::Empty)); // 2 was never put
    let ch = Channel::<u8>::new();
    assert!(gives_up_in_time(|d| gevent_timeout::with_timeout(d, || ch.get())).is_err());
    assert_eq!(ch.balance(), 0);
}
