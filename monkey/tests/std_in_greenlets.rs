//! std's blocking APIs inside greenlets after `patch_all()`: they wait cooperatively (the
//! issue's proofs), with libc's semantics. Each test runs on its own thread, with its own hub.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{joinall, sleep, spawn};

fn patched() {
    gevent_monkey::patch_all().expect("the hooks are in effect");
}

#[test]
fn twenty_thread_sleeps_take_about_one() {
    patched();
    let t = Instant::now();
    let gs: Vec<_> = (0..20)
        .map(|_| spawn(|| std::thread::sleep(Duration::from_millis(100))))
        .collect();
    joinall(&gs);
    let e = t.elapsed();
    assert!(e >= Duration::from_millis(100), "{e:?}");
    assert!(
        e < Duration::from_millis(500),
        "20 sleeps took {e:?}: they did not overlap"
    );
}

#[test]
fn a_std_listener_and_200_std_clients_in_one_thread() {
    patched();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = spawn(move || {
        let mut handlers = Vec::new();
        for _ in 0..200 {
            let (mut s, _) = listener.accept().unwrap();
            handlers.push(spawn(move || {
                let mut buf = [0u8; 64];
                loop {
                    match s.read(&mut buf).unwrap() {
                        0 => return,
                        n => s.write_all(&buf[..n]).unwrap(),
                    }
                }
            }));
        }
        joinall(&handlers);
    });
    let clients: Vec<_> = (0..200u32)
        .map(|i| {
            spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                let msg = format!("hello {i}");
                s.write_all(msg.as_bytes()).unwrap();
                let mut got = vec![0u8; msg.len()];
                s.read_exact(&mut got).unwrap();
                s.shutdown(Shutdown::Write).unwrap();
                assert_eq!(got, msg.as_bytes());
                std::thread::current().id()
            })
        })
        .collect();
    joinall(&clients);
    server.get().unwrap();
    let me = std::thread::current().id();
    for c in &clients {
        assert_eq!(c.get().unwrap(), me, "every client ran on this thread");
    }
}

#[test]
fn big_writes_to_a_slow_reader_send_everything() {
    patched();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    const N: usize = 8 << 20;
    let reader = spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut total = 0;
        let mut buf = vec![0u8; 65536];
        loop {
            match s.read(&mut buf).unwrap() {
                0 => return total,
                n => total += n,
            }
            sleep(Duration::ZERO);
        }
    });
    let writer = spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let data = vec![7u8; N];
        // One `send` that must block many times: the hook sends all of it.
        let n = s.write(&data).unwrap();
        assert_eq!(n, N);
    });
    writer.get().unwrap();
    assert_eq!(reader.get().unwrap(), N);
}

#[test]
fn connect_timeout_to_a_closed_port_is_refused() {
    patched();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let g = spawn(move || {
        let addr = format!("127.0.0.1:{port}").parse().unwrap();
        TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map(drop)
            .map_err(|e| e.kind())
    });
    let e = g.get().unwrap().unwrap_err();
    assert_eq!(e, ErrorKind::ConnectionRefused);
    // And a plain connect too.
    let g = spawn(move || {
        TcpStream::connect(("127.0.0.1", port))
            .map(drop)
            .map_err(|e| e.kind())
    });
    assert_eq!(g.get().unwrap().unwrap_err(), ErrorKind::ConnectionRefused);
}

#[test]
fn ten_command_outputs_run_in_parallel() {
    patched();
    let t = Instant::now();
    let gs: Vec<_> = (0..10)
        .map(|i| {
            spawn(move || {
                Command::new("sh")
                    .args(["-c", &format!("sleep 0.2; echo {i}")])
                    .output()
                    .unwrap()
            })
        })
        .collect();
    joinall(&gs);
    let e = t.elapsed();
    for (i, g) in gs.iter().enumerate() {
        let out = g.get().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), i.to_string());
    }
    assert!(e < Duration::from_millis(1000), "10 × 0.2 s took {e:?}");
}

