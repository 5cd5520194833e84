//! Servers for gevent for Rust (gevent's `gevent.server` and `gevent.pywsgi`): a TCP
//! [`StreamServer`], a UDP [`DatagramServer`], and an HTTP/1.1 server, [`http::HttpServer`],
//! all running plain blocking handlers, one greenlet per connection (or datagram).
//!
//! # Implementation
//!
//! * `start` binds the listener (with `socket2`: `SO_REUSEADDR`, optional `SO_REUSEPORT`, the
//!   backlog) and spawns an *acceptor* greenlet on the calling thread's hub. It accepts in a
//!   loop and spawns each connection's handler into a [`Group`](gevent_pool::Group) (or a
//!   [`Pool`](gevent_pool::Pool) with `pool(n)`: the acceptor waits while the pool is full), so
//!   `stop(timeout)` always bounds shutdown: handlers still running at the deadline are killed
//!   and their `Drop`s run.
//! * `threads(n)` starts `n` threads, each with its own hub and its own `SO_REUSEPORT` listener
//!   on the same port (with port 0, the first bind picks it); the handler is built once per
//!   thread by a `Send + Sync` factory, since greenlets and sockets never leave their thread.
//! * The HTTP server reads into one reusable buffer per connection, parses every pipelined
//!   request in it (`httparse`, then RFC 9112's framing checks), and writes all their
//!   responses with one system call; request heads become `http::Request`s that share the
//!   read buffer (no copy of the header values). Each HTTP connection re-registers its socket
//!   as its own [`IoSource`](gevent_hub::reactor::IoSource) so that a short read clears readability:
//!   one `recv` and one `send` per keep-alive request.
//!
//! # Examples
//!
//! ```
//! use std::io::{Read, Write};
//! use gevent_server::StreamServer;
//!
//! let server = StreamServer::new("127.0.0.1:0", |mut s: gevent_net::TcpStream, _peer| {
//!     let mut buf = [0u8; 64];
//!     let n = s.read(&mut buf).unwrap();
//!     s.write_all(&buf[..n]).unwrap();
//! });
//! server.start().unwrap();
//! let addr = server.local_addr().unwrap();
//! let mut c = gevent_net::TcpStream::connect(addr).unwrap();
//! c.write_all(b"ping").unwrap();
//! let mut back = [0u8; 4];
//! c.read_exact(&mut back).unwrap();
//! assert_eq!(&back, b"ping");
//! server.stop(None);
//! ```

#![forbid(unsafe_code)]

/// The cooperative sockets the servers use (one place to repoint when they move crates).
pub(crate) use gevent_net as net;

mod addr;
mod datagram;
pub mod http;
mod listener;
mod signal;
mod stream;

pub use crate::addr::{Addr, ServerAddr};
pub use crate::datagram::{DatagramBuilder, DatagramServer};
pub use crate::stream::{StreamBuilder, StreamServer};
