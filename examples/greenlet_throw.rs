//! Killing a greenlet: `throw(GreenletExit)` raises inside it at the switch where it waits, its
//! stack unwinds (its `Drop`s run, like `finally:` blocks), and its parent receives the
//! `GreenletExit` as a value instead of a panic. Dropping the last handle of a suspended
//! greenlet does the same.
//!
//! From a greenlet tutorial: "`throw()` raises an exception in the greenlet, which ends it";
//! "`GreenletExit` kills a greenlet and does not propagate to the parent". Any other payload
//! thrown in, if the greenlet does not catch it, does propagate: the parent's `throw` call
//! re-raises it.
//!
//! Run it with `cargo run --example greenlet_throw`.

use std::panic::{self, AssertUnwindSafe};

use gevent::greenlet::{getcurrent, Greenlet, GreenletExit, Value};

/// Prints when dropped: the greenlet's clean-up.
struct Cleanup(&'static str);

impl Drop for Cleanup {
    fn drop(&mut self) {
        println!("{}: cleaning up", self.0);
    }
}

/// A worker that handles the jobs switched into it, forever.
fn worker(name: &'static str) -> Greenlet {
    Greenlet::new(move |_: Value| {
        let _cleanup = Cleanup(name);
        let parent = getcurrent().parent().unwrap();
        loop {
            let job = parent.switch(()).take::<i32>();
            println!("{name}: job {job}");
        }
    })
}

/// A panic payload of our own.
#[derive(Debug)]
struct Shutdown;

/// Runs the example.
pub fn main() {
    let w = worker("worker 1");
    w.switch(()); // start it: it waits for a job
    w.switch(1);
    w.switch(2);
    let back = w.throw(GreenletExit);
    println!("main: got {back:?}, worker 1 dead: {}", w.is_dead());

    let w = worker("worker 2");
    w.switch(());
    w.switch(3);
    let r = panic::catch_unwind(AssertUnwindSafe(|| w.throw(Shutdown)));
    let p = r.unwrap_err();
    println!(
        "main: the Shutdown came back as a panic: {}, worker 2 dead: {}",
        p.is::<Shutdown>(),
        w.is_dead()
    );

    let w = worker("worker 3");
    w.switch(());
    w.switch(4);
    println!("main: dropping worker 3");
    drop(w);
    println!("main: done");
}
