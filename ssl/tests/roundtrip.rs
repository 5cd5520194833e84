//! Data through TLS: many greenlet connections on one thread, std-thread rustls clients
//! against a greenlet server, large transfers both ways at once through `&TlsStream`, vectored
//! writes, `BufRead`, Unix sockets, and what a read timeout or a kill leaves behind.

mod support;

use std::cell::{Cell, RefCell};
use std::io::{BufRead, IoSlice, Read, Write};
use std::rc::Rc;
use std::time::Duration;

use gevent_net::{unix::UnixStream, TcpStream};
use gevent_ssl::{rustls, TlsAcceptor, TlsStream};
use support::{connect, echo_server, listen, pattern, Pki};

#[test]
fn many_connections_on_one_thread() {
    const CONNS: usize = 100;
    const ROUNDS: usize = 20;
    let pki = Pki::new();
    let (l, addr) = listen();
    let server = echo_server(l, TlsAcceptor::new(pki.server_config()), CONNS);
    let config = pki.client_config();
    let clients: Vec<_> = (0..CONNS)
        .map(|i| {
            let config = config.clone();
            gevent_hub::spawn(move || -> u64 {
                let mut tls = connect(config, addr);
                let mut sent = 0;
                for r in 0..ROUNDS {
                    let msg = pattern(1 + (i * 131 + r * 977) % 3000, (i * ROUNDS + r) as u64);
                    tls.write_all(&msg).unwrap();
                    let mut back = vec![0u8; msg.len()];
                    tls.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg, "connection {i}, round {r}");
                    sent += msg.len() as u64;
                }
                tls.shutdown().unwrap();
                assert_eq!(
                    tls.read(&mut [0u8; 8]).unwrap(),
                    0,
                    "the server's close_notify"
                );
                sent
            })
        })
        .collect();
    gevent_hub::joinall(&clients);
    let sent: u64 = clients.iter().map(|c| c.get().unwrap()).sum();
    assert_eq!(server.get().unwrap(), Ok(sent));
}

#[test]
fn std_thread_rustls_clients_against_a_greenlet_server() {
    const THREADS: usize = 4;
    const ROUNDS: usize = 50;
    let pki = Pki::new();
    let (l, addr) = listen();
    let server = echo_server(l, TlsAcceptor::new(pki.server_config()), THREADS);
    let config = pki.client_config();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let config = config.clone();
            std::thread::spawn(move || {
                let name = "localhost".try_into().unwrap();
                let conn = rustls::ClientConnection::new(config, name).unwrap();
                let tcp = std::net::TcpStream::connect(addr).unwrap();
                tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                for r in 0..ROUNDS {
                    let msg = pattern(100 + r * 37, (t * 1000 + r) as u64);
                    tls.write_all(&msg).unwrap();
                    let mut back = vec![0u8; msg.len()];
                    tls.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg);
                }
                tls.conn.send_close_notify();
                tls.flush().unwrap();
                // The greenlet server answers with its own close_notify: a clean end.
                let mut rest = Vec::new();
                tls.read_to_end(&mut rest).unwrap();
                assert!(rest.is_empty());
            })
        })
        .collect();
    // The threads finish while the hub runs the server greenlets.
    let done = server.join_timeout(Duration::from_secs(60));
    assert!(done, "the server did not finish");
    for t in threads {
        t.join().unwrap();
    }
    let expected: u64 = (0..ROUNDS).map(|r| 100 + r as u64 * 37).sum::<u64>() * THREADS as u64;
    assert_eq!(server.get().unwrap(), Ok(expected));
}

#[test]
fn megabytes_both_ways_at_once_through_shared_references() {
    const LEN: usize = 4 << 20;
    let pki = Pki::new();
    let (l, addr) = listen();
    let server = echo_server(l, TlsAcceptor::new(pki.server_config()), 1);
    let tls = Rc::new(connect(pki.client_config(), addr));
    let data = Rc::new(pattern(LEN, 7));
    // Without a reader running while the writer writes, both sides would fill their socket
    // buffers and wait for ever: this needs `&TlsStream` from two greenlets.
    let writer = {
        let (tls, data) = (tls.clone(), data.clone());
        gevent_hub::spawn(move || {
            for chunk in data.chunks(100_000) {
                (&*tls).write_all(chunk).unwrap();
            }
            tls.shutdown().unwrap();
        })
    };
    let reader = {
        let tls = tls.clone();
        gevent_hub::spawn(move || {
            let mut got = Vec::with_capacity(LEN);
            (&*tls).read_to_end(&mut got).unwrap();
            got
        })
    };
    assert!(reader.join_timeout(Duration::from_secs(60)));
    writer.join();
    assert!(*reader.get().unwrap() == *data);
    assert_eq!(server.get().unwrap(), Ok(LEN as u64));
}

