//! TLS throughput on one hub: echo round trips per second and full (and resumed) handshakes
//! per second over loopback, beside plain TCP doing the same work.
//!
//! ```sh
//! cargo bench -p gevent-ssl --bench tls -- [--secs S] [--conns N] [--threads 1|2] [metric ...]
//! ```
//!
//! Metrics: `tcp_rtt`, `tls_rtt` (N connections, each sending a 64-byte message and waiting for
//! its echo, `TCP_NODELAY`), `tcp_connect`, `tls_handshake_full`, `tls_handshake_resumed`
//! (N greenlets, each in a loop: connect, handshake, one 64-byte round trip, close; "full":
//! no session resumption, "resumed": TLS 1.3 tickets; "full_p384": rustls's own defaults, see
//! `configs`). With `--threads 1` (the default) the
//! server and the clients are greenlets of one thread, so one core does both sides' work; with
//! `--threads 2` the server has a hub thread of its own. Each line is
//! `name<TAB>ops per second<TAB>server CPU µs per op` (`--threads 1`: the one thread's CPU,
//! both sides). Certificates: ECDSA P-256 made at start (rcgen); TLS 1.3, X25519 (P-384 for
//! `*_p384`), the ring provider's first suite (AES-256-GCM).

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use gevent_net::{TcpListener, TcpStream};
use gevent_ssl::rustls::client::Resumption;
use gevent_ssl::rustls::crypto::ring::kx_group;
use gevent_ssl::rustls::crypto::CryptoProvider;
use gevent_ssl::rustls::pki_types::PrivateKeyDer;
use gevent_ssl::rustls::{self, ClientConfig, ServerConfig};
use gevent_ssl::{TlsAcceptor, TlsStream};

/// The message size of a round trip.
const MSG: usize = 64;

/// The benchmark's settings.
#[derive(Clone, Copy)]
struct Opts {
    /// Measured seconds per metric (after a warm-up of a fifth of it).
    secs: f64,
    /// Concurrent connections (round trips) or connecting greenlets (handshakes).
    conns: usize,
    /// 1: server and clients on one hub; 2: the server on a hub thread of its own.
    threads: usize,
}

/// A server configuration and client configurations for full and resumed handshakes.
struct Configs {
    /// A client with rustls's own ring defaults, never resuming.
    full_p384: Arc<ClientConfig>,
    /// The server's: rustls's defaults (tickets on: resumed handshakes need them).
    server: Arc<ServerConfig>,
    /// A client that never resumes.
    full: Arc<ClientConfig>,
    /// A client that resumes with the server's tickets.
    resumed: Arc<ClientConfig>,
}

/// The configurations. rustls 0.23.48's ring provider lists P-384 first among its key
/// exchange groups, and a TLS 1.3 server takes the first group of the client's list that it
/// supports: two rustls-ring peers with the defaults agree on P-384, whose ring implementation
/// is slow (about 1 ms per operation here). Browsers, curl and OpenSSL offer X25519 first, so
/// the main client configurations put X25519 first (the server keeps rustls's defaults);
/// `full_p384` keeps rustls's defaults.
fn configs() -> Configs {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into());
    // The builder installs the crate features' provider (ring) as the process default.
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
    let client = |provider: Arc<CryptoProvider>, resume: bool| {
        let mut c = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        if !resume {
            c.resumption = Resumption::disabled();
        }
        Arc::new(c)
    };
    Configs {
        server: Arc::new(server),
        full_p384: client(ring, false),
        full: client(x25519_first.clone(), false),
        resumed: client(x25519_first, true),
    }
}

