//! TLS on the servers (feature `tls`): `StreamServer::builder(..).tls(..)` and HTTPS with
//! `HttpServer::builder(..).tls(..)`. Round trips from greenlets and from std-thread rustls
//! clients; clients that speak plaintext, send garbage or stall in the handshake are closed
//! (at the handshake deadline at the latest) without the handler running and without
//! disturbing the others; an untrusted certificate is a clear error; ALPN. Certificates are
//! made at test time with `rcgen`.

#![cfg(feature = "tls")]

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gevent_net::TcpStream;
use gevent_server::http::{AccessLog, Body, HttpServer};
use gevent_server::StreamServer;
use gevent_ssl::rustls::{self, ClientConfig, ServerConfig};
use gevent_ssl::TlsStream;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// A fresh self-signed `localhost` certificate: the server's configuration and a client
/// configuration trusting it.
fn configs() -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    include!("support/tls_configs.rs")
}

/// A client configuration that offers ALPN `protos`, trusting the server's certificate.
fn client_with_alpn(base: &ClientConfig, protos: &[&[u8]]) -> Arc<ClientConfig> {
    let mut c = base.clone();
    c.alpn_protocols = protos.iter().map(|p| p.to_vec()).collect();
    Arc::new(c)
}

/// Runs the hub until `t` finishes, then joins it.
fn join_thread<T>(t: std::thread::JoinHandle<T>) -> T {
    let start = Instant::now();
    while !t.is_finished() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the client thread hangs"
        );
        gevent_hub::sleep(Duration::from_millis(5));
    }
    t.join().unwrap()
}

/// Reads until the peer closes (or 10 s pass); what came, and whether it was a close.
fn read_until_closed(s: &mut TcpStream) -> (Vec<u8>, bool) {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return (out, false),
            Err(_) => return (out, true),
        }
    }
}

/// A minimal `tracing` subscriber keeping the INFO-and-above events as text.
struct Capture(Arc<Mutex<Vec<String>>>);

