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
//!   [`polling::Poller`] (epoll), a timer table (a FIFO and a heap), a FIFO of callbacks and of ready
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
//!   readiness bits: a socket call tries the system call first and parks only after
//!   `WouldBlock`, so an echo round trip costs its `recv`, its `send`, sometimes a `recv` that
//!   returns `EAGAIN`, and a share of one poller wait. The [`reactor`] module is that
//!   machinery's public, I/O-safe API ([`IoSource`](reactor::IoSource) for owned objects,
//!   [`Registration`](reactor::Registration) for borrowed or raw fds,
//!   [`cancel_wait`](reactor::cancel_wait)); the cooperative sockets, `select` and the fd waits of
//!   `gevent-net`, the pipes of `gevent-subprocess` and the hooks of `gevent-monkey` are built
//!   on it.
//!
//! # Kills and timeouts
//!
//! Every wait is a [`park`]: it can be ended once, by a [`wake`](Unparker::wake) (a value), or
//! by an *interrupt* (a kill or a timeout). Every later attempt on the same `Unparker` is
//! refused, so a greenlet is never resumed twice for one wait, nor resumed at a later,
//! unrelated wait by a stale waker.
//!
//! Interrupts are panic payloads raised inside the greenlet where it waits, so its `Drop`s run
//! as `finally:` blocks do. There are two kinds ([`InterruptKind`]):
//!
//! * a **kill**, delivered with [`throw_into`] (`GreenletExit`, or any payload);
//! * a **timeout**, delivered with [`throw_timeout_into`] under a key, and revocable by that key
//!   ([`revoke_timeout`]) until it is raised: what `Timeout::cancel` uses.
//!
//! The rules, the same for every wait of the hub and of the crates above it:
//!
//! 1. An interrupt aimed at a greenlet parked in an ordinary wait ends that wait: it is raised
//!    there. Aimed at a greenlet that is not parked (running, or already woken and not yet
//!    run), it is kept *pending* and raised at the greenlet's next wait, or when its function
//!    returns (a [`Greenlet`] whose function returns with an interrupt pending ends killed, or
//!    with the timeout, not successful). A woken wait returns its value: an interrupt that
//!    comes after the wake never takes it away (a hand-over, such as a queue item or a lock,
//!    is never lost), it is raised at the next wait.
//! 2. Several pending interrupts are raised one per wait: kills first, in the order they came,
//!    then timeouts, in the order they fired. **A kill is never lost to a timeout** and always
//!    goes first; a timeout pending behind a kill stays pending (and goes with the greenlet if
//!    the kill ends it).
//! 3. A pending timeout can be revoked until it is raised. If it already ended its greenlet's
//!    wait but the greenlet has not run since, the wait is resumed as if nothing happened,
//!    unless something tried to wake the greenlet in between (its waker was refused and went
//!    on): then the timeout stands and `revoke_timeout` says so.
//! 4. **A wait inside a destructor that runs while its greenlet unwinds** (a graceful close
//!    during a kill) is not interrupted again: a second kill or a timeout is recorded, never
//!    raised there (that would abort the process). The wait goes on until it is woken as
//!    usual, and the recorded interrupts are raised at the greenlet's first wait after the
//!    unwinding ended (if it ends: a kill unwinding to the greenlet's entry ends the greenlet,
//!    and what is pending goes with it). Bound such waits with an explicit time limit
//!    (`join_timeout`, `get_timeout`, ...), which still works there.
//! 5. [`park_no_unwind`] never unwinds: an interrupt ends it (also during unwinding) and is
//!    returned as a value while it stays pending, to be raised at the next ordinary wait (or
//!    when the greenlet's function returns, as in rule 1). It is for waits that cannot
//!    unwind, such as the libc hooks of the `monkey` crate (`extern "C"` functions, which a
//!    panic cannot leave). A `Timeout::run` whose own timeout ended such a wait and is still
//!    pending when its block returns returns `Err(timeout)` ([`timeout_reported`]).
//!
//! ## Which greenlet is unwinding
//!
//! Rule 4 needs to know whether the waiting greenlet is unwinding. std only tells whether *the
//! thread* is ([`std::thread::panicking`]): its panic count is per thread, and a greenlet that
//! waits mid-unwind leaves it raised for every other greenlet of the thread until it finishes
//! unwinding. So the hub keeps count of the greenlets it suspended while they looked unwinding:
//! when the thread is panicking and no other greenlet is suspended that way, the waiting one
//! is the one unwinding; otherwise the hub relies on what it knows of this greenlet (it raised
//! a payload in it, or it was killed while running, and the thread has not stopped panicking
//! since). A greenlet that started unwinding on its own (`panic!`, `resume_unwind`) and waits in
//! a `Drop` while another greenlet is also suspended mid-unwind is the one case this cannot
//! tell; there a second kill still aborts, as in any Rust program that panics in a destructor
//! during unwinding.
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
mod monitor;
mod park;
mod poller;
pub mod reactor;
pub mod signal;
mod timer;
mod trace;
mod wait;
mod waitlist;

