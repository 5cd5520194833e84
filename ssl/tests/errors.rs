//! Handshakes that fail: untrusted or misnamed certificates, peers that do not speak TLS,
//! peers that stall or leave, and time limits; each a clear error, none a hang.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use gevent_net::TcpStream;
use gevent_ssl::rustls::{self, CertificateError};
use gevent_ssl::{TlsAcceptor, TlsConnector, TlsStream};
use support::{listen, rustls_error, within, Pki};

/// How a server handshake ended: the error's kind and text if it failed.
type Outcome = gevent_hub::Greenlet<Result<(), (ErrorKind, String)>>;

/// Accepts one connection and runs a server handshake on it.
fn accept_one(
    pki_config: std::sync::Arc<rustls::ServerConfig>,
    timeout: Option<Duration>,
) -> (std::net::SocketAddr, Outcome) {
    let (l, addr) = listen();
    let g = gevent_hub::spawn(move || {
        let (tcp, _) = l.accept().unwrap();
        TlsAcceptor::new(pki_config)
            .handshake_timeout(timeout)
            .accept(tcp)
            .map(drop)
            .map_err(|e| (e.kind(), e.to_string()))
    });
    (addr, g)
}

#[test]
fn an_untrusted_certificate_is_a_clear_error_on_both_sides() {
    let server_pki = Pki::new();
    let other_ca = Pki::new();
    let (addr, server) = accept_one(server_pki.server_config(), None);
    let tcp = TcpStream::connect(addr).unwrap();
    let e = TlsStream::connect(other_ca.client_config(), "localhost", tcp).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    let text = e.to_string();
    assert!(text.contains("invalid peer certificate"), "{text}");
    assert!(text.contains("UnknownIssuer"), "{text}");
    assert!(
        matches!(
            rustls_error(&e),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
        ),
        "{e:?}"
    );
    // The client told the server why (the alert went out before the error came back).
    let (kind, text) = server.get().unwrap().unwrap_err();
    assert_eq!(kind, ErrorKind::InvalidData);
    assert!(
        text.contains("received fatal alert") && text.contains("UnknownCA"),
        "{text}"
    );
}

#[test]
fn a_certificate_for_another_name_is_a_clear_error() {
    let pki = Pki::new();
    let (addr, server) = accept_one(pki.server_config(), None);
    let tcp = TcpStream::connect(addr).unwrap();
    let e = TlsStream::connect(pki.client_config(), "example.org", tcp).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(
        e.to_string().contains("not valid for name \"example.org\""),
        "{e}"
    );
    assert!(matches!(
        rustls_error(&e),
        Some(rustls::Error::InvalidCertificate(_))
    ));
    assert!(server.get().unwrap().is_err());
}

#[test]
fn an_invalid_server_name_is_invalid_input() {
    let pki = Pki::new();
    let (l, addr) = listen();
    let tcp = TcpStream::connect(addr).unwrap();
    let e = TlsStream::connect(pki.client_config(), "not a host name!", tcp).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("invalid TLS server name"), "{e}");
    drop(l);
}

#[test]
fn plaintext_to_a_tls_acceptor_is_a_quick_clean_error() {
    let pki = Pki::new();
    let (addr, server) = accept_one(pki.server_config(), Some(Duration::from_secs(30)));
    let mut tcp = TcpStream::connect(addr).unwrap();
    let (r, _) = within(Duration::from_secs(10), || {
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        server.get().unwrap()
    });
    let (kind, text) = r.unwrap_err();
    assert_eq!(kind, ErrorKind::InvalidData);
    assert!(
        text.contains("corrupt message") || text.contains("invalid"),
        "{text}"
    );
    // The plaintext client gets the server's alert (a TLS record, 0x15), then the end.
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    let _ = tcp.read_to_end(&mut got);
    assert_eq!(got.first(), Some(&0x15), "{got:?}");
}

#[test]
fn garbage_to_a_tls_acceptor_is_a_clean_error() {
    let pki = Pki::new();
    for garbage in [
        &[0xffu8; 64][..],
        // A handshake record header announcing an oversized record.
        &[0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x02][..],
        // A record of the right type whose handshake message is nonsense.
        &[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00][..],
    ] {
        let (addr, server) = accept_one(pki.server_config(), Some(Duration::from_secs(30)));
        let mut tcp = TcpStream::connect(addr).unwrap();
        tcp.write_all(garbage).unwrap();
        let (r, _) = within(Duration::from_secs(10), || server.get().unwrap());
        let (kind, text) = r.unwrap_err();
        assert_eq!(kind, ErrorKind::InvalidData, "{garbage:?}: {text}");
    }
}

