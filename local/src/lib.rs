//! Greenlet-local storage — gevent's `gevent.local`: values that each greenlet has its own copy
//! of, as `thread_local!` gives each thread its own.
//!
//! * [`greenlet_local!`] declares statics in the shape of `thread_local!`
//!   (`STASH.with(|v| ..)`).
//! * [`Local<T>`] is an object made at run time (gevent's `local()`), with a value per greenlet.
//!
//! Each greenlet's value is made by the initialiser the first time that greenlet asks for it,
//! and dropped when the greenlet ends. The thread's main greenlet has its own, and so has the
//! hub (code running in hub callbacks).
//!
//! # Implementation
//!
//! * Values live in the greenlet's own record, through the `greenlet` crate's
//!   [`Greenlet::local_keyed`](greenlet::Greenlet::local_keyed), keyed by the static's address
//!   (for `greenlet_local!`) or by a never-reused number (for `Local`). Nothing else is
//!   involved: no hub, no global table, no lock. `thread_local!` inside a greenlet stays
//!   per-thread, shared by all of the thread's greenlets.
//! * The greenlet crate drops a greenlet's values when it ends, on the greenlet's own stack
//!   (for the main greenlet: with the thread). A `Local` that is dropped empties its values in
//!   every greenlet at once.
//! * A lookup is a short linear scan of the greenlet's few local values.
//!
//! # Examples
//!
//! ```
//! use std::cell::RefCell;
//! use gevent_local::{greenlet_local, Local};
//!
//! greenlet_local! {
//!     static STASH: RefCell<Vec<u8>> = RefCell::new(Vec::new());
//! }
//!
//! let visits = Local::new(|| RefCell::new(0));
//! let gs: Vec<_> = (0..3u8)
//!     .map(|i| {
//!         let visits = visits.clone();
//!         gevent_hub::spawn(move || {
//!             STASH.with(|s| s.borrow_mut().push(i));
//!             gevent_hub::sleep(std::time::Duration::from_millis(1));
//!             visits.with(|v| *v.borrow_mut() += 1);
//!             (STASH.with(|s| s.borrow().clone()), visits.with(|v| *v.borrow()))
//!         })
//!     })
//!     .collect();
//! gevent_hub::joinall(&gs);
//! for (i, g) in gs.iter().enumerate() {
//!     assert_eq!(g.get().unwrap(), (vec![i as u8], 1)); // each saw only its own
//! }
//! STASH.with(|s| assert!(s.borrow().is_empty())); // and the main greenlet its own
//! ```

#![forbid(unsafe_code)]

mod key;
mod local;

pub use crate::key::LocalKey;
pub use crate::local::Local;
