//! Shared by the integration tests: certificates made at test time (`rcgen`), configurations,
//! and small servers on a plain accept loop.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gevent_net::{TcpListener, TcpStream};
use gevent_ssl::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use gevent_ssl::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use gevent_ssl::{TlsAcceptor, TlsStream};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

/// A test CA and a server certificate it signed for `localhost` and `127.0.0.1`.
pub struct Pki {
    /// The CA's certificate (the client's trust anchor).
    pub ca: CertificateDer<'static>,
    /// The CA's certificate as rcgen keeps it (to sign more).
    ca_cert: rcgen::Certificate,
    /// The CA's key.
    ca_key: KeyPair,
    /// The server's chain: its certificate, then the CA's.
    pub chain: Vec<CertificateDer<'static>>,
    /// The server's key (PKCS#8).
    pub key: Vec<u8>,
}

impl Pki {
    /// A fresh CA ("gevent test CA N", a name of its own: a CA of the same name would be taken
    /// for the issuer and fail with `BadSignature` instead of `UnknownIssuer`) and a server
    /// certificate.
    pub fn new() -> Pki {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("gevent test CA {n}"));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = params.self_signed(&ca_key).unwrap();
        let ca = ca_cert.der().clone();
        let mut pki = Pki {
            ca,
            ca_cert,
            ca_key,
            chain: Vec::new(),
            key: Vec::new(),
        };
        let (chain, key) = pki.issue(&["localhost", "127.0.0.1"]);
        pki.chain = chain;
        pki.key = key;
        pki
    }

    /// A certificate signed by this CA for `names` (DNS names or IP addresses): the chain
    /// (leaf, CA) and the PKCS#8 key.
    pub fn issue(&self, names: &[&str]) -> (Vec<CertificateDer<'static>>, Vec<u8>) {
        let params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca_cert, &self.ca_key).unwrap();
        (
            vec![cert.der().clone(), self.ca.clone()],
            key.serialize_der(),
        )
    }

    /// The server's key as rustls takes it.
    pub fn server_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()))
    }

    /// A server configuration with this server certificate, offering `alpn`.
    pub fn server_config_alpn(&self, alpn: &[&str]) -> Arc<ServerConfig> {
        let mut c = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.server_key())
            .unwrap();
        c.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        Arc::new(c)
    }

    /// A server configuration with this server certificate.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.server_config_alpn(&[])
    }

    /// The CA as a root store.
    pub fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.clone()).unwrap();
        roots
    }

    /// A client configuration trusting this CA, offering `alpn`.
    pub fn client_config_alpn(&self, alpn: &[&str]) -> Arc<ClientConfig> {
        let mut c = ClientConfig::builder()
            .with_root_certificates(self.roots())
            .with_no_client_auth();
        c.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        Arc::new(c)
    }

    /// A client configuration trusting this CA.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        self.client_config_alpn(&[])
    }
}

/// Listens on a loopback port: the listener and its address.
pub fn listen() -> (TcpListener, std::net::SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

/// An echo server on a plain accept loop: accepts `conns` connections, each handled by its own
/// greenlet (TLS handshake with `acceptor`, then echo until the peer's end, then `shutdown`).
/// The returned greenlet ends when every connection is done; its value counts the bytes
/// echoed, or the first error.
pub fn echo_server(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    conns: usize,
) -> gevent_hub::Greenlet<Result<u64, String>> {
    gevent_hub::spawn(move || {
        let mut handlers = Vec::new();
        for _ in 0..conns {
            let (tcp, _) = listener.accept().map_err(|e| e.to_string())?;
            let acceptor = acceptor.clone();
            handlers.push(gevent_hub::spawn(move || -> Result<u64, String> {
                let mut tls = acceptor.accept(tcp).map_err(|e| e.to_string())?;
                let n = echo(&mut tls).map_err(|e| e.to_string())?;
                tls.shutdown().map_err(|e| e.to_string())?;
                Ok(n)
            }));
        }
        gevent_hub::joinall(&handlers);
        handlers
            .iter()
            .map(|h| h.get().map_err(|e| e.to_string())?)
            .sum()
    })
}

/// Echoes everything read until a clean end; the byte count.
pub fn echo(tls: &mut TlsStream<TcpStream>) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0;
    loop {
        let n = tls.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        tls.write_all(&buf[..n])?;
        total += n as u64;
    }
}

/// A client connection to `addr`.
pub fn connect(config: Arc<ClientConfig>, addr: std::net::SocketAddr) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).unwrap();
    TlsStream::connect(config, "localhost", tcp).unwrap()
}

/// A connected (client, server) pair over loopback, with `pki`'s configurations.
pub fn pair(pki: &Pki) -> (TlsStream<TcpStream>, TlsStream<TcpStream>) {
    let (l, addr) = listen();
    let config = pki.server_config();
    let slot = std::rc::Rc::new(std::cell::Cell::new(None));
    let s = {
        let slot = slot.clone();
        gevent_hub::spawn(move || {
            let (tcp, _) = l.accept().unwrap();
            slot.set(Some(TlsStream::accept(config, tcp).unwrap()));
        })
    };
    let c = connect(pki.client_config(), addr);
    s.join();
    (c, slot.take().expect("the server handshake failed"))
}

/// A deterministic byte pattern of `len` bytes (varies with `seed`).
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Runs `f` and asserts it took less than `max` (a generous upper bound for noisy machines).
pub fn within<T>(max: Duration, f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let v = f();
    let took = t.elapsed();
    assert!(took < max, "took {took:?}, expected under {max:?}");
    (v, took)
}

/// The `rustls::Error` inside an `io::Error`, if that is what it wraps.
pub fn rustls_error(e: &std::io::Error) -> Option<&rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>()
}
