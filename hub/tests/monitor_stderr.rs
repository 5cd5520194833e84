//! The blocking monitor turned on by the environment (`GEVENT_MONITOR_THREAD_ENABLE=1`, as in
//! gevent's `test__monitor.py`) reports on stderr when no `tracing` subscriber is installed:
//! a monitor the user asked for is never silent.
//!
//! This test has its own `main` (`harness = false`): it runs itself again as a child process
//! with the monitor's environment, in which a greenlet blocks the thread, and checks the
//! child's stderr.

use std::process::Command;
use std::time::Duration;

fn main() {
    if std::env::var("MONITOR_CHILD").is_ok() {
        let g = gevent_hub::spawn(|| std::thread::sleep(Duration::from_millis(500)));
        g.join();
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        println!("monitor_prints_on_stderr: test");
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .env("MONITOR_CHILD", "1")
        .env("GEVENT_MONITOR_THREAD_ENABLE", "1")
        .env("GEVENT_MAX_BLOCKING_TIME", "0.05")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {err}");
    assert!(
        err.contains("gevent monitor") && err.contains("greenlet #"),
        "the monitor did not report on stderr:\n{err}"
    );
    assert_eq!(
        err.matches("gevent monitor").count(),
        1,
        "reported more than once:\n{err}"
    );
    println!("test monitor_prints_on_stderr ... ok");
    println!("test result: ok. 1 passed");
}
