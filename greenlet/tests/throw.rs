//! Ported from greenlet's `src/greenlet/tests/test_throw.py`, plus the throw cases of
//! `test_greenlet.py` (`test_throw_exception_not_lost`, throwing into unstarted and dead
//! greenlets).
//!
//! Python's `throw(RuntimeError)` becomes `throw(payload)` with a payload of our own type; the
//! target sees it as a panic at its pending switch and can catch it with `catch_unwind`.

mod support;

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use greenlet::{getcurrent, Greenlet, GreenletExit, Value};
use support::{parent_switch, DropCounter, SomeError};

/// Switches "ok" to the parent, catching a `SomeError` thrown in meanwhile.
fn catch_some_error() -> Result<Value, SomeError> {
    match panic::catch_unwind(AssertUnwindSafe(|| parent_switch("ok"))) {
        Ok(v) => Ok(v),
        Err(p) => match p.downcast::<SomeError>() {
            Ok(e) => Err(*e),
            Err(p) => panic::resume_unwind(p),
        },
    }
}

/// `test_class`: a thrown payload is raised at the target's pending switch, which can catch
/// it and carry on.
#[test]
fn throw_raises_at_switch_point() {
    let g = Greenlet::new(|_: Value| {
        if catch_some_error().is_err() {
            parent_switch("ok");
            return;
        }
        parent_switch("fail");
    });
    assert_eq!(g.switch(()).take::<&str>(), "ok");
    assert_eq!(g.throw(SomeError("runtime")).take::<&str>(), "ok");
    assert!(g.is_active());
    g.switch(());
    assert!(g.is_dead());
}

/// `test_val`: the payload arrives intact.
#[test]
fn throw_carries_payload() {
    let g = Greenlet::new(|_: Value| {
        if let Err(SomeError("ciao")) = catch_some_error() {
            parent_switch("ok");
            return;
        }
        parent_switch("fail");
    });
    assert_eq!(g.switch(()).take::<&str>(), "ok");
    assert_eq!(g.throw(SomeError("ciao")).take::<&str>(), "ok");

    // `throw_boxed` takes a payload as `catch_unwind` returns them.
    let g = Greenlet::new(|_: Value| {
        let p = panic::catch_unwind(|| parent_switch(())).unwrap_err();
        *p.downcast::<String>().unwrap()
    });
    g.switch(());
    let back = g.throw_boxed(Box::new(String::from("boxed")));
    assert_eq!(back.take::<String>(), "boxed");
}

/// `test_kill`: throwing `GreenletExit` kills: the target unwinds (its `Drop`s run), and the
/// parent receives the `GreenletExit` as a value.
#[test]
fn throw_greenlet_exit_kills() {
    let drops = Rc::new(Cell::new(0));
    let d = drops.clone();
    let g = Greenlet::new(move |_: Value| {
        let _guard = DropCounter(d);
        parent_switch("ok");
        parent_switch("fail");
    });
    assert_eq!(g.switch(()).take::<&str>(), "ok");
    let res = g.throw(GreenletExit);
    assert!(res.is::<GreenletExit>());
    assert!(g.is_dead());
    assert_eq!(drops.get(), 1);
}

/// Throwing into a greenlet that never ran kills it without running it; `GreenletExit` comes
/// back as a value, any other payload is raised in the parent (here the caller).
#[test]
fn throw_into_unstarted_kills_without_running() {
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let g = Greenlet::new(move |_: Value| r.set(true));
    assert!(g.throw(GreenletExit).is::<GreenletExit>());
    assert!(g.is_dead() && !g.is_active());
    assert!(!ran.get());
    // Dead: switching to it now passes the value to the parent (main) without running it.
    assert_eq!(g.switch(1).take::<i32>(), 1);
    assert!(!ran.get());

    // The closure was dropped: what it captured is released.
    let drops = Rc::new(Cell::new(0));
    let guard = DropCounter(drops.clone());
    let g = Greenlet::new(move |_: Value| drop(guard));
    let p = panic::catch_unwind(AssertUnwindSafe(|| g.throw(SomeError("early")))).unwrap_err();
    assert_eq!(p.downcast_ref::<SomeError>(), Some(&SomeError("early")));
    assert!(g.is_dead());
    assert_eq!(drops.get(), 1, "the unstarted closure is dropped");
}

