//! [`Pool`]: a [`Group`] with a limit on how many greenlets it runs at once.

use std::fmt;
use std::ops::Deref;

use crate::group::{Core, Group};

/// A group that runs at most `size` greenlets at once (gevent's `gevent.pool.Pool`):
/// [`spawn`](Group::spawn) and [`add`](Group::add) wait while `size` members are alive, and
/// [`map`](Group::map) and friends never run more than `size` items at once.
///
/// A pool is a [`Group`] plus a [`Semaphore`](gevent_lock::Semaphore) of `size` permits
/// (one per member), and dereferences to the group: every method of [`Group`] works on a
/// pool, honouring the limit. Slots are handed out in the order greenlets asked for them.
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// use gevent_pool::Pool;
///
/// let pool = Pool::new(2);
/// let (running, most) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
/// for _ in 0..6 {
///     let (running, most) = (running.clone(), most.clone());
///     pool.spawn(move || {                  // waits while 2 are running
///         running.set(running.get() + 1);
///         most.set(most.get().max(running.get()));
///         gevent_hub::sleep(Duration::from_millis(2));
///         running.set(running.get() - 1);
///     });
/// }
/// pool.join();
/// assert_eq!(most.get(), 2);
/// ```
///
/// A `Pool` stays on its thread (it is `!Send`):
///
/// ```compile_fail
/// let p = gevent_pool::Pool::new(2);
/// std::thread::spawn(move || p.join());
/// ```
#[derive(Clone)]
pub struct Pool(
    /// The group, whose core holds the semaphore.
    Group,
);

impl Pool {
    /// A pool of `size` slots (gevent's `Pool(size)`). A pool of 0 slots can never run
    /// anything: spawning waits forever (useful only with
    /// [`wait_available_timeout`](Group::wait_available_timeout) and
    /// [`free_count`](Group::free_count)).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_pool::Pool::new(10);
    /// assert_eq!(pool.size(), 10);
    /// assert_eq!(pool.free_count(), 10);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new(size: usize) -> Pool {
        Pool(Group {
            core: Core::new(Some(size)),
        })
    }

    /// The most greenlets the pool runs at once.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gevent_pool::Pool::new(3).size(), 3);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn size(&self) -> usize {
        self.0.core.size.unwrap_or(usize::MAX)
    }

    /// The pool as a plain [`Group`] handle (still limited).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_pool::Pool::new(1);
    /// let group: gevent_pool::Group = pool.group();
    /// assert_eq!(group.free_count(), 1);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn group(&self) -> Group {
        self.0.clone()
    }
}

impl Deref for Pool {
    type Target = Group;
    fn deref(&self) -> &Group {
        &self.0
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("size", &self.size())
            .field("len", &self.len())
            .field("free", &self.free_count())
            .finish()
    }
}
