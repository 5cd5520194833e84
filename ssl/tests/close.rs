//! Ending a TLS stream: `shutdown` sends `close_notify` (the peer reads a clean end), dropping
//! without it does not (the peer reads `UnexpectedEof`), half-closed streams keep reading.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use gevent_ssl::{rustls, TlsStream};
use support::{listen, pair, Pki};

#[test]
fn shutdown_sends_close_notify_and_the_peer_reads_a_clean_end() {
    let pki = Pki::new();
    let (mut c, mut s) = pair(&pki);
    c.write_all(b"last words").unwrap();
    c.shutdown().unwrap();
    let mut got = String::new();
    s.read_to_string(&mut got).unwrap(); // Ok: ended by close_notify
    assert_eq!(got, "last words");
    assert_eq!(s.read(&mut [0u8; 4]).unwrap(), 0, "and stays ended");
}

#[test]
fn a_half_closed_stream_still_reads_until_the_peers_close_notify() {
    let pki = Pki::new();
    let (mut c, mut s) = pair(&pki);
    c.shutdown().unwrap();
    assert_eq!(s.read(&mut [0u8; 4]).unwrap(), 0);
    // The server answers after the client's close_notify, then ends too.
    s.write_all(b"reply").unwrap();
    s.shutdown().unwrap();
    let mut got = String::new();
    c.read_to_string(&mut got).unwrap();
    assert_eq!(got, "reply");
    // Writing after shutdown is an error, not silence.
    assert_eq!(
        c.write_all(b"more").unwrap_err().kind(),
        ErrorKind::BrokenPipe
    );
}

#[test]
fn dropping_without_shutdown_is_an_unexpected_eof_for_the_peer() {
    let pki = Pki::new();
    let (mut c, s) = pair(&pki);
    drop(s);
    let e = c.read(&mut [0u8; 4]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnexpectedEof);
    assert!(e.to_string().contains("close_notify"), "{e}");
}

#[test]
fn shutdown_twice_sends_one_close_notify() {
    let pki = Pki::new();
    let (c, mut s) = pair(&pki);
    c.shutdown().unwrap();
    let _ = c.shutdown();
    assert_eq!(s.read(&mut [0u8; 4]).unwrap(), 0);
}

#[test]
fn a_std_rustls_client_sees_the_greenlet_servers_close_notify() {
    let pki = Pki::new();
    let (l, addr) = listen();
    let config = pki.server_config();
    let server = gevent_hub::spawn(move || {
        let (tcp, _) = l.accept().unwrap();
        let mut tls = TlsStream::accept(config, tcp).unwrap();
        tls.write_all(b"bye").unwrap();
        tls.shutdown().unwrap();
        // Keep the socket open a while: the client's end comes from close_notify, not TCP.
        let mut rest = Vec::new();
        tls.read_to_end(&mut rest)
            .map(|_| rest.len())
            .map_err(|e| e.kind())
    });
    let client_config = pki.client_config();
    let t = std::thread::spawn(move || {
        let conn =
            rustls::ClientConnection::new(client_config, "localhost".try_into().unwrap()).unwrap();
        let tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut got = Vec::new();
        tls.read_to_end(&mut got).unwrap(); // an UnexpectedEof error without close_notify
        tls.conn.send_close_notify();
        tls.flush().unwrap();
        got
    });
    assert!(server.join_timeout(Duration::from_secs(30)));
    assert_eq!(server.get().unwrap(), Ok(0));
    assert_eq!(t.join().unwrap(), b"bye");
}