/// Throwing into a dead greenlet raises in its first live parent: from main, in the caller.
#[test]
fn throw_into_dead_raises_in_parent() {
    let g = Greenlet::new(|_: Value| ());
    g.switch(());
    assert!(g.is_dead());
    let p = panic::catch_unwind(AssertUnwindSafe(|| g.throw(SomeError("late")))).unwrap_err();
    assert_eq!(p.downcast_ref::<SomeError>(), Some(&SomeError("late")));

    // With a live greenlet parent: the parent's pending switch raises it.
    let parent = Greenlet::new(|_: Value| {
        let child = Greenlet::new(|_: Value| ());
        child.switch(());
        assert!(child.is_dead());
        let caught = panic::catch_unwind(AssertUnwindSafe(|| parent_switch(child))).unwrap_err();
        caught.downcast::<SomeError>().map(|e| *e).ok()
    });
    let child = parent.switch(()).take::<Greenlet>();
    let back = child.throw(SomeError("to parent"));
    assert_eq!(
        back.take::<Option<SomeError>>(),
        Some(SomeError("to parent"))
    );
    assert!(parent.is_dead());
}

/// `test_kill`, last line: `GreenletExit` thrown into a greenlet that is already dead is eaten
/// (turned into a value for the parent), as when it kills a live one.
#[test]
fn throw_greenlet_exit_into_dead_is_a_value() {
    let g = Greenlet::new(|_: Value| ());
    g.switch(());
    let res = g.throw(GreenletExit);
    assert!(res.is::<GreenletExit>());
}

/// Throwing into the running greenlet raises at once.
#[test]
fn throw_into_self_raises_at_once() {
    let p = panic::catch_unwind(|| getcurrent().throw(SomeError("self"))).unwrap_err();
    assert_eq!(p.downcast_ref::<SomeError>(), Some(&SomeError("self")));
    let g = Greenlet::new(|_: Value| {
        let p = panic::catch_unwind(|| getcurrent().throw(SomeError("inner"))).unwrap_err();
        *p.downcast::<SomeError>().unwrap()
    });
    assert_eq!(g.switch(()).take::<SomeError>(), SomeError("inner"));
}

/// `f1`/`f2` of `test_throw_goes_to_original_parent`.
fn f1_f2() -> (Greenlet, Greenlet) {
    let main = greenlet::main();
    let g1 = Greenlet::new(move |_: Value| {
        match panic::catch_unwind(AssertUnwindSafe(|| main.switch("f1 ready to catch"))) {
            Ok(_) => "normal exit",
            Err(p) if p.is::<SomeError>() => "caught",
            Err(p) => panic::resume_unwind(p),
        }
    });
    let main = greenlet::main();
    let g2 = Greenlet::builder().parent(&g1).build(move |_: Value| {
        main.switch("from f2");
    });
    (g1, g2)
}

/// `test_throw_goes_to_original_parent`: a payload that kills a greenlet goes to its parent,
/// whichever greenlet threw it.
#[test]
fn throw_goes_to_original_parent() {
    // Neither started: g2 dies unstarted, g1 (unstarted) too, main raises.
    let (g1, g2) = f1_f2();
    let p = panic::catch_unwind(AssertUnwindSafe(|| g2.throw(SomeError("index")))).unwrap_err();
    assert!(p.is::<SomeError>());
    assert!(g2.is_dead() && g1.is_dead());

    // g1 waiting to catch: g2 dies unstarted, g1 catches.
    let (g1, g2) = f1_f2();
    assert_eq!(g1.switch(()).take::<&str>(), "f1 ready to catch");
    assert_eq!(g2.throw(SomeError("index")).take::<&str>(), "caught");
    assert!(g2.is_dead() && g1.is_dead());

    // Both suspended in main: g2 dies at its switch, g1 catches.
    let (g1, g2) = f1_f2();
    assert_eq!(g1.switch(()).take::<&str>(), "f1 ready to catch");
    assert_eq!(g2.switch(()).take::<&str>(), "from f2");
    assert_eq!(g2.throw(SomeError("index")).take::<&str>(), "caught");
    assert!(g2.is_dead() && g1.is_dead());
}

/// A greenlet can catch `GreenletExit` and return normally: its parent gets the value it
/// returns, and it is dead.
#[test]
fn caught_greenlet_exit_returns_value() {
    let g = Greenlet::new(|_: Value| {
        let p = panic::catch_unwind(|| parent_switch(())).unwrap_err();
        assert!(p.is::<GreenletExit>());
        "cleaned up"
    });
    g.switch(());
    assert_eq!(g.throw(GreenletExit).take::<&str>(), "cleaned up");
    assert!(g.is_dead());
}

/// A greenlet that catches `GreenletExit` and raises something else: the parent gets that.
#[test]
fn greenlet_exit_turned_into_other_panic() {
    let g = Greenlet::new(|_: Value| -> () {
        let p = panic::catch_unwind(|| parent_switch(())).unwrap_err();
        assert!(p.is::<GreenletExit>());
        panic::panic_any(SomeError("instead"));
    });
    g.switch(());
    let p = panic::catch_unwind(AssertUnwindSafe(|| g.throw(GreenletExit))).unwrap_err();
    assert_eq!(p.downcast_ref::<SomeError>(), Some(&SomeError("instead")));
    assert!(g.is_dead());
}
