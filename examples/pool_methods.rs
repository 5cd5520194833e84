//! The pool's bookkeeping: `add`, `start`, `discard`, `killone`, `kill`, `join`,
//! `wait_available`, `full`, and a pool of "listeners" killed all at once.
//!
//! From the seed notes on `gevent.pool.Pool`: `wait_available()` waits until a greenlet could
//! be added; `add(greenlet)` tracks a greenlet; `discard(greenlet)` stops tracking it;
//! `start(greenlet)` adds and starts it; `join()` waits for all; `kill()` kills all;
//! `killone(greenlet)` kills one. And `pool = Pool(1000); pool.full();
//! pool.spawn(self.listen, socket); pool.kill()`.
//!
//! Run it with `cargo run --example pool_methods`.

use std::time::Duration;

use gevent::pool::Pool;
use gevent::Greenlet;

/// Runs the example.
pub fn main() {
    let pool = Pool::new(3);

    let a = Greenlet::new(|| gevent::sleep(Duration::from_millis(20)));
    pool.add(&a); // tracked, not started yet
    println!(
        "add: len {}, free {}, a started: {}",
        pool.len(),
        pool.free_count(),
        a.started()
    );
    a.start();

    let b = Greenlet::new(|| gevent::sleep(Duration::from_secs(60)));
    pool.start(&b); // add + start
    println!(
        "start: len {}, contains b: {}",
        pool.len(),
        pool.contains(&b)
    );

    let c = pool.spawn(|| gevent::sleep(Duration::from_secs(60)));
    println!("spawn: len {}, full: {}", pool.len(), pool.full());

    let free = pool.wait_available_timeout(Duration::from_millis(5));
    println!("wait_available_timeout(5 ms): {free} free");

    pool.discard(&c); // still running, no longer tracked
    println!(
        "discard: len {}, free {}, contains c: {}, c dead: {}",
        pool.len(),
        pool.free_count(),
        pool.contains(&c),
        c.dead()
    );
    c.kill();

    pool.killone(&b);
    println!("killone: b dead: {}", b.dead());

    pool.join();
    println!("join: len {}, a dead: {}", pool.len(), a.dead());
    println!("wait_available: {} free", pool.wait_available());

    // A pool of listeners, stopped all at once.
    let listeners = Pool::new(1000);
    for port in 8000..8010 {
        listeners.spawn(move || loop {
            gevent::sleep(Duration::from_millis(5)); // serve `port` forever
            let _ = port;
        });
    }
    println!("listeners: {}, full: {}", listeners.len(), listeners.full());
    listeners.kill();
    println!("after kill: {}", listeners.len());
}
