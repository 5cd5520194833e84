//! Ported from gevent's src/gevent/tests/test__pool.py (`TestCoroutinePool`,
//! `PoolBasicTests`, `TestPool0`, `TestJoinSleep`, `TestJoinEmpty`, `TestSpawn`,
//! `TestErrorInIterator`, `TestErrorInHandler`), plus the concurrency limit and `apply` inline.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_event::Event;
use gevent_hub::{get_hub, sleep, spawn, Greenlet};
use gevent_pool::{Group, Pool, PoolFull};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Silences the hub's report of expected panics for the duration of `f`.
fn quietly<R>(f: impl FnOnce() -> R) -> R {
    get_hub().set_error_handler(|_| {});
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    get_hub().reset_error_handler();
    r.unwrap_or_else(|p| panic::resume_unwind(p))
}

#[derive(Debug, PartialEq)]
struct ExpectedException;

// ----- TestCoroutinePool -----

#[test]
fn apply_async() {
    let done = Event::new();
    let pool = Pool::new(2);
    let d = done.clone();
    pool.apply_async(move || d.set());
    done.wait();
}

#[test]
fn apply() {
    let pool = Pool::new(2);
    assert_eq!(pool.apply(|| "return value"), "return value");
}

#[test]
fn apply_raises() {
    let pool = Pool::new(1);
    let r = quietly(|| {
        panic::catch_unwind(AssertUnwindSafe(|| {
            pool.apply(|| -> () { panic::panic_any(ExpectedException) })
        }))
    });
    let p = r.unwrap_err();
    assert_eq!(
        p.downcast_ref::<ExpectedException>(),
        Some(&ExpectedException)
    );
}

#[test]
fn multiple_coros() {
    let evt = Event::new();
    let results: Rc<RefCell<Vec<&str>>> = Rc::default();
    let pool = Pool::new(2);
    let done = {
        let (evt, results) = (evt.clone(), results.clone());
        pool.spawn(move || {
            results.borrow_mut().push("cons1");
            evt.wait();
            results.borrow_mut().push("cons2");
        })
    };
    {
        let (evt, results) = (evt.clone(), results.clone());
        pool.apply_async(move || {
            sleep(ms(1));
            results.borrow_mut().push("prod");
            evt.set();
        });
    }
    done.get().unwrap();
    assert_eq!(*results.borrow(), ["cons1", "prod", "cons2"]);
}

#[test]
fn reentrant() {
    // apply from inside a member of a Pool(1) runs inline instead of deadlocking.
    let pool = Pool::new(1);
    let p = pool.clone();
    let result = pool.apply(move || p.apply(|| 5 + 1));
    assert_eq!(result, 6);
    let evt = Event::new();
    let e = evt.clone();
    pool.apply_async(move || e.set());
    evt.wait();
}

#[test]
fn apply_runs_inline_in_a_member_of_a_full_pool() {
    let pool = Pool::new(1);
    let p = pool.clone();
    let g = pool.spawn(move || {
        assert!(p.full());
        let me = gevent_hub::getcurrent().id();
        let inner = p.apply(move || gevent_hub::getcurrent().id());
        (me, inner)
    });
    let (me, inner) = g.get().unwrap();
    assert_eq!(me, inner, "apply ran in the member itself");
}

#[test]
fn a_crashing_member_frees_its_slot() {
    // test_stderr_raising: an error in a member does not make the pool lose a slot.
    let pool = Pool::new(1);
    let waiter = pool.spawn(|| -> () { panic!("Raising an error from the crash() function") });
    let e = quietly(|| waiter.get().unwrap_err());
    assert!(e.message().contains("crash()"));
    sleep(Duration::ZERO);
    assert_eq!(pool.free_count(), 1);
    let t = Instant::now();
    pool.apply(|| sleep(Duration::ZERO));
    assert!(t.elapsed() < Duration::from_secs(1));
    pool.join();
}

// ----- PoolBasicTests -----

#[test]
fn execute_async() {
    let p = Pool::new(2);
    assert_eq!(p.free_count(), 2);
    let r: Rc<RefCell<Vec<i32>>> = Rc::default();
    let first = {
        let r = r.clone();
        p.spawn(move || r.borrow_mut().push(1))
    };
    assert_eq!(p.free_count(), 1);
    first.get().unwrap();
    assert_eq!(*r.borrow(), [1]);
    sleep(Duration::ZERO);
    assert_eq!(p.free_count(), 2);

    // Once the pool is exhausted, apply_async still returns at once.
    for (v, free) in [(2, 1), (3, 0), (4, 0)] {
        let r2 = r.clone();
        p.apply_async(move || r2.borrow_mut().push(v));
        assert_eq!(p.free_count(), free);
        assert_eq!(*r.borrow(), [1]);
    }
    sleep(ms(10));
    let mut got = r.borrow().clone();
    got.sort();
    assert_eq!(got, [1, 2, 3, 4]);
}

