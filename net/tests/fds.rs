//! No fd and no registration outlives its socket: 4,000 loopback connections opened and closed
//! five times by greenlets of one thread, with the process's fd count back to its baseline after
//! each round. (Its own file, so its own process: the fd count is process-wide.)

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use gevent_hub::{get_hub, joinall, spawn, Greenlet};
use gevent_net::{TcpListener, TcpStream};

const CONNS: usize = 4000;
const ROUNDS: usize = 5;

/// Entries of `/proc/self/fd`.
fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new soft limit.
fn raise_nofile() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on a struct we own.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = lim.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
    lim.rlim_cur
}

#[test]
fn four_thousand_connections_five_times_leave_no_fd_behind() {
    let limit = raise_nofile();
    assert!(
        limit as usize > 2 * CONNS + 100,
        "RLIMIT_NOFILE hard limit {limit} is too low for this test"
    );
    // The hub's own fds (the poller's epoll, eventfd and timerfd) exist before the baseline is taken.
    let _ = get_hub();
    let baseline = fd_count();
    let t = Instant::now();
    for round in 0..ROUNDS {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server: Greenlet<Vec<TcpStream>> = spawn(move || {
            let mut conns = Vec::with_capacity(CONNS);
            for _ in 0..CONNS {
                let (mut s, _) = l.accept().unwrap();
                let mut b = [0u8; 1];
                s.read_exact(&mut b).unwrap();
                s.write_all(&b).unwrap();
                conns.push(s);
            }
            conns
        });
        let clients: Vec<Greenlet<TcpStream>> = (0..CONNS)
            .map(|i| {
                spawn(move || {
                    let mut c = TcpStream::connect(addr).unwrap();
                    c.write_all(&[i as u8]).unwrap();
                    let mut b = [0u8; 1];
                    c.read_exact(&mut b).unwrap();
                    assert_eq!(b[0], i as u8);
                    c
                })
            })
            .collect();
        joinall(&clients);
        server.join();
        let server_side = server.value().expect("the server accepted every client");
        assert_eq!(server_side.len(), CONNS);
        let open = fd_count();
        assert!(
            open >= baseline + 2 * CONNS,
            "round {round}: {open} fds open, expected at least {}",
            baseline + 2 * CONNS
        );
        // The server closes first (so TIME_WAIT stays on its side, not on client ports).
        drop(server_side);
        drop(server);
        let client_side: Vec<TcpStream> = clients.iter().map(|c| c.value().unwrap()).collect();
        drop(clients);
        drop(client_side);
        assert_eq!(fd_count(), baseline, "round {round}: fds leaked");
        let hub = format!("{:?}", get_hub());
        assert!(
            hub.contains("fds: 0"),
            "round {round}: registrations leaked: {hub}"
        );
    }
    assert!(t.elapsed() < Duration::from_secs(120));
}