#[test]
fn child_wait_is_cooperative() {
    patched();
    let ticks = Rc::new(std::cell::Cell::new(0u32));
    let t2 = ticks.clone();
    let ticker = spawn(move || {
        for _ in 0..10 {
            sleep(Duration::from_millis(10));
            t2.set(t2.get() + 1);
        }
    });
    let mut child = Command::new("sleep").arg("0.2").spawn().unwrap();
    let st = child.wait().unwrap(); // waitpid in the main greenlet
    assert!(st.success());
    assert!(
        ticks.get() >= 5,
        "the ticker ran {} times while we waited",
        ticks.get()
    );
    ticker.get().unwrap();
}

#[test]
fn dns_through_to_socket_addrs_lets_a_ticker_tick() {
    patched();
    let ticks = Rc::new(std::cell::Cell::new(0u64));
    let t2 = ticks.clone();
    let stop = Rc::new(std::cell::Cell::new(false));
    let s2 = stop.clone();
    let ticker = spawn(move || {
        while !s2.get() {
            t2.set(t2.get() + 1);
            sleep(Duration::ZERO);
        }
    });
    sleep(Duration::ZERO);
    let before = ticks.get();
    // The lookup runs on the thread pool: this greenlet waits and the ticker runs. A blocking
    // lookup would not let it run at all.
    let addrs: Vec<_> = ("localhost", 80).to_socket_addrs().unwrap().collect();
    let after = ticks.get();
    stop.set(true);
    ticker.get().unwrap();
    assert!(addrs.iter().any(|a| a.ip().is_loopback()), "{addrs:?}");
    assert!(after > before, "the ticker did not tick during the lookup");
}

#[test]
fn kill_of_a_greenlet_blocked_in_a_std_read() {
    patched();
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let seen = Rc::new(std::cell::Cell::new(None));
    let s2 = seen.clone();
    let g = spawn(move || {
        let mut a = a;
        let r = a.read(&mut [0u8; 8]);
        s2.set(Some(r.map_err(|e| e.raw_os_error())));
        // The kill is still pending: the next wait raises it.
        sleep(Duration::from_secs(5));
        unreachable!("the kill was lost");
    });
    sleep(Duration::from_millis(20));
    g.kill();
    assert!(g.get().unwrap_err().is_killed());
    assert_eq!(seen.get(), Some(Err(Some(libc::ECANCELED))));
}

#[test]
fn timeout_of_a_std_read_fails_it_with_etimedout() {
    patched();
    let (mut a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let t = Instant::now();
    let mut seen = None;
    let r = gevent_timeout::Timeout::new(Duration::from_millis(50))
        .run(|| seen = Some(a.read(&mut [0u8; 8]).map_err(|e| e.raw_os_error())));
    // The read failed with ETIMEDOUT, and `run` reports its timeout as the block's outcome.
    assert_eq!(seen, Some(Err(Some(libc::ETIMEDOUT))));
    assert!(r.is_err(), "run did not report its timeout: {r:?}");
    assert!(t.elapsed() >= Duration::from_millis(50));
    // The timeout was taken back by `run`: nothing is raised later.
    sleep(Duration::from_millis(5));
}

#[test]
fn a_killed_sleep_returns_as_if_it_had_slept() {
    patched();
    let g = spawn(|| {
        std::thread::sleep(Duration::from_secs(10)); // returns early, without error
        "after the sleep"
    });
    sleep(Duration::from_millis(10));
    let t = Instant::now();
    g.kill();
    // The greenlet ran to its end (no later wait): it finished, the kill was not raised.
    let _ = g.get();
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn read_timeout_and_nonblocking_are_honoured_in_a_greenlet() {
    patched();
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let ticks = Rc::new(std::cell::Cell::new(0u32));
    let t2 = ticks.clone();
    let ticker = spawn(move || {
        for _ in 0..5 {
            sleep(Duration::from_millis(5));
            t2.set(t2.get() + 1);
        }
    });
    a.set_read_timeout(Some(Duration::from_millis(60))).unwrap();
    let t = Instant::now();
    let e = (&a).read(&mut [0u8; 4]).unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::WouldBlock,
        "SO_RCVTIMEO expiry is EAGAIN"
    );
    assert!(t.elapsed() >= Duration::from_millis(60));
    assert_eq!(ticks.get(), 5, "others ran meanwhile");
    ticker.get().unwrap();

    a.set_read_timeout(None).unwrap();
    a.set_nonblocking(true).unwrap();
    let t = Instant::now();
    let e = (&a).read(&mut [0u8; 4]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock);
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn the_kernel_nonblocking_flag_is_never_changed() {
    patched();
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let g = spawn(move || {
        let mut b = b;
        sleep(Duration::from_millis(10));
        b.write_all(b"x").unwrap();
    });
    let mut buf = [0u8; 1];
    assert_eq!((&a).read(&mut buf).unwrap(), 1);
    g.get().unwrap();
    // SAFETY: a query on an open fd.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    assert_eq!(fl & libc::O_NONBLOCK, 0);
}

#[test]
fn close_from_another_greenlet_wakes_the_reader_with_ebadf() {
    patched();
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let reader = spawn(move || {
        let mut buf = [0u8; 4];
        // SAFETY: reads into our buffer from an fd that the other greenlet closes.
        let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), 4) };
        (r, std::io::Error::last_os_error().raw_os_error())
    });
    sleep(Duration::from_millis(10));
    drop(a); // close(fd): wakes the reader first
    assert_eq!(reader.get().unwrap(), (-1, Some(libc::EBADF)));
}

