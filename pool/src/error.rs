//! The error of adding to a full pool.

use std::fmt;

/// A [`Pool`](crate::Pool) had no free slot for [`try_add`](crate::Group::try_add) (or not
/// within [`add_timeout`](crate::Group::add_timeout)'s time); gevent's `PoolFull`.
///
/// # Examples
///
/// ```
/// use gevent_pool::{Pool, PoolFull};
/// let p = Pool::new(0);
/// let g = gevent_hub::Greenlet::new(|| ());
/// assert_eq!(p.try_add(&g), Err(PoolFull));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolFull;

impl fmt::Display for PoolFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pool is full")
    }
}

impl std::error::Error for PoolFull {}
