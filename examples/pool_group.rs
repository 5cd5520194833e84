//! A group of greenlets: `map` over it, then `imap` and `imap_unordered` with work that takes
//! longer for earlier items.
//!
//! From gevent's tutorial ("Groups and Pools"): a `Group` tracks the greenlets it spawns
//! (`len` counts those still running) and maps functions over items in them; `imap` keeps the
//! items' order, `imap_unordered` yields each result as soon as it is ready.
//!
//! Run it with `cargo run --example pool_group`.

use std::time::Duration;

use gevent::pool::Group;

/// Runs the example.
pub fn main() {
    let group = Group::new();
    let g = group.clone();
    group.map(
        move |n: u32| {
            println!("Size of group {}", g.len());
            println!("Hello from greenlet {n}");
        },
        0..3,
    );

    /// Takes (3 - n) × 30 ms.
    fn intensive(n: u64) -> (&'static str, u64) {
        gevent::sleep(Duration::from_millis((3 - n) * 30));
        ("task", n)
    }

    println!("Ordered");
    let ogroup = Group::new();
    for i in ogroup.imap(intensive, 0..3) {
        println!("{:?}", i.unwrap());
    }

    println!("Unordered");
    let igroup = Group::new();
    for i in igroup.imap_unordered(intensive, 0..3) {
        println!("{:?}", i.unwrap());
    }
}
