//! Children and their pipes wait cooperatively: other greenlets run meanwhile, many children
//! run at once, and one child is reaped exactly once however many greenlets wait for it.

mod support;

use std::cell::Cell;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{sleep, spawn, Waitable};
use gevent_subprocess::{Command, CommunicateTimeout, Stdio};

/// `sh -c script`.
fn sh(script: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(script);
    c
}

/// The gevent tutorial's `cron` example: a ticker keeps ticking while `output` waits for a
/// child that sleeps.
#[test]
fn output_while_another_greenlet_ticks() {
    let ticks = Rc::new(Cell::new(0u32));
    let t2 = ticks.clone();
    let ticker = spawn(move || loop {
        t2.set(t2.get() + 1);
        sleep(Duration::from_millis(10));
    });
    let t = Instant::now();
    let out = sh("sleep 0.3; uname").output().unwrap();
    let elapsed = t.elapsed();
    ticker.kill();
    assert!(out.status.success());
    assert!(!out.stdout.is_empty());
    assert!(elapsed >= Duration::from_millis(300));
    // About 30 ticks on a quiet machine; a blocking wait would give 0 or 1.
    assert!(
        ticks.get() >= 5,
        "only {} ticks in {elapsed:?}",
        ticks.get()
    );
}

/// Reading a pipe switches too.
#[test]
fn pipe_read_lets_others_run() {
    let ticks = Rc::new(Cell::new(0u32));
    let t2 = ticks.clone();
    let ticker = spawn(move || loop {
        t2.set(t2.get() + 1);
        sleep(Duration::from_millis(10));
    });
    let mut child = sh("sleep 0.2; echo late")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut s = String::new();
    child.stdout.take().unwrap().read_to_string(&mut s).unwrap();
    ticker.kill();
    assert_eq!(s, "late\n");
    // About 20 ticks on a quiet machine; a blocking read would give 0 or 1.
    assert!(ticks.get() >= 4, "only {} ticks", ticks.get());
    child.wait().unwrap();
}

/// Ten `sleep 0.3` at once take about 0.3 s, not 3 s.
#[test]
fn ten_sleeps_run_concurrently() {
    let t = Instant::now();
    let children: Vec<_> = (0..10)
        .map(|_| Command::new("sleep").arg("0.3").spawn().unwrap())
        .collect();
    let done = gevent_hub::wait(&children, None);
    let elapsed = t.elapsed();
    assert_eq!(done.len(), 10);
    for c in &children {
        assert!(c.try_wait().unwrap().unwrap().success());
    }
    assert!(elapsed >= Duration::from_millis(300));
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    println!("ten sleeps of 0.3 s: {elapsed:?}");
}

/// The same with one greenlet per child, each calling `wait`.
#[test]
fn ten_sleeps_from_ten_greenlets() {
    let t = Instant::now();
    let gs: Vec<_> = (0..10)
        .map(|_| {
            spawn(|| {
                let mut c = Command::new("sleep").arg("0.3").spawn().unwrap();
                c.wait().unwrap().success()
            })
        })
        .collect();
    gevent_hub::joinall(&gs);
    assert!(gs.iter().all(|g| g.get().unwrap()));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

/// 1 MiB through `cat`: feeding and draining run concurrently, so the pipes (64 KiB each)
/// never deadlock.
#[test]
fn one_mib_through_cat() {
    let input: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 % 251) as u8).collect();
    let mut cat = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, err) = cat
        .communicate(Some(&input), Some(Duration::from_secs(60)))
        .unwrap();
    assert_eq!(out.len(), input.len());
    assert!(out == input);
    assert!(err.is_empty());
    assert!(cat.wait().unwrap().success());
}

/// Large output on both stdout and stderr at once, with no input.
#[test]
fn large_stdout_and_stderr_together() {
    let mut c =
        sh("head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2; head -c 300000 /dev/zero")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    let (out, err) = c.communicate(None, Some(Duration::from_secs(60))).unwrap();
    assert_eq!((out.len(), err.len()), (600_000, 300_000));
}

