//! Two greenlets switching back and forth: prints 12, 56 and 34, and never 78.
//!
//! The first example of greenlet's documentation. A switch is not a call: control jumps from
//! one stack to the other and resumes where that one was suspended. `gr1` prints 12 and
//! switches to `gr2`, which prints 56 and switches back to `gr1`, which prints 34 and returns:
//! control goes to its parent, `main`, which created both. `gr2` is never switched to again,
//! so 78 is never printed; when `main` drops its last handle, `gr2` is killed (a
//! `GreenletExit` unwinds its stack).
//!
//! Run it with `cargo run --example greenlet_switch`.

use std::cell::OnceCell;
use std::rc::Rc;

use gevent::greenlet::{Greenlet, Value};

/// Runs the example.
pub fn main() {
    // Python's functions find each other as module globals; here each closure captures a cell
    // that is filled with the other greenlet once both exist.
    let gr2_cell: Rc<OnceCell<Greenlet>> = Rc::default();
    let gr1_cell: Rc<OnceCell<Greenlet>> = Rc::default();

    let gr2_ref = gr2_cell.clone();
    let gr1 = Greenlet::new(move |_: Value| {
        println!("12");
        gr2_ref.get().unwrap().switch(());
        println!("34");
    });
    let gr1_ref = gr1_cell.clone();
    let gr2 = Greenlet::new(move |_: Value| {
        println!("56");
        gr1_ref.get().unwrap().switch(());
        println!("78");
    });
    gr1_cell.set(gr1.clone()).unwrap();
    gr2_cell.set(gr2.clone()).unwrap();

    gr1.switch(());
    assert!(gr1.is_dead() && gr2.is_active());
}
