//! Ported from greenlet's `src/greenlet/tests/test_greenlet.py` (switching, values, parents
//! receiving results and exceptions, `TestRepr`) and `test_generator.py`.
//!
//! Python exceptions become panics with a payload of our own type; `seen` lists become
//! `Rc<RefCell<Vec<_>>>` logs.

mod support;

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use greenlet::{getcurrent, Greenlet, GreenletExit, Value};
use support::{log, parent_switch, Log, SomeError};

/// `test_simple`: a greenlet suspended in its parent and resumed, interleaving with main.
#[test]
fn simple() {
    assert!(support::simple_interleaving().is_dead());
}

/// The seed example: 12, 56, 34; 78 is never printed, and the second greenlet stays suspended.
#[test]
fn twelve_fifty_six_thirty_four() {
    let out = log();
    let gr2_slot: Rc<RefCell<Option<Greenlet>>> = Rc::default();
    let (o1, s1) = (out.clone(), gr2_slot.clone());
    let gr1 = Greenlet::new(move |_: Value| {
        o1.borrow_mut().push(12);
        let gr2 = s1.borrow().clone().unwrap();
        gr2.switch(());
        o1.borrow_mut().push(34);
    });
    let (o2, g1) = (out.clone(), gr1.clone());
    let gr2 = Greenlet::new(move |_: Value| {
        o2.borrow_mut().push(56);
        g1.switch(());
        o2.borrow_mut().push(78);
    });
    *gr2_slot.borrow_mut() = Some(gr2.clone());
    gr1.switch(());
    assert_eq!(*out.borrow(), [12, 56, 34]);
    assert!(gr1.is_dead());
    assert!(gr2.is_active() && !gr2.is_dead());
    // Break the cycle (gr2's closure holds gr1, the slot holds gr2) so gr2 is collected.
    gr2_slot.borrow_mut().take();
    drop(gr2);
    assert_eq!(
        *out.borrow(),
        [12, 56, 34],
        "killing gr2 must not run its tail"
    );
}

/// `test_two_children`: two greenlets of the same function, switched in turn.
#[test]
fn two_children() {
    let lst = log();
    let f = |l: Log| {
        move |_: Value| {
            l.borrow_mut().push(1);
            parent_switch(());
            l.borrow_mut().extend([1, 1]);
        }
    };
    let g = Greenlet::new(f(lst.clone()));
    let h = Greenlet::new(f(lst.clone()));
    g.switch(());
    assert_eq!(lst.borrow().len(), 1);
    h.switch(());
    assert_eq!(lst.borrow().len(), 2);
    h.switch(());
    assert_eq!(lst.borrow().len(), 4);
    assert!(h.is_dead());
    g.switch(());
    assert_eq!(lst.borrow().len(), 6);
    assert!(g.is_dead());
}

/// `test_two_recursive_children`: a greenlet creates and runs another; the inner one's
/// parent is the outer one.
#[test]
fn two_recursive_children() {
    let lst: Rc<RefCell<Vec<char>>> = Rc::default();
    let l = lst.clone();
    let outer = Greenlet::new(move |_: Value| {
        l.borrow_mut().push('a');
        let l2 = l.clone();
        let inner = Greenlet::new(move |_: Value| {
            l2.borrow_mut().push('b');
            assert!(!getcurrent().parent().unwrap().is_current());
            parent_switch(());
        });
        assert_eq!(inner.parent().unwrap(), getcurrent());
        inner.switch(());
        l.borrow_mut().push('c');
    });
    outer.switch(());
    assert_eq!(*lst.borrow(), ['a', 'b', 'c']);
    assert!(outer.is_dead());
}

/// Values travel both ways: the first switch is `run`'s argument, later ones are what the
/// greenlet's pending switch returns, and what it switches to its parent is what the parent's
/// switch returns (`test_switch_kwargs_to_parent`, without keyword arguments).
#[test]
fn values_both_ways() {
    let g = Greenlet::new(|x: Value| {
        let x = x.take::<i32>();
        let got = parent_switch(("x", x)).take::<String>();
        let got2 = parent_switch(vec![got.clone(), "more".to_string()]);
        assert!(got2.is_empty());
        (x, x * x)
    });
    assert_eq!(g.switch(3).take::<(&str, i32)>(), ("x", 3));
    assert_eq!(
        g.switch("two".to_string()).take::<Vec<String>>(),
        ["two", "more"]
    );
    assert_eq!(g.switch(()).take::<(i32, i32)>(), (3, 9));
    assert!(g.is_dead());
}

