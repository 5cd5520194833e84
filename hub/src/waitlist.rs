//! [`WaitList`]: the one FIFO of waiters that every waiting primitive is built on (a
//! greenlet's joiners, `Event`, `AsyncResult`, the locks, the queues, `Group.join`...).
//!
//! # Implementation
//!
//! A doubly linked list threaded through a slab (`Vec` of nodes plus a free list), so adding
//! at either end, unlinking the front and removing any entry by its index are O(1) and
//! allocate nothing once the slab has grown to the list's high-water mark. Each node carries a
//! generation, bumped when it is freed, so a stale key or guard can never touch a reused node.
//!
//! A parked greenlet's node is owned by a registration guard ([`Wait`]), which removes it
//! however the wait ends (woken, timed out, killed). A plain wake frees the node at once and
//! says so in the value it wakes the greenlet with, so the guard of a woken waiter does not
//! touch the list again (waking a thousand waiters is one pass, and nothing more); a hand-over
//! keeps the node, with the item in it, for the guard. Nothing is woken or called, and no item
//! is dropped, while the list is borrowed: a callback may use the list again.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::mem::ManuallyDrop;
use std::rc::Rc;
use std::time::Duration;

use greenlet::Value;

use crate::hub::get_hub;
use crate::park::{park_timeout, Unparker};

/// A callback run when a [`Waitable`](crate::Waitable) becomes ready. It runs wherever the
/// object becomes ready (in a greenlet or in the hub), so it must not wait; typically it wakes
/// a parked greenlet.
pub type Notify = Rc<dyn Fn()>;

/// Identifies a registration made with [`Waitable::add_waiter`](crate::Waitable::add_waiter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WaiterKey(pub u64);

impl WaiterKey {
    /// A key that names no registration: what `add_waiter` returns when it called the callback
    /// at once (the object was ready). Removing it does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let l: gevent_hub::WaitList = gevent_hub::WaitList::new();
    /// l.remove(gevent_hub::WaiterKey::NONE); // nothing happens
    /// ```
    pub const NONE: WaiterKey = WaiterKey(u64::MAX);
}

/// The index that names no node.
const NIL: u32 = u32::MAX;

/// A FIFO of waiters: greenlets parked in [`wait`](WaitList::wait) (each with an optional item
/// of type `T` in its entry, for hand-overs), and [`Notify`] callbacks registered with
/// [`add`](WaitList::add) (what a [`Waitable`](crate::Waitable) implementation keeps). Woken
/// one at a time ([`notify_one`](WaitList::notify_one), [`hand_over`](WaitList::hand_over),
/// [`take_first`](WaitList::take_first)) or all at once ([`notify_all`](WaitList::notify_all)),
/// always in the order they came.
///
/// A waiter whose wait ends otherwise (a timeout, a kill) leaves the list at once, in O(1), as
/// its registration guard drops. A wake is only ever given to a waiter whose wait can still be
/// ended: one that timed out or was killed but has not run yet refuses it, and the wake goes to
/// the next waiter; so a hand-over (a permit, an item) is never lost.
///
/// # Examples
///
/// A one-shot gate: greenlets wait until it is opened.
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// use gevent_hub::{sleep, spawn, WaitList};
///
/// let gate: Rc<WaitList> = Rc::new(WaitList::new());
/// let passed = Rc::new(Cell::new(0));
/// for _ in 0..3 {
///     let (gate, passed) = (gate.clone(), passed.clone());
///     spawn(move || {
///         if gate.wait(None).woken() {
///             passed.set(passed.get() + 1);
///         }
///     });
/// }
/// sleep(Duration::ZERO); // all three wait now
/// assert_eq!(gate.len(), 3);
/// assert_eq!(gate.notify_all(), 3);
/// sleep(Duration::ZERO);
/// assert_eq!(passed.get(), 3);
/// ```
///
/// Handing items over, first come first served:
///
/// ```
/// use std::rc::Rc;
/// use gevent_hub::{spawn, WaitList};
///
/// let getters: Rc<WaitList<&str>> = Rc::new(WaitList::new());
/// let g = { let l = getters.clone(); spawn(move || l.wait(None).take()) };
/// gevent_hub::sleep(std::time::Duration::ZERO);
/// assert_eq!(getters.hand_over("item"), Ok(()));
/// assert_eq!(getters.hand_over("nobody left"), Err("nobody left"));
/// assert_eq!(g.get().unwrap(), Some("item"));
/// ```
///
/// `WaitList` stays on its thread:
///
/// ```compile_fail
/// let l: gevent_hub::WaitList = gevent_hub::WaitList::new();
/// std::thread::spawn(move || l.notify_all());
/// ```
pub struct WaitList<T = ()> {
    /// The nodes.
    slots: RefCell<Slots<T>>,
    /// How many entries are linked (outside the `RefCell`, for the cheap `is_empty` on hot
    /// paths).
    len: Cell<usize>,
}

