//! Cooperative sockets: TCP, UDP and Unix streams in greenlets of one thread.
//!
//! Ported from gevent's `src/gevent/tests/test__socket.py` (`test_sendall_str`,
//! `test_sendall_empty`, `test_fullduplex`, `test_recv_timeout`, `test_sendall_timeout`,
//! `test_makefile`, `test_connect_ex_nonblocking_bad_connection`, `TestCreateConnection
//! .test_refuses`, `TestSocket.test_shutdown_when_closed`), `test__socket_close.py`
//! (`test_recv_closed`, `test_recv_twice`), `test__socketpair.py` and `test__socket_dns.py`
//! (only `localhost`: no external network here).

use std::cell::Cell;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::reactor::ConcurrentUse;
use gevent_hub::{joinall, sleep, spawn, Greenlet};
use gevent_net::unix::{UnixListener, UnixStream};
use gevent_net::{lookup_host, TcpListener, TcpStream, UdpSocket};

/// A listener on a free loopback port.
fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

/// gevent's `long_data`: "0, 1, 2, ..., 19999".
fn long_data() -> Vec<u8> {
    (0..20000)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
        .into_bytes()
}

#[test]
fn echo_from_the_main_greenlet() {
    let (l, addr) = listener();
    let server = spawn(move || {
        let (mut s, peer) = l.accept().unwrap();
        let mut buf = [0u8; 100];
        let n = s.read(&mut buf).unwrap();
        s.write_all(&buf[..n]).unwrap();
        peer
    });
    let mut c = TcpStream::connect(addr).unwrap();
    c.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    assert_eq!(server.get().unwrap(), c.local_addr().unwrap());
    assert_eq!(c.peer_addr().unwrap(), addr);
}

/// 200 clients and a server, all greenlets of this one thread.
#[test]
fn two_hundred_clients_and_a_server_in_one_thread() {
    const CLIENTS: usize = 200;
    const ROUNDS: usize = 10;
    let (l, addr) = listener();
    let served = Rc::new(Cell::new(0usize));
    let s2 = served.clone();
    let server = spawn(move || {
        let mut handlers = Vec::new();
        for _ in 0..CLIENTS {
            let (mut s, _) = l.accept().unwrap();
            let served = s2.clone();
            handlers.push(spawn(move || {
                let mut buf = [0u8; 256];
                loop {
                    let n = s.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    s.write_all(&buf[..n]).unwrap();
                }
                served.set(served.get() + 1);
            }));
        }
        joinall(&handlers);
    });
    let clients: Vec<Greenlet<usize>> = (0..CLIENTS)
        .map(|i| {
            spawn(move || {
                let mut c = TcpStream::connect(addr).unwrap();
                let mut total = 0;
                for r in 0..ROUNDS {
                    let msg = format!("client {i} round {r}");
                    c.write_all(msg.as_bytes()).unwrap();
                    let mut back = vec![0u8; msg.len()];
                    c.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg.as_bytes());
                    total += back.len();
                }
                total
            })
        })
        .collect();
    joinall(&clients);
    for c in &clients {
        assert!(c.get().unwrap() > 0);
    }
    server.join();
    assert!(server.successful());
    assert_eq!(served.get(), CLIENTS);
}

/// `test_sendall_str`: a large `write_all` read back whole by the peer.
#[test]
fn sendall_long_data() {
    let (l, addr) = listener();
    let reader = spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        all
    });
    let mut c = TcpStream::connect(addr).unwrap();
    let data = long_data();
    c.write_all(&data).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(reader.get().unwrap(), data);
}

/// `test_sendall_empty` / `test_empty_send`: writing nothing sends nothing and does not wait.
#[test]
fn empty_send() {
    let (l, addr) = listener();
    let reader = spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        all
    });
    let mut c = TcpStream::connect(addr).unwrap();
    assert_eq!(c.write(b"").unwrap(), 0);
    c.write_all(b"").unwrap();
    drop(c);
    assert!(reader.get().unwrap().is_empty());
}