/// `()` is the empty value in both directions, and a `Value` is passed on as it is.
#[test]
fn empty_and_nested_values() {
    let g = Greenlet::new(|v: Value| {
        assert!(v.is_empty() && v.is::<()>());
        let v = parent_switch(Value::new(7u8));
        v.take::<&str>()
    });
    assert_eq!(g.switch(()).take::<u8>(), 7);
    assert_eq!(g.switch(Value::new("done")).take::<&str>(), "done");
}

/// Switching to the running greenlet returns the value at once, in main and in a greenlet.
#[test]
fn switch_to_self_returns_value() {
    assert_eq!(getcurrent().switch(5).take::<i32>(), 5);
    assert_eq!(greenlet::main().switch("me").take::<&str>(), "me");
    let g = Greenlet::new(|_: Value| {
        let me = getcurrent();
        me.switch(1).take::<i32>() + me.to_greenlet().switch(2).take::<i32>()
    });
    assert_eq!(g.switch(()).take::<i32>(), 3);
}

/// `test_exception` (last part): switching to a dead greenlet passes the value on to its
/// first live parent; from main, that is main itself, so the switch returns the value.
#[test]
fn switch_to_dead_continues_with_parent() {
    let g = Greenlet::new(|_: Value| 1);
    assert_eq!(g.switch(()).take::<i32>(), 1);
    assert!(g.is_dead());
    assert!(g.switch(()).is_empty());
    assert_eq!(g.switch(25).take::<i32>(), 25);
    assert!(g.is_dead());
}

/// `test_switch_to_dead_greenlet_reparent`: a dead greenlet given an unstarted parent passes
/// the switch on to it, which starts it.
#[test]
fn switch_to_dead_starts_unstarted_parent() {
    let seen = log();
    let s = seen.clone();
    let parent_never_started = Greenlet::new(move |_: Value| s.borrow_mut().push(24));
    let s = seen.clone();
    let child = Greenlet::new(move |_: Value| s.borrow_mut().push(42));
    child.switch(());
    assert_eq!(*seen.borrow(), [42]);
    child.set_parent(&parent_never_started).unwrap();
    let result = child.switch(());
    assert!(result.is_empty());
    assert_eq!(*seen.borrow(), [42, 24]);
    assert!(parent_never_started.is_dead());
}

/// `test_falling_off_end_switches_to_unstarted_parent_works`: a finished child's result
/// starts its unstarted parent, as `run`'s argument.
#[test]
fn return_starts_unstarted_parent() {
    let parent_never_started = Greenlet::new(|x: Value| (x.take::<i32>(), 24));
    let child = Greenlet::builder()
        .parent(&parent_never_started)
        .build(|_: Value| 42);
    assert_eq!(child.switch(()).take::<(i32, i32)>(), (42, 24));
    assert!(child.is_dead() && parent_never_started.is_dead());
}

/// `run`'s return value goes to the first parent that is not dead.
#[test]
fn return_goes_to_first_live_parent() {
    let main = greenlet::main();
    // g1 (parent main) starts g2 (parent g1) and returns, leaving g2 suspended; when g2
    // returns, its parent g1 is dead, so the value goes to main.
    let g2_slot: Rc<RefCell<Option<Greenlet>>> = Rc::default();
    let slot = g2_slot.clone();
    let m = main.clone();
    let g1 = Greenlet::new(move |_: Value| {
        let g2 = Greenlet::new(move |_: Value| {
            m.switch("g2 suspended");
            "g2's result"
        });
        assert_eq!(g2.parent(), Some(getcurrent().to_greenlet()));
        *slot.borrow_mut() = Some(g2.clone());
        g2.switch(());
        "unreachable: g2 switches to main, not to g1"
    });
    assert_eq!(g1.switch(()).take::<&str>(), "g2 suspended");
    let g2 = g2_slot.borrow_mut().take().unwrap();
    // Kill g1 (its pending switch never returns): it is now dead, g2 still suspended.
    assert!(g1.throw(GreenletExit).is::<GreenletExit>());
    assert!(g1.is_dead() && g2.is_active());
    assert_eq!(g2.switch(()).take::<&str>(), "g2's result");

    // A chain of three: a result skips every dead ancestor.
    let a = Greenlet::new(|_: Value| ());
    let b = Greenlet::builder().parent(&a).build(|_: Value| ());
    let c = Greenlet::builder().parent(&b).build(|_: Value| "from c");
    a.switch(());
    b.switch(());
    assert!(a.is_dead() && b.is_dead());
    assert_eq!(c.switch(()).take::<&str>(), "from c");
}

