//! The blocking monitor (gevent's `GEVENT_MONITOR_THREAD_ENABLE` / `max_blocking_time`, as
//! tested by `src/gevent/tests/test__monitor.py`): a greenlet that blocks the thread longer
//! than the threshold is reported once through `tracing` at WARN, naming the greenlet; a
//! greenlet that waits cooperatively is not.
//!
//! The capturing subscriber is process-wide, so this file is its own test process.

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gevent_hub::{get_hub, sleep, spawn};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// A minimal subscriber that keeps the WARN events (message and fields, as text).
struct Capture(Arc<Mutex<Vec<String>>>);

/// Writes an event's fields as `name=value` text.
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if *event.metadata().level() == Level::WARN {
            let mut t = Text(String::new());
            event.record(&mut t);
            self.0.lock().unwrap().push(t.0);
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn monitor_reports_a_blocking_greenlet_once() {
    let warnings = Arc::new(Mutex::new(Vec::new()));
    tracing::subscriber::set_global_default(Capture(warnings.clone())).unwrap();
    get_hub().start_monitor(Duration::from_millis(50));

    // Waiting cooperatively (the hub sits in its poller) is not blocking.
    let polite = spawn(|| sleep(Duration::from_millis(300)));
    polite.join();
    assert!(
        warnings.lock().unwrap().is_empty(),
        "{:?}",
        warnings.lock().unwrap()
    );

    // Blocking the thread for 300 ms inside a greenlet is reported, once.
    let blocker = spawn(|| std::thread::sleep(Duration::from_millis(300)));
    let id = blocker.raw().unwrap().id();
    blocker.join();
    // Give the monitor a period to notice the hub is back (no second report).
    sleep(Duration::from_millis(100));
    let w = warnings.lock().unwrap().clone();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("blocking the thread"), "{w:?}");
    assert!(w[0].contains(&format!("greenlet.id={id}")), "{w:?}");
    assert!(w[0].contains(&format!("#{id}")), "{w:?}");
}
