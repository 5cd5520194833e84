//! gevent for Rust: greenlets, a per-thread hub and the gevent toolkit, in plain blocking style.
//!
//! Write ordinary blocking code; run thousands of such tasks on one thread. The first call that
//! waits creates this thread's hub (an event loop); `spawn` schedules greenlets on it, and every
//! wait (`sleep`, `join`, a socket read...) switches to the hub until the greenlet can go on.
//!
//! # Contents
//!
//! * Greenlets: [`spawn`], [`spawn_later`], [`spawn_raw`], [`Greenlet`] (`join`, `get`,
//!   `take`, `kill`, `killed`, links), [`Run`] for the "subclass with `_run`" pattern.
//! * Waiting: [`sleep`], [`idle`], [`joinall`], [`joinall_with`], [`wait`], [`iwait`],
//!   [`wait_all`] (gevent's bare `gevent.wait()`), [`kill`], [`killall`], the [`Waitable`] and
//!   [`Killable`] traits (greenlets of different output types together: `&[&dyn Waitable]`).
//! * The hub: [`get_hub`], [`Hub`], [`RemoteHub`], [`signal_handler`], [`LoopExit`].
//! * Synchronisation: [`event`] (`Event`, `AsyncResult`), [`lock`] (`Semaphore`,
//!   `BoundedSemaphore`, `Lock`, `RLock`), [`queue`] (`Queue`, `JoinableQueue`, `PriorityQueue`,
//!   `LifoQueue`, `Channel`).
//! * Pools: [`pool`] (`Group`, `Pool`: `spawn`, `map`, `imap`, `imap_unordered`, `apply`).
//! * Time limits: [`Timeout`], [`with_timeout`].
//! * Greenlet-local storage: [`greenlet_local!`], [`local::Local`].
//! * Processes: [`subprocess`] (`Command`, `Child`, `communicate`; std's API, waits switch).
//! * I/O: [`net`] (`TcpListener`, `TcpStream`, `UdpSocket`, Unix sockets, `lookup_host`,
//!   `gethostbyname`), [`select`], [`os`] (`wait_read`, `wait_write`, `cancel_wait`),
//!   [`threadpool`], [`resolver`].
//! * Servers: [`server`] (`StreamServer`, `DatagramServer`, and the HTTP/1.1 server
//!   `server::http::HttpServer`).
//! * TLS (feature `tls`): `ssl` (`TlsStream`, `TlsAcceptor`, `TlsConnector`; rustls over the
//!   cooperative sockets).
//! * Monkey patching (feature `monkey`): `monkey::patch_all()` makes std's, other crates' and
//!   C libraries' blocking calls cooperative inside greenlets.
//! * Low level: [`greenlet`] (raw greenlets: `switch`, `throw`, parents), [`park`] and
//!   [`Unparker`] (how every wait is built), [`reactor`] (how every fd wait is built:
//!   `IoSource`, `Registration`).
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//!
//! let gs: Vec<gevent::Greenlet<u32>> = (1..=3)
//!     .map(|i| gevent::spawn(move || { gevent::sleep(Duration::from_millis(5)); i * 10 }))
//!     .collect();
//! gevent::joinall(&gs);
//! assert_eq!(gs.iter().map(|g| g.get().unwrap()).sum::<u32>(), 60);
//! ```
//!
//! Killing and timeouts unwind the target greenlet's stack, so builds must keep
//! `panic = "unwind"` (the default).

#![forbid(unsafe_code)]

#[doc(inline)]
pub use greenlet;

#[doc(inline)]
pub use gevent_hub::{
    get_hub, getcurrent, idle, iwait, joinall, joinall_with, kill, killall, killall_with, park,
    park_no_unwind, park_timeout, pending_interrupt, raise_pending, revoke_timeout, signal_handler,
    sleep, sleep_unref, spawn, spawn_later, spawn_raw, throw_into, throw_timeout_into,
    timeout_pending, wait, wait_all, wait_one, ErrorReport, Greenlet, GreenletError, GreenletExit,
    Hub, InterruptKind, Iwait, JoinAll, KillOptions, Killable, LinkId, LoopExit, Panic, ParkError,
    RemoteHub, Run, SignalHandle, TimedOut, Timer, Unparker, Wait, WaitList, Waitable, WaiterKey,
};

#[doc(inline)]
pub use gevent_hub::{reactor, signal};

#[doc(inline)]
pub use gevent_net as net;
#[doc(inline)]
pub use gevent_net::{os, select};
#[doc(inline)]
pub use gevent_threadpool as threadpool;
#[doc(inline)]
pub use gevent_threadpool::resolver;

#[doc(inline)]
pub use gevent_hub::{deadline_after, register_loud_payload, register_payload_display};

#[doc(inline)]
pub use gevent_event as event;
#[doc(inline)]
pub use gevent_lock as lock;
#[doc(inline)]
pub use gevent_queue as queue;

#[doc(inline)]
pub use gevent_timeout::{with_timeout, Timeout, TimeoutWith};

#[doc(inline)]
pub use gevent_pool as pool;
#[doc(inline)]
pub use gevent_server as server;
#[doc(inline)]
pub use gevent_subprocess as subprocess;

/// Greenlet-local storage (gevent's `gevent.local`).
pub mod local {
    #[doc(inline)]
    pub use gevent_local::{Local, LocalKey};
}

#[doc(inline)]
pub use gevent_local::greenlet_local;

#[cfg(feature = "tls")]
#[doc(inline)]
pub use gevent_ssl as ssl;

/// Monkey patching (gevent's `gevent.monkey`, facade feature `monkey`): after
/// [`patch_all()`](monkey::patch_all), blocking libc calls made inside greenlets by std,
/// third-party crates and C libraries wait cooperatively.
#[cfg(feature = "monkey")]
#[doc(inline)]
pub use gevent_monkey as monkey;
