//! [`StreamServer`]: gevent's TCP server, one greenlet per connection.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use gevent_event::Event;
use gevent_hub::{sleep, spawn, Greenlet, KillOptions};
use gevent_pool::{Group, Pool};

use crate::addr::{Addr, ServerAddr};
use crate::listener::{self, SocketOptions};
use crate::net::{TcpListener, TcpStream};
use crate::signal::Signal;

/// What runs for each connection on one thread.
pub(crate) type Handler = Rc<dyn Fn(TcpStream, SocketAddr)>;

/// What a server runs on one thread: the connection handler and hooks.
#[derive(Clone)]
pub(crate) struct Service {
    /// Runs for each accepted connection, in its own greenlet.
    pub(crate) handler: Handler,
    /// Called when the server closes (stops accepting), before waiting for handlers.
    pub(crate) on_close: Option<Rc<dyn Fn()>>,
    /// Close the connection when the handler returns, even if it kept a clone (gevent).
    pub(crate) close_after: bool,
}

/// Builds a thread's [`Service`]; called once on each server thread.
pub(crate) type Factory = Arc<dyn Fn() -> Service + Send + Sync>;

/// Where the handler comes from.
enum Source {
    /// Built on this thread (`handler`); taken at start.
    Local(RefCell<Option<Service>>),
    /// Built on each server thread (`handler_factory`).
    Factory(Factory),
}

/// Settings shared by every thread of a server.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Socket options of the listeners.
    pub(crate) sock: SocketOptions,
    /// Connections accepted in a row before the acceptor yields to the handlers.
    pub(crate) max_accept: usize,
    /// First pause after an accept error such as `EMFILE` (gevent's `min_delay`).
    pub(crate) min_delay: Duration,
    /// Longest pause after repeated accept errors (gevent's `max_delay`).
    pub(crate) max_delay: Duration,
    /// `stop(None)`'s grace period and `serve_forever`'s (gevent's `stop_timeout`).
    pub(crate) stop_timeout: Duration,
    /// `TCP_NODELAY` on accepted connections.
    pub(crate) nodelay: bool,
    /// With `Some(n)`, at most `n` handlers run at once per thread.
    pub(crate) pool: Option<usize>,
    /// Server threads, each with a hub and a listener.
    pub(crate) threads: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sock: SocketOptions {
                backlog: libc::SOMAXCONN,
                reuse_addr: true,
                reuse_port: false,
            },
            max_accept: 100,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
            stop_timeout: Duration::from_secs(1),
            nodelay: false,
            pool: None,
            threads: 1,
        }
    }
}

/// A TCP server (gevent's `StreamServer`): accepts connections and runs `handler(stream,
/// peer)` for each in its own greenlet; the connection is closed when the handler returns.
///
/// `start` returns at once (the acceptor runs whenever the calling greenlet waits);
/// `serve_forever` starts and then waits until the server is closed or stopped.
/// `stop(timeout)` stops accepting, waits up to `timeout` for the handlers, then kills those
/// still running (their `Drop`s run). Unlike gevent, handlers are tracked even without a pool,
/// so `stop` always bounds shutdown.
///
/// A `StreamServer` lives on the thread that made it (`!Send`); with
/// [`threads(n)`](StreamBuilder::threads) it drives `n` server threads from there.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use gevent_server::StreamServer;
/// use gevent_net::TcpStream;
///
/// let server = StreamServer::builder("127.0.0.1:0")
///     .pool(100)
///     .handler(|mut s: TcpStream, _peer| { let _ = s.write_all(b"hello\n"); })
///     .build()
///     .unwrap();
/// server.start().unwrap();
/// let mut c = TcpStream::connect(server.local_addr().unwrap()).unwrap();
/// let mut line = String::new();
/// c.read_to_string(&mut line).unwrap();
/// assert_eq!(line, "hello\n");
/// server.stop(None);
/// assert!(server.closed());
/// ```
#[derive(Clone)]
pub struct StreamServer {
    /// The shared state (clones are handles to one server).
    inner: Rc<Inner>,
}

/// The state behind a [`StreamServer`].
struct Inner {
    /// Where to listen.
    addr: Option<Addr>,
    /// A listener given by the user (`from_listener`), until start.
    listener: RefCell<Option<TcpListener>>,
    /// The settings.
    cfg: Config,
    /// The handler or its factory.
    source: Source,
    /// Not started, started on this thread, or started on threads.
    state: RefCell<State>,
    /// `close` or `stop` was called.
    closed: Cell<bool>,
    /// Set when closed (what `serve_forever` waits for).
    closed_event: Event,
}

