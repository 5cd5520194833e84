//! Ping-pong: two greenlets pass control back and forth, receiving each other as arguments.
//!
//! From a greenlet tutorial: `gr1.switch(gr2, gr1)` starts `test1` with both greenlets; each
//! prints its line and switches to the other, sending the pair along (only the first switch
//! into a greenlet uses it: later ones just return it). The tutorial loops 100 times with a
//! `time.sleep(0.5)`; three rounds without sleeping show the same. When `test1` has done its
//! rounds it returns to `main`; `test2` is left suspended and is killed when dropped.
//!
//! Run it with `cargo run --example greenlet_ping_pong`.

use gevent::greenlet::{getcurrent, Greenlet, Value};

/// How many times each side prints.
const ROUNDS: usize = 3;

/// The body of both greenlets: print `line`, then switch to the other one, `ROUNDS` times.
fn player(line: &'static str) -> impl FnOnce(Value) {
    move |args: Value| {
        // (gr, g): the greenlet to switch to, and ourselves. We keep only `gr`: a handle to
        // ourselves kept on our own stack would keep us alive forever once suspended.
        let (gr, _) = args.take::<(Greenlet, Greenlet)>();
        for _ in 0..ROUNDS {
            println!("{line}");
            gr.switch((getcurrent().to_greenlet(), gr.clone()));
        }
    }
}

/// Runs the example.
pub fn main() {
    let gr1 = Greenlet::new(player("---A--"));
    let gr2 = Greenlet::new(player("---B--"));
    gr1.switch((gr2.clone(), gr1.clone()));
    assert!(gr1.is_dead() && gr2.is_active());
}
