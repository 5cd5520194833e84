//! A pool of 10 greenlets mapping a function over 10 items: `imap` yields the results in the
//! items' order, `imap_unordered` in the order they finish.
//!
//! From the gevent documentation (`gevent.pool.Pool`): `p = Pool(10);
//! run1 = [a for a in p.imap_unordered(echo, xrange(10))]`. Here `echo` takes longer for
//! smaller items, so the two orders differ. Each result is a `Result`: an item that panicked
//! would show up as an `Err` at its place, and the iteration would go on.
//!
//! Run it with `cargo run --example pool_imap_unordered`.

use std::time::Duration;

use gevent::pool::Pool;

/// Returns its item, after (10 - item) × 10 ms.
fn echo(i: u64) -> u64 {
    gevent::sleep(Duration::from_millis((10 - i) * 10));
    i
}

/// Runs the example.
pub fn main() {
    let p = Pool::new(10);

    let run1: Vec<u64> = p.imap_unordered(echo, 0..10).map(Result::unwrap).collect();
    println!("imap_unordered: {run1:?}");

    let run2: Vec<u64> = p.imap(echo, 0..10).map(Result::unwrap).collect();
    println!("imap:           {run2:?}");

    let squares = p.map(|x: u64| x * x, 0..10);
    println!("map:            {squares:?}");
    println!("pool empty again: {}", p.is_empty());
}
