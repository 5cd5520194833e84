//! Waits inside destructors that run while their greenlet unwinds (a graceful close during a
//! kill): a second kill or a timeout is recorded, never raised there (raising would abort the
//! process: "panic in a destructor during cleanup"), and it is not lost.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{
    park_no_unwind, sleep, spawn, throw_into, throw_timeout_into, InterruptKind, KillOptions,
    ParkError,
};
use greenlet::GreenletExit;

/// Kill without waiting for the greenlet to die.
const NO_BLOCK: KillOptions = KillOptions {
    block: false,
    timeout: None,
};

/// A value whose destructor waits (like a socket's graceful close), then records that it
/// finished.
struct SlowClose {
    /// How long the close waits.
    wait: Duration,
    /// Set once the close has finished.
    closed: Rc<Cell<bool>>,
}

impl Drop for SlowClose {
    fn drop(&mut self) {
        sleep(self.wait);
        self.closed.set(true);
    }
}

#[test]
fn a_second_kill_during_a_waiting_destructor_is_recorded_not_raised() {
    let closed = Rc::new(Cell::new(false));
    let c = closed.clone();
    let g = spawn(move || {
        let _conn = SlowClose {
            wait: Duration::from_millis(30),
            closed: c,
        };
        sleep(Duration::from_secs(60));
    });
    sleep(Duration::ZERO);
    g.kill_with(NO_BLOCK);
    sleep(Duration::from_millis(5)); // it unwinds, and waits in `SlowClose::drop`
    assert!(!g.dead() && !closed.get());
    // Two more kills while it closes: before the fix, the process aborted here.
    g.kill_with(NO_BLOCK);
    throw_into(&g.raw().unwrap(), Box::new(GreenletExit));
    g.join();
    assert!(closed.get(), "the graceful close ran to its end");
    assert!(g.get().unwrap_err().is_killed());
}

#[test]
fn a_timeout_firing_during_a_waiting_destructor_is_recorded_not_raised() {
    let closed = Rc::new(Cell::new(false));
    let c = closed.clone();
    let g = spawn(move || {
        let _conn = SlowClose {
            wait: Duration::from_millis(30),
            closed: c,
        };
        sleep(Duration::from_secs(60));
    });
    sleep(Duration::ZERO);
    g.kill_with(NO_BLOCK);
    sleep(Duration::from_millis(5));
    throw_timeout_into(&g.raw().unwrap(), 1, Box::new("outer timeout"));
    g.join();
    assert!(closed.get());
    assert!(
        g.get().unwrap_err().is_killed(),
        "the first kill is what ended it"
    );
}

#[test]
fn the_recorded_kill_is_raised_at_the_next_wait_after_the_unwinding() {
    let closed = Rc::new(Cell::new(false));
    let reached = Rc::new(Cell::new(false));
    let (c, r) = (closed.clone(), reached.clone());
    let g = spawn(move || {
        let first = catch_unwind(AssertUnwindSafe(|| {
            let _conn = SlowClose {
                wait: Duration::from_millis(30),
                closed: c,
            };
            sleep(Duration::from_secs(60));
        }));
        assert_eq!(*first.unwrap_err().downcast::<&str>().unwrap(), "first");
        r.set(true);
        sleep(Duration::from_secs(60)); // the recorded kill is raised here
        unreachable!("the kill recorded during the close was lost");
    });
    sleep(Duration::ZERO);
    throw_into(&g.raw().unwrap(), Box::new("first"));
    sleep(Duration::from_millis(5));
    g.kill_with(NO_BLOCK); // during the close
    g.join();
    assert!(closed.get() && reached.get());
    assert!(g.get().unwrap_err().is_killed());
}

#[test]
fn several_greenlets_closing_at_once_each_keep_their_second_kill() {
    let closed: Vec<Rc<Cell<bool>>> = (0..3).map(|_| Rc::default()).collect();
    let gs: Vec<_> = closed
        .iter()
        .map(|c| {
            let c = c.clone();
            spawn(move || {
                let _conn = SlowClose {
                    wait: Duration::from_millis(20),
                    closed: c,
                };
                sleep(Duration::from_secs(60));
            })
        })
        .collect();
    sleep(Duration::ZERO);
    gevent_hub::killall_with(&gs, NO_BLOCK);
    sleep(Duration::from_millis(5)); // all three are suspended mid-unwind
    gevent_hub::killall_with(&gs, NO_BLOCK);
    gevent_hub::joinall(&gs);
    assert!(closed.iter().all(|c| c.get()));
    assert!(gs.iter().all(|g| g.get().unwrap_err().is_killed()));
}

#[test]
fn a_no_unwind_park_in_a_destructor_is_cut_short_by_a_second_kill() {
    struct StuckClose(Rc<Cell<Option<ParkError>>>);
    impl Drop for StuckClose {
        fn drop(&mut self) {
            // Nobody will ever wake this (a peer that never answers).
            let r = park_no_unwind(None, |_u| {});
            self.0.set(r.err());
        }
    }
    let seen = Rc::new(Cell::new(None));
    let s = seen.clone();
    let g = spawn(move || {
        let _conn = StuckClose(s);
        sleep(Duration::from_secs(60));
    });
    sleep(Duration::ZERO);
    g.kill_with(NO_BLOCK);
    sleep(Duration::from_millis(5));
    assert!(!g.dead());
    g.kill();
    assert_eq!(
        seen.get(),
        Some(ParkError::Interrupted(InterruptKind::Kill))
    );
    assert!(g.get().unwrap_err().is_killed());
}

/// The hazard that std leaves us (see `gevent_hub`'s docs, "Kills and timeouts"): its panic
/// count is per thread, so while one greenlet waits mid-unwind, `std::thread::panicking()` is
/// true in the others too. If std ever gives a way to save and restore it, this test will say
/// so.
#[test]
fn panicking_is_per_thread_while_a_greenlet_waits_mid_unwind() {
    let closer = spawn(|| {
        let _conn = SlowClose {
            wait: Duration::from_millis(30),
            closed: Rc::default(),
        };
        sleep(Duration::from_secs(60));
    });
    sleep(Duration::ZERO);
    let before = std::thread::panicking();
    closer.kill_with(NO_BLOCK);
    sleep(Duration::from_millis(5)); // `closer` waits in its destructor, mid-unwind
    let during = std::thread::panicking();
    closer.join();
    let after = std::thread::panicking();
    assert_eq!((before, during, after), (false, true, false));
}
