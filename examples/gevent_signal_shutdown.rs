//! Shutting down on `SIGQUIT`: a signal handler kills the greenlet that would otherwise run
//! (almost) forever, so `join` returns and the program exits.
//!
//! From gevent's tutorial ("Program Shutdown"):
//!
//! ```python
//! gevent.signal_handler(signal.SIGQUIT, gevent.kill)
//! thread = gevent.spawn(run_forever)
//! thread.join()
//! ```
//!
//! `signal_handler` runs its callback in a new greenlet each time the process gets the signal
//! (the process-wide handler only writes to a pipe that the hub watches). To end on its own,
//! the example plays the user pressing Ctrl-\ itself: after 100 ms, a thread runs
//! `kill -QUIT <our pid>`. Press Ctrl-\ sooner to do it yourself.
//!
//! Run it with `cargo run --example gevent_signal_shutdown`.

use std::time::Duration;

/// `SIGQUIT`'s number (POSIX: 3 everywhere; `libc::SIGQUIT`).
const SIGQUIT: i32 = 3;

/// Would sleep 1000 s.
fn run_forever() {
    gevent::sleep(Duration::from_secs(1000));
    println!("run_forever: never printed");
}

/// Runs the example.
pub fn main() {
    let thread = gevent::spawn(run_forever);
    let target = thread.clone();
    let handler = gevent::signal_handler(SIGQUIT, move || {
        println!("got SIGQUIT: killing run_forever");
        target.kill();
    })
    .expect("SIGQUIT can be handled");

    // The user, pressing Ctrl-\ after 100 ms.
    let pid = std::process::id().to_string();
    let user = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        let sent = std::process::Command::new("kill")
            .args(["-QUIT", &pid])
            .status();
        if !matches!(sent, Ok(s) if s.success()) {
            // Nobody else will stop run_forever: fail rather than hang.
            eprintln!("could not send SIGQUIT with `kill -QUIT {pid}`: {sent:?}");
            std::process::exit(1);
        }
    });

    println!("waiting for run_forever (send SIGQUIT to stop it)");
    thread.join();
    println!(
        "run_forever ended: killed={}",
        thread.get().unwrap_err().is_killed()
    );
    user.join().unwrap();
    handler.cancel();
}
