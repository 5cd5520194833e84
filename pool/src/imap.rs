//! [`Imap`] and [`ImapUnordered`]: a function mapped over items in a group's greenlets.
//!
//! A feeder greenlet (not a member) walks the items and spawns one member per item, waiting
//! for slots in a pool. Each member sends its value to a shared sink as it returns; its
//! removal from the group (also after a panic or a kill) counts it as done and, if it sent no
//! value, sends the member itself, whose error the reader takes once the greenlet is dead.
//! The reader takes results from the sink, parking while there are none.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use gevent_hub::{
    park, Greenlet, GreenletError, KillOptions, LinkId, Notify, Unparker, Waitable, WaiterKey,
};
use greenlet::Value;

use crate::group::{Core, Group};
use crate::member::Member;

/// One item's result.
type Outcome<T> = Result<T, GreenletError>;

/// What a member sends to the sink.
enum Sent<T: 'static> {
    /// Its value.
    Value(T),
    /// Itself, with no value: it panicked or was killed (its error is read from it).
    Failed(Rc<Task<T>>),
}

/// Where results meet the reader.
struct Sink<T: 'static> {
    /// Results not yet read, with their items' positions, in completion order.
    ready: RefCell<VecDeque<(usize, Sent<T>)>>,
    /// The reader, while it waits.
    reader: Cell<Option<Unparker>>,
    /// Members spawned and not yet removed from the group.
    outstanding: Cell<usize>,
    /// Whether the feeder is still alive.
    feeding: Cell<bool>,
    /// How many items the feeder spawned.
    spawned: Cell<usize>,
    /// The feeder's panic (the items' iterator panicked), reported after every item.
    feeder_error: RefCell<Option<GreenletError>>,
}

impl<T: 'static> Sink<T> {
    /// Queues a result and wakes the reader.
    fn push(&self, index: usize, r: Sent<T>) {
        self.ready.borrow_mut().push_back((index, r));
        self.wake();
    }

    /// Wakes the reader if it waits.
    fn wake(&self) {
        if let Some(u) = self.reader.take() {
            u.wake(Value::empty());
        }
    }
}

/// A member spawned for one item.
struct Task<T: 'static> {
    /// Its greenlet (whose function sends the value).
    g: Greenlet<()>,
    /// The item's position.
    index: usize,
    /// Where it reports.
    sink: Rc<Sink<T>>,
}

impl<T: 'static> Waitable for Task<T> {
    fn ready(&self) -> bool {
        self.g.ready()
    }
    fn add_waiter(&self, notify: Notify) -> WaiterKey {
        self.g.add_waiter(notify)
    }
    fn remove_waiter(&self, key: WaiterKey) {
        self.g.remove_waiter(key)
    }
    fn failure(&self) -> Option<GreenletError> {
        self.g.exception()
    }
}

impl<T: 'static> Member for Task<T> {
    fn kill_nowait(&self) {
        Member::kill_nowait(&self.g)
    }
    fn is_current(&self) -> bool {
        Member::is_current(&self.g)
    }
    fn same(&self, g: &dyn std::any::Any) -> bool {
        self.g.same(g)
    }
    fn unlink(&self, id: LinkId) {
        self.g.unlink(id)
    }
    fn on_removed(self: Rc<Self>, returned: bool) {
        let s = self.sink.clone();
        s.outstanding.set(s.outstanding.get() - 1);
        if returned {
            s.wake(); // the function sent its value
        } else {
            s.push(self.index, Sent::Failed(self));
        }
    }
}

/// The machinery shared by [`Imap`] and [`ImapUnordered`].
pub(crate) struct Mapper<T: 'static> {
    /// The results.
    sink: Rc<Sink<T>>,
    /// The feeder, killed when the iterator is dropped.
    feeder: Greenlet<()>,
    /// Keeps the group alive while its members report here.
    _core: Rc<Core>,
}

