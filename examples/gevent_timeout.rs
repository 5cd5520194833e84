//! `Timeout` in its forms: started and cancelled, as a `with` block, with a custom error,
//! around a `join` or a `get`, and `with_timeout`.
//!
//! From gevent's documentation of `gevent.timeout` and the tutorial ("Timeouts"). A started
//! `Timeout` is raised in the greenlet that started it at the point where it waits (here, in
//! `join` and `get`); `Timeout::run` is the `with Timeout(...):` block and turns its own
//! timeout into `Err`. The durations are shortened (0.1 s instead of seconds).
//!
//! Run it with `cargo run --example gevent_timeout`.

use std::time::Duration;

use gevent::Timeout;

/// gevent's `wait`: longer than every timeout below.
fn wait() {
    gevent::sleep(Duration::from_secs(1));
}

/// gevent's `TooLong` exception.
#[derive(Debug)]
struct TooLong;

/// Runs the example.
pub fn main() {
    let seconds = Duration::from_millis(100);

    // timeout = Timeout(seconds); timeout.start()
    // try: gevent.spawn(wait).join()
    // except Timeout: print('Could not complete')
    // finally: timeout.cancel()
    let timeout = Timeout::new(seconds);
    timeout.start();
    let g = gevent::spawn(wait);
    match timeout.run(|| g.join()) {
        Ok(()) => println!("Completed"),
        Err(_) => println!("Could not complete"),
    }
    timeout.cancel();

    // with Timeout(time_to_wait, TooLong): gevent.sleep(10)
    let r = Timeout::with_error(seconds, TooLong).run(|| gevent::sleep(Duration::from_secs(10)));
    println!("with Timeout(time_to_wait, TooLong): {r:?}");

    // timer = Timeout(1).start(); thread1.join(timeout=timer)
    let timer = Timeout::new(seconds);
    timer.start();
    let thread1 = gevent::spawn(wait);
    if let Err(t) = timer.run(|| thread1.join()) {
        println!("Thread 1 timed out ({t})");
    }

    // timer = Timeout.start_new(1); thread2.get(timeout=timer)
    let timer = Timeout::start_new(seconds);
    let thread2 = gevent::spawn(wait);
    if timer.run(|| thread2.get()).is_err() {
        println!("Thread 2 timed out");
    }

    // gevent.with_timeout(1, wait)
    if gevent::with_timeout(seconds, wait).is_err() {
        println!("Thread 3 timed out");
    }

    // Finishing in time: nothing is raised, the timer is cancelled.
    let quick = gevent::with_timeout(seconds, || 40 + 2);
    println!("in time: {quick:?}");

    gevent::killall(&[g, thread1, thread2]);
}