/// What an entry holds to wake its waiter.
enum Waiter {
    /// A parked greenlet.
    Park(Unparker),
    /// A callback.
    Notify(Notify),
    /// Nobody: an item alone (see [`WaitList::push_front`]).
    Item,
}

/// Where a node is in its life.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// In the free list.
    Free,
    /// In the FIFO.
    Linked,
    /// Taken off the FIFO by a wake, kept for its guard.
    Fired,
}

/// One entry.
struct Node<T> {
    /// The previous node in the FIFO, or `NIL`.
    prev: u32,
    /// The next node in the FIFO (or in the free list), or `NIL`.
    next: u32,
    /// Bumped each time the node is freed: tells a stale key from the node's current use.
    gen: u32,
    /// Free, linked or fired.
    state: State,
    /// Whether a [`Wait`] guard owns it (then a wake keeps it, as `Fired`, for the guard).
    guarded: bool,
    /// Its place in the order of arrival (for `notify_all`'s snapshot; wraps).
    seq: u32,
    /// How to wake it; `None` once taken by a wake.
    ///
    /// `ManuallyDrop`: a free node holds `None`, so dropping the slab needs no pass over its
    /// nodes; [`WaitList`]'s `Drop` empties the linked ones (the only ones that can hold
    /// something then: a kept node has a guard, which borrows the list).
    waiter: ManuallyDrop<Option<Waiter>>,
    /// Its item, if any.
    ///
    /// `ManuallyDrop` as `waiter`.
    data: ManuallyDrop<Option<T>>,
}

/// The slab and the FIFO threaded through it.
struct Slots<T> {
    /// The nodes.
    nodes: Vec<Node<T>>,
    /// The first free node, or `NIL`.
    free: u32,
    /// The oldest linked node, or `NIL`.
    head: u32,
    /// The newest linked node, or `NIL`.
    tail: u32,
    /// How many nodes are not free (linked or fired).
    used: usize,
    /// The next sequence number (wraps: compared as a distance).
    seq: u32,
}

/// What a wake took off the front of the list.
struct Popped<T> {
    /// The node, if it is kept (as `Fired`) for its guard: a hand-over goes there.
    kept: Option<u32>,
    /// How to wake it.
    waiter: Waiter,
    /// Its item, if the node was freed (an item alone).
    data: Option<T>,
}

/// The value a parked waiter is woken with when its node is kept for its guard (a hand-over,
/// or its own item still there); woken with the empty value, its node is already freed and its
/// guard has nothing left to do.
struct Kept;

impl<T> Slots<T> {
    /// Allocates a node for `waiter` (not linked yet).
    #[inline]
    fn alloc(&mut self, waiter: Waiter, data: Option<T>, guarded: bool) -> (u32, u32) {
        let seq = self.seq;
        self.seq = seq.wrapping_add(1);
        self.used += 1;
        if self.free != NIL {
            let i = self.free;
            let n = &mut self.nodes[i as usize];
            self.free = n.next;
            n.state = State::Linked;
            n.guarded = guarded;
            n.seq = seq;
            n.waiter = ManuallyDrop::new(Some(waiter));
            n.data = ManuallyDrop::new(data);
            return (i, n.gen);
        }
        let i = u32::try_from(self.nodes.len())
            .ok()
            .filter(|&i| i != NIL)
            .expect("a WaitList holds fewer than 2^32 - 1 waiters");
        self.nodes.push(Node {
            prev: NIL,
            next: NIL,
            gen: 0,
            state: State::Linked,
            guarded,
            seq,
            waiter: ManuallyDrop::new(Some(waiter)),
            data: ManuallyDrop::new(data),
        });
        (i, 0)
    }

