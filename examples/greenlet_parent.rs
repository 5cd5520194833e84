//! A panic in a greenlet goes to its parent: the parent's pending `switch` re-raises it.
//!
//! From greenlet's documentation on parents: every greenlet has a parent (by default the
//! greenlet that created it), and when it ends, with a result or with an exception, control
//! goes to the parent. Here `gr2` has a bug and panics. Its parent is `main`, whose
//! `gr1.switch()` is still pending, so that call raises the panic; `gr1` stays suspended and
//! never prints 34. Then the same again with `gr1` as `gr2`'s parent: `gr1` catches it.
//!
//! These panics are intended and caught, so the example replaces std's panic hook while it
//! runs (std's would print "thread 'main' panicked at ..." on stderr, in the middle of the
//! output): the hook only records where the panic was raised, and whoever catches it prints
//! that place, `test2`'s line, as Python's traceback would show `test2`.
//!
//! Run it with `cargo run --example greenlet_parent`.

use std::cell::{OnceCell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use gevent::greenlet::{Greenlet, GreenletExit, Value};

thread_local! {
    /// Where the last panic of this thread was raised, as the quiet hook recorded it.
    static RAISED_AT: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The text of a panic payload, with the place where it was raised.
fn message(p: &(dyn std::any::Any + Send)) -> String {
    let text = p
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| p.downcast_ref::<&str>().copied())
        .unwrap_or("<not a string>");
    let at = RAISED_AT.with(|r| r.borrow().clone());
    format!("{text} (raised at {at})")
}

/// Runs `f` with a panic hook that records where a panic is raised instead of printing
/// std's message; the hook that was installed before is put back afterwards.
fn with_quiet_panics(f: impl FnOnce()) {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| l.to_string()).unwrap_or_default();
        RAISED_AT.with(|r| *r.borrow_mut() = at);
    }));
    f();
    panic::set_hook(previous);
}

/// `test2`, with a bug.
fn test2(_: Value) {
    println!("56");
    let n: Result<i32, _> = "seventy-eight".parse();
    println!("{}", n.unwrap()); // panics: the bug
}

/// Runs `gr1` (which switches to `gr2`) with `gr2`'s parent set to `gr1` or left as `main`.
fn run(gr2_parent_is_gr1: bool) {
    let gr2_cell: Rc<OnceCell<Greenlet>> = Rc::default();
    let gr2_ref = gr2_cell.clone();
    let gr1 = Greenlet::new(move |_: Value| {
        println!("12");
        let gr2 = gr2_ref.get().unwrap();
        match panic::catch_unwind(AssertUnwindSafe(|| gr2.switch(()))) {
            Ok(_) => {}
            // Never swallow `GreenletExit`: it is how gr1 is killed (below, when main drops
            // the still suspended gr1 of the first run).
            Err(p) if p.is::<GreenletExit>() => panic::resume_unwind(p),
            Err(p) => println!("gr1 caught the panic of gr2: {}", message(&*p)),
        }
        println!("34");
    });
    let gr2 = Greenlet::new(test2);
    if gr2_parent_is_gr1 {
        gr2.set_parent(&gr1).unwrap();
    }
    gr2_cell.set(gr2.clone()).unwrap();

    match panic::catch_unwind(AssertUnwindSafe(|| gr1.switch(()))) {
        Ok(_) => println!("main: gr1 finished"),
        Err(p) => println!("main caught the panic of gr2: {}", message(&*p)),
    }
    println!("gr1 dead: {}, gr2 dead: {}", gr1.is_dead(), gr2.is_dead());
}

/// Runs the example.
pub fn main() {
    with_quiet_panics(|| {
        println!("-- gr2's parent is main --");
        run(false);
        println!("-- gr2's parent is gr1 --");
        run(true);
    });
}