#[test]
fn outside_greenlets_nothing_changes() {
    patched();
    std::thread::spawn(|| {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        // A thread without a hub: the read times out in the kernel.
        a.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
        let t = Instant::now();
        let e = (&a).read(&mut [0u8; 4]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock);
        assert!(t.elapsed() >= Duration::from_millis(30));
        // errno is left alone by a successful call.
        // SAFETY: errno of this thread.
        unsafe { *libc::__errno_location() = 1234 };
        let (mut c, mut d) = std::os::unix::net::UnixStream::pair().unwrap();
        c.write_all(b"y").unwrap();
        d.read_exact(&mut [0u8; 1]).unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { *libc::__errno_location() }, 1234);
        let t = Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        assert!(t.elapsed() >= Duration::from_millis(20));
    })
    .join()
    .unwrap();
}

#[test]
fn a_forked_child_runs_unpatched() {
    use std::os::unix::process::CommandExt;
    patched();
    let g = spawn(|| {
        let mut c = Command::new("sh");
        c.args(["-c", "echo forked"]);
        // SAFETY: the closure only returns (async-signal-safe); it forces std to fork.
        unsafe { c.pre_exec(|| Ok(())) };
        c.output().unwrap()
    });
    let out = g.get().unwrap();
    assert_eq!(out.stdout, b"forked\n");
}

#[test]
fn patching_reports_what_is_patched() {
    patched();
    for name in ["socket", "time", "dns", "select", "subprocess"] {
        assert!(gevent_monkey::is_patched(name), "{name}");
    }
    assert!(!gevent_monkey::is_patched("thread"));
    assert!(!gevent_monkey::is_patched("os.path"));
}

#[test]
fn poll_of_two_fds_waits_cooperatively_with_exact_revents() {
    patched();
    let (a, _a2) = std::os::unix::net::UnixStream::pair().unwrap();
    let (b, b2) = std::os::unix::net::UnixStream::pair().unwrap();
    let b2 = Rc::new(b2);
    let b3 = b2.clone();
    let (fa, fb) = (a.as_raw_fd(), b.as_raw_fd());
    let ticks = Rc::new(std::cell::Cell::new(0));
    let t2 = ticks.clone();
    let ticker = spawn(move || {
        for _ in 0..5 {
            sleep(Duration::from_millis(5));
            t2.set(t2.get() + 1);
        }
        (&*b3).write_all(b"x").unwrap();
    });
    let mut fds = [
        libc::pollfd {
            fd: fa,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: fb,
            events: libc::POLLIN,
            revents: 0,
        },
        // The same fd twice, for both directions: one registration, both asked.
        libc::pollfd {
            fd: fb,
            events: libc::POLLOUT,
            revents: 0,
        },
    ];
    // SAFETY: our array of three pollfds.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 3, 5_000) };
    // b is writable at once: the first round answers.
    assert_eq!(n, 1);
    assert_eq!(fds.map(|p| p.revents), [0, 0, libc::POLLOUT]);
    let mut fds = [
        libc::pollfd {
            fd: fa,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: fb,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: as above.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, 5_000) };
    assert_eq!(n, 1);
    assert_eq!(fds.map(|p| p.revents), [0, libc::POLLIN]);
    assert_eq!(ticks.get(), 5, "the ticker ran while poll waited");
    ticker.get().unwrap();
    // A timeout: 0, revents cleared.
    let t = Instant::now();
    let mut fds = [libc::pollfd {
        fd: fa,
        events: libc::POLLIN,
        revents: 7,
    }];
    // SAFETY: as above.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, 30) };
    assert_eq!((n, fds[0].revents), (0, 0));
    assert!(t.elapsed() >= Duration::from_millis(30));
}