    /// Links node `i` at the back.
    #[inline]
    fn link_back(&mut self, i: u32) {
        let tail = self.tail;
        {
            let n = &mut self.nodes[i as usize];
            n.prev = tail;
            n.next = NIL;
        }
        if tail == NIL {
            self.head = i;
        } else {
            self.nodes[tail as usize].next = i;
        }
        self.tail = i;
    }

    /// Links node `i` at the front.
    #[inline]
    fn link_front(&mut self, i: u32) {
        let head = self.head;
        {
            let n = &mut self.nodes[i as usize];
            n.prev = NIL;
            n.next = head;
        }
        if head == NIL {
            self.tail = i;
        } else {
            self.nodes[head as usize].prev = i;
        }
        self.head = i;
    }

    /// Unlinks node `i` (linked) from the FIFO.
    #[inline]
    fn unlink(&mut self, i: u32) {
        let (prev, next) = {
            let n = &self.nodes[i as usize];
            (n.prev, n.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
    }

    /// Frees node `i` (unlinked), giving back what it held, to be dropped outside the borrow.
    #[inline]
    fn free(&mut self, i: u32) -> (Option<Waiter>, Option<T>) {
        let free = self.free;
        let n = &mut self.nodes[i as usize];
        n.state = State::Free;
        n.gen = n.gen.wrapping_add(1);
        n.next = free;
        let held = (n.waiter.take(), n.data.take());
        self.free = i;
        self.used -= 1;
        if self.used == 0 && self.nodes.len() > 64 {
            // A burst is over: give its memory back.
            self.nodes = Vec::new();
            self.free = NIL;
        }
        held
    }

    /// Unlinks the head node `i` (its waiter already taken or dropped) and frees it, unless
    /// `keep` (then it is kept, `Fired`, for its guard); returns a freed node's item.
    #[inline]
    fn release_head(&mut self, i: u32, keep: bool) -> Option<T> {
        let free = self.free;
        let n = &mut self.nodes[i as usize];
        let next = n.next;
        let data = if keep {
            n.state = State::Fired;
            None
        } else {
            n.state = State::Free;
            n.gen = n.gen.wrapping_add(1);
            n.next = free;
            self.free = i;
            self.used -= 1;
            n.data.take()
        };
        self.head = next;
        if next == NIL {
            self.tail = NIL;
        } else {
            self.nodes[next as usize].prev = NIL;
        }
        if self.used == 0 && self.nodes.len() > 64 {
            // A burst is over: give its memory back.
            self.nodes = Vec::new();
            self.free = NIL;
        }
        data
    }

    /// The node `i` if it is still the use named by `gen`.
    #[inline]
    fn get(&self, i: u32, gen: u32) -> Option<&Node<T>> {
        self.nodes
            .get(i as usize)
            .filter(|n| n.gen == gen && n.state != State::Free)
    }

    /// Takes the oldest linked node off the FIFO if it came before `end` (a sequence number;
    /// `None`: any). A guarded node is kept for its guard if `keep` or if it holds an item;
    /// every other node is freed.
    #[inline]
    fn pop_front(&mut self, end: Option<u32>, keep: bool) -> Option<Popped<T>> {
        let i = self.head;
        if i == NIL {
            return None;
        }
        if let Some(end) = end {
            // Sequence numbers wrap: compare distances.
            if self.nodes[i as usize].seq.wrapping_sub(end) as i32 >= 0 {
                return None;
            }
        }
        // Unlink the head.
        let free = self.free;
        let n = &mut self.nodes[i as usize];
        let next = n.next;
        let waiter = n.waiter.take().unwrap_or(Waiter::Item);
        let popped = if n.guarded && (keep || n.data.is_some()) {
            n.state = State::Fired;
            Popped {
                kept: Some(i),
                waiter,
                data: None,
            }
        } else {
            // Free it (as `free` does, the waiter already taken).
            n.state = State::Free;
            n.gen = n.gen.wrapping_add(1);
            n.next = free;
            let data = n.data.take();
            self.free = i;
            self.used -= 1;
            Popped {
                kept: None,
                waiter,
                data,
            }
        };
        self.head = next;
        if next == NIL {
            self.tail = NIL;
        } else {
            self.nodes[next as usize].prev = NIL;
        }
        if self.used == 0 && self.nodes.len() > 64 {
            // A burst is over: give its memory back.
            self.nodes = Vec::new();
            self.free = NIL;
        }
        Some(popped)
    }
}

impl<T> WaitList<T> {
    /// An empty list.
    ///
    /// # Examples
    ///
    /// ```
    /// let l: gevent_hub::WaitList = gevent_hub::WaitList::new();
    /// assert!(l.is_empty());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub const fn new() -> WaitList<T> {
        WaitList {
            slots: RefCell::new(Slots {
                nodes: Vec::new(),
                free: NIL,
                head: NIL,
                tail: NIL,
                used: 0,
                seq: 0,
            }),
            len: Cell::new(0),
        }
    }

    /// How many waiters are in the list (parked greenlets and callbacks not woken yet).
    ///
    /// # Examples
    ///
    /// ```
    /// let l: gevent_hub::WaitList = gevent_hub::WaitList::new();
    /// l.add(std::rc::Rc::new(|| ()));
    /// assert_eq!(l.len(), 1);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn len(&self) -> usize {
        self.len.get()
    }

