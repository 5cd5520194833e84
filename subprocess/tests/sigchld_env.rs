//! `GEVENT_SUBPROCESS_NO_PIDFD=1` forces the `SIGCHLD` fallback. Its own file (its own
//! process): the choice is made once per process, at the first spawn.

use std::time::{Duration, Instant};

use gevent_subprocess::Command;

#[test]
fn env_var_forces_the_sigchld_fallback() {
    // Set before the first spawn of this process, while no other thread runs.
    std::env::set_var("GEVENT_SUBPROCESS_NO_PIDFD", "1");
    let t = Instant::now();
    let children: Vec<_> = (0..10)
        .map(|_| Command::new("sleep").arg("0.3").spawn().unwrap())
        .collect();
    assert!(children.iter().all(|c| c.__exit_detection() == "sigchld"));
    assert_eq!(gevent_hub::wait(&children, None).len(), 10);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}
