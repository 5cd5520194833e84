//! What the example tests share: the examples are built once with the cargo that runs the
//! tests, in the same profile and target directory, then run from
//! `<target>/<profile>/examples/`.

#![allow(dead_code)] // each test file uses its own subset

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The profile directory these tests were built into (`target/debug`, `target/release`, ...).
pub fn profile_dir() -> PathBuf {
    // A test binary is `<target>/<profile>/deps/<name>-<hash>`.
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// Builds all examples once; returns the directory holding them.
pub fn examples_dir() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = profile_dir();
        let profile = match dir.file_name().unwrap().to_str().unwrap() {
            "debug" => "dev".to_string(),
            other => other.to_string(),
        };
        // The facade features these tests were built with, so the examples that need them
        // are built too (and nothing is rebuilt with other features).
        let features: Vec<&str> = [("tls", cfg!(feature = "tls"))]
            .into_iter()
            .filter_map(|(f, on)| on.then_some(f))
            .collect();
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--examples", "--package", "gevent"])
            .args(["--features", &features.join(",")])
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

/// Runs example `name` with `args`; returns its stdout and how long it ran, after checking
/// that it succeeded.
pub fn run_timed(name: &str, args: &[&str]) -> (String, Duration) {
    let t = Instant::now();
    let out = Command::new(examples_dir().join(name))
        .args(args)
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

/// Runs example `name` with `args`; returns its stdout after checking that it succeeded.
pub fn run(name: &str, args: &[&str]) -> String {
    run_timed(name, args).0
}
