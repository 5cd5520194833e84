//! Ported from gevent's src/gevent/tests/test__queue.py (`TestSimpleQueue`, `TestQueue`,
//! `UsesOnlyOneItemMixin`), plus the FIFO service of blocked getters and putters.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{get_hub, sleep, spawn, LoopExit};
use gevent_queue::{GetError, PutError, Queue};

/// Results collected from callbacks.
type Log<T> = Rc<RefCell<Vec<T>>>;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn put_nowait_simple() {
    // Two put_nowait calls from hub callbacks on a queue of size 1: the second is Full.
    let q = Queue::bounded(1);
    let result: Log<Result<(), PutError<i32>>> = Rc::default();
    for v in [2, 3] {
        let (q, r) = (q.clone(), result.clone());
        get_hub().run_callback(move || r.borrow_mut().push(q.put_nowait(v)));
    }
    sleep(Duration::ZERO);
    let r = result.borrow();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0], Ok(()));
    assert_eq!(r[1], Err(PutError::Full(3)));
}

#[test]
fn put_nowait_unlock() {
    // put_nowait works from the hub and wakes a waiting getter.
    let q = Queue::new();
    let p = {
        let q = q.clone();
        spawn(move || q.get())
    };
    assert!(q.empty());
    assert!(!q.full());
    sleep(ms(1));
    assert!(q.empty());
    let result: Log<Result<(), PutError<i32>>> = Rc::default();
    {
        let (q, r) = (q.clone(), result.clone());
        get_hub().run_callback(move || r.borrow_mut().push(q.put_nowait(10)));
    }
    assert!(!p.ready());
    sleep(ms(1));
    assert_eq!(*result.borrow(), [Ok(())]);
    assert!(p.ready());
    assert_eq!(p.get().unwrap(), 10);
    assert!(!q.full());
    assert!(q.empty());
}

#[test]
fn send_last() {
    let q = Queue::new();
    let p = {
        let q = q.clone();
        spawn(move || {
            assert_eq!(q.get_timeout(Duration::from_secs(2)), Ok("hi2"));
            "OK"
        })
    };
    sleep(ms(10));
    q.put("hi2");
    sleep(ms(10));
    assert_eq!(p.get_timeout(Duration::ZERO).unwrap().unwrap(), "OK");
}

#[test]
fn get_nowait_simple() {
    let q = Queue::bounded(1);
    q.put(4);
    let result: Log<Result<i32, GetError>> = Rc::default();
    for _ in 0..2 {
        let (q, r) = (q.clone(), result.clone());
        get_hub().run_callback(move || r.borrow_mut().push(q.get_nowait()));
    }
    sleep(Duration::ZERO);
    assert_eq!(*result.borrow(), [Ok(4), Err(GetError::Empty)]);
}

#[test]
fn get_nowait_unlock() {
    // get_nowait works from the hub.
    let q = Queue::bounded(1);
    let p = {
        let q = q.clone();
        spawn(move || q.put(5))
    };
    assert!(q.empty());
    sleep(Duration::ZERO);
    assert!(q.full());
    let result: Log<Result<i32, GetError>> = Rc::default();
    {
        let (q, r) = (q.clone(), result.clone());
        get_hub().run_callback(move || r.borrow_mut().push(q.get_nowait()));
    }
    sleep(Duration::ZERO);
    assert!(q.empty());
    assert_eq!(*result.borrow(), [Ok(5)]);
    assert!(p.ready() && p.dead());
}

#[test]
fn get_nowait_from_the_hub_admits_a_waiting_putter() {
    // Like gevent's special case in the hub: taking from a full queue lets the first putter in.
    let q = Queue::bounded(1);
    q.put(1);
    let p = {
        let q = q.clone();
        spawn(move || q.put(2))
    };
    sleep(Duration::ZERO);
    assert_eq!(q.putters_waiting(), 1);
    let got: Log<Result<i32, GetError>> = Rc::default();
    {
        let (q, g) = (q.clone(), got.clone());
        get_hub().run_callback(move || g.borrow_mut().push(q.get_nowait()));
    }
    p.join();
    assert_eq!(*got.borrow(), [Ok(1)]);
    assert_eq!(q.get_nowait(), Ok(2));
}

#[test]
fn send_first() {
    let q = Queue::new();
    q.put("hi");
    assert_eq!(q.peek(), "hi");
    assert_eq!(q.get(), "hi");
}