use std::time::{Duration, Instant};

pub use crate::error::{
    register_loud_payload, register_payload_display, ErrorReport, GreenletError, LoopExit,
};
pub use crate::glet::{
    kill, killall, killall_with, spawn, spawn_later, spawn_raw, Greenlet, KillOptions, Killable,
    LinkId, Run,
};
pub use crate::hub::{get_hub, thread_state, HoldGuard, Hub, RemoteHub, ThreadState, Timer};
pub use crate::park::{
    park, park_no_unwind, park_timeout, pending_interrupt, raise_pending, revoke_timeout,
    throw_into, throw_timeout_into, timeout_pending, timeout_reported, InterruptKind, Panic,
    ParkError, TimedOut, Unparker,
};
pub use crate::signal::{signal_handler, SignalHandle};
pub use crate::wait::{
    iwait, joinall, joinall_with, wait, wait_all, wait_one, Iwait, JoinAll, Notify, Waitable,
    WaiterKey,
};
pub use crate::waitlist::{Wait, WaitList};

#[doc(no_inline)]
pub use greenlet::{getcurrent, GreenletExit};

/// The hub's thread-safe types are `Send + Sync` (a compile-time check).
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RemoteHub>();
    assert_send_sync::<GreenletError>();
    assert_send_sync::<HoldGuard>();
    assert_send_sync::<InterruptKind>();
    assert_send_sync::<ParkError>();
};

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
///
/// # Kill safety
///
/// As [`sleep`]: the timer is cancelled however the sleep ends.
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
    let Some(deadline) = deadline_after(d) else {
        // Longer than the clock can express: wait for a kill.
        park(std::mem::forget);
        return;
    };
    let timer = std::cell::Cell::new(None);
    let _cancel = CancelTimer(&hub, &timer);
    park(|u| {
        timer.set(Some(hub.add_timer(
            Some(deadline),
            refd,
            hub::Action::Wake(u),
        )))
    });
}

/// The deadline `d` from now, or `None` if it lies beyond what [`Instant`] can represent
/// (`Duration::MAX`, or anything close): every timeout of the runtime goes through this, so
/// that a `Duration` too long for the clock means "no deadline" (wait for ever) instead of a
/// panic.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use gevent_hub::deadline_after;
/// assert!(deadline_after(Duration::from_secs(1)).unwrap() > Instant::now());
/// assert_eq!(deadline_after(Duration::MAX), None);
/// // With an optional timeout: `None` and `Some(Duration::MAX)` both mean no deadline.
/// let timeout: Option<Duration> = Some(Duration::MAX);
/// assert_eq!(timeout.and_then(deadline_after), None);
/// ```
///
/// # Switches
///
/// Never.
#[inline]
pub fn deadline_after(d: Duration) -> Option<Instant> {
    Instant::now().checked_add(d)
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
///
/// # Kill safety
///
/// Nothing to undo: a kill ends the wait; the idle callback runs later and finds nobody to
/// wake.
pub fn idle() {
    let hub = get_hub();
    park(|u| {
        hub.run_idle(move || {
            u.wake(greenlet::Value::empty());
        })
    });
}
