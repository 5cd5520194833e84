//! A `Timeout` nobody owns (started with `start_new`, raised outside its own `run`) that
//! escapes `main` is printed, like a panic, before the process exits with 101; a timeout
//! caught by its own `run` (`with_timeout`) stays silent.
//!
//! This test has its own `main` (`harness = false`): it runs itself again as a child process
//! in each scenario (`ESCAPE_SCENARIO`), a plain `main`, and checks the child's exit status and
//! stderr.

use std::process::Command;
use std::time::Duration;

use gevent::{sleep, with_timeout, Timeout};

/// The child: a plain `main`.
fn child(scenario: &str) {
    match scenario {
        "unowned" => {
            let _t = Timeout::start_new(Duration::from_millis(5));
            sleep(Duration::from_secs(60));
            unreachable!("the timeout escapes main");
        }
        "owned" => {
            let r = with_timeout(Duration::from_millis(5), || sleep(Duration::from_secs(60)));
            assert!(r.is_err());
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// Runs `scenario` in a child; returns its exit code and stderr.
fn run(scenario: &str) -> (Option<i32>, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .env("ESCAPE_SCENARIO", scenario)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn main() {
    if let Ok(s) = std::env::var("ESCAPE_SCENARIO") {
        child(&s);
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        println!("unowned: test\nowned: test");
        return;
    }
    let (code, err) = run("unowned");
    assert_eq!(code, Some(101), "stderr:\n{err}");
    assert!(
        err.contains("thread 'main' panicked") && err.contains("timed out after 5ms"),
        "the unowned timeout was not printed:\n{err}"
    );
    println!("test unowned ... ok");
    let (code, err) = run("owned");
    assert_eq!(code, Some(0), "stderr:\n{err}");
    assert!(
        !err.contains("panicked"),
        "an owned timeout was printed:\n{err}"
    );
    println!("test owned ... ok");
    println!("test result: ok. 2 passed");
}
