//! Ported from gevent's src/gevent/tests/test__greenletset.py (`Group`: len, join, kill with and
//! without blocking, kill fires once per member), plus members of different output types,
//! `add`/`discard`/`contains` and `join_raise_error`.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{get_hub, sleep, spawn, throw_into, Greenlet, GreenletExit, KillOptions};
use gevent_pool::Group;

const DELAY: Duration = Duration::from_millis(200); // timing.LARGE_TICK

fn no_block() -> KillOptions {
    KillOptions {
        block: false,
        timeout: None,
    }
}

#[test]
fn basic() {
    let s = Group::new();
    s.spawn(|| sleep(DELAY));
    assert_eq!(s.len(), 1);
    s.spawn(|| sleep(DELAY * 5));
    assert_eq!(s.len(), 2);
    sleep(Duration::ZERO);
    sleep(DELAY * 2 + DELAY / 2);
    assert_eq!(s.len(), 1);
    sleep(DELAY * 5 + DELAY / 2);
    assert!(s.is_empty());
}

#[test]
fn waitall() {
    let s = Group::new();
    s.spawn(|| sleep(DELAY));
    s.spawn(|| sleep(DELAY * 2));
    assert_eq!(s.len(), 2);
    let start = Instant::now();
    s.join_raise_error().unwrap();
    let delta = start.elapsed();
    assert!(s.is_empty());
    assert!(delta >= DELAY * 19 / 10, "{delta:?}");
    assert!(delta < DELAY * 2 + Duration::from_secs(2), "{delta:?}");
}

#[test]
fn kill_block() {
    let s = Group::new();
    s.spawn(|| sleep(DELAY * 50));
    s.spawn(|| sleep(DELAY * 100));
    assert_eq!(s.len(), 2);
    let start = Instant::now();
    s.kill();
    assert!(s.is_empty());
    // Killing takes no time; waiting for the sleeps instead would take 10 s or more.
    assert!(start.elapsed() < DELAY * 10, "{:?}", start.elapsed());
}

#[test]
fn kill_noblock() {
    let s = Group::new();
    s.spawn(|| sleep(DELAY));
    s.spawn(|| sleep(DELAY * 2));
    assert_eq!(s.len(), 2);
    // Let them start: a greenlet killed before it ran leaves the group at once (it never runs),
    // while running ones leave as the kill unwinds them, after this call returns.
    sleep(Duration::ZERO);
    s.kill_with(no_block());
    assert_eq!(s.len(), 2);
    sleep(Duration::from_micros(100));
    assert!(s.is_empty());
}

/// Raised to end an `undead` greenlet.
struct SpecialError;

/// A greenlet body that survives kills, counting them, until it gets `SpecialError`.
fn undead(shots: Rc<Cell<u32>>) -> impl FnOnce() {
    move || loop {
        match panic::catch_unwind(AssertUnwindSafe(|| sleep(Duration::from_secs(1)))) {
            Ok(()) => {}
            Err(p) if p.is::<SpecialError>() => break,
            Err(p) if p.is::<GreenletExit>() => shots.set(shots.get() + 1),
            Err(p) => panic::resume_unwind(p),
        }
    }
}

#[test]
fn kill_fires_once() {
    let (u1, u2) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let p1 = spawn(undead(u1.clone()));
    let p2 = spawn(undead(u2.clone()));
    let check = |c1, c2| {
        assert!(!p1.dead() && !p2.dead());
        assert_eq!((u1.get(), u2.get()), (c1, c2));
    };
    sleep(Duration::from_millis(10));
    let s = Group::new();
    s.add(&p1);
    s.add(&p2);
    assert_eq!(s.len(), 2);
    check(0, 0);
    s.killone_with(&p1, no_block());
    check(0, 0);
    sleep(Duration::ZERO);
    check(1, 0);
    s.killone(&p1);
    check(1, 0);
    s.killone(&p1);
    check(1, 0);
    s.kill_with(no_block());
    s.kill_with(no_block());
    s.kill_with(no_block());
    check(1, 0);
    sleep(DELAY);
    check(1, 1);
    let t = Instant::now();
    s.kill_with(KillOptions {
        block: true,
        timeout: Some(DELAY),
    });
    assert!(t.elapsed() >= DELAY * 9 / 10);
    assert_eq!(s.len(), 2);
    check(1, 1);

    throw_into(&p1.raw().unwrap(), Box::new(SpecialError));
    throw_into(&p2.raw().unwrap(), Box::new(SpecialError));
    s.join();
    assert!(p1.dead() && p2.dead());
}

#[test]
fn killing_unstarted_members_removes_them_at_once() {
    let s = Group::new();
    s.spawn(|| sleep(DELAY));
    s.spawn(|| sleep(DELAY));
    s.kill_with(no_block());
    assert!(s.is_empty());
}

