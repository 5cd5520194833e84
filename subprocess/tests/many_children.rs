//! Many short children: every one reaped (no zombies), no descriptor leaked. Alone in its
//! file (its own process), since it counts the process's zombies and open descriptors.
//!
//! Ported in part from gevent's src/gevent/tests/test__subprocess.py (`test_leak`: the number
//! of open files is the same before and after a child with a stdout pipe).

mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use gevent_subprocess::{Command, Stdio};

/// The tests count process-wide things: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Creates the hub and lets the warm-up child's exit watcher finish (a child reaped by its
/// own `wait` before the watcher ran leaves the watcher's pidfd open until the hub next
/// polls).
fn warm_up() {
    Command::new("true").status().unwrap();
    gevent_hub::sleep(Duration::from_millis(20));
}

#[test]
fn two_hundred_children_twenty_at_a_time() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Warm up: the hub's poller and wake-up descriptors exist from here on.
    warm_up();
    assert_eq!(support::zombies(), Vec::<u32>::new());
    let fds_before = support::open_fds();

    let t = Instant::now();
    let mut statuses = Vec::new();
    for round in 0..10 {
        let gs: Vec<_> = (0..20)
            .map(|i| {
                gevent_hub::spawn(move || {
                    // Half with a piped stdout, to count the pipes too.
                    let mut c = Command::new("true");
                    if (round + i) % 2 == 0 {
                        c.stdout(Stdio::piped());
                    }
                    let mut child = c.spawn().unwrap();
                    child.wait().unwrap()
                })
            })
            .collect();
        gevent_hub::joinall(&gs);
        statuses.extend(gs.iter().map(|g| g.get().unwrap()));
    }
    let elapsed = t.elapsed();
    println!("200 children, 20 at a time: {elapsed:?}");

    assert_eq!(statuses.len(), 200);
    assert!(statuses.iter().all(|s| s.success()));
    // Let the watcher greenlets finish and close their pidfds.
    support::eventually(|| support::open_fds() == fds_before);
    assert_eq!(support::zombies(), Vec::<u32>::new());
    assert_eq!(support::open_fds(), fds_before);
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
}

/// test_leak: a child with a stdout pipe, waited, its pipe closed: as many descriptors as
/// before. Also for `output` and a timed-out `communicate` whose child is then killed.
#[test]
fn no_descriptor_leaks() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    warm_up();
    let before = support::open_fds();

    let mut p = Command::new("echo").stdout(Stdio::piped()).spawn().unwrap();
    p.wait().unwrap();
    drop(p.stdout.take());
    drop(p);
    Command::new("echo").arg("x").output().unwrap();
    let mut p = Command::new("sleep")
        .arg("10")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(p
        .communicate(Some(b"x"), Some(Duration::from_millis(50)))
        .is_err());
    p.kill().unwrap();
    p.wait().unwrap();
    drop(p);
    support::eventually(|| support::open_fds() == before);
    assert_eq!(support::open_fds(), before);
    assert_eq!(support::zombies(), Vec::<u32>::new());
}
