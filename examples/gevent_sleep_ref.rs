//! `sleep(0)` yields to the other greenlets, and `sleep` with `ref=False` does not keep the
//! loop alive.
//!
//! From gevent's documentation of `gevent.sleep(seconds=0, ref=True)`: "If ref is false, the
//! greenlet running sleep() will not prevent gevent.wait() from exiting." `sleep(Duration::ZERO)`
//! puts the greenlet at the back of the queue, so two greenlets doing `A; sleep(0); B`
//! interleave as `1A 2A 1B 2B`. `sleep_unref` is the `ref=False` sleep, and
//! `gevent::wait_all(None)` is `gevent.wait()` without objects.
//!
//! Run it with `cargo run --example gevent_sleep_ref`.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// gevent's `sleep0` test helper: `A`, yield, `B`.
fn sleep0(out: &RefCell<Vec<String>>, param: &str) {
    out.borrow_mut().push(format!("{param}A"));
    gevent::sleep(Duration::ZERO);
    out.borrow_mut().push(format!("{param}B"));
}

/// Runs the example.
pub fn main() {
    let out: Rc<RefCell<Vec<String>>> = Rc::default();
    let o = out.clone();
    gevent::spawn(move || sleep0(&o, "1"));
    let o = out.clone();
    gevent::spawn(move || sleep0(&o, "2"));
    gevent::wait_all(None);
    println!("{}", out.borrow().join(" "));

    let background = gevent::spawn(|| {
        gevent::sleep_unref(Duration::from_secs(3600));
        println!("never printed");
    });
    let work = gevent::spawn(|| {
        gevent::sleep(Duration::from_millis(20));
        println!("work done after 20 ms");
    });
    let dry = gevent::wait_all(None);
    println!(
        "gevent.wait() returned {dry}: work dead={}, background sleeper dead={}",
        work.dead(),
        background.dead()
    );
    background.kill();
}