#[test]
fn discard() {
    let p = Pool::new(1);
    let first = p.spawn(|| sleep(Duration::from_secs(1000)));
    assert!(p.discard(&first));
    first.kill();
    assert!(first.dead());
    assert_eq!(p.len(), 0);
    assert_eq!(p.free_count(), 1);
    assert!(!p.discard(&first));
}

fn sleepers() -> (Greenlet<()>, Greenlet<()>) {
    (
        spawn(|| sleep(Duration::from_secs(1000))),
        spawn(|| sleep(Duration::from_secs(1000))),
    )
}

#[test]
fn add_method() {
    let p = Pool::new(1);
    let (first, second) = sleepers();
    assert_eq!(p.free_count(), 1);
    assert_eq!(p.len(), 0);
    p.add(&first);
    assert_eq!(p.free_count(), 0);
    assert_eq!(p.len(), 1);
    // add waits while the pool is full: here until an outer Timeout.
    let r = gevent_timeout::with_timeout(ms(100), || p.add(&second));
    assert!(r.is_err());
    assert_eq!(p.free_count(), 0);
    assert_eq!(p.len(), 1);
    second.kill();
    first.kill();
}

#[test]
fn add_method_non_blocking() {
    let p = Pool::new(1);
    let (first, second) = sleepers();
    p.add(&first);
    assert_eq!(p.try_add(&second), Err(PoolFull));
    second.kill();
    first.kill();
}

#[test]
fn add_method_timeout() {
    let p = Pool::new(1);
    let (first, second) = sleepers();
    p.add(&first);
    let t = Instant::now();
    assert_eq!(p.add_timeout(&second, ms(100)), Err(PoolFull));
    assert!(t.elapsed() >= ms(100) && t.elapsed() < Duration::from_secs(2));
    assert_eq!(PoolFull.to_string(), "pool is full");
    second.kill();
    first.kill();
}

#[test]
fn adding_a_member_twice_takes_one_slot() {
    let p = Pool::new(2);
    let g = Greenlet::new(|| ());
    p.add(&g);
    p.add(&g);
    assert_eq!(p.try_add(&g), Ok(()));
    assert_eq!((p.len(), p.free_count()), (1, 1));
    g.start();
    p.join();
    assert_eq!(p.free_count(), 2);
}

#[test]
fn unbounded_apply() {
    let p = Group::new();
    assert_eq!(p.apply(|| ("foo", 1)), ("foo", 1));
}

// ----- TestPool0, TestJoinSleep, TestJoinEmpty, TestSpawn -----

#[test]
fn pool_of_zero_is_always_full() {
    let p = Pool::new(0);
    assert_eq!(p.free_count(), 0);
    assert!(p.full());
    assert_eq!(p.wait_available_timeout(ms(10)), 0);
}

#[test]
fn join_timeout_on_a_busy_pool() {
    let p = Pool::new(10);
    let g = p.spawn(|| sleep(Duration::from_secs(10)));
    let t = Instant::now();
    assert!(!p.join_timeout(ms(20)));
    assert!(t.elapsed() >= ms(20) && t.elapsed() < Duration::from_secs(2));
    g.kill();
}

#[test]
fn join_on_an_empty_pool_returns_at_once() {
    let p = Pool::new(3);
    let t = Instant::now();
    p.join();
    assert!(p.join_timeout(Duration::ZERO));
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn spawn_waits_for_a_free_slot() {
    let p = Pool::new(1);
    assert_eq!(p.len(), 0);
    p.spawn(|| sleep(ms(100)));
    assert_eq!(p.len(), 1);
    let t = Instant::now();
    p.spawn(|| sleep(ms(100))); // waits until the first one finishes
    assert!(t.elapsed() >= ms(90), "{:?}", t.elapsed());
    assert_eq!(p.len(), 1);
    sleep(ms(190));
    assert_eq!(p.len(), 0);
}

#[test]
fn spawn_and_wait() {
    let p = Pool::new(1);
    p.spawn(|| sleep(ms(100)));
    assert_eq!(p.len(), 1);
    assert!(
        !p.join_timeout(ms(10)),
        "waiting on a full pool should return false"
    );
    p.join();
    assert_eq!(p.len(), 0);
}

#[test]
fn wait_available_waits_for_a_slot() {
    let p = Pool::new(1);
    p.spawn(|| sleep(ms(20)));
    assert!(p.full());
    let t = Instant::now();
    assert_eq!(p.wait_available(), 1);
    assert!(t.elapsed() >= ms(15));
    assert_eq!(p.wait_available_timeout(ms(10)), 1);
}

// ----- TestErrorInIterator, TestErrorInHandler -----

/// Yields 1 and 2, then panics.
fn error_iter() -> impl Iterator<Item = i32> {
    let mut n = 0;
    std::iter::from_fn(move || {
        n += 1;
        if n > 2 {
            panic::panic_any(ExpectedException);
        }
        Some(n)
    })
}

#[test]
fn error_in_iterator_map() {
    let p = Pool::new(3);
    let r = quietly(|| panic::catch_unwind(AssertUnwindSafe(|| p.map(|_x| (), error_iter()))));
    assert_eq!(
        r.unwrap_err().downcast_ref::<ExpectedException>(),
        Some(&ExpectedException)
    );
    sleep(ms(1));
}

#[test]
fn error_in_iterator_imap_unordered() {
    let p = Pool::new(3);
    let r: Vec<_> = quietly(|| p.imap_unordered(|x| x, error_iter()).collect());
    assert_eq!(r.len(), 3);
    assert_eq!(r[0].as_ref().unwrap() + r[1].as_ref().unwrap(), 3);
    assert!(
        r[2].as_ref().unwrap_err().is_panic(),
        "the iterator's panic comes last"
    );
}

fn divide_by(x: i32) -> i32 {
    10 / x
}

#[test]
fn error_in_handler_map() {
    let p = Pool::new(3);
    let r = quietly(|| panic::catch_unwind(AssertUnwindSafe(|| p.map(divide_by, [1, 0, 2]))));
    let p = r.unwrap_err();
    let msg = p.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("divide by zero"), "{msg}");
}

