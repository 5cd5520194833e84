//! The small names a gevent user looks for: `Greenlet::take` (no `T: Clone`),
//! `Greenlet::spawn`, `killed`, `kill`/`killall` on greenlets of different output types, and
//! `wait_all` (gevent's bare `gevent.wait()`).

mod support;

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{
    get_hub, joinall, kill, killall, killall_with, sleep, sleep_unref, spawn, wait_all, Greenlet,
    KillOptions, Killable,
};
use support::capture_errors;

/// Neither `Clone` nor `Copy`: only `take` can get it out.
#[derive(Debug, PartialEq)]
struct Unique(String);

#[test]
fn take_moves_a_value_that_is_not_clone() {
    let g = spawn(|| {
        sleep(Duration::from_millis(1));
        Unique("mine".into())
    });
    assert_eq!(g.take().unwrap(), Unique("mine".into()));
    assert!(g.successful() && g.ready() && !g.killed());
    // A second take, a get, a value: the value is gone, and they say so.
    let again = g.take().unwrap_err();
    assert!(again.is_taken() && !again.is_panic() && !again.is_killed());
    assert_eq!(again.message(), "value already taken");
    assert!(g.with_value(|_| ()).is_none());
    assert!(g.exception().is_none());
}

#[test]
fn take_of_an_io_result() {
    let g = spawn(|| -> io::Result<String> {
        Err(io::Error::new(io::ErrorKind::NotFound, "no such file"))
    });
    let r: io::Result<String> = g.take().unwrap();
    assert_eq!(r.unwrap_err().kind(), io::ErrorKind::NotFound);
}

#[test]
fn take_returns_a_panic_or_a_kill_every_time() {
    let reports = capture_errors();
    let bad = spawn(|| -> Unique { panic!("broken") });
    assert!(bad.take().unwrap_err().is_panic());
    assert!(bad.take().unwrap_err().is_panic());
    let long = spawn(|| -> Unique {
        sleep(Duration::from_secs(60));
        Unique(String::new())
    });
    sleep(Duration::ZERO);
    long.kill();
    assert!(long.take().unwrap_err().is_killed());
    assert!(long.take().unwrap_err().is_killed());
    assert_eq!(reports.borrow().len(), 1);
    get_hub().reset_error_handler();
}

/// A taker killed while it waits takes nothing: the value is there for the next `take`.
#[test]
fn a_killed_taker_leaves_the_value() {
    let g = spawn(|| {
        sleep(Duration::from_millis(20));
        Unique("kept".into())
    });
    let g2 = g.clone();
    let taker = spawn(move || g2.take().map(|u| u.0));
    sleep(Duration::from_millis(1));
    taker.kill();
    assert!(taker.killed());
    assert_eq!(g.take().unwrap(), Unique("kept".into()));
}

#[test]
fn greenlet_spawn_starts_it() {
    let g = Greenlet::spawn(|| 6 * 7);
    assert!(g.started());
    assert_eq!(g.get().unwrap(), 42);
}

#[test]
fn killed_tells_a_kill_from_a_success() {
    let reports = capture_errors();
    let done = spawn(|| 1);
    let long = spawn(|| sleep(Duration::from_secs(60)));
    let unstarted = Greenlet::new(|| ());
    let bad = spawn(|| -> () { panic!("no") });
    sleep(Duration::ZERO);
    long.kill();
    unstarted.kill();
    joinall(&[&done as &dyn gevent_hub::Waitable, &bad]);
    assert!(done.successful() && !done.killed());
    assert!(long.successful() && long.killed());
    assert!(unstarted.successful() && unstarted.killed());
    assert!(!bad.successful() && !bad.killed());
    // Not dead yet: not killed.
    let running = spawn(|| sleep(Duration::from_secs(60)));
    assert!(!running.killed());
    running.kill();
    assert!(running.killed());
    drop(reports);
    get_hub().reset_error_handler();
}

#[test]
fn killall_takes_greenlets_of_different_types() {
    let drops = Rc::new(Cell::new(0));
    /// Counts the unwinding of each greenlet.
    struct Bump(Rc<Cell<u32>>);
    impl Drop for Bump {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let d = drops.clone();
    let number = spawn(move || {
        let _b = Bump(d);
        sleep(Duration::from_secs(60));
        42u64
    });
    let d = drops.clone();
    let text = spawn(move || {
        let _b = Bump(d);
        sleep(Duration::from_secs(60));
        String::from("text")
    });
    let unit = spawn(|| sleep(Duration::from_secs(60)));
    sleep(Duration::ZERO);
    let t = Instant::now();
    killall(&[&number as &dyn Killable, &text, &unit]);
    assert!(t.elapsed() < Duration::from_secs(30));
    assert!(number.killed() && text.killed() && unit.killed());
    assert_eq!(drops.get(), 2);

    // `kill` on a `&dyn Killable`, and `killall_with` without blocking.
    let a = spawn(|| sleep(Duration::from_secs(60)));
    let b = spawn(|| {
        sleep(Duration::from_secs(60));
        'b'
    });
    sleep(Duration::ZERO);
    let erased: &dyn Killable = &a;
    kill(erased);
    assert!(a.killed());
    let gs: Vec<Rc<dyn Killable>> = vec![Rc::new(b.clone())];
    killall_with(
        &gs,
        KillOptions {
            block: false,
            timeout: None,
        },
    );
    assert!(!b.dead());
    b.join();
    assert!(b.killed());
}

/// `killall` from one of the greenlets it kills: the others die first, then the caller.
#[test]
fn killall_kills_the_caller_last() {
    let other = spawn(|| sleep(Duration::from_secs(60)));
    let saw_other_dead = Rc::new(Cell::new(false));
    let (o, seen) = (other.clone(), saw_other_dead.clone());
    let me_cell: Rc<std::cell::OnceCell<Greenlet<()>>> = Rc::default();
    let me_ref = me_cell.clone();
    let me = spawn(move || {
        struct Check(Greenlet<()>, Rc<Cell<bool>>);
        impl Drop for Check {
            fn drop(&mut self) {
                self.1.set(self.0.dead());
            }
        }
        let _c = Check(o.clone(), seen);
        let me = me_ref.get().unwrap().clone();
        killall(&[&o as &dyn Killable, &me]);
    });
    me_cell.set(me.clone()).unwrap();
    me.join();
    assert!(me.killed() && other.killed());
    assert!(saw_other_dead.get());
}

#[test]
fn wait_all_waits_until_nothing_is_left() {
    let done = Rc::new(Cell::new(0));
    for i in 1..=3u64 {
        let d = done.clone();
        spawn(move || {
            sleep(Duration::from_millis(2 * i));
            d.set(d.get() + 1);
        });
    }
    // An unref'd sleeper does not keep it waiting.
    let background = spawn(|| sleep_unref(Duration::from_secs(60)));
    assert!(wait_all(None));
    assert_eq!(done.get(), 3);
    assert!(!background.dead());
    background.kill();
}

#[test]
fn wait_all_gives_up_after_its_timeout() {
    let long = spawn(|| sleep(Duration::from_secs(60)));
    let t = Instant::now();
    assert!(!wait_all(Some(Duration::from_millis(20))));
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(20), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    long.kill();
    assert!(wait_all(Some(Duration::from_secs(5))));
}
