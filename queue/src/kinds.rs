//! [`LifoQueue`] and [`PriorityQueue`]: a [`Queue`] with another [`Order`], under its own name
//! (so that `LifoQueue::new()` needs no type annotations). Both dereference to the `Queue`, which
//! has all the methods.

use std::fmt;
use std::ops::Deref;

use crate::order::{Lifo, Priority};
use crate::queue::Queue;

/// A queue that returns the most recently put item first (gevent's `LifoQueue`). It
/// dereferences to a [`Queue<T, Lifo>`](Queue), which has every method (`put`, `get`,
/// `task_done`, `shutdown`...).
///
/// # Examples
///
/// ```
/// let q = gevent_queue::LifoQueue::new();
/// for i in 0..3 { q.put(i); }
/// assert_eq!([q.get(), q.get(), q.get()], [2, 1, 0]);
/// ```
pub struct LifoQueue<T: 'static>(
    /// The queue.
    Queue<T, Lifo>,
);

impl<T: 'static> LifoQueue<T> {
    /// An unbounded LIFO queue.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::LifoQueue::<u8>::new();
    /// assert!(q.empty());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new() -> LifoQueue<T> {
        LifoQueue(Queue::with_maxsize(None))
    }

    /// A LIFO queue holding at most `maxsize` items.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::LifoQueue::bounded(1);
    /// q.put(1);
    /// assert!(q.full());
    /// ```
    ///
    /// # Panics
    ///
    /// If `maxsize` is 0.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn bounded(maxsize: usize) -> LifoQueue<T> {
        LifoQueue(Queue::with_maxsize(Some(maxsize)))
    }
}

/// A queue that returns its smallest item first, like Python's `heapq` (gevent's
/// `PriorityQueue`); items are typically `(priority, data)` tuples. It dereferences to a
/// [`Queue<T, Priority>`](Queue), which has every method.
///
/// # Examples
///
/// ```
/// let q = gevent_queue::PriorityQueue::new();
/// q.put((3, "low"));
/// q.put((1, "urgent"));
/// q.put((2, "normal"));
/// assert_eq!(q.get().1, "urgent");
/// assert_eq!(q.get().1, "normal");
/// ```
pub struct PriorityQueue<T: Ord + 'static>(
    /// The queue.
    Queue<T, Priority>,
);

impl<T: Ord + 'static> PriorityQueue<T> {
    /// An unbounded priority queue.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::PriorityQueue::<u8>::new();
    /// assert!(q.empty());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new() -> PriorityQueue<T> {
        PriorityQueue(Queue::with_maxsize(None))
    }

    /// A priority queue holding at most `maxsize` items.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::PriorityQueue::bounded(2);
    /// q.put(5);
    /// q.put(4);
    /// assert!(q.full());
    /// assert_eq!(q.get(), 4);
    /// ```
    ///
    /// # Panics
    ///
    /// If `maxsize` is 0.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn bounded(maxsize: usize) -> PriorityQueue<T> {
        PriorityQueue(Queue::with_maxsize(Some(maxsize)))
    }
}

/// The impls both kinds share.
macro_rules! queue_kind {
    ($name:ident, $order:ty, $($bound:tt)*) => {
        impl<T: $($bound)*> Deref for $name<T> {
            type Target = Queue<T, $order>;
            fn deref(&self) -> &Queue<T, $order> {
                &self.0
            }
        }

        impl<T: $($bound)*> Clone for $name<T> {
            fn clone(&self) -> Self {
                $name(self.0.clone())
            }
        }

        impl<T: $($bound)*> Default for $name<T> {
            fn default() -> Self {
                $name::new()
            }
        }

        impl<T: $($bound)*> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.0).finish()
            }
        }

        impl<'a, T: $($bound)*> IntoIterator for &'a $name<T> {
            type Item = T;
            type IntoIter = crate::queue::Iter<'a, T, $order>;
            fn into_iter(self) -> Self::IntoIter {
                self.0.iter()
            }
        }

        impl<T: $($bound)*> IntoIterator for $name<T> {
            type Item = T;
            type IntoIter = crate::queue::IntoIter<T, $order>;
            fn into_iter(self) -> Self::IntoIter {
                self.0.into_iter()
            }
        }

        impl<T: $($bound)*> From<$name<T>> for Queue<T, $order> {
            fn from(q: $name<T>) -> Queue<T, $order> {
                q.0
            }
        }
    };
}

queue_kind!(LifoQueue, Lifo, 'static);
queue_kind!(PriorityQueue, Priority, Ord + 'static);
