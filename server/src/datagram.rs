//! [`DatagramServer`]: gevent's UDP server, one greenlet per datagram.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use gevent_event::Event;
use gevent_hub::{sleep, spawn, Greenlet, KillOptions};
use gevent_pool::{Group, Pool};

use crate::addr::{Addr, ServerAddr};
use crate::listener::{self, SocketOptions};
use crate::net::UdpSocket;

/// The largest UDP payload (65,535 minus the 8-byte UDP header); IPv4 caps it at 65,507.
const MAX_DATAGRAM: usize = 65_535 - 8;

/// The handler type: `handler(data, peer, socket)`.
type Handler = Rc<dyn Fn(&[u8], SocketAddr, &UdpSocket)>;

/// A UDP server (gevent's `DatagramServer`): receives datagrams and runs
/// `handler(data, peer, socket)` for each in its own greenlet; the handler answers through
/// `socket` (`socket.send_to(reply, peer)`).
///
/// Datagrams are received whole: the receive buffer holds the largest UDP payload (gevent
/// reads 8,192 bytes and truncates longer ones).
///
/// # Examples
///
/// ```
/// use gevent_net::UdpSocket;
/// use gevent_server::DatagramServer;
///
/// let server = DatagramServer::new("127.0.0.1:0", |data: &[u8], peer, sock: &UdpSocket| {
///     sock.send_to(&data.to_ascii_uppercase(), peer).unwrap();
/// });
/// server.start().unwrap();
/// let c = UdpSocket::bind("127.0.0.1:0").unwrap();
/// c.send_to(b"hello", server.local_addr().unwrap()).unwrap();
/// let mut buf = [0u8; 16];
/// let (n, _) = c.recv_from(&mut buf).unwrap();
/// assert_eq!(&buf[..n], b"HELLO");
/// server.stop(None);
/// ```
#[derive(Clone)]
pub struct DatagramServer {
    /// The shared state.
    inner: Rc<Inner>,
}

/// The state behind a [`DatagramServer`].
struct Inner {
    /// Where to listen.
    addr: Addr,
    /// Socket options.
    sock: SocketOptions,
    /// Receive buffer size.
    recv_buffer: usize,
    /// The handler.
    handler: Handler,
    /// The socket, once started.
    socket: RefCell<Option<UdpSocket>>,
    /// The receiving greenlet.
    receiver: RefCell<Option<Greenlet<()>>>,
    /// The running handlers.
    handlers: Group,
    /// `stop_timeout`.
    stop_timeout: Duration,
    /// Closed.
    closed: Cell<bool>,
    /// Set when closed.
    closed_event: Event,
}

impl DatagramServer {
    /// A server for `addr` running `handler(data, peer, socket)` per datagram. Nothing is bound
    /// until [`start`](DatagramServer::start).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_server::DatagramServer::new("127.0.0.1:0", |_d: &[u8], _p, _s: &gevent_net::UdpSocket| {});
    /// assert!(!s.started());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new<A, F>(addr: A, handler: F) -> DatagramServer
    where
        A: ServerAddr,
        F: Fn(&[u8], SocketAddr, &UdpSocket) + 'static,
    {
        DatagramServer::builder(addr).handler(handler).build()
    }

