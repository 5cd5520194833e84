//! Greenlet-local storage: each greenlet sees its own value.
//!
//! From the gevent tutorial ("Thread Locals"): `stash = local()`; `f1` sets `stash.x`, `f2`
//! sets `stash.y` and finds no `x`, because `f1`'s value is local to `f1`. In Rust a `Local<T>`
//! holds a typed value per greenlet (made on first use, dropped with the greenlet), and
//! `greenlet_local!` declares such values as statics, like `thread_local!`.
//!
//! Run it with `cargo run --example gevent_local`.

use std::cell::{Cell, RefCell};

use gevent::local::Local;

/// What the tutorial's `stash` holds: attributes that may be unset.
#[derive(Default)]
struct Stash {
    /// Set by `f1`.
    x: Cell<Option<i32>>,
    /// Set by `f2`.
    y: Cell<Option<i32>>,
}

gevent::greenlet_local! {
    /// Names each greenlet has visited, per greenlet.
    static VISITED: RefCell<Vec<&'static str>> = RefCell::new(Vec::new());
}

/// Sets and prints `x`.
fn f1(stash: Local<Stash>) {
    stash.with(|s| s.x.set(Some(1)));
    println!("{}", stash.with(|s| s.x.get().unwrap()));
    VISITED.with_borrow_mut(|v| v.push("f1"));
}

/// Sets and prints `y`; `x` is not there.
fn f2(stash: Local<Stash>) {
    stash.with(|s| s.y.set(Some(2)));
    println!("{}", stash.with(|s| s.y.get().unwrap()));
    match stash.with(|s| s.x.get()) {
        Some(x) => println!("x is {x}"),
        None => println!("x is not local to f2"),
    }
    VISITED.with_borrow_mut(|v| v.push("f2"));
    println!("f2 visited: {:?}", VISITED.with_borrow(|v| v.clone()));
}

/// Runs the example.
pub fn main() {
    let stash = Local::new(Stash::default);
    let (s1, s2) = (stash.clone(), stash.clone());
    let g1 = gevent::spawn(move || f1(s1));
    let g2 = gevent::spawn(move || f2(s2));
    gevent::joinall(&[g1, g2]);
    println!(
        "main: x={:?} y={:?} visited={:?}",
        stash.with(|s| s.x.get()),
        stash.with(|s| s.y.get()),
        VISITED.with_borrow(|v| v.clone())
    );
}
