//! [`Channel`]: a rendezvous between a putter and a getter, with no buffer.

use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{Wait as Entry, WaitList};

use crate::error::{GetError, PutError};
use crate::queue::Wait;

/// A queue that holds no item: [`put`](Channel::put) waits until a getter takes the item, and
/// [`get`](Channel::get) until a putter brings one (gevent's `Channel`). Handles are cheap
/// clones of one channel; waiting putters and getters are each served in arrival order.
///
/// # Examples
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// let ch = gevent_queue::Channel::new();
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let g = {
///     let (ch, log) = (ch.clone(), log.clone());
///     gevent_hub::spawn(move || { let v: &str = ch.get(); log.borrow_mut().push(v); })
/// };
/// ch.put("hello");                      // returns once the getter has the item
/// log.borrow_mut().push("sent");
/// g.join();
/// assert_eq!(*log.borrow(), ["hello", "sent"]);
/// ```
pub struct Channel<T: 'static> {
    /// The channel all handles share.
    shared: Rc<Waiters<T>>,
}

/// The parked greenlets of a channel.
///
/// # Invariant
///
/// Never a getter and a putter both waiting: whichever comes second is served at once.
struct Waiters<T: 'static> {
    /// Parked getters, in arrival order; an item for one is handed over in its entry.
    getters: WaitList<T>,
    /// Parked putters with their items, in arrival order (and, at the front, items given back
    /// by killed getters, with no greenlet behind them).
    putters: WaitList<T>,
}

