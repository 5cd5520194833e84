//! Workers sharing a queue: the boss puts 24 tasks, three workers take them in turn, 8 each.
//!
//! From gevent's tutorial ("Queues"): the boss fills the queue with `put_nowait` before the
//! workers start; each worker takes a task with `get` and yields with `sleep(0)`, so the three
//! of them take tasks round-robin in the queue's FIFO order, and quit when it is empty.
//!
//! Run it with `cargo run --example queue_workers`.

use std::time::Duration;

use gevent::queue::Queue;

/// Takes tasks until the queue is empty.
fn worker(tasks: Queue<u32>, name: &str) {
    while !tasks.empty() {
        let task = tasks.get();
        println!("Worker {name} got task {task}");
        gevent::sleep(Duration::ZERO);
    }
    println!("Quitting time!");
}

/// Puts the 24 tasks.
fn boss(tasks: Queue<u32>) {
    for i in 1..25 {
        println!("Boss put {i}");
        tasks
            .put_nowait(i)
            .expect("an unbounded queue is never full");
    }
}

/// Runs the example.
pub fn main() {
    let tasks = Queue::new();

    let t = tasks.clone();
    gevent::spawn(move || boss(t)).join();

    let workers: Vec<_> = ["steve", "john", "nancy"]
        .into_iter()
        .map(|name| {
            let tasks = tasks.clone();
            gevent::spawn(move || worker(tasks, name))
        })
        .collect();
    gevent::joinall(&workers);
}
