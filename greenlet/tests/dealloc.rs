//! Ported from greenlet's `src/greenlet/tests/test_gc.py` and the deallocation tests of
//! `test_greenlet.py` (`test_dealloc`, `test_dealloc_catches_GreenletExit_throws_other`,
//! `test_dealloc_switch_args_not_lost`, `test_parent_restored_on_kill`).
//!
//! Python collects an unreferenced suspended greenlet by throwing `GreenletExit` into it; here
//! the same happens when its last counted handle is dropped. Rust has no cycle collector, so
//! `test_gc.py`'s cycles become the documented rule: a handle a greenlet keeps on its own stack
//! keeps it alive.

mod support;

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use greenlet::{getcurrent, Greenlet, GreenletExit, Message, Scheduler, Value};
use support::{kind, parent_switch, DropCounter, SomeError};

/// A counter of drops.
fn counter() -> Rc<Cell<usize>> {
    Rc::default()
}

/// A greenlet that waits in its parent forever, with a `DropCounter` on its stack.
fn waiter(drops: &Rc<Cell<usize>>) -> Greenlet {
    let d = drops.clone();
    Greenlet::new(move |_: Value| {
        let _guard = DropCounter(d);
        loop {
            parent_switch(());
        }
    })
}

/// `test_dealloc`: dropping the last handle of a suspended greenlet throws `GreenletExit` into
/// it, at its pending switch.
#[test]
fn dropping_last_handle_throws_greenlet_exit() {
    let seen: Rc<RefCell<Vec<&str>>> = Rc::default();
    let fmain = |seen: Rc<RefCell<Vec<&'static str>>>| {
        move |_: Value| {
            if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| parent_switch(()))) {
                seen.borrow_mut().push(kind(&*p));
                panic::resume_unwind(p);
            }
        }
    };
    let g1 = Greenlet::new(fmain(seen.clone()));
    let g2 = Greenlet::new(fmain(seen.clone()));
    g1.switch(());
    g2.switch(());
    assert!(seen.borrow().is_empty());
    drop(g1);
    assert_eq!(*seen.borrow(), ["GreenletExit"]);
    drop(g2);
    assert_eq!(*seen.borrow(), ["GreenletExit", "GreenletExit"]);
}

/// Only the last handle counts: clones keep the greenlet alive.
#[test]
fn clones_keep_greenlet_alive() {
    let drops = counter();
    let g = waiter(&drops);
    g.switch(());
    let clones: Vec<Greenlet> = (0..3).map(|_| g.clone()).collect();
    drop(g);
    assert_eq!(drops.get(), 0);
    let last = clones[0].clone();
    drop(clones);
    assert_eq!(drops.get(), 0);
    assert!(last.is_active());
    drop(last);
    assert_eq!(drops.get(), 1);
}

/// The `getcurrent().parent().unwrap().switch(v)` pattern does not keep the greenlet alive:
/// `getcurrent()` is not a counted handle, and neither is the trampoline's reference.
#[test]
fn getcurrent_parent_switch_does_not_leak() {
    let drops = counter();
    let d = drops.clone();
    let g = Greenlet::new(move |_: Value| {
        let _guard = DropCounter(d);
        let mut n = 0u32;
        loop {
            n += getcurrent().parent().unwrap().switch(n).take::<u32>();
        }
    });
    assert_eq!(g.switch(()).take::<u32>(), 0);
    assert_eq!(g.switch(2u32).take::<u32>(), 2);
    assert_eq!(g.switch(3u32).take::<u32>(), 5);
    drop(g);
    assert_eq!(drops.get(), 1);

    // The same with `getcurrent()` kept in a variable across the switch.
    let drops = counter();
    let d = drops.clone();
    let g = Greenlet::new(move |_: Value| {
        let _guard = DropCounter(d);
        let me = getcurrent();
        let parent = me.parent().unwrap();
        loop {
            parent.switch(me.id());
        }
    });
    let id = g.switch(()).take::<u64>();
    assert_eq!(id, g.id());
    drop(g);
    assert_eq!(drops.get(), 1);
}

