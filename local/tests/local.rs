//! Ported from gevent's src/gevent/tests/test__local.py, plus the `greenlet_local!` forms.
//!
//! Not ported: the tests of Python attribute machinery (slots, descriptors, `__dict__`,
//! subclassing, `copy`, ABCs, zope interfaces), which have no Rust counterpart: a `Local<T>`
//! holds a typed value.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{joinall, sleep, spawn};
use gevent_local::{greenlet_local, Local};

/// Counts creations and drops of `Sentinel`s, per test (tests run on several threads).
#[derive(Default)]
struct Counts {
    created: Cell<usize>,
    deleted: Cell<usize>,
}

thread_local! {
    static COUNTS: Counts = Counts::default();
}

struct Sentinel;

impl Sentinel {
    fn new() -> Sentinel {
        COUNTS.with(|c| c.created.set(c.created.get() + 1));
        Sentinel
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = COUNTS.try_with(|c| c.deleted.set(c.deleted.get() + 1));
    }
}

fn created() -> usize {
    COUNTS.with(|c| c.created.get())
}

fn deleted() -> usize {
    COUNTS.with(|c| c.deleted.get())
}

/// test_local_opts_not_subclassed: set, then read back.
#[test]
fn set_and_read_back() {
    let l = Local::new(|| Cell::new(0));
    l.with(|a| a.set(1));
    assert_eq!(l.with(|a| a.get()), 1);
}

/// test_objects: two locals are independent.
#[test]
fn objects_are_independent() {
    let a = Local::new(|| RefCell::new(String::new()));
    let b = Local::new(|| RefCell::new(String::new()));
    a.with(|p| *p.borrow_mut() = "123".into());
    b.with(|p| *p.borrow_mut() = "123".into());
    assert_eq!(
        a.with(|p| p.borrow().clone()),
        b.with(|p| p.borrow().clone())
    );
    b.with(|p| *p.borrow_mut() = "321".into());
    assert_ne!(
        a.with(|p| p.borrow().clone()),
        b.with(|p| p.borrow().clone())
    );
}

/// test_attribute_error / test_slot_and_type_attributes: a value set in one greenlet is not
/// seen by another; each greenlet gets a fresh one, made lazily.
#[test]
fn each_greenlet_sees_its_own() {
    let inits = Rc::new(Cell::new(0));
    let i2 = inits.clone();
    let l = Local::new(move || {
        i2.set(i2.get() + 1);
        Cell::new(0)
    });
    assert_eq!(inits.get(), 0, "made lazily");
    l.with(|v| v.set(100));
    let gs: Vec<_> = (1..=5)
        .map(|i| {
            let l = l.clone();
            spawn(move || {
                assert_eq!(l.with(|v| v.get()), 0, "fresh in each greenlet");
                l.with(|v| v.set(i));
                sleep(Duration::from_millis(1));
                l.with(|v| v.get())
            })
        })
        .collect();
    joinall(&gs);
    let got: Vec<_> = gs.iter().map(|g| g.get().unwrap()).collect();
    assert_eq!(got, [1, 2, 3, 4, 5]);
    assert_eq!(l.with(|v| v.get()), 100, "the main greenlet's own");
    assert_eq!(inits.get(), 6);
}

/// test_locals_collected_when_greenlet_dead_but_still_referenced (gevent #387): values go
/// when their greenlet dies, though its handle is still held.
#[test]
fn collected_when_greenlet_dead_but_still_referenced() {
    let my_local = Local::new(Sentinel::new);
    let (c0, d0) = (created(), deleted());
    let greenlets: Vec<_> = (0..5)
        .map(|_| {
            let l = my_local.clone();
            spawn(move || l.with(|_| ()))
        })
        .collect();
    sleep(Duration::ZERO);
    joinall(&greenlets);
    assert_eq!(created() - c0, 5);
    assert!(greenlets.iter().all(|g| g.dead()));
    assert_eq!(deleted() - d0, 5, "dropped with their greenlets");
    drop(greenlets);
}

/// test_locals_collected_when_unreferenced_even_in_running_greenlet (gevent #981): a `Local`
/// dropped while its greenlet runs on drops its value at once.
#[test]
fn collected_when_unreferenced_in_running_greenlet() {
    let count = 1000;
    let g = spawn(move || {
        let (c0, d0) = (created(), deleted());
        for _ in 0..count {
            let x = Local::new(Sentinel::new);
            x.with(|_| ());
            drop(x);
        }
        (created() - c0, deleted() - d0)
    });
    assert_eq!(g.get().unwrap(), (count, count));
}

