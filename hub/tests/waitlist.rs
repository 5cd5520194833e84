//! `WaitList`: FIFO order, removal by guard and key, hand-overs that skip waiters whose wait
//! already ended, one-pass wake-all.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{sleep, spawn, Greenlet, KillOptions, WaitList};

/// What the waiters record: their index, and what was handed to them.
type Log = Rc<RefCell<Vec<(usize, Option<u32>)>>>;

/// Spawns `n` greenlets that wait in `list` and record, in `log`, their index once woken (and
/// what was handed to them).
fn waiters(list: &Rc<WaitList<u32>>, log: &Log, n: usize) -> Vec<Greenlet<()>> {
    (0..n)
        .map(|i| {
            let (list, log) = (list.clone(), log.clone());
            spawn(move || {
                let mut w = list.wait(None);
                assert!(w.woken());
                log.borrow_mut().push((i, w.take()));
            })
        })
        .collect()
}

#[test]
fn waiters_are_woken_in_the_order_they_came() {
    let list = Rc::new(WaitList::new());
    let log = Log::default();
    let gs = waiters(&list, &log, 5);
    sleep(Duration::ZERO);
    assert_eq!(list.len(), 5);
    assert!(list.notify_one());
    assert_eq!(list.hand_over(10), Ok(()));
    assert_eq!(list.notify_all(), 3);
    assert!(list.is_empty());
    gevent_hub::joinall(&gs);
    assert_eq!(
        *log.borrow(),
        [(0, None), (1, Some(10)), (2, None), (3, None), (4, None)]
    );
}

#[test]
fn a_killed_waiter_leaves_the_list_and_the_hand_over_goes_to_the_next() {
    let list = Rc::new(WaitList::new());
    let log = Log::default();
    let gs = waiters(&list, &log, 3);
    sleep(Duration::ZERO);
    // Killed while it waits, not yet run: its entry stays until it runs, but refuses.
    gs[0].kill_with(KillOptions {
        block: false,
        timeout: None,
    });
    assert_eq!(list.hand_over(1), Ok(()));
    gs[1].kill(); // ran: its entry is gone
    assert_eq!(list.len(), 1);
    assert_eq!(list.hand_over(2), Ok(()));
    assert_eq!(list.hand_over(3), Err(3));
    gevent_hub::joinall(&gs);
    assert_eq!(*log.borrow(), [(1, Some(1)), (2, Some(2))]);
    assert!(gs[0].get().unwrap_err().is_killed());
}

#[test]
fn a_timed_out_waiter_refuses_a_hand_over() {
    let list: Rc<WaitList<&str>> = Rc::new(WaitList::new());
    let l = list.clone();
    let g = spawn(move || {
        let mut w = l.wait(Some(Duration::from_millis(1)));
        (w.woken(), w.take())
    });
    sleep(Duration::ZERO);
    std::thread::sleep(Duration::from_millis(5));
    sleep(Duration::from_millis(1)); // its wait times out meanwhile
    assert_eq!(list.hand_over("item"), Err("item"));
    assert_eq!(g.get().unwrap(), (false, None));
    assert!(list.is_empty());
}

#[test]
fn a_putter_gets_its_item_back_when_nobody_takes_it() {
    let list: Rc<WaitList<String>> = Rc::new(WaitList::new());
    let l = list.clone();
    let putter = spawn(move || l.wait_with("mine".to_string(), None).take());
    sleep(Duration::ZERO);
    assert_eq!(list.len(), 1);
    list.notify_all(); // woken without being served (a shutdown)
    assert_eq!(putter.get().unwrap().as_deref(), Some("mine"));
    list.push_front("left".to_string());
    assert_eq!(list.take_first().as_deref(), Some("left"));
    assert_eq!(list.take_first(), None);
}

#[test]
fn keys_remove_in_any_order_and_a_stale_key_does_nothing() {
    let list: WaitList = WaitList::new();
    let hits = Rc::new(RefCell::new(Vec::new()));
    let keys: Vec<_> = (0..5)
        .map(|i| {
            let h = hits.clone();
            list.add(Rc::new(move || h.borrow_mut().push(i)))
        })
        .collect();
    list.remove(keys[2]);
    list.remove(keys[0]);
    list.remove(keys[4]);
    assert_eq!(list.len(), 2);
    // The freed entries are reused; the old keys must not reach the new ones.
    let h = hits.clone();
    let fresh = list.add(Rc::new(move || h.borrow_mut().push(9)));
    list.remove(keys[2]);
    list.remove(keys[0]);
    assert_eq!(list.len(), 3);
    assert_eq!(list.notify_all(), 0);
    assert_eq!(*hits.borrow(), [1, 3, 9]);
    list.remove(fresh); // already fired
    assert!(list.is_empty());
}

#[test]
fn notify_all_wakes_only_who_was_there() {
    let list: Rc<WaitList> = Rc::new(WaitList::new());
    let calls = Rc::new(Cell::new(0));
    /// Registers a callback that registers itself again each time it is called.
    fn again(list: &Rc<WaitList>, calls: &Rc<Cell<u32>>) {
        let (l, c) = (list.clone(), calls.clone());
        list.add(Rc::new(move || {
            c.set(c.get() + 1);
            again(&l, &c);
        }));
    }
    again(&list, &calls);
    list.notify_all();
    assert_eq!(calls.get(), 1);
    assert_eq!(list.len(), 1);
    list.notify_all();
    assert_eq!(calls.get(), 2);
}

#[test]
fn a_thousand_waiters_then_none() {
    let list = Rc::new(WaitList::new());
    let log = Log::default();
    let gs = waiters(&list, &log, 1000);
    sleep(Duration::ZERO);
    // Every other one gives up (killed), in the middle of the list.
    for g in gs.iter().step_by(2) {
        g.kill();
    }
    assert_eq!(list.len(), 500);
    assert_eq!(list.notify_all(), 500);
    gevent_hub::joinall(&gs);
    let got: Vec<usize> = log.borrow().iter().map(|e| e.0).collect();
    assert_eq!(got, (1..1000).step_by(2).collect::<Vec<_>>());
    assert!(list.is_empty());
}
