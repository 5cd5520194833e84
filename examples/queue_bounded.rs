//! A bounded queue: the boss hands out work only as fast as the workers take it.
//!
//! From gevent's tutorial ("Queues", `Queue(maxsize=3)`): producer and consumers run
//! together. `put` waits while three tasks are queued, `get` waits while none is; a worker
//! gives up when no task comes within a second (`get_timeout` returns `Empty`).
//!
//! Run it with `cargo run --example queue_bounded`.

use std::time::Duration;

use gevent::queue::Queue;

/// Takes tasks until none comes for a second.
fn worker(tasks: Queue<u32>, name: &str) {
    // `get_timeout` fails with `GetError::Empty` after a second without work (or with
    // `GetError::ShutDown`): either ends the loop.
    while let Ok(task) = tasks.get_timeout(Duration::from_secs(1)) {
        println!("Worker {name} got task {task}");
        gevent::sleep(Duration::ZERO);
    }
    println!("Quitting time!");
}

/// Puts tasks 1 to 19, waiting while the queue is full.
fn boss(tasks: Queue<u32>) {
    for i in 1..10 {
        tasks.put(i);
    }
    println!("Assigned all work in iteration 1");
    for i in 10..20 {
        tasks.put(i);
    }
    println!("Assigned all work in iteration 2");
}

/// Runs the example.
pub fn main() {
    let tasks = Queue::bounded(3);

    let mut all = Vec::new();
    let t = tasks.clone();
    all.push(gevent::spawn(move || boss(t)));
    for name in ["steve", "john", "bob"] {
        let tasks = tasks.clone();
        all.push(gevent::spawn(move || worker(tasks, name)));
    }
    gevent::joinall(&all);
}