    /// A builder with every option.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_server::DatagramServer::builder("127.0.0.1:0")
    ///     .pool(100)
    ///     .handler(|_d: &[u8], _p, _s: &gevent_net::UdpSocket| {})
    ///     .build();
    /// # drop(s);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn builder<A: ServerAddr>(addr: A) -> DatagramBuilder {
        DatagramBuilder {
            addr: addr.into_server_addr(),
            sock: SocketOptions {
                backlog: 0,
                reuse_addr: true,
                reuse_port: false,
            },
            recv_buffer: MAX_DATAGRAM,
            pool: None,
            stop_timeout: Duration::from_secs(1),
            handler: None,
        }
    }

    /// Binds and starts receiving; returns at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_server::DatagramServer::new("127.0.0.1:0", |_d: &[u8], _p, _s: &gevent_net::UdpSocket| {});
    /// s.start().unwrap();
    /// assert!(s.started());
    /// s.close();
    /// ```
    ///
    /// # Errors
    ///
    /// Resolving or binding the address; `InvalidInput` once closed.
    ///
    /// # Switches
    ///
    /// Only to resolve a host name.
    ///
    /// # Kill safety
    ///
    /// A kill during a host-name lookup abandons it; the server is not started (no socket).
    pub fn start(&self) -> io::Result<()> {
        let inner = &self.inner;
        if inner.closed.get() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the server is closed",
            ));
        }
        if inner.socket.borrow().is_some() {
            return Ok(());
        }
        let addrs = inner.addr.resolve()?;
        let s = listener::bind_all(
            &addrs,
            1,
            |a| listener::udp(a, &inner.sock),
            |s| s.local_addr(),
        )?;
        let socket = UdpSocket::from_std(s.into_iter().next().expect("one socket"))?;
        *inner.socket.borrow_mut() = Some(socket.clone());
        let me = inner.clone();
        *inner.receiver.borrow_mut() = Some(spawn(move || me.receive_loop(socket)));
        Ok(())
    }

    /// Starts if needed, then waits until closed; then stops (gevent's `serve_forever`).
    ///
    /// # Errors
    ///
    /// As [`start`](DatagramServer::start).
    ///
    /// # Switches
    ///
    /// Yes, until the server closes.
    ///
    /// # Kill safety
    ///
    /// A kill ends the wait; the server keeps running.
    pub fn serve_forever(&self) -> io::Result<()> {
        self.start()?;
        self.inner.closed_event.wait();
        self.stop(None);
        Ok(())
    }

    /// Stops receiving and closes the socket; running handlers go on, but their replies fail.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn close(&self) {
        let inner = &self.inner;
        if inner.closed.replace(true) {
            return;
        }
        if let Some(g) = inner.receiver.borrow_mut().take() {
            g.kill_with(KillOptions {
                block: false,
                timeout: None,
            });
        }
        if let Some(s) = inner.socket.borrow_mut().take() {
            s.close();
        }
        inner.closed_event.set();
    }

    /// Stops receiving, waits up to `timeout` (`None`: 1 s) for the handlers, kills the rest,
    /// then closes the socket.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_server::DatagramServer::new("127.0.0.1:0", |_d: &[u8], _p, _s: &gevent_net::UdpSocket| {});
    /// s.start().unwrap();
    /// s.stop(None);
    /// assert!(s.closed());
    /// ```
    ///
    /// # Switches
    ///
    /// Yes, while handlers run.
    ///
    /// # Kill safety
    ///
    /// A kill ends the wait; handlers not yet killed keep running.
    pub fn stop(&self, timeout: Option<Duration>) {
        let inner = &self.inner;
        let t = timeout.unwrap_or(inner.stop_timeout);
        if let Some(g) = inner.receiver.borrow_mut().take() {
            g.kill_with(KillOptions {
                block: false,
                timeout: None,
            });
        }
        if !inner.handlers.is_empty() && !inner.handlers.join_timeout(t) {
            inner.handlers.kill_with(KillOptions {
                block: true,
                timeout: Some(Duration::from_secs(1).max(t)),
            });
        }
        self.close();
    }

    /// Sends `data` to `addr` through the server's socket (gevent's `sendto`).
    ///
    /// # Errors
    ///
    /// `NotConnected` if not started; `send_to`'s error.
    ///
    /// # Switches
    ///
    /// Only while the socket's send buffer is full.
    ///
    /// # Kill safety
    ///
    /// A kill while waiting sent nothing.
    pub fn send_to(&self, data: &[u8], addr: SocketAddr) -> io::Result<usize> {
        let s = self.inner.socket.borrow().clone();
        match s {
            Some(s) => s.send_to(data, addr),
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the server is not started",
            )),
        }
    }

    /// Whether it was started and is not closed.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn started(&self) -> bool {
        self.inner.socket.borrow().is_some()
    }

    /// Whether it was closed or stopped.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn closed(&self) -> bool {
        self.inner.closed.get()
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// `NotConnected` before `start`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match &*self.inner.socket.borrow() {
            Some(s) => s.local_addr(),
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the server is not started",
            )),
        }
    }
}

