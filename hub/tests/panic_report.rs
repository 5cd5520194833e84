//! What the hub's report of a greenlet's panic tells: where the greenlet was spawned (the
//! spawn functions are `#[track_caller]`: gevent users asked for years where a failing
//! greenlet came from), and, when `RUST_BACKTRACE` asks for one, a backtrace in std's format
//! without the runtime's own frames.
//!
//! The backtrace tests run this test binary again as a child process (`PANIC_REPORT_CHILD`
//! names the scenario) with `RUST_BACKTRACE` set as each case needs, and read its stderr: the
//! variable is read once per process.

mod support;

use std::panic::Location;
use std::process::Command;
use std::time::Duration;

use gevent_hub::{get_hub, spawn, spawn_later, spawn_raw, Greenlet};
use support::{capture_errors, seen};

/// `#[track_caller]`: the caller's location.
#[track_caller]
fn here() -> &'static Location<'static> {
    Location::caller()
}

/// A short delay.
const MS: Duration = Duration::from_millis(1);

/// Every way to spawn records its caller, and the report names it.
#[test]
fn the_report_says_where_the_greenlet_was_spawned() {
    let reports = capture_errors();
    let mut expected = Vec::new();

    let (at, g) = (here(), spawn(|| -> () { panic!("spawn") }));
    expected.push(("spawn", at, g.spawned_at()));
    g.join();
    let (at, g) = (here(), spawn_later(MS, || -> () { panic!("spawn_later") }));
    expected.push(("spawn_later", at, g.spawned_at()));
    g.join();
    let (at, g) = (here(), Greenlet::new(|| -> () { panic!("new") }));
    g.start();
    expected.push(("new", at, g.spawned_at()));
    g.join();
    let (at, g) = (here(), Greenlet::spawn(|| -> () { panic!("G::spawn") }));
    expected.push(("G::spawn", at, g.spawned_at()));
    g.join();
    let (at, r) = (here(), spawn_raw(|| panic!("spawn_raw")));
    expected.push(("spawn_raw", at, at));
    gevent_hub::sleep(Duration::from_millis(1));
    assert!(r.is_dead());

    let reports = seen(&reports);
    assert_eq!(reports.len(), expected.len(), "{reports:?}");
    for (r, (what, at, recorded)) in reports.iter().zip(&expected) {
        // `here()` and the spawn are on the same line, a few columns apart.
        assert_eq!(recorded.file(), at.file(), "{what}");
        assert_eq!(recorded.line(), at.line(), "{what}");
        let spawned = r.spawned_at.unwrap_or_else(|| panic!("{what}: {r:?}"));
        assert_eq!(spawned.line(), at.line(), "{what}: {r:?}");
        assert!(r.message.ends_with(what), "{what}: {r:?}");
        let text = r.to_string();
        assert!(
            text.contains(&format!("(spawned at {}:{}:", file!(), at.line())),
            "{what}: {text}"
        );
        assert!(r.backtrace().is_none() || std::env::var_os("RUST_BACKTRACE").is_some());
    }
    get_hub().reset_error_handler();
}

/// `set_spawned_at` overrides the recorded place (for code spawning on its caller's behalf).
#[test]
fn set_spawned_at_moves_the_place() {
    let reports = capture_errors();
    let elsewhere = here();
    let g = Greenlet::new(|| -> () { panic!("moved") });
    g.set_spawned_at(elsewhere);
    g.start();
    g.join();
    let reports = seen(&reports);
    assert_eq!(reports[0].spawned_at, Some(elsewhere));
    get_hub().reset_error_handler();
}

/// The function the child's greenlet panics in: its name must be in the backtrace.
#[inline(never)]
fn deep_in_user_code(n: u32) -> u32 {
    if n == 0 {
        panic!("the user's bug");
    }
    std::hint::black_box(deep_in_user_code(n - 1)) + 1
}

/// The child: a greenlet that panics, reported on stderr by the hub.
#[test]
fn child() {
    let Some(scenario) = std::env::var_os("PANIC_REPORT_CHILD") else {
        return;
    };
    assert_eq!(scenario, "panic");
    let g = spawn(|| deep_in_user_code(2));
    g.join();
    let g = spawn(|| deep_in_user_code(0));
    g.join();
}

/// Runs the child with `RUST_BACKTRACE=value` (unset for `None`); returns its stderr.
fn run_child(value: Option<&str>) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env("PANIC_REPORT_CHILD", "panic")
        .env_remove("RUST_LIB_BACKTRACE");
    match value {
        Some(v) => cmd.env("RUST_BACKTRACE", v),
        None => cmd.env_remove("RUST_BACKTRACE"),
    };
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stderr).unwrap()
}

/// Without `RUST_BACKTRACE`: one line per panic, the spawn place in it, and std's note once.
#[test]
fn without_rust_backtrace_the_report_is_one_line() {
    for value in [None, Some("0")] {
        let err = run_child(value);
        let reports: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with("greenlet '"))
            .collect();
        assert_eq!(reports.len(), 2, "{err}");
        for r in &reports {
            assert!(
                r.contains("(spawned at hub/tests/panic_report.rs:"),
                "{err}"
            );
            assert!(
                r.contains("panicked at hub/tests/panic_report.rs:"),
                "{err}"
            );
            assert!(r.ends_with("the user's bug"), "{err}");
        }
        assert!(!err.contains("stack backtrace"), "{err}");
        assert_eq!(err.matches("RUST_BACKTRACE=1").count(), 1, "{err}");
        assert_eq!(err.lines().count(), 3, "{err}");
    }
}

/// With `RUST_BACKTRACE=1`: std's format, the user's frames, none of the runtime's.
#[test]
fn with_rust_backtrace_the_report_has_a_short_backtrace() {
    let err = run_child(Some("1"));
    assert_eq!(err.matches("stack backtrace:").count(), 2, "{err}");
    assert!(err.contains("panic_report::deep_in_user_code"), "{err}");
    assert!(err.contains("   0: "), "{err}");
    assert!(
        err.contains("at ./hub/tests/panic_report.rs:") || err.contains("panic_report.rs:"),
        "{err}"
    );
    for runtime in [
        "gevent_hub::",
        "greenlet::",
        "corosensei::",
        "rust_begin_unwind",
        "std::panicking",
    ] {
        assert!(!err.contains(runtime), "{runtime} in:\n{err}");
    }
    assert!(!err.contains("RUST_BACKTRACE=1"), "{err}");
    // Two reports, each a few frames of two lines: short.
    assert!(err.lines().count() <= 40, "{err}");
}

/// With `RUST_BACKTRACE=full`: every frame, as std prints them.
#[test]
fn with_rust_backtrace_full_every_frame_is_shown() {
    let err = run_child(Some("full"));
    assert!(err.contains("panic_report::deep_in_user_code"), "{err}");
    assert!(err.contains("corosensei::"), "{err}");
}
