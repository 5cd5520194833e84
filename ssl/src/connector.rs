//! [`TlsConnector`] and [`TlsAcceptor`]: a configuration plus a handshake time limit, made
//! once and used for many connections.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use rustls::{ClientConfig, ServerConfig};

use crate::stream::TlsStream;
use crate::transport::Transport;

/// Makes client connections with one configuration and an optional handshake time limit.
/// Cheap to clone (the configuration is shared).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent_net::{TcpListener, TcpStream};
/// use gevent_ssl::{TlsAcceptor, TlsConnector};
/// # let (server_config, client_config) = include!("../tests/support/doc_configs.rs");
/// let acceptor = TlsAcceptor::new(server_config).handshake_timeout(Some(Duration::from_secs(10)));
/// let connector = TlsConnector::new(client_config).handshake_timeout(Some(Duration::from_secs(10)));
/// let l = TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = l.local_addr().unwrap();
/// let s = gevent_hub::spawn(move || acceptor.accept(l.accept().unwrap().0).map(drop).map_err(|e| e.to_string()));
/// let tls = connector.connect("localhost", TcpStream::connect(addr).unwrap()).unwrap();
/// s.get().unwrap().unwrap();
/// # drop(tls);
/// ```
#[derive(Debug, Clone)]
pub struct TlsConnector {
    /// The rustls client configuration.
    config: Arc<ClientConfig>,
    /// The time limit of each handshake; `None`: only the stream's timeouts.
    handshake_timeout: Option<Duration>,
}

impl TlsConnector {
    /// A connector for `config`, without a handshake time limit.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (_, client_config) = include!("../tests/support/doc_configs.rs");
    /// let c = gevent_ssl::TlsConnector::new(client_config);
    /// # drop(c);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new(config: Arc<ClientConfig>) -> TlsConnector {
        TlsConnector {
            config,
            handshake_timeout: None,
        }
    }

    /// Limits each handshake to `timeout` (`None`: no limit beyond the stream's own
    /// timeouts).
    ///
    /// # Examples
    ///
    /// ```
    /// # let (_, client_config) = include!("../tests/support/doc_configs.rs");
    /// let c = gevent_ssl::TlsConnector::new(client_config)
    ///     .handshake_timeout(Some(std::time::Duration::from_secs(5)));
    /// # drop(c);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> TlsConnector {
        self.handshake_timeout = timeout;
        self
    }

    /// The configuration.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (_, client_config) = include!("../tests/support/doc_configs.rs");
    /// let c = gevent_ssl::TlsConnector::new(client_config.clone());
    /// assert!(std::sync::Arc::ptr_eq(c.config(), &client_config));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// [`TlsStream::connect`] (or [`TlsStream::connect_timeout`]) with this connector's
    /// configuration and time limit.
    ///
    /// # Examples
    ///
    /// See [`TlsConnector`].
    ///
    /// # Errors
    ///
    /// As [`TlsStream::connect_timeout`].
    ///
    /// # Switches
    ///
    /// Yes, while waiting for the server.
    ///
    /// # Kill safety
    ///
    /// As [`TlsStream::connect`].
    pub fn connect<S: Transport>(&self, server_name: &str, stream: S) -> io::Result<TlsStream<S>> {
        TlsStream::connect_inner(
            self.config.clone(),
            server_name,
            stream,
            self.handshake_timeout,
        )
    }
}

/// Accepts TLS connections with one configuration and an optional handshake time limit (what
/// a server keeps). Cheap to clone (the configuration is shared).
///
/// # Examples
///
/// A server greenlet per connection on a plain accept loop:
///
/// ```no_run
/// use std::io::{Read, Write};
/// use std::time::Duration;
/// use gevent_net::TcpListener;
/// use gevent_ssl::TlsAcceptor;
/// # let (server_config, _) = include!("../tests/support/doc_configs.rs");
/// let acceptor = TlsAcceptor::new(server_config).handshake_timeout(Some(Duration::from_secs(10)));
/// let listener = TcpListener::bind("127.0.0.1:8443").unwrap();
/// loop {
///     let (tcp, peer) = listener.accept().unwrap();
///     let acceptor = acceptor.clone();
///     gevent_hub::spawn(move || {
///         let mut tls = match acceptor.accept(tcp) {
///             Ok(tls) => tls,
///             Err(e) => return eprintln!("{peer}: {e}"),
///         };
///         let mut buf = [0u8; 4096];
///         while let Ok(n @ 1..) = tls.read(&mut buf) {
///             if tls.write_all(&buf[..n]).is_err() {
///                 break;
///             }
///         }
///         let _ = tls.shutdown();
///     });
/// }
/// ```
#[derive(Debug, Clone)]
pub struct TlsAcceptor {
    /// The rustls server configuration.
    config: Arc<ServerConfig>,
    /// The time limit of each handshake; `None`: only the stream's timeouts.
    handshake_timeout: Option<Duration>,
}

impl TlsAcceptor {
    /// An acceptor for `config`, without a handshake time limit (set one for a server, see
    /// [`handshake_timeout`](TlsAcceptor::handshake_timeout)).
    ///
    /// # Examples
    ///
    /// ```
    /// # let (server_config, _) = include!("../tests/support/doc_configs.rs");
    /// let a = gevent_ssl::TlsAcceptor::new(server_config);
    /// # drop(a);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new(config: Arc<ServerConfig>) -> TlsAcceptor {
        TlsAcceptor {
            config,
            handshake_timeout: None,
        }
    }

    /// Limits each handshake to `timeout` (`None`: no limit beyond the stream's own
    /// timeouts): a client that connects and stalls, or trickles its hello, is cut off then.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (server_config, _) = include!("../tests/support/doc_configs.rs");
    /// let a = gevent_ssl::TlsAcceptor::new(server_config)
    ///     .handshake_timeout(Some(std::time::Duration::from_secs(10)));
    /// # drop(a);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> TlsAcceptor {
        self.handshake_timeout = timeout;
        self
    }

    /// The configuration.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (server_config, _) = include!("../tests/support/doc_configs.rs");
    /// let a = gevent_ssl::TlsAcceptor::new(server_config.clone());
    /// assert!(std::sync::Arc::ptr_eq(a.config(), &server_config));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// [`TlsStream::accept`] (or [`TlsStream::accept_timeout`]) with this acceptor's
    /// configuration and time limit.
    ///
    /// # Examples
    ///
    /// See [`TlsAcceptor`] and [`TlsConnector`].
    ///
    /// # Errors
    ///
    /// As [`TlsStream::accept_timeout`].
    ///
    /// # Switches
    ///
    /// Yes, while waiting for the client.
    ///
    /// # Kill safety
    ///
    /// As [`TlsStream::accept`].
    pub fn accept<S: Transport>(&self, stream: S) -> io::Result<TlsStream<S>> {
        TlsStream::accept_inner(self.config.clone(), stream, self.handshake_timeout)
    }
}

impl From<Arc<ServerConfig>> for TlsAcceptor {
    fn from(config: Arc<ServerConfig>) -> TlsAcceptor {
        TlsAcceptor::new(config)
    }
}

impl From<Arc<ClientConfig>> for TlsConnector {
    fn from(config: Arc<ClientConfig>) -> TlsConnector {
        TlsConnector::new(config)
    }
}