/// Where the server runs.
enum State {
    /// Not started.
    New,
    /// On this thread.
    Local(Rc<Local>),
    /// On server threads.
    Threads {
        /// The address they all listen on.
        addr: SocketAddr,
        /// The threads.
        workers: Vec<Worker>,
    },
}

/// One server thread, seen from the thread that started it.
struct Worker {
    /// Commands to it.
    commands: Signal<Command>,
    /// Sent once it has finished (all handlers done).
    done: Signal<()>,
    /// The thread, until joined.
    thread: Option<JoinHandle<()>>,
}

/// What a server thread can be told.
enum Command {
    /// Stop accepting and close the listener.
    Close,
    /// Close, wait this long for the handlers, then kill them.
    Stop(Duration),
    /// Resume accepting.
    StartAccepting,
    /// Pause accepting (the listener stays open).
    StopAccepting,
}

impl StreamServer {
    /// A server for `addr` running `handler(stream, peer)` per connection, with gevent's
    /// defaults (no pool, `SO_REUSEADDR`, backlog `SOMAXCONN`). Nothing is bound until
    /// [`start`](StreamServer::start).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_server::StreamServer::new("127.0.0.1:0", |_stream, _peer| {});
    /// assert!(!s.started());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new<A, F>(addr: A, handler: F) -> StreamServer
    where
        A: ServerAddr,
        F: Fn(TcpStream, SocketAddr) + 'static,
    {
        StreamServer::builder(addr)
            .handler(handler)
            .build()
            .expect("a one-thread server with a handler always builds")
    }

    /// A server on a listener already bound (gevent's `StreamServer(socket, ...)`); socket
    /// options and `threads` do not apply.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = l.local_addr().unwrap();
    /// let s = gevent_server::StreamServer::from_listener(l, |_stream, _peer| {});
    /// assert_eq!(s.local_addr().unwrap(), addr);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn from_listener<F>(listener: TcpListener, handler: F) -> StreamServer
    where
        F: Fn(TcpStream, SocketAddr) + 'static,
    {
        StreamServer::from_parts(
            None,
            Some(listener),
            Config::default(),
            Source::Local(RefCell::new(Some(user_service(handler)))),
        )
    }

