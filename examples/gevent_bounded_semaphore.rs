//! A `BoundedSemaphore(2)`: at most two greenlets hold it at once, and releasing it more
//! often than it was acquired is an error.
//!
//! From gevent's documentation of `BoundedSemaphore` (and the tutorial's "Locks and
//! Semaphores"): `sem.acquire()` / `sem.release()`, or `with sem:`, here a guard from
//! `sem.lock()` that releases when dropped. Workers 0 and 1 use the first form, workers 3, 4
//! and 5 the second; worker 5 waits until worker 3 lets go.
//!
//! Run it with `cargo run --example gevent_bounded_semaphore`.

use std::time::Duration;

use gevent::lock::BoundedSemaphore;

/// `sem.acquire()` ... `sem.release()`.
fn worker1(sem: BoundedSemaphore, n: u32) {
    sem.acquire();
    println!("Worker {n} acquired semaphore");
    gevent::sleep(Duration::ZERO);
    sem.release();
    println!("Worker {n} released semaphore");
}

/// `with sem:`.
fn worker2(sem: BoundedSemaphore, n: u32) {
    let _guard = sem.lock();
    println!("Worker {n} acquired semaphore");
    gevent::sleep(Duration::ZERO);
    println!("Worker {n} released semaphore");
}

/// Runs the example.
pub fn main() {
    let sem = BoundedSemaphore::new(2);
    let gs: Vec<_> = (0..2)
        .map(|n| {
            let sem = sem.clone();
            gevent::spawn(move || worker1(sem, n))
        })
        .collect();
    gevent::joinall(&gs);
    let gs: Vec<_> = (3..6)
        .map(|n| {
            let sem = sem.clone();
            gevent::spawn(move || worker2(sem, n))
        })
        .collect();
    gevent::joinall(&gs);

    println!("counter: {}", sem.counter());
    match sem.try_release() {
        Ok(()) => println!("released"),
        Err(e) => println!("one release too many: {e}"),
    }
}
