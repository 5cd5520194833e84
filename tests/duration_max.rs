//! Deadlines saturate (DESIGN.md, "Failure paths"): `Duration::MAX` means "no time limit"
//! everywhere, never a panic (it overflowed `Instant` in `with_timeout`, `Timeout::run`,
//! `spawn_later`, `joinall_with`, `wait`, `iwait` and `Hub::join`) and never "time is up at
//! once". Each API below is called with `Duration::MAX` while what it waits for happens a few
//! milliseconds later, and must report success.

use std::io::{Read, Write};
use std::time::Duration;

use gevent::event::{AsyncResult, Event};
use gevent::lock::{Lock, Semaphore};
use gevent::pool::{Group, Pool};
use gevent::queue::{Channel, JoinableQueue, Queue};
use gevent::{
    get_hub, iwait, joinall_with, park_timeout, sleep, spawn, spawn_later, wait, wait_one,
    with_timeout, JoinAll, KillOptions, Timeout,
};

const MAX: Duration = Duration::MAX;

/// A short delay before the awaited thing happens.
fn soon() {
    sleep(Duration::from_millis(3));
}

#[test]
fn the_seven_that_panicked() {
    // with_timeout, Timeout::run: a block with no limit runs to its end.
    assert_eq!(
        with_timeout(MAX, || {
            soon();
            1
        }),
        Ok(1)
    );
    let t = Timeout::new(MAX);
    assert_eq!(
        t.run(|| {
            soon();
            2
        }),
        Ok(2)
    );
    assert!(!t.pending());
    // spawn_later, start_later: never starts; killing it works.
    let g = spawn_later(MAX, || unreachable!("started"));
    let g2 = gevent::Greenlet::new(|| unreachable!("started"));
    g2.start_later(MAX);
    soon();
    assert!(!g.dead() && !g2.dead());
    g.kill();
    g2.kill();
    assert!(g.dead() && g2.dead());
    // joinall_with, wait, iwait.
    let gs = || -> Vec<_> { (0..3).map(|i| spawn(move || (soon(), i).1)).collect() };
    let a = gs();
    let r = joinall_with(
        &a,
        JoinAll {
            timeout: Some(MAX),
            raise_error: true,
            count: None,
        },
    );
    assert!(r.is_ok(), "{r:?}");
    assert!(a.iter().all(|g| g.dead()));
    let b = gs();
    assert_eq!(wait(&b, Some(MAX)).len(), 3);
    let c = gs();
    assert_eq!(iwait(&c, Some(MAX)).count(), 3);
    // Hub::join: runs dry.
    spawn(soon);
    assert!(get_hub().join(Some(MAX)));
}

#[test]
fn greenlets_and_the_hub() {
    // sleep(MAX): waits until killed.
    let sleeper = spawn(|| sleep(MAX));
    soon();
    assert!(!sleeper.dead());
    sleeper.kill_with(KillOptions {
        block: true,
        timeout: Some(MAX),
    });
    assert!(sleeper.dead());
    // call_later(MAX): pending, never fires, does not keep the loop alive.
    let timer = get_hub().call_later(MAX, || unreachable!("fired"));
    assert!(timer.pending());
    assert!(get_hub().join(None));
    timer.cancel();
    assert!(!timer.pending());
    // park_timeout, join_timeout, get_timeout, wait_one.
    let v = park_timeout(Some(MAX), |u| {
        get_hub().run_callback(move || {
            u.wake(gevent::greenlet::Value::new(7u8));
        })
    });
    assert_eq!(v.unwrap().take::<u8>(), 7);
    let g = spawn(|| (soon(), 5).1);
    assert!(g.join_timeout(MAX));
    let g = spawn(|| (soon(), 6).1);
    assert_eq!(g.get_timeout(MAX).unwrap().unwrap(), 6);
    let g = spawn(soon);
    assert!(wait_one(&g, Some(MAX)));
}

#[test]
fn synchronisation() {
    let e = Event::new();
    let e2 = e.clone();
    spawn(move || (soon(), e2.set()));
    assert!(e.wait_timeout(MAX));

    let a: AsyncResult<i32> = AsyncResult::new();
    let a2 = a.clone();
    spawn(move || (soon(), a2.set(3)));
    assert!(a.wait_timeout(MAX));
    assert_eq!(a.get_timeout(MAX).unwrap().unwrap(), 3);

    let s = Semaphore::new(0);
    let s2 = s.clone();
    spawn(move || (soon(), s2.release()));
    assert!(s.acquire_timeout(MAX));

    let l = Lock::new();
    l.acquire();
    let l2 = l.clone();
    spawn(move || (soon(), l2.release()));
    assert!(l.lock_timeout(MAX).is_some());

    let q = Queue::bounded(1);
    q.put(1);
    let q2 = q.clone();
    spawn(move || (soon(), q2.get()));
    assert!(q.put_timeout(2, MAX).is_ok());
    let q3 = Queue::new();
    let q4 = q3.clone();
    spawn(move || (soon(), q4.put(9)));
    assert_eq!(q3.get_timeout(MAX).unwrap(), 9);

    let jq = JoinableQueue::new();
    jq.put(1);
    let jq2 = jq.clone();
    spawn(move || {
        soon();
        jq2.get();
        jq2.task_done();
    });
    assert!(jq.join_timeout(MAX));

    let ch = Channel::new();
    let ch2 = ch.clone();
    spawn(move || (soon(), ch2.put(4)));
    assert_eq!(ch.get_timeout(MAX).unwrap(), 4);

    let group = Group::new();
    group.spawn(soon);
    assert!(group.join_timeout(MAX));
    let pool = Pool::new(1);
    pool.spawn(soon);
    assert_eq!(pool.wait_available_timeout(MAX), 1);
}

#[test]
fn io_threads_and_processes() {
    // A socket read with a read timeout of MAX waits for the data (it did not: the overflow
    // made it time out at once).
    let (a, mut b) = gevent::net::unix::UnixStream::pair().unwrap();
    a.set_read_timeout(Some(MAX)).unwrap();
    spawn(move || {
        soon();
        b.write_all(b"x").unwrap();
        soon();
        drop(b);
    });
    let mut buf = [0u8; 1];
    assert_eq!((&a).read(&mut buf).unwrap(), 1);
    assert!(gevent::os::wait_read(&a, Some(MAX)).is_ok());

    let pool = gevent::threadpool::ThreadPool::new(1);
    let r = pool.spawn(|| {
        std::thread::sleep(Duration::from_millis(3));
        8
    });
    assert_eq!(r.get_timeout(MAX).unwrap().unwrap(), 8);

    let child = gevent::subprocess::Command::new("sleep")
        .arg("0.01")
        .spawn()
        .unwrap();
    assert!(child.wait_timeout(MAX).unwrap().unwrap().success());
}
