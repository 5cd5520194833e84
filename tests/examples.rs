//! Runs every example of `examples/` and checks its exact output.
//!
//! The examples are built once with the cargo that runs these tests, in the same profile and
//! target directory (cargo has finished building, and released its lock, by the time tests
//! run; under a plain `cargo test` the examples are already built and this is a no-op), then
//! run from `<target>/<profile>/examples/`. Cross-compiled test runs (`--target`) are not
//! supported.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The profile directory these tests were built into (`target/debug`, `target/release`, ...).
fn profile_dir() -> PathBuf {
    // This binary is `<target>/<profile>/deps/examples-<hash>`.
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

/// Runs example `name` with `args`; returns its stdout after checking that it succeeded.
fn run(name: &str, args: &[&str]) -> String {
    let out = Command::new(examples_dir().join(name))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "example {name} failed: {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The exact output of each raw-greenlet example, in the tour's order.
const OUTPUTS: &[(&str, &str)] = &[
    ("greenlet_switch", "12\n56\n34\n"),
    (
        "greenlet_parent",
        "-- gr2's parent is main --
12
56
main caught the panic of gr2: called `Result::unwrap()` on an `Err` value: ParseIntError { kind: InvalidDigit }
gr1 dead: false, gr2 dead: true
-- gr2's parent is gr1 --
12
56
gr1 caught the panic of gr2: called `Result::unwrap()` on an `Err` value: ParseIntError { kind: InvalidDigit }
34
main: gr1 finished
gr1 dead: true, gr2 dead: true
",
    ),
    (
        "greenlet_args",
        "f  running . . .1
g  running . . .1
f  done . . . 1
g  done . . . 1
",
    ),
    ("greenlet_resume", "f1\ng1\nf2\ng2\n"),
    (
        "greenlet_ping_pong",
        "---A--\n---B--\n---A--\n---B--\n---A--\n---B--\n",
    ),
    (
        "greenlet_throw",
        "worker 1: job 1
worker 1: job 2
worker 1: cleaning up
main: got Value(GreenletExit), worker 1 dead: true
worker 2: job 3
worker 2: cleaning up
main: the Shutdown came back as a panic: true, worker 2 dead: true
worker 3: job 4
main: dropping worker 3
worker 3: cleaning up
main: done
",
    ),
];

/// The expected output of example `name`.
fn expected(name: &str) -> &'static str {
    OUTPUTS.iter().find(|(n, _)| *n == name).unwrap().1
}

#[test]
fn greenlet_switch() {
    assert_eq!(run("greenlet_switch", &[]), expected("greenlet_switch"));
}

#[test]
fn greenlet_parent() {
    assert_eq!(run("greenlet_parent", &[]), expected("greenlet_parent"));
}

#[test]
fn greenlet_args() {
    assert_eq!(run("greenlet_args", &[]), expected("greenlet_args"));
}

#[test]
fn greenlet_resume() {
    assert_eq!(run("greenlet_resume", &[]), expected("greenlet_resume"));
}

#[test]
fn greenlet_ping_pong() {
    assert_eq!(
        run("greenlet_ping_pong", &[]),
        expected("greenlet_ping_pong")
    );
}

#[test]
fn greenlet_throw() {
    assert_eq!(run("greenlet_throw", &[]), expected("greenlet_throw"));
}

/// The tour prints every section: its title, the example to run for it, then exactly that
/// example's output.
#[test]
fn tour_runs_every_section() {
    let out = run("tour", &[]);
    let sections: Vec<&str> = out.split("\n\n== ").collect();
    assert_eq!(sections.len(), OUTPUTS.len(), "{out}");
    for (section, (name, output)) in sections.iter().zip(OUTPUTS) {
        let (head, body) = section.split_once(" ==\n").unwrap();
        assert!(!head.is_empty());
        let body = body
            .strip_prefix(&format!("   (cargo run --example {name})\n"))
            .unwrap_or_else(|| panic!("section {head:?} does not name {name}:\n{body}"));
        let body = if body.ends_with('\n') {
            body.to_string()
        } else {
            format!("{body}\n")
        };
        assert_eq!(body, *output, "section {head:?}");
    }
}

/// `cargo run --example tour -- WORD` runs only the sections whose title contains `WORD`.
#[test]
fn tour_filters_sections() {
    let out = run("tour", &["ping-pong"]);
    assert!(out.starts_with("== Raw greenlets: ping-pong"), "{out}");
    assert!(out.ends_with(expected("greenlet_ping_pong")), "{out}");
    assert_eq!(out.matches("== ").count(), 1, "{out}");
}
