//! Ported from gevent's `src/gevent/tests/test__greenlet.py`: a greenlet's states before, during
//! and after its run (`TestBasic`), the kill matrix (`TestKill`, `TestKillAfterStart`,
//! `TestKillAfterStartLater`, `TestKillWhileRunning`), `join`/`get` with time limits
//! (`TestJoin`, `TestGet`), `start` (`TestStart`) and the "subclass with `_run`" pattern.
//! Links are in `links.rs`, `joinall` in `joinall.rs`.
//!
//! Differences from Python: a greenlet's value after a kill is `None` (gevent keeps the
//! `GreenletExit` instance as the value); `get()` says `is_killed()` instead.

mod support;

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{
    get_hub, killall_with, park, sleep, spawn, spawn_raw, throw_into, Greenlet, KillOptions, Run,
    Unparker,
};
use greenlet::Value;
use support::{capture_errors, counter, log, push, seen, timed, DropCounter, SMALL_TICK};

/// `(started, dead, ready, successful)`.
fn states<T>(g: &Greenlet<T>) -> (bool, bool, bool, bool) {
    (g.started(), g.dead(), g.ready(), g.successful())
}

/// `test_simple_exit`: the states of a greenlet that returns a value, at every stage.
#[test]
fn states_of_a_successful_greenlet() {
    let links = log();
    let g = Greenlet::new(|| {
        sleep(Duration::from_millis(30));
        5
    });
    let l = links.clone();
    g.rawlink(move |g| push(&l, g.name()));
    assert_eq!(states(&g), (false, false, false, false));
    assert_eq!((g.value(), g.exception().is_none()), (None, true));

    g.start();
    assert_eq!(states(&g), (true, false, false, false), "started");
    assert_eq!((g.value(), g.exception().is_none()), (None, true));

    sleep(Duration::from_millis(1));
    assert_eq!(states(&g), (true, false, false, false), "running");
    assert_eq!((g.value(), g.exception().is_none()), (None, true));
    assert!(seen(&links).is_empty());

    g.join();
    assert_eq!(states(&g), (false, true, true, true), "dead");
    assert_eq!(g.value(), Some(5));
    assert!(g.exception().is_none());
    assert_eq!(g.get().unwrap(), 5);
    sleep(Duration::ZERO);
    assert_eq!(seen(&links), [g.name()]);
}

/// `test_error_exit`: a greenlet that panics is dead, ready and not successful; the panic is
/// its exception, reported once, and `get` gives it back.
#[test]
fn states_of_a_panicking_greenlet() {
    let reports = capture_errors();
    let links = log();
    let g = Greenlet::new(|| -> i32 {
        sleep(Duration::from_millis(1));
        panic!("test_error_exit {}", 5)
    });
    let l = links.clone();
    g.rawlink(move |g| push(&l, g.name()));
    g.start();
    sleep(Duration::ZERO);
    sleep(Duration::from_millis(20));
    assert_eq!(states(&g), (false, true, true, false));
    assert_eq!(g.value(), None);
    let e = g.exception().expect("an exception");
    assert!(e.is_panic() && !e.is_killed());
    assert_eq!(e.message(), "test_error_exit 5");
    let p = g.get().unwrap_err().into_panic();
    let text = p
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| p.downcast_ref::<&str>().copied());
    assert_eq!(text, Some("test_error_exit 5"));
    assert_eq!(seen(&links), [g.name()]);
    let reports = seen(&reports);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].context.contains(&g.name()), "{:?}", reports[0]);
    assert!(
        reports[0].message.contains("test_error_exit 5") && reports[0].message.contains(".rs:"),
        "the report names the panic and where it happened: {:?}",
        reports[0]
    );
    get_hub().reset_error_handler();
}

/// `TestDeadPropertyDuringSwitch`: a running greenlet never looks dead to itself.
#[test]
fn running_greenlet_is_not_dead_to_itself() {
    type States = (bool, bool, bool);
    let slot: Rc<RefCell<Option<Greenlet<States>>>> = Rc::default();
    let s = slot.clone();
    let g = Greenlet::new(move || {
        let me = s.borrow_mut().take().unwrap();
        (me.dead(), me.ready(), me.started())
    });
    *slot.borrow_mut() = Some(g.clone());
    g.start();
    assert_eq!(g.get().unwrap(), (false, false, true));
}