#[test]
fn a_client_that_stalls_is_cut_off_at_the_handshake_deadline() {
    let pki = Pki::new();
    let acceptor =
        TlsAcceptor::new(pki.server_config()).handshake_timeout(Some(Duration::from_millis(100)));
    for partial in [&b""[..], &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01][..]] {
        let (l, addr) = listen();
        let acceptor = acceptor.clone();
        let server = gevent_hub::spawn(move || {
            let (tcp, _) = l.accept().unwrap();
            acceptor
                .accept(tcp)
                .map(drop)
                .map_err(|e| (e.kind(), e.to_string()))
        });
        // Timed from before the connection: the server's handshake (and its deadline) may
        // start while this greenlet waits in `connect`, before `within` starts its clock.
        let t0 = Instant::now();
        let mut tcp = TcpStream::connect(addr).unwrap();
        tcp.write_all(partial).unwrap();
        let (r, _) = within(Duration::from_secs(5), || server.get().unwrap());
        let took = t0.elapsed();
        let (kind, text) = r.unwrap_err();
        assert_eq!(kind, ErrorKind::TimedOut);
        assert_eq!(text, "TLS handshake timed out after 100ms");
        assert!(took >= Duration::from_millis(90), "{took:?}");
        // The server dropped the connection: the client reads its end.
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(tcp.read(&mut [0u8; 8]).unwrap(), 0);
    }
}

#[test]
fn a_stalled_client_does_not_disturb_other_connections() {
    let pki = Pki::new();
    let acceptor =
        TlsAcceptor::new(pki.server_config()).handshake_timeout(Some(Duration::from_secs(2)));
    let (l, addr) = listen();
    let server = support::echo_server(l, acceptor, 11);
    let _stalled = TcpStream::connect(addr).unwrap();
    gevent_hub::sleep(Duration::from_millis(10));
    let config = pki.client_config();
    let (_, took) = within(Duration::from_secs(10), || {
        let clients: Vec<_> = (0..10)
            .map(|_| {
                let config = config.clone();
                gevent_hub::spawn(move || {
                    let mut tls = support::connect(config, addr);
                    tls.write_all(b"ping").unwrap();
                    let mut b = [0u8; 4];
                    tls.read_exact(&mut b).unwrap();
                    tls.shutdown().unwrap();
                    b
                })
            })
            .collect();
        gevent_hub::joinall(&clients);
        for c in &clients {
            assert_eq!(&c.get().unwrap(), b"ping");
        }
    });
    // The others finished while the stalled handshake was still waiting for its deadline.
    assert!(!server.ready(), "{took:?}");
    let e = server.get().unwrap().unwrap_err();
    assert_eq!(e, "TLS handshake timed out after 2s");
}

#[test]
fn a_server_that_never_answers_times_the_client_out() {
    let pki = Pki::new();
    let (l, addr) = listen();
    let tcp = TcpStream::connect(addr).unwrap();
    let connector =
        TlsConnector::new(pki.client_config()).handshake_timeout(Some(Duration::from_millis(50)));
    let (r, _) = within(Duration::from_secs(5), || {
        connector.connect("localhost", tcp)
    });
    let e = r.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert_eq!(e.to_string(), "TLS handshake timed out after 50ms");
    drop(l);
}

#[test]
fn the_streams_read_timeout_also_bounds_the_handshake() {
    let pki = Pki::new();
    let (l, addr) = listen();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_millis(30)))
        .unwrap();
    let (r, _) = within(Duration::from_secs(5), || {
        TlsStream::connect(pki.client_config(), "localhost", tcp)
    });
    let e = r.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert!(e.to_string().contains("read timeout"), "{e}");
    drop(l);
}

#[test]
fn a_peer_that_leaves_during_the_handshake_is_unexpected_eof() {
    let pki = Pki::new();
    let (l, addr) = listen();
    let leaver = gevent_hub::spawn(move || {
        let (mut tcp, _) = l.accept().unwrap();
        // Read the client's hello, then hang up without a word.
        let _ = tcp.read(&mut [0u8; 4096]);
    });
    let tcp = TcpStream::connect(addr).unwrap();
    let e = TlsStream::connect(pki.client_config(), "localhost", tcp).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnexpectedEof, "{e}");
    assert!(e.to_string().contains("during the TLS handshake"), "{e}");
    leaver.join();
}

#[test]
fn a_zero_handshake_timeout_is_invalid_input() {
    let pki = Pki::new();
    let (l, addr) = listen();
    let tcp = TcpStream::connect(addr).unwrap();
    let e = TlsStream::connect_timeout(pki.client_config(), "localhost", tcp, Duration::ZERO)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    drop(l);
}

#[test]
fn a_kill_during_the_handshake_closes_the_connection() {
    let pki = Pki::new();
    let (l, addr) = listen();
    let config = pki.server_config();
    let server = gevent_hub::spawn(move || {
        let (tcp, _) = l.accept().unwrap();
        let _ = TlsStream::accept(config, tcp);
        unreachable!("killed while waiting for the client");
    });
    let mut tcp = TcpStream::connect(addr).unwrap();
    gevent_hub::sleep(Duration::from_millis(20));
    server.kill();
    assert!(server.dead());
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(tcp.read(&mut [0u8; 8]).unwrap(), 0, "the socket was closed");
}
