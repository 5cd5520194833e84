//! The `SIGCHLD` fallback, forced as on a kernel without `pidfd_open`: each thread's hub
//! handles `SIGCHLD` and reaps its own children by pid. Its own file (its own process): the
//! fallback is switched on process-wide, and `SIGCHLD` handlers are process state.

mod support;

use std::os::unix::process::ExitStatusExt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use gevent_subprocess::{Command, Stdio};

/// The tests count process-wide things (zombies): one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Forces the fallback and takes the lock.
fn fallback() -> std::sync::MutexGuard<'static, ()> {
    gevent_subprocess::__force_sigchld_fallback(true);
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn wait_through_sigchld() {
    let _g = fallback();
    let mut c = Command::new("sh")
        .args(["-c", "sleep 0.05; exit 5"])
        .spawn()
        .unwrap();
    assert_eq!(c.__exit_detection(), "sigchld");
    assert_eq!(c.wait().unwrap().code(), Some(5));
    let out = Command::new("echo").arg("hi").output().unwrap();
    assert_eq!(out.stdout, b"hi\n");
}

#[test]
fn ten_sleeps_concurrently_through_sigchld() {
    let _g = fallback();
    let t = Instant::now();
    let children: Vec<_> = (0..10)
        .map(|_| Command::new("sleep").arg("0.3").spawn().unwrap())
        .collect();
    assert_eq!(gevent_hub::wait(&children, None).len(), 10);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(children
        .iter()
        .all(|c| c.try_wait().unwrap().unwrap().success()));
}

#[test]
fn wait_timeout_then_kill_through_sigchld() {
    let _g = fallback();
    let mut c = Command::new("sleep").arg("10").spawn().unwrap();
    assert_eq!(c.wait_timeout(Duration::from_millis(50)).unwrap(), None);
    c.kill().unwrap();
    assert_eq!(c.wait().unwrap().signal(), Some(libc::SIGKILL));
}

#[test]
fn many_children_no_zombies_through_sigchld() {
    let _g = fallback();
    for _ in 0..5 {
        let gs: Vec<_> = (0..20)
            .map(|_| gevent_hub::spawn(|| Command::new("true").status().unwrap()))
            .collect();
        gevent_hub::joinall(&gs);
        assert!(gs.iter().all(|g| g.get().unwrap().success()));
    }
    // Dropped without a wait: reaped on SIGCHLD all the same.
    let pids: Vec<u32> = (0..5)
        .map(|_| Command::new("true").spawn().unwrap().id())
        .collect();
    assert!(support::eventually(|| pids
        .iter()
        .all(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())));
    assert_eq!(support::zombies(), Vec::<u32>::new());
}

/// Children of two threads, each hub with its own `SIGCHLD` handler, each reaping only its
/// own children.
#[test]
fn two_threads_through_sigchld() {
    let _g = fallback();
    let threads: Vec<_> = (0..2)
        .map(|t| {
            std::thread::spawn(move || {
                let gs: Vec<_> = (0..5)
                    .map(|i| {
                        gevent_hub::spawn(move || {
                            let code = t * 10 + i;
                            Command::new("sh")
                                .arg("-c")
                                .arg(format!("sleep 0.0{i}; exit {code}"))
                                .stdout(Stdio::null())
                                .status()
                                .unwrap()
                                .code()
                                .unwrap()
                        })
                    })
                    .collect();
                gevent_hub::joinall(&gs);
                gs.iter().map(|g| g.get().unwrap()).collect::<Vec<i32>>()
            })
        })
        .collect();
    for (t, th) in threads.into_iter().enumerate() {
        let want: Vec<i32> = (0..5).map(|i| t as i32 * 10 + i).collect();
        assert_eq!(th.join().unwrap(), want);
    }
}

/// A child that is not ours (spawned with std) is never reaped by the fallback: std's own
/// `wait` still gets its status (a `waitpid(-1)` would have taken it, leaving `ECHILD`).
#[test]
fn foreign_children_are_left_alone() {
    let _g = fallback();
    let mut foreign = std::process::Command::new("sh")
        .args(["-c", "exit 9"])
        .spawn()
        .unwrap();
    // Ours, exiting after the foreign one: its SIGCHLD scan runs while the foreign child is
    // a zombie.
    let mut ours = Command::new("sleep").arg("0.1").spawn().unwrap();
    assert!(ours.wait().unwrap().success());
    gevent_hub::sleep(Duration::from_millis(50));
    assert_eq!(foreign.wait().unwrap().code(), Some(9));
}
