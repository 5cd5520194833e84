//! What the handshake settles and `TlsStream` reports: ALPN, SNI, certificates (client
//! authentication included), protocol versions.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;

use gevent_net::TcpStream;
use gevent_ssl::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use gevent_ssl::rustls::server::WebPkiClientVerifier;
use gevent_ssl::rustls::{self, ProtocolVersion};
use gevent_ssl::TlsStream;
use support::{listen, Pki};

/// Runs a handshake between `server` and `client` configs (client asking for `name`); both
/// results, as the server greenlet and the client call saw them.
fn handshake(
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
    name: &str,
) -> (
    std::io::Result<TlsStream<TcpStream>>,
    std::io::Result<TlsStream<TcpStream>>,
) {
    let (l, addr) = listen();
    let slot = std::rc::Rc::new(std::cell::Cell::new(None));
    let g = {
        let slot = slot.clone();
        gevent_hub::spawn(move || {
            let (tcp, _) = l.accept().unwrap();
            slot.set(Some(TlsStream::accept(server, tcp)));
        })
    };
    let c = TlsStream::connect(client, name, TcpStream::connect(addr).unwrap());
    g.join();
    (slot.take().unwrap(), c)
}

#[test]
fn alpn_is_negotiated_and_reported_on_both_sides() {
    let pki = Pki::new();
    let (s, c) = handshake(
        pki.server_config_alpn(&["h2", "http/1.1"]),
        pki.client_config_alpn(&["http/1.1"]),
        "localhost",
    );
    let (s, c) = (s.unwrap(), c.unwrap());
    assert_eq!(s.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(c.alpn_protocol(), Some(&b"http/1.1"[..]));
}

#[test]
fn no_common_alpn_protocol_fails_the_handshake() {
    let pki = Pki::new();
    let (s, c) = handshake(
        pki.server_config_alpn(&["h2"]),
        pki.client_config_alpn(&["http/1.1"]),
        "localhost",
    );
    let e = s.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(
        matches!(
            support::rustls_error(&e),
            Some(rustls::Error::NoApplicationProtocol)
        ),
        "{e}"
    );
    let e = c.unwrap_err();
    assert!(e.to_string().contains("NoApplicationProtocol"), "{e}");
}

#[test]
fn the_server_sees_the_clients_sni_and_the_client_the_servers_chain() {
    let pki = Pki::new();
    let (s, c) = handshake(pki.server_config(), pki.client_config(), "localhost");
    let (s, c) = (s.unwrap(), c.unwrap());
    assert_eq!(s.server_name(), Some("localhost"));
    assert_eq!(c.server_name(), Some("localhost"));
    assert!(s.is_server() && !c.is_server());
    assert_eq!(c.peer_certificates().unwrap(), &pki.chain[..]);
    assert!(s.peer_certificates().is_none());
    assert_eq!(c.protocol_version(), Some(ProtocolVersion::TLSv1_3));
    assert_eq!(
        s.cipher_suite().unwrap().suite(),
        c.cipher_suite().unwrap().suite()
    );
    let dbg = format!("{c:?}");
    assert!(
        dbg.contains("TLSv1_3") && dbg.contains("localhost"),
        "{dbg}"
    );
}

#[test]
fn an_ip_address_is_checked_against_the_certificate_and_sends_no_sni() {
    let pki = Pki::new();
    let (s, c) = handshake(pki.server_config(), pki.client_config(), "127.0.0.1");
    let (s, c) = (s.unwrap(), c.unwrap());
    assert_eq!(s.server_name(), None);
    assert_eq!(c.server_name(), Some("127.0.0.1"));
}

#[test]
fn client_certificates_are_verified_and_reported() {
    let pki = Pki::new();
    let verifier = WebPkiClientVerifier::builder(Arc::new(pki.roots()))
        .build()
        .unwrap();
    let server = Arc::new(
        rustls::ServerConfig::builder()
            .with_client_cert_verifier(verifier)
            .with_single_cert(pki.chain.clone(), pki.server_key())
            .unwrap(),
    );
    let (chain, key) = pki.issue(&["client.example"]);
    let client = Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(pki.roots())
            .with_client_auth_cert(
                chain.clone(),
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
            )
            .unwrap(),
    );
    let (s, c) = handshake(server.clone(), client, "localhost");
    let (mut s, mut c) = (s.unwrap(), c.unwrap());
    assert_eq!(s.peer_certificates().unwrap(), &chain[..]);
    // And data flows (TLS 1.3 client authentication finishes with the first records).
    c.write_all(b"authenticated").unwrap();
    let mut b = [0u8; 13];
    s.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"authenticated");

    // Without a certificate the server refuses.
    let (s, _c) = handshake(server, pki.client_config(), "localhost");
    let e = s.unwrap_err();
    assert!(
        matches!(
            support::rustls_error(&e),
            Some(rustls::Error::NoCertificatesPresented)
        ),
        "{e}"
    );
}

#[test]
fn tls12_works_when_the_client_asks_for_it() {
    let pki = Pki::new();
    let client = Arc::new(
        rustls::ClientConfig::builder_with_protocol_versions(&[&rustls::version::TLS12])
            .with_root_certificates(pki.roots())
            .with_no_client_auth(),
    );
    let (s, c) = handshake(pki.server_config(), client, "localhost");
    let (mut s, mut c) = (s.unwrap(), c.unwrap());
    assert_eq!(c.protocol_version(), Some(ProtocolVersion::TLSv1_2));
    assert_eq!(s.protocol_version(), Some(ProtocolVersion::TLSv1_2));
    c.write_all(b"twelve").unwrap();
    let mut b = [0u8; 6];
    s.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"twelve");
}
