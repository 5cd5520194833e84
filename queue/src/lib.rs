//! Queues for the greenlets of one thread (gevent's `gevent.queue`): [`Queue`] (FIFO, with
//! `task_done`/`join`, so also [`JoinableQueue`]), [`LifoQueue`], [`PriorityQueue`] and the
//! rendezvous [`Channel`].
//!
//! `put` waits while a bounded queue is full and `get` while a queue is empty; waiting means
//! switching to the hub so that other greenlets run, never blocking the thread. Each waiting
//! call also comes as `_nowait` (never switches; callable from hub callbacks) and `_timeout`
//! (gives up after a time), which return errors that give the item back ([`PutError`],
//! [`GetError`]).
//!
//! # Implementation
//!
//! * A queue is an `Rc` shared by its handles: a buffer in the queue's order plus two FIFO lists
//!   of parked greenlets, getters and putters. Nothing here is thread-safe, and nothing needs to
//!   be: greenlets of one thread never run at the same time.
//! * A greenlet that must wait registers a slot in the right list and parks
//!   ([`gevent_hub::park`]). An item put while getters wait is handed to the first of them
//!   directly (it never enters the buffer), and a `get` that makes room moves the first
//!   putter's item in at once; so waiting greenlets are served in order, and a greenlet that
//!   has not waited cannot overtake them. Wakes only schedule the woken greenlet: `put` and
//!   `get` on a non-full, non-empty queue never switch.
//! * Kill safety: a parked greenlet that is killed or times out removes its slot as it unwinds.
//!   A killed putter puts nothing; a killed getter takes nothing, and an item already handed
//!   to it goes to the next getter or back to the front of the queue.
//! * The first wait creates this thread's hub, as any gevent wait does.
//!
//! # Examples
//!
//! Workers sharing a queue of jobs, ended by [`Queue::shutdown`]:
//!
//! ```
//! use gevent_queue::Queue;
//!
//! let jobs = Queue::bounded(3);
//! let workers: Vec<_> = (0..2)
//!     .map(|_| {
//!         let jobs = jobs.clone();
//!         gevent_hub::spawn(move || jobs.iter().map(|n: u32| n * n).sum::<u32>())
//!     })
//!     .collect();
//! for n in 1..=10 {
//!     jobs.put(n); // waits while three jobs are queued
//! }
//! jobs.shutdown(false); // the workers finish what is queued, then their loops end
//! let total: u32 = workers.iter().map(|w| w.get().unwrap()).sum();
//! assert_eq!(total, 385);
//! ```

#![forbid(unsafe_code)]

mod channel;
mod error;
mod kinds;
mod order;
mod queue;

pub use crate::channel::Channel;
pub use crate::error::{GetError, PutError, TaskDoneError};
pub use crate::kinds::{LifoQueue, PriorityQueue};
pub use crate::order::{Fifo, Lifo, Order, Priority};
pub use crate::queue::{IntoIter, Iter, Queue};

/// A queue with [`task_done`](Queue::task_done) and [`join`](Queue::join): since gevent 25.4
/// every [`Queue`] has them, and `JoinableQueue` is another name for it, as in gevent.
///
/// # Examples
///
/// ```
/// let q = gevent_queue::JoinableQueue::new();
/// q.put(1);
/// assert_eq!(q.get(), 1);
/// q.task_done();
/// q.join();
/// ```
pub type JoinableQueue<T> = Queue<T>;