    /// A builder for `addr` with every option.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_server::StreamServer::builder("127.0.0.1:0")
    ///     .backlog(1024)
    ///     .max_accept(1)
    ///     .handler(|_s, _peer| {})
    ///     .build()
    ///     .unwrap();
    /// # drop(s);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn builder<A: ServerAddr>(addr: A) -> StreamBuilder {
        StreamBuilder {
            addr: addr.into_server_addr(),
            cfg: Config::default(),
            source: None,
            #[cfg(feature = "tls")]
            tls: None,
            stream: PhantomData,
        }
    }

    /// Assembles a server.
    fn from_parts(
        addr: Option<Addr>,
        listener: Option<TcpListener>,
        cfg: Config,
        source: Source,
    ) -> StreamServer {
        StreamServer {
            inner: Rc::new(Inner {
                addr,
                listener: RefCell::new(listener),
                cfg,
                source,
                state: RefCell::new(State::New),
                closed: Cell::new(false),
                closed_event: Event::new(),
            }),
        }
    }

    /// A server for the HTTP layer: `factory` builds each thread's service.
    pub(crate) fn with_factory(addr: Addr, cfg: Config, factory: Factory) -> StreamServer {
        StreamServer::from_parts(Some(addr), None, cfg, Source::Factory(factory))
    }

    /// A one-thread server for the HTTP layer running `service`.
    pub(crate) fn with_service(addr: Addr, cfg: Config, service: Service) -> StreamServer {
        StreamServer::from_parts(
            Some(addr),
            None,
            cfg,
            Source::Local(RefCell::new(Some(service))),
        )
    }

    /// Binds (unless given a listener) and starts accepting; returns at once. With
    /// `threads(n)`, starts the `n` server threads and returns once they all listen.
    /// Starting a started server does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_server::StreamServer::new("127.0.0.1:0", |_s, _p| {});
    /// s.start().unwrap();
    /// assert!(s.started());
    /// s.close();
    /// ```
    ///
    /// # Errors
    ///
    /// Resolving or binding the address (in use, permission), or a server thread's error;
    /// `InvalidInput` once closed.
    ///
    /// # Switches
    ///
    /// To resolve a host name; with threads, until they listen.
    ///
    /// # Kill safety
    ///
    /// A kill while threads start leaves them running; `stop` still reaches them.
    pub fn start(&self) -> io::Result<()> {
        let inner = &*self.inner;
        if inner.closed.get() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the server is closed",
            ));
        }
        if !matches!(*inner.state.borrow(), State::New) {
            return Ok(());
        }
        let threads = inner.cfg.threads.max(1);
        if threads == 1 {
            let service = match &inner.source {
                Source::Local(s) => s.borrow_mut().take(),
                Source::Factory(f) => Some(f()),
            }
            .ok_or_else(|| io::Error::other("the server has no handler"))?;
            let listener = match inner.listener.borrow_mut().take() {
                Some(l) => l,
                None => {
                    let addrs = inner.addr.as_ref().expect("an address").resolve()?;
                    let l = listener::bind_all(
                        &addrs,
                        1,
                        |a| listener::tcp(a, &inner.cfg.sock),
                        |l| l.local_addr(),
                    )?;
                    TcpListener::from_std(l.into_iter().next().expect("one listener"))?
                }
            };
            let local = Local::new(inner.cfg.clone(), service, listener)?;
            local.start_accepting();
            *inner.state.borrow_mut() = State::Local(local);
            return Ok(());
        }
        let Source::Factory(factory) = &inner.source else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "threads(n) with n > 1 needs handler_factory",
            ));
        };
        let addrs = inner.addr.as_ref().expect("an address").resolve()?;
        let mut sock = inner.cfg.sock;
        sock.reuse_port = true;
        let listeners = listener::bind_all(
            &addrs,
            threads,
            |a| listener::tcp(a, &sock),
            |l| l.local_addr(),
        )?;
        let addr = listeners[0].local_addr()?;
        let mut workers = Vec::with_capacity(threads);
        let mut started = Vec::with_capacity(threads);
        for (i, l) in listeners.into_iter().enumerate() {
            let commands = Signal::new();
            let done = Signal::new();
            let up = Signal::new();
            let (c, d, u, f, cfg) = (
                commands.clone(),
                done.clone(),
                up.clone(),
                factory.clone(),
                inner.cfg.clone(),
            );
            let thread = std::thread::Builder::new()
                .name(format!("gevent-server-{i}"))
                .spawn(move || worker_main(l, cfg, f, c, u, d))?;
            workers.push(Worker {
                commands,
                done,
                thread: Some(thread),
            });
            started.push(up);
        }
        *inner.state.borrow_mut() = State::Threads { addr, workers };
        for up in started {
            match up.recv(None) {
                Some(Ok(())) => {}
                Some(Err(e)) => {
                    self.stop(Some(Duration::ZERO));
                    return Err(e);
                }
                None => {
                    self.stop(Some(Duration::ZERO));
                    return Err(io::Error::other("a server thread failed to start"));
                }
            }
        }
        Ok(())
    }

    /// Starts if needed, then waits until the server is closed or stopped; when it is, stops it
    /// with the `stop_timeout` (gevent's `serve_forever`).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_server::StreamServer::new("127.0.0.1:0", |_s, _p| {});
    /// let s2 = s.clone();
    /// gevent_hub::spawn(move || s2.stop(None));
    /// s.serve_forever().unwrap();
    /// assert!(s.closed());
    /// ```
    ///
    /// # Errors
    ///
    /// As [`start`](StreamServer::start).
    ///
    /// # Switches
    ///
    /// Yes, until the server closes.
    ///
    /// # Kill safety
    ///
    /// A kill ends the wait; the server keeps running (call `stop`).
    pub fn serve_forever(&self) -> io::Result<()> {
        self.start()?;
        let local = match &*self.inner.state.borrow() {
            State::Local(l) => Some(l.clone()),
            _ => None,
        };
        match local {
            Some(l) => {
                l.closed_event.wait();
            }
            None => {
                // The server threads run elsewhere: nothing in this hub would keep its loop
                // alive while waiting for `close` (from a signal handler, another greenlet).
                let _hold = gevent_hub::get_hub().remote().hold();
                self.inner.closed_event.wait();
            }
        }
        self.stop(None);
        Ok(())
    }

    /// Stops accepting and closes the listener(s); running handlers go on (gevent's `close`).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_server::StreamServer::new("127.0.0.1:0", |_s, _p| {});
    /// s.start().unwrap();
    /// s.close();
    /// assert!(s.closed() && !s.started());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn close(&self) {
        let inner = &*self.inner;
        if !inner.closed.replace(true) {
            inner.closed_event.set();
        }
        match &*inner.state.borrow() {
            State::New => {
                if let Some(l) = inner.listener.borrow_mut().take() {
                    l.close();
                }
            }
            State::Local(l) => l.close(),
            State::Threads { workers, .. } => {
                for w in workers {
                    w.commands.send(Command::Close);
                }
            }
        }
    }

    /// Closes, waits up to `timeout` (`None`: the `stop_timeout`, default 1 s) for the running
    /// handlers, then kills the rest and waits for them to die (gevent's `stop`). With threads,
    /// every thread does so and this waits for all of them.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = gevent_server::StreamServer::new("127.0.0.1:0", |_s, _p| {
    ///     gevent_hub::sleep(Duration::from_secs(60)); // killed by stop
    /// });
    /// s.start().unwrap();
    /// let _c = gevent_net::TcpStream::connect(s.local_addr().unwrap()).unwrap();
    /// gevent_hub::sleep(Duration::from_millis(20));
    /// s.stop(Some(Duration::from_millis(10)));
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
        let t = timeout.unwrap_or(self.inner.cfg.stop_timeout);
        let inner = &*self.inner;
        if !inner.closed.replace(true) {
            inner.closed_event.set();
        }
        let local = match &*inner.state.borrow() {
            State::Local(l) => Some(l.clone()),
            State::New => {
                if let Some(l) = inner.listener.borrow_mut().take() {
                    l.close();
                }
                None
            }
            State::Threads { workers, .. } => {
                for w in workers {
                    w.commands.send(Command::Stop(t));
                }
                None
            }
        };
        if let Some(l) = local {
            l.stop(t);
            return;
        }
        // Threads: wait for each to report, with room for its kills.
        let grace = t + Duration::from_secs(5);
        let mut state = inner.state.borrow_mut();
        if let State::Threads { workers, .. } = &mut *state {
            let pending: Vec<(Signal<()>, Option<JoinHandle<()>>)> = workers
                .iter_mut()
                .map(|w| (w.done.clone(), w.thread.take()))
                .collect();
            drop(state);
            for (done, thread) in pending {
                if done.recv(Some(grace)).is_some() {
                    if let Some(t) = thread {
                        let _ = t.join();
                    }
                } else if thread.is_some() {
                    tracing::warn!("gevent-server: a server thread did not stop in time");
                }
            }
        }
    }

    /// Pauses accepting; the listener stays open and the kernel queues new connections
    /// (gevent's `stop_accepting`).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_server::StreamServer::new("127.0.0.1:0", |_s, _p| {});
    /// s.start().unwrap();
    /// s.stop_accepting();
    /// s.start_accepting();
    /// s.close();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn stop_accepting(&self) {
        match &*self.inner.state.borrow() {
            State::Local(l) => l.stop_accepting(),
            State::Threads { workers, .. } => {
                for w in workers {
                    w.commands.send(Command::StopAccepting);
                }
            }
            State::New => {}
        }
    }

    /// Resumes accepting after [`stop_accepting`](StreamServer::stop_accepting) (gevent's
    /// `start_accepting`); does nothing once closed.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn start_accepting(&self) {
        match &*self.inner.state.borrow() {
            State::Local(l) => l.start_accepting(),
            State::Threads { workers, .. } => {
                for w in workers {
                    w.commands.send(Command::StartAccepting);
                }
            }
            State::New => {}
        }
    }

    /// Whether it was started and is not closed (gevent's `started`).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_server::StreamServer::new("127.0.0.1:0", |_s, _p| {});
    /// assert!(!s.started());
    /// s.start().unwrap();
    /// assert!(s.started());
    /// s.close();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn started(&self) -> bool {
        !self.closed() && !matches!(*self.inner.state.borrow(), State::New)
    }

    /// Whether it was closed or stopped, by the user or after a fatal accept error
    /// (gevent's `closed`).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_server::StreamServer::new("127.0.0.1:0", |_s, _p| {});
    /// s.close();
    /// assert!(s.closed());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn closed(&self) -> bool {
        if self.inner.closed.get() {
            return true;
        }
        match &*self.inner.state.borrow() {
            State::Local(l) => l.closed.get(),
            _ => false,
        }
    }

    /// The address it listens on (after `start`, or for a server given a listener).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_server::StreamServer::new("127.0.0.1:0", |_s, _p| {});
    /// assert!(s.local_addr().is_err());
    /// s.start().unwrap();
    /// assert_ne!(s.local_addr().unwrap().port(), 0);
    /// s.close();
    /// ```
    ///
    /// # Errors
    ///
    /// `NotConnected` before `start`.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match &*self.inner.state.borrow() {
            State::Local(l) => Ok(l.addr),
            State::Threads { addr, .. } => Ok(*addr),
            State::New => match &*self.inner.listener.borrow() {
                Some(l) => l.local_addr(),
                None => Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "the server is not started",
                )),
            },
        }
    }

    /// The number of handlers running now (on this thread's server; 0 with threads).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_server::StreamServer::new("127.0.0.1:0", |_s, _p| {});
    /// assert_eq!(s.handler_count(), 0);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn handler_count(&self) -> usize {
        match &*self.inner.state.borrow() {
            State::Local(l) => l.handlers.len(),
            _ => 0,
        }
    }
}