    /// Whether no waiter is in the list.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gevent_hub::WaitList::<u8>::new().is_empty());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len.get() == 0
    }

    /// Adds a node for `waiter` at the back (or the front).
    #[inline]
    fn push(&self, waiter: Waiter, data: Option<T>, guarded: bool, front: bool) -> (u32, u32) {
        let mut s = self.slots.borrow_mut();
        let (i, gen) = s.alloc(waiter, data, guarded);
        if front {
            s.link_front(i);
        } else {
            s.link_back(i);
        }
        self.len.set(self.len.get() + 1);
        (i, gen)
    }

    /// Registers `notify` at the back, to be called once when the list is woken (the building
    /// block of [`Waitable::add_waiter`](crate::Waitable::add_waiter)); returns the key that
    /// [`remove`](WaitList::remove) takes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let l: gevent_hub::WaitList = gevent_hub::WaitList::new();
    /// let hits = Rc::new(Cell::new(0));
    /// let h = hits.clone();
    /// l.add(Rc::new(move || h.set(h.get() + 1)));
    /// l.notify_all();
    /// l.notify_all();
    /// assert_eq!(hits.get(), 1); // each registration fires once
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn add(&self, notify: Notify) -> WaiterKey {
        let (i, gen) = self.push(Waiter::Notify(notify), None, false, false);
        WaiterKey((u64::from(gen) << 32) | u64::from(i))
    }

    /// Removes the registration `key`, in O(1). Nothing happens if it already fired or was
    /// removed, or if `key` is [`WaiterKey::NONE`].
    ///
    /// # Examples
    ///
    /// ```
    /// let l: gevent_hub::WaitList = gevent_hub::WaitList::new();
    /// let k = l.add(std::rc::Rc::new(|| unreachable!()));
    /// l.remove(k);
    /// l.remove(k); // no-op
    /// assert!(l.is_empty());
    /// assert_eq!(l.notify_all(), 0);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn remove(&self, key: WaiterKey) {
        let i = key.0 as u32;
        let gen = (key.0 >> 32) as u32;
        let held = {
            let mut s = self.slots.borrow_mut();
            match s.get(i, gen) {
                Some(n) if n.state == State::Linked && !n.guarded => {}
                _ => return,
            }
            s.unlink(i);
            self.len.set(self.len.get() - 1);
            s.free(i)
        };
        drop(held);
    }

    /// Parks the running greenlet at the back of the list until it is woken, or until
    /// `timeout` (`None`: no limit). The returned guard tells which ([`Wait::woken`]), holds
    /// what a [`hand_over`](WaitList::hand_over) gave it ([`Wait::take`]), and keeps the
    /// greenlet's entry until it is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let l: gevent_hub::WaitList = gevent_hub::WaitList::new();
    /// let w = l.wait(Some(Duration::from_millis(2)));
    /// assert!(!w.woken()); // nobody woke it
    /// drop(w);
    /// assert!(l.is_empty());
    /// ```
    ///
    /// # Panics
    ///
    /// As [`park`](crate::park): a kill or timeout aimed at the greenlet unwinds out of it,
    /// and a wait made inside the hub (a callback) panics.
    ///
    /// # Switches
    ///
    /// Yes, always.
    ///
    /// # Kill safety
    ///
    /// The entry is removed however the wait ends; an item handed over to it just before is
    /// dropped with it unless the caller takes it back (see [`Wait::take`]).
    pub fn wait(&self, timeout: Option<Duration>) -> Wait<'_, T> {
        self.wait_entry(None, timeout)
    }

    /// [`wait`](WaitList::wait) with `item` in the entry: what a putter waiting for room
    /// offers; [`take_first`](WaitList::take_first) takes it from there. If nobody took it, the
    /// waiter gets it back with [`Wait::take`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let l = gevent_hub::WaitList::new();
    /// let mut w = l.wait_with("mine", Some(Duration::from_millis(2)));
    /// assert_eq!(w.take(), Some("mine")); // nobody took it
    /// ```
    ///
    /// # Panics
    ///
    /// As [`wait`](WaitList::wait).
    ///
    /// # Switches
    ///
    /// Yes, always.
    ///
    /// # Kill safety
    ///
    /// As [`wait`](WaitList::wait): an item still in the entry is dropped with the guard.
    pub fn wait_with(&self, item: T, timeout: Option<Duration>) -> Wait<'_, T> {
        self.wait_entry(Some(item), timeout)
    }

    /// Parks in a new entry holding `data`.
    fn wait_entry(&self, data: Option<T>, timeout: Option<Duration>) -> Wait<'_, T> {
        let mut w = Wait {
            list: self,
            index: NIL,
            gen: 0,
            woken: false,
            kept: false,
        };
        let r = park_timeout(timeout, |u| {
            let (i, gen) = self.push(Waiter::Park(u), data, true, false);
            w.index = i;
            w.gen = gen;
        });
        if let Ok(v) = r {
            w.woken = true;
            w.kept = v.is::<Kept>();
        }
        w
    }

    /// Puts `item` at the front with no greenlet behind it: the next
    /// [`take_first`](WaitList::take_first) takes it before any waiter. (A rendezvous channel
    /// keeps there an item that a killed getter could not keep.)
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_hub::WaitList::new();
    /// l.push_front(5);
    /// assert_eq!(l.take_first(), Some(5));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn push_front(&self, item: T) {
        self.push(Waiter::Item, Some(item), false, true);
    }

    /// Takes the oldest entry (before `end`) off the list; see [`Slots::pop_front`].
    #[inline]
    fn pop(&self, end: Option<u32>, keep: bool) -> Option<Popped<T>> {
        let p = self.slots.borrow_mut().pop_front(end, keep);
        if p.is_some() {
            self.len.set(self.len.get() - 1);
        }
        p
    }

    /// The value that wakes a waiter: tells its guard whether its node was kept.
    #[inline]
    fn wake_value(kept: &Option<u32>) -> Value {
        if kept.is_some() {
            Value::new(Kept)
        } else {
            Value::empty()
        }
    }

    /// Wakes the oldest waiter that can be woken: a parked greenlet (its wait returns
    /// [`woken`](Wait::woken)), or a callback (called); entries whose wait already ended are
    /// skipped (they leave as their guards drop). Returns whether one was woken.
    ///
    /// # Examples
    ///
    /// ```
    /// let l: gevent_hub::WaitList = gevent_hub::WaitList::new();
    /// assert!(!l.notify_one());
    /// ```
    ///
    /// # Switches
    ///
    /// Never: a woken greenlet is queued in the hub. Callable from hub callbacks.
    pub fn notify_one(&self) -> bool {
        while let Some(p) = self.pop(None, false) {
            let ok = match &p.waiter {
                Waiter::Park(u) => u.wake(Self::wake_value(&p.kept)),
                Waiter::Notify(n) => {
                    n();
                    true
                }
                Waiter::Item => true,
            };
            drop(p.data);
            if ok {
                return true;
            }
        }
        false
    }

    /// Wakes every waiter that is in the list now, in the order they came (one pass; waiters
    /// added meanwhile, by a callback, stay for the next wake). Returns how many parked
    /// greenlets were woken (callbacks are not counted).
    ///
    /// # Examples
    ///
    /// See [`WaitList`].
    ///
    /// # Switches
    ///
    /// Never (callbacks must not switch).
    pub fn notify_all(&self) -> usize {
        if self.is_empty() {
            return 0;
        }
        let hub = get_hub();
        let mut woken = 0;
        let mut s = self.slots.borrow_mut();
        let end = s.seq;
        loop {
            let i = s.head;
            if i == NIL || s.nodes[i as usize].seq.wrapping_sub(end) as i32 >= 0 {
                break;
            }
            self.len.set(self.len.get() - 1);
            // The waiter is used where it lies: moving it out costs more than the rest.
            let n = &mut s.nodes[i as usize];
            let keep = n.guarded && n.data.is_some();
            match &*n.waiter {
                Some(Waiter::Park(u)) => {
                    // Waking runs no one's code, so the list stays borrowed; and a woken
                    // greenlet's entry in the hub's queue holds a handle to it, so dropping
                    // `u` here cannot collect it. A refused one is dropped outside the borrow.
                    let value = if keep {
                        Value::new(Kept)
                    } else {
                        Value::empty()
                    };
                    if u.wake_in(&hub, value) {
                        woken += 1;
                        *n.waiter = None;
                        s.release_head(i, keep);
                    } else {
                        let u = n.waiter.take();
                        s.release_head(i, keep);
                        drop(s);
                        drop(u);
                        s = self.slots.borrow_mut();
                    }
                }
                Some(Waiter::Notify(_)) => {
                    let f = n.waiter.take();
                    let data = s.release_head(i, false);
                    drop(s);
                    if let Some(Waiter::Notify(f)) = f {
                        f();
                    }
                    drop(data);
                    s = self.slots.borrow_mut();
                }
                Some(Waiter::Item) | None => {
                    let data = s.release_head(i, false);
                    drop(s);
                    drop(data);
                    s = self.slots.borrow_mut();
                }
            }
        }
        drop(s);
        woken
    }

    /// Hands `item` to the oldest parked greenlet that can still be woken (it finds the item
    /// with [`Wait::take`]); a callback met on the way is called and passed over. Gives the
    /// item back if there is nobody to take it.
    ///
    /// # Errors
    ///
    /// `item`, if no greenlet took it.
    ///
    /// # Examples
    ///
    /// See [`WaitList`].
    ///
    /// # Switches
    ///
    /// Never.
    pub fn hand_over(&self, item: T) -> Result<(), T> {
        while let Some(p) = self.pop(None, true) {
            match &p.waiter {
                Waiter::Park(u) => {
                    if u.wake(Value::new(Kept)) {
                        // Woken, not run: its guard still owns the node.
                        if let Some(i) = p.kept {
                            *self.slots.borrow_mut().nodes[i as usize].data = Some(item);
                        }
                        return Ok(());
                    }
                }
                Waiter::Notify(n) => n(),
                Waiter::Item => {}
            }
            drop(p.data);
        }
        Err(item)
    }

    /// Takes the item of the oldest entry that can give one: a parked greenlet that can still
    /// be woken (it is woken, and its item taken: what a getter does to a putter waiting for
    /// room), or an item left with [`push_front`](WaitList::push_front). `None` if there is
    /// none.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// let l: Rc<gevent_hub::WaitList<u32>> = Rc::new(gevent_hub::WaitList::new());
    /// let l2 = l.clone();
    /// let putter = gevent_hub::spawn(move || l2.wait_with(7, None).take().is_none());
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// assert_eq!(l.take_first(), Some(7));
    /// assert!(putter.get().unwrap()); // its item was taken
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn take_first(&self) -> Option<T> {
        while let Some(p) = self.pop(None, true) {
            match &p.waiter {
                Waiter::Park(u) => {
                    if u.wake(Value::new(Kept)) {
                        let i = p.kept?;
                        return self.slots.borrow_mut().nodes[i as usize].data.take();
                    }
                }
                Waiter::Notify(n) => n(),
                Waiter::Item => {
                    if p.data.is_some() {
                        return p.data;
                    }
                }
            }
        }
        None
    }
}

