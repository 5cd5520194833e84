//! What `len` reports while a group works, and where a greenlet it spawned was spawned.
//!
//! gevent's tutorial ("Groups and Pools") prints `len(group)` from each of three greenlets
//! mapped over a `Group`, and `len(pool)` over a `Pool(2)`: 3, 3, 3 and 2, 2, 1 there,
//! because gevent's members leave the group through a link that the hub runs after the
//! greenlets already scheduled. Here a member the group spawned leaves the moment its function
//! ends (documented on `Group::len`, with the reasons): 3, 2, 1 and 2, 1, 1. These tests pin
//! that, and that members `add`ed from elsewhere still leave through their link, as in gevent.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{get_hub, sleep, spawn, Greenlet};
use gevent_pool::{Group, Pool};

/// The group's `len` as seen by each mapped function, in order.
fn sizes_seen(group: &Group) -> Vec<usize> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let (s, g) = (seen.clone(), group.clone());
    group.map(move |_: u32| s.borrow_mut().push(g.len()), 0..3);
    let v = seen.borrow().clone();
    v
}

#[test]
fn group_map_sees_finished_members_gone() {
    assert_eq!(sizes_seen(&Group::new()), [3, 2, 1]);
}

#[test]
fn pool_map_sees_finished_members_gone() {
    let pool = Pool::new(2);
    assert_eq!(sizes_seen(&pool), [2, 1, 1]);
    assert_eq!(pool.len(), 0);
}

/// A dead member is never counted by the next greenlet that runs: a spawned one leaves as
/// its function returns, an `add`ed one through its link, which the hub runs before any other
/// greenlet.
#[test]
fn dead_members_are_gone_when_the_next_greenlet_runs() {
    let group = Group::new();
    let spawned = group.spawn(|| ());
    spawned.join();
    assert_eq!(group.len(), 0);

    let added = Greenlet::new(|| sleep(Duration::from_millis(1)));
    group.add(&added);
    added.start();
    let (g, seen) = (group.clone(), Rc::new(RefCell::new(None)));
    let s = seen.clone();
    // Scheduled to run right after `added` dies.
    added.rawlink(move |_| drop(spawn(move || *s.borrow_mut() = Some(g.len()))));
    added.join();
    sleep(Duration::ZERO);
    assert_eq!(*seen.borrow(), Some(0));
    assert_eq!(group.len(), 0);
}

/// Panics: a member's function.
fn boom() {
    panic!("boom")
}

/// Panics: a mapped function.
fn boom_on(_: u8) {
    panic!("boom")
}

/// The group's spawns are `#[track_caller]`: a member's report names the caller of `spawn`,
/// `apply_async`, `map`, `map_async`, `imap`.
#[test]
fn members_record_where_they_were_spawned() {
    let reports = Rc::new(RefCell::new(Vec::new()));
    let r = reports.clone();
    get_hub().set_error_handler(move |e| r.borrow_mut().push(e.spawned_at));
    let pool = Pool::new(4);
    let here = Location::caller;
    let mut lines = Vec::new();

    let (at, g) = (here(), pool.spawn(boom));
    assert_eq!(g.spawned_at().line(), at.line());
    g.join();
    lines.push(at.line());
    let (at, g) = (here(), pool.apply_async(boom));
    assert_eq!(g.spawned_at().line(), at.line());
    g.join();
    lines.push(at.line());
    let p = AssertUnwindSafe(&pool);
    let (at, r) = (here(), catch_unwind(|| p.map(boom_on, [1])));
    assert!(r.is_err());
    lines.push(at.line());
    let (at, g) = (here(), pool.map_async(boom_on, [1]));
    assert_eq!(g.spawned_at().line(), at.line());
    assert!(g.get().is_err());
    // The member's panic, then the one `map` re-raises in the `map_async` greenlet.
    lines.extend([at.line(), at.line()]);
    let (at, mut it) = (here(), pool.imap(boom_on, [1]));
    assert!(it.next().unwrap().is_err());
    lines.push(at.line());

    let reported: Vec<u32> = reports
        .borrow()
        .iter()
        .map(|l: &Option<&Location>| {
            let l = l.expect("every report has its place");
            assert_eq!(l.file(), file!());
            l.line()
        })
        .collect();
    assert_eq!(reported, lines);
    get_hub().reset_error_handler();
    drop(spawn(|| ()));
}
