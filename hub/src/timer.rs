//! The hub's timers: a binary heap of deadlines over a slab of entries.
//!
//! A heap was measured against a hashed wheel for the `timers` benchmark (10k concurrent 1 ms
//! sleeps per round): with lazy deletion the heap costs one push and one pop per timer and
//! keeps exact deadlines, which a wheel only approximates; at these sizes the heap wins and is
//! simpler. Cancelled timers leave a stale heap entry that is skipped when it surfaces (the
//! sequence number tells a reused slab slot from the original).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
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

/// All timers of one hub.
#[derive(Default)]
pub(crate) struct Timers {
    /// Deadlines, earliest first; entries whose slot no longer holds their `seq` are stale.
    heap: BinaryHeap<Reverse<(Instant, u64, usize)>>,
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
        self.heap.push(Reverse((deadline, seq, key)));
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
                    // Nothing live: drop the stale heap entries at once.
                    self.heap.clear();
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

    /// The earliest pending deadline.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((d, seq, key))) = self.heap.peek().copied() {
            match self.slab.get(key) {
                Some(e) if e.seq == seq => return Some(d),
                _ => {
                    self.heap.pop();
                }
            }
        }
        None
    }

    /// Removes and returns the action of the earliest timer due at `now`, if any.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Action> {
        loop {
            let Reverse((d, seq, key)) = *self.heap.peek()?;
            let live = matches!(self.slab.get(key), Some(e) if e.seq == seq);
            if !live {
                self.heap.pop();
                continue;
            }
            if d > now {
                return None;
            }
            self.heap.pop();
            let e = self.slab.remove(key);
            debug_assert!(e.deadline <= now);
            if e.refd {
                self.refs -= 1;
            }
            return Some(e.action);
        }
    }
}
