//! The module-level functions of gevent, from a tutorial's list: `spawn`, `spawn_later`,
//! `spawn_raw`, `getcurrent`, `joinall`, `wait`, `kill`, `killall`.
//!
//! `spawn_raw` makes a bare scheduled greenlet that keeps no result; `getcurrent` tells which
//! greenlet runs; `wait(objects, timeout)` waits for some of them, `wait_all(timeout)`
//! (gevent's `wait()` with no objects) for everything the loop holds; `kill` and `killall`
//! unwind greenlets at the point where they wait, so their `Drop`s run. Greenlets of different
//! output types go together as `&dyn Waitable` (for `joinall`, `wait`) or `&dyn Killable`
//! (for `killall`).
//!
//! Run it with `cargo run --example gevent_functions`.

use std::time::Duration;

/// Prints when dropped.
struct Finally(u32);

impl Drop for Finally {
    fn drop(&mut self) {
        println!("worker {}: cleaning up", self.0);
    }
}

/// A worker that sleeps for a long time (until it is killed).
fn worker(n: u32) -> gevent::Greenlet<()> {
    gevent::spawn(move || {
        let _finally = Finally(n);
        gevent::sleep(Duration::from_secs(60));
        println!("worker {n}: never printed");
    })
}

/// Runs the example.
pub fn main() {
    println!(
        "main is the main greenlet: {}",
        gevent::getcurrent().is_main()
    );
    let g = gevent::spawn(|| {
        let me = gevent::getcurrent();
        println!(
            "inside spawn: main greenlet? {}, hub? {}",
            me.is_main(),
            me.is_hub()
        );
        "spawned"
    });
    let raw = gevent::spawn_raw(|| println!("spawn_raw: runs, keeps no result"));
    let later = gevent::spawn_later(Duration::from_millis(20), || "later");

    // wait(objects, timeout): the first two are done at once, `later` is not yet.
    let done = gevent::wait(&[g.clone(), gevent::spawn(|| "quick")], None);
    println!(
        "wait: {} done; raw greenlet dead: {}",
        done.len(),
        raw.is_dead()
    );
    let done = gevent::wait(std::slice::from_ref(&later), Some(Duration::from_millis(1)));
    println!("wait with a 1 ms timeout on spawn_later(20 ms): {done:?}");
    let number = gevent::spawn(|| 42);
    gevent::joinall(&[&g as &dyn gevent::Waitable, &later, &number]);
    println!(
        "joinall: {:?} {:?} {:?}",
        g.get(),
        later.get(),
        number.get()
    );

    // kill and killall, here on greenlets of two output types.
    let workers: Vec<_> = (1..=2).map(worker).collect();
    let counter = gevent::spawn(|| -> u64 {
        let _finally = Finally(3);
        gevent::sleep(Duration::from_secs(60));
        3
    });
    gevent::sleep(Duration::ZERO); // they start, and wait in their sleep
    gevent::kill(&workers[0]);
    println!("after kill: worker 1 dead: {}", workers[0].dead());
    gevent::killall(&[&workers[0] as &dyn gevent::Killable, &workers[1], &counter]);
    println!(
        "after killall: all killed: {}",
        workers.iter().all(|w| w.killed()) && counter.killed()
    );

    // gevent.wait(): run until nothing is left.
    println!("gevent.wait(): nothing left: {}", gevent::wait_all(None));
}
