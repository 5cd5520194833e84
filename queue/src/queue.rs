//! [`Queue`]: a FIFO (or LIFO, or priority) queue shared by the greenlets of one thread.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{wait_one, Notify, Wait as Entry, WaitList, Waitable, WaiterKey};

use crate::error::{GetError, PutError, TaskDoneError};
use crate::order::{Fifo, Order};

/// How long an operation may wait.
#[derive(Clone, Copy)]
pub(crate) enum Wait {
    /// Not at all.
    No,
    /// As long as it takes.
    Forever,
    /// At most this long.
    For(Duration),
}

impl Wait {
    /// The time limit for a wait, or `None` for `Wait::No`.
    fn limit(self) -> Option<Option<Duration>> {
        match self {
            Wait::No => None,
            Wait::Forever => Some(None),
            Wait::For(d) => Some(Some(d)),
        }
    }
}

/// A multi-producer, multi-consumer queue for the greenlets of one thread (gevent's
/// `gevent.queue.Queue`, which since gevent 25.4 is also its `JoinableQueue`).
///
/// [`Queue::new`] makes an unbounded queue, [`Queue::bounded`] one whose [`put`](Queue::put)
/// waits while `n` items are stored. Handles are cheap clones of one queue. Greenlets blocked in
/// `get` are served in the order they blocked, and so are greenlets blocked in `put`; an item
/// put while getters wait goes straight to the first of them, so a greenlet that arrives later
/// cannot take it first.
///
/// The order is a type parameter: [`Fifo`] here, [`LifoQueue`](crate::LifoQueue) and
/// [`PriorityQueue`](crate::PriorityQueue) for the others. Every queue counts unfinished tasks
/// for [`join`](Queue::join) and [`task_done`](Queue::task_done), as Python's `queue.Queue`
/// does, and can be [`shutdown`](Queue::shutdown) as in Python 3.13.
///
/// # Examples
///
/// ```
/// use gevent_queue::Queue;
///
/// let q = Queue::bounded(2);
/// let producer = {
///     let q = q.clone();
///     gevent_hub::spawn(move || for i in 0..5 { q.put(i) })   // waits while 2 are queued
/// };
/// let got: Vec<i32> = (0..5).map(|_| q.get()).collect();
/// assert_eq!(got, [0, 1, 2, 3, 4]);
/// producer.join();
/// ```
///
/// A `Queue` belongs to its thread's greenlets (it is `!Send`; across threads, use a channel
/// of `std` or crossbeam, or the thread pool):
///
/// ```compile_fail
/// let q = gevent_queue::Queue::<u8>::new();
/// std::thread::spawn(move || q.put(1));
/// ```
pub struct Queue<T: 'static, O: Order<T> = Fifo> {
    /// The queue all handles share.
    shared: Rc<Shared<T, O>>,
}

/// The state behind a queue's handles.
///
/// # Invariant
///
/// Getters wait only while `buf` is empty (an item arriving for a waiting getter goes to it,
/// not to `buf`), and putters only while `buf` is full (room made by a `get` goes to the first
/// putter at once).
struct Shared<T: 'static, O: Order<T>> {
    /// The items, and the counts.
    state: RefCell<State<T, O>>,
    /// The most items `put` stores before it waits; `usize::MAX` for no limit.
    maxsize: usize,
    /// Parked getters, first come first served; an item for one is handed over in its entry.
    getters: WaitList<T>,
    /// Parked putters, first come first served, each with its item in its entry.
    putters: WaitList<T>,
    /// Parked peekers (woken whenever `buf` gains an item).
    peekers: WaitList,
    /// Greenlets in `join`, woken when `unfinished` drops to zero.
    joiners: WaitList,
}

/// What changes as the queue is used.
struct State<T: 'static, O: Order<T>> {
    /// The items, in `O`'s storage.
    buf: O::Buf,
    /// Items put and not yet marked done with `task_done`.
    unfinished: usize,
    /// Whether `shutdown` was called.
    shut_down: bool,
}

