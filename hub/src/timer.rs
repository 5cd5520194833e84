//! The hub's timer table: deadlines, each with an action the hub runs when it is due.
//!
//! [`Timers`] is a plain data structure, generic over the action it stores: it knows nothing of
//! greenlets or of the hub. The hub asks it for the next deadline (to bound its poller's wait)
//! and for the actions that are due.
//!
//! # Design: a FIFO and a binary heap, lazy deletion, compaction
//!
//! Every timer lives in a slab (its [`TimerId`] is its slot plus a sequence number, which tells
//! a reused slot from the original). Its deadline is queued as `(deadline, seq, slot)` in one of
//! two structures:
//!
//! * a FIFO, when the deadline is not earlier than the FIFO's last one. Most timers arrive in
//!   deadline order (many sleeps or timeouts of the same length, one after the other): adding
//!   one costs a push at the back, and firing it a pop at the front, both O(1);
//! * a binary heap otherwise (O(log n)).
//!
//! The earliest timer is the earlier of the two fronts by `(deadline, seq)`, so timers fire in
//! exactly deadline order, and in the order they were added when their deadlines are equal
//! (FIFO). Deadlines are exact `Instant`s, never rounded to a tick: a sleep never ends early
//! and is late only by the poller's and the scheduler's latency.
//!
//! Cancelling removes the timer from the slab at once (O(1)) and leaves its queued entry
//! behind, stale; stale entries are skipped when they reach a front. So that cancelled timers
//! cannot pile up (a `with_timeout(60 s)` that completes at once leaves a 60 s entry), the
//! queues are **compacted** whenever stale entries outnumber live ones (plus a constant): a
//! pass that keeps the live entries in order. Each compaction removes at least as many entries
//! as it keeps, so its cost is amortised O(1) per cancel, and the queues never hold more than
//! twice the live timers plus the constant. When the table empties, its buffers are released
//! if they grew large, so the memory of a burst comes back.
//!
//! ## Why not a hierarchical timer wheel
//!
//! A wheel (tokio's, the kernel's) makes every insert and cancel O(1) but rounds deadlines to
//! its tick (tokio: 1 ms) and keeps a slot's timers in insertion order; exact deadlines and
//! FIFO order for equal deadlines then need each slot sorted as it expires. Both were measured
//! here, side by side in one process (a 6-level x 64-slot wheel with 1 ms ticks, slab entries
//! in intrusive lists, due slots sorted by `(deadline, seq)`, checked to fire in exactly this
//! table's order; best of 5 runs, ns per timer):
//!
//! | pattern | this table | wheel |
//! |---|---|---|
//! | 10 rounds of 10,000 sleeps of 1 ms, added in order, all fired | 110 | 85 |
//! | 3,000,000 timeouts of 60 s added and cancelled at once (`with_timeout` around quick work) | 11 | 24 |
//! | 100,000 random deadlines within 10 s, fired in order | 280 | 191 |
//!
//! The wheel fires 25-30 % cheaper; this table adds and cancels twice as cheaply, which is
//! what every socket call with a timeout does. In the hub's `timers` benchmark the table's
//! own work (`add`, `front`, `cancel`) is under 10 % of the profile, the rest being spawning,
//! switching and the cache misses of touching 10,000 stacks, so the wheel would gain at most
//! 2-3 % there. The simpler structure, exact without sorting, stays.
//!
//! A timer without a deadline (`Duration::MAX`: "never") is kept in the slab only, so that it
//! can be cancelled and reports itself pending, but is never queued, never fires, and does not
//! keep the loop alive (it could never wake anything: waiting for it would hang for ever).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

use slab::Slab;

/// Stale entries tolerated beyond the live ones before the queues are compacted.
const SLACK: usize = 64;

/// Buffers larger than this (in entries) are released when the table empties.
const KEEP: usize = 1024;

/// A pending timer.
struct Entry<A> {
    /// When it fires; `None`: never.
    deadline: Option<Instant>,
    /// Distinguishes this timer from others that reuse its slab slot.
    seq: u64,
    /// Whether it keeps the loop alive.
    refd: bool,
    /// What to do.
    action: A,
}