#[test]
fn a_killed_poll_fails_with_ecanceled() {
    patched();
    let (a, _a2) = std::os::unix::net::UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let seen = Rc::new(std::cell::Cell::new(None));
    let s2 = seen.clone();
    let g = spawn(move || {
        let mut p = [libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: our array.
        let n = unsafe { libc::poll(p.as_mut_ptr(), 1, -1) };
        s2.set(Some((n, std::io::Error::last_os_error().raw_os_error())));
        sleep(Duration::from_secs(5)); // raises the pending kill
        unreachable!("the kill was lost");
    });
    sleep(Duration::from_millis(10));
    g.kill();
    assert!(g.get().unwrap_err().is_killed());
    assert_eq!(seen.get(), Some((-1, Some(libc::ECANCELED))));
    drop(a);
}

#[test]
fn two_greenlets_reading_one_fd_both_get_data() {
    patched();
    let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    let a = Rc::new(a);
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let a = a.clone();
            spawn(move || {
                let mut buf = [0u8; 1];
                (&*a).read(&mut buf).unwrap()
            })
        })
        .collect();
    sleep(Duration::from_millis(10)); // both wait (the second on a watch of its own)
    b.write_all(b"x").unwrap();
    sleep(Duration::from_millis(10));
    b.write_all(b"y").unwrap();
    for r in readers {
        assert_eq!(r.get().unwrap(), 1);
    }
}

#[test]
fn an_fd_replaced_by_another_thread_still_wakes() {
    patched();
    // A wait registers the fd in this thread's cache.
    let (a, a2) = std::os::unix::net::UnixStream::pair().unwrap();
    // The peer stays open (a hang-up would leave the registration ready for good).
    let a2 = Rc::new(a2);
    let a3 = a2.clone();
    let w = spawn(move || {
        sleep(Duration::from_millis(5));
        (&*a3).write_all(b"x").unwrap();
    });
    let mut buf = [0u8; 1];
    (&a).read_exact(&mut buf).unwrap();
    w.get().unwrap();
    // Another thread puts a new socket under that number (dup2 through the hook, which
    // closes the old file, without this thread's hub).
    let old = std::os::fd::IntoRawFd::into_raw_fd(a);
    let (c, writer) = std::os::unix::net::UnixStream::pair().unwrap();
    let cfd = c.as_raw_fd();
    // SAFETY: `old` is ours (taken out of `a`), `cfd` is open.
    let r = std::thread::spawn(move || unsafe { libc::dup2(cfd, old) })
        .join()
        .unwrap();
    assert_eq!(r, old);
    drop(c);
    // SAFETY: `old` now refers to the new socket, owned by nobody else.
    let mut reader: std::os::unix::net::UnixStream =
        unsafe { std::os::fd::FromRawFd::from_raw_fd(old) };
    let writer = Rc::new(writer);
    let w2 = writer.clone();
    let w = spawn(move || {
        sleep(Duration::from_millis(10));
        (&*w2).write_all(b"y").unwrap();
    });
    // Bounded: a stale registration would never report the new socket readable.
    let mut got = None;
    let r = gevent_timeout::Timeout::new(Duration::from_secs(5))
        .run(|| got = Some(reader.read(&mut buf).map_err(|e| e.raw_os_error())));
    assert!(r.is_ok(), "the read of the reused fd number never woke");
    assert_eq!(got, Some(Ok(1)));
    w.get().unwrap();
    drop(a2);
}