impl<T: 'static> Queue<T> {
    /// An unbounded FIFO queue (gevent's `Queue()`).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Queue::new();
    /// q.put("x");
    /// assert_eq!(q.len(), 1);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new() -> Queue<T> {
        Queue::with_maxsize(None)
    }

    /// A FIFO queue that holds at most `maxsize` items: `put` waits while it is full (gevent's
    /// `Queue(maxsize)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Queue::bounded(1);
    /// q.put(1);
    /// assert!(q.full());
    /// assert!(q.put_nowait(2).unwrap_err().is_full());
    /// ```
    ///
    /// # Panics
    ///
    /// If `maxsize` is 0: such a queue could never hold an item. Use
    /// [`Channel`](crate::Channel) for a rendezvous, [`Queue::new`] for no bound.
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "maxsize")]
    pub fn bounded(maxsize: usize) -> Queue<T> {
        Queue::with_maxsize(Some(maxsize))
    }
}

impl<T: 'static> Default for Queue<T> {
    fn default() -> Self {
        Queue::new()
    }
}

impl<T: 'static, O: Order<T>> Clone for Queue<T, O> {
    fn clone(&self) -> Self {
        Queue {
            shared: self.shared.clone(),
        }
    }
}

impl<T: 'static, O: Order<T>> Queue<T, O> {
    /// A queue of order `O` with an optional bound.
    pub(crate) fn with_maxsize(maxsize: Option<usize>) -> Queue<T, O> {
        if maxsize == Some(0) {
            panic!(
                "Queue::bounded(0): a queue of size 0 can never hold an item; use Channel for \
                 a rendezvous, or Queue::new() for no bound"
            );
        }
        Queue {
            shared: Rc::new(Shared {
                state: RefCell::new(State {
                    buf: O::new_buf(),
                    unfinished: 0,
                    shut_down: false,
                }),
                maxsize: maxsize.unwrap_or(usize::MAX),
                getters: WaitList::new(),
                putters: WaitList::new(),
                peekers: WaitList::new(),
                joiners: WaitList::new(),
            }),
        }
    }

    /// Puts `item` in the queue, waiting while it is full (gevent's `put`). If greenlets are
    /// waiting in `get`, the first of them receives the item.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Queue::new();
    /// let getter = { let q = q.clone(); gevent_hub::spawn(move || q.get()) };
    /// gevent_hub::sleep(std::time::Duration::ZERO); // the getter waits
    /// q.put(7);
    /// assert_eq!(getter.get().unwrap(), 7);
    /// ```
    ///
    /// # Panics
    ///
    /// If the queue is shut down (also while this call waits); use
    /// [`put_timeout`](Queue::put_timeout) or [`put_nowait`](Queue::put_nowait) to get the
    /// item back instead. As any wait: if nothing could ever make room
    /// ([`LoopExit`](gevent_hub::LoopExit)), or if called inside the hub.
    ///
    /// # Switches
    ///
    /// Only while the queue is full.
    ///
    /// # Kill safety
    ///
    /// A greenlet killed (or timed out) while it waits puts nothing: the item is dropped with
    /// its stack, and the greenlets behind it keep their places.
    #[doc(alias = "send")]
    pub fn put(&self, item: T) {
        if let Err(e) = self.put_with(item, Wait::Forever) {
            debug_assert!(e.is_shutdown());
            panic!(
                "Queue::put on a queue that is shut down (use put_timeout or put_nowait to get \
                 the item back)"
            );
        }
    }

    /// Puts `item` only if there is room now (gevent's `put_nowait`, `put(block=False)`).
    /// Callable from the hub (a callback).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_queue::{PutError, Queue};
    /// let q = Queue::bounded(1);
    /// assert!(q.put_nowait(1).is_ok());
    /// assert_eq!(q.put_nowait(2), Err(PutError::Full(2)));
    /// ```
    ///
    /// # Errors
    ///
    /// [`PutError::Full`] if the queue is full, [`PutError::ShutDown`] if it is shut down;
    /// both give the item back.
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "try_send")]
    #[doc(alias = "put(block=False)")]
    pub fn put_nowait(&self, item: T) -> Result<(), PutError<T>> {
        self.try_put(item)
    }

    /// Puts `item`, waiting at most `timeout` for room (gevent's `put(item, timeout=t)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = gevent_queue::Queue::bounded(1);
    /// q.put(1);
    /// let e = q.put_timeout(2, Duration::from_millis(5)).unwrap_err();
    /// assert!(e.is_full());
    /// assert_eq!(e.into_inner(), 2);
    /// ```
    ///
    /// # Errors
    ///
    /// [`PutError::Full`] if there was no room for the whole time, [`PutError::ShutDown`] if
    /// the queue was or got shut down; both give the item back.
    ///
    /// # Panics
    ///
    /// As any wait: if called inside the hub.
    ///
    /// # Switches
    ///
    /// Only while the queue is full.
    ///
    /// # Kill safety
    ///
    /// As [`put`](Queue::put): a killed putter puts nothing.
    #[doc(alias = "send_timeout")]
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.put_with(item, Wait::For(timeout))
    }

    /// Takes the next item, waiting while the queue is empty (gevent's `get`).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Queue::new();
    /// { let q = q.clone(); gevent_hub::spawn(move || q.put("hi")); }
    /// assert_eq!(q.get(), "hi"); // waits for the spawned greenlet
    /// ```
    ///
    /// # Panics
    ///
    /// If the queue is shut down and has no items left (also while this call waits); use
    /// [`iter`](Queue::iter), [`get_timeout`](Queue::get_timeout) or
    /// [`get_nowait`](Queue::get_nowait) to handle shutdown. As any wait: if nothing could
    /// ever put an item ([`LoopExit`](gevent_hub::LoopExit)), or if called inside the hub.
    ///
    /// # Switches
    ///
    /// Only while the queue is empty.
    ///
    /// # Kill safety
    ///
    /// A greenlet killed (or timed out) while it waits takes no item: nothing is lost, and an
    /// item that was already on its way to it goes to the next getter (or back to the front of
    /// the queue).
    #[doc(alias = "recv")]
    pub fn get(&self) -> T {
        match self.get_with(Wait::Forever) {
            Ok(v) => v,
            Err(_) => panic!(
                "Queue::get on a queue that is shut down and empty (use iter, get_timeout or \
                 get_nowait to handle shutdown)"
            ),
        }
    }

    /// Takes the next item only if there is one now (gevent's `get_nowait`,
    /// `get(block=False)`). Callable from the hub (a callback).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_queue::{GetError, Queue};
    /// let q = Queue::new();
    /// assert_eq!(q.get_nowait(), Err(GetError::Empty));
    /// q.put(3);
    /// assert_eq!(q.get_nowait(), Ok(3));
    /// ```
    ///
    /// # Errors
    ///
    /// [`GetError::Empty`] if there is no item, [`GetError::ShutDown`] if there is none and the
    /// queue is shut down.
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "try_recv")]
    pub fn get_nowait(&self) -> Result<T, GetError> {
        self.try_get()
    }

    /// Takes the next item, waiting at most `timeout` (gevent's `get(timeout=t)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gevent_queue::{GetError, Queue};
    /// let q = Queue::<u8>::new();
    /// assert_eq!(q.get_timeout(Duration::from_millis(5)), Err(GetError::Empty));
    /// ```
    ///
    /// # Errors
    ///
    /// [`GetError::Empty`] if no item came in time, [`GetError::ShutDown`] if the queue is (or
    /// got) shut down with no items left.
    ///
    /// # Panics
    ///
    /// As any wait: if called inside the hub.
    ///
    /// # Switches
    ///
    /// Only while the queue is empty.
    ///
    /// # Kill safety
    ///
    /// As [`get`](Queue::get): a getter that times out or is killed takes no item.
    #[doc(alias = "recv_timeout")]
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.get_with(Wait::For(timeout))
    }

    /// A copy of the item [`get`](Queue::get) would return, without removing it, waiting while
    /// the queue is empty (gevent's `peek`).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Queue::new();
    /// q.put(String::from("first"));
    /// assert_eq!(q.peek(), "first");
    /// assert_eq!(q.len(), 1);
    /// ```
    ///
    /// # Panics
    ///
    /// If the queue is shut down and empty; as any wait, if nothing could ever put an item
    /// ([`LoopExit`](gevent_hub::LoopExit)) or if called inside the hub.
    ///
    /// # Switches
    ///
    /// Only while the queue is empty.
    ///
    /// # Kill safety
    ///
    /// Nothing to undo: a peek takes nothing.
    pub fn peek(&self) -> T
    where
        T: Clone,
    {
        match self.peek_with(Wait::Forever) {
            Ok(v) => v,
            Err(_) => panic!("Queue::peek on a queue that is shut down and empty"),
        }
    }

    /// A copy of the next item, if there is one now (gevent's `peek_nowait`).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Queue::<u8>::new();
    /// assert!(q.peek_nowait().unwrap_err().is_empty());
    /// ```
    ///
    /// # Errors
    ///
    /// As [`get_nowait`](Queue::get_nowait).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn peek_nowait(&self) -> Result<T, GetError>
    where
        T: Clone,
    {
        self.peek_with(Wait::No)
    }

    /// A copy of the next item, waiting at most `timeout` for one (gevent's
    /// `peek(timeout=t)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = gevent_queue::Queue::<u8>::new();
    /// assert!(q.peek_timeout(Duration::from_millis(5)).unwrap_err().is_empty());
    /// ```
    ///
    /// # Errors
    ///
    /// As [`get_timeout`](Queue::get_timeout).
    ///
    /// # Switches
    ///
    /// Only while the queue is empty.
    ///
    /// # Kill safety
    ///
    /// Nothing to undo.
    pub fn peek_timeout(&self, timeout: Duration) -> Result<T, GetError>
    where
        T: Clone,
    {
        self.peek_with(Wait::For(timeout))
    }

    /// How many items are stored (gevent's `qsize()` and `len()`). Items handed straight to a
    /// waiting getter are never stored.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Queue::new();
    /// q.put(1);
    /// q.put(2);
    /// assert_eq!(q.len(), 2);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "qsize")]
    pub fn len(&self) -> usize {
        O::len(&self.shared.state.borrow().buf)
    }

    /// Whether no item is stored.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gevent_queue::Queue::<u8>::new().is_empty());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether no item is stored (gevent's name for [`is_empty`](Queue::is_empty)).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Queue::new();
    /// assert!(q.empty());
    /// q.put(1);
    /// assert!(!q.empty());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn empty(&self) -> bool {
        self.is_empty()
    }

    /// Whether the queue holds `maxsize` items, so that `put` would wait. An unbounded queue
    /// is never full.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Queue::bounded(1);
    /// assert!(!q.full());
    /// q.put(());
    /// assert!(q.full());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn full(&self) -> bool {
        self.len() >= self.shared.maxsize
    }

    /// The bound, or `None` for an unbounded queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_queue::Queue;
    /// assert_eq!(Queue::<u8>::bounded(3).maxsize(), Some(3));
    /// assert_eq!(Queue::<u8>::new().maxsize(), None);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn maxsize(&self) -> Option<usize> {
        (self.shared.maxsize != usize::MAX).then_some(self.shared.maxsize)
    }

    /// Shuts the queue down (Python 3.13's and gevent's `shutdown`): every later put fails
    /// with `ShutDown`, and so does every get once no items are left. Greenlets waiting in
    /// `put` or `get` are woken with `ShutDown` (their items are not put). With `immediate`,
    /// the items still stored are dropped, each one counted as done for
    /// [`join`](Queue::join), so that gets fail at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_queue::{GetError, Queue};
    /// let q = Queue::new();
    /// q.put(1);
    /// q.shutdown(false);
    /// assert!(q.put_nowait(2).unwrap_err().is_shutdown());
    /// assert_eq!(q.get_nowait(), Ok(1));          // what was queued is still delivered
    /// assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
    /// ```
    ///
    /// # Switches
    ///
    /// Never (woken greenlets run later).
    pub fn shutdown(&self, immediate: bool) {
        let mut drained = Vec::new();
        let joined = {
            let mut st = self.shared.state.borrow_mut();
            st.shut_down = true;
            let mut joined = false;
            if immediate {
                while let Some(v) = O::pop(&mut st.buf) {
                    drained.push(v);
                }
                if !drained.is_empty() && st.unfinished > 0 {
                    st.unfinished = st.unfinished.saturating_sub(drained.len());
                    joined = st.unfinished == 0;
                }
            }
            joined
        };
        // Woken putters find their items still in their entries.
        self.shared.getters.notify_all();
        self.shared.putters.notify_all();
        self.shared.peekers.notify_all();
        drop(drained);
        if joined {
            self.shared.joiners.notify_all();
        }
    }

    /// Whether [`shutdown`](Queue::shutdown) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Queue::<u8>::new();
    /// q.shutdown(false);
    /// assert!(q.is_shutdown());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_shutdown(&self) -> bool {
        self.shared.state.borrow().shut_down
    }

    /// Marks one item taken with `get` as processed (Python's `task_done`): when every item put
    /// has been marked, [`join`](Queue::join) returns.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::JoinableQueue::new();
    /// q.put("job");
    /// let _job = q.get();
    /// assert_eq!(q.unfinished_tasks(), 1);
    /// q.task_done();
    /// q.join(); // returns at once
    /// ```
    ///
    /// # Panics
    ///
    /// If called more times than items were put ("task_done() called too many times"); see
    /// [`try_task_done`](Queue::try_task_done).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn task_done(&self) {
        if self.try_task_done().is_err() {
            panic!(
                "task_done() called too many times: more often than items were put in the queue"
            );
        }
    }

    /// [`task_done`](Queue::task_done) that reports, rather than panics on, one call too many.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_queue::{JoinableQueue, TaskDoneError};
    /// let q = JoinableQueue::new();
    /// q.put(1);
    /// assert_eq!(q.try_task_done(), Ok(()));
    /// assert_eq!(q.try_task_done(), Err(TaskDoneError));
    /// ```
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] if no task is unfinished.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn try_task_done(&self) -> Result<(), TaskDoneError> {
        let done = {
            let mut st = self.shared.state.borrow_mut();
            if st.unfinished == 0 {
                return Err(TaskDoneError);
            }
            st.unfinished -= 1;
            st.unfinished == 0
        };
        if done {
            self.shared.joiners.notify_all();
        }
        Ok(())
    }

    /// How many items were put and not yet marked with [`task_done`](Queue::task_done).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::JoinableQueue::new();
    /// q.put(1);
    /// q.put(2);
    /// assert_eq!(q.unfinished_tasks(), 2);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn unfinished_tasks(&self) -> usize {
        self.shared.state.borrow().unfinished
    }

    /// Waits until every item put has been marked with [`task_done`](Queue::task_done)
    /// (Python's `join`). Returns at once if none is unfinished.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_queue::JoinableQueue;
    /// let q = JoinableQueue::new();
    /// let worker = { let q = q.clone(); gevent_hub::spawn(move || for _job in &q { q.task_done() }) };
    /// for i in 0..10 { q.put(i); }
    /// q.join();                 // all 10 processed
    /// assert_eq!(q.unfinished_tasks(), 0);
    /// q.shutdown(false);        // ends the worker's loop
    /// worker.join();
    /// ```
    ///
    /// # Panics
    ///
    /// As any wait: if nothing could ever finish the tasks
    /// ([`LoopExit`](gevent_hub::LoopExit)), or if called inside the hub.
    ///
    /// # Switches
    ///
    /// Unless no task is unfinished.
    ///
    /// # Kill safety
    ///
    /// Nothing to undo.
    pub fn join(&self) {
        wait_one(&Joined(self), None);
    }

    /// [`join`](Queue::join) for at most `timeout`; returns whether every task was done.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = gevent_queue::JoinableQueue::new();
    /// q.put(1);
    /// assert!(!q.join_timeout(Duration::from_millis(5)));
    /// ```
    ///
    /// # Switches
    ///
    /// Unless no task is unfinished.
    ///
    /// # Kill safety
    ///
    /// Nothing to undo.
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        wait_one(&Joined(self), Some(timeout))
    }

    /// An iterator that [`get`](Queue::get)s items until the queue is shut down and drained:
    /// gevent's `for item in queue`, which stops at a `StopIteration` item; here
    /// [`shutdown`](Queue::shutdown) plays that part. `&queue` iterates the same way.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Queue::new();
    /// q.put(1);
    /// q.put(2);
    /// q.shutdown(false);
    /// assert_eq!(q.iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    ///
    /// # Switches
    ///
    /// Each `next` switches while the queue is empty and not shut down.
    ///
    /// # Kill safety
    ///
    /// As [`get`](Queue::get).
    pub fn iter(&self) -> Iter<'_, T, O> {
        Iter { queue: self }
    }

    /// How many greenlets wait in `get`.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Queue::<u8>::new();
    /// let g = { let q = q.clone(); gevent_hub::spawn(move || q.get()) };
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// assert_eq!(q.getters_waiting(), 1);
    /// q.put(1);
    /// g.join();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn getters_waiting(&self) -> usize {
        self.shared.getters.len()
    }

    /// How many greenlets wait in `put`.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = gevent_queue::Queue::bounded(1);
    /// q.put(0);
    /// let g = { let q = q.clone(); gevent_hub::spawn(move || q.put(1)) };
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// assert_eq!(q.putters_waiting(), 1);
    /// assert_eq!(q.get(), 0);
    /// g.join();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn putters_waiting(&self) -> usize {
        self.shared.putters.len()
    }

    // ----- the machinery -----

    /// Puts without waiting: to the first waiting getter, else into the buffer if there is
    /// room.
    #[inline]
    fn try_put(&self, item: T) -> Result<(), PutError<T>> {
        let sh = &*self.shared;
        if sh.state.borrow().shut_down {
            return Err(PutError::ShutDown(item));
        }
        let item = if sh.getters.is_empty() {
            item
        } else {
            match sh.getters.hand_over(item) {
                Ok(()) => {
                    sh.state.borrow_mut().unfinished += 1;
                    return Ok(());
                }
                Err(item) => item,
            }
        };
        {
            let mut st = sh.state.borrow_mut();
            if O::len(&st.buf) >= sh.maxsize {
                return Err(PutError::Full(item));
            }
            O::push(&mut st.buf, item);
            st.unfinished += 1;
        }
        if !sh.peekers.is_empty() {
            sh.peekers.notify_all();
        }
        Ok(())
    }

    /// Takes without waiting, then lets the first waiting putters into the room made.
    #[inline]
    fn try_get(&self) -> Result<T, GetError> {
        let sh = &*self.shared;
        let v = {
            let mut st = sh.state.borrow_mut();
            match O::pop(&mut st.buf) {
                Some(v) => v,
                None if st.shut_down => return Err(GetError::ShutDown),
                None => return Err(GetError::Empty),
            }
        };
        if !sh.putters.is_empty() {
            self.admit_putters();
        }
        Ok(v)
    }

    /// Moves the items of the first waiting putters into the buffer while there is room.
    fn admit_putters(&self) {
        let sh = &*self.shared;
        while O::len(&sh.state.borrow().buf) < sh.maxsize {
            let Some(v) = sh.putters.take_first() else {
                break;
            };
            let mut st = sh.state.borrow_mut();
            O::push(&mut st.buf, v);
            st.unfinished += 1;
        }
    }

    /// Puts, waiting as `wait` allows.
    fn put_with(&self, item: T, wait: Wait) -> Result<(), PutError<T>> {
        let mut item = match self.try_put(item) {
            Err(PutError::Full(v)) => v,
            r => return r,
        };
        loop {
            let Some(limit) = wait.limit() else {
                return Err(PutError::Full(item));
            };
            let mut entry = self.shared.putters.wait_with(item, limit);
            let left = entry.take();
            let woken = entry.woken();
            drop(entry);
            let Some(v) = left else {
                return Ok(()); // a getter moved it into the queue
            };
            if self.is_shutdown() {
                return Err(PutError::ShutDown(v));
            }
            if !woken {
                return Err(PutError::Full(v));
            }
            // Woken without being served (cannot happen today): try again.
            item = match self.try_put(v) {
                Err(PutError::Full(v)) => v,
                r => return r,
            };
        }
    }

    /// Gets, waiting as `wait` allows.
    fn get_with(&self, wait: Wait) -> Result<T, GetError> {
        loop {
            match self.try_get() {
                Err(GetError::Empty) => {}
                r => return r,
            }
            let Some(limit) = wait.limit() else {
                return Err(GetError::Empty);
            };
            let mut entry = Redeliver {
                queue: self,
                entry: self.shared.getters.wait(limit),
            };
            if let Some(v) = entry.entry.take() {
                return Ok(v);
            }
            if !entry.entry.woken() {
                return Err(GetError::Empty);
            }
            // Woken by shutdown: the next try_get says so.
        }
    }

    /// Peeks, waiting as `wait` allows.
    fn peek_with(&self, wait: Wait) -> Result<T, GetError>
    where
        T: Clone,
    {
        let deadline = match wait {
            Wait::For(d) => Instant::now().checked_add(d),
            _ => None,
        };
        loop {
            {
                let st = self.shared.state.borrow();
                if let Some(v) = O::peek(&st.buf) {
                    return Ok(v.clone());
                }
                if st.shut_down {
                    return Err(GetError::ShutDown);
                }
            }
            let limit = match wait {
                Wait::No => return Err(GetError::Empty),
                Wait::Forever => None,
                Wait::For(_) => deadline.map(|d| d.saturating_duration_since(Instant::now())),
            };
            if !self.shared.peekers.wait(limit).woken() {
                let st = self.shared.state.borrow();
                return match O::peek(&st.buf) {
                    Some(v) => Ok(v.clone()),
                    None => Err(GetError::Empty),
                };
            }
        }
    }

    /// Gives back an item that was handed to a getter that could not take it (it unwound
    /// between the hand-over and running): to the next getter, else to the front.
    fn redeliver(&self, item: T) {
        let sh = &*self.shared;
        let Err(item) = sh.getters.hand_over(item) else {
            return;
        };
        O::push_back_taken(&mut sh.state.borrow_mut().buf, item);
        sh.peekers.notify_all();
    }
}