/// `test_fullduplex`: one greenlet reads while another writes on the same socket.
#[test]
fn full_duplex_reader_and_writer_greenlets() {
    const N: usize = 100_000;
    let (l, addr) = listener();
    let server = spawn(move || {
        let (s, _) = l.accept().unwrap();
        let mut w = s.try_clone().unwrap();
        let sender = spawn(move || w.write_all(&vec![b't'; N]).unwrap());
        let mut buf = [0u8; 1000];
        let n = (&s).read(&mut buf).unwrap();
        sender.join();
        buf[..n].to_vec()
    });
    let c = TcpStream::connect(addr).unwrap();
    let mut r = c.try_clone().unwrap();
    let client_reader = spawn(move || {
        let mut got = vec![0u8; N];
        r.read_exact(&mut got).unwrap();
        got.iter().all(|&b| b == b't')
    });
    sleep(Duration::from_millis(20));
    (&c).write_all(b"hello world").unwrap();
    assert_eq!(server.get().unwrap(), b"hello world");
    assert!(client_reader.get().unwrap());
}

/// `test_recv_timeout`, and a read timeout while another greenlet keeps ticking.
#[test]
fn read_timeout_while_another_greenlet_ticks() {
    let (l, addr) = listener();
    let _keep = spawn(move || l.accept().unwrap());
    let mut c = TcpStream::connect(addr).unwrap();
    let ticks = Rc::new(Cell::new(0u32));
    let t2 = ticks.clone();
    let ticker = spawn(move || {
        for _ in 0..1000 {
            sleep(Duration::from_millis(5));
            t2.set(t2.get() + 1);
        }
    });
    c.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert_eq!(c.read_timeout().unwrap(), Some(Duration::from_millis(200)));
    let t = Instant::now();
    let e = c.read(&mut [0u8; 16]).unwrap_err();
    let took = t.elapsed();
    // std on Unix: SO_RCVTIMEO expiry is EAGAIN, kind WouldBlock.
    assert_eq!(e.kind(), ErrorKind::WouldBlock);
    assert!(took >= Duration::from_millis(190), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    // About 35 ticks of 5 ms in 200 ms on a quiet machine; a blocking read would give 0.
    assert!(
        ticks.get() >= 7,
        "the ticker ran only {} times",
        ticks.get()
    );
    ticker.kill();
}

#[test]
fn zero_timeouts_are_refused() {
    let (_l, addr) = listener();
    let c = TcpStream::connect(addr).unwrap();
    assert_eq!(
        c.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        TcpStream::connect_timeout(&addr, Duration::ZERO)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
}

/// `test_sendall_timeout`: a write that cannot finish gives up after the write timeout.
#[test]
fn sendall_timeout() {
    let (l, addr) = listener();
    let peer = spawn(move || l.accept().unwrap());
    let mut c = TcpStream::connect(addr).unwrap();
    let _peer = peer.get().unwrap(); // accepted, never reads
    c.set_write_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let data = vec![b'x'; 64 << 20];
    let t = Instant::now();
    let e = c.write_all(&data).unwrap_err();
    let took = t.elapsed();
    assert_eq!(e.kind(), ErrorKind::WouldBlock);
    assert!(took >= Duration::from_millis(95), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

/// `test_makefile`: line-buffered reading over a stream.
#[test]
fn bufreader_lines() {
    let (l, addr) = listener();
    spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.write_all(b"hello\nworld\n").unwrap();
    });
    let c = TcpStream::connect(addr).unwrap();
    let mut r = BufReader::new(c);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "hello\n");
    let mut rest = String::new();
    r.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "world\n");
}