impl<T> Drop for WaitList<T> {
    fn drop(&mut self) {
        // Drop what the linked nodes hold (see `Node::waiter`).
        let s = self.slots.get_mut();
        let mut i = s.head;
        while i != NIL {
            let n = &mut s.nodes[i as usize];
            i = n.next;
            drop(n.waiter.take());
            drop(n.data.take());
        }
    }
}

impl<T> Default for WaitList<T> {
    fn default() -> Self {
        WaitList::new()
    }
}

impl<T> fmt::Debug for WaitList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitList")
            .field("len", &self.len())
            .finish()
    }
}

/// A greenlet's entry in a [`WaitList`], after its wait: whether it was woken, and what was
/// handed over to it. Dropping it removes the entry (also when the wait unwinds, so a killed
/// or timed-out waiter never stays in the list).
///
/// # Examples
///
/// ```
/// let l: gevent_hub::WaitList = gevent_hub::WaitList::new();
/// let w = l.wait(Some(std::time::Duration::from_millis(1)));
/// assert!(!w.woken());
/// ```
#[must_use = "dropping the guard at once loses what was handed over"]
pub struct Wait<'a, T> {
    /// The list.
    list: &'a WaitList<T>,
    /// The entry's node, or `NIL` before it is registered.
    index: u32,
    /// The node's generation when it was allocated.
    gen: u32,
    /// Whether a wake ended the wait (not the time limit).
    woken: bool,
    /// Whether the wake kept the node for this guard (else a wake already freed it, and the
    /// guard has nothing to do).
    kept: bool,
}

