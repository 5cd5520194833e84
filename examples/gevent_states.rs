//! A greenlet's states: `started`, `ready`, `successful`, `value`, `exception`, for one that
//! returns and one that panics.
//!
//! From gevent's tutorial ("Greenlet State"), the `winner`/`loser` example. As in gevent, the
//! loser's panic stays inside its greenlet: `joinall` does not raise, the hub reports the
//! panic once (on stderr, like gevent's printed traceback), and it is kept as the greenlet's
//! `exception`.
//!
//! Run it with `cargo run --example gevent_states`.

/// Wins.
fn win() -> &'static str {
    "You win!"
}

/// Fails.
fn fail() -> &'static str {
    panic!("You fail at failing.")
}

/// Runs the example.
pub fn main() {
    let winner = gevent::spawn(win);
    let loser = gevent::spawn(fail);

    println!("winner.started: {}", winner.started());
    println!("loser.started: {}", loser.started());

    // Panics raised in a greenlet stay inside the greenlet.
    gevent::joinall(&[winner.clone(), loser.clone()]);

    println!("winner.value: {:?}", winner.value());
    println!("loser.value: {:?}", loser.value());

    println!("winner.ready: {}", winner.ready());
    println!("loser.ready: {}", loser.ready());

    println!("winner.successful: {}", winner.successful());
    println!("loser.successful: {}", loser.successful());

    // The panic did not unwind main's stack: it is a value here.
    match loser.exception() {
        Some(e) => println!("loser.exception: {e}"),
        None => println!("loser.exception: none"),
    }
}