/// `test_connect_ex_nonblocking_bad_connection` / `test_refuses`.
#[test]
fn connect_refused() {
    let (l, addr) = listener();
    drop(l);
    let e = TcpStream::connect(addr).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn connect_timeout_succeeds_on_loopback() {
    let (l, addr) = listener();
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    let (a, _) = l.accept().unwrap();
    assert_eq!(a.peer_addr().unwrap(), s.local_addr().unwrap());
}

/// `test__socket_close.py` `test_recv_closed`: closing a socket wakes its reader with EBADF.
#[test]
fn close_wakes_a_waiting_reader_with_ebadf() {
    let (l, addr) = listener();
    let _keep = spawn(move || l.accept().unwrap());
    let c = TcpStream::connect(addr).unwrap();
    let mut r = c.try_clone().unwrap();
    let receiver = spawn(move || r.read(&mut [0u8; 25]).map_err(|e| e.raw_os_error()));
    sleep(Duration::from_millis(1));
    let t = Instant::now();
    c.close();
    assert!(receiver.join_timeout(Duration::from_millis(500)));
    assert!(t.elapsed() < Duration::from_millis(500));
    assert_eq!(receiver.get().unwrap(), Err(Some(libc::EBADF)));
    // Every handle is closed now.
    assert_eq!(
        (&c).read(&mut [0u8; 1]).unwrap_err().raw_os_error(),
        Some(libc::EBADF)
    );
    assert_eq!(c.try_clone().unwrap_err().raw_os_error(), Some(libc::EBADF));
}

/// `TestSocket.test_shutdown_when_closed`.
#[test]
fn shutdown_after_close_is_an_error() {
    let (_l, addr) = listener();
    let c = TcpStream::connect(addr).unwrap();
    c.close();
    assert!(c.shutdown(Shutdown::Both).is_err());
}

/// A greenlet waiting to read wakes (reading end-of-file) when another handle shuts the
/// socket down.
#[test]
fn shutdown_wakes_a_waiting_reader() {
    let (l, addr) = listener();
    let _keep = spawn(move || l.accept().unwrap());
    let c = TcpStream::connect(addr).unwrap();
    let mut r = c.try_clone().unwrap();
    let receiver = spawn(move || r.read(&mut [0u8; 25]).unwrap());
    sleep(Duration::from_millis(1));
    c.shutdown(Shutdown::Both).unwrap();
    assert!(receiver.join_timeout(Duration::from_millis(500)));
    assert_eq!(receiver.get().unwrap(), 0);
}

/// `test__socket_close.py` `test_recv_twice`: a second reader is refused.
#[test]
fn two_readers_get_concurrent_use() {
    let (l, addr) = listener();
    let _keep = spawn(move || l.accept().unwrap());
    let c = TcpStream::connect(addr).unwrap();
    let mut r = c.try_clone().unwrap();
    let receiver = spawn(move || r.read(&mut [0u8; 25]).map_err(|e| e.raw_os_error()));
    sleep(Duration::from_millis(1));
    for _ in 0..2 {
        let e = (&c).read(&mut [0u8; 25]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Other);
        let cu = e
            .get_ref()
            .unwrap()
            .downcast_ref::<ConcurrentUse>()
            .unwrap();
        assert!(cu.read);
        assert_eq!(cu.fd, c.as_raw_fd());
    }
    receiver.kill();
    assert!(receiver.dead());
    // The killed reader left nothing behind: reading works again.
    c.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    assert_eq!(
        (&c).read(&mut [0u8; 1]).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
}

#[test]
fn nonblocking_mode_returns_would_block() {
    let (l, addr) = listener();
    let c = TcpStream::connect(addr).unwrap();
    c.set_nonblocking(true).unwrap();
    let t = Instant::now();
    assert_eq!(
        (&c).read(&mut [0u8; 8]).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    l.set_nonblocking(true).unwrap();
    let (mut s, _) = l.accept().unwrap(); // already queued by the kernel
    assert_eq!(l.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    assert!(t.elapsed() < Duration::from_millis(500));
    s.write_all(b"x").unwrap();
    c.set_nonblocking(false).unwrap();
    let mut b = [0u8; 1];
    (&c).read_exact(&mut b).unwrap();
    assert_eq!(&b, b"x");
}

#[test]
fn peek_and_partial_reads() {
    let (l, addr) = listener();
    let mut c = TcpStream::connect(addr).unwrap();
    let (s, _) = l.accept().unwrap();
    c.write_all(b"abcdef").unwrap();
    let mut buf = [0u8; 64];
    let n = s.peek(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"abcdef");
    // Partial reads return as soon as data is there.
    let mut two = [0u8; 2];
    assert_eq!((&s).read(&mut two).unwrap(), 2);
    assert_eq!(&two, b"ab");
    let n = (&s).read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"cdef");
}

#[test]
fn options_and_conversions() {
    let (l, addr) = listener();
    let c = TcpStream::connect(addr).unwrap();
    c.set_nodelay(true).unwrap();
    assert!(c.nodelay().unwrap());
    c.set_ttl(42).unwrap();
    assert_eq!(c.ttl().unwrap(), 42);
    assert!(c.take_error().unwrap().is_none());
    c.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
    assert_eq!(c.write_timeout().unwrap(), Some(Duration::from_secs(3)));
    let (s, _) = l.accept().unwrap();
    // Into std: blocking again, with the timeout as SO_SNDTIMEO.
    let std_c = c.into_std().unwrap();
    assert_eq!(std_c.write_timeout().unwrap(), Some(Duration::from_secs(3)));
    (&std_c).write_all(b"std").unwrap();
    // And back.
    let back = TcpStream::from(std_c);
    let mut buf = [0u8; 3];
    (&s).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"std");
    (&s).write_all(b"ok").unwrap();
    let mut two = [0u8; 2];
    (&back).read_exact(&mut two).unwrap();
    assert_eq!(&two, b"ok");
    assert!(format!("{back:?}").contains("TcpStream"));
    // A listener from std.
    let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let l2 = TcpListener::from_std(std_l).unwrap();
    let a2 = l2.local_addr().unwrap();
    let g = spawn(move || l2.accept().map(|(_, a)| a).unwrap());
    let c2 = TcpStream::connect(a2).unwrap();
    assert_eq!(g.get().unwrap(), c2.local_addr().unwrap());
}

#[test]
fn vectored_io() {
    use std::io::{IoSlice, IoSliceMut};
    let (l, addr) = listener();
    let mut c = TcpStream::connect(addr).unwrap();
    let (mut s, _) = l.accept().unwrap();
    let n = c
        .write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])
        .unwrap();
    assert_eq!(n, 4);
    let (mut x, mut y) = ([0u8; 1], [0u8; 8]);
    let n = s
        .read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)])
        .unwrap();
    assert_eq!(n, 4);
    assert_eq!((&x, &y[..3]), (b"a", &b"bcd"[..]));
}

