//! A TLS echo client: sends each line given on the command line over TLS and prints what comes
//! back, then ends the stream with `close_notify`.
//!
//! With no server, it starts a TLS echo server of its own in a greenlet first (a self-signed
//! certificate made at start), so it runs alone. Against `tls_echo_server`, give the server's
//! address and the certificate file it wrote: the client trusts exactly that certificate and
//! checks it is valid for `localhost`.
//!
//! Run it with `cargo run --features tls --example tls_echo_client` (its own server), or
//! `cargo run --features tls --example tls_echo_client -- 127.0.0.1:7443 /tmp/echo-cert.pem
//! hello world`.

use std::io::{BufRead, Write};
use std::sync::Arc;

use gevent::net::{TcpListener, TcpStream};
use gevent::ssl::rustls::{self, pki_types::pem::PemObject, pki_types::CertificateDer};
use gevent::ssl::TlsStream;

/// A TLS echo server on a free loopback port, in a greenlet: its address and certificate.
fn own_server() -> Result<(String, CertificateDer<'static>), Box<dyn std::error::Error>> {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
    let cert = ck.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into());
    let config = Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)?,
    );
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    gevent::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let config = config.clone();
            gevent::spawn(move || {
                if let Ok(mut tls) = TlsStream::accept(config, tcp) {
                    let mut line = String::new();
                    while matches!(tls.read_line(&mut line), Ok(1..)) {
                        if tls.write_all(line.as_bytes()).is_err() {
                            return;
                        }
                        line.clear();
                    }
                    let _ = tls.shutdown();
                }
            });
        }
    });
    Ok((addr, cert))
}

/// Runs the example.
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (addr, cert) = match args.next() {
        Some(addr) => {
            let path = args
                .next()
                .ok_or("usage: tls_echo_client [ADDR CERT.pem [LINE...]]")?;
            (addr, CertificateDer::from_pem_file(&path)?)
        }
        None => own_server()?,
    };
    let mut lines: Vec<String> = args.collect();
    if lines.is_empty() {
        lines = vec!["hello".into(), "from".into(), "a greenlet".into()];
    }

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert)?;
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr.as_str())?;
    let mut tls = TlsStream::connect(Arc::new(config), "localhost", tcp)?;
    for line in &lines {
        tls.write_all(format!("{line}\n").as_bytes())?;
        let mut back = String::new();
        tls.read_line(&mut back)?;
        print!("echo: {back}");
    }
    tls.shutdown()?;
    Ok(())
}
