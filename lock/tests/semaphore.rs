//! Ported from gevent's src/gevent/tests/test__semaphore.py, plus FIFO, no-barging and kill
//! safety tests.
//!
//! Not ported: the multi-thread tests (`TestSemaphoreMultiThread`, the dueling threads), since
//! semaphores are `!Send` here and the compiler refuses them; the weakref, `__del__` and C
//! extension tests.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{get_hub, joinall, sleep, spawn, wait, Greenlet, LoopExit, Waitable};
use gevent_lock::{BoundedSemaphore, Semaphore};

/// Issue 39: `acquire(timeout)` returns false after the timeout.
#[test]
fn acquire_returns_false_after_timeout() {
    let s = Semaphore::new(0);
    let t = Instant::now();
    assert!(!s.acquire_timeout(Duration::from_millis(10)));
    assert!(t.elapsed() >= Duration::from_millis(9));
    assert_eq!(s.waiter_count(), 0);
    assert_eq!(s.counter(), 0);
}

/// test_release_twice: registrations (gevent's rawlink) fire on release.
#[test]
fn release_twice_fires_registrations() {
    let s = Semaphore::new(0);
    let result = Rc::new(RefCell::new(Vec::new()));
    let r = result.clone();
    s.add_waiter(Rc::new(move || r.borrow_mut().push('a')));
    s.release();
    let r = result.clone();
    s.add_waiter(Rc::new(move || r.borrow_mut().push('b')));
    s.release();
    sleep(Duration::from_millis(1));
    let mut got = result.borrow().clone();
    got.sort();
    assert_eq!(got, ['a', 'b']);
}

/// test_rawlink_on_unacquired_runs_notifiers (gevent #1287): waiting on a ready semaphore
/// returns at once instead of raising LoopExit.
#[test]
fn wait_on_unacquired_semaphore() {
    let s = Semaphore::new(1);
    assert_eq!(wait(std::slice::from_ref(&s), None), [0]);
    s.wait();
    assert_eq!(s.counter(), 1);
}

/// `wait` until a permit is available, without taking it.
#[test]
fn wait_until_released() {
    let s = Semaphore::new(0);
    let s2 = s.clone();
    spawn(move || {
        sleep(Duration::from_millis(5));
        s2.release();
    });
    assert!(s.wait_timeout(Duration::from_secs(5)));
    assert_eq!(s.counter(), 1);
    assert!(!Semaphore::new(0).wait_timeout(Duration::from_millis(2)));
}

fn acquire_then_exit(sem: Semaphore, should_quit: Rc<Cell<bool>>) {
    sem.acquire();
    should_quit.set(true);
}

fn acquire_then_spawn(sem: Semaphore, should_quit: Rc<Cell<bool>>) {
    if should_quit.get() {
        return;
    }
    sem.acquire();
    let g = spawn(move || release_then_spawn(sem, should_quit));
    g.join();
}

fn release_then_spawn(sem: Semaphore, should_quit: Rc<Cell<bool>>) {
    sem.release();
    if should_quit.get() {
        return;
    }
    let g = spawn(move || acquire_then_spawn(sem, should_quit));
    g.join();
}

/// TestSemaphoreFair.test_fair_or_hangs (gevent #1487): if the semaphore were not fair, the
/// two greenlets that keep re-acquiring would starve the third and this would spin forever.
#[test]
fn fair_or_hangs() {
    let sem = Semaphore::new(1);
    let should_quit = Rc::new(Cell::new(false));
    let (s, q) = (sem.clone(), should_quit.clone());
    let keep_going1 = spawn(move || acquire_then_spawn(s, q));
    let (s, q) = (sem.clone(), should_quit.clone());
    let keep_going2 = spawn(move || acquire_then_spawn(s, q));
    let (s, q) = (sem.clone(), should_quit.clone());
    let exiting = spawn(move || acquire_then_exit(s, q));

    let gs = [keep_going1.clone(), keep_going2.clone(), exiting.clone()];
    let r = catch_unwind(AssertUnwindSafe(|| joinall(&gs)));
    assert!(r.unwrap_err().is::<LoopExit>());

    assert!(exiting.dead());
    assert!(keep_going2.dead());
    assert!(!keep_going1.dead());

    sem.release();
    keep_going1.kill();
    keep_going2.kill();
    exiting.kill();
    gevent_hub::idle();
}