impl<T: 'static> Mapper<T> {
    /// Starts feeding `items` through `f` into `group`. The feeder and every member record
    /// the caller (of `map`, `imap`...) as the place where they were spawned.
    #[track_caller]
    pub(crate) fn start<I, F>(group: &Group, f: F, items: I) -> Mapper<T>
    where
        I: Iterator + 'static,
        I::Item: 'static,
        F: Fn(I::Item) -> T + 'static,
    {
        Mapper::start_at(group, f, items, std::panic::Location::caller())
    }

    /// [`start`](Mapper::start), recording `spawned_at` as where the feeder and the members
    /// were spawned.
    pub(crate) fn start_at<I, F>(
        group: &Group,
        f: F,
        items: I,
        spawned_at: &'static std::panic::Location<'static>,
    ) -> Mapper<T>
    where
        I: Iterator + 'static,
        I::Item: 'static,
        F: Fn(I::Item) -> T + 'static,
    {
        let sink = Rc::new(Sink {
            ready: RefCell::new(VecDeque::new()),
            reader: Cell::new(None),
            outstanding: Cell::new(0),
            feeding: Cell::new(true),
            spawned: Cell::new(0),
            feeder_error: RefCell::new(None),
        });
        let f = Rc::new(f);
        let core = group.core.clone();
        let feeder = {
            let (sink, core) = (sink.clone(), core.clone());
            Greenlet::new(move || {
                for (index, item) in items.enumerate() {
                    let _ = core.acquire(None);
                    let (f, s) = (f.clone(), sink.clone());
                    let g = core.spawn_member(
                        move || {
                            let v = f(item);
                            s.push(index, Sent::Value(v));
                        },
                        |g| {
                            Rc::new(Task {
                                g: g.clone(),
                                index,
                                sink: sink.clone(),
                            })
                        },
                    );
                    g.set_spawned_at(spawned_at);
                    sink.outstanding.set(sink.outstanding.get() + 1);
                    sink.spawned.set(index + 1);
                    g.start();
                }
            })
        };
        feeder.set_spawned_at(spawned_at);
        {
            let sink = sink.clone();
            feeder.rawlink(move |fg| {
                sink.feeding.set(false);
                if let Some(e) = fg.exception() {
                    *sink.feeder_error.borrow_mut() = Some(e);
                }
                sink.wake();
            });
        }
        feeder.start();
        Mapper {
            sink,
            feeder,
            _core: core,
        }
    }

    /// The next result in completion order, with its position; `None` when all are read.
    fn next_done(&mut self) -> Option<(usize, Outcome<T>)> {
        loop {
            let next = self.sink.ready.borrow_mut().pop_front();
            match next {
                Some((i, Sent::Value(v))) => return Some((i, Ok(v))),
                Some((i, Sent::Failed(task))) => {
                    // Dead, or about to be: its outcome is recorded as its function ends.
                    let e = match task.g.get() {
                        Err(e) => e,
                        Ok(()) => unreachable!("a member that returned sent its value"),
                    };
                    return Some((i, Err(e)));
                }
                None => {}
            }
            if !self.sink.feeding.get() && self.sink.outstanding.get() == 0 {
                let e = self.sink.feeder_error.borrow_mut().take();
                return e.map(|e| (self.sink.spawned.get(), Err(e)));
            }
            let _forget = ClearReader(&self.sink);
            park(|u| self.sink.reader.set(Some(u)));
        }
    }
}

impl<T: 'static> Drop for Mapper<T> {
    fn drop(&mut self) {
        self.feeder.kill_with(KillOptions {
            block: false,
            timeout: None,
        });
    }
}

/// Forgets the reader's registration however its wait ends.
struct ClearReader<'a, T: 'static>(&'a Sink<T>);

impl<T: 'static> Drop for ClearReader<'_, T> {
    fn drop(&mut self) {
        self.0.reader.take();
    }
}

/// The iterator of [`Group::imap`]: results in the items' order, `Err` for an item that
/// panicked (or was killed).
///
/// # Examples
///
/// ```
/// let pool = gevent_pool::Pool::new(2);
/// # gevent_hub::get_hub().set_error_handler(|_| {});
/// let r: Vec<_> = pool.imap(|x: i32| 10 / x, [5, 0, 2]).collect();
/// assert_eq!(r[0].as_ref().unwrap(), &2);
/// assert!(r[1].as_ref().unwrap_err().is_panic()); // at its position
/// assert_eq!(r[2].as_ref().unwrap(), &5);         // and the iteration goes on
/// # gevent_hub::get_hub().reset_error_handler();
/// ```
pub struct Imap<T: 'static> {
    /// The machinery.
    mapper: Mapper<T>,
    /// Results that finished before their turn.
    window: Window<Outcome<T>>,
}

impl<T: 'static> Imap<T> {
    /// Wraps the machinery.
    pub(crate) fn new(mapper: Mapper<T>) -> Imap<T> {
        Imap {
            mapper,
            window: Window {
                base: 0,
                slots: VecDeque::new(),
            },
        }
    }
}

/// The iterator of [`Group::imap_unordered`]: results in completion order, `Err` for an item
/// that panicked (or was killed).
///
/// # Examples
///
/// ```
/// let pool = gevent_pool::Pool::new(2);
/// let mut r: Vec<i32> = pool.imap_unordered(|x: i32| x * 2, 0..5).map(Result::unwrap).collect();
/// r.sort();
/// assert_eq!(r, [0, 2, 4, 6, 8]);
/// ```
pub struct ImapUnordered<T: 'static>(pub(crate) Mapper<T>);

impl<T: 'static> Iterator for ImapUnordered<T> {
    type Item = Result<T, GreenletError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_done().map(|(_, r)| r)
    }
}

/// Results that came before their turn, by position.
struct Window<T> {
    /// The position of `slots[0]`.
    base: usize,
    /// Results at `base + i`, `None` until they come.
    slots: VecDeque<Option<T>>,
}

impl<T: 'static> Iterator for Imap<T> {
    type Item = Result<T, GreenletError>;
    fn next(&mut self) -> Option<Self::Item> {
        let window = &mut self.window;
        loop {
            if let Some(Some(_)) = window.slots.front() {
                window.base += 1;
                return window.slots.pop_front().flatten();
            }
            let (i, r) = self.mapper.next_done()?;
            let at = i - window.base;
            if at >= window.slots.len() {
                window.slots.resize_with(at + 1, || None);
            }
            window.slots[at] = Some(r);
        }
    }
}

impl<T: 'static> fmt::Debug for Imap<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imap")
            .field("next", &self.window.base)
            .field("outstanding", &self.mapper.sink.outstanding.get())
            .finish()
    }
}

impl<T: 'static> fmt::Debug for ImapUnordered<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapUnordered")
            .field("outstanding", &self.0.sink.outstanding.get())
            .finish()
    }
}