/// A getter's entry that gives back an item handed over to it if the getter unwinds before
/// taking it.
struct Redeliver<'a, T: 'static, O: Order<T>> {
    /// The queue.
    queue: &'a Queue<T, O>,
    /// The getter's entry.
    entry: Entry<'a, T>,
}

impl<T: 'static, O: Order<T>> Drop for Redeliver<'_, T, O> {
    fn drop(&mut self) {
        if let Some(v) = self.entry.take() {
            self.queue.redeliver(v);
        }
    }
}

/// The "all tasks done" condition, for [`wait_one`].
struct Joined<'a, T: 'static, O: Order<T>>(&'a Queue<T, O>);

impl<T: 'static, O: Order<T>> Waitable for Joined<'_, T, O> {
    fn ready(&self) -> bool {
        self.0.unfinished_tasks() == 0
    }
    fn add_waiter(&self, notify: Notify) -> WaiterKey {
        self.0.shared.joiners.add(notify)
    }
    fn remove_waiter(&self, key: WaiterKey) {
        self.0.shared.joiners.remove(key)
    }
}

/// The iterator of [`Queue::iter`]: gets items until the queue is shut down and drained.
///
/// # Examples
///
/// ```
/// let q = gevent_queue::Queue::new();
/// let reader = { let q = q.clone(); gevent_hub::spawn(move || q.iter().sum::<u32>()) };
/// for i in 1..=4 { q.put(i); }
/// q.shutdown(false);
/// assert_eq!(reader.get().unwrap(), 10);
/// ```
pub struct Iter<'a, T: 'static, O: Order<T> = Fifo> {
    /// The queue.
    queue: &'a Queue<T, O>,
}

impl<T: 'static, O: Order<T>> Iterator for Iter<'_, T, O> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.queue.get_with(Wait::Forever).ok()
    }
}

