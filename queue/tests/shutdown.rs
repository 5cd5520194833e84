//! Ported from gevent's src/gevent/tests/test__queue.py (`TestQueue`:
//! `_shutdown_all_methods_in_one_thread`), plus shutdown with waiting greenlets (Python 3.13's
//! `queue.Queue.shutdown`) and iteration ending at shutdown.

use std::time::Duration;

use gevent_hub::{sleep, spawn};
use gevent_queue::{GetError, PutError, Queue, TaskDoneError};

fn all_methods_in_one_greenlet(immediate: bool) {
    let q = Queue::new();
    q.put("L");
    q.put_nowait("O").unwrap();
    q.shutdown(immediate);

    assert_eq!(
        q.put_timeout("E", Duration::from_secs(1)),
        Err(PutError::ShutDown("E"))
    );
    assert_eq!(q.put_nowait("W"), Err(PutError::ShutDown("W")));
    if immediate {
        assert_eq!(
            q.get_timeout(Duration::from_secs(1)),
            Err(GetError::ShutDown)
        );
        assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
        assert_eq!(q.try_task_done(), Err(TaskDoneError));
        q.join();
    } else {
        assert!(["L", "O"].contains(&q.get()));
        q.task_done();
        assert!(["L", "O"].contains(&q.get()));
        q.task_done();
        q.join();
        // Once the queue is empty, gets fail with ShutDown.
        assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
        assert_eq!(
            q.get_timeout(Duration::from_secs(1)),
            Err(GetError::ShutDown)
        );
    }
}

#[test]
fn shutdown_all_methods_in_one_greenlet() {
    all_methods_in_one_greenlet(false);
}

#[test]
fn shutdown_immediate_all_methods_in_one_greenlet() {
    all_methods_in_one_greenlet(true);
}

#[test]
#[should_panic(expected = "shut down")]
fn put_panics_on_a_shut_down_queue() {
    let q = Queue::new();
    q.shutdown(false);
    q.put(1);
}

#[test]
#[should_panic(expected = "shut down and empty")]
fn get_panics_on_a_shut_down_empty_queue() {
    let q = Queue::<u8>::new();
    q.shutdown(false);
    q.get();
}

#[test]
fn waiting_getters_are_woken_with_shutdown() {
    let q = Queue::<u8>::new();
    let gs: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            spawn(move || q.get_timeout(Duration::from_secs(60)))
        })
        .collect();
    sleep(Duration::ZERO);
    assert_eq!(q.getters_waiting(), 3);
    q.shutdown(false);
    for g in &gs {
        assert_eq!(g.get().unwrap(), Err(GetError::ShutDown));
    }
}

#[test]
fn a_getter_blocked_in_get_panics_at_shutdown() {
    let q = Queue::<u8>::new();
    let g = {
        let q = q.clone();
        spawn(move || q.get())
    };
    sleep(Duration::ZERO);
    gevent_hub::get_hub().set_error_handler(|_| {});
    q.shutdown(false);
    let e = g.get().unwrap_err();
    gevent_hub::get_hub().reset_error_handler();
    assert!(e.is_panic());
    assert!(e.message().contains("shut down"), "{}", e.message());
}

#[test]
fn waiting_putters_are_woken_with_shutdown_and_put_nothing() {
    let q = Queue::bounded(1);
    q.put(0);
    let ps: Vec<_> = (1..=2)
        .map(|i| {
            let q = q.clone();
            spawn(move || q.put_timeout(i, Duration::from_secs(60)))
        })
        .collect();
    sleep(Duration::ZERO);
    assert_eq!(q.putters_waiting(), 2);
    q.shutdown(false);
    assert_eq!(ps[0].get().unwrap(), Err(PutError::ShutDown(1)));
    assert_eq!(ps[1].get().unwrap(), Err(PutError::ShutDown(2)));
    // What was queued before the shutdown is still delivered, then ShutDown.
    assert_eq!(q.get_nowait(), Ok(0));
    assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
}

#[test]
fn immediate_shutdown_counts_dropped_items_as_done() {
    let q = Queue::new();
    for i in 0..5 {
        q.put(i);
    }
    assert_eq!(q.get(), 0); // one taken, not yet done
    let joiner = {
        let q = q.clone();
        spawn(move || q.join_timeout(Duration::from_secs(60)))
    };
    sleep(Duration::ZERO);
    q.shutdown(true);
    assert!(q.is_empty());
    assert_eq!(q.unfinished_tasks(), 1);
    assert!(!joiner.ready());
    q.task_done();
    assert!(joiner.get().unwrap());
}

#[test]
fn iteration_ends_at_shutdown_after_draining() {
    let q = Queue::new();
    let reader = {
        let q = q.clone();
        spawn(move || (&q).into_iter().collect::<Vec<i32>>())
    };
    for i in 0..4 {
        q.put(i);
        sleep(Duration::ZERO);
    }
    q.put(4);
    q.shutdown(false);
    assert_eq!(reader.get().unwrap(), [0, 1, 2, 3, 4]);
}

#[test]
fn owning_iteration_ends_at_shutdown() {
    let q = Queue::new();
    q.put("a");
    q.put("b");
    q.shutdown(false);
    let items: Vec<&str> = q.clone().into_iter().collect();
    assert_eq!(items, ["a", "b"]);
    assert!(q.is_shutdown());
}

#[test]
fn a_waiting_peeker_is_woken_by_shutdown() {
    let q = Queue::<u8>::new();
    let g = {
        let q = q.clone();
        spawn(move || q.peek_timeout(Duration::from_secs(60)))
    };
    sleep(Duration::ZERO);
    q.shutdown(false);
    assert_eq!(g.get().unwrap(), Err(GetError::ShutDown));
}