/// Identifies a timer of a [`Timers`] table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerId {
    /// Slab slot.
    key: usize,
    /// Sequence number of the timer that was put there.
    seq: u64,
}

/// A queued deadline: `(deadline, seq, slab key)`; stale once its slot no longer holds `seq`.
type Slot = (Instant, u64, usize);

/// Which queue holds the earliest live entry.
#[derive(Clone, Copy)]
enum Front {
    /// The FIFO's front.
    Fifo,
    /// The heap's top.
    Heap,
}

/// The timers of one hub, each carrying an action of type `A`.
pub(crate) struct Timers<A> {
    /// Deadlines added out of order, earliest first; entries may be stale.
    heap: BinaryHeap<Reverse<Slot>>,
    /// Deadlines added in order (each not earlier than the one before), earliest first;
    /// entries may be stale.
    fifo: VecDeque<Slot>,
    /// The live timers.
    slab: Slab<Entry<A>>,
    /// How many live timers are queued (have a deadline).
    queued: usize,
    /// How many live queued timers keep the loop alive.
    refs: usize,
    /// The last sequence number handed out.
    seq: u64,
}

impl<A> Default for Timers<A> {
    fn default() -> Self {
        Timers {
            heap: BinaryHeap::new(),
            fifo: VecDeque::new(),
            slab: Slab::new(),
            queued: 0,
            refs: 0,
            seq: 0,
        }
    }
}

impl<A> Timers<A> {
    /// Adds a timer firing at `deadline` (`None`: never); `refd` if it keeps the loop alive.
    #[inline]
    pub(crate) fn add(&mut self, deadline: Option<Instant>, refd: bool, action: A) -> TimerId {
        self.seq += 1;
        let seq = self.seq;
        let key = self.slab.insert(Entry {
            deadline,
            seq,
            refd,
            action,
        });
        if let Some(d) = deadline {
            if self.fifo.back().is_none_or(|b| b.0 <= d) {
                self.fifo.push_back((d, seq, key));
            } else {
                self.heap.push(Reverse((d, seq, key)));
            }
            self.queued += 1;
            if refd {
                self.refs += 1;
            }
        }
        TimerId { key, seq }
    }

    /// Cancels a timer; returns its action if it had neither fired nor been cancelled.
    #[inline]
    pub(crate) fn cancel(&mut self, id: TimerId) -> Option<A> {
        match self.slab.get(id.key) {
            Some(e) if e.seq == id.seq => {}
            _ => return None,
        }
        let e = self.slab.remove(id.key);
        if e.deadline.is_some() {
            self.queued -= 1;
            if e.refd {
                self.refs -= 1;
            }
            if self.slab.is_empty() {
                self.release_if_empty();
            } else if self.heap.len() + self.fifo.len() > 2 * self.queued + SLACK {
                self.compact();
            }
        }
        Some(e.action)
    }

    /// Drops the stale entries of both queues (keeping the order of the live ones), and
    /// releases oversized buffers.
    #[cold]
    #[inline(never)]
    fn compact(&mut self) {
        let slab = &self.slab;
        let live = |e: &Slot| matches!(slab.get(e.2), Some(t) if t.seq == e.1);
        self.fifo.retain(|e| live(e));
        self.heap.retain(|Reverse(e)| live(e));
        debug_assert_eq!(self.fifo.len() + self.heap.len(), self.queued);
        if self.fifo.capacity() > KEEP && self.fifo.capacity() > 4 * self.fifo.len() {
            self.fifo.shrink_to(2 * self.fifo.len());
        }
        if self.heap.capacity() > KEEP && self.heap.capacity() > 4 * self.heap.len() {
            self.heap.shrink_to(2 * self.heap.len());
        }
        self.release_if_empty();
    }

    /// When no timer is left, drops every stale entry and gives large buffers back.
    fn release_if_empty(&mut self) {
        if !self.slab.is_empty() {
            return;
        }
        self.heap.clear();
        self.fifo.clear();
        if self.slab.capacity() > KEEP {
            self.slab = Slab::new();
        }
        if self.fifo.capacity() > KEEP {
            self.fifo = VecDeque::new();
        }
        if self.heap.capacity() > KEEP {
            self.heap = BinaryHeap::new();
        }
    }

