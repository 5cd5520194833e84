//! Notifying many greenlets at once: [`Event`] (a flag to wait for) and [`AsyncResult`] (a
//! value or error, set once, that many greenlets wait for) — gevent's `gevent.event`.
//!
//! Both are cheap `Clone` handles (clones share one object), so each greenlet gets its own
//! clone; both implement the hub's [`Waitable`](gevent_hub::Waitable), so `wait`, `iwait` and
//! `joinall` take them next to greenlets.
//!
//! # Implementation
//!
//! * A waiting greenlet stores its [`Unparker`](gevent_hub::Unparker) in the object's FIFO
//!   and switches to the hub ([`park`](gevent_hub::park)); the first wait of the thread
//!   creates its hub. Setting the object wakes every stored greenlet in order: each is queued
//!   in the hub, none is switched to, so `set` never switches and may be called from hub
//!   callbacks.
//! * A greenlet that stops waiting (a timeout, a kill) removes its own entry as it unwinds
//!   (O(log n)); nothing stays behind.
//! * Both are `!Send`: like everything on a hub, they belong to one thread.
//!
//! # Examples
//!
//! gevent's setter and waiters:
//!
//! ```
//! use std::time::Duration;
//! use gevent_event::Event;
//!
//! let evt = Event::new();
//! let setter = {
//!     let evt = evt.clone();
//!     gevent_hub::spawn(move || {
//!         gevent_hub::sleep(Duration::from_millis(10));
//!         evt.set();
//!     })
//! };
//! let waiters: Vec<_> = (0..5)
//!     .map(|_| {
//!         let evt = evt.clone();
//!         gevent_hub::spawn(move || evt.wait())
//!     })
//!     .collect();
//! gevent_hub::joinall(&waiters);
//! assert!(setter.dead());
//! assert!(waiters.iter().all(|w| w.get().unwrap()));
//! ```

#![forbid(unsafe_code)]

mod async_result;
mod event;

pub use crate::async_result::{AlreadySet, AsyncResult};
pub use crate::event::Event;