/// `fmain` of the Python tests: waits in its parent, records what was thrown in, re-raises it;
/// if it is resumed normally, raises `SomeError`.
fn fmain(seen: Rc<RefCell<Vec<&'static str>>>) -> impl FnOnce(Value) + 'static {
    move |_: Value| {
        if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| parent_switch(()))) {
            seen.borrow_mut().push(support::kind(&*p));
            panic::resume_unwind(p);
        }
        panic::panic_any(SomeError("from fmain"));
    }
}

/// `test_exception`: a panic escaping `run` is raised in the parent's pending switch; the
/// parent here is a greenlet that records it and dies of it, so main's switch raises it.
#[test]
fn panic_propagates_to_parent() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let g1 = Greenlet::new(fmain(seen.clone()));
    let g2 = Greenlet::new(fmain(seen.clone()));
    g1.switch(());
    g2.switch(());
    g2.set_parent(&g1).unwrap();
    assert!(seen.borrow().is_empty());
    let p = panic::catch_unwind(AssertUnwindSafe(|| g2.switch(()))).unwrap_err();
    assert_eq!(
        p.downcast_ref::<SomeError>(),
        Some(&SomeError("from fmain"))
    );
    assert_eq!(*seen.borrow(), ["SomeError"]);
    assert!(g1.is_dead() && g2.is_dead());
    // Both dead: switching to g2 goes back to main at once.
    assert!(g2.switch(()).is_empty());
    assert_eq!(g2.switch(25).take::<i32>(), 25);
    assert_eq!(*seen.borrow(), ["SomeError"]);
}

/// A panic in `run` is re-raised by the parent's `switch`, payload intact, and the greenlet
/// is dead.
#[test]
fn panic_in_run_reraised_in_parent() {
    let g = Greenlet::new(|_: Value| -> i32 { panic!("boom in run") });
    let p = panic::catch_unwind(AssertUnwindSafe(|| g.switch(()))).unwrap_err();
    assert_eq!(support::message(&*p), "boom in run");
    assert!(g.is_dead());

    // Also after a suspension, and with a typed payload.
    let g = Greenlet::new(|_: Value| {
        parent_switch("first");
        panic::panic_any(SomeError("second"));
    });
    assert_eq!(g.switch(()).take::<&str>(), "first");
    let p = panic::catch_unwind(AssertUnwindSafe(|| g.switch(()))).unwrap_err();
    assert_eq!(p.downcast_ref::<SomeError>(), Some(&SomeError("second")));
    assert!(g.is_dead());
}

/// `test_send_exception`: a greenlet whose parent is a suspended greenlet dies of a panic;
/// the parent sees it raised at its pending switch.
#[test]
fn panic_raised_in_suspended_parent() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let g1 = Greenlet::new(fmain(seen.clone()));
    g1.switch(());
    let crasher = Greenlet::builder()
        .parent(&g1)
        .build(|v: Value| -> () { panic::panic_any(v.take::<SomeError>()) });
    let p = panic::catch_unwind(AssertUnwindSafe(|| crasher.switch(SomeError("key")))).unwrap_err();
    assert_eq!(p.downcast_ref::<SomeError>(), Some(&SomeError("key")));
    assert_eq!(*seen.borrow(), ["SomeError"]);
    assert!(g1.is_dead() && crasher.is_dead());
}

/// `GreenletExit` escaping `run` is not an error: the parent receives it as a value.
#[test]
fn greenlet_exit_returned_as_value() {
    let g = Greenlet::new(|_: Value| -> () { panic::panic_any(GreenletExit) });
    let v = g.switch(());
    assert!(v.is::<GreenletExit>());
    assert_eq!(v.take::<GreenletExit>(), GreenletExit);
    assert!(g.is_dead());

    // A child of a greenlet: its parent's pending switch returns the GreenletExit value.
    let outer = Greenlet::new(|_: Value| {
        let inner = Greenlet::new(|_: Value| -> () { panic::panic_any(GreenletExit) });
        inner.switch(()).is::<GreenletExit>()
    });
    assert!(outer.switch(()).take::<bool>());
}