impl<T> Wait<'_, T> {
    /// Whether a wake ended the wait (`false`: the time limit passed first).
    ///
    /// # Examples
    ///
    /// See [`Wait`].
    ///
    /// # Switches
    ///
    /// Never.
    pub fn woken(&self) -> bool {
        self.woken
    }

    /// Takes the item in the entry: what [`hand_over`](WaitList::hand_over) gave it, or, for
    /// [`wait_with`](WaitList::wait_with), the waiter's own item if nobody took it.
    ///
    /// # Examples
    ///
    /// See [`WaitList::wait_with`].
    ///
    /// # Switches
    ///
    /// Never.
    pub fn take(&mut self) -> Option<T> {
        if self.woken && !self.kept {
            return None;
        }
        let mut s = self.list.slots.borrow_mut();
        s.get(self.index, self.gen)?;
        s.nodes[self.index as usize].data.take()
    }
}

impl<T> Drop for Wait<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if self.woken && !self.kept {
            return; // the wake freed the node
        }
        self.remove();
    }
}

impl<T> Wait<'_, T> {
    /// Removes the entry (unlinks it if still linked) and frees its node.
    fn remove(&mut self) {
        let held = {
            let mut s = self.list.slots.borrow_mut();
            let Some(n) = s.get(self.index, self.gen) else {
                return;
            };
            if n.state == State::Linked {
                s.unlink(self.index);
                self.list.len.set(self.list.len.get() - 1);
            }
            s.free(self.index)
        };
        // Dropped outside the borrow: an item may own anything.
        drop(held);
    }
}

impl<T> fmt::Debug for Wait<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait").field("woken", &self.woken).finish()
    }
}
