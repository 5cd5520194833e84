//! An `AsyncResult` carries one value (or error) to every greenlet waiting for it.
//!
//! From the gevent tutorial ("Events"), the `AsyncResult` example: `a.get()` waits until the
//! setter puts a value in, then returns it, in every waiter. An `AsyncResult` is set once and
//! never reset; it can also receive a greenlet's outcome through a link.
//!
//! Run it with `cargo run --example gevent_async_result`.

use std::time::Duration;

use gevent::event::AsyncResult;

/// After a while, sets the result.
fn setter(a: AsyncResult<&'static str>) {
    gevent::sleep(Duration::from_millis(300));
    a.set("Hello!");
}

/// Waits for the result and prints it.
fn waiter(a: AsyncResult<&'static str>) {
    println!("{}", a.get().unwrap());
}

/// Runs the example.
pub fn main() {
    let a = AsyncResult::new();
    let (a1, a2, a3) = (a.clone(), a.clone(), a.clone());
    gevent::joinall(&[
        gevent::spawn(move || setter(a1)),
        gevent::spawn(move || waiter(a2)),
        gevent::spawn(move || waiter(a3)),
    ]);
    println!(
        "set once: ready={} successful={}",
        a.ready(),
        a.successful()
    );

    // As a link target: the result of a greenlet, value or panic.
    let job = gevent::spawn(|| 6 * 7);
    let result = AsyncResult::<i32>::new();
    let r = result.clone();
    job.link(move |g| r.set_from(g));
    println!("the job's result: {:?}", result.get());
}
