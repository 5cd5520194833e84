//! Three ways to make a greenlet: `spawn`, `Greenlet::new` + `start`, and a type of one's own
//! implementing `gevent::Run` (gevent's "subclass `Greenlet` and override `_run`").
//!
//! From a gevent tutorial: `MyGreen(Greenlet)` with `_run`, and `TestMultigreen`, which
//! spawns `_task` twice and starts a `MyGreen`, then joins all three. Python inheritance
//! becomes a trait: `Greenlet::from_run(MyGreen { .. })` makes an unstarted greenlet, and
//! `start()` schedules it. With a timeout of 0, `sleep` only yields, so the three interleave.
//!
//! Run it with `cargo run --example gevent_subclass`.

use std::time::Duration;

use gevent::{Greenlet, Run};

/// gevent's `MyGreen`: a greenlet type with its own state.
struct MyGreen {
    /// How long to sleep.
    timeout: Duration,
    /// What to say.
    msg: String,
}

impl Run for MyGreen {
    type Output = ();

    fn run(self) {
        println!(
            "I'm from subclass of Greenlet and want to say: {}",
            self.msg
        );
        gevent::sleep(self.timeout);
        println!("I'm from subclass of Greenlet and done!");
    }
}

/// gevent's `TestMultigreen`.
struct TestMultigreen {
    /// How long each task sleeps.
    timeout: Duration,
}

impl TestMultigreen {
    fn run(&self) {
        let timeout = self.timeout;
        // gevent.spawn(self._task, 0, 'just 0 test')
        let green0 = gevent::spawn(move || task(timeout, 0, "just 0 test"));
        // Greenlet.spawn(self._task, 1, 'just 1 test'): Greenlet::new, then start.
        let green1 = Greenlet::new(move || task(timeout, 1, "just 1 test"));
        green1.start();
        // MyGreen(self.timeout, 'just 2 test'): created unstarted; start() schedules it.
        let green2 = Greenlet::from_run(MyGreen {
            timeout,
            msg: "just 2 test".into(),
        });
        green2.start();

        gevent::joinall(&[green0, green1, green2]);
        println!("Tasks done!");
    }
}

/// gevent's `_task`.
fn task(timeout: Duration, pid: u32, msg: &str) {
    println!("I'm task {pid} and want to say: {msg}");
    gevent::sleep(timeout);
    println!("Task {pid} done.");
}

/// Runs the example.
pub fn main() {
    let test = TestMultigreen {
        timeout: Duration::ZERO,
    };
    test.run();
}
