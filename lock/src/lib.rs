//! Locks for greenlets — gevent's `gevent.lock`: [`Semaphore`], [`BoundedSemaphore`],
//! [`Lock`] and the re-entrant [`RLock`].
//!
//! A greenlet that cannot take a permit waits (switching to the hub) until one is released;
//! other greenlets run meanwhile. Each lock is a cheap `Clone` handle, so every greenlet gets
//! its own clone; `lock()` returns a guard that releases when dropped (gevent's `with sem:`).
//!
//! # Implementation
//!
//! * A counter, and a FIFO of parked greenlets ([`Unparker`](gevent_hub::Unparker)s). The
//!   first wait of the thread creates its hub.
//! * Fair: a released permit is handed straight to the greenlet that has waited longest, never
//!   taken by a newcomer (so two greenlets that keep re-acquiring cannot starve a third, gevent
//!   #1487). `release` never switches: the woken greenlet runs when the releaser next waits.
//! * Kill safe: a greenlet that stops waiting (kill, timeout, `LoopExit`) removes itself from
//!   the queue as it unwinds and takes no permit; one killed after a permit was handed to it
//!   but before it ran passes the permit to the next waiter.
//! * Semaphores implement the hub's [`Waitable`](gevent_hub::Waitable) ("a permit is
//!   available"), so `wait`/`iwait` take them.
//! * All are `!Send`: they belong to one thread's hub.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use gevent_lock::BoundedSemaphore;
//!
//! let sem = BoundedSemaphore::new(2);
//! let gs: Vec<_> = (0..4)
//!     .map(|i| {
//!         let sem = sem.clone();
//!         gevent_hub::spawn(move || {
//!             let _permit = sem.lock();
//!             gevent_hub::sleep(Duration::from_millis(5));
//!             i
//!         })
//!     })
//!     .collect();
//! gevent_hub::joinall(&gs);
//! assert_eq!(sem.counter(), 2);
//! assert!(sem.try_release().is_err()); // released past the bound
//! ```
//!
//! Locks stay on their thread:
//!
//! ```compile_fail
//! let s = gevent_lock::Semaphore::new(1);
//! std::thread::spawn(move || s.release());
//! ```

#![forbid(unsafe_code)]

mod core;
mod lock;
mod rlock;
mod semaphore;

pub use crate::core::OverRelease;
pub use crate::lock::{Lock, LockGuard};
pub use crate::rlock::{NotOwner, RLock, RLockGuard};
pub use crate::semaphore::{BoundedSemaphore, Semaphore, SemaphoreGuard};