/// `wait_timeout` gives `None` after the timeout, then `kill` ends the child at once.
#[test]
fn wait_timeout_then_kill() {
    let mut child = Command::new("sleep").arg("10").spawn().unwrap();
    let t = Instant::now();
    assert_eq!(
        child.wait_timeout(Duration::from_millis(100)).unwrap(),
        None
    );
    assert!(t.elapsed() >= Duration::from_millis(100));
    assert_eq!(child.try_wait().unwrap(), None);
    child.kill().unwrap();
    let s = child.wait().unwrap();
    assert_eq!(s.signal(), Some(libc::SIGKILL));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // Killing an exited child is fine (std's behaviour), and signals are not sent to its pid.
    child.kill().unwrap();
    child.terminate().unwrap();
}

/// A child waited in two greenlets, and polled in a third, is reaped exactly once: everyone
/// sees the same status, and none gets `ECHILD` (which a second `waitpid` would give).
#[test]
fn reaped_exactly_once_from_several_greenlets() {
    let mut child = sh("sleep 0.1; exit 7").spawn().unwrap();
    let pid = child.id();
    let (h1, h2, h3) = (child.handle(), child.handle(), child.handle());
    let g1 = spawn(move || h1.wait().unwrap().code());
    let g2 = spawn(move || {
        h2.wait_timeout(Duration::from_secs(10))
            .unwrap()
            .unwrap()
            .code()
    });
    let g3 = spawn(move || loop {
        if let Some(s) = h3.try_wait().unwrap() {
            return s.code();
        }
        sleep(Duration::from_millis(1));
    });
    assert_eq!(child.wait().unwrap().code(), Some(7));
    gevent_hub::joinall(&[&g1, &g2, &g3]);
    for g in [&g1, &g2, &g3] {
        assert_eq!(g.get().unwrap(), Some(7));
    }
    // Reaped: the kernel has no child with this pid left for us.
    // SAFETY: a non-blocking waitpid on a pid, with a status buffer we own.
    let r = unsafe { libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), libc::WNOHANG) };
    assert_eq!(r, -1);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::ECHILD)
    );
}

/// `gevent::wait` takes children and greenlets together.
#[test]
fn wait_mixes_children_and_greenlets() {
    let child = Command::new("sleep").arg("0.05").spawn().unwrap();
    let g = spawn(|| sleep(Duration::from_millis(10)));
    let objs: [&dyn Waitable; 2] = [&child, &g];
    let order = gevent_hub::wait(&objs, Some(Duration::from_secs(10)));
    assert_eq!(order, [1, 0]);
}

/// `iwait` with a timeout gives up on a child that runs on; the registrations are removed.
#[test]
fn wait_with_timeout_leaves_running_child() {
    let child = Command::new("sleep").arg("10").spawn().unwrap();
    assert!(gevent_hub::wait(&[&child], Some(Duration::from_millis(50))).is_empty());
    assert!(!gevent_hub::wait_one(
        &child,
        Some(Duration::from_millis(10))
    ));
    child.kill().unwrap();
    assert!(gevent_hub::wait_one(&child, Some(Duration::from_secs(10))));
}