impl<T: 'static, O: Order<T>> fmt::Debug for Iter<'_, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").field("queue", self.queue).finish()
    }
}

/// The owning iterator of a queue handle (`for item in queue`): gets items until the queue is
/// shut down and drained. Handy where an iterator must be `'static`.
///
/// # Examples
///
/// ```
/// let q = gevent_queue::Queue::new();
/// let reader = {
///     let items = q.clone().into_iter(); // 'static: it owns its handle
///     gevent_hub::spawn(move || items.collect::<Vec<&str>>())
/// };
/// q.put("a");
/// q.put("b");
/// q.shutdown(false);
/// assert_eq!(reader.get().unwrap(), ["a", "b"]);
/// ```
pub struct IntoIter<T: 'static, O: Order<T> = Fifo> {
    /// The queue.
    queue: Queue<T, O>,
}

impl<T: 'static, O: Order<T>> Iterator for IntoIter<T, O> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.queue.get_with(Wait::Forever).ok()
    }
}

impl<T: 'static, O: Order<T>> fmt::Debug for IntoIter<T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter")
            .field("queue", &self.queue)
            .finish()
    }
}

impl<'a, T: 'static, O: Order<T>> IntoIterator for &'a Queue<T, O> {
    type Item = T;
    type IntoIter = Iter<'a, T, O>;
    fn into_iter(self) -> Iter<'a, T, O> {
        self.iter()
    }
}

impl<T: 'static, O: Order<T>> IntoIterator for Queue<T, O> {
    type Item = T;
    type IntoIter = IntoIter<T, O>;
    fn into_iter(self) -> IntoIter<T, O> {
        IntoIter { queue: self }
    }
}

impl<T: 'static, O: Order<T>> fmt::Debug for Queue<T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.state.borrow();
        f.debug_struct("Queue")
            .field("len", &O::len(&st.buf))
            .field("maxsize", &self.maxsize())
            .field("getters", &self.shared.getters.len())
            .field("putters", &self.shared.putters.len())
            .field("unfinished", &st.unfinished)
            .field("shut_down", &st.shut_down)
            .finish()
    }
}
