//! Ported from greenlet's `src/greenlet/tests/test_greenlet.py`, class
//! `TestGreenletSetParentErrors` (and `test_parent_equals_None`).
//!
//! Python's `ValueError("cyclic parent chain")` and `AttributeError("cannot set the parent of
//! a main greenlet")` become [`ParentError::Cycle`] and [`ParentError::MainGreenlet`]. The
//! cross-thread cases cannot be written: a `Greenlet` is `!Send` (see the `compile_fail`
//! doctest on `Greenlet`).

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use greenlet::{getcurrent, Greenlet, Message, ParentError, Scheduler, Value};
use support::parent_switch;

/// A greenlet with nothing to do.
fn idle() -> Greenlet {
    Greenlet::new(|_: Value| ())
}

/// `test_parent_equals_None`: the default parent is the greenlet running at creation.
#[test]
fn default_parent_is_creator() {
    let g = idle();
    assert_eq!(g.parent(), Some(getcurrent().to_greenlet()));
    assert_eq!(g.parent(), Some(greenlet::main()));
    let outer = Greenlet::new(|_: Value| {
        let inner = idle();
        inner.parent() == Some(getcurrent().to_greenlet())
    });
    assert!(outer.switch(()).take::<bool>());
}

/// `test_main_greenlet_parent_is_none`.
#[test]
fn main_parent_is_none() {
    assert_eq!(greenlet::main().parent(), None);
    assert_eq!(getcurrent().parent(), None);
}

/// `test_trivial_cycle`.
#[test]
fn trivial_cycle() {
    let g = idle();
    assert_eq!(g.set_parent(&g), Err(ParentError::Cycle));
    assert_eq!(ParentError::Cycle.to_string(), "cyclic parent chain");
    assert_eq!(
        g.parent(),
        Some(greenlet::main()),
        "unchanged after the error"
    );
}

/// `test_trivial_cycle_main`: the main greenlet's parent cannot be set at all.
#[test]
fn main_parent_cannot_be_set() {
    let main = greenlet::main();
    assert_eq!(main.set_parent(&main), Err(ParentError::MainGreenlet));
    assert_eq!(main.set_parent(&idle()), Err(ParentError::MainGreenlet));
    assert!(ParentError::MainGreenlet
        .to_string()
        .contains("main greenlet"));
    assert_eq!(main.parent(), None);
}

/// `test_deeper_cycle`.
#[test]
fn deeper_cycle() {
    let (g1, g2, g3) = (idle(), idle(), idle());
    g1.set_parent(&g2).unwrap();
    g2.set_parent(&g3).unwrap();
    assert_eq!(g3.set_parent(&g1), Err(ParentError::Cycle));
    assert_eq!(g3.parent(), Some(greenlet::main()));
    // Re-pointing along the chain is fine.
    g1.set_parent(&g3).unwrap();
    assert_eq!(g1.parent(), Some(g3));
}

/// `test_set_parent_wrong_types` (the parts that apply): the parent can be changed before the
/// greenlet starts and while it is suspended, and the change decides where its result goes.
#[test]
fn set_parent_while_new_and_suspended() {
    let log: Rc<RefCell<Vec<&str>>> = Rc::default();
    let l = log.clone();
    let collector = Greenlet::new(move |v: Value| {
        l.borrow_mut().push(v.take::<&str>());
        "collector done"
    });
    let g = Greenlet::new(|_: Value| {
        parent_switch("suspended");
        "result"
    });
    let p1 = idle();
    g.set_parent(&p1).unwrap();
    g.set_parent(&greenlet::main()).unwrap();
    assert_eq!(g.switch(()).take::<&str>(), "suspended");
    g.set_parent(&collector).unwrap();
    assert_eq!(g.switch(()).take::<&str>(), "collector done");
    assert_eq!(*log.borrow(), ["result"]);
}

/// A greenlet can change its own parent while it runs; its next `parent_switch` goes there.
#[test]
fn set_own_parent_while_running() {
    let other = Greenlet::new(|v: Value| format!("other got {}", v.take::<i32>()));
    let o = other.clone();
    let g = Greenlet::new(move |_: Value| {
        getcurrent().set_parent(&o).unwrap();
        parent_switch(7);
    });
    assert_eq!(g.switch(()).take::<String>(), "other got 7");
}

/// The builder's parent, and a dead greenlet as parent (its result skips to the next live
/// ancestor).
#[test]
fn builder_parent_and_dead_parent() {
    let p = Greenlet::new(|v: Value| v.take::<i32>() + 1);
    let c = Greenlet::builder().parent(&p).build(|_: Value| 41);
    assert_eq!(c.parent(), Some(p.clone()));
    assert_eq!(c.switch(()).take::<i32>(), 42);

    let dead = idle();
    dead.switch(());
    let c = Greenlet::builder()
        .parent(&dead)
        .build(|_: Value| "skipped to main");
    assert_eq!(c.switch(()).take::<&str>(), "skipped to main");
}

/// A scheduler that always goes back to main.
struct ToMain;

impl Scheduler for ToMain {
    fn schedule(&self, msg: Message) -> (Greenlet, Message) {
        (greenlet::main(), msg)
    }
}

/// The hub's parent is main and is fixed; a greenlet can have the hub as parent.
#[test]
fn hub_parent_is_fixed() {
    std::thread::spawn(|| {
        let hub = greenlet::install_scheduler(Rc::new(ToMain));
        assert!(hub.is_hub());
        assert_eq!(hub.parent(), Some(greenlet::main()));
        assert_eq!(hub.set_parent(&idle()), Err(ParentError::MainGreenlet));
        let g = Greenlet::builder().parent(&hub).build(|_: Value| "via hub");
        assert_eq!(g.switch(()).take::<&str>(), "via hub");
        // Any greenlet can be given the hub as its parent.
        let h = idle();
        assert_eq!(h.set_parent(&hub), Ok(()));
    })
    .join()
    .unwrap();
}
