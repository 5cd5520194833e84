//! Ported from gevent's `src/gevent/tests/test__signal.py` (`test_alarm`: the handler runs in
//! a greenlet, stays installed after firing, does not keep the loop alive, and `cancel`
//! removes it) and the `signal_handler` line of `test__hub_join_timeout.py` ("setting up a
//! signal does not affect join()").
//!
//! Signals are process-wide, so this file is its own test process, and its scenarios run one
//! after the other in a single test.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{get_hub, getcurrent, signal_handler, sleep};

/// Raises `sig` in this process.
fn raise(sig: i32) {
    // SAFETY: raising a signal whose handler we installed (or which is ignored) only runs
    // that async-signal-safe handler.
    assert_eq!(unsafe { libc::raise(sig) }, 0);
}

/// Lets the hub run until `cond` holds (at most 2 s).
fn wait_for(cond: impl Fn() -> bool) -> bool {
    let t = Instant::now();
    while !cond() {
        if t.elapsed() > Duration::from_secs(2) {
            return false;
        }
        sleep(Duration::from_millis(2));
    }
    true
}

#[test]
fn signal_handler_runs_in_a_greenlet() {
    let seen: Rc<RefCell<Vec<String>>> = Rc::default();
    let s = seen.clone();
    let handle = signal_handler(libc::SIGUSR1, move || {
        let me = getcurrent();
        s.borrow_mut()
            .push(format!("hub={} main={}", me.is_hub(), me.is_main()));
        // It may wait: it is a greenlet.
        sleep(Duration::from_millis(1));
        s.borrow_mut().push("slept".into());
    })
    .expect("SIGUSR1 can be handled");

    // Installing a handler does not keep the loop alive.
    let t = Instant::now();
    assert!(get_hub().join(None));
    assert!(t.elapsed() < Duration::from_millis(500));

    // It fires, in a greenlet, and stays installed for the next signal.
    for round in 1..=2 {
        raise(libc::SIGUSR1);
        assert!(
            wait_for(|| seen.borrow().len() == 2 * round),
            "round {round}: {:?}",
            seen.borrow()
        );
    }
    assert_eq!(
        *seen.borrow(),
        [
            "hub=false main=false",
            "slept",
            "hub=false main=false",
            "slept"
        ]
    );

    // Two handlers for one signal both run.
    let second: Rc<RefCell<u32>> = Rc::default();
    let s2 = second.clone();
    let handle2 = signal_handler(libc::SIGUSR1, move || *s2.borrow_mut() += 1).unwrap();
    raise(libc::SIGUSR1);
    assert!(wait_for(
        || seen.borrow().len() == 6 && *second.borrow() == 1
    ));

    // Cancelled: the signal is ignored (the process is not terminated) and nothing runs.
    handle.cancel();
    handle2.cancel();
    raise(libc::SIGUSR1);
    sleep(Duration::from_millis(50));
    assert_eq!(seen.borrow().len(), 6);
    assert_eq!(*second.borrow(), 1);

    // Uncatchable signals are an error, not a panic.
    assert!(signal_handler(libc::SIGKILL, || {}).is_err());
    assert!(signal_handler(0, || {}).is_err());
    assert!(signal_handler(1000, || {}).is_err());

    // Dropping the handle keeps the handler (gevent's behaviour): it stays until `cancel`.
    let kept: Rc<RefCell<u32>> = Rc::default();
    let k = kept.clone();
    let signum = {
        // The handle is dropped at the end of this block.
        let h = signal_handler(gevent_hub::signal::SIGUSR1, move || *k.borrow_mut() += 1);
        h.unwrap().signum()
    };
    for round in 1..=2 {
        raise(signum);
        assert!(wait_for(|| *kept.borrow() == round), "round {round}");
    }

    // A panic in a handler is reported under the handler's name.
    let reports: Rc<RefCell<Vec<gevent_hub::ErrorReport>>> = Rc::default();
    let r = reports.clone();
    get_hub().set_error_handler(move |rep| r.borrow_mut().push(rep.clone()));
    let bad = signal_handler(gevent_hub::signal::SIGUSR2, || panic!("handler failed")).unwrap();
    raise(gevent_hub::signal::SIGUSR2);
    assert!(wait_for(|| !reports.borrow().is_empty()));
    get_hub().reset_error_handler();
    let rep = reports.borrow()[0].clone();
    assert!(
        rep.context.contains("signal handler") && rep.context.contains("SIGUSR2"),
        "{rep:?}"
    );
    assert!(rep.message.contains("handler failed"), "{rep:?}");
    bad.cancel();
}

/// The constants are the platform's signal numbers.
#[test]
fn signal_constants() {
    use gevent_hub::signal::*;
    assert_eq!(
        [SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2],
        [
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGQUIT,
            libc::SIGHUP,
            libc::SIGUSR1,
            libc::SIGUSR2
        ]
    );
}