/// A counted handle that a greenlet keeps on its own stack keeps it alive (there is no cycle
/// collector); `test_gc.py`'s cycles are collected in Python, not here. Documented on
/// `Greenlet`. The greenlet is leaked.
#[test]
fn handle_on_own_stack_keeps_greenlet_alive() {
    let drops = counter();
    let d = drops.clone();
    let g = Greenlet::new(move |_: Value| {
        let _me = getcurrent().to_greenlet();
        let _guard = DropCounter(d);
        parent_switch(());
    });
    g.switch(());
    drop(g);
    assert_eq!(drops.get(), 0, "kept alive by its own handle");
}

/// 10,000 suspended greenlets dropped at once all unwind: every `Drop` runs.
#[test]
fn ten_thousand_suspended_greenlets_unwind_on_drop() {
    const N: usize = 10_000;
    let drops = counter();
    let gs: Vec<Greenlet> = (0..N).map(|_| waiter(&drops)).collect();
    for g in &gs {
        g.switch(());
    }
    assert!(gs.iter().all(Greenlet::is_active));
    assert_eq!(drops.get(), 0);
    drop(gs);
    assert_eq!(drops.get(), N);
}

/// Dropped from inside another greenlet, orphans are killed too (through a round trip to the
/// trampoline), and the dropping greenlet carries on.
#[test]
fn greenlets_dropped_inside_a_greenlet_unwind() {
    const N: usize = 1_000;
    let drops = counter();
    let gs: Vec<Greenlet> = (0..N).map(|_| waiter(&drops)).collect();
    for g in &gs {
        g.switch(());
    }
    let d = drops.clone();
    let dropper = Greenlet::new(move |_: Value| {
        drop(gs);
        let after = d.get();
        parent_switch(after);
        "dropper done"
    });
    assert_eq!(dropper.switch(()).take::<usize>(), N);
    assert_eq!(dropper.switch(()).take::<&str>(), "dropper done");
}

/// A suspended greenlet holding the last handle of another: killing the first drops the
/// second while unwinding, and the second is killed in turn once the first has finished.
#[test]
fn nested_orphans_unwind() {
    let drops = counter();
    let inner = waiter(&drops);
    inner.switch(());
    let d = drops.clone();
    let outer = Greenlet::new(move |_: Value| {
        let _inner = inner;
        let _guard = DropCounter(d);
        parent_switch(());
    });
    outer.switch(());
    drop(outer);
    assert_eq!(drops.get(), 2);
}

/// `test_dealloc_catches_GreenletExit_throws_other`: a greenlet that answers the kill with
/// another panic is dead; the panic is reported on stderr, not raised in the dropper.
#[test]
fn kill_on_drop_answered_with_other_panic_is_not_raised() {
    let drops = counter();
    let d = drops.clone();
    let g = Greenlet::new(move |_: Value| -> () {
        let _guard = DropCounter(d);
        let p = panic::catch_unwind(|| parent_switch(())).unwrap_err();
        assert!(p.is::<GreenletExit>());
        panic::panic_any(SomeError("instead of exiting"));
    });
    g.switch(());
    drop(g); // must not panic here
    assert_eq!(drops.get(), 1);
}

/// `test_dealloc_switch_args_not_lost`: a greenlet drops its own last handle while running,
/// then switches a value on; it is killed as soon as it suspends, and the value still arrives.
#[test]
fn value_switched_by_dying_greenlet_not_lost() {
    let seen = counter();
    let worker_slot: Rc<RefCell<Option<Greenlet>>> = Rc::default();
    let initiator_slot: Rc<RefCell<Option<Greenlet>>> = Rc::default();
    let (ws, is, s) = (worker_slot.clone(), initiator_slot.clone(), seen.clone());
    let worker = Greenlet::new(move |_: Value| {
        let value = parent_switch(()); // wait for the value
        ws.borrow_mut().take(); // drop every counted handle to ourselves
        let initiator = is.borrow().clone().unwrap();
        initiator.set_parent(&greenlet::main()).unwrap();
        drop(initiator);
        let _finally = DropCounter(s);
        parent_switch(value); // we are killed as soon as this suspends us
        unreachable!("killed");
    });
    worker.switch(()); // prime it
    *worker_slot.borrow_mut() = Some(worker.clone());
    let initiator = Greenlet::builder().parent(&worker).build(|_: Value| 42);
    *initiator_slot.borrow_mut() = Some(initiator.clone());
    drop(worker); // the slot holds the only handle now
    let value = initiator.switch(());
    assert_eq!(seen.get(), 1);
    assert_eq!(value.take::<i32>(), 42);
}

