//! Ported from gevent's src/gevent/tests/test__subprocess.py (`TestPopen`, `RunFuncTestCase`)
//! and src/gevent/tests/test__subprocess_poll.py, with `sh` in place of `sys.executable -c`.

use std::io::{self, ErrorKind, Read};
use std::time::{Duration, Instant};

use gevent_subprocess::{Command, CommunicateTimeout, Stdio};

/// `sh -c script`.
fn sh(script: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(script);
    c
}

/// test_exit: `wait` returns the exit code.
#[test]
fn exit_code() {
    let mut p = sh("exit 10").spawn().unwrap();
    assert_eq!(p.wait().unwrap().code(), Some(10));
}

/// test_wait: `gevent.wait([popen])`, then `poll` gives the code.
#[test]
fn gevent_wait_then_poll() {
    let p = sh("exit 11").spawn().unwrap();
    let done = gevent_hub::wait(&[&p], None);
    assert_eq!(done, [0]);
    assert_eq!(p.try_wait().unwrap().unwrap().code(), Some(11));
}

/// test_child_exception and test_issue148: a missing program is an `OSError` with errno
/// `ENOENT`, seven times over (nothing is left in a bad state).
#[test]
fn missing_program_is_enoent() {
    for _ in 0..7 {
        let e = Command::new("this_name_must_not_exist")
            .spawn()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    }
    let e = Command::new("*").output().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
}

/// test_communicate: stdin is fed, stdout and stderr are read apart.
#[test]
fn communicate_banana_pineapple() {
    let mut p = sh("printf pineapple >&2; cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, err) = p.communicate(Some(b"banana"), None).unwrap();
    assert_eq!(out, b"banana");
    assert_eq!(err, b"pineapple");
    assert!(p.try_wait().unwrap().unwrap().success());
}

/// test_default_mode_no_output_is_always_str: no output is an empty buffer, and a stream that
/// was not piped gives an empty one too (Python gives `None`).
#[test]
fn no_output_is_empty() {
    let mut p = sh(":").stdout(Stdio::piped()).spawn().unwrap();
    let (out, err) = p.communicate(None, None).unwrap();
    assert!(out.is_empty() && err.is_empty());
}

/// test_returncode / test_check_output_keyword_error: the status carries the code.
#[test]
fn output_returncode() {
    let out = sh("exit 47").output().unwrap();
    assert_eq!(out.status.code(), Some(47));
    assert!(!out.status.success());
    let out = sh("exit 44").output().unwrap();
    assert_eq!(out.status.code(), Some(44));
    assert!(sh("exit 0").status().unwrap().success());
}

/// test_capture_stdout / test_capture_stderr.
#[test]
fn capture_stdout_and_stderr() {
    let out = sh("echo BDFL").output().unwrap();
    assert_eq!(out.stdout, b"BDFL\n");
    let out = sh("printf BDFL >&2").output().unwrap();
    assert_eq!(out.stderr, b"BDFL");
    assert!(out.stdout.is_empty());
}

/// test_check_output_stdin_arg: stdin can be a file.
#[test]
fn stdin_from_a_file() {
    let path = std::env::temp_dir().join(format!("gevent-subprocess-pear-{}", std::process::id()));
    std::fs::write(&path, b"pear").unwrap();
    let f = std::fs::File::open(&path).unwrap();
    let out = Command::new("tr")
        .args(["a-z", "A-Z"])
        .stdin(f)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(out.stdout, b"PEAR");
}

/// test_check_output_input_arg: input through `communicate`.
#[test]
fn input_through_communicate() {
    let mut p = Command::new("tr")
        .args(["a-z", "A-Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(p.communicate(Some(b"pear"), None).unwrap().0, b"PEAR");
}

/// test_check_output_stdin_with_input_arg: input without a stdin pipe is refused (Python's
/// `run` raises `ValueError` naming both).
#[test]
fn input_without_stdin_pipe_is_refused() {
    let mut p = sh(":").stdout(Stdio::piped()).spawn().unwrap();
    let e = p.communicate(Some(b"hare"), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("stdin") && e.to_string().contains("input"));
    p.wait().unwrap();
}

/// test_check_output_timeout: the timeout error keeps the output read so far.
#[test]
fn communicate_timeout_keeps_output() {
    let mut p = sh("printf BDFL; exec sleep 3600")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let e = p
        .communicate(None, Some(Duration::from_secs(2)))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    let t: CommunicateTimeout = e.downcast().unwrap();
    assert_eq!(t.stdout(), b"BDFL");
    assert!(t.stderr().is_empty());
    p.kill().unwrap();
    p.wait().unwrap();
}

/// test_timeout and test_run_with_shell_timeout_and_capture_output: a timeout with captured
/// output ends on time (open pipes do not hang it), and the child can then be killed.
#[test]
fn timeout_with_captured_output_ends_on_time() {
    let t = Instant::now();
    let mut p = sh("exec sleep 3")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let e = p
        .communicate(None, Some(Duration::from_millis(100)))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    p.kill().unwrap();
    p.wait().unwrap();
    // gevent 1.1b5: a timeout is honoured even with no pipe at all.
    let mut p = sh("exec sleep 3").spawn().unwrap();
    let e = p
        .communicate(None, Some(Duration::from_millis(100)))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    p.kill().unwrap();
    p.wait().unwrap();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

/// test_run_kwargs: the environment reaches the child.
#[test]
fn environment_reaches_the_child() {
    let s = sh(r#"[ "$FRUIT" = banana ] && exit 33 || exit 31"#)
        .env("FRUIT", "banana")
        .status()
        .unwrap();
    assert_eq!(s.code(), Some(33));
    let s = sh(r#"[ -z "$FRUIT" ] && exit 33 || exit 31"#)
        .env("FRUIT", "banana")
        .env_remove("FRUIT")
        .status()
        .unwrap();
    assert_eq!(s.code(), Some(33));
}

/// test_nonblock_removed: the child's end of a pipe is not left non-blocking (a child reading
/// a pipe nobody writes yet must wait, not fail with EAGAIN).
#[test]
fn child_pipe_stays_blocking() {
    let mut writer = sh("sleep 0.3; echo text")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = writer.stdout.take().unwrap();
    let mut grep = Command::new("grep")
        .arg("text")
        .stdin(out)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    gevent_hub::sleep(Duration::from_millis(100));
    assert_eq!(grep.try_wait().unwrap(), None);
    let mut s = String::new();
    grep.stdout.take().unwrap().read_to_string(&mut s).unwrap();
    assert_eq!(s, "text\n");
    assert!(grep.wait().unwrap().success());
    assert!(writer.wait().unwrap().success());
}

/// test__subprocess_poll.py: `poll` in a loop that never lets the hub run still sees the
/// exit (it reaps by itself).
#[test]
fn poll_in_a_busy_loop() {
    let p = sh(":").spawn().unwrap();
    let t = Instant::now();
    while p.try_wait().unwrap().is_none() {
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "poll never saw the exit"
        );
    }
}

/// test_leak's counterpart without `/proc` counting (see `many_children.rs` for that): the
/// pipes of a finished child close when dropped.
#[test]
fn reading_after_exit_gives_eof() -> io::Result<()> {
    let mut p = sh("echo; exit 0").stdout(Stdio::piped()).spawn()?;
    p.wait()?;
    let mut s = String::new();
    p.stdout.take().unwrap().read_to_string(&mut s)?;
    assert_eq!(s, "\n");
    Ok(())
}