impl fmt::Debug for StreamServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamServer")
            .field("addr", &self.local_addr().ok())
            .field("started", &self.started())
            .field("closed", &self.closed())
            .finish()
    }
}

/// A user's handler as a service (closes the connection after it returns).
fn user_service<F: Fn(TcpStream, SocketAddr) + 'static>(f: F) -> Service {
    Service {
        handler: Rc::new(f),
        on_close: None,
        close_after: true,
    }
}

/// The body of a server thread: a one-thread server on `listener` until told to stop.
fn worker_main(
    listener: std::net::TcpListener,
    cfg: Config,
    factory: Factory,
    commands: Signal<Command>,
    up: Signal<io::Result<()>>,
    done: Signal<()>,
) {
    let local = match TcpListener::from_std(listener).and_then(|l| Local::new(cfg, factory(), l)) {
        Ok(l) => l,
        Err(e) => {
            up.send(Err(e));
            done.send(());
            return;
        }
    };
    local.start_accepting();
    up.send(Ok(()));
    let l2 = local.clone();
    let control = spawn(move || loop {
        match commands.recv(None) {
            Some(Command::Close) => l2.close(),
            Some(Command::Stop(t)) => {
                l2.stop(t);
                return;
            }
            Some(Command::StartAccepting) => l2.start_accepting(),
            Some(Command::StopAccepting) => l2.stop_accepting(),
            None => {}
        }
    });
    local.closed_event.wait();
    local.handlers.join();
    control.kill();
    done.send(());
}

