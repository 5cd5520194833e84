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

#[test]
fn tcp_incoming_ends_when_the_listener_closes() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let l2 = l.try_clone().unwrap();
    // Every item, errors included: 2 connections, then the end.
    let server = spawn(move || {
        l2.incoming()
            .take(1000)
            .map(|s| s.is_ok())
            .collect::<Vec<_>>()
    });
    let clients: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    sleep(Duration::from_millis(20)); // the server accepts both, then waits in accept
    let (tick, ticks) = ticker();
    l.close();
    assert!(server.join_timeout(Duration::from_secs(5)));
    assert_eq!(server.get().unwrap(), [true, true]);
    // The hub kept running.
    sleep(Duration::from_millis(20));
    assert!(ticks.get() > 0);
    tick.kill();
    // A closed listener's incoming() is empty at once.
    assert_eq!(l.incoming().take(1000).count(), 0);
    drop(clients);
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
    let server = spawn(move || {
        l2.incoming()
            .take(1000)
            .map(|s| s.is_ok())
            .collect::<Vec<_>>()
    });
    let c = UnixStream::connect(&path).unwrap();
    sleep(Duration::from_millis(20));
    l.close();
    assert!(server.join_timeout(Duration::from_secs(5)));
    assert_eq!(server.get().unwrap(), [true]);
    drop(c);
    std::fs::remove_file(&path).unwrap();
}
