//! Groups and pools of greenlets (gevent's `gevent.pool`): [`Group`] tracks greenlets while
//! they run, so they can be joined or killed together; [`Pool`] is a group that runs at most
//! `size` of them at once. Both map a function over items in their greenlets:
//! [`map`](Group::map), [`imap`](Group::imap), [`imap_unordered`](Group::imap_unordered),
//! [`apply`](Group::apply), [`apply_async`](Group::apply_async).
//!
//! # Implementation
//!
//! * A group is a table of its members, type-erased so that greenlets of any output type
//!   share it. A greenlet the group spawns itself carries a guard in its function that removes
//!   it as the function ends (returns, unwinds, or is dropped unrun after a kill), right before
//!   the greenlet is marked dead, with nothing switching in between; a greenlet made elsewhere
//!   and [`add`](Group::add)ed gets a rawlink that removes it (in the hub) when it dies. The
//!   group wakes its `join`ers when it becomes empty.
//! * A pool is a group plus a [`gevent_lock::Semaphore`] of `size` permits: adding a member
//!   takes one (waiting, in FIFO order, while there is none) and its removal gives it back.
//! * `imap` and friends spawn a feeder greenlet (not a member) that walks the items and spawns
//!   one member per item; results reach the reader through a small shared queue. Values are
//!   moved, never cloned.
//! * The first wait creates this thread's hub, as any gevent wait does.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use gevent_pool::Pool;
//!
//! let pool = Pool::new(10);
//! // Fetch 100 "pages", at most 10 at a time, in completion order.
//! let sizes: usize = pool
//!     .imap_unordered(
//!         |n: u64| {
//!             gevent_hub::sleep(Duration::from_millis(n % 3));
//!             n as usize
//!         },
//!         0..100,
//!     )
//!     .map(|r| r.expect("no item panics"))
//!     .sum();
//! assert_eq!(sizes, 4950);
//! assert!(pool.is_empty());
//! ```

#![forbid(unsafe_code)]

mod error;
mod group;
mod imap;
mod member;
mod pool;

pub use crate::error::PoolFull;
pub use crate::group::Group;
pub use crate::imap::{Imap, ImapUnordered};
pub use crate::pool::Pool;