/// Builder of [`StreamServer`] (see [`StreamServer::builder`]). `S` is the stream the
/// handlers get: gevent's [`TcpStream`], or after [`tls`](StreamBuilder::tls) (feature
/// `tls`) a `TlsStream<TcpStream>`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let s = gevent_server::StreamServer::builder("127.0.0.1:0")
///     .backlog(1024)
///     .reuse_port(true)
///     .pool(10_000)
///     .accept_backoff(Duration::from_millis(10), Duration::from_secs(1))
///     .handler(|_s, _p| {})
///     .build()
///     .unwrap();
/// # drop(s);
/// ```
pub struct StreamBuilder<S = TcpStream> {
    /// Where to listen.
    addr: Addr,
    /// The settings so far.
    cfg: Config,
    /// The handler or factory, once given.
    source: Option<Source>,
    /// TLS: the acceptor and the handler waiting for it.
    #[cfg(feature = "tls")]
    tls: Option<TlsOptions>,
    /// The stream type the handlers get.
    stream: PhantomData<fn(S)>,
}

/// The TLS side of a [`StreamBuilder`].
#[cfg(feature = "tls")]
struct TlsOptions {
    /// The server configuration.
    config: Arc<gevent_ssl::rustls::ServerConfig>,
    /// The handshake's deadline.
    handshake_timeout: Duration,
    /// A plain handler was set before `tls()`.
    plain_handler_set: bool,
    /// Makes the service from the acceptor (set by `handler`/`handler_factory`).
    make: Option<Box<dyn FnOnce(gevent_ssl::TlsAcceptor) -> Source>>,
}

