//! Ported from gevent's `src/gevent/tests/test__greenlet.py`: links (`TestLink`, `TestUnlink`,
//! `TestReturn_link`, `TestReturn_link_value`, `TestRaise_link`, `TestRaise_link_exception`,
//! `TestStuff.test_multiple_listeners_error*`). Link order is in `order.rs`.
//!
//! gevent links `AsyncResult`s and `Queue.put`s; here links are closures, which record what
//! they saw in a shared log.

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{get_hub, getcurrent, sleep, spawn, Greenlet, LinkId};
use support::{capture_errors, log, push, seen, Log};

/// A link callback of the tests.
type Listener = Box<dyn Fn(&Greenlet<i32>)>;

/// Which kinds of link fired, for a greenlet with one link of each kind.
fn fired_links<T: Clone + 'static>(g: &Greenlet<T>) -> Log<&'static str> {
    let fired = log();
    let f = fired.clone();
    g.link(move |_| push(&f, "link"));
    let f = fired.clone();
    g.link_value(move |_| push(&f, "link_value"));
    let f = fired.clone();
    g.link_exception(move |_| push(&f, "link_exception"));
    let f = fired.clone();
    g.rawlink(move |_| push(&f, "rawlink"));
    fired
}

/// `TestReturn_link` / `TestReturn_link_value`: a greenlet that returns fires `link`,
/// `link_value` and `rawlink`, not `link_exception`; every link sees the value.
#[test]
fn links_on_return() {
    let g = spawn(|| 25);
    let fired = fired_links(&g);
    let value = log();
    let v = value.clone();
    g.link(move |g| push(&v, g.value()));
    sleep(Duration::from_millis(10));
    assert!(g.dead());
    let mut f = seen(&fired);
    f.sort_unstable();
    assert_eq!(f, ["link", "link_value", "rawlink"]);
    assert_eq!(seen(&value), [Some(25)]);
}

/// `TestReturn_link._test_kill`: a kill counts as success: `link_value` fires, not
/// `link_exception`.
#[test]
fn links_on_kill() {
    let g = spawn(|| sleep(Duration::from_secs(10)));
    let fired = fired_links(&g);
    let killed = log();
    let k = killed.clone();
    g.link(move |g| push(&k, g.get().unwrap_err().is_killed()));
    sleep(Duration::ZERO);
    g.kill();
    sleep(Duration::from_millis(10));
    let mut f = seen(&fired);
    f.sort_unstable();
    assert_eq!(f, ["link", "link_value", "rawlink"]);
    assert_eq!(seen(&killed), [true]);
}

/// `TestRaise_link` / `TestRaise_link_exception`: a panic fires `link`, `link_exception` and
/// `rawlink`, not `link_value`; the links see the exception.
#[test]
fn links_on_panic() {
    let reports = capture_errors();
    let g = spawn(|| -> i32 { panic!("test_raise") });
    let fired = fired_links(&g);
    let errors = log();
    let e = errors.clone();
    g.link_exception(move |g| push(&e, g.exception().unwrap().message().to_owned()));
    sleep(Duration::from_millis(10));
    let mut f = seen(&fired);
    f.sort_unstable();
    assert_eq!(f, ["link", "link_exception", "rawlink"]);
    assert_eq!(seen(&errors), ["test_raise"]);
    assert_eq!(seen(&reports).len(), 1, "the panic is reported once");
    get_hub().reset_error_handler();
}

/// `TestLink.test_link_to_asyncresult`: links added after the greenlet died fire too, each
/// once.
#[test]
fn links_added_after_death_fire() {
    let g = spawn(|| 100);
    g.join();
    let got = log();
    for _ in 0..3 {
        let v = got.clone();
        g.link(move |g| push(&v, g.value().unwrap()));
        sleep(Duration::from_millis(1));
    }
    sleep(Duration::from_millis(5));
    assert_eq!(seen(&got), [100, 100, 100]);
}

/// `TestUnlink`: a link removed before the greenlet dies never fires, of any kind.
#[test]
fn unlink_before_death() {
    let g = spawn(|| sleep(Duration::from_millis(5)));
    let fired = log();
    let mut ids: Vec<LinkId> = Vec::new();
    let f = fired.clone();
    ids.push(g.link(move |_| push(&f, "link")));
    let f = fired.clone();
    ids.push(g.link_value(move |_| push(&f, "link_value")));
    let f = fired.clone();
    ids.push(g.link_exception(move |_| push(&f, "link_exception")));
    let f = fired.clone();
    ids.push(g.rawlink(move |_| push(&f, "rawlink")));
    let f = fired.clone();
    let kept = g.link(move |_| push(&f, "kept"));
    assert!(!ids.contains(&kept));
    for id in ids {
        g.unlink(id);
    }
    g.join();
    sleep(Duration::from_millis(10));
    assert_eq!(seen(&fired), ["kept"]);
}

