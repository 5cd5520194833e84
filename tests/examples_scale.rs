//! Runs `max_parked` (greenlets parked at once on one `Event`, and what each costs) and checks
//! its report: every greenlet parked and woken, few kernel mappings with stacks in arenas, and
//! a per-greenlet cost of about one stack page plus its records.
//!
//! The examples are built and run by `tests/support`. The full-size run (`max_parked
//! 1000000`, issue 11) is a measurement, not a test: see the example's docs.

mod support;

use std::process::Command;

use support::{examples_dir, run};

/// The number printed on the line that starts with `key<TAB>`.
fn figure(out: &str, key: &str) -> f64 {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}\t")))
        .and_then(|rest| rest.split('\t').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} line in:\n{out}"))
}

#[test]
fn max_parked_parks_wakes_and_reports() {
    const N: f64 = 40_000.0;
    let out = run("max_parked", &["40000"]);
    assert_eq!(figure(&out, "parked"), N, "{out}");
    assert_eq!(figure(&out, "woken"), N, "{out}");
    let rss = figure(&out, "rss_per_parked");
    let pte = figure(&out, "pte_per_parked");
    // At least the stack page each touches, and not many pages more.
    assert!((4096.0..20_000.0).contains(&rss), "{out}");
    assert!(pte < rss, "{out}");
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut v = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    if (v.next().unwrap_or(0), v.next().unwrap_or(0)) >= (6, 13)
        && std::env::var_os("GEVENT_NO_STACK_ARENAS").is_none()
    {
        // 40,000 stacks in arenas: past what one mapping per stack would allow by default
        // (about 32,000), in a handful of mappings.
        assert!(figure(&out, "maps") < 200.0, "{out}");
    }
}

#[test]
fn max_parked_rejects_a_bad_count() {
    let out = Command::new(examples_dir().join("max_parked"))
        .arg("lots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: max_parked"));
}