/// A dropped `Local` drops its values in every live greenlet, not only in the running one.
#[test]
fn dropped_local_empties_every_greenlet() {
    let l = Local::new(Sentinel::new);
    let (c0, d0) = (created(), deleted());
    let gs: Vec<_> = (0..3)
        .map(|_| {
            let l = l.clone();
            spawn(move || {
                l.with(|_| ());
                drop(l);
                sleep(Duration::from_secs(60));
            })
        })
        .collect();
    sleep(Duration::ZERO);
    l.with(|_| ());
    assert_eq!(created() - c0, 4);
    assert_eq!(deleted() - d0, 0);
    drop(l);
    assert_eq!(deleted() - d0, 4, "while the greenlets still live");
    gevent_hub::killall(&gs);
}

/// A killed greenlet's values are dropped as it ends.
#[test]
fn killed_greenlet_drops_its_values() {
    let l = Local::new(Sentinel::new);
    let (c0, d0) = (created(), deleted());
    let l2 = l.clone();
    let g = spawn(move || {
        l2.with(|_| ());
        sleep(Duration::from_secs(60));
    });
    sleep(Duration::ZERO);
    assert_eq!(created() - c0, 1);
    g.kill();
    assert_eq!(deleted() - d0, 1);
}

greenlet_local! {
    /// A stash per greenlet.
    static STASH: RefCell<Vec<u8>> = RefCell::new(Vec::new());
    static HITS: Cell<u32> = Cell::new(0);
    pub(crate) static NAME: String = format!("greenlet {}", greenlet::getcurrent().id())
}

/// `greenlet_local!`: each greenlet (main included) has its own value.
#[test]
fn macro_statics() {
    STASH.with(|s| s.borrow_mut().push(0));
    let gs: Vec<_> = (1..=3u8)
        .map(|i| {
            spawn(move || {
                STASH.with(|s| s.borrow_mut().push(i));
                HITS.set(HITS.get() + u32::from(i));
                sleep(Duration::from_millis(1));
                STASH.with_borrow_mut(|s| s.push(i * 10));
                let mine = format!("greenlet {}", greenlet::getcurrent().id());
                (STASH.take(), HITS.get(), NAME.with(|n| *n == mine))
            })
        })
        .collect();
    joinall(&gs);
    for (g, i) in gs.iter().zip(1..=3u8) {
        let (stash, hits, own_name) = g.get().unwrap();
        assert_eq!(stash, [i, i * 10]);
        assert_eq!(hits, u32::from(i));
        assert!(own_name);
    }
    assert_eq!(STASH.with_borrow(|s| s.clone()), [0]);
    assert_eq!(HITS.replace(7), 0);
    assert_eq!(HITS.take(), 7);
}

/// The hub (code running in callbacks) has its own values too.
#[test]
fn hub_has_its_own() {
    HITS.set(1);
    let seen = Rc::new(Cell::new(None));
    let s = seen.clone();
    gevent_hub::get_hub().run_callback(move || s.set(Some(HITS.get())));
    sleep(Duration::ZERO);
    sleep(Duration::from_millis(1));
    assert_eq!(seen.get(), Some(0));
    assert_eq!(HITS.get(), 1);
}

/// Raw greenlets (no hub) work the same.
#[test]
fn raw_greenlets() {
    let l = Local::new(|| Cell::new(1));
    let l2 = l.clone();
    let g = greenlet::Greenlet::new(move |_: greenlet::Value| {
        l2.with(|v| v.set(v.get() + 1));
        let parent = greenlet::getcurrent().parent().unwrap();
        parent.switch(());
        l2.with(|v| v.get())
    });
    g.switch(());
    l.with(|v| v.set(50));
    assert_eq!(g.switch(()).take::<i32>(), 2);
    assert_eq!(l.with(|v| v.get()), 50);
}

/// Values of many locals in many greenlets, with clones dropped in between: the slot list
/// is pruned of dead greenlets.
#[test]
fn many_greenlets() {
    let l = Local::new(|| Cell::new(0u64));
    for round in 0..5u64 {
        let gs: Vec<_> = (0..100u64)
            .map(|i| {
                let l = l.clone();
                spawn(move || {
                    l.with(|v| v.set(round * 1000 + i));
                    sleep(Duration::ZERO);
                    l.with(|v| v.get())
                })
            })
            .collect();
        joinall(&gs);
        for (i, g) in gs.iter().enumerate() {
            assert_eq!(g.get().unwrap(), round * 1000 + i as u64);
        }
    }
    assert_eq!(l.with(|v| v.get()), 0);
    assert!(format!("{l:?}").starts_with("Local { key: "));
}
