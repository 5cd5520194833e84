//! Cooperative sockets with std's API (gevent's `gevent.socket`): [`TcpListener`],
//! [`TcpStream`], [`UdpSocket`], and [`unix::UnixListener`] / [`unix::UnixStream`].
//!
//! Code reads like blocking std code; inside a greenlet, every call that would block switches
//! to the hub until the socket is ready, so thousands of connections share one thread. From
//! the main greenlet the same calls work too (main runs the hub's loop while it waits).
//!
//! # Implementation
//!
//! * Every socket is non-blocking underneath and registered once with the hub's poller
//!   (edge-triggered; see [`IoSource`](crate::IoSource)). A call tries the system call; on
//!   `WouldBlock` it parks until the poller reports readiness, then retries; the next call
//!   after a `WouldBlock` waits for the poller without trying. The hot-path system calls go
//!   straight to the kernel through `rustix` (never through libc symbols that the monkey crate
//!   may interpose).
//! * `set_read_timeout` / `set_write_timeout` are timeouts of the waits (no `SO_RCVTIMEO`); an
//!   expired one gives `WouldBlock` (`EAGAIN`), as std does on Unix. `set_nonblocking(true)`
//!   makes calls return `WouldBlock` instead of waiting.
//! * `try_clone` returns another handle to the same registered socket (an `Rc`), not a `dup`:
//!   the fd is closed, and leaves the poller, when the last handle is dropped. Timeouts and the
//!   non-blocking flag are shared by all handles, as they are between std's clones.
//!   [`TcpStream::close`] (gevent's `close()`) closes the socket for all handles at once and
//!   wakes any greenlet waiting on it with `EBADF`; [`TcpStream::shutdown`] wakes readers
//!   through the kernel (they read end-of-file).
//! * Sockets are `!Send`: they belong to their thread's hub. Use `into_std` to move one to
//!   another thread.
//! * Host names ([`ToSocketAddrs`]) are resolved on the thread pool ([`lookup_host`]); IP
//!   literals are parsed in place.
//! * At most one greenlet waits per direction on a socket: a second reader (or writer) gets an
//!   error of kind `Other` wrapping [`ConcurrentUse`](crate::ConcurrentUse) (gevent's
//!   `ConcurrentObjectUseError`).
//!
//! # Examples
//!
//! ```
//! use std::io::{Read, Write};
//! use gevent_hub::net::{TcpListener, TcpStream};
//!
//! let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//! let addr = listener.local_addr().unwrap();
//! let server = gevent_hub::spawn(move || {
//!     let (mut s, _) = listener.accept().unwrap();
//!     let mut buf = [0u8; 64];
//!     let n = s.read(&mut buf).unwrap();
//!     s.write_all(&buf[..n]).unwrap();
//! });
//! let mut c = TcpStream::connect(addr).unwrap();
//! c.write_all(b"hello").unwrap();
//! let mut buf = [0u8; 5];
//! c.read_exact(&mut buf).unwrap();
//! assert_eq!(&buf, b"hello");
//! server.join();
//! ```
//!
//! A socket cannot leave its thread:
//!
//! ```compile_fail
//! let s = gevent_hub::net::UdpSocket::bind("127.0.0.1:0").unwrap();
//! std::thread::spawn(move || drop(s));
//! ```

mod addr;
mod sock;
mod tcp;
mod udp;
pub mod unix;

pub use self::addr::{lookup_host, ToSocketAddrs};
pub use self::tcp::{Incoming, TcpListener, TcpStream};
pub use self::udp::UdpSocket;

#[doc(no_inline)]
pub use std::net::{
    AddrParseError, IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6,
};