/// An event's fields as `name=value` text.
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if *event.metadata().level() <= Level::INFO {
            let mut t = Text(String::new());
            event.record(&mut t);
            self.0.lock().unwrap().push(t.0);
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// The TLS echo handler: echoes lines until the client ends, then sends `close_notify`.
fn echo(mut s: TlsStream<TcpStream>, _peer: SocketAddr) {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if s.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
    let _ = s.shutdown();
}

/// A started TLS echo server counting its handler calls.
fn echo_server(
    config: Arc<ServerConfig>,
    handshake: Duration,
) -> (StreamServer, SocketAddr, Rc<Cell<usize>>) {
    let calls = Rc::new(Cell::new(0));
    let c2 = calls.clone();
    let s = StreamServer::builder("127.0.0.1:0")
        .tls(config)
        .handshake_timeout(handshake)
        .handler(move |s, peer| {
            c2.set(c2.get() + 1);
            echo(s, peer)
        })
        .build()
        .unwrap();
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    (s, a, calls)
}

#[test]
fn stream_tls_echo_from_greenlets() {
    let (sc, cc) = configs();
    let (s, a, calls) = echo_server(sc, Duration::from_secs(10));
    let clients: Vec<_> = (0..8u8)
        .map(|i| {
            let cc = cc.clone();
            gevent_hub::spawn(move || {
                let tcp = TcpStream::connect(a).unwrap();
                let mut tls = TlsStream::connect(cc, "localhost", tcp).unwrap();
                let mut r = BufReader::new(&tls);
                let mut lines = Vec::new();
                for k in 0..5 {
                    (&tls)
                        .write_all(format!("client {i} line {k}\n").as_bytes())
                        .unwrap();
                    let mut line = String::new();
                    r.read_line(&mut line).unwrap();
                    lines.push(line);
                }
                drop(r);
                tls.shutdown().unwrap();
                let mut rest = Vec::new();
                tls.read_to_end(&mut rest).unwrap(); // the server's close_notify
                assert!(rest.is_empty());
                lines
            })
        })
        .collect();
    for (i, g) in clients.into_iter().enumerate() {
        let lines = g.get().unwrap();
        let want: Vec<String> = (0..5).map(|k| format!("client {i} line {k}\n")).collect();
        assert_eq!(lines, want);
    }
    assert_eq!(calls.get(), 8);
    s.stop(None);
}

#[test]
fn stream_tls_from_std_thread_rustls_clients() {
    let (sc, cc) = configs();
    let (s, a, calls) = echo_server(sc, Duration::from_secs(10));
    let t = std::thread::spawn(move || {
        for i in 0..4u8 {
            let conn =
                rustls::ClientConnection::new(cc.clone(), "localhost".try_into().unwrap()).unwrap();
            let tcp = std::net::TcpStream::connect(a).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let msg = [i, 0x5A].repeat(3000);
            tls.write_all(&msg).unwrap();
            let mut back = vec![0u8; msg.len()];
            tls.read_exact(&mut back).unwrap();
            assert_eq!(back, msg);
            tls.conn.send_close_notify();
            tls.flush().unwrap();
            let mut rest = Vec::new();
            tls.read_to_end(&mut rest).unwrap();
            assert!(rest.is_empty());
        }
    });
    join_thread(t);
    assert_eq!(calls.get(), 4);
    s.stop(None);
}

#[test]
fn stream_tls_bad_clients_are_closed_without_disturbing_others() {
    let (sc, cc) = configs();
    let deadline = Duration::from_millis(300);
    let (s, a, calls) = echo_server(sc, deadline);
    let logs = Arc::new(Mutex::new(Vec::new()));
    let sub = Capture(logs.clone());
    tracing::subscriber::with_default(sub, || {
        // A plaintext client, a garbage sender, a client that stalls, one that stalls in the
        // middle of a record header: all closed, none reaches the handler.
        let mut plain = TcpStream::connect(a).unwrap();
        plain.write_all(b"hello, are you there?\n").unwrap();
        let mut garbage = TcpStream::connect(a).unwrap();
        garbage
            .write_all(&[0u8, 1, 2, 3, 250, 251, 7, 7, 7])
            .unwrap();
        let mut silent = TcpStream::connect(a).unwrap();
        let mut partial = TcpStream::connect(a).unwrap();
        partial.write_all(&[0x16, 0x03, 0x01, 0x02]).unwrap();
        let t = Instant::now();
        // Meanwhile a good client is served at once.
        let good = {
            let cc = cc.clone();
            gevent_hub::spawn(move || {
                let tcp = TcpStream::connect(a).unwrap();
                let mut tls = TlsStream::connect(cc, "localhost", tcp).unwrap();
                tls.write_all(b"ping\n").unwrap();
                let mut back = [0u8; 5];
                tls.read_exact(&mut back).unwrap();
                tls.shutdown().unwrap();
                back
            })
        };
        assert_eq!(&good.get().unwrap(), b"ping\n");
        assert!(
            t.elapsed() < deadline,
            "the good client waited for the bad ones"
        );
        for (name, c) in [
            ("plaintext", &mut plain),
            ("garbage", &mut garbage),
            ("silent", &mut silent),
            ("partial record", &mut partial),
        ] {
            let (got, closed) = read_until_closed(c);
            assert!(closed, "{name}: not closed");
            // At most a TLS alert record came back, never the handler's echo.
            assert!(got.is_empty() || got[0] == 0x15, "{name}: got {got:?}");
        }
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(
            t.elapsed() >= deadline,
            "the stalled clients were closed early"
        );
    });
    assert_eq!(calls.get(), 1, "only the good client reached the handler");
    let logs = logs.lock().unwrap();
    let failures = logs
        .iter()
        .filter(|l| l.contains("TLS handshake failed"))
        .count();
    assert_eq!(failures, 4, "{logs:?}");
    s.stop(None);
}

#[test]
fn stream_tls_untrusted_certificate_is_a_clear_error() {
    let (sc, _) = configs();
    let (s, a, calls) = echo_server(sc, Duration::from_secs(10));
    // A client trusting another self-signed certificate (same issuer name, other key), and
    // one trusting no certificate at all.
    let (_, other) = configs();
    let nobody = Arc::new(
        ClientConfig::builder()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    );
    for (cc, why) in [(other, "BadSignature"), (nobody, "UnknownIssuer")] {
        let tcp = TcpStream::connect(a).unwrap();
        let e = TlsStream::connect(cc, "localhost", tcp).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        let msg = e.to_string();
        assert!(msg.contains("invalid peer certificate"), "{msg}");
        assert!(msg.contains(why), "{msg}");
    }
    // The server side failed too (the client's alert) and never ran the handler.
    let t = Instant::now();
    while s.handler_count() > 0 && t.elapsed() < Duration::from_secs(5) {
        gevent_hub::sleep(Duration::from_millis(5));
    }
    assert_eq!(s.handler_count(), 0);
    assert_eq!(calls.get(), 0);
    s.stop(None);
}

#[test]
fn stream_tls_handler_must_come_after_tls() {
    let (sc, _) = configs();
    let e = StreamServer::builder("127.0.0.1:0")
        .handler(|_s, _p| {})
        .tls(sc.clone())
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("before tls()"), "{e}");
    let e = StreamServer::builder("127.0.0.1:0")
        .tls(sc)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("needs a handler"), "{e}");
}

