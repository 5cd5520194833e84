//! Spawning greenlets with arguments and closures, then waiting for all of them with
//! `joinall`.
//!
//! From gevent's documentation ("Greenlets"):
//!
//! ```python
//! thread1 = Greenlet.spawn(foo, "Hello", 1)
//! thread2 = gevent.spawn(foo, "I live!", 2)
//! thread3 = gevent.spawn(lambda x: (x+1), 2)
//! gevent.joinall([thread1, thread2, thread3])
//! ```
//!
//! and from a tutorial: `gevent.joinall([gevent.spawn(setter, 4, 6), gevent.spawn(getter,
//! 'a1', 'b1'), gevent.spawn(setter2, [1, 2, 3])])`. Python passes the arguments to `spawn`;
//! in Rust the closure captures them. `foo` sleeps `n` seconds in gevent, `n` hundredths of a
//! second here, so "Hello" comes first, then "I live!". Greenlets of different result types
//! are joined together as `&dyn Waitable`.
//!
//! Run it with `cargo run --example gevent_spawn_args`.

use std::time::Duration;

use gevent::Waitable;

/// Sleeps `n` hundredths of a second, then prints `message`.
fn foo(message: &str, n: u64) {
    gevent::sleep(Duration::from_millis(10 * n));
    println!("{message}");
}

/// Takes two numbers.
fn setter(a: i32, b: i32) {
    println!("setter got {a} and {b}");
}

/// Takes two keys.
fn getter(k1: &str, k2: &str) {
    println!("getter got {k1} and {k2}");
}

/// Takes a list.
fn setter2(items: Vec<i32>) {
    println!("setter2 got {items:?}");
}

/// Runs the example.
pub fn main() {
    let thread1 = gevent::spawn(|| foo("Hello", 1));
    let thread2 = gevent::spawn(|| foo("I live!", 2));
    let x = 2;
    let thread3 = gevent::spawn(move || x + 1);
    let threads: [&dyn Waitable; 3] = [&thread1, &thread2, &thread3];
    gevent::joinall(&threads);
    println!("thread3 returned {}", thread3.get().unwrap());

    // Spawned greenlets start in the order they were spawned, once main waits.
    let items = vec![1, 2, 3];
    gevent::joinall(&[
        gevent::spawn(|| setter(4, 6)),
        gevent::spawn(|| getter("a1", "b1")),
        gevent::spawn(move || setter2(items)),
    ]);
}
