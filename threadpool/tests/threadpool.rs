//! The thread pool: parallel jobs while the hub keeps switching, errors, limits, expiry.
//!
//! Ported from gevent's `src/gevent/tests/test__threadpool.py` (`test_execute_async`,
//! `test_apply`, `test_apply_raises`, `test_map`, `test_async`, `test_async_timeout`,
//! `TestPool2.test_recursive_apply`, `TestMaxsize.test_inc`, `TestMaxsize.test_setzero`,
//! `TestSize`).

use std::cell::Cell;
use std::panic;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gevent_event::AsyncResult;
use gevent_hub::{joinall, sleep, spawn};
use gevent_threadpool::{self as threadpool, ThreadPool};

/// Runs `f` with the default panic hook silenced (jobs that panic on purpose).
fn quietly<R>(f: impl FnOnce() -> R) -> R {
    let prev = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let r = f();
    panic::set_hook(prev);
    r
}

/// Eight 200 ms jobs run in parallel while a greenlet keeps ticking on the hub (in turn they
/// would take 1.6 s; the bound is five times the expected 200 ms).
#[test]
fn eight_jobs_in_parallel_while_the_hub_ticks() {
    let pool = ThreadPool::new(8);
    let ticks = Rc::new(Cell::new(0u32));
    let t2 = ticks.clone();
    let ticker = spawn(move || loop {
        sleep(Duration::from_millis(5));
        t2.set(t2.get() + 1);
    });
    let t = Instant::now();
    let jobs: Vec<AsyncResult<u64>> = (0..8)
        .map(|i| {
            pool.spawn(move || {
                std::thread::sleep(Duration::from_millis(200));
                i
            })
        })
        .collect();
    joinall(&jobs);
    let took = t.elapsed();
    let results: Vec<u64> = jobs.iter().map(|j| j.get().unwrap()).collect();
    assert_eq!(results, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert!(took >= Duration::from_millis(200));
    assert!(took < Duration::from_secs(1), "{took:?}: not parallel");
    // About 40 ticks of 5 ms on a quiet machine; a blocked hub would give none.
    assert!(
        ticks.get() >= 5,
        "the hub ticked only {} times",
        ticks.get()
    );
    assert!(pool.size() <= 8);
    ticker.kill();
}

/// `test_execute_async`: jobs submitted without waiting run soon.
#[test]
fn execute_async() {
    let pool = ThreadPool::new(2);
    let r = Arc::new(Mutex::new(Vec::new()));
    let r2 = r.clone();
    pool.spawn(move || r2.lock().unwrap().push(1))
        .get()
        .unwrap();
    assert_eq!(*r.lock().unwrap(), [1]);
    let jobs: Vec<_> = (2..=4)
        .map(|i| {
            let r = r.clone();
            pool.spawn(move || r.lock().unwrap().push(i))
        })
        .collect();
    joinall(&jobs);
    let mut seen = r.lock().unwrap().clone();
    seen.sort_unstable();
    assert_eq!(seen, [1, 2, 3, 4]);
}

/// `test_apply`, `test_map`.
#[test]
fn apply_and_map() {
    let pool = ThreadPool::new(3);
    assert_eq!(pool.apply(|| ("foo", 1)), ("foo", 1));
    let sqr = |x: u64| x * x;
    assert_eq!(pool.map(sqr, 0..10), (0..10).map(sqr).collect::<Vec<_>>());
    assert_eq!(pool.map(sqr, 0..100), (0..100).map(sqr).collect::<Vec<_>>());
}

/// `test_apply_raises`: a panic in a job is the job's error, and `apply` re-raises it.
#[test]
fn panics_come_back() {
    let pool = ThreadPool::new(1);
    let e = quietly(|| {
        pool.spawn(|| -> u8 { panic!("expected") })
            .get()
            .unwrap_err()
    });
    assert!(e.is_panic());
    assert_eq!(e.message(), "expected");
    let caught = quietly(|| {
        panic::catch_unwind(panic::AssertUnwindSafe(|| {
            pool.apply(|| -> u8 { panic::panic_any(7u32) })
        }))
    });
    assert_eq!(*caught.unwrap_err().downcast::<u32>().unwrap(), 7);
    // The worker survived the panics.
    assert_eq!(pool.apply(|| 1), 1);
}

/// `test_async` / `test_async_timeout`.
#[test]
fn get_with_timeout() {
    let pool = ThreadPool::new(1);
    let r = pool.spawn(|| {
        std::thread::sleep(Duration::from_millis(100));
        49
    });
    let t = Instant::now();
    assert!(r.get_timeout(Duration::from_millis(20)).is_none());
    assert!(t.elapsed() >= Duration::from_millis(19));
    assert!(!r.ready());
    assert_eq!(r.get().unwrap(), 49);
    assert!(r.successful());
    assert!(r.wait_timeout(Duration::ZERO));
}

/// `TestPool2.test_recursive_apply`: a job that itself uses the pool (and the hub of its own
/// thread).
#[test]
fn recursive_apply() {
    let pool = ThreadPool::new(2);
    let p2 = pool.clone();
    let r = pool.apply(move || {
        p2.apply(|| {
            gevent_hub::sleep(Duration::ZERO);
            gevent_hub::sleep(Duration::from_millis(1));
            "B"
        })
    });
    assert_eq!(r, "B");
}

/// The pool never runs more than `maxsize` threads; extra jobs wait their turn.
#[test]
fn size_limit() {
    let pool = ThreadPool::new(2);
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let jobs: Vec<_> = (0..8)
        .map(|_| {
            let (running, peak) = (running.clone(), peak.clone());
            pool.spawn(move || {
                let n = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    assert!(pool.size() <= 2);
    joinall(&jobs);
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    assert_eq!(pool.maxsize(), 2);
}

/// `TestMaxsize.test_inc`: a pool of maxsize 0 queues; raising it runs the queue.
#[test]
fn maxsize_zero_then_raised() {
    let pool = ThreadPool::new(0);
    let done = Arc::new(Mutex::new(Vec::new()));
    let jobs: Vec<_> = (1..=2)
        .map(|i| {
            let d = done.clone();
            pool.spawn(move || d.lock().unwrap().push(i))
        })
        .collect();
    sleep(Duration::from_millis(20));
    assert!(done.lock().unwrap().is_empty());
    assert_eq!(pool.queued(), 2);
    pool.set_maxsize(1);
    joinall(&jobs);
    assert_eq!(*done.lock().unwrap(), [1, 2]);
}

/// `TestMaxsize.test_setzero`: lowering maxsize to 0 lets threads go once their jobs end.
#[test]
fn maxsize_set_to_zero_stops_threads() {
    let pool = ThreadPool::new(3);
    let jobs: Vec<_> = [100u64, 150, 200]
        .into_iter()
        .map(|ms| pool.spawn(move || std::thread::sleep(Duration::from_millis(ms))))
        .collect();
    sleep(Duration::from_millis(50));
    assert!(pool.size() >= 2);
    pool.set_maxsize(0);
    joinall(&jobs);
    let t = Instant::now();
    while pool.size() > 0 && t.elapsed() < Duration::from_secs(2) {
        sleep(Duration::from_millis(5));
    }
    assert_eq!(pool.size(), 0);
}

/// Idle threads expire; the next job starts a new one.
#[test]
fn idle_threads_expire() {
    let pool = ThreadPool::new(2);
    pool.set_idle_timeout(Duration::from_millis(50));
    pool.map(
        |_: u8| std::thread::sleep(Duration::from_millis(10)),
        [0, 1],
    );
    assert!(pool.size() >= 1);
    let t = Instant::now();
    while pool.size() > 0 && t.elapsed() < Duration::from_secs(3) {
        sleep(Duration::from_millis(10));
    }
    assert_eq!(pool.size(), 0);
    assert_eq!(pool.apply(|| 5), 5);
}

/// Worker threads are named; the thread's default pool is one pool.
#[test]
fn names_and_the_default_pool() {
    let name = threadpool::default().apply(|| std::thread::current().name().map(String::from));
    assert!(name.unwrap().starts_with("gevent-threadpool-"));
    assert_eq!(threadpool::default().maxsize(), threadpool::DEFAULT_MAXSIZE);
    assert_eq!(threadpool::default().size(), 1);
}

/// Waiting only for the pool from the main greenlet is not "blocked forever".
#[test]
fn main_greenlet_waits_for_the_pool_without_loop_exit() {
    let pool = ThreadPool::new(1);
    let v = pool.apply(|| {
        std::thread::sleep(Duration::from_millis(30));
        "ok"
    });
    assert_eq!(v, "ok");
}

/// A killed waiter abandons the result; the job still runs and the pool stays usable.
#[test]
fn killed_waiter_abandons_the_result() {
    let pool = ThreadPool::new(1);
    let ran = Arc::new(AtomicUsize::new(0));
    let (p2, r2) = (pool.clone(), ran.clone());
    let g = spawn(move || {
        p2.apply(move || {
            std::thread::sleep(Duration::from_millis(30));
            r2.fetch_add(1, Ordering::SeqCst);
        })
    });
    sleep(Duration::from_millis(5));
    g.kill();
    assert!(g.get().unwrap_err().is_killed());
    assert_eq!(pool.apply(|| 2), 2); // queued behind the abandoned job
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}