#[test]
fn write_vectored_sends_every_slice_in_order() {
    let pki = Pki::new();
    let (l, addr) = listen();
    let server = echo_server(l, TlsAcceptor::new(pki.server_config()), 1);
    let mut tls = connect(pki.client_config(), addr);
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n".to_vec();
    let body = pattern(70_000, 3);
    let mut expected = head.clone();
    expected.extend_from_slice(&body);
    let mut slices = [IoSlice::new(&head), IoSlice::new(&body)];
    let mut bufs = &mut slices[..];
    let mut total = 0;
    while !bufs.is_empty() {
        let n = tls.write_vectored(bufs).unwrap();
        assert!(n > 0);
        total += n;
        IoSlice::advance_slices(&mut bufs, n);
    }
    assert_eq!(total, expected.len());
    tls.flush().unwrap();
    let mut back = vec![0u8; expected.len()];
    tls.read_exact(&mut back).unwrap();
    assert!(back == expected);
    tls.shutdown().unwrap();
    assert_eq!(server.get().unwrap(), Ok(expected.len() as u64));
}

#[test]
fn buf_read_lines() {
    let pki = Pki::new();
    let (l, addr) = listen();
    let server = echo_server(l, TlsAcceptor::new(pki.server_config()), 1);
    let mut tls = connect(pki.client_config(), addr);
    tls.write_all(b"one\ntwo\nthree\n").unwrap();
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        tls.read_line(&mut line).unwrap();
        lines.push(line);
    }
    assert_eq!(lines, ["one\n", "two\n", "three\n"]);
    tls.shutdown().unwrap();
    assert!(tls.fill_buf().unwrap().is_empty(), "clean end");
    server.get().unwrap().unwrap();
}

#[test]
fn over_a_unix_socket_pair() {
    let pki = Pki::new();
    let (a, b) = UnixStream::pair().unwrap();
    let server_config = pki.server_config();
    let server = gevent_hub::spawn(move || {
        let mut tls = TlsStream::accept(server_config, b).unwrap();
        let mut s = String::new();
        tls.read_to_string(&mut s).unwrap();
        s
    });
    let mut tls = TlsStream::connect(pki.client_config(), "localhost", a).unwrap();
    tls.write_all(b"over unix").unwrap();
    tls.shutdown().unwrap();
    assert_eq!(server.get().unwrap(), "over unix");
}

#[test]
fn a_read_timeout_leaves_the_session_usable() {
    let pki = Pki::new();
    let (l, addr) = listen();
    let server = echo_server(l, TlsAcceptor::new(pki.server_config()), 1);
    let mut tls = connect(pki.client_config(), addr);
    tls.get_ref()
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let e = tls.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}");
    let e = (&tls).read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}");
    tls.get_ref().set_read_timeout(None).unwrap();
    tls.write_all(b"still here").unwrap();
    let mut back = [0u8; 10];
    tls.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"still here");
    tls.shutdown().unwrap();
    server.get().unwrap().unwrap();
}

/// A relay between a TLS client and server that, once `chop` is set, passes the server's next
/// bytes on in two parts 80 ms apart: the first 7 bytes (a partial record), then the rest.
fn chopping_relay(server: std::net::SocketAddr, chop: Rc<Cell<bool>>) -> std::net::SocketAddr {
    let (l, addr) = listen();
    gevent_hub::spawn(move || {
        let (client, _) = l.accept().unwrap();
        let upstream = TcpStream::connect(server).unwrap();
        let (c2, u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
        gevent_hub::spawn(move || std::io::copy(&mut &c2, &mut &u2).map(drop));
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match (&upstream).read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if chop.replace(false) && n > 7 {
                (&client).write_all(&buf[..7]).unwrap();
                gevent_hub::sleep(Duration::from_millis(80));
                (&client).write_all(&buf[7..n]).unwrap();
            } else {
                (&client).write_all(&buf[..n]).unwrap();
            }
        }
        let _ = client.shutdown(std::net::Shutdown::Write);
    });
    addr
}