/// Spawns a greenlet that acquires `s`, logs its number, holds for `hold`, and releases.
fn worker(s: &Semaphore, i: usize, log: &Rc<RefCell<Vec<usize>>>, hold: Duration) -> Greenlet<()> {
    let (s, log) = (s.clone(), log.clone());
    spawn(move || {
        let _p = s.lock();
        log.borrow_mut().push(i);
        sleep(hold);
    })
}

/// Released permits go to the waiters in the order they came.
#[test]
fn fifo_order() {
    let s = Semaphore::new(0);
    let log = Rc::new(RefCell::new(Vec::new()));
    let gs: Vec<_> = (0..20)
        .map(|i| worker(&s, i, &log, Duration::ZERO))
        .collect();
    sleep(Duration::ZERO);
    assert_eq!(s.waiter_count(), 20);
    s.release();
    joinall(&gs);
    assert_eq!(*log.borrow(), (0..20).collect::<Vec<_>>());
    assert_eq!(s.counter(), 1);
}

/// A permit released while a greenlet waits is not taken by a newcomer that tries first.
#[test]
fn no_barging() {
    let s = Semaphore::new(1);
    s.acquire();
    let s2 = s.clone();
    let waiter = spawn(move || s2.acquire_timeout(Duration::from_secs(5)));
    sleep(Duration::ZERO);
    s.release(); // handed to `waiter`, which has not run yet
    assert!(
        !s.try_acquire(),
        "a newcomer must not take the waiter's permit"
    );
    assert_eq!(s.counter(), 0);
    assert!(waiter.get().unwrap());
    assert_eq!(s.counter(), 0);
}

/// A killed waiter takes no permit and loses none.
#[test]
fn killed_waiter_consumes_nothing() {
    let s = Semaphore::new(0);
    let log = Rc::new(RefCell::new(Vec::new()));
    let w1 = worker(&s, 1, &log, Duration::ZERO);
    let w2 = worker(&s, 2, &log, Duration::ZERO);
    sleep(Duration::ZERO);
    w1.kill();
    assert!(w1.get().unwrap_err().is_killed());
    assert_eq!(s.waiter_count(), 1);
    s.release();
    w2.join();
    assert_eq!(*log.borrow(), [2]);
    assert_eq!(s.counter(), 1);
}

/// A waiter handed a permit and killed before it ran passes the permit to the next waiter.
#[test]
fn waiter_killed_after_hand_off_passes_the_permit_on() {
    let s = Semaphore::new(0);
    let log = Rc::new(RefCell::new(Vec::new()));
    let w1 = worker(&s, 1, &log, Duration::ZERO);
    let w2 = worker(&s, 2, &log, Duration::ZERO);
    sleep(Duration::ZERO);
    s.release(); // handed to w1, which has not run
    w1.kill();
    assert!(w1.get().unwrap_err().is_killed());
    w2.join();
    assert_eq!(*log.borrow(), [2], "w1 never entered");
    assert_eq!(s.counter(), 1);
    assert_eq!(s.waiter_count(), 0);
}

/// A waiter that times out takes no permit, and leaves no entry.
#[test]
fn timed_out_waiter_consumes_nothing() {
    let s = Semaphore::new(0);
    let s2 = s.clone();
    let w = spawn(move || s2.acquire_timeout(Duration::from_millis(5)));
    assert!(!w.get().unwrap());
    assert_eq!(s.waiter_count(), 0);
    s.release();
    assert_eq!(s.counter(), 1);
}

/// The waiter's timer fires and, in the same turn of the loop, a permit is released before
/// the waiter runs: the permit is not lost (it goes to the counter).
#[test]
fn timeout_then_release_in_the_same_turn() {
    let s = Semaphore::new(0);
    let s2 = s.clone();
    let w = spawn(move || s2.acquire_timeout(Duration::from_millis(1)));
    sleep(Duration::ZERO); // w parks; its timer is due in 1 ms
    let s3 = s.clone();
    let _t = get_hub().call_later(Duration::from_millis(2), move || s3.release());
    std::thread::sleep(Duration::from_millis(10)); // both are due when the hub looks
    assert!(!w.get().unwrap());
    assert_eq!(s.counter(), 1);
    assert_eq!(s.waiter_count(), 0);
}

/// The reverse: the release comes first in the turn, the waiter's timer after: it keeps the
/// permit.
#[test]
fn release_then_timeout_in_the_same_turn() {
    let s = Semaphore::new(0);
    let s3 = s.clone();
    let _t = get_hub().call_later(Duration::from_millis(1), move || s3.release());
    let s2 = s.clone();
    let w = spawn(move || s2.acquire_timeout(Duration::from_millis(2)));
    sleep(Duration::ZERO);
    std::thread::sleep(Duration::from_millis(10));
    assert!(w.get().unwrap());
    assert_eq!(s.counter(), 0);
}