impl<S> StreamBuilder<S> {
    /// `listen`'s backlog (default `SOMAXCONN`; gevent's is 128; the kernel caps it at
    /// `net.core.somaxconn`).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn backlog(mut self, n: i32) -> Self {
        self.cfg.sock.backlog = n;
        self
    }

    /// `SO_REUSEADDR` (default on, as gevent).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn reuse_addr(mut self, on: bool) -> Self {
        self.cfg.sock.reuse_addr = on;
        self
    }

    /// `SO_REUSEPORT` (default off; always on with `threads(n > 1)`): other sockets, in
    /// this process or another, may listen on the same port, and the kernel spreads the
    /// connections between them.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.cfg.sock.reuse_port = on;
        self
    }

    /// Runs at most `n` handlers at once (per thread); the acceptor waits while the pool is
    /// full (gevent's `spawn=Pool(n)`). `n` must be at least 1.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn pool(mut self, n: usize) -> Self {
        self.cfg.pool = Some(n.max(1));
        self
    }

    /// Connections accepted in a row before the acceptor lets handlers run (gevent's
    /// `max_accept`, default 100; 1 spreads load between processes sharing a listener).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn max_accept(mut self, n: usize) -> Self {
        self.cfg.max_accept = n.max(1);
        self
    }

    /// After an accept error such as `EMFILE`/`ENFILE` (out of file descriptors), pause
    /// accepting for `min`, doubling on each further error up to `max`, back to `min` after
    /// a success (gevent's `min_delay` 10 ms and `max_delay` 1 s).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn accept_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.cfg.min_delay = min.max(Duration::from_micros(100));
        self.cfg.max_delay = max.max(self.cfg.min_delay);
        self
    }

    /// How long `stop(None)` and `serve_forever` wait for handlers before killing them
    /// (gevent's `stop_timeout`, default 1 s).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn stop_timeout(mut self, d: Duration) -> Self {
        self.cfg.stop_timeout = d;
        self
    }

    /// `TCP_NODELAY` on accepted connections (default off).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn nodelay(mut self, on: bool) -> Self {
        self.cfg.nodelay = on;
        self
    }

    /// Serve from `n` threads (default 1), each with its own hub and its own `SO_REUSEPORT`
    /// listener on the same port; needs [`handler_factory`](StreamBuilder::handler_factory).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn threads(mut self, n: usize) -> Self {
        self.cfg.threads = n.max(1);
        self
    }

    /// The server (not started).
    ///
    /// # Errors
    ///
    /// `InvalidInput` without a handler, with `threads(n > 1)` and `handler` instead of
    /// `handler_factory`, or with a plain handler set before [`tls`](StreamBuilder::tls).
    ///
    /// # Switches
    ///
    /// Never.
    #[allow(unused_mut)]
    pub fn build(mut self) -> io::Result<StreamServer> {
        #[cfg(feature = "tls")]
        if let Some(t) = self.tls.take() {
            if t.plain_handler_set {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the handler was set before tls(): set it after, it gets a TlsStream",
                ));
            }
            let acceptor =
                gevent_ssl::TlsAcceptor::new(t.config).handshake_timeout(Some(t.handshake_timeout));
            self.source = t.make.map(|make| make(acceptor));
        }
        let source = self.source.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "the server needs a handler")
        })?;
        if self.cfg.threads > 1 && matches!(source, Source::Local(_)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "threads(n) with n > 1 needs handler_factory",
            ));
        }
        Ok(StreamServer::from_parts(
            Some(self.addr),
            None,
            self.cfg,
            source,
        ))
    }
}

impl StreamBuilder<TcpStream> {
    /// The connection handler, for a server on this thread.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn handler<F>(mut self, f: F) -> Self
    where
        F: Fn(TcpStream, SocketAddr) + 'static,
    {
        self.source = Some(Source::Local(RefCell::new(Some(user_service(f)))));
        self
    }

    /// Builds the connection handler once on each server thread (needed with `threads`).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn handler_factory<FF, F>(mut self, factory: FF) -> Self
    where
        FF: Fn() -> F + Send + Sync + 'static,
        F: Fn(TcpStream, SocketAddr) + 'static,
    {
        self.source = Some(Source::Factory(Arc::new(move || user_service(factory()))));
        self
    }