#[test]
fn incoming_iterates_connections() {
    let (l, addr) = listener();
    let clients: Vec<_> = (0..3)
        .map(|_| spawn(move || TcpStream::connect(addr).unwrap()))
        .collect();
    let accepted: Vec<_> = l.incoming().take(3).map(Result::unwrap).collect();
    assert_eq!(accepted.len(), 3);
    joinall(&clients);
}

/// UDP round trips between two sockets in two greenlets.
#[test]
fn udp_round_trips() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let saddr = server.local_addr().unwrap();
    let echo = spawn(move || {
        let mut buf = [0u8; 1500];
        for _ in 0..100 {
            let (n, from) = server.recv_from(&mut buf).unwrap();
            server.send_to(&buf[..n], from).unwrap();
        }
    });
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.connect(saddr).unwrap();
    assert_eq!(client.peer_addr().unwrap(), saddr);
    for i in 0..100u32 {
        let msg = i.to_be_bytes();
        client.send(&msg).unwrap();
        let mut back = [0u8; 16];
        let n = client.recv(&mut back).unwrap();
        assert_eq!(&back[..n], &msg);
    }
    echo.join();
    assert!(echo.successful());
}

#[test]
fn udp_timeout_peek_and_options() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let t = Instant::now();
    let e = a.recv_from(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock);
    assert!(t.elapsed() >= Duration::from_millis(19));
    b.send_to(b"hey", a.local_addr().unwrap()).unwrap();
    let mut buf = [0u8; 8];
    let (n, from) = a.peek_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"hey"[..], b.local_addr().unwrap()));
    let (n, _) = a.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hey");
    a.set_broadcast(true).unwrap();
    assert!(a.broadcast().unwrap());
    a.set_ttl(7).unwrap();
    assert_eq!(a.ttl().unwrap(), 7);
    // Sending to a host name resolves it (on the thread pool).
    let port = a.local_addr().unwrap().port();
    b.send_to(b"by name", ("localhost", port))
        .unwrap_or_else(|_| {
            // localhost may resolve to ::1 first on some systems; IPv4 then.
            b.send_to(b"by name", ("127.0.0.1", port)).unwrap()
        });
}