/// A greenlet killed while it holds a guard releases as it unwinds.
#[test]
fn killed_holder_releases() {
    let s = Semaphore::new(1);
    let s2 = s.clone();
    let holder = spawn(move || {
        let _p = s2.lock();
        sleep(Duration::from_secs(60));
    });
    sleep(Duration::ZERO);
    assert_eq!(s.counter(), 0);
    holder.kill();
    assert_eq!(s.counter(), 1);
}

/// The semaphore limits concurrency to its count.
#[test]
fn limits_concurrency() {
    let s = Semaphore::new(3);
    let inside = Rc::new(Cell::new(0));
    let most = Rc::new(Cell::new(0));
    let gs: Vec<_> = (0..30)
        .map(|i| {
            let (s, inside, most) = (s.clone(), inside.clone(), most.clone());
            spawn(move || {
                let _p = s.lock();
                inside.set(inside.get() + 1);
                most.set(most.get().max(inside.get()));
                sleep(Duration::from_millis(i % 3));
                inside.set(inside.get() - 1);
            })
        })
        .collect();
    joinall(&gs);
    assert_eq!(most.get(), 3);
    assert_eq!(s.counter(), 3);
}

/// `try_lock`, `lock_timeout`, and `Debug`.
#[test]
fn guards_and_debug() {
    let s = Semaphore::new(1);
    let g = s.try_lock().unwrap();
    assert!(s.try_lock().is_none());
    assert!(s.lock_timeout(Duration::from_millis(1)).is_none());
    assert_eq!(format!("{s:?}"), "Semaphore { counter: 0, waiters: 0 }");
    drop(g);
    assert!(s.lock_timeout(Duration::from_millis(1)).is_some());
    assert_eq!(s.counter(), 1);
}

/// BoundedSemaphore: releasing past the bound is an error, and `release` panics with a clear
/// message; nothing changes.
#[test]
fn bounded_release_past_the_bound() {
    let s = BoundedSemaphore::new(2);
    assert_eq!(s.try_release().unwrap_err().bound(), 2);
    let r = catch_unwind(AssertUnwindSafe(|| s.release()));
    let msg = r.unwrap_err().downcast::<String>().unwrap();
    assert_eq!(
        *msg,
        "BoundedSemaphore::release: semaphore released too many times (bound 2)"
    );
    assert_eq!(s.counter(), 2);
    s.acquire();
    s.release();
    assert_eq!(s.counter(), 2);
    assert_eq!(
        format!("{s:?}"),
        "BoundedSemaphore { counter: 2, bound: 2, waiters: 0 }"
    );
}

/// BoundedSemaphore hands permits to waiters like Semaphore.
#[test]
fn bounded_with_waiters() {
    let s = BoundedSemaphore::new(1);
    let held = s.lock();
    let s2 = s.clone();
    let w = spawn(move || {
        let _p = s2.lock();
        7
    });
    sleep(Duration::ZERO);
    assert_eq!(s.waiter_count(), 1);
    drop(held);
    assert_eq!(w.get().unwrap(), 7);
    assert_eq!(s.counter(), 1);
}

/// The main greenlet waiting on a semaphore nobody can release gets LoopExit, and leaves no
/// entry behind.
#[test]
fn acquire_forever_is_loop_exit() {
    let s = Semaphore::new(0);
    let r = catch_unwind(AssertUnwindSafe(|| s.acquire()));
    assert!(r.unwrap_err().is::<LoopExit>());
    assert_eq!(s.waiter_count(), 0);
    s.release();
    assert_eq!(s.counter(), 1);
}

/// `release` from a hub callback wakes a waiter.
#[test]
fn release_from_the_hub() {
    let s = Semaphore::new(0);
    let s2 = s.clone();
    get_hub().run_callback(move || s2.release());
    s.acquire();
    assert_eq!(s.counter(), 0);
}

/// Many waiters timing out in a different order from their arrival leave nothing behind.
#[test]
fn many_timeouts_leave_nothing() {
    let s = Semaphore::new(0);
    let gs: Vec<_> = (0..200u64)
        .map(|i| {
            let s = s.clone();
            spawn(move || s.acquire_timeout(Duration::from_millis(1 + (i * 7919) % 20)))
        })
        .collect();
    joinall(&gs);
    assert!(gs.iter().all(|g| !g.get().unwrap()));
    assert_eq!(s.waiter_count(), 0);
    s.release();
    assert_eq!(s.counter(), 1);
}