/// `test_frame` (the parts that apply): states through a greenlet's life.
#[test]
fn life_cycle_states() {
    let g = Greenlet::new(|_: Value| {
        let me = getcurrent();
        assert!(me.is_current() && me.is_active() && me.is_started() && !me.is_dead());
        parent_switch(());
        "meaning of life"
    });
    assert!(!g.is_started() && !g.is_active() && !g.is_dead() && !g.is_current());
    g.switch(());
    assert!(g.is_started() && g.is_active() && !g.is_dead() && !g.is_current());
    assert_eq!(g.switch(()).take::<&str>(), "meaning of life");
    assert!(g.is_started() && !g.is_active() && g.is_dead());
    let main = greenlet::main();
    assert!(main.is_main() && main.is_started() && main.is_active() && !main.is_dead());
}

/// `getcurrent()` is the running greenlet; handles compare equal by identity and hash alike.
#[test]
fn getcurrent_and_identity() {
    use std::collections::HashSet;
    let main = getcurrent().to_greenlet();
    assert!(main.is_main() && main.is_current());
    assert_eq!(main.id(), 0);
    assert_eq!(main.name(), Some("main"));
    let g = Greenlet::new(|_: Value| getcurrent().to_greenlet());
    let inside = g.switch(()).take::<Greenlet>();
    assert_eq!(inside, g);
    assert_ne!(inside, main);
    // Hashing is by identity, which the greenlet's mutable state does not change.
    #[allow(clippy::mutable_key_type)]
    let set: HashSet<Greenlet> = [g.clone(), inside, g.clone(), main.clone()].into();
    assert_eq!(set.len(), 2);
    let (a, b) = (Greenlet::new(|_: Value| ()), Greenlet::new(|_: Value| ()));
    assert_ne!(a, b);
    assert_ne!(a.id(), b.id());
}

/// `TestRepr`: `Debug` shows the state of main and of greenlets.
#[test]
fn debug_shows_state() {
    assert!(format!("{:?}", getcurrent()).contains("running"));
    let main = greenlet::main();
    let g = Greenlet::builder().name("worker").build(move |_: Value| {
        let m = format!("{main:?}");
        let me = format!("{:?}", getcurrent());
        parent_switch((m, me));
    });
    assert!(format!("{g:?}").contains("new"));
    assert!(format!("{g:?}").contains("worker"));
    let (m, me) = g.switch(()).take::<(String, String)>();
    assert!(m.contains("suspended") && m.contains("main"), "{m}");
    assert!(me.contains("running"), "{me}");
    assert!(format!("{g:?}").contains("suspended"));
    g.switch(());
    let dead = format!("{g:?}");
    assert!(
        dead.contains("dead") && !dead.contains("suspended"),
        "{dead}"
    );
}

/// `test_generator.py`: a generator built from greenlets, each `Yield` switching the value to
/// the consumer, iterated three times.
#[test]
fn greenlet_generator() {
    /// A generator: a greenlet whose parent is reset to the consumer on every `next`.
    struct Genlet(Greenlet);
    impl Iterator for Genlet {
        type Item = i32;
        fn next(&mut self) -> Option<i32> {
            self.0.set_parent(&getcurrent()).unwrap();
            let v = self.0.switch(());
            if self.0.is_dead() {
                None
            } else {
                Some(v.take::<i32>())
            }
        }
    }
    fn genlet(n: i32, seen: Log) -> Genlet {
        Genlet(Greenlet::new(move |_: Value| {
            for i in 0..n {
                seen.borrow_mut().push(i);
                parent_switch(i); // Yield(i)
            }
        }))
    }
    let seen = log();
    for _ in 0..3 {
        for j in genlet(5, seen.clone()) {
            seen.borrow_mut().push(j);
        }
    }
    let once = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4];
    assert_eq!(*seen.borrow(), once.repeat(3));
}

/// A value of any `'static` type crosses a switch, including handles and boxes.
#[test]
fn any_static_value() {
    let g = Greenlet::new(|v: Value| {
        let other = v.take::<Greenlet>();
        let b = parent_switch(other.id()).take::<Box<[u8]>>();
        b.len()
    });
    let h = Greenlet::new(|_: Value| ());
    assert_eq!(g.switch(h.clone()).take::<u64>(), h.id());
    assert_eq!(
        g.switch(vec![1u8, 2, 3].into_boxed_slice()).take::<usize>(),
        3
    );
}

/// A mismatched `take` panics with both types named, inside a greenlet too, and the panic
/// reaches the parent.
#[test]
fn take_wrong_type_panics_in_parent() {
    let g = Greenlet::new(|v: Value| v.take::<String>());
    let p = panic::catch_unwind(AssertUnwindSafe(|| g.switch(5u8))).unwrap_err();
    let msg = support::message(&*p);
    assert!(
        msg.contains("String") && msg.contains("another type"),
        "{msg}"
    );
}
