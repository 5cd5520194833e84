//! `RLock` and `Lock`: the semantics of gevent's src/gevent/lock.py `RLock` (re-entrant for its
//! owner, "cannot release un-acquired lock" for others) and `Semaphore(1)` as a lock.
//!
//! gevent's src/gevent/tests/test__lock.py itself is not ported: it holds only multi-thread
//! (`TestRLockMultiThread`) and fork tests; locks are `!Send` here.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{joinall, sleep, spawn};
use gevent_lock::{Lock, NotOwner, RLock};

/// The owner may acquire again; the lock is free once every acquire is matched.
#[test]
fn rlock_is_reentrant() {
    let l = RLock::new();
    l.acquire();
    l.acquire();
    assert!(l.try_acquire());
    assert_eq!(l.count(), 3);
    assert!(l.is_owned() && l.locked());
    l.release();
    l.release();
    assert!(l.locked());
    l.release();
    assert!(!l.locked());
    assert_eq!(l.count(), 0);
}

/// Another greenlet waits until the owner released every level.
#[test]
fn rlock_other_greenlet_waits_for_the_last_release() {
    let l = RLock::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    l.acquire();
    l.acquire();
    let (l2, log2) = (l.clone(), log.clone());
    let other = spawn(move || {
        let _g = l2.lock();
        log2.borrow_mut().push("other");
        assert!(l2.is_owned());
    });
    sleep(Duration::from_millis(2));
    log.borrow_mut().push("release 1");
    l.release();
    sleep(Duration::from_millis(2));
    log.borrow_mut().push("release 2");
    l.release();
    other.get().unwrap();
    assert_eq!(*log.borrow(), ["release 1", "release 2", "other"]);
    assert!(!l.locked());
}

/// Releasing from a greenlet that does not own it is an error (gevent's RuntimeError);
/// nothing changes.
#[test]
fn rlock_release_by_non_owner() {
    let l = RLock::new();
    assert_eq!(l.try_release(), Err(NotOwner));
    let r = catch_unwind(AssertUnwindSafe(|| l.release()));
    let msg = r.unwrap_err().downcast::<String>().unwrap();
    assert_eq!(*msg, "RLock::release: cannot release un-acquired lock");

    l.acquire();
    let l2 = l.clone();
    let other = spawn(move || l2.try_release());
    assert_eq!(other.get().unwrap(), Err(NotOwner));
    assert!(l.is_owned());
    assert_eq!(l.count(), 1);
    l.release();
}

/// The owner keeps the lock across its waits; others cannot take it meanwhile.
#[test]
fn rlock_owner_across_waits() {
    let l = RLock::new();
    let l2 = l.clone();
    let owner = spawn(move || {
        let _a = l2.lock();
        sleep(Duration::from_millis(5));
        let _b = l2.lock();
        assert_eq!(l2.count(), 2);
        sleep(Duration::from_millis(5));
    });
    sleep(Duration::from_millis(1));
    assert!(l.locked() && !l.is_owned());
    assert!(!l.try_acquire());
    assert!(!l.acquire_timeout(Duration::from_millis(2)));
    owner.get().unwrap();
    assert!(!l.locked());
    assert!(l.try_acquire());
    l.release();
}

/// A killed owner releases through its guards; a killed waiter never owns it.
#[test]
fn rlock_kill_safety() {
    let l = RLock::new();
    let l2 = l.clone();
    let owner = spawn(move || {
        let _a = l2.lock();
        let _b = l2.lock();
        sleep(Duration::from_secs(60));
    });
    let l3 = l.clone();
    let waiter = spawn(move || {
        let _g = l3.lock();
        unreachable!("killed before it got the lock");
    });
    sleep(Duration::ZERO);
    assert_eq!(l.waiter_count(), 1);
    waiter.kill();
    assert_eq!(l.waiter_count(), 0);
    owner.kill();
    assert!(!l.locked());
    assert!(l.try_acquire() && l.is_owned());
    l.release();
}

/// Waiters get the lock in FIFO order.
#[test]
fn rlock_fifo() {
    let l = RLock::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let held = l.lock();
    let gs: Vec<_> = (0..10)
        .map(|i| {
            let (l, log) = (l.clone(), log.clone());
            spawn(move || {
                let _g = l.lock();
                let _again = l.lock();
                log.borrow_mut().push(i);
                sleep(Duration::ZERO);
            })
        })
        .collect();
    sleep(Duration::ZERO);
    drop(held);
    joinall(&gs);
    assert_eq!(*log.borrow(), (0..10).collect::<Vec<_>>());
    assert!(!l.locked());
}

/// `Lock`: mutual exclusion, in FIFO order.
#[test]
fn lock_mutual_exclusion() {
    let lock = Lock::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let gs: Vec<_> = (0..3)
        .map(|i| {
            let (lock, log) = (lock.clone(), log.clone());
            spawn(move || {
                let _held = lock.lock();
                log.borrow_mut().push((i, "in"));
                sleep(Duration::from_millis(1));
                log.borrow_mut().push((i, "out"));
            })
        })
        .collect();
    joinall(&gs);
    assert_eq!(
        *log.borrow(),
        [
            (0, "in"),
            (0, "out"),
            (1, "in"),
            (1, "out"),
            (2, "in"),
            (2, "out")
        ]
    );
    assert!(!lock.locked());
}

/// `Lock` is not re-entrant, and releasing it unlocked is an error.
#[test]
fn lock_release_unlocked() {
    let lock = Lock::new();
    assert!(lock.try_release().is_err());
    let r = catch_unwind(AssertUnwindSafe(|| lock.release()));
    let msg = r.unwrap_err().downcast::<&str>().unwrap();
    assert_eq!(*msg, "Lock::release: the lock is not locked");
    lock.acquire();
    assert!(!lock.try_acquire());
    assert!(!lock.acquire_timeout(Duration::from_millis(1)));
    lock.release();
    assert!(!lock.locked());
    assert_eq!(format!("{lock:?}"), "Lock { locked: false, waiters: 0 }");
}

/// A `Lock` handed to a waiter that is killed before it runs goes to the next waiter.
#[test]
fn lock_kill_after_hand_off() {
    let lock = Lock::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let held = lock.lock();
    let gs: Vec<_> = (0..2)
        .map(|i| {
            let (lock, log) = (lock.clone(), log.clone());
            spawn(move || {
                let _g = lock.lock();
                log.borrow_mut().push(i);
            })
        })
        .collect();
    sleep(Duration::ZERO);
    drop(held);
    gs[0].kill();
    gs[1].join();
    assert_eq!(*log.borrow(), [1]);
    assert!(!lock.locked());
}
