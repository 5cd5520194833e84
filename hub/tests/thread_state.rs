//! `thread_state()`: no hub, in a greenlet, in the hub's loop, tearing down (what the libc hooks
//! of `gevent-monkey` test first).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use gevent_hub::{get_hub, sleep, spawn, thread_state, ThreadState};

#[test]
fn no_hub_then_greenlet_then_hub_loop() {
    let t = std::thread::spawn(|| {
        let before = thread_state();
        sleep(Duration::ZERO);
        let main = thread_state();
        let in_glet = spawn(thread_state).get().unwrap();
        let seen = Rc::new(Cell::new(None));
        let s2 = seen.clone();
        get_hub().run_callback(move || s2.set(Some(thread_state())));
        let timer_seen = Rc::new(Cell::new(None));
        let t2 = timer_seen.clone();
        let _t = get_hub().call_later(Duration::from_millis(1), move || {
            t2.set(Some(thread_state()))
        });
        sleep(Duration::from_millis(5));
        (
            before,
            main,
            in_glet,
            seen.get(),
            timer_seen.get(),
            thread_state(),
        )
    });
    let (before, main, in_glet, cb, timer, after) = t.join().unwrap();
    assert_eq!(before, ThreadState::NoHub);
    assert_eq!(main, ThreadState::InGreenlet);
    assert_eq!(in_glet, ThreadState::InGreenlet);
    assert_eq!(cb, Some(ThreadState::InHub));
    assert_eq!(timer, Some(ThreadState::InHub));
    assert_eq!(after, ThreadState::InGreenlet);
}

/// Sends what `thread_state()` says when it is dropped.
struct Report(mpsc::Sender<(&'static str, ThreadState)>, &'static str);

impl Drop for Report {
    fn drop(&mut self) {
        let _ = self.0.send((self.1, thread_state()));
    }
}

/// The teardown at thread exit sets the state before it kills anything: a greenlet killed by it
/// sees `TearingDown` in its destructors, and so does a thread-local destroyed after it.
#[test]
fn the_teardown_is_tearing_down_from_its_start() {
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        thread_local! {
            static LATE: std::cell::RefCell<Option<Report>> = const { std::cell::RefCell::new(None) };
        }
        // First used before the hub exists: destroyed after the hub's teardown.
        let tx2 = tx.clone();
        LATE.with(|l| *l.borrow_mut() = Some(Report(tx2, "thread-local")));
        let r = Report(tx, "greenlet");
        let g = spawn(move || {
            let _r = r;
            sleep(Duration::from_secs(60));
        });
        sleep(Duration::ZERO);
        assert!(!g.dead());
        // The thread exits with `g` suspended: the teardown kills it.
    });
    t.join().unwrap();
    let mut got: Vec<_> = rx.iter().collect();
    got.sort_by_key(|g| g.0);
    assert_eq!(
        got,
        vec![
            ("greenlet", ThreadState::TearingDown),
            ("thread-local", ThreadState::TearingDown)
        ]
    );
}