    /// Whether the timer is still pending (neither fired nor cancelled).
    pub(crate) fn is_pending(&self, id: TimerId) -> bool {
        matches!(self.slab.get(id.key), Some(e) if e.seq == id.seq)
    }

    /// Changes whether a pending timer keeps the loop alive.
    pub(crate) fn set_ref(&mut self, id: TimerId, refd: bool) {
        let Some(e) = self.slab.get_mut(id.key) else {
            return;
        };
        if e.seq != id.seq || e.refd == refd {
            return;
        }
        e.refd = refd;
        if e.deadline.is_some() {
            if refd {
                self.refs += 1;
            } else {
                self.refs -= 1;
            }
        }
    }

    /// How many pending timers keep the loop alive.
    pub(crate) fn refs(&self) -> usize {
        self.refs
    }

    /// How many timers are pending.
    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    /// How many deadline entries the queues hold, stale ones included (for tests of the
    /// memory bound).
    #[cfg(test)]
    fn queued_entries(&self) -> usize {
        self.heap.len() + self.fifo.len()
    }

    /// Whether `e` is still a live timer.
    #[inline]
    fn live(&self, e: &Slot) -> bool {
        matches!(self.slab.get(e.2), Some(t) if t.seq == e.1)
    }

    /// The earliest live entry and where it is, dropping stale entries on the way.
    #[inline]
    fn front(&mut self) -> Option<(Slot, Front)> {
        while let Some(e) = self.fifo.front() {
            if self.live(e) {
                break;
            }
            self.fifo.pop_front();
        }
        while let Some(Reverse(e)) = self.heap.peek() {
            if self.live(e) {
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
    #[inline]
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<A> {
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
        self.queued -= 1;
        if e.refd {
            self.refs -= 1;
        }
        if self.slab.is_empty() {
            self.release_if_empty();
        }
        Some(e.action)
    }

    /// Removes every timer and returns their actions (the hub's teardown).
    pub(crate) fn drain(&mut self) -> Vec<A> {
        let actions = std::mem::take(&mut self.slab)
            .into_iter()
            .map(|(_, e)| e.action)
            .collect();
        self.queued = 0;
        self.refs = 0;
        self.release_if_empty();
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A table of `u32` actions and a fixed origin.
    fn table() -> (Timers<u32>, Instant) {
        (Timers::default(), Instant::now())
    }

    fn at(t0: Instant, ms: u64) -> Option<Instant> {
        Some(t0 + Duration::from_millis(ms))
    }

    /// Everything due at `now`, in firing order.
    fn due(t: &mut Timers<u32>, now: Instant) -> Vec<u32> {
        std::iter::from_fn(|| t.pop_expired(now)).collect()
    }

    #[test]
    fn fires_in_deadline_order_then_fifo() {
        let (mut t, t0) = table();
        // Out of order (heap) and in order (FIFO), with equal deadlines on both sides.
        for (i, ms) in [5u64, 3, 3, 9, 1, 3, 5, 7, 7].iter().enumerate() {
            t.add(at(t0, *ms), true, i as u32);
        }
        assert_eq!(t.next_deadline(), at(t0, 1));
        assert!(due(&mut t, t0).is_empty());
        assert_eq!(
            due(&mut t, t0 + Duration::from_millis(100)),
            [4, 1, 2, 5, 0, 6, 7, 8, 3]
        );
        assert_eq!(t.len(), 0);
        assert_eq!(t.refs(), 0);
    }

    #[test]
    fn never_fires_early() {
        let (mut t, t0) = table();
        t.add(at(t0, 10), true, 1);
        assert!(due(&mut t, t0 + Duration::from_millis(9)).is_empty());
        assert_eq!(due(&mut t, t0 + Duration::from_millis(10)), [1]);
    }

    #[test]
    fn cancel_and_pending() {
        let (mut t, t0) = table();
        let a = t.add(at(t0, 1), true, 1);
        let b = t.add(at(t0, 2), false, 2);
        assert_eq!(t.refs(), 1);
        assert!(t.is_pending(a));
        assert_eq!(t.cancel(a), Some(1));
        assert_eq!(t.cancel(a), None);
        assert!(!t.is_pending(a));
        assert_eq!(t.refs(), 0);
        t.set_ref(b, true);
        assert_eq!(t.refs(), 1);
        // A new timer reusing `a`'s slot is not `a`.
        let c = t.add(at(t0, 3), true, 3);
        assert!(!t.is_pending(a) && t.is_pending(c));
        assert_eq!(due(&mut t, t0 + Duration::from_secs(1)), [2, 3]);
        assert_eq!(t.cancel(b), None);
    }

    #[test]
    fn never_timers_are_pending_but_not_queued_nor_refd() {
        let (mut t, t0) = table();
        let n = t.add(None, true, 7);
        assert!(t.is_pending(n));
        assert_eq!(t.refs(), 0);
        assert_eq!(t.next_deadline(), None);
        t.set_ref(n, false);
        t.set_ref(n, true);
        assert_eq!(t.refs(), 0);
        assert!(due(&mut t, t0 + Duration::from_secs(1_000_000)).is_empty());
        assert_eq!(t.cancel(n), Some(7));
        assert_eq!(t.len(), 0);
    }

    /// 300,000 timers added and cancelled at once (what `with_timeout(60 s)` around quick work
    /// does), with a few long-lived ones: the queues stay bounded by the live timers.
    #[test]
    fn cancelled_timers_do_not_pile_up() {
        let (mut t, t0) = table();
        let keep: Vec<_> = (0..10)
            .map(|i| t.add(at(t0, 120_000 + i), true, 0))
            .collect();
        let mut most = 0;
        for i in 0..300_000u64 {
            let id = t.add(at(t0, 60_000 + i / 1000), true, 1);
            // Every 7th in the heap, the rest in the FIFO.
            if i % 7 == 0 {
                t.add(at(t0, 1), true, 2);
            }
            assert_eq!(t.cancel(id), Some(1));
            most = most.max(t.queued_entries());
        }
        let live = t.len();
        assert_eq!(live, 10 + 300_000usize.div_ceil(7));
        assert!(
            most <= 2 * live + SLACK + 1,
            "{most} entries for {live} timers"
        );
        // Fire the short ones, cancel the long ones: everything is given back.
        assert_eq!(due(&mut t, t0 + Duration::from_millis(1)).len(), live - 10);
        for k in keep {
            assert!(t.cancel(k).is_some());
        }
        assert_eq!(t.len(), 0);
        assert_eq!(t.queued_entries(), 0);
        assert!(t.slab.capacity() <= KEEP && t.fifo.capacity() <= KEEP);
        assert!(t.heap.capacity() <= KEEP);
    }

    /// Random adds, cancels and expiries against a sorted reference model.
    #[test]
    fn matches_a_reference_model() {
        let (mut t, t0) = table();
        let mut model: Vec<(u64, u64, u32, TimerId)> = Vec::new();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut now_ms = 0;
        let mut seq = 0;
        for step in 0..200_000u32 {
            match rnd() % 10 {
                0..=5 => {
                    let ms = now_ms + rnd() % 50;
                    seq += 1;
                    let id = t.add(at(t0, ms), true, step);
                    model.push((ms, seq, step, id));
                }
                6..=7 if !model.is_empty() => {
                    let i = (rnd() as usize) % model.len();
                    let (_, _, a, id) = model.swap_remove(i);
                    assert_eq!(t.cancel(id), Some(a));
                }
                _ => {
                    now_ms += rnd() % 5;
                    model.sort_by_key(|m| (m.0, m.1));
                    let n = model.iter().take_while(|m| m.0 <= now_ms).count();
                    let want: Vec<u32> = model.drain(..n).map(|m| m.2).collect();
                    assert_eq!(due(&mut t, t0 + Duration::from_millis(now_ms)), want);
                }
            }
            assert_eq!(t.len(), model.len());
            assert!(t.queued_entries() <= 2 * model.len() + SLACK + 1);
        }
    }
}