#[test]
fn killall_with_a_panicked_member() {
    let s = Group::new();
    get_hub().set_error_handler(|_| {});
    let p1 = Greenlet::new(|| -> i32 { panic!("1 / 0") });
    p1.start();
    let p2 = spawn(|| sleep(Duration::from_secs(10)));
    s.add(&p1);
    s.add(&p2);
    s.kill();
    get_hub().reset_error_handler();
    assert!(s.is_empty());
    assert!(p1.dead()); // killed before it ran
    assert!(p2.get().unwrap_err().is_killed());
}

#[test]
fn members_of_different_types() {
    let s = Group::new();
    let a = s.spawn(|| 1u8);
    let b = s.spawn(|| String::from("two"));
    let c = s.spawn(|| sleep(Duration::from_millis(5)));
    assert!(s.contains(&a) && s.contains(&b) && s.contains(&c));
    s.join();
    assert_eq!(a.get().unwrap(), 1);
    assert_eq!(b.get().unwrap(), "two");
    assert!(!s.contains(&a));
}

#[test]
fn add_start_discard_contains() {
    let s = Group::new();
    let g = Greenlet::new(|| sleep(Duration::from_millis(5)));
    assert!(!s.contains(&g));
    s.start(&g);
    assert!(s.contains(&g));
    assert!(s.discard(&g));
    assert!(!s.contains(&g) && s.is_empty());
    g.join();
    // A discarded member's death does not touch the group.
    sleep(Duration::ZERO);
    assert!(s.is_empty());
    let other = spawn(|| ());
    assert!(!s.discard(&other));
}

#[test]
fn members_leave_when_they_die_however_they_die() {
    let s = Group::new();
    get_hub().set_error_handler(|_| {});
    s.spawn(|| ());
    s.spawn(|| -> () { panic!("boom") });
    let k = s.spawn(|| sleep(Duration::from_secs(60)));
    let never = s.spawn(|| ());
    never.kill(); // killed before it ran
    sleep(Duration::ZERO);
    k.kill();
    s.join();
    get_hub().reset_error_handler();
    assert!(s.is_empty());
}

#[test]
fn join_raise_error_reports_a_panic() {
    let s = Group::new();
    get_hub().set_error_handler(|_| {});
    s.spawn(|| sleep(Duration::from_millis(1)));
    s.spawn(|| -> () { panic!("bad member") });
    let r = s.join_raise_error();
    get_hub().reset_error_handler();
    assert_eq!(r.unwrap_err().message(), "bad member");
}

#[test]
fn kill_also_kills_members_added_while_it_waits() {
    let s = Group::new();
    let s2 = s.clone();
    s.spawn(move || {
        // Dies slowly, adding a new member on its way out.
        struct OnDrop(Group);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.spawn(|| sleep(Duration::from_secs(60)));
            }
        }
        let _d = OnDrop(s2);
        sleep(Duration::from_secs(60));
    });
    sleep(Duration::ZERO);
    let t = Instant::now();
    s.kill();
    assert!(s.is_empty());
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn join_from_a_greenlet_waits_for_emptiness_once() {
    let s = Group::new();
    s.spawn(|| sleep(Duration::from_millis(10)));
    let waiter = {
        let s = s.clone();
        spawn(move || s.join_timeout(Duration::from_secs(5)))
    };
    assert!(waiter.get().unwrap());
    assert!(s.is_empty());
    assert!(format!("{s:?}").contains("len: 0"));
}

/// `Group::kill` called by one of its members: every other member dies too (before, the
/// member's own kill unwound it at once, leaving the members after it alive and marked as
/// dying, so later kills skipped them), and then the caller.
#[test]
fn kill_called_by_a_member_kills_every_member() {
    let group = Group::new();
    let others: Vec<_> = (0..3)
        .map(|_| group.spawn(|| sleep(Duration::from_secs(3600))))
        .collect();
    let g2 = group.clone();
    let killer = group.spawn(move || {
        sleep(Duration::ZERO);
        g2.kill();
        unreachable!("the member that kills its group dies last");
    });
    let late: Vec<_> = (0..3)
        .map(|_| group.spawn(|| sleep(Duration::from_secs(3600))))
        .collect();
    killer.join();
    assert!(killer.get().unwrap_err().is_killed());
    // A blocking kill waited for the others before killing its caller.
    assert!(others.iter().chain(&late).all(|g| g.dead()));
    group.join();
    assert!(group.is_empty());
}

/// The same without blocking: the others are killed, then the caller, at once.
#[test]
fn kill_nowait_called_by_a_member_kills_every_member() {
    let group = Group::new();
    let a = group.spawn(|| sleep(Duration::from_secs(3600)));
    let g2 = group.clone();
    let killer = group.spawn(move || {
        sleep(Duration::ZERO);
        g2.kill_with(no_block());
    });
    let b = group.spawn(|| sleep(Duration::from_secs(3600)));
    killer.join();
    assert!(killer.get().unwrap_err().is_killed());
    // Killed, not left sleeping for an hour (a kill takes microseconds).
    assert!(a.join_timeout(Duration::from_secs(5)) && b.join_timeout(Duration::from_secs(5)));
    assert!(group.is_empty());
}
