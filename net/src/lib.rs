//! Cooperative sockets with std's API (gevent's `gevent.socket`): [`TcpListener`],
//! [`TcpStream`], [`UdpSocket`], and [`unix::UnixListener`] / [`unix::UnixStream`]; waiting on
//! several fds ([`select`]: `select`, `poll`, `Poll`) and on one ([`os`]: `wait_read`,
//! `wait_write`, `cancel_wait`); name resolution on the thread pool ([`lookup_host`],
//! [`gethostbyname`]).
//!
//! Code reads like blocking std code; inside a greenlet, every call that would block switches
//! to the hub until the socket is ready, so thousands of connections share one thread. From
//! the main greenlet the same calls work too (main runs the hub's loop while it waits).
//!
//! # Implementation
//!
//! * The first call that waits creates this thread's hub. Every socket is non-blocking
//!   underneath and registered once with the hub's reactor
//!   ([`IoSource`](gevent_hub::reactor::IoSource): edge-triggered, with readiness bits). A call
//!   tries the system call; on `WouldBlock` it parks until the poller reports readiness, then
//!   retries; the next call after a `WouldBlock` waits for the poller without trying. The
//!   system calls go straight to the kernel through `rustix` (never through libc symbols that
//!   the monkey crate may interpose).
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
//! * Host names ([`ToSocketAddrs`]) are resolved on the thread pool ([`lookup_host`],
//!   `gevent-threadpool`'s resolver); IP literals are parsed in place.
//! * At most one greenlet waits per direction on a socket: a second reader (or writer) gets an
//!   error of kind `Other` wrapping [`ConcurrentUse`](gevent_hub::reactor::ConcurrentUse)
//!   (gevent's `ConcurrentObjectUseError`).
//! * [`select`] and [`os`] take borrowed fds (`BorrowedFd`, `impl AsFd`), never a bare
//!   `RawFd`, and wait through watches of the reactor that register a `dup` of the fd: an fd
//!   number closed and reused behind their back can never disturb another registration.
//!
//! # Examples
//!
//! ```
//! use std::io::{Read, Write};
//! use gevent_net::{TcpListener, TcpStream};
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
//! let s = gevent_net::UdpSocket::bind("127.0.0.1:0").unwrap();
//! std::thread::spawn(move || drop(s));
//! ```

#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(not(target_os = "linux"))]
compile_error!("gevent-net supports Linux only (the hub under it is epoll-based)");

mod addr;
mod common;
pub mod os;
pub mod select;
mod sock;
mod tcp;
mod udp;
pub mod unix;

pub use self::addr::{gethostbyname, lookup_host, ToSocketAddrs};
pub use self::tcp::{Incoming, TcpListener, TcpStream};
pub use self::udp::UdpSocket;

#[doc(no_inline)]
pub use std::net::{
    AddrParseError, IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6,
};
