//! [`Group`]: the greenlets still running, tracked together; the core that [`Pool`] limits.
//!
//! [`Pool`]: crate::Pool

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{self, Location};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{sleep, wait, wait_one, Greenlet, KillOptions, Notify, Waitable, WaiterKey};
use gevent_hub::{GreenletError, WaitList};
use gevent_lock::Semaphore;
use slab::Slab;

use crate::error::PoolFull;
use crate::imap::{Imap, ImapUnordered, Mapper};
use crate::member::{Entry, Leave, Member};

/// A set of greenlets that are still running (gevent's `gevent.pool.Group`): a greenlet
/// leaves the group when it dies. The group can wait for all of them ([`join`](Group::join)),
/// kill them ([`kill`](Group::kill)), and map a function over items in them
/// ([`map`](Group::map), [`imap`](Group::imap), [`imap_unordered`](Group::imap_unordered),
/// [`apply`](Group::apply)).
///
/// Members may have different output types: a group tracks `Greenlet<T>` for any `T`.
/// Handles are cheap clones of one group. A [`Pool`](crate::Pool) is a group with a limit on
/// its size, and dereferences to one: everything here applies to pools, where `spawn` and
/// `add` wait for a free slot.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent_pool::Group;
///
/// let group = Group::new();
/// let a = group.spawn(|| { gevent_hub::sleep(Duration::from_millis(5)); "a" });
/// let b = group.spawn(|| 2 + 2); // another output type in the same group
/// assert_eq!(group.len(), 2);
/// group.join();
/// assert!(group.is_empty());
/// assert_eq!((a.get().unwrap(), b.get().unwrap()), ("a", 4));
/// ```
///
/// A `Group` stays on its thread (it is `!Send`):
///
/// ```compile_fail
/// let g = gevent_pool::Group::new();
/// std::thread::spawn(move || g.join());
/// ```
#[derive(Clone)]
pub struct Group {
    /// The group all handles share.
    pub(crate) core: Rc<Core>,
}

/// The state behind a group's handles.
pub(crate) struct Core {
    /// The members, keyed for their rawlinks.
    members: RefCell<Slab<Entry>>,
    /// The next membership id.
    next_id: Cell<u64>,
    /// Greenlets in `join`, woken when the group becomes empty.
    emptied: WaitList,
    /// A pool's free slots: one permit per member it may still take. `None` for a group.
    pub(crate) slots: Option<Semaphore>,
    /// A pool's size.
    pub(crate) size: Option<usize>,
}

impl Core {
    /// A group, limited to `size` members if given.
    pub(crate) fn new(size: Option<usize>) -> Rc<Core> {
        Rc::new(Core {
            members: RefCell::new(Slab::new()),
            next_id: Cell::new(0),
            emptied: WaitList::new(),
            slots: size.map(Semaphore::new),
            size,
        })
    }

    /// Takes a slot in a pool, waiting as `wait` allows: `None` forever, `Some(ZERO)` not at
    /// all. Always succeeds for a group.
    pub(crate) fn acquire(&self, wait: Option<Duration>) -> Result<(), PoolFull> {
        let Some(s) = &self.slots else {
            return Ok(());
        };
        let got = match wait {
            None => {
                s.acquire();
                true
            }
            Some(d) if d.is_zero() => s.try_acquire(),
            Some(d) => s.acquire_timeout(d),
        };
        if got {
            Ok(())
        } else {
            Err(PoolFull)
        }
    }

