//! `incoming()` out of descriptors (`EMFILE`, every `accept` fails at once): it backs off
//! between attempts (from 10 ms, doubling, as gevent's `StreamServer` does) instead of
//! spinning, so the rest of the hub keeps running; once descriptors are free again it accepts.
//! (Its own file, so its own process: it lowers the process's `RLIMIT_NOFILE`.)

use std::cell::Cell;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{sleep, spawn};
use gevent_net::{TcpListener, TcpStream};
use rustix::process::{getrlimit, setrlimit, Resource};

#[test]
fn accept_errors_back_off_and_the_hub_keeps_running() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let l2 = l.try_clone().unwrap();
    // A client waits in the backlog.
    let client = TcpStream::connect(addr).unwrap();
    let ticks = Rc::new(Cell::new(0u32));
    let t2 = ticks.clone();
    let ticker = spawn(move || loop {
        sleep(Duration::from_millis(1));
        t2.set(t2.get() + 1);
    });
    sleep(Duration::from_millis(5));

    // No descriptor left for accept.
    let saved = getrlimit(Resource::Nofile);
    // A new fd takes the lowest free number: with the limit there, none can be made.
    let lowest_free = rustix::io::fcntl_dupfd_cloexec(std::io::stdin(), 0)
        .unwrap()
        .as_raw_fd();
    let mut low = saved;
    low.current = Some(lowest_free as u64);
    setrlimit(Resource::Nofile, low).unwrap();

    // Items of incoming() until the first success, bounded so a regression cannot hang.
    let server = spawn(move || {
        let mut errors = Vec::new();
        for item in l2.incoming().take(100_000) {
            match item {
                Ok(s) => return (errors, Some(s.peer_addr().unwrap())),
                Err(e) => errors.push(e.raw_os_error()),
            }
        }
        (errors, None)
    });
    sleep(Duration::from_millis(300));
    let ticks_out_of_fds = ticks.get();
    setrlimit(Resource::Nofile, saved).unwrap();
    assert!(
        server.join_timeout(Duration::from_secs(5)),
        "accepted once fds were back"
    );
    let (errors, accepted) = server.value().unwrap();
    ticker.kill();

    assert!(
        !errors.is_empty(),
        "accept never failed: the test did not run out of fds"
    );
    assert!(
        errors.iter().all(|e| *e == Some(libc::EMFILE)),
        "{errors:?}"
    );
    // 300 ms of back-off from 10 ms, doubling up to 1 s: a handful of attempts, not millions.
    assert!(
        errors.len() <= 12,
        "{} attempts in 300 ms: spinning",
        errors.len()
    );
    assert!(
        ticks_out_of_fds >= 30,
        "the hub ticked only {ticks_out_of_fds} times"
    );
    assert_eq!(accepted, Some(client.local_addr().unwrap()));
}
