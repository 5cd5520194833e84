//! The blocking monitor (gevent's `GEVENT_MONITOR_THREAD_ENABLE` / `max_blocking_time`).
//!
//! The hub bumps a counter each time it switches into a greenlet and marks when it blocks in
//! its poller. A thread named `gevent-monitor` looks every half threshold: if the hub is not in
//! its poller and the counter has not moved for longer than the threshold, a greenlet has been
//! running without switching out all that time (blocking the thread), and the monitor reports
//! it with the greenlet's id and name: through `tracing` (at WARN) when a global subscriber is
//! installed, else on stderr (a monitor the user turned on must never be silent).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use greenlet::Greenlet as RawGreenlet;
use parking_lot::Mutex;

/// What the monitor thread sees of one hub.
#[derive(Default)]
struct Shared {
    /// Bumped at every switch out of the hub into a greenlet.
    switches: AtomicU64,
    /// Whether the hub is blocked in its poller (that is not a blocked greenlet).
    in_poll: AtomicBool,
    /// The id of the greenlet last switched into.
    current: AtomicU64,
    /// Its name, when it has one (only written when the monitor runs).
    name: Mutex<Option<String>>,
    /// Set when the hub's thread goes away, to stop the monitor.
    stop: AtomicBool,
}

/// The hub's side of the monitor.
#[derive(Default)]
pub(crate) struct Monitor {
    /// Shared with the monitor thread, once started.
    shared: Arc<Shared>,
    /// Whether a monitor thread runs (skips the name bookkeeping otherwise).
    running: AtomicBool,
}

impl Monitor {
    pub(crate) fn new() -> Monitor {
        Monitor::default()
    }

    /// Notes that the hub is about to switch into `g` (one relaxed load when no monitor runs:
    /// this is on every switch's path).
    #[inline(always)]
    pub(crate) fn switching_to(&self, g: &RawGreenlet) {
        if self.running.load(Ordering::Relaxed) {
            self.record_switch(g);
        }
    }

    /// [`switching_to`](Monitor::switching_to) with a monitor running.
    #[cold]
    #[inline(never)]
    fn record_switch(&self, g: &RawGreenlet) {
        self.shared.switches.fetch_add(1, Ordering::Relaxed);
        self.shared.current.store(g.id(), Ordering::Relaxed);
        *self.shared.name.lock() = g.name().map(str::to_owned);
    }

    /// Notes that the hub blocks in its poller.
    #[inline]
    pub(crate) fn enter_poll(&self) {
        self.shared.in_poll.store(true, Ordering::Relaxed);
    }

    /// Notes that the hub is back from its poller.
    #[inline]
    pub(crate) fn leave_poll(&self) {
        self.shared.in_poll.store(false, Ordering::Relaxed);
        self.shared.switches.fetch_add(1, Ordering::Relaxed);
    }

    /// Starts the monitor thread (once).
    pub(crate) fn start(&self, max_blocking: Duration) {
        if self.running.swap(true, Ordering::SeqCst) {
            return;
        }
        let shared = self.shared.clone();
        let period = (max_blocking / 2).max(Duration::from_millis(1));
        let spawned = std::thread::Builder::new()
            .name("gevent-monitor".into())
            .spawn(move || {
                let mut last = shared.switches.load(Ordering::Relaxed);
                let mut since = Instant::now();
                let mut reported = false;
                while !shared.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(period);
                    let now = shared.switches.load(Ordering::Relaxed);
                    if now != last || shared.in_poll.load(Ordering::Relaxed) {
                        last = now;
                        since = Instant::now();
                        reported = false;
                        continue;
                    }
                    let blocked = since.elapsed();
                    if blocked > max_blocking && !reported {
                        reported = true;
                        let id = shared.current.load(Ordering::Relaxed);
                        let name = shared.name.lock().clone();
                        let shown = name
                            .as_deref()
                            .map(|n| format!(" ('{n}')"))
                            .unwrap_or_default();
                        if !tracing::dispatcher::has_been_set() {
                            eprintln!(
                                "gevent monitor: the hub has not run its loop for {blocked:?} \
                                 (max_blocking_time {max_blocking:?}): greenlet #{id}{shown} is \
                                 blocking the thread"
                            );
                            continue;
                        }
                        tracing::warn!(
                            greenlet.id = id,
                            greenlet.name = name.as_deref().unwrap_or(""),
                            blocked_ms = blocked.as_millis() as u64,
                            max_blocking_ms = max_blocking.as_millis() as u64,
                            "the hub has not run its loop for {:?}: greenlet #{}{} is blocking the thread",
                            blocked,
                            id,
                            shown
                        );
                    }
                }
            });
        if spawned.is_err() {
            self.running.store(false, Ordering::SeqCst);
        }
    }
}

impl Monitor {
    /// Stops the monitor thread (it notices within half its threshold).
    pub(crate) fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the monitor if `GEVENT_MONITOR_THREAD_ENABLE` is set to a true value.
pub(crate) fn start_if_configured(m: &Monitor) {
    let on = std::env::var("GEVENT_MONITOR_THREAD_ENABLE")
        .map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
        .unwrap_or(false);
    if !on {
        return;
    }
    let secs: f64 = std::env::var("GEVENT_MAX_BLOCKING_TIME")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.1);
    m.start(Duration::from_secs_f64(secs.max(0.001)));
}
