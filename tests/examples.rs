//! Runs every example of `examples/` and checks its exact output.
//!
//! The examples are built once with the cargo that runs these tests, in the same profile and
//! target directory (cargo has finished building, and released its lock, by the time tests
//! run; under a plain `cargo test` the examples are already built and this is a no-op), then
//! run from `<target>/<profile>/examples/`. Cross-compiled test runs (`--target`) are not
//! supported.

mod support;

use support::run;

/// The exact output of each example whose output does not vary.
const OUTPUTS: &[(&str, &str)] = &[
    ("hello", "job 1 done\njob 2 done\njob 3 done\n"),
    ("greenlet_switch", "12\n56\n34\n"),
    (
        "greenlet_parent",
        "-- gr2's parent is main --
12
56
main caught the panic of gr2: called `Result::unwrap()` on an `Err` value: ParseIntError { kind: InvalidDigit } (raised at examples/greenlet_parent.rs:54:22)
gr1 dead: false, gr2 dead: true
-- gr2's parent is gr1 --
12
56
gr1 caught the panic of gr2: called `Result::unwrap()` on an `Err` value: ParseIntError { kind: InvalidDigit } (raised at examples/greenlet_parent.rs:54:22)
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
    (
        "gevent_spawn_args",
        "Hello
I live!
thread3 returned 3
setter got 4 and 6
getter got a1 and b1
setter2 got [1, 2, 3]
",
    ),
    (
        "gevent_sync_async",
        "Synchronous:
Task 0 done
Task 1 done
Task 2 done
Task 3 done
Task 4 done
Task 5 done
Task 6 done
Task 7 done
Task 8 done
Task 9 done
Asynchronous:
Task 0 done
Task 3 done
Task 6 done
Task 9 done
Task 2 done
Task 5 done
Task 8 done
Task 1 done
Task 4 done
Task 7 done
the greenlets took less time than the loop: true
",
    ),
    (
        "gevent_states",
        "winner.started: true
loser.started: true
winner.value: Some(\"You win!\")
loser.value: None
winner.ready: true
loser.ready: true
winner.successful: true
loser.successful: false
loser.exception: greenlet panicked: You fail at failing.
",
    ),
    (
        "gevent_subclass",
        "I'm task 0 and want to say: just 0 test
I'm task 1 and want to say: just 1 test
I'm from subclass of Greenlet and want to say: just 2 test
Task 0 done.
Task 1 done.
I'm from subclass of Greenlet and done!
Tasks done!
",
    ),
    (
        "gevent_spawn_later",
        "before waiting: later.started=true later.ready=false
spawn started (at least 0 ms later: true)
start_later(20 ms) started (at least 20 ms later: true)
spawn_later(40 ms) started (at least 40 ms later: true)
after joinall: later.ready=true never.ready=true never.successful=true
",
    ),
    (
        "gevent_lifecycle",
        "created: started=false dead=false ready=false successful=false value=None exception=none
started: started=true dead=false ready=false successful=false value=None exception=none
job.get() = Ok(9)
link_value: the job returned Some(9)
finished: started=false dead=true ready=true successful=true value=Some(9) exception=none
link_exception: the job failed with \"target0 failed\"
failed: started=false dead=true ready=true successful=false value=None exception=greenlet panicked: target0 failed
long job running: started=true dead=false ready=false successful=false value=None exception=none
long job: cleaning up (its Drops run when it is killed)
long job killed: started=false dead=true ready=true successful=true value=None exception=none
long.get() = greenlet was killed
killed: long=true job=false (both successful)
read.take() = \"the contents\"
read.take() again: greenlet's value was already taken
",
    ),
    (
        "gevent_functions",
        "main is the main greenlet: true
inside spawn: main greenlet? false, hub? false
spawn_raw: runs, keeps no result
wait: 2 done; raw greenlet dead: true
wait with a 1 ms timeout on spawn_later(20 ms): []
joinall: Ok(\"spawned\") Ok(\"later\") Ok(42)
worker 1: cleaning up
after kill: worker 1 dead: true
worker 2: cleaning up
worker 3: cleaning up
after killall: all killed: true
gevent.wait(): nothing left: true
",
    ),
    (
        "gevent_sleep_ref",
        "1A 2A 1B 2B
work done after 20 ms
gevent.wait() returned true: work dead=true, background sleeper dead=false
",
    ),
    (
        "gevent_signal_shutdown",
        "waiting for run_forever (send SIGQUIT to stop it)
got SIGQUIT: killing run_forever
run_forever ended: killed=true
",
    ),
];

/// The expected output of example `name`.
fn expected(name: &str) -> &'static str {
    OUTPUTS.iter().find(|(n, _)| *n == name).unwrap().1
}

#[test]
fn hello() {
    assert_eq!(run("hello", &[]), expected("hello"));
}

/// The README's hello world is `examples/hello.rs` (below its header comment), and the output
/// the README shows is what it prints.
#[test]
fn readme_shows_examples_hello() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let file = std::fs::read_to_string(format!("{root}/examples/hello.rs")).unwrap();
    let code = &file[file.find("use std::").unwrap()..];
    assert!(readme.contains(&format!("```rust\n{code}```\n")), "{code}");
    assert!(
        readme.contains(&format!("```text\n{}```\n", expected("hello"))),
        "the README shows another output"
    );
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

#[test]
fn gevent_spawn_args() {
    assert_eq!(run("gevent_spawn_args", &[]), expected("gevent_spawn_args"));
}

#[test]
fn gevent_sync_async() {
    assert_eq!(run("gevent_sync_async", &[]), expected("gevent_sync_async"));
}

#[test]
fn gevent_states() {
    assert_eq!(run("gevent_states", &[]), expected("gevent_states"));
}

#[test]
fn gevent_subclass() {
    assert_eq!(run("gevent_subclass", &[]), expected("gevent_subclass"));
}

#[test]
fn gevent_spawn_later() {
    assert_eq!(
        run("gevent_spawn_later", &[]),
        expected("gevent_spawn_later")
    );
}

#[test]
fn gevent_lifecycle() {
    assert_eq!(run("gevent_lifecycle", &[]), expected("gevent_lifecycle"));
}

#[test]
fn gevent_functions() {
    assert_eq!(run("gevent_functions", &[]), expected("gevent_functions"));
}

#[test]
fn gevent_sleep_ref() {
    assert_eq!(run("gevent_sleep_ref", &[]), expected("gevent_sleep_ref"));
}

#[test]
fn gevent_signal_shutdown() {
    assert_eq!(
        run("gevent_signal_shutdown", &[]),
        expected("gevent_signal_shutdown")
    );
}

/// Examples whose output varies from run to run (timings, directory listings): the tour's
/// section is compared with the example's own output up to the first varying line.
const VARYING: &[(&str, &str)] = &[
    ("subprocess_popen", "ls: "),
    ("subprocess_parallel", "elapsed: "),
];

/// The tour prints every section: its title, the example to run for it, then exactly that
/// example's output; the gevent sections come first, then the raw greenlets, and monkey patching last.
#[test]
fn tour_runs_every_section() {
    let out = run("tour", &[]);
    let sections: Vec<&str> = out.split("\n\n== ").collect();
    assert!(sections.len() > OUTPUTS.len(), "{out}");
    let mut names = Vec::new();
    for (i, section) in sections.iter().enumerate() {
        let (head, body) = section
            .trim_start_matches("== ")
            .split_once(" ==\n")
            .unwrap_or_else(|| panic!("section {i} has no title:\n{section}"));
        assert!(!head.is_empty());
        let (name, body) = body
            .strip_prefix("   (cargo run --example ")
            .and_then(|b| b.split_once(")\n"))
            .unwrap_or_else(|| panic!("section {head:?} does not name its example:\n{body}"));
        let body = if body.ends_with('\n') {
            body.to_string()
        } else {
            format!("{body}\n")
        };
        names.push(name.to_string());
        if let Some((_, output)) = OUTPUTS.iter().find(|(n, _)| *n == name) {
            assert_eq!(body, *output, "section {head:?}");
            continue;
        }
        let own = run(name, &[]);
        match VARYING.iter().find(|(n, _)| *n == name) {
            Some((_, marker)) => {
                // Up to the marker, without `subprocess_popen`'s `cron` lines: their number
                // races with the child's exit (examples_subprocess.rs checks it).
                let cut = |s: &str| {
                    let upto = s.split(marker).next().unwrap_or_default();
                    upto.lines()
                        .filter(|l| *l != "cron")
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                assert_eq!(cut(&body), cut(&own), "section {head:?}");
            }
            None => assert_eq!(body, own, "section {head:?}"),
        }
    }
    for (name, _) in OUTPUTS.iter().filter(|(n, _)| *n != "hello") {
        assert!(names.iter().any(|n| n == name), "no section runs {name}");
    }
    let first_raw = names.iter().position(|n| n.starts_with("greenlet_"));
    let last_gevent = names
        .iter()
        .rposition(|n| !n.starts_with("greenlet_") && !n.starts_with("monkey_"));
    assert!(
        first_raw > last_gevent,
        "raw greenlets come after the gevent sections: {names:?}"
    );
    // Monkey patching patches the process: nothing runs after it.
    assert_eq!(
        names.last().map(String::as_str),
        Some("monkey_std"),
        "{names:?}"
    );
    for net in ["echo_many", "fetch", "udp_echo"] {
        assert!(
            names.iter().any(|n| n == net),
            "no networking section {net}"
        );
    }
}

/// `cargo run --example tour -- WORD` runs only the sections whose title contains `WORD`,
/// whatever its case.
#[test]
fn tour_filters_sections() {
    let out = run("tour", &["PING-Pong"]);
    assert!(out.starts_with("== Raw greenlets: ping-pong"), "{out}");
    assert!(out.ends_with(expected("greenlet_ping_pong")), "{out}");
    assert_eq!(out.matches("== ").count(), 1, "{out}");
}

/// Runs the tour with `args` and `RUST_BACKTRACE` set to `backtrace`; returns its exit code,
/// stdout and stderr.
fn tour_with(args: &[&str], backtrace: &str) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(support::examples_dir().join("tour"))
        .args(args)
        .env("RUST_BACKTRACE", backtrace)
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A word that no title contains: the tour says so, lists the sections and fails.
#[test]
fn tour_says_when_nothing_matched() {
    let (code, out, err) = tour_with(&["no-such-section"], "0");
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(out, "");
    assert!(
        err.starts_with("no section of the tour has \"no-such-section\" in its title"),
        "{err}"
    );
    assert!(err.contains("Raw greenlets: ping-pong"), "{err}");
}

/// The tour's stderr holds only the hub's reports of the two intended greenlet panics: no
/// "thread 'main' panicked" from std's hook (the raw greenlets' panic is caught and printed
/// on stdout), and with `RUST_BACKTRACE=1` the backtraces stay short (the runtime's frames
/// trimmed).
#[test]
fn tour_stderr_is_short() {
    for backtrace in ["0", "1"] {
        let (code, _, err) = tour_with(&[], backtrace);
        assert_eq!(code, Some(0), "{err}");
        assert!(!err.contains("thread 'main' panicked"), "{err}");
        assert_eq!(err.matches(") panicked at ").count(), 2, "{err}");
        assert!(
            err.lines().count() <= 30,
            "RUST_BACKTRACE={backtrace}:\n{err}"
        );
    }
}
