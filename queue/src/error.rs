//! The errors of queue operations, written by hand; a failed put gives its item back.

use std::fmt;

/// Why a [`put_nowait`](crate::Queue::put_nowait) or [`put_timeout`](crate::Queue::put_timeout)
/// did not put its item; the item comes back in the error (gevent raises `Full` or `ShutDown`).
///
/// # Examples
///
/// ```
/// use gevent_queue::{PutError, Queue};
/// let q = Queue::bounded(1);
/// q.put("a");
/// let e = q.put_nowait("b").unwrap_err();
/// assert!(e.is_full());
/// assert_eq!(e.into_inner(), "b");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PutError<T> {
    /// The queue was full (for `put_timeout`: for the whole time); gevent's `Full`.
    Full(T),
    /// The queue was shut down; gevent's `ShutDown`.
    ShutDown(T),
}

impl<T> PutError<T> {
    /// The item that was not put.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Channel::new();
    /// assert_eq!(q.put_nowait(5).unwrap_err().into_inner(), 5);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn into_inner(self) -> T {
        match self {
            PutError::Full(v) | PutError::ShutDown(v) => v,
        }
    }

    /// Whether the queue was full.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Channel::new();
    /// assert!(q.put_nowait(5).unwrap_err().is_full());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_full(&self) -> bool {
        matches!(self, PutError::Full(_))
    }

    /// Whether the queue was shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Queue::new();
    /// q.shutdown(false);
    /// assert!(q.put_nowait(5).unwrap_err().is_shutdown());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, PutError::ShutDown(_))
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("Full(..)"),
            PutError::ShutDown(_) => f.write_str("ShutDown(..)"),
        }
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("queue is full"),
            PutError::ShutDown(_) => f.write_str("queue is shut down"),
        }
    }
}

impl<T> std::error::Error for PutError<T> {}

/// Why a [`get_nowait`](crate::Queue::get_nowait), [`get_timeout`](crate::Queue::get_timeout)
/// or a `peek` returned no item (gevent raises `Empty` or `ShutDown`).
///
/// # Examples
///
/// ```
/// use gevent_queue::{GetError, Queue};
/// let q = Queue::<u8>::new();
/// assert_eq!(q.get_nowait(), Err(GetError::Empty));
/// q.shutdown(false);
/// assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GetError {
    /// The queue was empty (for `get_timeout`: for the whole time); gevent's `Empty`.
    Empty,
    /// The queue was shut down and has no items left (or was shut down with `immediate`);
    /// gevent's `ShutDown`.
    ShutDown,
}

impl GetError {
    /// Whether the queue was empty.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gevent_queue::Queue::<u8>::new().get_nowait().unwrap_err().is_empty());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_empty(&self) -> bool {
        matches!(self, GetError::Empty)
    }

    /// Whether the queue was shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Queue::<u8>::new();
    /// q.shutdown(true);
    /// assert!(q.get_nowait().unwrap_err().is_shutdown());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, GetError::ShutDown)
    }
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetError::Empty => f.write_str("queue is empty"),
            GetError::ShutDown => f.write_str("queue is shut down"),
        }
    }
}

impl std::error::Error for GetError {}

/// [`try_task_done`](crate::Queue::try_task_done) was called more times than items were put
/// (Python raises `ValueError`).
///
/// # Examples
///
/// ```
/// let q = gevent_queue::JoinableQueue::<u8>::new();
/// assert!(q.try_task_done().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneError {}
