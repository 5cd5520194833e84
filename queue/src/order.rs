//! The order in which a queue hands out its items: [`Fifo`], [`Lifo`], [`Priority`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

mod sealed {
    /// Keeps [`Order`](super::Order) closed: the queue's invariants rely on these three.
    pub trait Sealed {}
}

/// How a [`Queue`](crate::Queue) stores its items and which one `get` takes: [`Fifo`] (the
/// default, [`Queue`](crate::Queue)), [`Lifo`] ([`LifoQueue`](crate::LifoQueue)) or
/// [`Priority`] ([`PriorityQueue`](crate::PriorityQueue)). Sealed: the queue relies on these
/// three.
///
/// # Examples
///
/// ```
/// use gevent_queue::{Fifo, Queue};
/// let q: Queue<u8, Fifo> = Queue::new();
/// q.put(1);
/// assert_eq!(q.get(), 1);
/// ```
pub trait Order<T>: sealed::Sealed + 'static {
    /// The storage.
    #[doc(hidden)]
    type Buf;
    /// Empty storage.
    #[doc(hidden)]
    fn new_buf() -> Self::Buf;
    /// Adds a new item.
    #[doc(hidden)]
    fn push(buf: &mut Self::Buf, v: T);
    /// Returns an item that was taken out but could not be delivered, so that it is the next
    /// one out (for FIFO: at the front).
    #[doc(hidden)]
    fn push_back_taken(buf: &mut Self::Buf, v: T);
    /// Takes the next item.
    #[doc(hidden)]
    fn pop(buf: &mut Self::Buf) -> Option<T>;
    /// The next item.
    #[doc(hidden)]
    fn peek(buf: &Self::Buf) -> Option<&T>;
    /// How many items are stored.
    #[doc(hidden)]
    fn len(buf: &Self::Buf) -> usize;
}

/// First in, first out: gevent's `Queue`.
///
/// # Examples
///
/// ```
/// let q = gevent_queue::Queue::new();
/// q.put(1);
/// q.put(2);
/// assert_eq!(q.get(), 1);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Fifo;

/// Last in, first out: gevent's `LifoQueue`.
///
/// # Examples
///
/// ```
/// let q = gevent_queue::LifoQueue::new();
/// q.put(1);
/// q.put(2);
/// assert_eq!(q.get(), 2);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Lifo;

/// Smallest first, like Python's `heapq`: gevent's `PriorityQueue`.
///
/// # Examples
///
/// ```
/// let q = gevent_queue::PriorityQueue::new();
/// q.put((2, "b"));
/// q.put((1, "a"));
/// assert_eq!(q.get(), (1, "a"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Priority;

impl sealed::Sealed for Fifo {}
impl sealed::Sealed for Lifo {}
impl sealed::Sealed for Priority {}

impl<T> Order<T> for Fifo {
    type Buf = VecDeque<T>;
    fn new_buf() -> VecDeque<T> {
        VecDeque::new()
    }
    #[inline]
    fn push(buf: &mut VecDeque<T>, v: T) {
        buf.push_back(v)
    }
    fn push_back_taken(buf: &mut VecDeque<T>, v: T) {
        buf.push_front(v)
    }
    #[inline]
    fn pop(buf: &mut VecDeque<T>) -> Option<T> {
        buf.pop_front()
    }
    fn peek(buf: &VecDeque<T>) -> Option<&T> {
        buf.front()
    }
    #[inline]
    fn len(buf: &VecDeque<T>) -> usize {
        buf.len()
    }
}

impl<T> Order<T> for Lifo {
    type Buf = Vec<T>;
    fn new_buf() -> Vec<T> {
        Vec::new()
    }
    #[inline]
    fn push(buf: &mut Vec<T>, v: T) {
        buf.push(v)
    }
    fn push_back_taken(buf: &mut Vec<T>, v: T) {
        buf.push(v)
    }
    #[inline]
    fn pop(buf: &mut Vec<T>) -> Option<T> {
        buf.pop()
    }
    fn peek(buf: &Vec<T>) -> Option<&T> {
        buf.last()
    }
    #[inline]
    fn len(buf: &Vec<T>) -> usize {
        buf.len()
    }
}

impl<T: Ord> Order<T> for Priority {
    type Buf = BinaryHeap<Reverse<T>>;
    fn new_buf() -> BinaryHeap<Reverse<T>> {
        BinaryHeap::new()
    }
    #[inline]
    fn push(buf: &mut BinaryHeap<Reverse<T>>, v: T) {
        buf.push(Reverse(v))
    }
    fn push_back_taken(buf: &mut BinaryHeap<Reverse<T>>, v: T) {
        buf.push(Reverse(v))
    }
    #[inline]
    fn pop(buf: &mut BinaryHeap<Reverse<T>>) -> Option<T> {
        buf.pop().map(|r| r.0)
    }
    fn peek(buf: &BinaryHeap<Reverse<T>>) -> Option<&T> {
        buf.peek().map(|r| &r.0)
    }
    #[inline]
    fn len(buf: &BinaryHeap<Reverse<T>>) -> usize {
        buf.len()
    }
}
