//! Helpers shared by the hub's tests.

#![allow(dead_code)] // each test file uses a different subset

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{get_hub, sleep, ErrorReport};

/// An ordered record of what happened, shared between greenlets.
pub type Log<T = String> = Rc<RefCell<Vec<T>>>;

/// A fresh, empty log.
pub fn log<T>() -> Log<T> {
    Rc::new(RefCell::new(Vec::new()))
}

/// Appends `item` to `log`.
pub fn push<T>(log: &Log<T>, item: T) {
    log.borrow_mut().push(item);
}

/// A copy of what `log` holds.
pub fn seen<T: Clone>(log: &Log<T>) -> Vec<T> {
    log.borrow().clone()
}

/// Counts its drops: the tests' `finally:` block.
pub struct DropCounter(pub Rc<Cell<usize>>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// A shared counter.
pub fn counter() -> Rc<Cell<usize>> {
    Rc::new(Cell::new(0))
}

/// Replaces this thread's error handler with one that records every report (instead of
/// printing it); returns the record. Reset with `get_hub().reset_error_handler()`.
pub fn capture_errors() -> Log<ErrorReport> {
    let reports = log();
    let r = reports.clone();
    get_hub().set_error_handler(move |e| r.borrow_mut().push(e.clone()));
    reports
}

/// Lets the hub run (sleeping a few milliseconds at a time) until `cond` holds or `max` has
/// passed; returns whether it held.
pub fn wait_until(max: Duration, cond: impl Fn() -> bool) -> bool {
    let t = Instant::now();
    while !cond() {
        if t.elapsed() > max {
            return false;
        }
        sleep(Duration::from_millis(2));
    }
    true
}

/// Runs `f` and returns how long it took.
pub fn timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

/// gevent's `runs_in_no_time`: generous, machines here are shared and noisy.
pub const NO_TIME: Duration = Duration::from_millis(500);

/// gevent's `SMALL_TICK`.
pub const SMALL_TICK: Duration = Duration::from_millis(50);
