//! `incoming()` ends once its listener is closed, also while it waits in `accept`; before,
//! `incoming().flatten()` after `close()` spun on `EBADF` forever at 100% CPU and starved the
//! hub. (Each loop is bounded by `take`, so a regression fails instead of hanging.)

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{sleep, spawn};
use gevent_net::unix::{UnixListener, UnixStream};
use gevent_net::{TcpListener, TcpStream};

/// Counts ticks of a greenlet sleeping 1 ms at a time, until killed.
fn ticker() -> (gevent_hub::Greenlet<()>, Rc<Cell<u32>>) {
    let ticks = Rc::new(Cell::new(0));
    let t2 = ticks.clone();
    let g = spawn(move || loop {
        sleep(Duration::from_millis(1));
        t2.set(t2.get() + 1);
    });
    (g, ticks)
}

/// Runs `serve` (a loop over `incoming()` returning each item's `is_ok`) in a greenlet,
/// makes `n` connections with `connect`, closes the listener with `close` while the loop waits
/// in `accept`, and checks that the loop ends with the `n` connections while the hub keeps
/// running.
fn ends_on_close<C>(
    serve: impl FnOnce() -> Vec<bool> + 'static,
    connect: impl Fn() -> C,
    close: impl FnOnce(),
    n: usize,
) {
    let server = spawn(serve);
    let clients: Vec<C> = (0..n).map(|_| connect()).collect();
    sleep(Duration::from_millis(20)); // the server accepts them, then waits in accept
    let (tick, ticks) = ticker();
    close();
    assert!(server.join_timeout(Duration::from_secs(5)));
    assert_eq!(server.get().unwrap(), vec![true; n]);
    sleep(Duration::from_millis(20));
    assert!(ticks.get() > 0, "the hub kept running");
    tick.kill();
    drop(clients);
}

#[test]
fn tcp_incoming_ends_when_the_listener_closes() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let l2 = l.try_clone().unwrap();
    ends_on_close(
        move || l2.incoming().take(1000).map(|s| s.is_ok()).collect(),
        || TcpStream::connect(addr).unwrap(),
        || l.close(),
        2,
    );
    // A closed listener's incoming() is empty at once.
    assert_eq!(l.incoming().take(1000).count(), 0);
}

#[test]
fn tcp_incoming_flatten_after_close_does_not_spin() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.close();
    assert_eq!(l.incoming().take(1000).flatten().count(), 0);
}

#[test]
fn unix_incoming_ends_when_the_listener_closes() {
    let path = std::env::temp_dir().join(format!("gevent-net-incoming-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let l = UnixListener::bind(&path).unwrap();
    let l2 = l.try_clone().unwrap();
    ends_on_close(
        move || l2.incoming().take(1000).map(|s| s.is_ok()).collect(),
        || UnixStream::connect(&path).unwrap(),
        || l.close(),
        1,
    );
    assert_eq!(l.incoming().take(1000).count(), 0);
    std::fs::remove_file(&path).unwrap();
}