impl Inner {
    /// Receives until closed or killed.
    fn receive_loop(self: Rc<Self>, socket: UdpSocket) {
        let mut buf = vec![0u8; self.recv_buffer];
        let mut delay = Duration::from_millis(10);
        loop {
            if self.handlers.full() {
                self.handlers.wait_available();
            }
            if self.closed.get() {
                return;
            }
            match socket.recv_from(&mut buf) {
                Ok((n, peer)) => {
                    delay = Duration::from_millis(10);
                    let data = buf[..n].to_vec();
                    let (h, s) = (self.handler.clone(), socket.clone());
                    self.handlers.spawn(move || h(&data, peer, &s));
                }
                Err(e) => {
                    if self.closed.get() {
                        return;
                    }
                    match e.raw_os_error() {
                        Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK) => {
                            tracing::error!(error = %e, "gevent-server: fatal receive error; closing the server");
                            return;
                        }
                        _ => {
                            // ECONNREFUSED from an earlier reply's ICMP, ENOMEM...
                            tracing::debug!(error = %e, "gevent-server: recv_from failed");
                            if !matches!(e.raw_os_error(), Some(libc::ECONNREFUSED)) {
                                sleep(delay);
                                delay = (delay * 2).min(Duration::from_secs(1));
                            }
                        }
                    }
                }
            }
        }
    }
}

impl fmt::Debug for DatagramServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramServer")
            .field("addr", &self.local_addr().ok())
            .field("closed", &self.closed())
            .finish()
    }
}

/// Builder of [`DatagramServer`].
///
/// # Examples
///
/// ```
/// let s = gevent_server::DatagramServer::builder("127.0.0.1:0")
///     .recv_buffer(65_536)
///     .handler(|_d: &[u8], _p, _s: &gevent_net::UdpSocket| {})
///     .build();
/// # drop(s);
/// ```
pub struct DatagramBuilder {
    /// Where to listen.
    addr: Addr,
    /// Socket options.
    sock: SocketOptions,
    /// Receive buffer size.
    recv_buffer: usize,
    /// Pool size, if any.
    pool: Option<usize>,
    /// `stop_timeout`.
    stop_timeout: Duration,
    /// The handler.
    handler: Option<Handler>,
}

impl DatagramBuilder {
    /// `SO_REUSEADDR` (default on).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn reuse_addr(mut self, on: bool) -> Self {
        self.sock.reuse_addr = on;
        self
    }

    /// `SO_REUSEPORT` (default off).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.sock.reuse_port = on;
        self
    }

    /// The receive buffer (default 65,527 bytes, the largest UDP payload); a longer datagram
    /// is truncated to it.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn recv_buffer(mut self, bytes: usize) -> Self {
        self.recv_buffer = bytes.max(1);
        self
    }

    /// Runs at most `n` handlers at once; receiving waits while the pool is full.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn pool(mut self, n: usize) -> Self {
        self.pool = Some(n.max(1));
        self
    }

    /// How long `stop(None)` waits for handlers (default 1 s).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn stop_timeout(mut self, d: Duration) -> Self {
        self.stop_timeout = d;
        self
    }

    /// The datagram handler.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn handler<F>(mut self, f: F) -> Self
    where
        F: Fn(&[u8], SocketAddr, &UdpSocket) + 'static,
    {
        self.handler = Some(Rc::new(f));
        self
    }

    /// The server (not started).
    ///
    /// # Panics
    ///
    /// Without a handler.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn build(self) -> DatagramServer {
        let handler = self
            .handler
            .expect("DatagramServer::builder(..).handler(f) must be called before build");
        DatagramServer {
            inner: Rc::new(Inner {
                addr: self.addr,
                sock: self.sock,
                recv_buffer: self.recv_buffer,
                handler,
                socket: RefCell::new(None),
                receiver: RefCell::new(None),
                handlers: match self.pool {
                    Some(n) => Pool::new(n).group(),
                    None => Group::new(),
                },
                stop_timeout: self.stop_timeout,
                closed: Cell::new(false),
                closed_event: Event::new(),
            }),
        }
    }
}

impl fmt::Debug for DatagramBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramBuilder")
            .field("addr", &self.addr)
            .field("recv_buffer", &self.recv_buffer)
            .finish()
    }
}
