//! Cooperative TLS for greenlets, on rustls — gevent's `gevent.ssl`.
//!
//! [`TlsStream`] wraps one of gevent's cooperative sockets (a `TcpStream`, a `UnixStream`)
//! in a rustls session: [`TlsStream::connect`] for a client, [`TlsStream::accept`] for a
//! server, then `Read`, `BufRead` and `Write` as on the socket. Code reads like blocking code;
//! every wait switches to the hub, never blocks it. [`TlsConnector`] and [`TlsAcceptor`] keep
//! a configuration and a handshake time limit for many connections (what a server holds).
//!
//! The configurations are rustls's own ([`rustls::ClientConfig`], [`rustls::ServerConfig`],
//! re-exported as [`rustls`] so the versions match): certificates, ALPN, client
//! authentication, resumption are all set there. This crate builds rustls with its `ring`
//! crypto provider only (no aws-lc-rs, so no cmake or NASM; ring needs a C compiler), so
//! `ClientConfig::builder()` picks ring by itself, unless another crate in the build enables a
//! second provider: then use `ClientConfig::builder_with_provider(Arc::new(
//! rustls::crypto::ring::default_provider()))`.
//!
//! # Implementation
//!
//! * The handshake runs to completion inside `connect`/`accept`; the first wait creates this
//!   thread's hub if there is none. A handshake time limit is a [`gevent_timeout::Timeout`]
//!   around it.
//! * rustls reads the socket straight into its record buffer (`read_tls`) and writes its
//!   queued records straight to the socket with one `writev` (`write_tls`): there is no
//!   intermediate buffer of ours, and rustls's buffers live as long as the connection.
//! * `&mut TlsStream` waits inside the socket's own calls (with its timeouts). `&TlsStream`
//!   (one greenlet reading while another writes) never holds the session across a wait: it
//!   tries the socket without waiting and waits for readiness with the session released (see
//!   [`Transport`]).
//! * A kill or timeout unwinding out of a wait leaves the session consistent: rustls takes
//!   bytes in only after the socket gave them, and drops queued records only after the socket
//!   took them. What a wait leaves behind is listed under each call's `# Kill safety`.
//! * `TlsStream<S>` is `Send` exactly when `S` is: over gevent's sockets, `!Send`.
//!
//! # Examples
//!
//! A TLS echo over loopback, the server in a greenlet:
//!
//! ```
//! use std::io::{BufRead, Write};
//! use gevent_net::{TcpListener, TcpStream};
//! use gevent_ssl::TlsStream;
//! # let (server_config, client_config) = include!("../tests/support/doc_configs.rs");
//!
//! // server_config: Arc<rustls::ServerConfig>, client_config: Arc<rustls::ClientConfig>
//! let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//! let addr = listener.local_addr().unwrap();
//! let server = gevent_hub::spawn(move || {
//!     let (tcp, _) = listener.accept().unwrap();
//!     let mut tls = TlsStream::accept(server_config, tcp).unwrap();
//!     let mut line = String::new();
//!     tls.read_line(&mut line).unwrap();
//!     tls.write_all(line.to_uppercase().as_bytes()).unwrap();
//!     tls.shutdown().unwrap();
//! });
//!
//! let tcp = TcpStream::connect(addr).unwrap();
//! let mut tls = TlsStream::connect(client_config, "localhost", tcp).unwrap();
//! tls.write_all(b"hello\n").unwrap();
//! let mut reply = String::new();
//! tls.read_line(&mut reply).unwrap();
//! assert_eq!(reply, "HELLO\n");
//! server.join();
//! ```

#![forbid(unsafe_code)]

mod connector;
mod handshake;
mod io;
mod stream;
mod transport;

pub use crate::connector::{TlsAcceptor, TlsConnector};
pub use crate::stream::TlsStream;
pub use crate::transport::Transport;

#[doc(no_inline)]
pub use rustls;