#[test]
fn peek_empty() {
    let q = Queue::<i32>::new();
    // No putters, in the main greenlet: LoopExit.
    let r = panic::catch_unwind(AssertUnwindSafe(|| q.peek()));
    let p = r.unwrap_err();
    assert!(p.downcast_ref::<LoopExit>().is_some());

    let g = {
        let q = q.clone();
        spawn(move || q.peek_timeout(ms(10)))
    };
    sleep(ms(100));
    assert_eq!(g.get().unwrap(), Err(GetError::Empty));
}

#[test]
fn peek_multi_greenlet() {
    let q = Queue::new();
    let g = {
        let q = q.clone();
        spawn(move || q.peek())
    };
    sleep(Duration::ZERO);
    q.put(1);
    g.join();
    assert!(g.exception().is_none());
    assert_eq!(g.get().unwrap(), 1);
    assert_eq!(q.peek(), 1);
    assert_eq!(q.len(), 1);
}

#[test]
fn max_size() {
    let q = Queue::bounded(2);
    let results: Rc<RefCell<Vec<&str>>> = Rc::default();
    let p = {
        let (q, results) = (q.clone(), results.clone());
        spawn(move || {
            for v in ["a", "b", "c"] {
                q.put(v);
                results.borrow_mut().push(v);
            }
            "OK"
        })
    };
    sleep(Duration::ZERO);
    assert_eq!(*results.borrow(), ["a", "b"]);
    assert_eq!(q.get(), "a");
    sleep(Duration::ZERO);
    assert_eq!(*results.borrow(), ["a", "b", "c"]);
    assert_eq!(q.get(), "b");
    assert_eq!(q.get(), "c");
    assert_eq!(p.get_timeout(Duration::ZERO).unwrap().unwrap(), "OK");
}

#[test]
fn multiple_waiters() {
    // Multiple waiters get their results back.
    let q = Queue::new();
    let results: Rc<RefCell<Vec<&str>>> = Rc::default();
    for _ in 0..4 {
        let (q, results) = (q.clone(), results.clone());
        spawn(move || {
            let v = q.get();
            results.borrow_mut().push(v);
        });
    }
    sleep(ms(10)); // get 'em all waiting
    let sendings = ["1", "2", "3", "4"];
    q.put(sendings[0]);
    sleep(ms(1));
    assert_eq!(results.borrow().len(), 1);
    q.put(sendings[1]);
    sleep(ms(1));
    assert_eq!(results.borrow().len(), 2);
    q.put(sendings[2]);
    q.put(sendings[3]);
    sleep(ms(1));
    let mut got = results.borrow().clone();
    got.sort();
    assert_eq!(got, sendings);
}

#[test]
fn waiters_that_cancel() {
    let q = Queue::new();
    let g = {
        let q = q.clone();
        spawn(move || q.get_timeout(Duration::ZERO))
    };
    assert_eq!(g.get().unwrap(), Err(GetError::Empty));
    q.put("hi");
    assert_eq!(q.get(), "hi");
}

#[test]
fn senders_that_die() {
    let q = Queue::new();
    {
        let q = q.clone();
        spawn(move || q.put("sent"));
    }
    assert_eq!(q.get(), "sent");
}

#[test]
fn two_waiters_one_dies() {
    let q = Queue::new();
    let dying = {
        let q = q.clone();
        spawn(move || q.get_timeout(Duration::ZERO))
    };
    let waiting = {
        let q = q.clone();
        spawn(move || q.get())
    };
    sleep(ms(100));
    q.put("hi");
    assert_eq!(dying.get().unwrap(), Err(GetError::Empty));
    assert_eq!(waiting.get().unwrap(), "hi");
}

#[test]
fn two_bogus_waiters() {
    let q = Queue::new();
    let e1 = {
        let q = q.clone();
        spawn(move || q.get_timeout(Duration::ZERO))
    };
    let e2 = {
        let q = q.clone();
        spawn(move || q.get_timeout(Duration::ZERO))
    };
    sleep(ms(100));
    q.put("sent");
    assert_eq!(e1.get().unwrap(), Err(GetError::Empty));
    assert_eq!(e2.get().unwrap(), Err(GetError::Empty));
    assert_eq!(q.get(), "sent");
}

#[test]
fn task_done() {
    let q = Queue::new();
    {
        let q = q.clone();
        spawn(move || q.put("X"));
    }
    assert_eq!(q.get(), "X");
    assert_eq!(q.unfinished_tasks(), 1);
    q.task_done();
    assert_eq!(q.unfinished_tasks(), 0);
}