impl<T: 'static> Channel<T> {
    /// A channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let ch = gevent_queue::Channel::<u8>::new();
    /// assert_eq!(ch.balance(), 0);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new() -> Channel<T> {
        Channel {
            shared: Rc::new(Waiters {
                getters: WaitList::new(),
                putters: WaitList::new(),
            }),
        }
    }

    /// Hands `item` to a getter: to the first waiting one, else waits for one. Returns once a
    /// getter has it; when a getter was already waiting, it runs before this call returns.
    ///
    /// # Examples
    ///
    /// See [`Channel`].
    ///
    /// # Panics
    ///
    /// As any wait: if no getter could ever come ([`LoopExit`](gevent_hub::LoopExit)), or if
    /// called inside the hub.
    ///
    /// # Switches
    ///
    /// Yes, always.
    ///
    /// # Kill safety
    ///
    /// A putter killed while it waits for a getter hands over nothing (the item is dropped
    /// with its stack).
    #[doc(alias = "send")]
    pub fn put(&self, item: T) {
        if self.put_with(item, Wait::Forever).is_err() {
            unreachable!("a put without a time limit ends only with a getter");
        }
    }

    /// Hands `item` to a getter that is waiting now, if there is one (never waits).
    ///
    /// # Examples
    ///
    /// ```
    /// let ch = gevent_queue::Channel::new();
    /// assert!(ch.put_nowait(1).unwrap_err().is_full()); // nobody waits
    /// let g = { let ch = ch.clone(); gevent_hub::spawn(move || ch.get()) };
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// assert!(ch.put_nowait(2).is_ok());
    /// assert_eq!(g.get().unwrap(), 2);
    /// ```
    ///
    /// # Errors
    ///
    /// [`PutError::Full`], with the item, if no getter waits.
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "try_send")]
    pub fn put_nowait(&self, item: T) -> Result<(), PutError<T>> {
        self.put_with(item, Wait::No)
    }

    /// [`put`](Channel::put), waiting at most `timeout` for a getter.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ch = gevent_queue::Channel::new();
    /// let e = ch.put_timeout("x", Duration::from_millis(5)).unwrap_err();
    /// assert_eq!(e.into_inner(), "x");
    /// ```
    ///
    /// # Errors
    ///
    /// [`PutError::Full`], with the item, if no getter came in time.
    ///
    /// # Switches
    ///
    /// Yes, always.
    ///
    /// # Kill safety
    ///
    /// As [`put`](Channel::put).
    #[doc(alias = "send_timeout")]
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.put_with(item, Wait::For(timeout))
    }

    /// Takes an item from the first waiting putter, else waits for one.
    ///
    /// # Examples
    ///
    /// ```
    /// let ch = gevent_queue::Channel::new();
    /// { let ch = ch.clone(); gevent_hub::spawn(move || ch.put(5)); }
    /// assert_eq!(ch.get(), 5);
    /// ```
    ///
    /// # Panics
    ///
    /// As any wait: if no putter could ever come ([`LoopExit`](gevent_hub::LoopExit)), or if
    /// called inside the hub.
    ///
    /// # Switches
    ///
    /// Unless a putter is waiting.
    ///
    /// # Kill safety
    ///
    /// A getter killed (or timed out) while it waits takes nothing, and an item already on its
    /// way to it goes to the next getter.
    #[doc(alias = "recv")]
    pub fn get(&self) -> T {
        match self.get_with(Wait::Forever) {
            Ok(v) => v,
            Err(_) => unreachable!("a get without a time limit ends only with a putter"),
        }
    }

    /// Takes an item from a putter that is waiting now, if there is one.
    ///
    /// # Examples
    ///
    /// ```
    /// let ch = gevent_queue::Channel::<u8>::new();
    /// assert!(ch.get_nowait().unwrap_err().is_empty());
    /// ```
    ///
    /// # Errors
    ///
    /// [`GetError::Empty`] if no putter waits.
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "try_recv")]
    pub fn get_nowait(&self) -> Result<T, GetError> {
        self.get_with(Wait::No)
    }

    /// [`get`](Channel::get), waiting at most `timeout` for a putter.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ch = gevent_queue::Channel::<u8>::new();
    /// assert!(ch.get_timeout(Duration::from_millis(5)).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`GetError::Empty`] if no putter came in time.
    ///
    /// # Switches
    ///
    /// Unless a putter is waiting.
    ///
    /// # Kill safety
    ///
    /// As [`get`](Channel::get).
    #[doc(alias = "recv_timeout")]
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.get_with(Wait::For(timeout))
    }

    /// Waiting putters minus waiting getters (gevent's `balance`).
    ///
    /// # Examples
    ///
    /// ```
    /// let ch = gevent_queue::Channel::<u8>::new();
    /// let g = { let ch = ch.clone(); gevent_hub::spawn(move || ch.get()) };
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// assert_eq!(ch.balance(), -1);
    /// ch.put(1);
    /// g.join();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn balance(&self) -> isize {
        self.shared.putters.len() as isize - self.shared.getters.len() as isize
    }

    /// Always 0: a channel stores nothing (gevent's `qsize`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gevent_queue::Channel::<u8>::new().len(), 0);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "qsize")]
    pub fn len(&self) -> usize {
        0
    }

    /// Always `true`: a channel stores nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gevent_queue::Channel::<u8>::new().is_empty());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_empty(&self) -> bool {
        true
    }

    /// Always `true` (gevent's `empty`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gevent_queue::Channel::<u8>::new().empty());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn empty(&self) -> bool {
        true
    }

    /// Always `true` (gevent's `full`): a put always waits for a getter.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gevent_queue::Channel::<u8>::new().full());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn full(&self) -> bool {
        true
    }

    /// Puts, waiting as `wait` allows.
    fn put_with(&self, item: T, wait: Wait) -> Result<(), PutError<T>> {
        let item = match self.shared.getters.hand_over(item) {
            Ok(()) => {
                if !matches!(wait, Wait::No) {
                    // Let the getter run first, as gevent's put does.
                    gevent_hub::sleep(Duration::ZERO);
                }
                return Ok(());
            }
            Err(item) => item,
        };
        let limit = match wait {
            Wait::No => return Err(PutError::Full(item)),
            Wait::Forever => None,
            Wait::For(d) => Some(d),
        };
        match self.shared.putters.wait_with(item, limit).take() {
            None => Ok(()),
            Some(v) => Err(PutError::Full(v)),
        }
    }

    /// Gets, waiting as `wait` allows.
    fn get_with(&self, wait: Wait) -> Result<T, GetError> {
        if let Some(v) = self.shared.putters.take_first() {
            return Ok(v);
        }
        let limit = match wait {
            Wait::No => return Err(GetError::Empty),
            Wait::Forever => None,
            Wait::For(d) => Some(d),
        };
        let mut entry = PassOn {
            chan: self,
            entry: self.shared.getters.wait(limit),
        };
        entry.entry.take().ok_or(GetError::Empty)
    }
}

/// A getter's entry that passes on an item handed over to it if the getter unwinds before
/// taking it: to the next getter, else to the front of the putters (with nobody behind it).
struct PassOn<'a, T: 'static> {
    /// The channel.
    chan: &'a Channel<T>,
    /// The getter's entry.
    entry: Entry<'a, T>,
}

impl<T: 'static> Drop for PassOn<'_, T> {
    fn drop(&mut self) {
        if let Some(v) = self.entry.take() {
            if let Err(v) = self.chan.shared.getters.hand_over(v) {
                self.chan.shared.putters.push_front(v);
            }
        }
    }
}

impl<T: 'static> Default for Channel<T> {
    fn default() -> Self {
        Channel::new()
    }
}

impl<T: 'static> Clone for Channel<T> {
    fn clone(&self) -> Self {
        Channel {
            shared: self.shared.clone(),
        }
    }
}

impl<T: 'static> fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("getters", &self.shared.getters.len())
            .field("putters", &self.shared.putters.len())
            .finish()
    }
}