    /// Tracks a greenlet made elsewhere (its slot already taken): a rawlink removes it when it
    /// dies.
    pub(crate) fn track<T: 'static>(self: &Rc<Self>, g: &Greenlet<T>) {
        let id = self.new_id();
        let key = self.members.borrow_mut().insert(Entry {
            id,
            member: Rc::new(g.clone()),
            link: Cell::new(None),
            dying: Cell::new(false),
        });
        let weak = Rc::downgrade(self);
        let link = g.rawlink(move |_| {
            if let Some(core) = weak.upgrade() {
                if let Some(e) = core.forget(key, Some(id)) {
                    e.member.on_removed(true);
                }
            }
        });
        if let Some(e) = self.members.borrow().get(key) {
            e.link.set(Some(link));
        }
    }

    /// Creates (unstarted) and tracks a greenlet running `f` (its slot already taken): a
    /// [`Leave`] guard in its function removes it when the function ends. `member` makes the
    /// table's entry for it.
    #[track_caller]
    pub(crate) fn spawn_member<T: 'static>(
        self: &Rc<Self>,
        f: impl FnOnce() -> T + 'static,
        member: impl FnOnce(&Greenlet<T>) -> Rc<dyn Member>,
    ) -> Greenlet<T> {
        let id = self.new_id();
        let key = self.members.borrow().vacant_key();
        let leave = Leave {
            core: Rc::downgrade(self),
            key,
            id,
            returned: false,
        };
        let g = Greenlet::new(move || {
            let mut leave = leave;
            let v = f();
            leave.returned = true;
            v
        });
        let entry = Entry {
            id,
            member: member(&g),
            link: Cell::new(None),
            dying: Cell::new(false),
        };
        let k = self.members.borrow_mut().insert(entry);
        debug_assert_eq!(k, key, "nothing ran between vacant_key and insert");
        g
    }

    /// A new membership id.
    fn new_id(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    /// Removes the member under `key` (if it is still the membership `id`), gives its slot
    /// back, and wakes `join`ers if the group is now empty.
    pub(crate) fn forget(&self, key: usize, id: Option<u64>) -> Option<Entry> {
        let (entry, empty) = {
            let mut m = self.members.borrow_mut();
            match m.get(key) {
                Some(e) if id.is_none_or(|id| e.id == id) => {}
                _ => return None,
            }
            let e = m.remove(key);
            (e, m.is_empty())
        };
        if let Some(s) = &self.slots {
            s.release();
        }
        if empty {
            self.emptied.notify_all();
        }
        Some(entry)
    }

    /// The key of `g`'s membership.
    fn find(&self, g: &dyn Any) -> Option<usize> {
        self.members
            .borrow()
            .iter()
            .find(|(_, e)| e.member.same(g))
            .map(|(k, _)| k)
    }

    /// Whether the running greenlet is a member.
    pub(crate) fn contains_current(&self) -> bool {
        self.members
            .borrow()
            .iter()
            .any(|(_, e)| e.member.is_current())
    }
}

impl Group {
    /// An empty group with no limit on its size.
    ///
    /// # Examples
    ///
    /// ```
    /// let g = gevent_pool::Group::new();
    /// assert!(g.is_empty());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "Pool")]
    pub fn new() -> Group {
        Group {
            core: Core::new(None),
        }
    }