#[test]
fn stream_tls_threads_with_a_factory() {
    let (sc, cc) = configs();
    let s = StreamServer::builder("127.0.0.1:0")
        .tls(sc)
        .threads(2)
        .handler_factory(|| echo)
        .build()
        .unwrap();
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    for i in 0..6 {
        let tcp = TcpStream::connect(a).unwrap();
        let mut tls = TlsStream::connect(cc.clone(), "localhost", tcp).unwrap();
        let msg = format!("thread test {i}\n");
        tls.write_all(msg.as_bytes()).unwrap();
        let mut back = vec![0u8; msg.len()];
        tls.read_exact(&mut back).unwrap();
        assert_eq!(back, msg.as_bytes());
        tls.shutdown().unwrap();
    }
    s.stop(None);
}

/// The HTTPS test application: the path, and whether the request came through TLS.
fn https_app(mut req: http::Request<Body>) -> http::Response<Body> {
    let mut body = Vec::new();
    req.body_mut().read_to_end(&mut body).unwrap();
    let tls = req.body().conn_info().is_some_and(|i| i.tls);
    http::Response::new(Body::from(format!(
        "{} {} tls={tls} body={}",
        req.method(),
        req.uri().path(),
        String::from_utf8_lossy(&body)
    )))
}

/// A started HTTPS server running `https_app`.
fn https_server(sc: Arc<ServerConfig>, handshake: Duration) -> (HttpServer, SocketAddr) {
    let s = HttpServer::builder("127.0.0.1:0")
        .tls(sc)
        .tls_handshake_timeout(handshake)
        .access_log(AccessLog::Off)
        .handler(https_app)
        .build()
        .unwrap();
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    (s, a)
}

/// Reads one response with a `Content-Length` body: status and body.
fn read_response(r: &mut impl BufRead) -> (u16, String) {
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    let code: u16 = status.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut len = 0;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).unwrap();
    (code, String::from_utf8(body).unwrap())
}

#[test]
fn https_keep_alive_and_pipelining_from_greenlets() {
    let (sc, cc) = configs();
    let (s, a) = https_server(sc, Duration::from_secs(10));
    let cc = client_with_alpn(&cc, &[b"http/1.1"]);
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let cc = cc.clone();
            gevent_hub::spawn(move || {
                let tcp = TcpStream::connect(a).unwrap();
                let tls = TlsStream::connect(cc, "localhost", tcp).unwrap();
                assert_eq!(tls.alpn_protocol(), Some(&b"http/1.1"[..]));
                let mut r = BufReader::new(tls);
                let mut got = Vec::new();
                // Keep-alive: one request at a time.
                for k in 0..3 {
                    let req = format!("GET /c{i}/k{k} HTTP/1.1\r\nHost: localhost\r\n\r\n");
                    r.get_mut().write_all(req.as_bytes()).unwrap();
                    got.push(read_response(&mut r));
                }
                // Pipelined: three requests in one write, a body on the second.
                r.get_mut()
                    .write_all(
                        b"GET /p1 HTTP/1.1\r\nHost: localhost\r\n\r\n\
                          POST /p2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\ndata\
                          GET /p3 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                    )
                    .unwrap();
                for _ in 0..3 {
                    got.push(read_response(&mut r));
                }
                let mut rest = Vec::new();
                r.read_to_end(&mut rest).unwrap(); // closed cleanly (close_notify)
                assert!(rest.is_empty());
                got
            })
        })
        .collect();
    for (i, g) in clients.into_iter().enumerate() {
        let got = g.get().unwrap();
        let want: Vec<(u16, String)> = (0..3)
            .map(|k| format!("GET /c{i}/k{k} tls=true body="))
            .chain([
                "GET /p1 tls=true body=".to_string(),
                "POST /p2 tls=true body=data".to_string(),
                "GET /p3 tls=true body=".to_string(),
            ])
            .map(|b| (200, b))
            .collect();
        assert_eq!(got, want);
    }
    s.stop(None);
}

