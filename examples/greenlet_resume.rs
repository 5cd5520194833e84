//! A greenlet suspended and resumed later: `g` is left suspended in the middle of its
//! function, and a later `g.switch()` from `main` continues it where it stopped.
//!
//! From a greenlet tutorial: `f` prints f1 and switches to `g`, which prints g1 and switches
//! back to `f`, which prints f2 and returns to `main`. `g` is suspended after g1; the
//! tutorial notes that leaving it so leaks it in Python. Here `main` resumes it, and it prints
//! g2. (Had `main` dropped `g` instead, `g` would have been killed: a suspended greenlet whose
//! last handle is dropped gets `GreenletExit` thrown in, so nothing leaks.)
//!
//! Run it with `cargo run --example greenlet_resume`.

use std::cell::OnceCell;
use std::rc::Rc;

use gevent::greenlet::{Greenlet, Value};

/// Runs the example.
pub fn main() {
    let f_cell: Rc<OnceCell<Greenlet>> = Rc::default();
    let g_cell: Rc<OnceCell<Greenlet>> = Rc::default();

    let g_ref = g_cell.clone();
    let f = Greenlet::new(move |_: Value| {
        println!("f1");
        g_ref.get().unwrap().switch(());
        println!("f2");
    });
    let f_ref = f_cell.clone();
    let g = Greenlet::new(move |_: Value| {
        println!("g1");
        f_ref.get().unwrap().switch(());
        println!("g2");
    });
    f_cell.set(f.clone()).unwrap();
    g_cell.set(g.clone()).unwrap();

    f.switch(()); // f1 g1 f2: f is done, g is suspended after g1
    assert!(f.is_dead() && g.is_active());
    g.switch(()); // g2: g continues where it stopped, then returns to main
    assert!(g.is_dead());
}
