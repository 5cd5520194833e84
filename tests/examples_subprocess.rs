//! Runs the subprocess examples (`subprocess_popen`, `subprocess_parallel`,
//! `subprocess_pipeline`) and checks their output: exactly where it is deterministic, by
//! shape where it depends on timing or on the machine (how many `cron` ticks, `uname`).
//!
//! Built and run as `tests/examples.rs` does: the examples are built once with the cargo that
//! runs these tests, in the same profile and target directory, then run from
//! `<target>/<profile>/examples/`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The profile directory these tests were built into (`target/debug`, `target/release`, ...).
fn profile_dir() -> PathBuf {
    // This binary is `<target>/<profile>/deps/examples_subprocess-<hash>`.
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// Builds all examples once; returns the directory holding them.
fn examples_dir() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = profile_dir();
        let profile = match dir.file_name().unwrap().to_str().unwrap() {
            "debug" => "dev".to_string(),
            other => other.to_string(),
        };
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--examples", "--package", "gevent"])
            .args(["--profile", &profile])
            .arg("--target-dir")
            .arg(dir.parent().unwrap())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "building the examples failed");
        dir.join("examples")
    })
}

/// Runs example `name`; returns its stdout and how long it ran, after checking that it
/// succeeded.
fn run(name: &str) -> (String, Duration) {
    let exe = examples_dir().join(name);
    let t = Instant::now();
    let out = Command::new(exe)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let elapsed = t.elapsed();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "example {name} failed: {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (stdout, elapsed)
}

/// `cron` ticks every 0.2 s while the child sleeps 1 s (about 5 ticks: at least 3 on a busy
/// machine, and none after the kill), then `uname`'s output; then both parallel jobs finish
/// within their 2 s.
#[test]
fn subprocess_popen() {
    let (out, _) = run("subprocess_popen");
    let lines: Vec<&str> = out.lines().collect();
    let crons = lines.iter().take_while(|l| **l == "cron").count();
    assert!((3..=8).contains(&crons), "{out}");
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
    let (out, elapsed) = run("subprocess_parallel");
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
    let (out, _) = run("subprocess_pipeline");
    assert_eq!(
        out,
        "apple\nbanana\nfig\npear\n\
         producer: exit status: 0\n\
         consumer: exit status: 0\n\
         the ticker ran meanwhile: yes\n"
    );
}
