//! A parked getter or putter, and how items pass through it.
//!
//! A greenlet that must wait registers a [`Slot`] in the queue's FIFO of getters or putters and
//! parks. Whoever serves it pops the slot, *claims* it (wakes its greenlet; refused if the wait
//! already ended, by a timeout for example) and only then moves the item: into the slot for a
//! getter, out of it for a putter. So an item is never handed to a greenlet that will not take
//! it, and a late arrival cannot overtake a parked greenlet.

use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;

use gevent_hub::Unparker;
use greenlet::Value;

/// One parked getter or putter.
pub(crate) struct Slot<T> {
    /// Wakes the parked greenlet; `None` once claimed, or for a *ghost* (an item with no
    /// greenlet behind it, see [`Slot::ghost`]).
    unparker: Cell<Option<Unparker>>,
    /// A putter's item until it is taken; a getter's item once handed over.
    pub(crate) item: Cell<Option<T>>,
    /// Whether the slot is still in its queue's list (so its guard must remove it).
    pub(crate) queued: Cell<bool>,
}

impl<T> Slot<T> {
    /// An unregistered slot holding `item` (a putter's) or nothing (a getter's).
    pub(crate) fn new(item: Option<T>) -> Rc<Slot<T>> {
        Rc::new(Slot {
            unparker: Cell::new(None),
            item: Cell::new(item),
            queued: Cell::new(false),
        })
    }

    /// A putter entry with no greenlet behind it: an item that a killed getter could not keep,
    /// waiting for the next getter of a [`Channel`](crate::Channel) (which has no buffer).
    pub(crate) fn ghost(item: T) -> Rc<Slot<T>> {
        Slot::new(Some(item))
    }

    /// Records how to wake the greenlet, and marks the slot queued (called from `park`'s
    /// registration, right before the greenlet switches away).
    pub(crate) fn register(&self, u: Unparker) {
        self.unparker.set(Some(u));
        self.queued.set(true);
    }

    /// Wakes the parked greenlet, once it has been popped from its list (or for shutdown).
    /// Returns whether its wait was still on: if not (it timed out, or this is a second
    /// claim), the caller must not move an item through this slot. A ghost is always
    /// claimable.
    pub(crate) fn claim(&self) -> bool {
        self.queued.set(false);
        match self.unparker.take() {
            Some(u) => u.wake(Value::empty()),
            None => true,
        }
    }
}

/// Pops slots from the front of `list` until one can be claimed.
pub(crate) fn claim_first<T>(list: &mut VecDeque<Rc<Slot<T>>>) -> Option<Rc<Slot<T>>> {
    while let Some(s) = list.pop_front() {
        if s.claim() {
            return Some(s);
        }
    }
    None
}

/// Removes `slot` from `list` if it is still there.
pub(crate) fn unlist<T>(list: &mut VecDeque<Rc<Slot<T>>>, slot: &Rc<Slot<T>>) {
    if slot.queued.replace(false) {
        if let Some(i) = list.iter().position(|s| Rc::ptr_eq(s, slot)) {
            list.remove(i);
        }
    }
}