#[test]
fn https_from_std_thread_rustls_clients() {
    let (sc, cc) = configs();
    let (s, a) = https_server(sc, Duration::from_secs(10));
    let cc = client_with_alpn(&cc, &[b"h2", b"http/1.1"]);
    let t = std::thread::spawn(move || {
        let mut out = Vec::new();
        for i in 0..3 {
            let conn =
                rustls::ClientConnection::new(cc.clone(), "localhost".try_into().unwrap()).unwrap();
            let tcp = std::net::TcpStream::connect(a).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let req =
                format!("POST /t{i} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi");
            tls.write_all(req.as_bytes()).unwrap();
            let alpn = tls.conn.alpn_protocol().map(|p| p.to_vec());
            let mut r = BufReader::new(tls);
            out.push((alpn, read_response(&mut r)));
        }
        out
    });
    let got = join_thread(t);
    for (i, (alpn, resp)) in got.into_iter().enumerate() {
        // The server offers only http/1.1 (set because the configuration had no ALPN).
        assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
        assert_eq!(resp, (200, format!("POST /t{i} tls=true body=hi")));
    }
    s.stop(None);
}

#[test]
fn https_plaintext_and_stalled_clients_are_closed() {
    let (sc, cc) = configs();
    let deadline = Duration::from_millis(300);
    let (s, a) = https_server(sc, deadline);
    let mut plain = TcpStream::connect(a).unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut silent = TcpStream::connect(a).unwrap();
    let t = Instant::now();
    let tcp = TcpStream::connect(a).unwrap();
    let tls = TlsStream::connect(cc, "localhost", tcp).unwrap();
    let mut r = BufReader::new(tls);
    r.get_mut()
        .write_all(b"GET /ok HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_response(&mut r),
        (200, "GET /ok tls=true body=".into())
    );
    assert!(
        t.elapsed() < deadline,
        "the good client waited for the bad ones"
    );
    let (got, closed) = read_until_closed(&mut plain);
    assert!(closed);
    assert!(
        !got.starts_with(b"HTTP/"),
        "a plaintext request was answered: {got:?}"
    );
    let (got, closed) = read_until_closed(&mut silent);
    assert!(closed && got.is_empty());
    assert!(t.elapsed() >= deadline && t.elapsed() < Duration::from_secs(5));
    s.stop(None);
}

#[test]
fn https_alpn_must_allow_http11() {
    let (sc, _) = configs();
    let mut h2_only = (*sc).clone();
    h2_only.alpn_protocols = vec![b"h2".to_vec()];
    let e = HttpServer::builder("127.0.0.1:0")
        .tls(Arc::new(h2_only))
        .handler(https_app)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("http/1.1"), "{e}");
    let mut both = (*sc).clone();
    both.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    assert!(HttpServer::builder("127.0.0.1:0")
        .tls(Arc::new(both))
        .handler(https_app)
        .build()
        .is_err());
    let mut h1 = (*sc).clone();
    h1.alpn_protocols = vec![b"http/1.1".to_vec()];
    HttpServer::builder("127.0.0.1:0")
        .tls(Arc::new(h1))
        .handler(https_app)
        .build()
        .unwrap();
}

#[test]
fn https_stop_closes_idle_tls_connections() {
    let (sc, cc) = configs();
    let (s, a) = https_server(sc, Duration::from_secs(10));
    let tcp = TcpStream::connect(a).unwrap();
    let tls = TlsStream::connect(cc, "localhost", tcp).unwrap();
    let mut r = BufReader::new(tls);
    r.get_mut()
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut r).0, 200);
    let t = Instant::now();
    s.stop(Some(Duration::from_secs(5)));
    assert!(t.elapsed() < Duration::from_secs(5));
    let mut rest = Vec::new();
    // Closed without close_notify (an idle connection dropped on stop): an EOF error.
    let e = r.read_to_end(&mut rest);
    assert!(rest.is_empty());
    assert!(e.is_err() || e.unwrap() == 0);
}
