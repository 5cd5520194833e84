//! A TLS echo server: one greenlet per connection on a plain accept loop, rustls underneath.
//!
//! It makes a self-signed certificate for `localhost` and `127.0.0.1` when it starts (with
//! `rcgen`), writes it in PEM to a file for the clients to trust, then echoes what each client
//! sends until the client ends its TLS stream. Each handshake has 10 seconds: a client that
//! connects and says nothing is dropped then, without holding up the others.
//!
//! Run it with `cargo run --features tls --example tls_echo_server -- 127.0.0.1:7443
//! /tmp/echo-cert.pem` (port 0 picks a free port; the first line printed is the address), then
//! connect with `cargo run --features tls --example tls_echo_client -- 127.0.0.1:7443
//! /tmp/echo-cert.pem hello`, or `openssl s_client -connect 127.0.0.1:7443 -CAfile
//! /tmp/echo-cert.pem`.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use gevent::net::{TcpListener, TcpStream};
use gevent::ssl::rustls::{self, pki_types::PrivateKeyDer};
use gevent::ssl::TlsAcceptor;

/// Echoes what the client sends until it ends the stream, then ends ours.
fn handle(acceptor: &TlsAcceptor, tcp: TcpStream, peer: SocketAddr) {
    let _ = tcp.set_nodelay(true);
    let mut tls = match acceptor.accept(tcp) {
        Ok(tls) => tls,
        Err(e) => return eprintln!("{peer}: handshake failed: {e}"),
    };
    let mut buf = [0u8; 16 * 1024];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if let Err(e) = tls.write_all(&buf[..n]) {
                    return eprintln!("{peer}: {e}");
                }
            }
            Err(e) => return eprintln!("{peer}: {e}"),
        }
    }
    let _ = tls.shutdown();
}

/// Runs the example.
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7443".into());
    let cert_path = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("gevent-tls-echo-cert.pem"));

    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])?;
    std::fs::write(&cert_path, ck.cert.pem())?;
    let key = PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)?;
    let acceptor =
        TlsAcceptor::new(Arc::new(config)).handshake_timeout(Some(Duration::from_secs(10)));

    let listener = TcpListener::bind(addr.as_str())?;
    println!("listening on {}", listener.local_addr()?);
    eprintln!("certificate in {}", cert_path.display());
    loop {
        match listener.accept() {
            Ok((tcp, peer)) => {
                let acceptor = acceptor.clone();
                gevent::spawn(move || handle(&acceptor, tcp, peer));
            }
            Err(e) => {
                // Out of fds, for example: let the connections in flight finish.
                eprintln!("accept failed: {e}");
                gevent::sleep(Duration::from_millis(10));
            }
        }
    }
}
