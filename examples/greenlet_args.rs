//! Switching with arguments: the first switch into a greenlet passes its function's argument;
//! later switches pass the value that its pending `switch` returns.
//!
//! From a greenlet tutorial: `f` and `g` start with the argument 1 and hand each other control
//! (and values they ignore) until `g` returns to `main`. `f` stays suspended in its last switch
//! and is killed when `main` drops it. (The tutorial's variant with `time.sleep(1)` between
//! switches needs the hub: see `gevent::sleep`.)
//!
//! Run it with `cargo run --example greenlet_args`.

use std::cell::OnceCell;
use std::rc::Rc;

use gevent::greenlet::{Greenlet, Value};

/// Runs the example.
pub fn main() {
    let f_cell: Rc<OnceCell<Greenlet>> = Rc::default();
    let g_cell: Rc<OnceCell<Greenlet>> = Rc::default();

    let g_ref = g_cell.clone();
    let f = Greenlet::new(move |x: Value| {
        let x = x.take::<i32>();
        println!("f  running . . .{x}");
        let g = g_ref.get().unwrap();
        g.switch(1); // starts g: g(1)
        println!("f  done . . . {x}");
        g.switch(2); // g's pending f.switch(2) returns 2; g then finishes
    });
    let f_ref = f_cell.clone();
    let g = Greenlet::new(move |x: Value| {
        let x = x.take::<i32>();
        println!("g  running . . .{x}");
        f_ref.get().unwrap().switch(2); // f's pending g.switch(1) returns 2
        println!("g  done . . . {x}");
    });
    f_cell.set(f.clone()).unwrap();
    g_cell.set(g.clone()).unwrap();

    f.switch(1); // starts f: f(1); returns when g, whose parent is main, finishes
    assert!(g.is_dead() && f.is_active());
}
