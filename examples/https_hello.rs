//! "Hello, World!" over HTTPS: the HTTP/1.1 server with TLS (feature `tls`).
//!
//! It makes a self-signed certificate for `localhost` and `127.0.0.1` when it starts (with
//! `rcgen`), writes it in PEM where you say, and serves `Hello, World!` (`text/plain`) to
//! every request over TLS (ALPN `http/1.1`, keep-alive, a 10-second handshake deadline).
//! Handshake failures are logged through `tracing` (no subscriber here, so they are silent).
//!
//! Run it with `cargo run --features tls --example https_hello -- 127.0.0.1:8443
//! /tmp/hello-cert.pem` (port 0 picks a free port; the first line printed is the address),
//! then `curl --cacert /tmp/hello-cert.pem https://localhost:8443/` (it prints that command).

use std::sync::Arc;

use gevent::server::http::{AccessLog, Body, HttpServer};
use gevent::ssl::rustls::{self, pki_types::PrivateKeyDer};
use http::header::{HeaderValue, CONTENT_TYPE};

/// The handler: the same response to every request.
fn hello(_req: http::Request<Body>) -> http::Response<Body> {
    let mut r = http::Response::new(Body::from("Hello, World!"));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

/// Runs the example.
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8443".into());
    let cert_path = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("gevent-https-hello-cert.pem"));

    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])?;
    std::fs::write(&cert_path, ck.cert.pem())?;
    let key = PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)?;

    let server = HttpServer::builder(addr.as_str())
        .tls(Arc::new(config))
        .access_log(AccessLog::Off)
        .handler(hello)
        .build()?;
    server.start()?;
    let local = server.local_addr()?;
    println!("serving HTTPS on {local}");
    eprintln!("certificate in {}", cert_path.display());
    eprintln!(
        "try: curl --cacert {} https://localhost:{}/",
        cert_path.display(),
        local.port()
    );
    server.serve_forever()?;
    Ok(())
}