#[test]
fn error_in_handler_imap() {
    let p = Pool::new(1);
    let mut it = quietly(|| {
        let mut it = p.imap(divide_by, [1, 0, 2]);
        let first = it.next();
        let second = it.next();
        (first, second, it)
    });
    assert_eq!(it.0.unwrap().unwrap(), 10);
    assert!(it.1.unwrap().unwrap_err().is_panic());
    assert_eq!(it.2.next().unwrap().unwrap(), 5);
    assert!(it.2.next().is_none());
}

#[test]
fn error_in_handler_imap_unordered() {
    let p = Pool::new(1);
    let r: Vec<_> = quietly(|| p.imap_unordered(divide_by, [1, 0, 2]).collect());
    assert_eq!(r[0].as_ref().unwrap(), &10);
    assert!(r[1].as_ref().unwrap_err().is_panic());
    assert_eq!(r[2].as_ref().unwrap(), &5);
    assert_eq!(r.len(), 3);
}

// ----- beyond the port -----

#[test]
fn pool_of_two_never_runs_more_than_two() {
    let p = Pool::new(2);
    let (running, most, ran) = (
        Rc::new(Cell::new(0)),
        Rc::new(Cell::new(0)),
        Rc::new(Cell::new(0)),
    );
    let work = {
        let (running, most, ran) = (running.clone(), most.clone(), ran.clone());
        move |i: u64| {
            running.set(running.get() + 1);
            most.set(most.get().max(running.get()));
            sleep(ms(i % 3));
            running.set(running.get() - 1);
            ran.set(ran.get() + 1);
        }
    };
    for i in 0..10 {
        let w = work.clone();
        p.spawn(move || w(i));
        assert!(p.len() <= 2);
    }
    p.map(work.clone(), 0..10);
    let _: Vec<_> = p.imap_unordered(work.clone(), 0..10).collect();
    let _: Vec<_> = p.imap(work, 0..10).collect();
    p.join();
    assert_eq!(ran.get(), 40);
    assert_eq!(most.get(), 2);
}

#[test]
fn killing_a_caller_waiting_for_a_slot_takes_no_slot() {
    let p = Pool::new(1);
    let busy = p.spawn(|| sleep(Duration::from_secs(60)));
    let spawner = {
        let p = p.clone();
        spawn(move || {
            p.spawn(|| unreachable!("never spawned"));
        })
    };
    sleep(Duration::ZERO);
    spawner.kill();
    assert_eq!(p.len(), 1);
    busy.kill();
    sleep(Duration::ZERO);
    assert_eq!(p.free_count(), 1);
}

#[test]
fn slots_are_handed_out_in_request_order() {
    let p = Pool::new(1);
    p.spawn(|| sleep(ms(5)));
    let order: Rc<RefCell<Vec<i32>>> = Rc::default();
    let spawners: Vec<_> = (0..4)
        .map(|i| {
            let (p, order) = (p.clone(), order.clone());
            spawn(move || {
                p.spawn(move || ()).join();
                order.borrow_mut().push(i);
            })
        })
        .collect();
    gevent_hub::joinall(&spawners);
    assert_eq!(*order.borrow(), [0, 1, 2, 3]);
}

#[test]
fn debug_shows_size_and_use() {
    let p = Pool::new(4);
    p.spawn(|| ());
    let s = format!("{p:?}");
    assert!(s.contains("size: 4") && s.contains("len: 1"), "{s}");
    assert_eq!(p.size(), 4);
    assert_eq!(p.group().free_count(), 3);
    p.join();
}
