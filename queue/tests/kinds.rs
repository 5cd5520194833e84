//! `LifoQueue`, `PriorityQueue` and `JoinableQueue`: ported from gevent's
//! src/gevent/tests/test__queue.py (`TestLifoQueue`, `TestPriorityQueue`, `TestQueue`) and the
//! standard library's `test_queue.py` ordering checks.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{sleep, spawn};
use gevent_queue::{JoinableQueue, LifoQueue, PriorityQueue, Queue, TaskDoneError};

#[test]
fn lifo_returns_the_newest_first() {
    let q = LifoQueue::new();
    for i in [111, 333, 222] {
        q.put(i);
    }
    assert_eq!(q.peek(), 222);
    assert_eq!([q.get(), q.get(), q.get()], [222, 333, 111]);
}

#[test]
fn priority_returns_the_smallest_first() {
    let q = PriorityQueue::new();
    for i in [111, 333, 222, 0, 444] {
        q.put(i);
    }
    assert_eq!(q.peek(), 0);
    let got: Vec<i32> = (0..5).map(|_| q.get()).collect();
    assert_eq!(got, [0, 111, 222, 333, 444]);
}

#[test]
fn priority_with_tuples() {
    let q = PriorityQueue::new();
    q.put((2, "normal"));
    q.put((3, "low"));
    q.put((1, "urgent"));
    assert_eq!(q.get(), (1, "urgent"));
    assert_eq!(q.get(), (2, "normal"));
    assert_eq!(q.get(), (3, "low"));
}

#[test]
fn bounded_lifo_and_priority_block_putters_in_order() {
    let q = PriorityQueue::bounded(1);
    q.put(50);
    let ps: Vec<_> = [30, 10, 20]
        .into_iter()
        .map(|v| {
            let q = q.clone();
            spawn(move || q.put(v))
        })
        .collect();
    sleep(Duration::ZERO);
    // Putters enter one at a time, in the order they blocked; each `get` takes the smallest.
    let got: Vec<i32> = (0..4).map(|_| q.get()).collect();
    assert_eq!(got, [50, 30, 10, 20]);
    gevent_hub::joinall(&ps);

    let l = LifoQueue::bounded(2);
    l.put(1);
    l.put(2);
    assert!(l.full());
    assert!(l.put_nowait(3).unwrap_err().is_full());
}

#[test]
fn kinds_share_the_queue_api() {
    let l = LifoQueue::new();
    let l2 = l.clone();
    l.put("x");
    assert_eq!(l2.len(), 1);
    l.shutdown(false);
    assert_eq!((&l2).into_iter().collect::<Vec<_>>(), ["x"]);
    assert!(format!("{l:?}").starts_with("LifoQueue"));
    let p: PriorityQueue<u8> = PriorityQueue::default();
    assert!(p.empty());
    let q: Queue<u8, gevent_queue::Priority> = p.into();
    assert_eq!(q.maxsize(), None);
}

#[test]
fn joinable_queue_join_waits_for_task_done() {
    let q = JoinableQueue::new();
    let done: Rc<RefCell<Vec<u32>>> = Rc::default();
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (q, done) = (q.clone(), done.clone());
            spawn(move || {
                for job in &q {
                    sleep(Duration::from_millis(1));
                    done.borrow_mut().push(job);
                    q.task_done();
                }
            })
        })
        .collect();
    for i in 0..20 {
        q.put(i);
    }
    q.join();
    assert_eq!(done.borrow().len(), 20);
    assert_eq!(q.unfinished_tasks(), 0);
    q.shutdown(false);
    gevent_hub::joinall(&workers);
}

#[test]
fn join_timeout_reports_unfinished_work() {
    let q = JoinableQueue::new();
    q.put(1);
    assert!(!q.join_timeout(Duration::from_millis(10)));
    q.get();
    q.task_done();
    assert!(q.join_timeout(Duration::from_millis(10)));
}

#[test]
fn too_many_task_done_is_an_error() {
    let q = JoinableQueue::new();
    q.put(1);
    assert_eq!(q.try_task_done(), Ok(()));
    assert_eq!(q.try_task_done(), Err(TaskDoneError));
    assert_eq!(
        TaskDoneError.to_string(),
        "task_done() called too many times"
    );
}

#[test]
#[should_panic(expected = "task_done() called too many times")]
fn too_many_task_done_panics() {
    JoinableQueue::<u8>::new().task_done();
}

#[test]
fn items_handed_to_waiting_getters_count_as_unfinished() {
    let q = JoinableQueue::new();
    let g = {
        let q = q.clone();
        spawn(move || q.get())
    };
    sleep(Duration::ZERO);
    q.put(9);
    assert_eq!(q.unfinished_tasks(), 1);
    assert_eq!(g.get().unwrap(), 9);
    q.task_done();
    q.join();
}
