//! DatagramServer: one greenlet per datagram, replies through the socket, no truncation of
//! large datagrams (gevent's 8,192-byte read truncates), stop. Follows gevent's
//! `src/gevent/tests/test__server.py` UDP cases.

use std::time::Duration;

use gevent_net::UdpSocket;
use gevent_server::DatagramServer;

/// A client socket with a timeout.
fn client() -> UdpSocket {
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c
}

#[test]
fn replies_through_the_socket() {
    let s = DatagramServer::new("127.0.0.1:0", |d: &[u8], peer, sock: &UdpSocket| {
        sock.send_to(&d.to_ascii_uppercase(), peer).unwrap();
    });
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    let c = client();
    for m in [&b"one"[..], b"two", b""] {
        c.send_to(m, a).unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = c.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&m.to_ascii_uppercase()[..], a));
    }
    s.stop(None);
    assert!(s.closed());
}

#[test]
fn large_datagrams_are_not_truncated() {
    let s = DatagramServer::new("127.0.0.1:0", |d: &[u8], peer, sock: &UdpSocket| {
        sock.send_to(d.len().to_string().as_bytes(), peer).unwrap();
    });
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    let c = client();
    for len in [8192usize, 8193, 60_000, 65_507] {
        c.send_to(&vec![7u8; len], a).unwrap();
        let mut buf = [0u8; 16];
        let (n, _) = c.recv_from(&mut buf).unwrap();
        assert_eq!(std::str::from_utf8(&buf[..n]).unwrap(), len.to_string());
    }
    s.stop(None);
}

#[test]
fn handlers_run_concurrently_and_stop_kills_them() {
    let s = DatagramServer::new("127.0.0.1:0", |d: &[u8], peer, sock: &UdpSocket| {
        if d == b"slow" {
            gevent_hub::sleep(Duration::from_secs(60));
        }
        sock.send_to(d, peer).unwrap();
    });
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    let c = client();
    c.send_to(b"slow", a).unwrap();
    c.send_to(b"fast", a).unwrap();
    let mut buf = [0u8; 16];
    let (n, _) = c.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"fast");
    let t = std::time::Instant::now();
    s.stop(Some(Duration::from_millis(50)));
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(s.send_to(b"x", a).is_err());
}

#[test]
fn serve_forever_until_close() {
    let s = DatagramServer::new("127.0.0.1:0", |_d: &[u8], _p, _s: &UdpSocket| {});
    let s2 = s.clone();
    gevent_hub::spawn(move || {
        gevent_hub::sleep(Duration::from_millis(20));
        s2.close();
    });
    s.serve_forever().unwrap();
    assert!(s.closed());
}
