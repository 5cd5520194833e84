//! A user's own `SIGCHLD` handler, installed before ours, keeps being called once the
//! fallback installs its handler; and the user's own reaping of their own children keeps
//! working. Its own file (its own process): it replaces the process's `SIGCHLD` action.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gevent_subprocess::Command;

/// How many times the user's handler ran.
static HITS: AtomicUsize = AtomicUsize::new(0);

/// The user's handler: async-signal-safe (one atomic add).
extern "C" fn on_sigchld(_: libc::c_int) {
    HITS.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn user_sigchld_handler_keeps_working() {
    // SAFETY: installing a handler that only does an atomic add; the sigaction struct is
    // zeroed (an empty mask) and then filled in before use.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigchld as extern "C" fn(libc::c_int) as libc::sighandler_t;
        sa.sa_flags = libc::SA_RESTART;
        assert_eq!(libc::sigaction(libc::SIGCHLD, &sa, std::ptr::null_mut()), 0);
    }

    // With pidfds, SIGCHLD is not touched at all.
    let mut c = Command::new("true").spawn().unwrap();
    assert_eq!(c.__exit_detection(), "pidfd");
    c.wait().unwrap();
    let after_pidfd = HITS.load(Ordering::SeqCst);
    assert!(after_pidfd >= 1);

    // The fallback installs its handler in front of the user's, which it keeps calling.
    gevent_subprocess::__force_sigchld_fallback(true);
    let mut c = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
    assert_eq!(c.__exit_detection(), "sigchld");
    assert_eq!(c.wait().unwrap().code(), Some(3));
    let mut c = Command::new("sleep").arg("0.05").spawn().unwrap();
    assert!(c.wait().unwrap().success());
    for _ in 0..100 {
        if HITS.load(Ordering::SeqCst) > after_pidfd {
            break;
        }
        gevent_hub::sleep(Duration::from_millis(10));
    }
    assert!(HITS.load(Ordering::SeqCst) > after_pidfd);
}