    /// Serve TLS: each connection's handler gets a `TlsStream<TcpStream>` (set the handler
    /// after this call). The handshake runs first, in the connection's own greenlet, within
    /// the [handshake timeout](StreamBuilder::handshake_timeout) (default 10 s); when it fails
    /// (a plaintext client, garbage, a stall past the deadline, a client rejecting the
    /// certificate) the failure is logged through `tracing` (INFO) and the connection closed
    /// without calling the handler. The other connections are not disturbed.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (server_config, _) = include!("../tests/support/tls_configs.rs");
    /// use std::io::{Read, Write};
    /// use gevent_net::TcpStream;
    /// use gevent_ssl::TlsStream;
    /// // server_config: Arc<rustls::ServerConfig>
    /// let server = gevent_server::StreamServer::builder("127.0.0.1:0")
    ///     .tls(server_config)
    ///     .handler(|mut s: TlsStream<TcpStream>, _peer| {
    ///         let _ = s.write_all(b"hello over TLS\n");
    ///         let _ = s.shutdown();
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # drop(server);
    /// ```
    ///
    /// # Switches
    ///
    /// Never: it only records the configuration (handshakes run in each connection's greenlet).
    #[cfg(feature = "tls")]
    pub fn tls(
        self,
        config: Arc<gevent_ssl::rustls::ServerConfig>,
    ) -> StreamBuilder<gevent_ssl::TlsStream<TcpStream>> {
        StreamBuilder {
            tls: Some(TlsOptions {
                config,
                handshake_timeout: crate::http::DEFAULT_HANDSHAKE_TIMEOUT,
                plain_handler_set: self.source.is_some(),
                make: None,
            }),
            addr: self.addr,
            cfg: self.cfg,
            source: None,
            stream: PhantomData,
        }
    }
}

#[cfg(feature = "tls")]
impl StreamBuilder<gevent_ssl::TlsStream<TcpStream>> {
    /// The connection handler, for a server on this thread; it runs once the handshake is
    /// done.
    ///
    /// # Switches
    ///
    /// Never: it only records the handler.
    pub fn handler<F>(mut self, f: F) -> Self
    where
        F: Fn(gevent_ssl::TlsStream<TcpStream>, SocketAddr) + 'static,
    {
        if let Some(t) = &mut self.tls {
            t.make = Some(Box::new(move |acceptor| {
                Source::Local(RefCell::new(Some(tls_service(acceptor, f))))
            }));
        }
        self
    }

    /// Builds the connection handler once on each server thread (needed with `threads`).
    ///
    /// # Switches
    ///
    /// Never: it only records the factory.
    pub fn handler_factory<FF, F>(mut self, factory: FF) -> Self
    where
        FF: Fn() -> F + Send + Sync + 'static,
        F: Fn(gevent_ssl::TlsStream<TcpStream>, SocketAddr) + 'static,
    {
        if let Some(t) = &mut self.tls {
            t.make = Some(Box::new(move |acceptor| {
                Source::Factory(Arc::new(move || tls_service(acceptor.clone(), factory())))
            }));
        }
        self
    }

    /// Deadline for each connection's TLS handshake, from its accept (default 10 s).
    ///
    /// # Switches
    ///
    /// Never: it only records the setting.
    pub fn handshake_timeout(mut self, d: Duration) -> Self {
        if let Some(t) = &mut self.tls {
            t.handshake_timeout = d;
        }
        self
    }
}

/// A TLS handler as a service: the handshake, then `f` (closes the connection after it
/// returns, or after a failed handshake).
#[cfg(feature = "tls")]
fn tls_service<F>(acceptor: gevent_ssl::TlsAcceptor, f: F) -> Service
where
    F: Fn(gevent_ssl::TlsStream<TcpStream>, SocketAddr) + 'static,
{
    Service {
        handler: Rc::new(
            move |s: TcpStream, peer: SocketAddr| match acceptor.accept(s) {
                Ok(tls) => f(tls, peer),
                Err(e) => tracing::info!(
                    peer = %peer,
                    error = %e,
                    "gevent-server: TLS handshake failed; closing the connection"
                ),
            },
        ),
        on_close: None,
        close_after: true,
    }
}

impl<S> fmt::Debug for StreamBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamBuilder")
            .field("addr", &self.addr)
            .field("cfg", &self.cfg)
            .finish()
    }
}