/// How the greenlet under test was started before the kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// `TestKill`: never started.
    Never,
    /// `TestKillAfterStart`: started, not yet run.
    Now,
    /// `TestKillAfterStartLater`: `start_later`, not yet run.
    Later,
    /// `TestKillWhileRunning` (as intended): running, parked in a long sleep.
    Running,
}

/// `assertKilled`: dead, ready, successful, no value, no exception, and `get` says killed.
fn assert_killed<T: Clone + std::fmt::Debug>(g: &Greenlet<T>, case: &str) {
    assert_eq!(states(g), (false, true, true, true), "{case}");
    assert!(g.value().is_none(), "{case}");
    assert!(g.exception().is_none(), "{case}");
    assert!(g.get().unwrap_err().is_killed(), "{case}");
}

/// One cell of `TestKill._do_test`.
fn kill_case(start: Start, block: bool, killall: bool) {
    let case = format!("{start:?} block={block} killall={killall}");
    let ran = counter();
    let drops = counter();
    let links = log();
    let (r, d) = (ran.clone(), drops.clone());
    let g = Greenlet::new(move || {
        let _finally = DropCounter(d);
        if start == Start::Running {
            sleep(Duration::from_secs(10));
        }
        r.set(r.get() + 1);
    });
    let l = links.clone();
    g.link(move |g| push(&l, g.name()));
    match start {
        Start::Never => {}
        Start::Now => g.start(),
        Start::Later => g.start_later(Duration::from_millis(200)),
        Start::Running => {
            g.start();
            sleep(Duration::ZERO);
            assert!(g.started() && !g.ready(), "{case}");
        }
    }
    let opts = KillOptions {
        block,
        timeout: None,
    };
    let kill = || {
        if killall {
            killall_with(std::slice::from_ref(&g), opts);
        } else {
            g.kill_with(opts);
        }
    };
    kill();
    if !block {
        // Must spin the loop to take effect (if it was scheduled).
        sleep(Duration::from_millis(1));
    }
    assert_killed(&g, &case);
    sleep(Duration::from_millis(10)); // spin the loop: it must not run now
    assert_killed(&g, &case);
    // A second kill must not hurt.
    kill();
    assert_killed(&g, &case);

    assert_eq!(ran.get(), 0, "{case}: the function never got past its wait");
    assert_eq!(
        drops.get(),
        usize::from(start == Start::Running),
        "{case}: a greenlet killed in a wait runs its Drops"
    );
    assert_eq!(seen(&links), [g.name()], "{case}: links fire once");
}

/// The whole kill matrix: every start state, blocking or not, `kill` or `killall`.
#[test]
fn kill_matrix() {
    for start in [Start::Never, Start::Now, Start::Later, Start::Running] {
        for block in [true, false] {
            for killall in [false, true] {
                kill_case(start, block, killall);
            }
        }
    }
    // The StartLater timers were cancelled: nothing is left that keeps the loop alive.
    let (dry, took) = timed(|| get_hub().join(None));
    assert!(dry && took < support::NO_TIME, "{took:?}");
}

/// `test_non_type_exception`: killing with a payload other than `GreenletExit` (here through
/// `throw_into`) makes the greenlet fail with it: not successful, an exception, reported once.
#[test]
fn kill_with_another_payload_is_a_failure() {
    let reports = capture_errors();
    let drops = counter();
    let d = drops.clone();
    let g = spawn(move || {
        let _finally = DropCounter(d);
        sleep(Duration::from_secs(10));
    });
    sleep(Duration::ZERO);
    throw_into(&g.raw().unwrap(), Box::new("custom kill"));
    g.join();
    assert_eq!(states(&g), (false, true, true, false));
    assert_eq!(g.exception().unwrap().message(), "custom kill");
    assert_eq!(drops.get(), 1);
    assert_eq!(seen(&reports).len(), 1);
    get_hub().reset_error_handler();
}

