//! Helpers shared by the greenlet tests.

#![allow(dead_code)] // each test file uses a different subset

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use greenlet::{getcurrent, GreenletExit, Value};

/// An ordered record of what happened, shared between greenlets.
pub type Log = Rc<RefCell<Vec<i32>>>;

/// A fresh, empty log.
pub fn log() -> Log {
    Rc::default()
}

/// Python's `greenlet.getcurrent().parent.switch(v)`.
pub fn parent_switch<V: 'static>(v: V) -> Value {
    getcurrent()
        .parent()
        .expect("not the main greenlet")
        .switch(v)
}

/// A panic payload of the tests' own type (Python's `SomeError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SomeError(pub &'static str);

/// The name of a payload's type, among those the tests use.
pub fn kind(p: &(dyn Any + Send)) -> &'static str {
    if p.is::<SomeError>() {
        "SomeError"
    } else if p.is::<GreenletExit>() {
        "GreenletExit"
    } else {
        "other"
    }
}

/// The text of a string panic payload.
pub fn message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        format!("<{} payload>", kind(p))
    }
}

/// Counts its drops: the tests' `finally:` block.
pub struct DropCounter(pub Rc<Cell<usize>>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// greenlet's `test_simple` / `_do_simple_test`: a greenlet suspended in its parent and
/// resumed, interleaving with its caller (0 1 2 3 4); returns it, dead.
pub fn simple_interleaving() -> greenlet::Greenlet {
    let lst = log();
    let l = lst.clone();
    let g = greenlet::Greenlet::new(move |_: greenlet::Value| {
        l.borrow_mut().push(1);
        parent_switch(());
        l.borrow_mut().push(3);
    });
    lst.borrow_mut().push(0);
    g.switch(());
    lst.borrow_mut().push(2);
    g.switch(());
    lst.borrow_mut().push(4);
    assert_eq!(*lst.borrow(), [0, 1, 2, 3, 4]);
    g
}
