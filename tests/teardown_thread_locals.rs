//! A greenlet killed by its thread's teardown (DESIGN.md, "Failure paths": a thread that exits
//! with greenlets suspended tears its hub down) may, in its `Drop`, submit a job to the thread
//! pool or start a `Timeout` after those crates' thread-locals are gone (thread-local
//! destructors run in the reverse order of first use, and both were first used after the hub
//! was created). Neither may abort the process: the job fails at once, the timeout never fires.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gevent::threadpool::ThreadPool;
use gevent::Timeout;

/// Runs the pool and a timeout in its `Drop`, and records that it got to the end.
struct LateUser {
    /// Set once the `Drop` has run to its end.
    done: Arc<AtomicBool>,
    /// A pool created before the teardown.
    pool: ThreadPool,
}

impl Drop for LateUser {
    fn drop(&mut self) {
        let r = self.pool.spawn(|| 1 + 1).get();
        // Either the job ran (the thread-local was still there) or it failed at once.
        assert!(matches!(r, Ok(2)) || r.is_err());
        let t = Timeout::start_new(Duration::from_secs(60));
        t.cancel();
        self.done.store(true, Ordering::SeqCst);
    }
}

#[test]
fn drops_at_teardown_may_use_the_pool_and_timeouts() {
    let done = Arc::new(AtomicBool::new(false));
    let d2 = done.clone();
    let t = std::thread::spawn(move || {
        gevent::sleep(Duration::ZERO); // the hub exists from here on
        let pool = ThreadPool::new(1);
        // First uses of the pool's and the timeout's thread-locals, after the hub's.
        assert_eq!(pool.spawn(|| 40 + 2).get().unwrap(), 42);
        Timeout::new(Duration::from_secs(60)).run(|| ()).unwrap();
        let late = LateUser { done: d2, pool };
        gevent::spawn(move || {
            let _late = late;
            gevent::sleep(Duration::from_secs(3600));
        });
        gevent::sleep(Duration::ZERO); // let it park; then the thread exits
    });
    t.join().expect("the thread exits cleanly");
    assert!(done.load(Ordering::SeqCst), "the Drop ran to its end");
}