/// `kill(timeout=...)`: a greenlet that does not die in time (it catches the kill and goes on
/// working) is left running; `kill_with` returns after the timeout.
#[test]
fn kill_with_timeout_returns_when_it_expires() {
    let g = spawn(|| {
        let caught = panic::catch_unwind(|| sleep(Duration::from_secs(10))).is_err();
        sleep(Duration::from_secs(1));
        caught
    });
    sleep(Duration::ZERO);
    let (_, took) = timed(|| {
        g.kill_with(KillOptions {
            block: true,
            timeout: Some(SMALL_TICK),
        })
    });
    assert!(!g.dead(), "still working after catching the kill");
    assert!(took >= SMALL_TICK, "{took:?}");
    assert!(took < Duration::from_millis(900), "{took:?}");
    assert!(
        g.get().unwrap(),
        "it caught GreenletExit and finished normally"
    );
}

/// `kill(block=False)` returns at once; the greenlet dies at the hub's next turn.
#[test]
fn kill_without_block_returns_at_once() {
    let drops = counter();
    let d = drops.clone();
    let g = spawn(move || {
        let _finally = DropCounter(d);
        sleep(Duration::from_secs(10));
    });
    sleep(Duration::ZERO);
    g.kill_with(KillOptions {
        block: false,
        timeout: None,
    });
    assert!(!g.dead() && drops.get() == 0, "not killed yet");
    g.join();
    assert!(g.dead() && g.successful());
    assert_eq!(drops.get(), 1);
}

/// Killing the running greenlet (from inside itself) unwinds it at once; its Drops run.
#[test]
fn kill_current_greenlet() {
    let slot: Rc<RefCell<Option<Greenlet<&'static str>>>> = Rc::default();
    let drops = counter();
    let after = counter();
    let (s, d, a) = (slot.clone(), drops.clone(), after.clone());
    let g = Greenlet::new(move || {
        let _finally = DropCounter(d);
        let me = s.borrow_mut().take().unwrap();
        me.kill();
        a.set(1);
        "not reached"
    });
    *slot.borrow_mut() = Some(g.clone());
    g.start();
    g.join();
    assert_killed(&g, "kill current");
    assert_eq!((drops.get(), after.get()), (1, 0));
}

/// A greenlet that was woken, and killed before it ran again, runs on until its next wait and
/// dies there (in gevent, the wake-up callback runs before the kill callback).
#[test]
fn kill_after_wake_takes_effect_at_the_next_wait() {
    let slot: Rc<RefCell<Option<Unparker>>> = Rc::default();
    let progress = log();
    let (s, p) = (slot.clone(), progress.clone());
    let g = spawn(move || {
        let v = park(|u| *s.borrow_mut() = Some(u)).take::<i32>();
        push(&p, v);
        sleep(Duration::from_secs(10));
        push(&p, -1);
    });
    sleep(Duration::ZERO);
    assert!(slot.borrow().as_ref().unwrap().wake(Value::new(7)));
    g.kill();
    assert_eq!(seen(&progress), [7]);
    assert_killed(&g, "woken then killed");
    // A stale unparker is refused.
    assert!(!slot.borrow().as_ref().unwrap().wake(Value::new(8)));
}

/// `TestRef.test_kill_scheduled` and `test_kill_started`.
#[test]
fn kill_scheduled_and_started() {
    spawn(|| sleep(Duration::from_secs(5))).kill();
    let g = spawn(|| sleep(Duration::from_secs(5)));
    sleep(Duration::from_millis(1));
    let (_, took) = timed(|| g.kill());
    assert!(g.dead() && took < Duration::from_secs(2), "{took:?}");
}

/// `TestKillallRawGreenlet` has no counterpart (killall takes `Greenlet<T>`); killing a dead
/// greenlet, or a list with duplicates, is harmless.
#[test]
fn kill_dead_and_duplicates() {
    let g = spawn(|| 1);
    g.join();
    g.kill();
    assert_eq!(
        g.get().unwrap(),
        1,
        "killing a dead greenlet keeps its value"
    );
    let h = spawn(|| sleep(Duration::from_secs(10)));
    sleep(Duration::ZERO);
    let done = spawn(|| ());
    done.join();
    gevent_hub::killall(&[h.clone(), h.clone(), done.clone()]);
    assert!(h.dead() && h.successful());
    assert!(done.get().is_ok());
}