/// `link` runs its callback in a new greenlet (it may wait); `rawlink` runs it in the hub.
#[test]
fn where_links_run() {
    let g = spawn(|| ());
    let notes = log();
    let n = notes.clone();
    g.link(move |_| {
        let me = getcurrent();
        push(
            &n,
            format!("link hub={} main={}", me.is_hub(), me.is_main()),
        );
        sleep(Duration::from_millis(1));
        push(&n, "link waited".to_owned());
    });
    let n = notes.clone();
    g.rawlink(move |_| push(&n, format!("rawlink in loop={}", get_hub().is_in_loop())));
    g.join();
    sleep(Duration::from_millis(20));
    let notes = seen(&notes);
    assert!(
        notes.contains(&"link hub=false main=false".to_owned()),
        "{notes:?}"
    );
    assert!(notes.contains(&"link waited".to_owned()), "{notes:?}");
    assert!(
        notes.contains(&"rawlink in loop=true".to_owned()),
        "{notes:?}"
    );
}

/// A rawlink that waits panics with a clear message, reported by the hub; the other links
/// still fire.
#[test]
fn waiting_in_a_rawlink_is_reported() {
    let reports = capture_errors();
    let g = spawn(|| ());
    let fired = log();
    g.rawlink(|_| sleep(Duration::from_millis(1)));
    let f = fired.clone();
    g.rawlink(move |_| push(&f, "second"));
    g.join();
    sleep(Duration::from_millis(5));
    assert_eq!(seen(&fired), ["second"]);
    let reports = seen(&reports);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].message.contains("inside the hub"),
        "{:?}",
        reports[0]
    );
    get_hub().reset_error_handler();
}

/// `test_multiple_listeners_error`: links that panic do not stop the others; each panic is
/// reported once. For a greenlet that returns and one that panics, with `link` and `rawlink`.
#[test]
fn panicking_links_do_not_stop_the_others() {
    for (kind, greenlet_panics) in [("link", false), ("link", true), ("rawlink", false)] {
        let reports = capture_errors();
        let g = spawn(move || {
            if greenlet_panics {
                panic!("test_multiple_listeners_error");
            }
            5
        });
        let results = log();
        let add = |f: Listener| {
            if kind == "link" {
                g.link(f);
            } else {
                g.rawlink(f);
            }
        };
        let r = results.clone();
        add(Box::new(move |_| {
            push(&r, 10);
            panic!("listener1");
        }));
        let r = results.clone();
        add(Box::new(move |_| {
            push(&r, 20);
            panic!("listener2");
        }));
        add(Box::new(|_| panic!("listener3")));
        sleep(Duration::from_millis(20));
        assert_eq!(seen(&results), [10, 20], "{kind}");
        let reports = seen(&reports);
        let listeners = reports
            .iter()
            .filter(|r| {
                ["listener1", "listener2", "listener3"]
                    .iter()
                    .any(|l| r.message.ends_with(l))
            })
            .count();
        assert_eq!(listeners, 3, "{kind}: {reports:?}");
        assert_eq!(reports.len(), 3 + usize::from(greenlet_panics), "{kind}");
        get_hub().reset_error_handler();
    }
}

/// `_test_multiple_listeners_error_unlink`: a link that unlinks a later one (notification
/// already under way) stops it from firing. listener1 and listener2 each unlink the other;
/// whichever runs first wins, so exactly one of them records.
#[test]
fn a_link_can_unlink_a_later_one() {
    for kind in ["link", "rawlink"] {
        let _reports = capture_errors();
        let g = spawn(|| 5);
        let results = log();
        let ids: Rc<RefCell<Vec<LinkId>>> = Rc::default();
        let add = |f: Listener| {
            if kind == "link" {
                g.link(f)
            } else {
                g.rawlink(f)
            }
        };
        let (r, i) = (results.clone(), ids.clone());
        let first = add(Box::new(move |g| {
            g.unlink(i.borrow()[1]);
            push(&r, 5);
            panic!("listener1");
        }));
        let (r, i) = (results.clone(), ids.clone());
        let second = add(Box::new(move |g| {
            g.unlink(i.borrow()[0]);
            push(&r, 5);
            panic!("listener2");
        }));
        add(Box::new(|_| panic!("listener3")));
        ids.borrow_mut().extend([first, second]);
        sleep(Duration::from_millis(20));
        assert_eq!(seen(&results), [5], "{kind}");
        get_hub().reset_error_handler();
    }
}
