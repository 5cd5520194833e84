//! Runs the examples of the synchronisation crates (`Event`, `AsyncResult`,
//! `BoundedSemaphore`, greenlet-local storage, `Timeout`) and checks their exact output.
//!
//! Built and run as `tests/examples.rs` does: the examples are built once with the cargo that
//! runs these tests, in the same profile and target directory, then run from
//! `<target>/<profile>/examples/`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The profile directory these tests were built into (`target/debug`, `target/release`, ...).
fn profile_dir() -> PathBuf {
    // This binary is `<target>/<profile>/deps/examples_sync-<hash>`.
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

/// Runs example `name`; returns its stdout after checking that it succeeded.
fn run(name: &str) -> String {
    let out = Command::new(examples_dir().join(name))
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

#[test]
fn gevent_event() {
    assert_eq!(
        run("gevent_event"),
        "A: Hey wait for me, I have to do something
I'll wait for you
I'll wait for you
I'll wait for you
I'll wait for you
I'll wait for you
Ok, I'm done
It's about time
It's about time
It's about time
It's about time
It's about time
"
    );
}

#[test]
fn gevent_async_result() {
    assert_eq!(
        run("gevent_async_result"),
        "Hello!
Hello!
set once: ready=true successful=true
the job's result: Ok(42)
"
    );
}

#[test]
fn gevent_bounded_semaphore() {
    assert_eq!(
        run("gevent_bounded_semaphore"),
        "Worker 0 acquired semaphore
Worker 1 acquired semaphore
Worker 0 released semaphore
Worker 1 released semaphore
Worker 3 acquired semaphore
Worker 4 acquired semaphore
Worker 3 released semaphore
Worker 4 released semaphore
Worker 5 acquired semaphore
Worker 5 released semaphore
counter: 2
one release too many: semaphore released too many times (bound 2)
"
    );
}

#[test]
fn gevent_local() {
    assert_eq!(
        run("gevent_local"),
        "1
2
x is not local to f2
f2 visited: [\"f2\"]
main: x=None y=None visited=[]
"
    );
}

#[test]
fn gevent_timeout() {
    assert_eq!(
        run("gevent_timeout"),
        "Could not complete
with Timeout(time_to_wait, TooLong): Err(TooLong)
Thread 1 timed out (timed out after 100ms)
Thread 2 timed out
Thread 3 timed out
in time: Ok(42)
"
    );
}