/// `TestJoin` / `TestGet` (`AbstractGenericWaitTestCase`): with a time limit, `join` and `get`
/// return after it, not before, and say the greenlet is still running.
#[test]
fn join_and_get_with_timeout() {
    let g = spawn(|| sleep(Duration::from_secs(10)));
    let (joined, took) = timed(|| g.join_timeout(SMALL_TICK));
    assert!(!joined);
    assert!(
        took >= SMALL_TICK && took < Duration::from_secs(2),
        "{took:?}"
    );
    let (got, took) = timed(|| g.get_timeout(SMALL_TICK));
    assert!(got.is_none());
    assert!(
        took >= SMALL_TICK && took < Duration::from_secs(2),
        "{took:?}"
    );
    g.kill();
    assert!(g.join_timeout(SMALL_TICK));
    assert!(g.get_timeout(SMALL_TICK).unwrap().unwrap_err().is_killed());
}

/// A greenlet that joins itself would wait forever: it panics instead.
#[test]
fn joining_itself_panics() {
    let _reports = capture_errors();
    let slot: Rc<RefCell<Option<Greenlet<()>>>> = Rc::default();
    let s = slot.clone();
    let g = Greenlet::new(move || s.borrow_mut().take().unwrap().join());
    *slot.borrow_mut() = Some(g.clone());
    g.start();
    let e = g.get().unwrap_err();
    assert!(e.message().contains("join itself"), "{e}");
    get_hub().reset_error_handler();
}

/// `TestStart.test_start`: starting twice, or after death, does nothing.
#[test]
fn start_is_idempotent() {
    let runs = counter();
    let r = runs.clone();
    let g = spawn(move || {
        r.set(r.get() + 1);
        sleep(Duration::from_millis(5));
    });
    assert!(g.started());
    g.start();
    g.start_later(Duration::ZERO);
    assert!(g.started());
    g.join();
    g.start();
    sleep(Duration::from_millis(10));
    assert_eq!(runs.get(), 1);
    assert!(g.dead() && !g.started());
}

/// `start_later` runs the greenlet after the delay, never before.
#[test]
fn start_later_waits() {
    let t = Instant::now();
    let g = Greenlet::new(move || t.elapsed());
    g.start_later(Duration::from_millis(30));
    assert!(g.started() && !g.ready());
    let ran_after = g.get().unwrap();
    assert!(ran_after >= Duration::from_millis(30), "{ran_after:?}");
}

/// Names: `Greenlet-N` by default, settable.
#[test]
fn names() {
    let g = Greenlet::new(|| ());
    let h = Greenlet::new(|| ());
    assert!(g.name().starts_with("Greenlet-"), "{}", g.name());
    assert_ne!(g.name(), h.name());
    g.set_name("worker-1");
    assert_eq!(g.name(), "worker-1");
    g.start();
    g.join();
    assert_eq!(g.name(), "worker-1");
}

/// The `MyGreen` subclass from gevent's docs: a type implementing `Run`.
struct MyGreen {
    /// How long to sleep.
    timeout: Duration,
    /// What to say.
    msg: String,
    /// Where to say it.
    out: support::Log,
}

impl Run for MyGreen {
    type Output = usize;
    fn run(self) -> usize {
        push(&self.out, format!("say: {}", self.msg));
        sleep(self.timeout);
        push(&self.out, "done".to_owned());
        self.msg.len()
    }
}

/// `Greenlet::from_run` is created unstarted; `start` schedules it; the value is `run`'s.
#[test]
fn from_run() {
    let out = log();
    let g = Greenlet::from_run(MyGreen {
        timeout: Duration::from_millis(5),
        msg: "just 2 test".into(),
        out: out.clone(),
    });
    assert!(!g.started());
    sleep(Duration::from_millis(1));
    assert!(seen(&out).is_empty(), "not started: never runs");
    g.start();
    assert_eq!(g.get().unwrap(), 11);
    assert_eq!(seen(&out), ["say: just 2 test", "done"]);
}

