//! HTTPS beside plain HTTP on one server core: keep-alive requests per second, and new
//! connections per second (a full TLS handshake each, no resumption), for the HTTP/1.1 server.
//!
//! ```sh
//! cargo bench -p gevent-server --bench https -- [--secs S] [--conns N] [metric ...]
//! ```
//!
//! The server (`HttpServer`, "Hello, World!", no access log) runs on a hub thread pinned to
//! CPU 0; the load comes from greenlets on a second hub thread pinned to CPU 1 (a machine with
//! one CPU shares it). Metrics: `http_keepalive`, `https_keepalive` (N connections, each
//! sending a GET and reading its response in a loop), `http_connect`, `https_handshake` (N
//! greenlets, each in a loop: connect, handshake, one GET with `Connection: close`, read to the
//! end). Each line: `name<TAB>requests (or connections) per second<TAB>server CPU µs per
//! request (or connection)`, the server thread's CPU from `/proc/self/task/<tid>/schedstat`;
//! then, for each pair measured, HTTPS's rate and CPU per op as ratios to plain HTTP's.
//!
//! TLS: ECDSA P-256 certificate made at start (rcgen), TLS 1.3, the client offers X25519 first
//! (rustls 0.23.48's ring provider lists P-384 first, about 1 ms of CPU per handshake on each
//! side here; browsers, curl and OpenSSL offer X25519 first), ALPN `http/1.1`, no resumption.
//! The client verifies the certificate (its CPU is not counted: it has its own core).

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use gevent_net::TcpStream;
use gevent_server::http::{AccessLog, Body, HttpServer};
use gevent_ssl::rustls::client::Resumption;
use gevent_ssl::rustls::crypto::ring::kx_group;
use gevent_ssl::rustls::crypto::CryptoProvider;
use gevent_ssl::rustls::pki_types::PrivateKeyDer;
use gevent_ssl::rustls::{self, ClientConfig, ServerConfig};
use gevent_ssl::TlsStream;

/// The benchmark's settings.
#[derive(Clone, Copy)]
struct Opts {
    /// Measured seconds per metric (after a warm-up of a fifth of it).
    secs: f64,
    /// Concurrent connections (keep-alive) or connecting greenlets.
    conns: usize,
}

/// The server's configuration (rustls defaults) and the client's (X25519 first, no
/// resumption, ALPN http/1.1).
fn configs() -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into());
    let server = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let ring = CryptoProvider::get_default().unwrap().clone();
    let x25519_first = Arc::new(CryptoProvider {
        kx_groups: vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1],
        ..(*ring).clone()
    });
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let mut client = ClientConfig::builder_with_provider(x25519_first)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.resumption = Resumption::disabled();
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    (Arc::new(server), Arc::new(client))
}

/// Pins the calling thread to `cpu` (if the machine has it).
fn pin(cpu: usize) {
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu % n);
    let _ = rustix::thread::sched_setaffinity(None, &set);
}

/// Nanoseconds the thread `task` (a `/proc/self/task/<tid>` path) has run on a CPU.
fn cpu_ns(task: &str) -> u64 {
    let s = std::fs::read_to_string(format!("{task}/schedstat")).unwrap();
    s.split_whitespace().next().unwrap().parse().unwrap()
}

/// This thread's `/proc/self/task/<tid>` path.
fn this_task() -> String {
    let link = std::fs::read_link("/proc/thread-self").unwrap();
    format!("/proc/{}", link.display())
}

/// The handler: "Hello, World!" as text.
fn hello(_req: http::Request<Body>) -> http::Response<Body> {
    let mut r = http::Response::new(Body::from("Hello, World!"));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    r
}

/// Starts the server thread (pinned to CPU 0) with an HTTP and an HTTPS server; their
/// addresses and the thread's task path.
fn start_servers(config: Arc<ServerConfig>) -> (SocketAddr, SocketAddr, String) {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("https-bench-server".into())
        .spawn(move || {
            pin(0);
            let http = HttpServer::builder("127.0.0.1:0")
                .access_log(AccessLog::Off)
                .handler(hello)
                .build()
                .unwrap();
            let https = HttpServer::builder("127.0.0.1:0")
                .access_log(AccessLog::Off)
                .tls(config)
                .handler(hello)
                .build()
                .unwrap();
            http.start().unwrap();
            https.start().unwrap();
            tx.send((
                http.local_addr().unwrap(),
                https.local_addr().unwrap(),
                this_task(),
            ))
            .unwrap();
            https.serve_forever().unwrap();
        })
        .unwrap();
    rx.recv().unwrap()
}

/// A client connection, plain or TLS, with a read buffer.
struct Conn {
    /// The stream.
    io: Io,
    /// Bytes read and not yet consumed.
    buf: Vec<u8>,
}

/// The stream of a [`Conn`].
enum Io {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    /// Connects (and runs the handshake with `tls`).
    fn open(addr: SocketAddr, tls: Option<&Arc<ClientConfig>>) -> Conn {
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_nodelay(true).unwrap();
        let io = match tls {
            None => Io::Tcp(tcp),
            Some(c) => {
                let s = TlsStream::connect(c.clone(), "localhost", tcp).unwrap();
                assert_eq!(s.alpn_protocol(), Some(&b"http/1.1"[..]));
                Io::Tls(Box::new(s))
            }
        };
        Conn {
            io,
            buf: Vec::with_capacity(4096),
        }
    }