/// Dropping an unstarted greenlet drops its closure without running it; dropping a dead one
/// does nothing.
#[test]
fn dropping_unstarted_or_dead_greenlet() {
    let drops = counter();
    let guard = DropCounter(drops.clone());
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let g = Greenlet::new(move |_: Value| {
        r.set(true);
        drop(guard);
    });
    drop(g);
    assert!(!ran.get());
    assert_eq!(drops.get(), 1);

    let g = Greenlet::new(|_: Value| 1);
    g.switch(());
    drop(g);
}

/// The last handle dropped while the thread unwinds from a panic: the greenlet is not killed
/// then (that would switch while unwinding) but at the thread's next switch. Documented on
/// `Greenlet`.
#[test]
fn last_handle_dropped_during_panic_is_killed_at_next_switch() {
    let drops = counter();
    let g = waiter(&drops);
    g.switch(());
    let r = panic::catch_unwind(AssertUnwindSafe(move || {
        let _g = g;
        panic::panic_any(SomeError("unwinding"));
    }));
    assert!(r.is_err());
    assert_eq!(drops.get(), 0, "not while unwinding");
    Greenlet::new(|_: Value| ()).switch(());
    assert_eq!(drops.get(), 1, "at the next switch");
}

/// A greenlet that dies of a panic drops the last handle of a suspended one while unwinding:
/// that one is killed as soon as the dying one has finished.
#[test]
fn orphan_dropped_by_panicking_greenlet_unwinds() {
    let drops = counter();
    let inner = waiter(&drops);
    inner.switch(());
    let outer = Greenlet::new(move |_: Value| -> () {
        let _inner = inner;
        panic::panic_any(SomeError("outer dies"));
    });
    let p = panic::catch_unwind(AssertUnwindSafe(|| outer.switch(()))).unwrap_err();
    assert!(p.is::<SomeError>());
    assert_eq!(drops.get(), 1);
}

/// `test_parent_restored_on_kill`, our way: a greenlet being killed because its last handle
/// was dropped sees its own parent unchanged; if it switches away instead of dying, it is
/// leaked (with a message on stderr), the switch does not happen, and the dropper carries on.
#[test]
fn switching_away_while_killed_on_drop_leaks() {
    let hub_ran = Rc::new(Cell::new(false));
    let h = hub_ran.clone();
    let hub = Greenlet::new(move |_: Value| h.set(true));
    let result: Rc<RefCell<Vec<Greenlet>>> = Rc::default();
    let (r, hb) = (result.clone(), hub.clone());
    let g = Greenlet::builder().parent(&hub).build(move |_: Value| {
        let main = greenlet::main();
        if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| main.switch(()))) {
            assert!(p.is::<GreenletExit>());
            r.borrow_mut().push(getcurrent().parent().unwrap());
            hb.switch(()); // resurrect: switch away instead of dying
        }
    });
    g.switch(());
    drop(g);
    assert_eq!(*result.borrow(), std::slice::from_ref(&hub));
    assert!(
        !hub_ran.get(),
        "the switch away from a killed greenlet does not happen"
    );
    assert!(!hub.is_started());
}

/// A scheduler that drops one greenlet's last handle inside `schedule`, then goes back to main.
struct DroppingHub(RefCell<Option<Greenlet>>);

impl Scheduler for DroppingHub {
    fn schedule(&self, _msg: Message) -> (Greenlet, Message) {
        drop(self.0.borrow_mut().take());
        (
            greenlet::main(),
            Message::Value(Value::new("back from hub")),
        )
    }
}

/// A greenlet whose last handle is dropped inside the hub's scheduler is killed when the
/// scheduler returns, before control reaches the next greenlet.
#[test]
fn dropped_inside_scheduler_unwinds() {
    std::thread::spawn(|| {
        let drops = counter();
        let g = waiter(&drops);
        g.switch(());
        let sched = Rc::new(DroppingHub(RefCell::new(Some(g))));
        let hub = greenlet::install_scheduler(sched);
        assert_eq!(hub.switch(()).take::<&str>(), "back from hub");
        assert_eq!(drops.get(), 1);
    })
    .join()
    .unwrap();
}
