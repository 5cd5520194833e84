//! The FIFO of greenlets waiting for a permit.
//!
//! Keys increase along the list, so a greenlet that stops waiting (a timeout, a kill) finds
//! its entry by binary search and leaves a hole that is skipped later; holes are compacted away
//! once they outnumber the live entries. Removing is O(log n), taking the oldest O(1).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use gevent_hub::Unparker;

/// A FIFO of parked greenlets with O(log n) removal by key.
pub(crate) struct WaitList {
    /// The key the next entry gets.
    ///
    /// # Invariant
    ///
    /// Greater than every key in `list`; keys increase from front to back.
    next: Cell<u64>,
    /// The entries, oldest first; `None` is a hole left by a removal.
    list: RefCell<VecDeque<(u64, Option<Unparker>)>>,
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

    /// Adds `u` at the back; returns its key.
    pub(crate) fn push(&self, u: Unparker) -> u64 {
        let k = self.next.get();
        self.next.set(k + 1);
        self.list.borrow_mut().push_back((k, Some(u)));
        self.live.set(self.live.get() + 1);
        k
    }

    /// Removes the entry `key` (no-op if it was already taken).
    pub(crate) fn remove(&self, key: u64) {
        let removed = {
            let mut l = self.list.borrow_mut();
            let Ok(i) = l.binary_search_by_key(&key, |e| e.0) else {
                return;
            };
            let u = l[i].1.take();
            if u.is_some() {
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
            u
        };
        // Dropped outside the borrow.
        drop(removed);
    }

    /// Takes the oldest entry.
    pub(crate) fn pop_front(&self) -> Option<Unparker> {
        let mut l = self.list.borrow_mut();
        while let Some((_, u)) = l.pop_front() {
            if u.is_some() {
                self.live.set(self.live.get() - 1);
                return u;
            }
        }
        None
    }

    /// How many greenlets are in the list.
    pub(crate) fn len(&self) -> usize {
        self.live.get()
    }
}
