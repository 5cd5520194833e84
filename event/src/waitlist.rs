//! The FIFO of waiters behind [`Event`](crate::Event) and [`AsyncResult`](crate::AsyncResult).
//!
//! Greenlets waiting directly are stored as their [`Unparker`] (no allocation per waiter);
//! registrations made through [`Waitable`](gevent_hub::Waitable) (`wait`, `iwait`, `joinall`)
//! as their callback. Both kinds share one list, so they are woken in the order they came.
//!
//! Keys increase along the list, so a waiter that gives up (a timeout, a kill) finds its entry
//! by binary search and leaves a hole that is skipped later; holes are compacted away once they
//! outnumber the live entries. Removing is O(log n), waking all is O(n).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use gevent_hub::{Notify, Unparker};

/// One waiter.
pub(crate) enum Waiter {
    /// A greenlet parked in `wait`/`get`: woken with the empty value.
    Park(Unparker),
    /// A `Waitable` registration: called.
    Notify(Notify),
}

/// A FIFO of waiters with O(log n) removal by key.
pub(crate) struct WaitList {
    /// The key the next entry gets.
    ///
    /// # Invariant
    ///
    /// Greater than every key in `list`; keys increase from front to back.
    next: Cell<u64>,
    /// The entries, oldest first; `None` is a hole left by a removal.
    list: RefCell<VecDeque<(u64, Option<Waiter>)>>,
    /// How many entries are `Some`.
    live: Cell<usize>,
}

impl WaitList {
    /// An empty list.
    pub(crate) const fn new() -> WaitList {
        WaitList {
            next: Cell::new(0),
            list: RefCell::new(VecDeque::new()),
            live: Cell::new(0),
        }
    }

    /// A fresh key that is never stored (for registrations that fired at once).
    pub(crate) fn burn_key(&self) -> u64 {
        let k = self.next.get();
        self.next.set(k + 1);
        k
    }

    /// Adds `w` at the back; returns its key.
    pub(crate) fn push(&self, w: Waiter) -> u64 {
        let k = self.burn_key();
        self.list.borrow_mut().push_back((k, Some(w)));
        self.live.set(self.live.get() + 1);
        k
    }

    /// Removes the entry `key`; `false` if it was already gone (woken, or removed).
    pub(crate) fn remove(&self, key: u64) -> bool {
        let removed = {
            let mut l = self.list.borrow_mut();
            let Ok(i) = l.binary_search_by_key(&key, |e| e.0) else {
                return false;
            };
            let w = l[i].1.take();
            if w.is_some() {
                self.live.set(self.live.get() - 1);
                while matches!(l.front(), Some((_, None))) {
                    l.pop_front();
                }
                while matches!(l.back(), Some((_, None))) {
                    l.pop_back();
                }
                if l.len() > 2 * self.live.get() + 16 {
                    l.retain(|e| e.1.is_some());
                }
            }
            w
        };
        // Dropped outside the borrow: an Unparker or callback may own anything.
        removed.is_some()
    }

    /// Takes every entry, oldest first (registrations made while the caller goes through them
    /// land in the emptied list).
    pub(crate) fn take_all(&self) -> impl Iterator<Item = Waiter> {
        self.live.set(0);
        std::mem::take(&mut *self.list.borrow_mut())
            .into_iter()
            .filter_map(|e| e.1)
    }

    /// How many waiters are in the list.
    pub(crate) fn len(&self) -> usize {
        self.live.get()
    }
}

impl Default for WaitList {
    fn default() -> Self {
        WaitList::new()
    }
}