#[test]
fn a_kill_during_a_read_loses_no_partial_record() {
    let pki = Pki::new();
    let (l, addr) = listen();
    let server = echo_server(l, TlsAcceptor::new(pki.server_config()), 1);
    let chop = Rc::new(Cell::new(false));
    let relay = chopping_relay(addr, chop.clone());
    let tls = Rc::new(RefCell::new(connect(pki.client_config(), relay)));
    chop.set(true);
    tls.borrow_mut()
        .write_all(b"a message in one record")
        .unwrap();
    // The reader gets the first 7 bytes of the record, then waits for the rest: kill it there.
    let reader = {
        let tls = tls.clone();
        gevent_hub::spawn(move || {
            let mut buf = [0u8; 64];
            tls.borrow_mut()
                .read(&mut buf)
                .map(|n| buf[..n].to_vec())
                .ok()
        })
    };
    gevent_hub::sleep(Duration::from_millis(30));
    assert!(!reader.ready());
    reader.kill();
    assert!(reader.dead());
    assert_eq!(
        reader.value(),
        None,
        "killed while waiting, not ended by an error"
    );
    // The partial record stayed in the session: the next read completes it.
    let mut back = [0u8; 23];
    tls.borrow_mut().read_exact(&mut back).unwrap();
    assert_eq!(&back, b"a message in one record");
    tls.borrow().shutdown().unwrap();
    server.get().unwrap().unwrap();
}

#[test]
fn a_timeout_during_a_shared_read_loses_no_partial_record() {
    let pki = Pki::new();
    let (l, addr) = listen();
    let server = echo_server(l, TlsAcceptor::new(pki.server_config()), 1);
    let chop = Rc::new(Cell::new(false));
    let relay = chopping_relay(addr, chop.clone());
    let tls = connect(pki.client_config(), relay);
    chop.set(true);
    (&tls).write_all(b"another message").unwrap();
    let t = gevent_timeout::Timeout::new(Duration::from_millis(30));
    let r = t.run(|| (&tls).read(&mut [0u8; 64]));
    assert_eq!(r.unwrap_err(), t);
    let mut back = [0u8; 15];
    (&tls).read_exact(&mut back).unwrap();
    assert_eq!(&back, b"another message");
    tls.shutdown().unwrap();
    server.get().unwrap().unwrap();
}

#[test]
fn a_reader_and_a_writer_greenlet_share_one_stream() {
    let pki = Pki::new();
    let (l, addr) = listen();
    let server = echo_server(l, TlsAcceptor::new(pki.server_config()), 1);
    let tls = Rc::new(connect(pki.client_config(), addr));
    // The reader waits first (holding nothing); the writer's messages come back to it.
    let reader = {
        let tls = tls.clone();
        gevent_hub::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 256];
            while got.len() < 100 * 8 {
                let n = (&*tls).read(&mut buf).unwrap();
                assert!(n > 0);
                got.extend_from_slice(&buf[..n]);
            }
            got
        })
    };
    gevent_hub::sleep(Duration::from_millis(5));
    let mut expected = Vec::new();
    for i in 0..100u64 {
        let msg = format!("msg{i:05}");
        (&*tls).write_all(msg.as_bytes()).unwrap();
        expected.extend_from_slice(msg.as_bytes());
        if i % 10 == 0 {
            gevent_hub::sleep(Duration::ZERO);
        }
    }
    assert_eq!(reader.get().unwrap(), expected);
    // A second reader while one waits: the socket's one-reader rule, as an error.
    let waiting = {
        let tls = tls.clone();
        gevent_hub::spawn(move || (&*tls).read(&mut [0u8; 1]).map_err(|e| e.to_string()))
    };
    gevent_hub::sleep(Duration::from_millis(5));
    let e = (&*tls).read(&mut [0u8; 1]).unwrap_err();
    assert!(
        e.get_ref()
            .and_then(|i| i.downcast_ref::<gevent_hub::reactor::ConcurrentUse>())
            .is_some(),
        "{e}"
    );
    tls.shutdown().unwrap();
    assert_eq!(waiting.get().unwrap(), Ok(0));
    server.get().unwrap().unwrap();
}
