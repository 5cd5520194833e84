//! A pool limits concurrency: with `Pool::new(2)`, a third greenlet starts only when one of
//! the first two has finished.
//!
//! From gevent's tutorial ("Groups and Pools": "A pool is a structure designed for handling
//! dynamic numbers of greenlets which need to be concurrency-limited"), then the same pool
//! used directly: `spawn` waits for a free slot, `full`, `free_count`, `wait_available`.
//!
//! Run it with `cargo run --example pool_size`.

use std::time::Duration;

use gevent::pool::Pool;

/// Runs the example.
pub fn main() {
    let pool = Pool::new(2);
    let p = pool.clone();
    pool.map(move |_n: u32| println!("Size of pool {}", p.len()), 0..3);

    for i in 0..3u64 {
        println!(
            "spawning job {i}: len {} full {} free {}",
            pool.len(),
            pool.full(),
            pool.free_count()
        );
        pool.spawn(move || {
            gevent::sleep(Duration::from_millis(10 * (i + 1)));
            println!("job {i} done");
        });
    }
    println!("after spawning: len {}", pool.len());
    println!("wait_available: {} free", pool.wait_available());
    pool.join();
    println!("joined: len {} free {}", pool.len(), pool.free_count());
}
