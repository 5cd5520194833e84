//! A thread that exits with greenlets still suspended tears its hub down (DESIGN.md, "Failure
//! paths"): the greenlets are killed so their `Drop`s run (also those parked in a sleep, a
//! join, a socket read, one waiting in its own `Drop`, one spawned but never started, one
//! suspended by a raw switch, and one spawned while the others die), the hub's fds and the
//! signal pipe are closed, and `RemoteHub` then says the thread is gone.
//!
//! The first test counts the process's open fds, so the tests of this file run one after the
//! other (`SERIAL`).

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gevent_hub::reactor::IoSource;
use gevent_hub::{get_hub, park, sleep, spawn, spawn_later, RemoteHub};
use std::os::unix::net::UnixStream;

/// Held by each test of this file.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Counts its drops.
struct Dropped(Arc<AtomicUsize>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Waits (10 ms) in its `Drop`, then counts it: the loop still serves a teardown.
struct SlowDrop(Arc<AtomicUsize>);

impl Drop for SlowDrop {
    fn drop(&mut self) {
        let t = Instant::now();
        sleep(Duration::from_millis(10));
        if t.elapsed() >= Duration::from_millis(10) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Joins `t`, failing (instead of hanging) if it has not exited within a minute; the
/// teardown is expected to take milliseconds.
fn join_within_a_minute<T>(t: std::thread::JoinHandle<T>) -> T {
    let start = Instant::now();
    while !t.is_finished() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the thread's teardown hangs"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    t.join().expect("the thread exits cleanly")
}

/// The number of fds open in this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// What the exiting thread leaves behind: how many `Drop`s it expects, its hub's handle.
struct Left {
    /// How many `Dropped`/`SlowDrop` values its greenlets hold.
    expected: usize,
    /// Its hub, seen from outside.
    remote: RemoteHub,
}

/// A thread body that leaves `n` greenlets of each kind suspended and returns.
fn leave_greenlets(n: usize, drops: Arc<AtomicUsize>) -> Left {
    let remote = get_hub().remote();
    let mut expected = 0;
    let _sig = gevent_hub::signal_handler(gevent_hub::signal::SIGUSR2, || ()).unwrap();
    // A socket dropped after the hub exists: the hub's own thread-locals it touches must
    // outlive the teardown (a socket dropped there used to abort the process).
    drop(IoSource::new(UnixStream::pair().unwrap().0).unwrap());
    for _ in 0..n {
        // Parked in a sleep.
        let d = Dropped(drops.clone());
        spawn(move || {
            let _d = d;
            sleep(Duration::from_secs(3600));
        });
        // Parked joining a greenlet that waits for ever (a waiter list).
        let d = Dropped(drops.clone());
        let forever = spawn(|| park(drop));
        spawn(move || {
            let _d = d;
            forever.join();
        });
        // Parked reading a socket nobody writes to.
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let a = IoSource::new(a).unwrap();
        let d = Dropped(drops.clone());
        spawn(move || {
            let _d = d;
            let _keep = b;
            let _ = a.read_with(None, |mut s| s.read(&mut [0u8; 16]));
        });
        // Waits in its own Drop when killed.
        let d = SlowDrop(drops.clone());
        spawn(move || {
            let _d = d;
            sleep(Duration::from_secs(3600));
        });
        // Spawned to start in an hour, and spawned now but never run: their functions are
        // dropped without running.
        let d = Dropped(drops.clone());
        spawn_later(Duration::from_secs(3600), move || drop(d));
        expected += 5;
    }
    // Let them all reach their waits.
    sleep(Duration::from_millis(5));
    // Never started.
    for _ in 0..n {
        let d = Dropped(drops.clone());
        spawn(move || drop(d));
        expected += 1;
    }
    // Suspended by a raw switch, outside the hub: killed by a direct throw.
    let main = greenlet::getcurrent().to_greenlet();
    let d = Dropped(drops.clone());
    let raw = greenlet::Greenlet::new(move |_: greenlet::Value| {
        let _d = d;
        main.switch(());
    });
    raw.switch(());
    expected += 1;
    // Spawns another greenlet while it dies: killed in the next round.
    let d = Dropped(drops.clone());
    let d2 = Dropped(drops.clone());
    spawn(move || {
        struct SpawnOnDrop(Option<Dropped>);
        impl Drop for SpawnOnDrop {
            fn drop(&mut self) {
                let d = self.0.take();
                spawn(move || {
                    let _d = d;
                    sleep(Duration::from_secs(3600));
                });
            }
        }
        let _s = SpawnOnDrop(Some(d2));
        let _d = d;
        sleep(Duration::from_secs(3600));
    });
    expected += 2;
    sleep(Duration::from_millis(1));
    assert!(remote.is_alive());
    Left { expected, remote }
}

#[test]
fn thread_exit_kills_greenlets_and_closes_the_hub() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Warm up what the process keeps for good (the test harness, std's own fds).
    std::thread::spawn(|| {
        get_hub();
    })
    .join()
    .unwrap();
    let before = open_fds();
    for n in [1, 50] {
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        let left = join_within_a_minute(std::thread::spawn(move || leave_greenlets(n, d)));
        assert_eq!(drops.load(Ordering::SeqCst), left.expected, "n = {n}");
        assert_eq!(
            open_fds(),
            before,
            "fds leaked by a thread that exited (n = {n})"
        );
        assert!(!left.remote.is_alive());
        assert!(!left.remote.run_callback(|| unreachable!("the hub is gone")));
        // Holding it is harmless.
        drop(left.remote.hold());
    }
}

/// A greenlet killed at thread exit whose `Drop` touches a thread-local that is already
/// destroyed gets `AccessError` from `try_with` (the documented rule), and the teardown goes
/// on.
#[test]
fn drops_at_thread_exit_see_destroyed_thread_locals_through_try_with() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    struct Token;
    impl Drop for Token {
        fn drop(&mut self) {}
    }
    thread_local! {
        static LATE: Token = const { Token };
    }
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let t = std::thread::spawn(move || {
        get_hub();
        // First used after the hub: destroyed before its teardown.
        LATE.with(|_| ());
        struct Check(Arc<AtomicUsize>);
        impl Drop for Check {
            fn drop(&mut self) {
                let destroyed = LATE.try_with(|_| ()).is_err();
                self.0
                    .store(if destroyed { 1 } else { 2 }, Ordering::SeqCst);
            }
        }
        let c = Check(s);
        spawn(move || {
            let _c = c;
            sleep(Duration::from_secs(3600));
        });
        sleep(Duration::from_millis(1));
    });
    join_within_a_minute(t);
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}