/// A socket closed while another greenlet waits in `recv_from` wakes it with EBADF.
#[test]
fn udp_close_wakes_receiver() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let a2 = a.try_clone().unwrap();
    let g = spawn(move || {
        a2.recv_from(&mut [0u8; 8])
            .map(|_| ())
            .map_err(|e| e.raw_os_error())
    });
    sleep(Duration::ZERO);
    a.close();
    assert!(g.join_timeout(Duration::from_millis(500)));
    assert_eq!(g.get().unwrap(), Err(Some(libc::EBADF)));
}

/// `test__socketpair.py`, and a Unix listener with clients in greenlets.
#[test]
fn unix_streams() {
    let (mut a, b) = UnixStream::pair().unwrap();
    let echo = spawn(move || {
        let mut buf = [0u8; 64];
        let n = (&b).read(&mut buf).unwrap();
        (&b).write_all(&buf[..n]).unwrap();
    });
    a.write_all(b"pair").unwrap();
    let mut buf = [0u8; 4];
    a.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"pair");
    echo.join();

    let dir = std::env::temp_dir().join(format!("gevent-net-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s");
    let _ = std::fs::remove_file(&path);
    let l = UnixListener::bind(&path).unwrap();
    let clients: Vec<_> = (0..20)
        .map(|i| {
            let p = path.clone();
            spawn(move || {
                let mut c = UnixStream::connect(&p).unwrap();
                c.write_all(format!("{i}").as_bytes()).unwrap();
                c.shutdown(Shutdown::Write).unwrap();
                let mut s = String::new();
                c.read_to_string(&mut s).unwrap();
                s
            })
        })
        .collect();
    for _ in 0..20 {
        let (mut s, _) = l.accept().unwrap();
        spawn(move || {
            let mut v = String::new();
            s.read_to_string(&mut v).unwrap();
            s.write_all(format!("<{v}>").as_bytes()).unwrap();
        });
    }
    joinall(&clients);
    for (i, c) in clients.iter().enumerate() {
        assert_eq!(c.get().unwrap(), format!("<{i}>"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `test__socket_dns.py`, loopback only: host names go through the thread pool.
#[test]
fn host_names_resolve_on_the_pool() {
    let addrs: Vec<_> = lookup_host("localhost:4321").unwrap().collect();
    assert!(!addrs.is_empty());
    assert!(addrs
        .iter()
        .all(|a| a.ip().is_loopback() && a.port() == 4321));
    let ip_literal: Vec<_> = lookup_host("127.0.0.1:5").unwrap().collect();
    assert_eq!(ip_literal, ["127.0.0.1:5".parse::<SocketAddr>().unwrap()]);
    assert_eq!(
        lookup_host("no-port-here").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert!(lookup_host("nonexistent.invalid:80").is_err());
    // connect by name, while another greenlet keeps running.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let _acc = spawn(move || l.accept().unwrap());
    let ran = Rc::new(Cell::new(false));
    let r2 = ran.clone();
    spawn(move || r2.set(true));
    let c = TcpStream::connect(("localhost", port));
    assert!(
        ran.get(),
        "another greenlet ran while the name was resolved"
    );
    // localhost may come back as ::1 first; one of the addresses is 127.0.0.1.
    assert!(c.is_ok(), "{c:?}");
}