/// Children spawned and waited from two threads, each with its own hub, are each reaped by
/// their own thread.
#[test]
fn children_from_two_threads() {
    let threads: Vec<_> = (0..2i32)
        .map(|t| {
            std::thread::spawn(move || {
                let gs: Vec<_> = (0..10)
                    .map(|i| {
                        spawn(move || {
                            let code = t * 10 + i;
                            sh(&format!("sleep 0.05; exit {code}"))
                                .status()
                                .unwrap()
                                .code()
                        })
                    })
                    .collect();
                gevent_hub::joinall(&gs);
                gs.iter()
                    .map(|g| g.get().unwrap().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for (t, th) in (0..2i32).zip(threads) {
        let codes = th.join().unwrap();
        let want: Vec<i32> = (0..10).map(|i| t * 10 + i).collect();
        assert_eq!(codes, want);
    }
}

/// `producer | consumer`: a child's stdout becomes another's stdin.
#[test]
fn pipeline_between_two_children() {
    let mut producer = Command::new("printf")
        .arg("pear\napple\nfig\n")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let consumer = Command::new("sort")
        .stdin(producer.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = consumer.wait_with_output().unwrap();
    assert!(producer.wait().unwrap().success());
    assert_eq!(out.stdout, b"apple\nfig\npear\n");
}

/// Writing to stdin and reading stdout by hand, line by line (gevent's popen bufsize test).
#[test]
fn line_by_line_conversation() {
    let mut cat = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = cat.stdin.take().unwrap();
    let mut stdout = cat.stdout.take().unwrap();
    for word in ["foobar\n", "baz\n"] {
        stdin.write_all(word.as_bytes()).unwrap();
        let mut buf = vec![0u8; word.len()];
        stdout.read_exact(&mut buf).unwrap();
        assert_eq!(buf, word.as_bytes());
    }
    drop(stdin);
    assert!(cat.wait().unwrap().success());
}

/// Writing to a child that exited is `BrokenPipe`, not a signal; `communicate` ignores it (as
/// Python does) and still returns the output.
#[test]
fn broken_pipe() {
    let mut c = sh("echo bye")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    c.wait_timeout(Duration::from_secs(10)).unwrap().unwrap();
    let e = c
        .stdin
        .as_mut()
        .unwrap()
        .write_all(&[0u8; 100_000])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokenPipe);
    let mut c = sh("head -c 3")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, _) = c.communicate(Some(&vec![b'x'; 1 << 20]), None).unwrap();
    assert_eq!(out, b"xxx");
}

/// After a `communicate` timeout, a second call goes on where the first stopped: together
/// they return everything, once.
#[test]
fn communicate_again_after_timeout() {
    let mut c = sh("echo a; sleep 1; echo b >&2; echo c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let e = c
        .communicate(Some(b"ignored"), Some(Duration::from_millis(300)))
        .unwrap_err();
    let t: CommunicateTimeout = e.downcast().unwrap();
    assert!(t.stderr().is_empty());
    assert_eq!(t.input_written(), 7); // the pipe took it all, though `sh` never reads it
    let (first, _) = t.into_output();
    let (out, err) = c.communicate(None, Some(Duration::from_secs(10))).unwrap();
    assert_eq!([first, out].concat(), b"a\nc\n");
    assert_eq!(err, b"b\n");
}

/// Killing a greenlet in `communicate` kills its helpers; the child is still reaped.
#[test]
fn kill_during_communicate() {
    let c = sh("sleep 0.2; echo x; echo y >&2")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = c.id();
    let g = spawn(move || {
        let mut c = c;
        c.communicate(None, None).map(|_| ()).is_ok()
    });
    sleep(Duration::from_millis(50));
    g.kill();
    assert!(g.get().unwrap_err().is_killed());
    // The dropped child is reaped when it exits (a zombie would keep `/proc/<pid>`).
    assert!(support::eventually(|| !std::path::Path::new(&format!(
        "/proc/{pid}"
    ))
    .exists()));
}

/// A dropped `Child` is reaped when it exits: no zombie.
#[test]
fn dropped_child_leaves_no_zombie() {
    let c = Command::new("true").spawn().unwrap();
    let pid = c.id();
    drop(c);
    assert!(support::eventually(|| !std::path::Path::new(&format!(
        "/proc/{pid}"
    ))
    .exists()));
}

/// On this kernel (5.3+), exits come through a pidfd.
#[test]
fn pidfd_is_used() {
    let mut c = Command::new("true").spawn().unwrap();
    assert_eq!(c.__exit_detection(), "pidfd");
    c.wait().unwrap();
}

/// `wait` closes stdin first (as std's does), so a child reading to end of file finishes.
#[test]
fn wait_closes_stdin() {
    let mut c = Command::new("cat").stdin(Stdio::piped()).spawn().unwrap();
    // Still running: its stdin is open.
    assert_eq!(c.wait_timeout(Duration::from_millis(100)).unwrap(), None);
    assert!(c.wait().unwrap().success());
}
