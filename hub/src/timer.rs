//! The hub's timers: a binary heap of deadlines over a slab of entries.
//!
//! A heap was measured against a hashed wheel for the `timers` benchmark (10k concurrent 1 ms
//! sleeps per round): with lazy deletion the heap costs one push and one pop per timer and
//! keeps exact deadlines, which a wheel only approximates; at these sizes the heap wins and is
//! simpler. Cancelled timers leave a stale heap entry that is skipped when it surfaces (the
//! sequence number tells a reused slab slot from the original).
//!
//! Most timers are added in deadline order (many sleeps of the same length, one after the
//! other): those go to a FIFO beside the heap, which costs O(1) instead of two sift passes over
//! the heap. A timer is appended to the FIFO when its deadline is not earlier than the FIFO's
//! last one, so the FIFO stays sorted; the others go to the heap. The earliest timer is the
//! earlier of the two fronts, by `(deadline, seq)`, so the firing order is exactly the heap's.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

use slab::Slab;

use crate::park::Unparker;

/// What a timer does when it fires.
pub(crate) enum Action {
    /// Wake a parked greenlet with the empty value.
    Wake(Unparker),
    /// Run a callback in the hub.
    Call(Box<dyn FnOnce()>),
}

/// A pending timer.
struct Entry {
    /// When it fires.
    deadline: Instant,
    /// Distinguishes this timer from others that reuse its slab slot.
    seq: u64,
    /// Whether it keeps the loop alive.
    refd: bool,
    /// What to do.
    action: Action,
}

/// Identifies a timer for [`Timers::cancel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerId {
    /// Slab slot.
    key: usize,
    /// Sequence number of the timer that was put there.
    seq: u64,
}

/// A deadline entry: `(deadline, seq, slab key)`; stale once its slot no longer holds `seq`.
type Slot = (Instant, u64, usize);

/// Which structure holds the earliest live entry.
#[derive(Clone, Copy)]
enum Front {
    /// The FIFO's front.
    Fifo,
    /// The heap's top.
    Heap,
}

/// All timers of one hub.
#[derive(Default)]
pub(crate) struct Timers {
    /// Deadlines added out of order, earliest first; entries may be stale.
    heap: BinaryHeap<Reverse<Slot>>,
    /// Deadlines added in order (each not earlier than the one before), earliest first;
    /// entries may be stale.
    fifo: VecDeque<Slot>,
    /// The live timers.
    slab: Slab<Entry>,
    /// How many live timers keep the loop alive.
    refs: usize,
    /// The next sequence number.
    seq: u64,
}

impl Timers {
    /// Adds a timer.
    pub(crate) fn add(&mut self, deadline: Instant, refd: bool, action: Action) -> TimerId {
        self.seq += 1;
        let seq = self.seq;
        let key = self.slab.insert(Entry {
            deadline,
            seq,
            refd,
            action,
        });
        if self.fifo.back().is_none_or(|b| b.0 <= deadline) {
            self.fifo.push_back((deadline, seq, key));
        } else {
            self.heap.push(Reverse((deadline, seq, key)));
        }
        if refd {
            self.refs += 1;
        }
        TimerId { key, seq }
    }

    /// Cancels a timer; returns its action if it had not fired yet.
    pub(crate) fn cancel(&mut self, id: TimerId) -> Option<Action> {
        match self.slab.get(id.key) {
            Some(e) if e.seq == id.seq => {
                let e = self.slab.remove(id.key);
                if e.refd {
                    self.refs -= 1;
                }
                if self.slab.is_empty() {
                    // Nothing live: drop the stale entries at once.
                    self.heap.clear();
                    self.fifo.clear();
                }
                Some(e.action)
            }
            _ => None,
        }
    }

    /// Whether the timer is still pending.
    pub(crate) fn is_pending(&self, id: TimerId) -> bool {
        matches!(self.slab.get(id.key), Some(e) if e.seq == id.seq)
    }

    /// Changes whether a pending timer keeps the loop alive.
    pub(crate) fn set_ref(&mut self, id: TimerId, refd: bool) {
        if let Some(e) = self.slab.get_mut(id.key) {
            if e.seq == id.seq && e.refd != refd {
                e.refd = refd;
                if refd {
                    self.refs += 1;
                } else {
                    self.refs -= 1;
                }
            }
        }
    }

    /// How many live timers keep the loop alive.
    pub(crate) fn refs(&self) -> usize {
        self.refs
    }

    /// How many timers are pending.
    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    /// Whether `e` is still a live timer.
    fn live(&self, e: &Slot) -> bool {
        matches!(self.slab.get(e.2), Some(t) if t.seq == e.1)
    }

    /// The earliest live entry and where it is, dropping stale entries on the way.
    fn front(&mut self) -> Option<(Slot, Front)> {
        while let Some(e) = self.fifo.front().copied() {
            if self.live(&e) {
                break;
            }
            self.fifo.pop_front();
        }
        while let Some(Reverse(e)) = self.heap.peek().copied() {
            if self.live(&e) {
                break;
            }
            self.heap.pop();
        }
        match (self.fifo.front().copied(), self.heap.peek().map(|r| r.0)) {
            (Some(f), Some(h)) if h < f => Some((h, Front::Heap)),
            (Some(f), _) => Some((f, Front::Fifo)),
            (None, Some(h)) => Some((h, Front::Heap)),
            (None, None) => None,
        }
    }

    /// The earliest pending deadline.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        self.front().map(|(e, _)| e.0)
    }

    /// Removes and returns the action of the earliest timer due at `now`, if any.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Action> {
        let ((d, _, key), from) = self.front()?;
        if d > now {
            return None;
        }
        match from {
            Front::Fifo => {
                self.fifo.pop_front();
            }
            Front::Heap => {
                self.heap.pop();
            }
        }
        let e = self.slab.remove(key);
        debug_assert!(e.deadline <= now);
        if e.refd {
            self.refs -= 1;
        }
        Some(e.action)
    }
}