/// The server of one thread: a listener, its acceptor greenlet, the handlers.
pub(crate) struct Local {
    /// The settings.
    cfg: Config,
    /// What runs per connection.
    service: Service,
    /// The listener, until closed.
    listener: RefCell<Option<TcpListener>>,
    /// The accepting greenlet, while accepting.
    acceptor: RefCell<Option<Greenlet<()>>>,
    /// The running handlers (a pool's group with `pool(n)`).
    handlers: Group,
    /// Closed: accepting stopped for good.
    closed: Cell<bool>,
    /// Set when closed.
    closed_event: Event,
    /// The listener's address.
    addr: SocketAddr,
}

impl Local {
    /// A server on `listener` (not accepting yet).
    fn new(cfg: Config, service: Service, listener: TcpListener) -> io::Result<Rc<Local>> {
        let handlers = match cfg.pool {
            Some(n) => Pool::new(n).group(),
            None => Group::new(),
        };
        Ok(Rc::new(Local {
            addr: listener.local_addr()?,
            cfg,
            service,
            listener: RefCell::new(Some(listener)),
            acceptor: RefCell::new(None),
            handlers,
            closed: Cell::new(false),
            closed_event: Event::new(),
        }))
    }

    /// Spawns the acceptor unless it runs or the server is closed.
    fn start_accepting(self: &Rc<Self>) {
        if self.closed.get() || self.acceptor.borrow().is_some() {
            return;
        }
        let Some(listener) = self.listener.borrow().clone() else {
            return;
        };
        let me = self.clone();
        *self.acceptor.borrow_mut() = Some(spawn(move || me.accept_loop(listener)));
    }

    /// Kills the acceptor (without waiting).
    fn stop_accepting(&self) {
        let g = self.acceptor.borrow_mut().take();
        if let Some(g) = g {
            g.kill_with(KillOptions {
                block: false,
                timeout: None,
            });
        }
    }

    /// Stops accepting for good and closes the listener; tells the service.
    fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        self.stop_accepting();
        if let Some(l) = self.listener.borrow_mut().take() {
            l.close();
        }
        if let Some(f) = &self.service.on_close {
            f();
        }
        self.closed_event.set();
    }

    /// Closes, waits `t` for the handlers, kills the rest.
    fn stop(&self, t: Duration) {
        self.close();
        if self.handlers.is_empty() {
            return;
        }
        if !self.handlers.join_timeout(t) {
            self.handlers.kill_with(KillOptions {
                block: true,
                timeout: Some(Duration::from_secs(1).max(t)),
            });
        }
    }

    /// Accepts until closed or killed.
    fn accept_loop(self: Rc<Self>, listener: TcpListener) {
        let mut delay = self.cfg.min_delay;
        let mut burst = 0usize;
        let mut errors = 0usize;
        loop {
            if self.handlers.full() {
                self.handlers.wait_available();
            }
            if self.closed.get() {
                return;
            }
            match listener.accept() {
                Ok((s, peer)) => {
                    delay = self.cfg.min_delay;
                    errors = 0;
                    if self.cfg.nodelay {
                        let _ = s.set_nodelay(true);
                    }
                    self.spawn_handler(s, peer);
                    burst += 1;
                    if burst >= self.cfg.max_accept {
                        burst = 0;
                        sleep(Duration::ZERO);
                    }
                }
                Err(e) => {
                    if self.closed.get() {
                        return;
                    }
                    burst = 0;
                    match e.raw_os_error() {
                        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
                            tracing::warn!(error = %e, ?delay, "gevent-server: accept failed; pausing");
                            sleep(delay);
                            delay = (delay * 2).min(self.cfg.max_delay);
                        }
                        Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK) => {
                            tracing::error!(error = %e, addr = %self.addr, "gevent-server: fatal accept error; closing the server");
                            // Leave the acceptor slot first: `close` must not kill this greenlet.
                            self.acceptor.borrow_mut().take();
                            self.close();
                            return;
                        }
                        _ => {
                            // ECONNABORTED, EPERM (firewall), EPROTO...: the next one may do.
                            tracing::debug!(error = %e, "gevent-server: accept failed");
                            errors += 1;
                            if errors % 64 == 0 {
                                sleep(delay);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Runs the handler for one connection in a new tracked greenlet.
    fn spawn_handler(&self, s: TcpStream, peer: SocketAddr) {
        let h = self.service.handler.clone();
        if self.service.close_after {
            self.handlers.spawn(move || {
                let keep = s.clone();
                h(s, peer);
                keep.close();
            });
        } else {
            self.handlers.spawn(move || h(s, peer));
        }
    }
}
