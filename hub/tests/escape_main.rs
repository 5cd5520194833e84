//! A payload that escapes `main` is never silent (DESIGN.md, "Failure paths"): a `LoopExit`
//! ("this operation would block forever", gevent's message) or a loud payload that unwinds out
//! of a plain `fn main` prints what it is, on which thread, and what the hub held, before the
//! process exits with 101.
//!
//! This test has its own `main` (`harness = false`): run without arguments, it runs itself
//! again as a child process in each scenario (`ESCAPE_SCENARIO`), a plain `main` that hits
//! the failure, and checks the child's exit status and stderr.

use std::process::{Command, Output};
use std::time::Duration;

use gevent_hub::{get_hub, park, sleep, spawn, throw_into};

/// The scenarios the child runs.
const SCENARIOS: &[&str] = &[
    "park_forever",
    "join_forever",
    "thread",
    "loud_payload",
    "quiet_payload",
];

/// A payload type registered as loud.
#[derive(Debug)]
struct Alarm;

impl std::fmt::Display for Alarm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the alarm went off")
    }
}

/// A payload type that is not registered: it stays silent, as `resume_unwind` is.
#[derive(Debug)]
struct Quiet;

/// The child: a plain `main` that lets the failure escape.
fn child(scenario: &str) {
    match scenario {
        "park_forever" => {
            // A timer that does not keep the loop alive, to show up in the hub's state.
            let t = get_hub().call_later(Duration::from_secs(60), || ());
            t.set_ref(false);
            park(drop);
        }
        "join_forever" => {
            let g = spawn(|| {
                park(drop);
            });
            g.join();
        }
        "thread" => {
            let t = std::thread::Builder::new()
                .name("worker".into())
                .spawn(|| {
                    park(drop);
                })
                .unwrap();
            // The payload comes back through `join`; the thread's message was printed.
            assert!(t.join().is_err());
            std::process::exit(0);
        }
        "loud_payload" => {
            gevent_hub::register_loud_payload::<Alarm>(|_| true);
            let main = greenlet::getcurrent().to_greenlet();
            get_hub().run_callback(move || throw_into(&main, Box::new(Alarm)));
            sleep(Duration::from_secs(60));
        }
        "quiet_payload" => {
            let main = greenlet::getcurrent().to_greenlet();
            get_hub().run_callback(move || throw_into(&main, Box::new(Quiet)));
            sleep(Duration::from_secs(60));
        }
        other => panic!("unknown scenario {other}"),
    }
    unreachable!("the scenario {scenario} escapes main");
}

/// Runs this program again in `scenario`.
fn run(scenario: &str) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .env("ESCAPE_SCENARIO", scenario)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

/// Checks one scenario's outcome.
fn check(scenario: &str) {
    let out = run(scenario);
    let err = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    let fail = |why: &str| panic!("{scenario}: {why}\nstatus {code:?}\nstderr:\n{err}");
    match scenario {
        "park_forever" | "join_forever" => {
            if code != Some(101) {
                fail("expected exit status 101");
            }
            for want in [
                "thread 'main' panicked",
                "LoopExit",
                "would block forever",
                "main greenlet of thread 'main'",
                "hub: ready=0",
            ] {
                if !err.contains(want) {
                    fail(&format!("stderr lacks {want:?}"));
                }
            }
            if scenario == "park_forever" && !err.contains("timers=1 (keeping it alive: 0)") {
                fail("the hub's state does not show the unref'd timer");
            }
        }
        "thread" => {
            if code != Some(0) {
                fail("expected exit status 0");
            }
            for want in ["thread 'worker' panicked", "would block forever"] {
                if !err.contains(want) {
                    fail(&format!("stderr lacks {want:?}"));
                }
            }
        }
        "loud_payload" => {
            if code != Some(101) {
                fail("expected exit status 101");
            }
            if !err.contains("thread 'main' panicked") || !err.contains("the alarm went off") {
                fail("the loud payload was not printed");
            }
        }
        "quiet_payload" => {
            // Not registered: unwinds like `resume_unwind`, without a word (this is what a
            // kill or an owned timeout does).
            if code != Some(101) {
                fail("expected exit status 101");
            }
            if err.contains("panicked") {
                fail("an unregistered payload was printed");
            }
        }
        _ => unreachable!(),
    }
}

fn main() {
    if let Ok(s) = std::env::var("ESCAPE_SCENARIO") {
        child(&s);
        return;
    }
    // libtest-style flags (`--list`, `--format`) are ignored; filters select scenarios.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if std::env::args().any(|a| a == "--list") {
        for s in SCENARIOS {
            println!("{s}: test");
        }
        return;
    }
    let mut ran = 0;
    for s in SCENARIOS {
        if filters.is_empty() || filters.iter().any(|f| s.contains(f.as_str())) {
            check(s);
            println!("test {s} ... ok");
            ran += 1;
        }
    }
    println!("test result: ok. {ran} passed");
}
