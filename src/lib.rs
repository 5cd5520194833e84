//! gevent for Rust: greenlets, a per-thread hub and the gevent toolkit, in plain blocking style.
//!
//! # Contents
//!
//! * [`greenlet`]: raw greenlets (stacks, symmetric `switch`, parents, `throw`,
//!   `GreenletExit`, `getcurrent`).
//!
//! # Examples
//!
//! ```
//! use gevent::greenlet::{Greenlet, Value};
//! let g = Greenlet::new(|v: Value| v.take::<i32>() + 1);
//! assert_eq!(g.switch(41).take::<i32>(), 42);
//! ```

#![forbid(unsafe_code)]

#[doc(inline)]
pub use greenlet;