    fn write_all(&mut self, b: &[u8]) {
        match &mut self.io {
            Io::Tcp(s) => s.write_all(b).unwrap(),
            Io::Tls(s) => s.write_all(b).unwrap(),
        }
    }

    /// Reads more into the buffer; 0 at the end.
    fn more(&mut self) -> usize {
        let mut b = [0u8; 4096];
        let n = match &mut self.io {
            Io::Tcp(s) => s.read(&mut b).unwrap(),
            Io::Tls(s) => s.read(&mut b).unwrap(),
        };
        self.buf.extend_from_slice(&b[..n]);
        n
    }

    /// Reads one response (a `Content-Length` body) and checks it is the 200 expected.
    fn response(&mut self) {
        loop {
            let mut hs = [httparse::EMPTY_HEADER; 16];
            let mut r = httparse::Response::new(&mut hs);
            if let httparse::Status::Complete(n) = r.parse(&self.buf).unwrap() {
                assert_eq!(r.code, Some(200));
                let len: usize = r
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
                    .unwrap();
                while self.buf.len() < n + len {
                    assert!(self.more() > 0, "the server closed mid-response");
                }
                assert_eq!(&self.buf[n..n + len], b"Hello, World!");
                self.buf.drain(..n + len);
                return;
            }
            assert!(self.more() > 0, "the server closed before a response");
        }
    }

    /// Reads until the server closes (after a `Connection: close` response).
    fn until_closed(&mut self) {
        while self.more() > 0 {}
    }
}

/// Runs `metric` from a client thread pinned to CPU 1: operations per second and the server
/// thread's CPU µs per operation.
fn run(
    metric: &'static str,
    opts: Opts,
    addr: SocketAddr,
    tls: Option<Arc<ClientConfig>>,
    server_task: String,
) -> (f64, f64) {
    std::thread::spawn(move || {
        pin(1);
        let count = Rc::new(Cell::new(0u64));
        let stop = Rc::new(Cell::new(false));
        let keepalive = metric.ends_with("keepalive");
        let mut clients = Vec::new();
        for _ in 0..opts.conns {
            let (count, stop, tls) = (count.clone(), stop.clone(), tls.clone());
            clients.push(gevent_hub::spawn(move || {
                if keepalive {
                    let mut c = Conn::open(addr, tls.as_ref());
                    while !stop.get() {
                        c.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
                        c.response();
                        count.set(count.get() + 1);
                    }
                } else {
                    while !stop.get() {
                        let mut c = Conn::open(addr, tls.as_ref());
                        c.write_all(
                            b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                        );
                        c.response();
                        c.until_closed();
                        count.set(count.get() + 1);
                    }
                }
            }));
        }
        gevent_hub::sleep(Duration::from_secs_f64(opts.secs / 5.0));
        let (n0, c0, t0) = (count.get(), cpu_ns(&server_task), Instant::now());
        gevent_hub::sleep(Duration::from_secs_f64(opts.secs));
        let (n1, c1, t1) = (count.get(), cpu_ns(&server_task), Instant::now());
        stop.set(true);
        for g in clients {
            g.join();
        }
        let ops = (n1 - n0) as f64;
        (
            ops / (t1 - t0).as_secs_f64(),
            (c1 - c0) as f64 / 1000.0 / ops.max(1.0),
        )
    })
    .join()
    .unwrap()
}

fn main() {
    let mut opts = Opts {
        secs: 5.0,
        conns: 64,
    };
    let mut metrics = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--secs" => opts.secs = args.next().and_then(|v| v.parse().ok()).expect("--secs S"),
            "--conns" => opts.conns = args.next().and_then(|v| v.parse().ok()).expect("--conns N"),
            "--bench" => {} // passed by `cargo bench`
            m if m.starts_with("--") => panic!("unknown option {m}"),
            m => metrics.push(m.to_string()),
        }
    }
    let all = [
        "http_keepalive",
        "https_keepalive",
        "http_connect",
        "https_handshake",
    ];
    if metrics.is_empty() {
        metrics = all.iter().map(|m| m.to_string()).collect();
    }
    let (server_config, client_config) = configs();
    let (http, https, task) = start_servers(server_config);
    println!(
        "# {} connections, {} s per metric; server on CPU 0, clients on CPU 1",
        opts.conns, opts.secs
    );
    println!("metric\tper second\tserver CPU us per op");
    let mut results = Vec::new();
    for m in metrics {
        let name = *all
            .iter()
            .find(|a| **a == m)
            .unwrap_or_else(|| panic!("unknown metric {m}; known: {all:?}"));
        let (addr, tls) = if name.starts_with("https") {
            (https, Some(client_config.clone()))
        } else {
            (http, None)
        };
        let (rate, cpu) = run(name, opts, addr, tls, task.clone());
        println!("{name}\t{rate:.0}\t{cpu:.1}");
        results.push((name, rate, cpu));
    }
    // HTTPS beside HTTP from this run: the cost of TLS on the same server.
    let get = |n: &str| results.iter().find(|r| r.0 == n).map(|r| (r.1, r.2));
    for (tls, plain) in [
        ("https_keepalive", "http_keepalive"),
        ("https_handshake", "http_connect"),
    ] {
        if let (Some((r1, c1)), Some((r0, c0))) = (get(tls), get(plain)) {
            println!(
                "# {tls} / {plain}: {:.2}x the rate, {:.2}x the server CPU per op",
                r1 / r0,
                c1 / c0
            );
        }
    }
}