#[test]
fn join_returns_at_once_when_nothing_was_put() {
    // test_issue_45: join() exits immediately if no jobs were put in the queue.
    let q = Queue::<u8>::new();
    let t = Instant::now();
    q.join();
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn getters_are_served_in_the_order_they_blocked() {
    let q = Queue::new();
    let gs: Vec<_> = (0..5)
        .map(|_| {
            let q = q.clone();
            spawn(move || q.get())
        })
        .collect();
    sleep(Duration::ZERO);
    assert_eq!(q.getters_waiting(), 5);
    for i in 0..5 {
        q.put(i);
    }
    let got: Vec<i32> = gs.iter().map(|g| g.get().unwrap()).collect();
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

#[test]
fn putters_are_served_in_the_order_they_blocked() {
    let q = Queue::bounded(1);
    q.put(-1);
    let order: Rc<RefCell<Vec<i32>>> = Rc::default();
    let ps: Vec<_> = (0..5)
        .map(|i| {
            let (q, order) = (q.clone(), order.clone());
            spawn(move || {
                q.put(i);
                order.borrow_mut().push(i);
            })
        })
        .collect();
    sleep(Duration::ZERO);
    assert_eq!(q.putters_waiting(), 5);
    let got: Vec<i32> = (0..6).map(|_| q.get()).collect();
    assert_eq!(got, [-1, 0, 1, 2, 3, 4]);
    gevent_hub::joinall(&ps);
    assert_eq!(*order.borrow(), [0, 1, 2, 3, 4]);
}

#[test]
fn a_newcomer_cannot_overtake_a_waiting_getter() {
    let q = Queue::new();
    let g = {
        let q = q.clone();
        spawn(move || q.get())
    };
    sleep(Duration::ZERO);
    q.put("for the waiter");
    // The waiter has not run yet, but the item is already its own.
    assert_eq!(q.get_nowait(), Err(GetError::Empty));
    assert_eq!(g.get().unwrap(), "for the waiter");
}

#[test]
fn a_newcomer_cannot_overtake_a_waiting_putter() {
    let q = Queue::bounded(1);
    q.put(0);
    let p = {
        let q = q.clone();
        spawn(move || q.put(1))
    };
    sleep(Duration::ZERO);
    assert_eq!(q.get(), 0); // makes room: the waiting putter's item moves in at once
    assert!(q.put_nowait(2).unwrap_err().is_full());
    p.join();
    assert_eq!(q.get(), 1);
}

#[test]
fn put_and_get_do_not_switch_when_they_need_not() {
    let q = Queue::bounded(10);
    let ran: Rc<RefCell<bool>> = Rc::default();
    {
        let ran = ran.clone();
        spawn(move || *ran.borrow_mut() = true);
    }
    for i in 0..10 {
        q.put(i);
    }
    for i in 0..10 {
        assert_eq!(q.get(), i);
    }
    assert!(!*ran.borrow(), "no put or get should have switched");
    sleep(Duration::ZERO);
    assert!(*ran.borrow());
}

#[test]
fn len_maxsize_full_and_debug() {
    let q = Queue::bounded(2);
    assert_eq!(q.maxsize(), Some(2));
    assert!(q.is_empty() && q.empty() && !q.full());
    q.put('a');
    q.put('b');
    assert_eq!(q.len(), 2);
    assert!(q.full());
    let s = format!("{q:?}");
    assert!(
        s.contains("len: 2") && s.contains("maxsize: Some(2)"),
        "{s}"
    );
    assert_eq!(Queue::<u8>::new().maxsize(), None);
}

#[test]
#[should_panic(expected = "a queue of size 0 can never hold an item")]
fn bounded_zero_is_refused() {
    let _ = Queue::<u8>::bounded(0);
}

#[test]
fn clones_share_one_queue() {
    let a = Queue::new();
    let b = a.clone();
    a.put(1);
    assert_eq!(b.len(), 1);
    assert_eq!(b.get(), 1);
    assert!(a.is_empty());
}

#[test]
fn many_producers_and_consumers_lose_nothing() {
    let q = Queue::bounded(3);
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let q = q.clone();
            spawn(move || {
                for i in 0..250 {
                    q.put(p * 1000 + i);
                    if i % 7 == 0 {
                        sleep(Duration::ZERO);
                    }
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            spawn(move || q.iter().collect::<Vec<i32>>())
        })
        .collect();
    gevent_hub::joinall(&producers);
    q.shutdown(false);
    let mut all: Vec<i32> = consumers.iter().flat_map(|c| c.get().unwrap()).collect();
    all.sort();
    let mut want: Vec<i32> = (0..4)
        .flat_map(|p| (0..250).map(move |i| p * 1000 + i))
        .collect();
    want.sort();
    assert_eq!(all, want);
}