/// `test_spawn_raw_kwargs` (closures carry the arguments): a raw greenlet runs once and is
/// dead afterwards; it keeps no result.
#[test]
fn spawn_raw_runs_once() {
    let value = log();
    let v = value.clone();
    let (a, name) = (1, "value");
    let r = spawn_raw(move || push(&v, format!("{a} {name}")));
    assert!(!r.is_dead());
    sleep(Duration::from_millis(10));
    assert!(r.is_dead());
    assert_eq!(seen(&value), ["1 value"]);
}

/// `Greenlet.spawn(foo, "Hello", 1)`, `spawn(lambda x: x + 1, 2)`: closures capture the
/// arguments; results of any type.
#[test]
fn spawn_with_arguments_and_lambdas() {
    fn foo(msg: &str, n: u32) -> String {
        sleep(Duration::from_millis(u64::from(n)));
        format!("{msg} {n}")
    }
    let t1 = spawn(|| foo("Hello", 1));
    let t2 = spawn(|| foo("I live!", 2));
    let x = 2;
    let t3 = spawn(move || x + 1);
    gevent_hub::joinall(&[&t1 as &dyn gevent_hub::Waitable, &t2, &t3]);
    assert_eq!(t1.get().unwrap(), "Hello 1");
    assert_eq!(t2.get().unwrap(), "I live! 2");
    assert_eq!(t3.get().unwrap(), 3);
}

/// A panic in a greenlet stays there: the spawner carries on, and `get` hands it over as a
/// value that can be re-raised.
#[test]
fn panic_is_a_value_for_the_spawner() {
    let _reports = capture_errors();
    let g = spawn(|| -> u8 { std::panic::panic_any(42u8) });
    let r = panic::catch_unwind(AssertUnwindSafe(|| g.join()));
    assert!(r.is_ok(), "join does not raise");
    let p = g.get().unwrap_err().into_panic();
    assert_eq!(*p.downcast::<u8>().unwrap(), 42);
    get_hub().reset_error_handler();
}

/// Regression (one allocation per greenlet: its state lives in its raw greenlet's record): a
/// spawned greenlet whose raw greenlet is killed before it ever ran finishes as killed, its
/// function dropped unrun, and its joiners are woken.
#[test]
fn raw_greenlet_killed_before_it_ran_finishes_the_greenlet() {
    let drops = counter();
    let d = DropCounter(drops.clone());
    let g = spawn(move || {
        let _d = &d;
        unreachable!("killed before it ran")
    });
    let joiner = {
        let g = g.clone();
        spawn(move || g.join())
    };
    let raw = g.raw().expect("alive");
    // Its parent, the hub, receives the kill, runs the ready greenlets (the joiner), and, main
    // not being parked, ends main's switch with `LoopExit`.
    let r = panic::catch_unwind(AssertUnwindSafe(|| raw.throw(greenlet::GreenletExit)));
    assert!(r.unwrap_err().is::<gevent_hub::LoopExit>());
    assert!(g.dead() && g.successful());
    assert!(g.get().unwrap_err().is_killed());
    assert_eq!(drops.get(), 1, "its function is dropped without running");
    joiner.join();
    assert!(joiner.successful());
}

/// Regression (one allocation per greenlet): a greenlet never started whose handles are all
/// dropped frees its function; one spawned whose handle is dropped at once still runs.
#[test]
fn unstarted_greenlets_are_freed_and_spawned_ones_run_without_a_handle() {
    let drops = counter();
    let d = DropCounter(drops.clone());
    let g = Greenlet::new(move || drop(d));
    drop(g);
    assert_eq!(drops.get(), 1);
    let ran = counter();
    let r = ran.clone();
    drop(spawn(move || r.set(r.get() + 1)));
    sleep(Duration::ZERO);
    assert_eq!(ran.get(), 1);
}
