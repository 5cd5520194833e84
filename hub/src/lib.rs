//! The hub of gevent for Rust: one event loop per thread, and the greenlets it schedules.
//!
//! A greenlet that would wait (for a timer, a socket, another greenlet) registers how it can be
//! woken and switches to the hub; the hub runs callbacks, timers and the poller until some
//! greenlet is ready, and switches into it. Code stays plain and blocking, and thousands of
//! such greenlets share one thread.
//!
//! # Implementation
//!
//! * The first call that waits creates this thread's hub ([`get_hub`]): a
//!   [`polling::Poller`] (epoll), a binary heap of timers, a FIFO of callbacks and of ready
//!   greenlets, and a thread-safe queue that other threads reach through [`RemoteHub`] (woken
//!   through the poller's `notify`). There is no runtime to build and nothing to
//!   `block_on`.
//! * The hub is the greenlet crate's [`Scheduler`](greenlet::Scheduler): its loop runs on the
//!   thread's main stack inside the greenlet trampoline, so waiting costs one context switch
//!   out and one in, with no second switching layer.
//! * When the main greenlet waits and nothing left in the loop could ever wake it, it gets a
//!   [`LoopExit`] panic ("this operation would block forever") instead of hanging.
//! * A panic in a greenlet is recorded on it, reported once by the hub (see
//!   [`Hub::set_error_handler`]), and never reaches another greenlet. Kills are `GreenletExit`
//!   unwinding from the wait, so `Drop`s run.
//! * File descriptors are registered with the poller once, edge-triggered, and carry
//!   readiness bits ([`IoSource`]): a socket call tries the system call first and parks only
//!   after `WouldBlock`, so an echo round trip costs its `recv`, its `send`, sometimes a `recv`
//!   that returns `EAGAIN`, and a share of one poller wait. On top: cooperative sockets ([`net`]), [`select`], [`os`] fd waits, a
//!   [`threadpool`] for blocking work, and DNS on that pool ([`resolver`]).
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use gevent_hub::{joinall, sleep, spawn};
//!
//! let gs: Vec<_> = (0..3)
//!     .map(|i| spawn(move || { sleep(Duration::from_millis(10 * (3 - i))); i }))
//!     .collect();
//! joinall(&gs);
//! let values: Vec<u64> = gs.iter().map(|g| g.get().unwrap()).collect();
//! assert_eq!(values, [0, 1, 2]);
//! ```

#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(not(target_os = "linux"))]
compile_error!(
    "gevent-hub supports Linux only (its greenlets' stacks, its poller and its system calls are \
     Linux's)"
);

mod error;
mod glet;
mod hub;
mod io;
mod monitor;
pub mod net;
mod park;
mod poller;
pub mod resolver;
pub mod select;
mod signal;
pub mod threadpool;
mod timer;
mod wait;

use std::time::{Duration, Instant};

pub use crate::error::{register_payload_display, GreenletError, LoopExit};
pub use crate::glet::{
    kill, killall, killall_with, spawn, spawn_later, spawn_raw, Greenlet, KillOptions, LinkId, Run,
};
pub use crate::hub::{get_hub, ErrorReport, HoldGuard, Hub, RemoteHub, Timer};
pub use crate::io::{wait_read, wait_write, ConcurrentUse, IoSource};

/// Waiting on file descriptors (gevent's `gevent.os`): [`wait_read`], [`wait_write`],
/// [`cancel_wait`](os::cancel_wait).
pub mod os {
    pub use crate::io::{cancel_wait, wait_read, wait_write};
}
pub use crate::park::{park, park_timeout, throw_into, Panic, TimedOut, Unparker};
pub use crate::signal::{signal_handler, SignalHandle};
pub use crate::wait::{
    iwait, joinall, joinall_with, wait, wait_one, Iwait, JoinAll, Notify, Waitable, WaiterKey,
    WaiterSet,
};

#[doc(no_inline)]
pub use greenlet::{getcurrent, GreenletExit};

/// Pauses the running greenlet for `d`, letting others run (gevent's `sleep`).
/// `Duration::ZERO` yields: the greenlet goes to the back of the ready queue, so two greenlets
/// doing `A; sleep(0); B` interleave as 1A 2A 1B 2B.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// let t = Instant::now();
/// gevent_hub::sleep(Duration::from_millis(10));
/// assert!(t.elapsed() >= Duration::from_millis(10));
/// ```
///
/// # Panics
///
/// If called inside the hub (a callback); re-raises a kill or timeout aimed at the greenlet.
///
/// # Switches
///
/// Yes, always.
///
/// # Kill safety
///
/// The timer is cancelled however the sleep ends.
#[inline(always)]
pub fn sleep(d: Duration) {
    sleep_inner(d, true)
}

/// Like [`sleep`], but the timer does not keep the loop alive (gevent's `sleep(ref=False)`):
/// if nothing else is pending, the wait ends with [`LoopExit`].
///
/// # Switches
///
/// Yes, always.
pub fn sleep_unref(d: Duration) {
    sleep_inner(d, false)
}

#[inline(always)]
fn sleep_inner(d: Duration, refd: bool) {
    if d.is_zero() {
        park::yield_now();
        return;
    }
    let hub = get_hub();
    let Some(deadline) = Instant::now().checked_add(d) else {
        // Longer than the clock can express: wait for a kill.
        park(std::mem::forget);
        return;
    };
    let timer = std::cell::Cell::new(None);
    let _cancel = CancelTimer(&hub, &timer);
    park(|u| timer.set(Some(hub.add_timer(deadline, refd, timer::Action::Wake(u)))));
}

/// Cancels a timer on scope exit (a no-op once it fired).
struct CancelTimer<'a>(&'a Hub, &'a std::cell::Cell<Option<timer::TimerId>>);

impl Drop for CancelTimer<'_> {
    fn drop(&mut self) {
        if let Some(t) = self.1.take() {
            self.0.cancel_timer(t);
        }
    }
}

/// Waits until the hub has nothing else to run right now (gevent's `idle`).
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// let n = Rc::new(Cell::new(0));
/// for _ in 0..3 { let n = n.clone(); gevent_hub::spawn(move || n.set(n.get() + 1)); }
/// gevent_hub::idle();
/// assert_eq!(n.get(), 3);
/// ```
///
/// # Switches
///
/// Yes, always.
pub fn idle() {
    let hub = get_hub();
    park(|u| {
        hub.run_idle(move || {
            u.wake(greenlet::Value::empty());
        })
    });
}
