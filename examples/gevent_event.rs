//! An `Event` wakes every greenlet waiting on it: one setter, five waiters.
//!
//! From the gevent tutorial ("Events"), the `setter`/`waiter` example: the waiters block in
//! `evt.wait()` until the setter calls `evt.set()`, then all of them go on. `Event` is a cheap
//! handle, so each greenlet gets a clone.
//!
//! Run it with `cargo run --example gevent_event`.

use std::time::Duration;

use gevent::event::Event;

/// After a while, wakes every greenlet waiting on `evt`.
fn setter(evt: Event) {
    println!("A: Hey wait for me, I have to do something");
    gevent::sleep(Duration::from_millis(300));
    println!("Ok, I'm done");
    evt.set();
}

/// Waits for `evt`.
fn waiter(evt: Event) {
    println!("I'll wait for you");
    evt.wait(); // blocking
    println!("It's about time");
}

/// Runs the example.
pub fn main() {
    let evt = Event::new();
    let mut gs = vec![{
        let evt = evt.clone();
        gevent::spawn(move || setter(evt))
    }];
    for _ in 0..5 {
        let evt = evt.clone();
        gs.push(gevent::spawn(move || waiter(evt)));
    }
    gevent::joinall(&gs);
}
