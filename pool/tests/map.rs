//! Ported from gevent's src/gevent/tests/test__pool.py (`TestPool`, run for pools of size 1,
//! 2, 3 and 10 and for an unbounded group, as `TestPool2`, `TestPool3`, `TestPool10`,
//! `TestPoolUnlimit`): `apply`, `map`, `apply_async`, `imap`, `imap_unordered` and `kill`.

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use gevent_hub::{get_hub, sleep, spawn_later};
use gevent_pool::{Group, Pool};
use gevent_queue::Queue;

const SMALL_RANGE: u64 = 10;
const LARGE_RANGE: u64 = 1000;
const TIMEOUT1: Duration = Duration::from_millis(82);
const TIMEOUT2: Duration = Duration::from_millis(35);

fn sqr(x: u64) -> u64 {
    x * x
}

fn sqr_wait(x: u64, wait: Duration) -> u64 {
    sleep(wait);
    x * x
}

/// A pseudo-random sleep of up to 100 ms (deterministic, no dependency).
fn sqr_random_sleep(x: u64) -> u64 {
    sleep(Duration::from_millis((x * 37 + 11) % 100));
    x * x
}

fn squares(n: u64) -> Vec<u64> {
    (0..n).map(sqr).collect()
}

/// Yields 0, 1, 2, then sleeps 200 ms before it ends (gevent #311).
fn final_sleep() -> impl Iterator<Item = u64> {
    let mut n = 0;
    std::iter::from_fn(move || {
        n += 1;
        match n {
            1..=3 => Some(n - 1),
            _ => {
                sleep(Duration::from_millis(200));
                None
            }
        }
    })
}

/// `f` took about `want` (at least it, and well under 2 s more).
fn took_about(want: Duration, f: impl FnOnce()) {
    let t = Instant::now();
    f();
    let e = t.elapsed();
    assert!(e + Duration::from_millis(5) >= want, "{e:?} < {want:?}");
    assert!(e < want + Duration::from_secs(2), "{e:?}");
}

