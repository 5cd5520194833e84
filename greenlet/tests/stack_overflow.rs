//! A greenlet that overflows its stack hits its guard page: the process must abort with a
//! message naming the greenlet and its stack size, never die of a bare SIGSEGV.
//!
//! Each scenario runs in a child process (this test binary re-executed with `--exact` and an
//! environment variable), since it kills the process, and in both stack modes: arenas whose
//! guard pages are `MADV_GUARD_INSTALL` markers, and the fallback of one mapping per stack
//! with an `mprotect`ed guard (forced with `GEVENT_NO_STACK_ARENAS`).
//!
//! Not ported: Python's greenlet has no guard pages (it copies stacks), so this is ours
//! (DESIGN.md, "Facts measured here").

use std::hint::black_box;
use std::os::unix::process::ExitStatusExt;

use greenlet::{Greenlet, Value};

mod support;

/// The environment variable that tells a re-executed test binary to play the child.
const CHILD: &str = "GREENLET_TEST_OVERFLOW_CHILD";
/// How many times each scenario runs: every run must end the same way.
const RUNS: usize = 3;
/// The stack size of the overflowing greenlets.
const SIZE: usize = 64 * 1024;

/// Recurses with a 1 KiB frame until the stack runs out (the bound is never reached).
fn recurse(depth: u64) -> u64 {
    if black_box(depth) == u64::MAX {
        return 0;
    }
    let frame = black_box([depth as u8; 1024]);
    // The addition after the call keeps it from being a tail call.
    recurse(depth + 1) + u64::from(frame[depth as usize % 1024])
}

/// Asserts that in both stack modes, each of `RUNS` children aborted with SIGABRT and the
/// expected message; `expected` gets the child's stdout, where an unnamed child prints its
/// greenlet's id.
fn check(name: &str, scenario: &str, expected: impl Fn(&str) -> String) {
    for (label, fallback) in support::MODES {
        for run in 0..RUNS {
            let out = support::child_command(name, CHILD, scenario, fallback)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.signal(),
                Some(libc::SIGABRT),
                "{label} run {run}: expected SIGABRT, got {:?}\nstdout:\n{stdout}\nstderr:\n\
                 {stderr}",
                out.status
            );
            support::assert_mode(&stdout, label);
            let want = expected(&stdout);
            assert!(
                stderr.contains(&want),
                "{label} run {run}: stderr lacks {want:?}\nstderr:\n{stderr}"
            );
        }
    }
}

/// In the child: says which stack mode it runs in (after making a first stack).
fn print_mode() {
    Greenlet::new(|_: Value| ()).switch(());
    println!("stack_mode={:?}", greenlet::stack_mode());
}

#[test]
fn named_greenlet_overflow_aborts_with_its_name() {
    if std::env::var_os(CHILD).is_some() {
        print_mode();
        let g = Greenlet::builder()
            .name("deep")
            .stack_size(SIZE)
            .build(|_: Value| recurse(0));
        g.switch(());
        unreachable!("the recursion never ends");
    }
    check(
        "named_greenlet_overflow_aborts_with_its_name",
        "named",
        |_| format!("greenlet 'deep' has overflowed its stack ({SIZE} bytes)"),
    );
}

#[test]
fn unnamed_greenlet_overflow_aborts_with_its_id() {
    if std::env::var_os(CHILD).is_some() {
        print_mode();
        let g = Greenlet::builder()
            .stack_size(SIZE)
            .build(|_: Value| recurse(0));
        println!("id={}", g.id());
        g.switch(());
        unreachable!("the recursion never ends");
    }
    check(
        "unnamed_greenlet_overflow_aborts_with_its_id",
        "unnamed",
        |stdout| {
            // The harness prints "test <name> ... " on the same line first.
            let id: String = stdout
                .split("id=")
                .nth(1)
                .expect("the child prints its greenlet's id")
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            format!("greenlet '#{id}' has overflowed its stack ({SIZE} bytes)")
        },
    );
}

/// A numbered name is written out with the id; a name set after creation is the one shown.
#[test]
fn numbered_and_renamed_greenlets_overflow_with_their_names() {
    if let Some(mode) = std::env::var_os(CHILD) {
        print_mode();
        let g = Greenlet::builder()
            .numbered_name("Greenlet-")
            .stack_size(SIZE)
            .build(|_: Value| recurse(0));
        println!("id={}", g.id());
        if mode == "renamed" {
            g.set_name("worker-7");
        }
        g.switch(());
        unreachable!("the recursion never ends");
    }
    let id_of = |stdout: &str| -> String {
        stdout
            .split("id=")
            .nth(1)
            .expect("the child prints its greenlet's id")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect()
    };
    check(
        "numbered_and_renamed_greenlets_overflow_with_their_names",
        "numbered",
        |stdout| {
            let id = id_of(stdout);
            format!("greenlet 'Greenlet-{id}' has overflowed its stack ({SIZE} bytes)")
        },
    );
    check(
        "numbered_and_renamed_greenlets_overflow_with_their_names",
        "renamed",
        |_| format!("greenlet 'worker-7' has overflowed its stack ({SIZE} bytes)"),
    );
}

/// An overflow of the default-size stack, from a greenlet nested in another: still reported.
#[test]
fn nested_default_size_overflow_aborts_with_message() {
    if std::env::var_os(CHILD).is_some() {
        print_mode();
        let outer = Greenlet::builder().name("outer").build(|_: Value| {
            let inner = Greenlet::builder()
                .name("inner")
                .build(|_: Value| recurse(0));
            inner.switch(())
        });
        outer.switch(());
        unreachable!("the recursion never ends");
    }
    let size = greenlet::DEFAULT_STACK_SIZE;
    check(
        "nested_default_size_overflow_aborts_with_message",
        "nested",
        |_| format!("greenlet 'inner' has overflowed its stack ({size} bytes)"),
    );
}

/// A plain thread's overflow is still Rust's own report, not ours: our handler passes faults
/// outside greenlet guard pages on.
#[test]
fn thread_overflow_still_reported_by_rust() {
    if std::env::var_os(CHILD).is_some() {
        print_mode();
        // Map a greenlet stack first so that our handler is installed.
        Greenlet::new(|_: Value| ()).switch(());
        std::thread::Builder::new()
            .name("plain".into())
            .stack_size(128 * 1024)
            .spawn(|| recurse(0))
            .unwrap()
            .join()
            .unwrap();
        unreachable!("the recursion never ends");
    }
    check(
        "thread_overflow_still_reported_by_rust",
        "thread",
        // Rust's message: "thread 'plain' (<tid>) has overflowed its stack".
        |_| "has overflowed its stack\nfatal runtime error: stack overflow".to_string(),
    );
}
