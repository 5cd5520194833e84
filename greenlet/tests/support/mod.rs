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

/// Whether this kernel has `madvise(MADV_GUARD_INSTALL)` (Linux 6.13), by its release number:
/// where it does, stacks must be in arenas unless the fallback is forced.
pub fn kernel_has_guard_install() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (6, 13)
}

/// The two ways stacks can be mapped, as a child process is told to use them: `(label, set
/// the fallback variable)`.
pub const MODES: [(&str, bool); 2] = [("Arenas", false), ("Mappings", true)];

/// A `Command` re-running this test binary for test `name` alone, as a child told `mode` in
/// `var`, with stacks in arenas or forced into one mapping each.
pub fn child_command(name: &str, var: &str, mode: &str, fallback: bool) -> std::process::Command {
    let mut c = std::process::Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(var, mode);
    if fallback {
        c.env(greenlet::NO_ARENAS_ENV, "1");
    } else {
        c.env_remove(greenlet::NO_ARENAS_ENV);
    }
    c
}

/// Checks that a child printed the stack mode it was asked for (`stack_mode=<label>`), where
/// the kernel can give it.
pub fn assert_mode(stdout: &str, label: &str) {
    if label == "Arenas" && !kernel_has_guard_install() {
        assert!(stdout.contains("stack_mode=Mappings"), "{stdout}");
        return;
    }
    assert!(
        stdout.contains(&format!("stack_mode={label}")),
        "the child was to map stacks as {label}:\n{stdout}"
    );
}
