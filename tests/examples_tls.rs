//! Runs the TLS examples (feature `tls`): `tls_echo_client` alone (its own server), and
//! `tls_echo_server` driven by `tls_echo_client` and by a std-thread rustls client that trusts
//! the certificate file the server wrote; `https_hello` driven by `curl --cacert` (curl must be
//! installed: the test fails without it, and `.ci/run` installs it).

#![cfg(feature = "tls")]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use gevent::ssl::rustls::{self, pki_types::pem::PemObject, pki_types::CertificateDer};
use support::{examples_dir, run};

/// `tls_echo_server` on a free port, killed when dropped.
struct Server {
    /// The process.
    child: Child,
    /// The address it listens on.
    addr: String,
    /// The certificate file it wrote.
    cert: std::path::PathBuf,
}

impl Server {
    fn start() -> Server {
        let cert = std::env::temp_dir().join(format!("gevent-tls-test-{}.pem", std::process::id()));
        let mut child = Command::new(examples_dir().join("tls_echo_server"))
            .args(["127.0.0.1:0", cert.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        assert!(
            first_line.starts_with("listening on 127.0.0.1:"),
            "{first_line:?}"
        );
        let addr = first_line.split_whitespace().last().unwrap().to_string();
        Server { child, addr, cert }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.cert);
    }
}

#[test]
fn tls_echo_client_alone() {
    assert_eq!(
        run("tls_echo_client", &[]),
        "echo: hello\necho: from\necho: a greenlet\n"
    );
}

#[test]
fn tls_echo_server_with_the_example_client_and_std_rustls_clients() {
    let server = Server::start();
    let cert = server.cert.to_str().unwrap();
    assert_eq!(
        run("tls_echo_client", &[&server.addr, cert, "one", "two"]),
        "echo: one\necho: two\n"
    );

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(cert).unwrap())
        .unwrap();
    let config = Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let (config, addr) = (config.clone(), server.addr.clone());
            std::thread::spawn(move || {
                let conn =
                    rustls::ClientConnection::new(config, "localhost".try_into().unwrap()).unwrap();
                let tcp = std::net::TcpStream::connect(&addr).unwrap();
                tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                for i in 0..20u8 {
                    let msg = [t, i, 0xAB].repeat(500);
                    tls.write_all(&msg).unwrap();
                    let mut back = vec![0u8; msg.len()];
                    tls.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg);
                }
                tls.conn.send_close_notify();
                tls.flush().unwrap();
                let mut rest = Vec::new();
                tls.read_to_end(&mut rest).unwrap(); // the server's close_notify: a clean end
                assert!(rest.is_empty());
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// `https_hello` on a free port (its certificate in a fresh file), killed when dropped.
struct HttpsHello {
    /// The process.
    child: Child,
    /// The port it listens on.
    port: u16,
    /// The certificate file it wrote.
    cert: std::path::PathBuf,
}

impl HttpsHello {
    fn start() -> HttpsHello {
        let cert =
            std::env::temp_dir().join(format!("gevent-https-test-{}.pem", std::process::id()));
        let mut child = Command::new(examples_dir().join("https_hello"))
            .args(["127.0.0.1:0", cert.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        assert!(
            first_line.starts_with("serving HTTPS on 127.0.0.1:"),
            "{first_line:?}"
        );
        let port = first_line
            .trim()
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        // The certificate is written before the server starts, and the hint names it.
        let mut hint = String::new();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        while !hint.contains("curl --cacert") {
            hint.clear();
            assert_ne!(err.read_line(&mut hint).unwrap(), 0, "no curl hint");
        }
        assert!(hint.contains(cert.to_str().unwrap()), "{hint}");
        assert!(
            hint.contains(&format!("https://localhost:{port}/")),
            "{hint}"
        );
        HttpsHello { child, port, cert }
    }
}

impl Drop for HttpsHello {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.cert);
    }
}

/// Runs curl with `args`; its stdout, stderr and whether it succeeded. Fails (never skips)
/// when curl is missing: CI installs it.
fn curl(args: &[&str]) -> (String, String, bool) {
    let out = Command::new("curl")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run curl ({e}): install it (apt-get install -y curl)"));
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

#[test]
fn https_hello_with_curl_cacert() {
    let server = HttpsHello::start();
    let cert = server.cert.to_str().unwrap();
    let url = format!("https://localhost:{}/", server.port);
    // Two requests on one connection (keep-alive), verified against the written certificate.
    let (out, err, ok) = curl(&[
        "--silent",
        "--show-error",
        "--verbose",
        "--max-time",
        "20",
        "--cacert",
        cert,
        &url,
        &format!("{url}again"),
    ]);
    assert!(ok, "curl failed: {err}");
    assert_eq!(out, "Hello, World!Hello, World!");
    assert!(err.contains("ALPN: server accepted http/1.1"), "{err}");
    assert!(err.contains("< HTTP/1.1 200 OK"), "{err}");
    assert!(err.contains("content-type: text/plain"), "{err}");
    assert!(
        err.contains("Re-using existing connection") || err.contains("Reusing existing connection"),
        "{err}"
    );
    // Without the certificate, curl refuses the server (self-signed): a clear failure.
    let (_, err, ok) = curl(&["--silent", "--show-error", "--max-time", "20", &url]);
    assert!(!ok);
    assert!(err.contains("certificate"), "{err}");
    // Plain HTTP to the HTTPS port gets no HTTP answer.
    let plain = format!("http://127.0.0.1:{}/", server.port);
    let (out, _, ok) = curl(&["--silent", "--max-time", "20", &plain]);
    assert!(!ok && !out.contains("Hello"));
}