    /// Spawns `f` in a new greenlet tracked by the group, and returns its handle (gevent's
    /// `Group.spawn`). In a [`Pool`](crate::Pool), waits first while the pool is full.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = gevent_pool::Group::new();
    /// let g = group.spawn(|| 6 * 7);
    /// assert!(group.contains(&g));
    /// assert_eq!(g.get().unwrap(), 42);
    /// ```
    ///
    /// # Panics
    ///
    /// As any wait, when a full pool makes it wait: if nothing could ever free a slot
    /// ([`LoopExit`](gevent_hub::LoopExit)), or if called inside the hub.
    ///
    /// # Switches
    ///
    /// Only while a pool is full (the new greenlet runs once the caller waits).
    ///
    /// # Kill safety
    ///
    /// A caller killed while it waits for a slot spawns nothing and takes no slot.
    #[track_caller]
    pub fn spawn<T: 'static>(&self, f: impl FnOnce() -> T + 'static) -> Greenlet<T> {
        let _ = self.core.acquire(None);
        let g = self.core.spawn_member(f, |g| Rc::new(g.clone()));
        g.start();
        g
    }

    /// Starts tracking `g` (gevent's `add`); it leaves the group when it dies. In a
    /// [`Pool`](crate::Pool), waits for a free slot first. Adding a member again does
    /// nothing. Add greenlets before starting them: one started earlier may finish while
    /// `add` waits, and the pool would run more than its size.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = gevent_pool::Group::new();
    /// let g = gevent_hub::Greenlet::new(|| ());
    /// group.add(&g);
    /// assert_eq!(group.len(), 1);
    /// g.start();
    /// group.join();
    /// assert_eq!(group.len(), 0);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`spawn`](Group::spawn).
    ///
    /// # Switches
    ///
    /// Only while a pool is full.
    ///
    /// # Kill safety
    ///
    /// A caller killed while it waits for a slot tracks nothing and takes no slot.
    pub fn add<T: 'static>(&self, g: &Greenlet<T>) {
        if !self.contains(g) {
            let _ = self.core.acquire(None);
            self.core.track(g);
        }
    }

    /// [`add`](Group::add) only if a slot is free now (gevent's `add(g, blocking=False)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_pool::Pool::new(1);
    /// let (a, b) = (gevent_hub::Greenlet::new(|| ()), gevent_hub::Greenlet::new(|| ()));
    /// assert!(pool.try_add(&a).is_ok());
    /// assert!(pool.try_add(&b).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`PoolFull`] if the pool is full.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn try_add<T: 'static>(&self, g: &Greenlet<T>) -> Result<(), PoolFull> {
        if self.contains(g) {
            return Ok(());
        }
        self.core.acquire(Some(Duration::ZERO))?;
        self.core.track(g);
        Ok(())
    }

    /// [`add`](Group::add), waiting at most `timeout` for a free slot (gevent's
    /// `add(g, timeout=t)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gevent_pool::Pool::new(0);
    /// let g = gevent_hub::Greenlet::new(|| ());
    /// assert!(pool.add_timeout(&g, Duration::from_millis(5)).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`PoolFull`] if no slot came free in time.
    ///
    /// # Switches
    ///
    /// Only while a pool is full.
    ///
    /// # Kill safety
    ///
    /// As [`add`](Group::add).
    pub fn add_timeout<T: 'static>(
        &self,
        g: &Greenlet<T>,
        timeout: Duration,
    ) -> Result<(), PoolFull> {
        if self.contains(g) {
            return Ok(());
        }
        self.core.acquire(Some(timeout))?;
        self.core.track(g);
        Ok(())
    }

    /// [`add`](Group::add)s `g`, then starts it (gevent's `start`).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = gevent_pool::Group::new();
    /// let g = gevent_hub::Greenlet::new(|| "started");
    /// group.start(&g);
    /// assert_eq!(g.get().unwrap(), "started");
    /// ```
    ///
    /// # Panics
    ///
    /// As [`spawn`](Group::spawn).
    ///
    /// # Switches
    ///
    /// Only while a pool is full.
    ///
    /// # Kill safety
    ///
    /// A caller killed while it waits for a slot neither tracks nor starts `g`.
    pub fn start<T: 'static>(&self, g: &Greenlet<T>) {
        self.add(g);
        g.start();
    }

    /// Stops tracking `g` (it keeps running) and frees its slot in a pool; returns whether it
    /// was a member (gevent's `discard`).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = gevent_pool::Group::new();
    /// let g = group.spawn(|| gevent_hub::sleep(std::time::Duration::from_millis(1)));
    /// assert!(group.discard(&g));
    /// assert!(!group.contains(&g));
    /// g.join();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn discard<T: 'static>(&self, g: &Greenlet<T>) -> bool {
        let Some(key) = self.core.find(g) else {
            return false;
        };
        let Some(e) = self.core.forget(key, None) else {
            return false;
        };
        if let Some(link) = e.link.get() {
            e.member.unlink(link);
        }
        true
    }

    /// Whether `g` is a member (linear in the group's size).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = gevent_pool::Group::new();
    /// let g = gevent_hub::spawn(|| ());
    /// assert!(!group.contains(&g));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn contains<T: 'static>(&self, g: &Greenlet<T>) -> bool {
        self.core.find(g).is_some()
    }

    /// How many greenlets the group tracks.
    ///
    /// A greenlet the group spawned (`spawn`, `map`, `imap`, `apply`...) leaves the group the
    /// moment its function returns (or unwinds); one made elsewhere and [`add`](Group::add)ed
    /// leaves through a link, which the hub runs as soon as it dies, before any other
    /// greenlet. So the next greenlet to run never counts a dead member: `len` is the number
    /// of members still alive.
    ///
    /// **Unlike gevent**: there, a member leaves through a link that the hub runs after the
    /// greenlets already scheduled, so `group.map(f, 0..3)` where `f` prints `len(group)`
    /// prints 3, 3, 3 in gevent (the finished members are still counted) and 3, 2, 1 here;
    /// with `Pool::new(2)`, gevent's tutorial prints 2, 2, 1 and this prints 2, 1, 1. Leaving
    /// at once frees a pool's slot for a waiting `spawn` in the same hub turn instead of after
    /// a full round of the ready greenlets, and costs no callback per member.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = gevent_pool::Group::new();
    /// group.spawn(|| ());
    /// assert_eq!(group.len(), 1);
    /// group.join();
    /// assert_eq!(group.len(), 0);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn len(&self) -> usize {
        self.core.members.borrow().len()
    }

    /// Whether the group tracks no greenlet.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gevent_pool::Group::new().is_empty());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until the group is empty (gevent's `join`); returns at once if it is. Only
    /// promises that the group was empty at some point: a greenlet may be added again before
    /// the caller runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let group = gevent_pool::Group::new();
    /// for i in 0..3 { group.spawn(move || gevent_hub::sleep(Duration::from_millis(i))); }
    /// group.join();
    /// assert!(group.is_empty());
    /// ```
    ///
    /// A member that joins its own group waits for itself: it returns only once something
    /// discards it.
    ///
    /// # Panics
    ///
    /// As any wait: if nothing could ever empty the group ([`LoopExit`](gevent_hub::LoopExit)),
    /// or if called inside the hub.
    ///
    /// # Switches
    ///
    /// Unless the group is empty.
    ///
    /// # Kill safety
    ///
    /// Nothing to undo.
    pub fn join(&self) {
        wait_one(&Emptied(&self.core), None);
    }

    /// [`join`](Group::join) for at most `timeout`; returns whether the group became empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let group = gevent_pool::Group::new();
    /// let g = group.spawn(|| gevent_hub::sleep(Duration::from_secs(60)));
    /// assert!(!group.join_timeout(Duration::from_millis(5)));
    /// g.kill();
    /// assert!(group.join_timeout(Duration::from_secs(5)));
    /// ```
    ///
    /// # Switches
    ///
    /// Unless the group is empty.
    ///
    /// # Kill safety
    ///
    /// Nothing to undo.
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        wait_one(&Emptied(&self.core), Some(timeout))
    }

    /// [`join`](Group::join) that then reports the first panic among the greenlets that were
    /// members when it was called (gevent's `join(raise_error=True)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = gevent_pool::Group::new();
    /// # gevent_hub::get_hub().set_error_handler(|_| {});
    /// group.spawn(|| -> () { panic!("bad") });
    /// assert_eq!(group.join_raise_error().unwrap_err().message(), "bad");
    /// # gevent_hub::get_hub().reset_error_handler();
    /// ```
    ///
    /// # Errors
    ///
    /// The [`GreenletError`] of a member that panicked.
    ///
    /// # Switches
    ///
    /// Unless the group is empty.
    ///
    /// # Kill safety
    ///
    /// Nothing to undo.
    pub fn join_raise_error(&self) -> Result<(), GreenletError> {
        let members = self.snapshot();
        self.join();
        match members.iter().find_map(|m| m.failure()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Kills every member and waits until they are dead (gevent's `kill`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let group = gevent_pool::Group::new();
    /// for _ in 0..3 { group.spawn(|| gevent_hub::sleep(Duration::from_secs(60))); }
    /// group.kill();
    /// assert!(group.is_empty());
    /// ```
    ///
    /// # Switches
    ///
    /// Unless the group is empty.
    ///
    /// # Kill safety
    ///
    /// A caller killed while it waits leaves the members it already killed dying.
    pub fn kill(&self) {
        self.kill_with(KillOptions::default());
    }

    /// Kills every member, each only once however often this is called (gevent's
    /// `kill(block, timeout)`). With `block`, waits until the group is empty, killing members
    /// added meanwhile too, for at most `timeout`. A member that had not started yet never
    /// runs and leaves the group at once; running ones leave as the kill unwinds them.
    ///
    /// Called by a member, it kills every other member first (with `block`, it also waits for
    /// them), and its caller last: the kill unwinds the caller out of this call.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gevent_hub::KillOptions;
    /// let group = gevent_pool::Group::new();
    /// group.spawn(|| gevent_hub::sleep(Duration::from_secs(60)));
    /// gevent_hub::sleep(Duration::ZERO); // let it start
    /// group.kill_with(KillOptions { block: false, timeout: None });
    /// assert_eq!(group.len(), 1); // dying
    /// group.join();
    /// ```
    ///
    /// # Switches
    ///
    /// With `block`, unless the group is empty.
    ///
    /// # Kill safety
    ///
    /// As [`kill`](Group::kill).
    pub fn kill_with(&self, opts: KillOptions) {
        let deadline = opts.timeout.and_then(|d| Instant::now().checked_add(d));
        // A member killing its own group dies last: killing it unwinds it at once, and the
        // members after it would be left alive (gevent's kill goes through the loop, so every
        // member is reached before the caller's own kill is raised).
        let mut me: Option<Rc<dyn Member>> = None;
        loop {
            let batch: Vec<Rc<dyn Member>> = {
                let members = self.core.members.borrow();
                let mut batch = Vec::new();
                for (_, e) in members.iter() {
                    if e.member.is_current() {
                        me.get_or_insert_with(|| e.member.clone());
                    } else if !e.dying.replace(true) {
                        batch.push(e.member.clone());
                    }
                }
                batch
            };
            for m in &batch {
                m.kill_nowait();
            }
            if !opts.block {
                break;
            }
            let current: Vec<Rc<dyn Member>> = self
                .snapshot()
                .into_iter()
                .filter(|m| !m.is_current())
                .collect();
            if current.is_empty() {
                break;
            }
            let timeout = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => break,
                },
                None => None,
            };
            if current.iter().all(|m| m.ready()) {
                // Dead, and about to be removed by their links: let the hub run them.
                sleep(Duration::ZERO);
                continue;
            }
            if wait(&current, timeout).len() < current.len() {
                break; // timed out
            }
        }
        if let Some(me) = me {
            self.kill_self(&*me);
        }
    }

    /// Kills the running greenlet, a member of this group, marking it dying (this unwinds it).
    fn kill_self(&self, me: &dyn Member) {
        for (_, e) in self.core.members.borrow().iter() {
            if e.member.is_current() {
                e.dying.set(true);
            }
        }
        me.kill_nowait();
    }

    /// Kills `g` if it is a member not already killed by the group, and waits for it to die
    /// (gevent's `killone`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let group = gevent_pool::Group::new();
    /// let g = group.spawn(|| gevent_hub::sleep(Duration::from_secs(60)));
    /// group.killone(&g);
    /// assert!(g.dead());
    /// ```
    ///
    /// # Switches
    ///
    /// Unless it is dead, not a member, or already dying.
    ///
    /// # Kill safety
    ///
    /// Nothing to undo.
    pub fn killone<T: 'static>(&self, g: &Greenlet<T>) {
        self.killone_with(g, KillOptions::default())
    }

    /// [`killone`](Group::killone) with options: `block: false` returns at once, `timeout`
    /// bounds the wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gevent_hub::KillOptions;
    /// let group = gevent_pool::Group::new();
    /// let g = group.spawn(|| gevent_hub::sleep(Duration::from_secs(60)));
    /// group.killone_with(&g, KillOptions { block: false, timeout: None });
    /// g.join();
    /// ```
    ///
    /// # Switches
    ///
    /// With `block`, unless it is dead, not a member, or already dying.
    ///
    /// # Kill safety
    ///
    /// Nothing to undo.
    pub fn killone_with<T: 'static>(&self, g: &Greenlet<T>, opts: KillOptions) {
        let member = {
            let m = self.core.members.borrow();
            match self.core.find(g).and_then(|k| m.get(k)) {
                Some(e) if !e.dying.replace(true) => e.member.clone(),
                _ => return,
            }
        };
        member.kill_nowait();
        if opts.block {
            wait_one(&*member, opts.timeout);
        }
    }

    /// Whether `spawn` and `add` would wait: for a [`Pool`](crate::Pool), no free slot; a
    /// plain group is never full.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!gevent_pool::Group::new().full());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn full(&self) -> bool {
        self.free_count() == 0
    }

    /// How many more greenlets could be added without waiting: `usize::MAX` for a plain group.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_pool::Pool::new(3);
    /// pool.spawn(|| ());
    /// assert_eq!(pool.free_count(), 2);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn free_count(&self) -> usize {
        self.core.slots.as_ref().map_or(usize::MAX, |s| s.counter())
    }

    /// Waits until a greenlet could be added without waiting; returns
    /// [`free_count`](Group::free_count) (gevent's `wait_available()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gevent_pool::Pool::new(1);
    /// pool.spawn(|| gevent_hub::sleep(Duration::from_millis(5)));
    /// assert_eq!(pool.wait_available(), 1);
    /// ```
    ///
    /// # Panics
    ///
    /// As any wait: if nothing could ever free a slot ([`LoopExit`](gevent_hub::LoopExit)).
    ///
    /// # Switches
    ///
    /// Only while a pool is full.
    ///
    /// # Kill safety
    ///
    /// Nothing to undo: it takes no slot.
    pub fn wait_available(&self) -> usize {
        if let Some(s) = &self.core.slots {
            s.wait();
        }
        self.free_count()
    }

    /// [`wait_available`](Group::wait_available) for at most `timeout`; returns
    /// [`free_count`](Group::free_count), 0 if the pool stayed full (gevent's
    /// `wait_available(timeout)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gevent_pool::Pool::new(0);
    /// assert_eq!(pool.wait_available_timeout(Duration::from_millis(5)), 0);
    /// ```
    ///
    /// # Switches
    ///
    /// Only while a pool is full.
    ///
    /// # Kill safety
    ///
    /// Nothing to undo.
    pub fn wait_available_timeout(&self, timeout: Duration) -> usize {
        if let Some(s) = &self.core.slots {
            s.wait_timeout(timeout);
        }
        self.free_count()
    }

    /// Runs `f` in a member greenlet and returns its value (gevent's `apply`). Called from a
    /// greenlet that is itself a member, runs `f` right there instead: a member of a full
    /// pool waiting for a slot would wait forever.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_pool::Pool::new(1);
    /// assert_eq!(pool.apply(|| "done"), "done");
    /// let p = pool.clone();
    /// assert_eq!(pool.apply(move || p.apply(|| 5) + 1), 6); // inline in the member
    /// ```
    ///
    /// # Panics
    ///
    /// Re-raises the panic of `f` (its original payload); panics if the member greenlet was
    /// killed before `f` returned. As any wait: if called inside the hub.
    ///
    /// # Switches
    ///
    /// Yes, unless it runs inline.
    ///
    /// # Kill safety
    ///
    /// A caller killed while it waits leaves the member greenlet running (or, if it was still
    /// waiting for a slot, spawns nothing).
    #[track_caller]
    pub fn apply<T: 'static>(&self, f: impl FnOnce() -> T + 'static) -> T {
        if self.core.contains_current() {
            return f();
        }
        let out: Rc<Cell<Option<T>>> = Rc::new(Cell::new(None));
        let slot = out.clone();
        let g = self.spawn(move || slot.set(Some(f())));
        g.join();
        if let Some(v) = out.take() {
            return v;
        }
        match g.get() {
            Err(e) if e.is_panic() => panic::resume_unwind(e.into_panic()),
            _ => panic!("Group::apply: the greenlet running the function was killed"),
        }
    }

    /// Runs `f` in a member greenlet and returns its handle at once, never waiting (gevent's
    /// `apply_async`). If the pool is full, the greenlet is created now and started (and
    /// tracked) once a slot frees.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_pool::Pool::new(1);
    /// let a = pool.apply_async(|| 1);
    /// let b = pool.apply_async(|| 2); // the pool is full: starts once `a` is done
    /// assert_eq!(a.get().unwrap() + b.get().unwrap(), 3);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[track_caller]
    pub fn apply_async<T: 'static>(&self, f: impl FnOnce() -> T + 'static) -> Greenlet<T> {
        if !self.full() {
            return self.spawn(f);
        }
        let g = Greenlet::new(f);
        let (group, g2) = (self.clone(), g.clone());
        gevent_hub::spawn(move || {
            if !g2.ready() {
                group.start(&g2)
            }
        });
        g
    }

    /// Applies `f` to every item in member greenlets and returns the values in the items'
    /// order (gevent's `map`). In a pool at most `size` run at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_pool::Pool::new(3);
    /// assert_eq!(pool.map(|x: u32| x * x, 1..=5), [1, 4, 9, 16, 25]);
    /// ```
    ///
    /// # Panics
    ///
    /// Once every item is done, re-raises the panic of the first item (in the items' order)
    /// that panicked, or of the iterator itself; panics if an item's greenlet was killed. Use
    /// [`imap`](Group::imap) to get each item's outcome instead. As any wait: if called inside
    /// the hub.
    ///
    /// # Switches
    ///
    /// Yes, unless there are no items.
    ///
    /// # Kill safety
    ///
    /// A caller killed while it waits stops spawning; items already running go on.
    #[track_caller]
    pub fn map<I, T, F>(&self, f: F, items: I) -> Vec<T>
    where
        I: IntoIterator,
        I::IntoIter: 'static,
        I::Item: 'static,
        T: 'static,
        F: Fn(I::Item) -> T + 'static,
    {
        self.map_at(f, items, Location::caller())
    }

    /// [`map`](Group::map), its members recorded as spawned at `at`.
    fn map_at<I, T, F>(&self, f: F, items: I, at: &'static Location<'static>) -> Vec<T>
    where
        I: IntoIterator,
        I::IntoIter: 'static,
        I::Item: 'static,
        T: 'static,
        F: Fn(I::Item) -> T + 'static,
    {
        let mut out = Vec::new();
        let mut failed = None;
        let results = Imap::new(Mapper::start_at(self, f, items.into_iter(), at));
        for (i, r) in results.enumerate() {
            match r {
                Ok(v) => out.push(v),
                Err(e) => {
                    failed.get_or_insert((i, e));
                }
            }
        }
        match failed {
            None => out,
            Some((_, e)) if e.is_panic() => panic::resume_unwind(e.into_panic()),
            Some((i, _)) => panic!("Group::map: the greenlet of item {i} was killed"),
        }
    }

    /// [`map`](Group::map) in a new greenlet (not a member); returns its handle (gevent's
    /// `map_async`).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_pool::Pool::new(2);
    /// let g = pool.map_async(|x: u8| x + 1, vec![1, 2, 3]);
    /// assert_eq!(g.get().unwrap(), [2, 3, 4]);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[track_caller]
    pub fn map_async<I, T, F>(&self, f: F, items: I) -> Greenlet<Vec<T>>
    where
        I: IntoIterator + 'static,
        I::IntoIter: 'static,
        I::Item: 'static,
        T: 'static,
        F: Fn(I::Item) -> T + 'static,
    {
        let group = self.clone();
        let at = Location::caller();
        gevent_hub::spawn(move || group.map_at(f, items, at))
    }

    /// A lazy iterator of `f` applied to every item in member greenlets, in the items' order
    /// (gevent's `imap`). Each result is `Ok(value)`, or `Err` with the item's panic (or kill)
    /// at that item's position; the iteration goes on after it. A panic of the items' iterator
    /// itself comes last, after the items it produced.
    ///
    /// A greenlet that is not a member feeds the items (in a pool, waiting for free slots), so
    /// the work runs ahead of the reader. Dropping the iterator stops the feeding; items
    /// already running go on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gevent_pool::Pool::new(3);
    /// let out: Vec<u64> = pool
    ///     .imap(|ms: u64| { gevent_hub::sleep(Duration::from_millis(ms)); ms }, [30, 10, 20])
    ///     .map(Result::unwrap)
    ///     .collect();
    /// assert_eq!(out, [30, 10, 20]); // the items' order
    /// ```
    ///
    /// # Switches
    ///
    /// Each `next` switches until the next result is ready; `imap` itself never does.
    ///
    /// # Kill safety
    ///
    /// A reader killed while it waits drops the iterator: feeding stops.
    #[track_caller]
    pub fn imap<I, T, F>(&self, f: F, items: I) -> Imap<T>
    where
        I: IntoIterator,
        I::IntoIter: 'static,
        I::Item: 'static,
        T: 'static,
        F: Fn(I::Item) -> T + 'static,
    {
        Imap::new(Mapper::start(self, f, items.into_iter()))
    }

    /// Like [`imap`](Group::imap), but yields the results in the order they finish (gevent's
    /// `imap_unordered`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gevent_pool::Pool::new(3);
    /// let out: Vec<u64> = pool
    ///     .imap_unordered(|ms: u64| { gevent_hub::sleep(Duration::from_millis(ms)); ms }, [30, 10, 20])
    ///     .map(Result::unwrap)
    ///     .collect();
    /// assert_eq!(out, [10, 20, 30]); // completion order
    /// ```
    ///
    /// # Switches
    ///
    /// Each `next` switches until a result is ready.
    ///
    /// # Kill safety
    ///
    /// As [`imap`](Group::imap).
    #[track_caller]
    pub fn imap_unordered<I, T, F>(&self, f: F, items: I) -> ImapUnordered<T>
    where
        I: IntoIterator,
        I::IntoIter: 'static,
        I::Item: 'static,
        T: 'static,
        F: Fn(I::Item) -> T + 'static,
    {
        ImapUnordered(Mapper::start(self, f, items.into_iter()))
    }

    /// The members now.
    fn snapshot(&self) -> Vec<Rc<dyn Member>> {
        self.core
            .members
            .borrow()
            .iter()
            .map(|(_, e)| e.member.clone())
            .collect()
    }
}

impl Default for Group {
    fn default() -> Self {
        Group::new()
    }
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Group");
        d.field("len", &self.len());
        if let Some(size) = self.core.size {
            d.field("size", &size).field("free", &self.free_count());
        }
        d.finish()
    }
}

/// "The group is empty", for [`wait_one`].
struct Emptied<'a>(&'a Core);

impl Waitable for Emptied<'_> {
    fn ready(&self) -> bool {
        self.0.members.borrow().is_empty()
    }
    fn add_waiter(&self, notify: Notify) -> WaiterKey {
        self.0.emptied.add(notify)
    }
    fn remove_waiter(&self, key: WaiterKey) {
        self.0.emptied.remove(key)
    }
}
