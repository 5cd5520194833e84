//! Runs the subprocess examples (`subprocess_popen`, `subprocess_parallel`,
//! `subprocess_pipeline`) and checks their output: exactly where it is deterministic, by
//! shape where it depends on timing or on the machine (how many `cron` ticks, `uname`).
//!
//! The examples are built and run by `tests/support`.

mod support;

use support::run_timed;

use std::process::Command;
use std::time::Duration;

/// `cron` ticks every 0.2 s while the child sleeps 1 s (about 5 ticks, 6 if the child is slow
/// to start; at least 2 with ticks five times slower, at most 26 with the child five times
/// slower, while a blocking wait gives 0 or 1; none after the kill), then `uname`'s output;
/// then both parallel jobs finish within their 2 s.
#[test]
fn subprocess_popen() {
    let (out, _) = run_timed("subprocess_popen", &[]);
    let lines: Vec<&str> = out.lines().collect();
    let crons = lines.iter().take_while(|l| **l == "cron").count();
    assert!((2..=26).contains(&crons), "{out}");
    let uname = String::from_utf8(Command::new("uname").output().unwrap().stdout).unwrap();
    assert_eq!(lines[crons], uname.trim_end(), "{out}");
    assert_eq!(lines[crons + 1], "uname: 1 line(s)", "{out}");
    assert!(lines[crons + 2].starts_with("ls: "), "{out}");
    assert!(lines[crons + 2].ends_with(" line(s)"), "{out}");
    assert_eq!(lines.len(), crons + 3, "{out}");
}

/// Ten `sleep 0.3` children take about 0.3 s together.
#[test]
fn subprocess_parallel() {
    let (out, elapsed) = run_timed("subprocess_parallel", &[]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..2],
        ["10 of 10 children exited successfully", "concurrent: yes"],
        "{out}"
    );
    let secs: f64 = lines[2]
        .strip_prefix("elapsed: ")
        .and_then(|s| s.strip_suffix(" s"))
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.29..2.0).contains(&secs), "{out}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

/// `producer | sort`: the sorted words, both statuses, and the ticker ran meanwhile.
#[test]
fn subprocess_pipeline() {
    let (out, _) = run_timed("subprocess_pipeline", &[]);
    assert_eq!(
        out,
        "apple\nbanana\nfig\npear\n\
         producer: exit status: 0\n\
         consumer: exit status: 0\n\
         the ticker ran meanwhile: yes\n"
    );
}
