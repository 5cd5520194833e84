//! Ported from greenlet's `src/greenlet/tests/test_greenlet.py` (`test_threads`,
//! `test_thread_bug`, `test_switching_many_threads`, `TestRepr.test_main_from_other_thread`)
//! and `test_leaks.py` (`test_threaded_leak`: greenlets of an exiting thread are released).
//!
//! Python raises `greenlet.error` when a greenlet is switched to from another thread; here a
//! `Greenlet` is `!Send`, so that cannot be written (the `compile_fail` doctest on `Greenlet`).
//! What remains to check at run time: each thread has its own main greenlet, ids, stack pool
//! and hub, and many threads switching their own greenlets at once do not disturb each other.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use greenlet::{getcurrent, Greenlet, Value};
use support::{parent_switch, DropCounter};

/// `_do_simple_test` of the Python suite.
fn simple() {
    support::simple_interleaving();
}

/// `test_threads`: the simple test in ten threads at once.
#[test]
fn simple_in_ten_threads() {
    let ths: Vec<_> = (0..10).map(|_| thread::spawn(simple)).collect();
    for th in ths {
        th.join().unwrap();
    }
}

/// Each thread has its own main greenlet (id 0) and numbers its greenlets from 1.
#[test]
fn each_thread_has_its_own_main() {
    let ths: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(|| {
                let main = greenlet::main();
                assert!(main.is_main() && main.is_current());
                assert_eq!(main.id(), 0);
                assert_eq!(getcurrent(), main);
                let g = Greenlet::new(|_: Value| getcurrent().parent().unwrap().is_main());
                assert_eq!(g.id(), 1);
                assert!(g.switch(()).take::<bool>());
                assert!(format!("{main:?}").contains("running"));
            })
        })
        .collect();
    for th in ths {
        th.join().unwrap();
    }
}

/// `test_switching_many_threads`, our way: several threads ping-pong their own greenlets at
/// the same time; every thread sees exactly its own values.
#[test]
fn many_threads_switching_at_once() {
    const THREADS: usize = 6;
    const ROUNDS: u64 = 20_000;
    let barrier = Arc::new(Barrier::new(THREADS));
    let total = Arc::new(AtomicUsize::new(0));
    let ths: Vec<_> = (0..THREADS as u64)
        .map(|t| {
            let (barrier, total) = (barrier.clone(), total.clone());
            thread::spawn(move || {
                let echo = Greenlet::new(move |v: Value| {
                    let mut v = v.take::<u64>();
                    loop {
                        v = parent_switch(v + 1).take::<u64>();
                    }
                });
                barrier.wait();
                let mut x = t * 1_000_000_000;
                for _ in 0..ROUNDS {
                    x = echo.switch(x).take::<u64>();
                }
                assert_eq!(x, t * 1_000_000_000 + ROUNDS);
                total.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    for th in ths {
        th.join().unwrap();
    }
    assert_eq!(total.load(Ordering::Relaxed), THREADS);
}

/// `test_thread_bug`: greenlets that block their thread (a sleep) in two threads.
#[test]
fn greenlets_blocking_in_two_threads() {
    let runner = |ms: u64| {
        thread::spawn(move || {
            let g = Greenlet::new(move |_: Value| thread::sleep(Duration::from_millis(ms)));
            g.switch(());
            assert!(g.is_dead());
        })
    };
    let (t1, t2) = (runner(20), runner(30));
    t1.join().unwrap();
    t2.join().unwrap();
}

/// Suspended greenlets dropped before their thread exits are killed there (their `Drop`s run
/// on that thread); the thread then exits normally.
#[test]
fn greenlets_killed_before_thread_exit() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    thread::spawn(move || {
        let local = Rc::new(Cell::new(0));
        let gs: Vec<Greenlet> = (0..100)
            .map(|_| {
                let l = local.clone();
                Greenlet::new(move |_: Value| {
                    let _guard = DropCounter(l);
                    parent_switch(());
                })
            })
            .collect();
        for g in &gs {
            g.switch(());
        }
        drop(gs);
        d.store(local.get(), Ordering::Relaxed);
    })
    .join()
    .unwrap();
    assert_eq!(drops.load(Ordering::Relaxed), 100);
}

thread_local! {
    /// A greenlet left suspended in a thread-local until the thread exits.
    static KEPT: std::cell::RefCell<Option<Greenlet>> = const { std::cell::RefCell::new(None) };
}

/// A thread that exits with a suspended greenlet still referenced (from a thread-local, whose
/// destruction order is unspecified) does not crash; the greenlet is killed or leaked.
#[test]
fn thread_exit_with_suspended_greenlet_does_not_crash() {
    for _ in 0..20 {
        thread::spawn(|| {
            let g = Greenlet::new(|_: Value| loop {
                parent_switch(());
            });
            g.switch(());
            KEPT.with(|k| *k.borrow_mut() = Some(g));
        })
        .join()
        .unwrap();
    }
}

/// Each thread has its own default stack size and hub.
#[test]
fn per_thread_settings() {
    greenlet::set_default_stack_size(64 * 1024);
    thread::spawn(|| {
        assert_eq!(greenlet::default_stack_size(), greenlet::DEFAULT_STACK_SIZE);
        assert!(greenlet::hub().is_none());
    })
    .join()
    .unwrap();
    assert_eq!(Greenlet::new(|_: Value| ()).stack_size(), 64 * 1024);
    greenlet::set_default_stack_size(greenlet::DEFAULT_STACK_SIZE);
}