/// Echoes until the peer's end.
fn echo(mut s: impl Read + Write) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = s.read(&mut buf) {
        if s.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

/// An echo server's accept loop on `l` (TLS with `acceptor`, plain TCP without), a greenlet per
/// connection.
fn serve(l: TcpListener, acceptor: Option<TlsAcceptor>) {
    while let Ok((tcp, _)) = l.accept() {
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        gevent_hub::spawn(move || match acceptor {
            Some(a) => {
                if let Ok(mut tls) = a.accept(tcp) {
                    echo(&mut tls);
                    let _ = tls.shutdown();
                }
            }
            None => echo(tcp),
        });
    }
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

/// Starts an echo server (in this hub, or on a new hub thread) and returns its address and
/// the task path of the thread that runs it.
fn start_server(opts: Opts, acceptor: Option<TlsAcceptor>) -> (SocketAddr, String) {
    if opts.threads == 1 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        gevent_hub::spawn(move || serve(l, acceptor));
        return (addr, this_task());
    }
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("tls-bench-server".into())
        .spawn(move || {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            tx.send((l.local_addr().unwrap(), this_task())).unwrap();
            serve(l, acceptor);
        })
        .unwrap();
    rx.recv().unwrap()
}

/// A client connection: plain TCP, or TLS with `config`.
enum Conn {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    fn open(addr: SocketAddr, config: Option<&Arc<ClientConfig>>) -> Conn {
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_nodelay(true).unwrap();
        match config {
            None => Conn::Tcp(tcp),
            Some(c) => Conn::Tls(Box::new(
                TlsStream::connect(c.clone(), "localhost", tcp).unwrap(),
            )),
        }
    }

    /// One 64-byte message out and its echo back.
    fn round_trip(&mut self, msg: &[u8; MSG], back: &mut [u8; MSG]) {
        match self {
            Conn::Tcp(s) => {
                s.write_all(msg).unwrap();
                s.read_exact(back).unwrap();
            }
            Conn::Tls(s) => {
                s.write_all(msg).unwrap();
                s.read_exact(back).unwrap();
            }
        }
    }

    fn close(self) {
        if let Conn::Tls(s) = self {
            let _ = s.shutdown();
        }
    }
}

/// Runs `opts.conns` client greenlets, each calling `work` in a loop (each call counts one
/// operation) until the end; returns operations per second and server CPU µs per operation.
fn measure(opts: Opts, server_task: &str, work: impl Fn() -> Box<dyn FnMut()>) -> (f64, f64) {
    let count = Rc::new(Cell::new(0u64));
    let stop = Rc::new(Cell::new(false));
    let clients: Vec<_> = (0..opts.conns)
        .map(|_| {
            let (count, stop) = (count.clone(), stop.clone());
            let mut op = work();
            gevent_hub::spawn(move || {
                while !stop.get() {
                    op();
                    count.set(count.get() + 1);
                }
            })
        })
        .collect();
    gevent_hub::sleep(Duration::from_secs_f64(opts.secs / 5.0));
    let (n0, cpu0, t0) = (count.get(), cpu_ns(server_task), Instant::now());
    gevent_hub::sleep(Duration::from_secs_f64(opts.secs));
    let (n1, cpu1, t1) = (count.get(), cpu_ns(server_task), Instant::now());
    stop.set(true);
    gevent_hub::joinall(&clients);
    let ops = (n1 - n0) as f64;
    (
        ops / (t1 - t0).as_secs_f64(),
        (cpu1 - cpu0) as f64 / 1000.0 / ops,
    )
}

/// Round trips per second on `opts.conns` long-lived connections.
fn round_trips(
    opts: Opts,
    acceptor: Option<TlsAcceptor>,
    client: Option<Arc<ClientConfig>>,
) -> (f64, f64) {
    let (addr, task) = start_server(opts, acceptor);
    measure(opts, &task, || {
        let client = client.clone();
        let mut conn: Option<Conn> = None;
        let (msg, mut back) = ([7u8; MSG], [0u8; MSG]);
        Box::new(move || {
            conn.get_or_insert_with(|| Conn::open(addr, client.as_ref()))
                .round_trip(&msg, &mut back);
        })
    })
}

/// Connections per second, each: connect, handshake (if TLS), one round trip, close.
fn connections(
    opts: Opts,
    acceptor: Option<TlsAcceptor>,
    client: Option<Arc<ClientConfig>>,
) -> (f64, f64) {
    let (addr, task) = start_server(opts, acceptor);
    measure(opts, &task, || {
        let client = client.clone();
        let (msg, mut back) = ([7u8; MSG], [0u8; MSG]);
        Box::new(move || {
            let mut c = Conn::open(addr, client.as_ref());
            c.round_trip(&msg, &mut back);
            c.close();
        })
    })
}

/// A metric: its name and what measures it (ops/s, server CPU µs/op).
type Metric<'a> = (&'a str, &'a dyn Fn() -> (f64, f64));

fn main() {
    let mut opts = Opts {
        secs: 3.0,
        conns: 64,
        threads: 1,
    };
    let mut metrics = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--secs" => opts.secs = value().parse().unwrap(),
            "--conns" => opts.conns = value().parse().unwrap(),
            "--threads" => opts.threads = value().parse().unwrap(),
            "--bench" => {} // what `cargo bench` adds
            m => metrics.push(m.to_string()),
        }
    }
    assert!(matches!(opts.threads, 1 | 2), "--threads is 1 or 2");
    let c = configs();
    let acceptor = Some(TlsAcceptor::new(c.server.clone()));
    let all: [Metric<'_>; 6] = [
        ("tcp_rtt", &|| round_trips(opts, None, None)),
        ("tls_rtt", &|| {
            round_trips(opts, acceptor.clone(), Some(c.full.clone()))
        }),
        ("tcp_connect", &|| connections(opts, None, None)),
        ("tls_handshake_full", &|| {
            connections(opts, acceptor.clone(), Some(c.full.clone()))
        }),
        ("tls_handshake_resumed", &|| {
            connections(opts, acceptor.clone(), Some(c.resumed.clone()))
        }),
        ("tls_handshake_full_p384", &|| {
            connections(opts, acceptor.clone(), Some(c.full_p384.clone()))
        }),
    ];
    println!(
        "# {} s per metric, {} connections, {} thread(s); name, ops/s, server CPU µs/op",
        opts.secs, opts.conns, opts.threads
    );
    for (name, run) in all {
        if metrics.is_empty() || metrics.iter().any(|m| m == name) {
            let (rate, cpu) = run();
            println!("{name}\t{rate:.0}\t{cpu:.2}");
        }
    }
    // Server greenlets and threads are still waiting in `accept`: leave without waiting.
    std::process::exit(0);
}
