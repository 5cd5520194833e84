//! The hub's panic hook reports the panics of greenlets it runs (once, through the error
//! handler) and hands every other panic to the hook that was installed before it, also while
//! greenlets are suspended. The panic hook is process-wide, so this file is its own test
//! process.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gevent_hub::{get_hub, park, sleep, spawn};

#[test]
fn other_panics_reach_the_previous_hook() {
    let printed = Arc::new(Mutex::new(Vec::<String>::new()));
    let p = printed.clone();
    panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        p.lock().unwrap().push(msg);
    }));
    // The hub (and its hook, wrapping ours) is created here.
    let reports = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let r = reports.clone();
    get_hub().set_error_handler(move |e| r.borrow_mut().push(e.message.clone()));

    // A greenlet suspended in a wait, and one that panics.
    let waiter = spawn(|| park(drop));
    let failing = spawn(|| -> () { panic!("in a greenlet") });
    sleep(Duration::from_millis(1));
    assert!(failing.dead());

    // A panic in the main greenlet while `waiter` is suspended.
    let r = panic::catch_unwind(AssertUnwindSafe(|| panic!("in main")));
    assert!(r.is_err());
    // A panic in a hub callback.
    get_hub().run_callback(|| panic!("in a callback"));
    sleep(Duration::ZERO);

    let printed = printed.lock().unwrap().clone();
    assert_eq!(
        printed,
        ["in main"],
        "only main's panic reaches the previous hook"
    );
    let reports = reports.borrow().clone();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(reports[0].ends_with("in a greenlet"), "{reports:?}");
    assert!(reports[1].ends_with("in a callback"), "{reports:?}");
    waiter.kill();
    get_hub().reset_error_handler();
}