macro_rules! pool_tests {
    ($m:ident, $size:expr, $make:expr) => {
        mod $m {
            use super::*;

            fn pool() -> Group {
                $make
            }

            #[test]
            fn apply() {
                let p = pool();
                assert_eq!(p.apply(|| sqr(5)), 25);
                assert_eq!(p.apply(|| sqr(3)), 9);
                p.join();
            }

            #[test]
            fn map() {
                let p = pool();
                assert_eq!(p.map(sqr, 0..SMALL_RANGE), squares(SMALL_RANGE));
                assert_eq!(p.map(sqr, 0..100), squares(100));
                p.join();
            }

            #[test]
            fn async_() {
                let p = pool();
                let res = p.apply_async(|| sqr_wait(7, TIMEOUT1));
                took_about(TIMEOUT1, || assert_eq!(res.get().unwrap(), 49));
                p.join();
            }

            #[test]
            fn async_callback() {
                let p = pool();
                let result = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
                let res = p.apply_async(|| sqr_wait(7, TIMEOUT1));
                let r = result.clone();
                res.link_value(move |g| r.borrow_mut().push(g.value().unwrap()));
                took_about(TIMEOUT1, || assert_eq!(res.get().unwrap(), 49));
                sleep(Duration::ZERO); // lets the link run
                assert_eq!(*result.borrow(), [49]);
                p.join();
            }

            #[test]
            fn async_timeout() {
                let p = pool();
                let res = p.apply_async(|| sqr_wait(6, TIMEOUT2 + Duration::from_millis(200)));
                took_about(TIMEOUT2, || assert!(res.get_timeout(TIMEOUT2).is_none()));
                p.join();
                assert_eq!(res.get().unwrap(), 36);
            }

            #[test]
            fn imap_list_small() {
                let p = pool();
                let it = p.imap(sqr, 0..SMALL_RANGE);
                assert_eq!(
                    it.map(Result::unwrap).collect::<Vec<_>>(),
                    squares(SMALL_RANGE)
                );
            }

            #[test]
            fn imap_it_small() {
                let p = pool();
                let mut it = p.imap(sqr, 0..SMALL_RANGE);
                for i in 0..SMALL_RANGE {
                    assert_eq!(it.next().unwrap().unwrap(), i * i);
                }
                assert!(it.next().is_none());
            }

            #[test]
            fn imap_it_large() {
                let p = pool();
                let mut it = p.imap(sqr, 0..LARGE_RANGE);
                for i in 0..LARGE_RANGE {
                    assert_eq!(it.next().unwrap().unwrap(), i * i);
                }
                assert!(it.next().is_none());
            }

            #[test]
            fn imap_random() {
                let p = pool();
                let it = p.imap(sqr_random_sleep, 0..SMALL_RANGE);
                assert_eq!(
                    it.map(Result::unwrap).collect::<Vec<_>>(),
                    squares(SMALL_RANGE)
                );
            }

            #[test]
            fn imap_unordered() {
                let p = pool();
                for _ in 0..2 {
                    let mut got: Vec<u64> = p
                        .imap_unordered(sqr, 0..LARGE_RANGE)
                        .map(Result::unwrap)
                        .collect();
                    got.sort();
                    assert_eq!(got, squares(LARGE_RANGE));
                }
            }

            #[test]
            fn imap_unordered_random() {
                let p = pool();
                let mut got: Vec<u64> = p
                    .imap_unordered(sqr_random_sleep, 0..SMALL_RANGE)
                    .map(Result::unwrap)
                    .collect();
                got.sort();
                assert_eq!(got, squares(SMALL_RANGE));
            }

            #[test]
            fn empty_imap_unordered() {
                assert_eq!(pool().imap_unordered(sqr, []).count(), 0);
            }

            #[test]
            fn empty_imap() {
                assert_eq!(pool().imap(sqr, []).count(), 0);
            }

            #[test]
            fn empty_map() {
                assert_eq!(pool().map(sqr, []), Vec::<u64>::new());
            }

            #[test]
            fn terminate() {
                let p = pool();
                let n = $size.unwrap_or(10) * 2;
                let result =
                    p.map_async(|d: Duration| sleep(d), vec![Duration::from_millis(100); n]);
                sleep(Duration::from_millis(100));
                let t = Instant::now();
                p.kill();
                assert!(
                    t.elapsed() < Duration::from_millis(500),
                    "{:?}",
                    t.elapsed()
                );
                // The map saw its items killed, so it panics: quietly.
                get_hub().set_error_handler(|_| {});
                result.join();
                get_hub().reset_error_handler();
            }

            #[test]
            fn imap_unordered_sleep() {
                // imap_unordered yields in completion order.
                let p = pool();
                let result: Vec<String> = p
                    .imap_unordered(
                        |x: u64| {
                            sleep(Duration::from_millis(x * 10));
                            x.to_string()
                        },
                        [10, 1, 2],
                    )
                    .map(Result::unwrap)
                    .collect();
                if $size == Some(1) {
                    assert_eq!(result, ["10", "1", "2"]);
                } else {
                    assert_eq!(result, ["1", "2", "10"]);
                }
            }

            #[test]
            fn imap_no_stop() {
                // gevent #423: the items come from a queue that ends later.
                let q = Queue::new();
                q.put(123);
                let q2 = q.clone();
                spawn_later(Duration::from_millis(100), move || q2.shutdown(false));
                let result: Vec<u64> = pool().imap(|x| x, q).map(Result::unwrap).collect();
                assert_eq!(result, [123]);
            }

            #[test]
            fn imap_unordered_no_stop() {
                let q = Queue::new();
                q.put(1234);
                let q2 = q.clone();
                spawn_later(Duration::from_millis(100), move || q2.shutdown(false));
                let result: Vec<u64> = pool()
                    .imap_unordered(|x| x, q)
                    .map(Result::unwrap)
                    .collect();
                assert_eq!(result, [1234]);
            }

            #[test]
            fn imap_final_sleep() {
                // gevent #311: an iterator that waits before it ends.
                let result: Vec<u64> = pool()
                    .imap(sqr, final_sleep())
                    .map(Result::unwrap)
                    .collect();
                assert_eq!(result, [0, 1, 4]);
            }

            #[test]
            fn imap_unordered_final_sleep() {
                let mut result: Vec<u64> = pool()
                    .imap_unordered(sqr, final_sleep())
                    .map(Result::unwrap)
                    .collect();
                result.sort();
                assert_eq!(result, [0, 1, 4]);
            }

            #[test]
            fn a_panicking_item_surfaces_at_its_position() {
                let p = pool();
                get_hub().set_error_handler(|_| {});
                let ordered: Vec<_> = p
                    .imap(|x: u64| if x == 3 { panic!("item 3") } else { x }, 0..6)
                    .collect();
                let unordered: Vec<_> = p
                    .imap_unordered(|x: u64| if x == 3 { panic!("item 3") } else { x }, 0..6)
                    .collect();
                let mapped = panic::catch_unwind(AssertUnwindSafe(|| {
                    p.map(|x: u64| if x == 3 { panic!("item 3") } else { x }, 0..6)
                }));
                get_hub().reset_error_handler();
                for (i, r) in ordered.iter().enumerate() {
                    match r {
                        Ok(v) => assert_eq!(*v, i as u64),
                        Err(e) => {
                            assert_eq!(i, 3);
                            assert_eq!(e.message(), "item 3");
                        }
                    }
                }
                assert_eq!(ordered.len(), 6);
                assert_eq!(unordered.iter().filter(|r| r.is_err()).count(), 1);
                assert_eq!(unordered.len(), 6);
                let p = mapped.unwrap_err();
                assert_eq!(p.downcast_ref::<&str>().copied(), Some("item 3"));
            }
        }
    };
}

pool_tests!(pool1, Some(1usize), Pool::new(1).group());
pool_tests!(pool2, Some(2usize), Pool::new(2).group());
pool_tests!(pool3, Some(3usize), Pool::new(3).group());
pool_tests!(pool10, Some(10usize), Pool::new(10).group());
pool_tests!(unlimited, None::<usize>, Group::new());

#[test]
fn imap_ordered_vs_unordered() {
    let p = Pool::new(4);
    let work = |ms: u64| {
        sleep(Duration::from_millis(ms));
        ms
    };
    let items = [40, 10, 30, 20];
    let ordered: Vec<u64> = p.imap(work, items).map(Result::unwrap).collect();
    let unordered: Vec<u64> = p.imap_unordered(work, items).map(Result::unwrap).collect();
    assert_eq!(ordered, [40, 10, 30, 20]);
    assert_eq!(unordered, [10, 20, 30, 40]);
}

#[test]
fn dropping_imap_stops_the_feeding() {
    let p = Pool::new(2);
    let started = std::rc::Rc::new(std::cell::Cell::new(0));
    let s = started.clone();
    let mut it = p.imap(
        move |x: u64| {
            s.set(s.get() + 1);
            sleep(Duration::from_millis(5));
            x
        },
        0..1000,
    );
    assert_eq!(it.next().unwrap().unwrap(), 0);
    drop(it);
    p.join();
    sleep(Duration::from_millis(20));
    assert!(started.get() < 10, "{} items started", started.get());
}
