//! Waiting on several things at once: the [`Waitable`] trait, [`wait`], [`iwait`], [`joinall`].

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

use greenlet::Value;

use crate::error::GreenletError;
use crate::park::{park_timeout, Unparker};
pub use crate::waitlist::{Notify, WaiterKey};

/// Something a greenlet can wait for: a `Greenlet` (until it dies), an `Event` (until set), an
/// `AsyncResult`, a child process... `wait`, `iwait` and `joinall` take any mix of them
/// (`&[&dyn Waitable]`). This replaces gevent's `rawlink` protocol.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent_hub::{spawn, sleep, wait, Waitable};
/// let a = spawn(|| sleep(Duration::from_millis(5)));
/// let b = spawn(|| ());
/// let objs: [&dyn Waitable; 2] = [&a, &b];
/// let done = wait(&objs, None);
/// assert_eq!(done.len(), 2);
/// ```
pub trait Waitable {
    /// Whether waiting would return at once.
    fn ready(&self) -> bool;

    /// Registers `notify`, to be called once when the object becomes ready (it may be called
    /// at once if it already is).
    fn add_waiter(&self, notify: Notify) -> WaiterKey;

    /// Cancels a registration (no-op if it already fired).
    fn remove_waiter(&self, key: WaiterKey);

    /// The error to raise for `joinall(.., raise_error: true)`: a greenlet's panic.
    fn failure(&self) -> Option<GreenletError> {
        None
    }

    /// For objects that record when they became ready (greenlets record their death): `0`
    /// while not ready, then a number that grows with the time it became ready among the
    /// thread's objects of its kind. `None` (the default) if the object keeps no such record.
    ///
    /// When every object given to [`wait`] or [`joinall`] keeps one, they wait for the objects
    /// in turn, registering with one object at a time instead of all of them, and still
    /// return the indices in the order the objects became ready.
    fn ready_order(&self) -> Option<u64> {
        None
    }
}

impl<W: Waitable + ?Sized> Waitable for &W {
    fn ready(&self) -> bool {
        (**self).ready()
    }
    fn add_waiter(&self, notify: Notify) -> WaiterKey {
        (**self).add_waiter(notify)
    }
    fn remove_waiter(&self, key: WaiterKey) {
        (**self).remove_waiter(key)
    }
    fn failure(&self) -> Option<GreenletError> {
        (**self).failure()
    }
    fn ready_order(&self) -> Option<u64> {
        (**self).ready_order()
    }
}

impl<W: Waitable + ?Sized> Waitable for Rc<W> {
    fn ready(&self) -> bool {
        (**self).ready()
    }
    fn add_waiter(&self, notify: Notify) -> WaiterKey {
        (**self).add_waiter(notify)
    }
    fn remove_waiter(&self, key: WaiterKey) {
        (**self).remove_waiter(key)
    }
    fn failure(&self) -> Option<GreenletError> {
        (**self).failure()
    }
    fn ready_order(&self) -> Option<u64> {
        (**self).ready_order()
    }
}

/// Waits until `obj` is ready or `timeout` passes; returns whether it is ready.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let g = gevent_hub::spawn(|| gevent_hub::sleep(Duration::from_millis(5)));
/// assert!(gevent_hub::wait_one(&g, Some(Duration::from_secs(5))));
/// ```
///
/// # Switches
///
/// Yes, unless `obj` is ready.
///
/// # Kill safety
///
/// The registration is removed however the wait ends.
pub fn wait_one(obj: &(impl Waitable + ?Sized), timeout: Option<Duration>) -> bool {
    if obj.ready() {
        return true;
    }
    let key = Cell::new(None);
    let _g = RemoveOnDrop { obj, key: &key };
    let r = park_timeout(timeout, |u| {
        key.set(Some(obj.add_waiter(Rc::new(move || {
            u.wake(Value::empty());
        }))));
    });
    r.is_ok() || obj.ready()
}

/// Removes a registration on scope exit.
struct RemoveOnDrop<'a, W: Waitable + ?Sized> {
    /// The object.
    obj: &'a W,
    /// The registration, once made.
    key: &'a Cell<Option<WaiterKey>>,
}

impl<W: Waitable + ?Sized> Drop for RemoveOnDrop<'_, W> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            self.obj.remove_waiter(k);
        }
    }
}

/// Iterates over the indices of `objs` as each becomes ready (gevent's `iwait`), until all
/// have, or until `timeout` (for the whole iteration) passes.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent_hub::{iwait, sleep, spawn};
/// let gs = [
///     spawn(|| sleep(Duration::from_millis(20))),
///     spawn(|| sleep(Duration::from_millis(1))),
/// ];
/// let order: Vec<usize> = iwait(&gs, None).collect();
/// assert_eq!(order, [1, 0]);
/// ```
///
/// Objects of different kinds (greenlets of different output types, events, child
/// processes...) go together as `&dyn Waitable`:
///
/// ```
/// use std::time::Duration;
/// use gevent_hub::{iwait, sleep, spawn, Waitable};
/// let number = spawn(|| { sleep(Duration::from_millis(20)); 42 });
/// let text = spawn(|| "at once");
/// let objs: [&dyn Waitable; 2] = [&number, &text];
/// for i in iwait(&objs, Some(Duration::from_secs(5))) {
///     println!("object {i} is ready");
/// }
/// assert!(number.ready() && text.ready());
/// ```
///
/// # Switches
///
/// Each `next` switches until an object is ready (not if one already is).
///
/// # Kill safety
///
/// Dropping the iterator (also by unwinding) removes every registration.
pub fn iwait<W: Waitable>(objs: &[W], timeout: Option<Duration>) -> Iwait<'_, W> {
    let queue: Rc<RefCell<VecDeque<usize>>> = Rc::default();
    let waiter: Rc<RefCell<Option<Unparker>>> = Rc::default();
    let mut keys = Vec::with_capacity(objs.len());
    for (i, o) in objs.iter().enumerate() {
        if o.ready() {
            queue.borrow_mut().push_back(i);
            keys.push(None);
            continue;
        }
        let (q, w, fired) = (queue.clone(), waiter.clone(), Cell::new(false));
        let key = o.add_waiter(Rc::new(move || {
            if fired.replace(true) {
                return;
            }
            q.borrow_mut().push_back(i);
            if let Some(u) = w.borrow_mut().take() {
                u.wake(Value::empty());
            }
        }));
        keys.push(Some(key));
    }
    Iwait {
        objs,
        queue,
        waiter,
        keys,
        remaining: objs.len(),
        deadline: timeout.and_then(crate::deadline_after),
    }
}

/// The iterator returned by [`iwait`].
pub struct Iwait<'a, W: Waitable> {
    /// The objects.
    objs: &'a [W],
    /// Indices that became ready and were not yet returned.
    queue: Rc<RefCell<VecDeque<usize>>>,
    /// The parked iterating greenlet.
    waiter: Rc<RefCell<Option<Unparker>>>,
    /// Registrations to remove on drop.
    keys: Vec<Option<WaiterKey>>,
    /// How many indices are still to be returned.
    remaining: usize,
    /// When the iteration gives up.
    deadline: Option<Instant>,
}

impl<W: Waitable> Iterator for Iwait<'_, W> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        loop {
            if let Some(i) = self.queue.borrow_mut().pop_front() {
                self.remaining -= 1;
                self.keys[i] = None;
                return Some(i);
            }
            if self.remaining == 0 {
                return None;
            }
            let timeout = match self.deadline {
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return None;
                    }
                    Some(d - now)
                }
                None => None,
            };
            let w = self.waiter.clone();
            let r = park_timeout(timeout, |u| *w.borrow_mut() = Some(u));
            self.waiter.borrow_mut().take();
            if r.is_err() && self.queue.borrow().is_empty() {
                return None;
            }
        }
    }
}

impl<W: Waitable> Drop for Iwait<'_, W> {
    fn drop(&mut self) {
        for (i, k) in self.keys.iter_mut().enumerate() {
            if let Some(k) = k.take() {
                self.objs[i].remove_waiter(k);
            }
        }
    }
}

/// Waits for all of `objs` (or until `timeout`); returns the indices of those that became
/// ready, in the order they did.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let gs = [gevent_hub::spawn(|| 1), gevent_hub::spawn(|| 2)];
/// assert_eq!(gevent_hub::wait(&gs, Some(Duration::from_secs(5))).len(), 2);
/// ```
///
/// Objects of different kinds (here greenlets of two output types) as `&dyn Waitable`:
///
/// ```
/// use std::time::Duration;
/// use gevent_hub::{spawn, wait, Waitable};
/// let a = spawn(|| 1u8);
/// let b = spawn(|| String::from("b"));
/// assert_eq!(wait(&[&a as &dyn Waitable, &b], Some(Duration::from_secs(5))).len(), 2);
/// ```
///
/// With no objects at all (gevent's bare `gevent.wait()`), see [`wait_all`].
///
/// # Switches
///
/// Yes, unless all are ready.
///
/// # Kill safety
///
/// Every registration is removed however the wait ends; the objects are left as they are.
pub fn wait<W: Waitable>(objs: &[W], timeout: Option<Duration>) -> Vec<usize> {
    if objs.iter().all(|o| o.ready_order().is_some()) {
        return wait_in_turn(objs, timeout);
    }
    iwait(objs, timeout).collect()
}

/// [`wait`] for objects that record when they became ready: waits for each in turn (most are
/// ready by the time the one before is, so this registers with few of them), then sorts the
/// ready ones by [`Waitable::ready_order`].
fn wait_in_turn<W: Waitable>(objs: &[W], timeout: Option<Duration>) -> Vec<usize> {
    let deadline = timeout.and_then(crate::deadline_after);
    for o in objs {
        if o.ready() {
            continue;
        }
        let left = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => break,
            },
            None => None,
        };
        if !wait_one(o, left) {
            break;
        }
    }
    let mut done: Vec<(u64, usize)> = objs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.ready())
        .map(|(i, o)| (o.ready_order().unwrap_or(0), i))
        .collect();
    done.sort_unstable();
    done.into_iter().map(|(_, i)| i).collect()
}

/// Options of [`joinall_with`], as gevent's `joinall(greenlets, timeout, raise_error, count)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JoinAll {
    /// Give up after this long.
    pub timeout: Option<Duration>,
    /// Stop at the first greenlet that failed and return its error.
    pub raise_error: bool,
    /// Stop after this many are ready.
    pub count: Option<usize>,
}

/// Waits for every greenlet (or any [`Waitable`]) in `objs` to finish; returns the indices of
/// those that did, in completion order (gevent's `joinall`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent_hub::{joinall, sleep, spawn};
/// let gs: Vec<_> = (0..3u64).map(|i| spawn(move || { sleep(Duration::from_millis(3 - i)); i })).collect();
/// assert_eq!(joinall(&gs), [2, 1, 0]);
/// assert_eq!(gs[0].get().unwrap(), 0);
/// ```
///
/// Greenlets of different output types (and any other [`Waitable`]) as `&dyn Waitable`:
///
/// ```
/// use gevent_hub::{joinall, spawn, Waitable};
/// let n = spawn(|| 42);
/// let s = spawn(|| "text");
/// joinall(&[&n as &dyn Waitable, &s]);
/// assert_eq!((n.get().unwrap(), s.get().unwrap()), (42, "text"));
/// ```
///
/// # Switches
///
/// Yes, unless all are ready.
///
/// # Kill safety
///
/// As [`wait`]: every registration is removed; the greenlets go on.
pub fn joinall<W: Waitable>(objs: &[W]) -> Vec<usize> {
    wait(objs, None)
}

/// [`joinall`] with a timeout, a count, and `raise_error`.
///
/// # Errors
///
/// With `raise_error`, the first failure (a greenlet's panic) among those that finished.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent_hub::{joinall_with, spawn, JoinAll};
/// # gevent_hub::get_hub().set_error_handler(|_| {});
/// let gs = [spawn(|| -> () { panic!("no") }), spawn(|| ())];
/// let r = joinall_with(&gs, JoinAll { timeout: Some(Duration::from_secs(5)), raise_error: true, count: None });
/// assert!(r.unwrap_err().is_panic());
/// # gevent_hub::get_hub().reset_error_handler();
/// ```
///
/// # Switches
///
/// Yes, unless all are ready.
///
/// # Kill safety
///
/// As [`wait`].
pub fn joinall_with<W: Waitable>(objs: &[W], opts: JoinAll) -> Result<Vec<usize>, GreenletError> {
    let want = opts.count.unwrap_or(objs.len()).min(objs.len());
    let mut done = Vec::with_capacity(want);
    if want == 0 {
        return Ok(done);
    }
    for i in iwait(objs, opts.timeout) {
        if opts.raise_error {
            if let Some(e) = objs[i].failure() {
                return Err(e);
            }
        }
        done.push(i);
        if done.len() >= want {
            break;
        }
    }
    Ok(done)
}

/// Waits until the hub has nothing left to run, or until `timeout`; returns `true` if nothing
/// was left, `false` on timeout (gevent's bare `gevent.wait()`, with no objects). What keeps
/// it waiting is what keeps the hub's loop alive: greenlets that are ready or waiting on a
/// timer, a socket or a child process, callbacks. Timers and watchers made not to keep the
/// loop alive (`sleep_unref`, a signal handler) do not count. The same as
/// [`Hub::join`](crate::Hub::join) on this thread's hub.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let g = gevent_hub::spawn(|| gevent_hub::sleep(Duration::from_millis(5)));
/// assert!(gevent_hub::wait_all(None));
/// assert!(g.dead());
///
/// let forever = gevent_hub::spawn(|| gevent_hub::sleep(Duration::from_secs(60)));
/// assert!(!gevent_hub::wait_all(Some(Duration::from_millis(5))));
/// forever.kill();
/// ```
///
/// # Panics
///
/// If called from inside the hub (a callback).
///
/// # Switches
///
/// Yes, unless nothing is left to run (then it yields once, so that what is ready runs).
///
/// # Kill safety
///
/// Nothing to undo: a kill ends the wait; its time limit (a timer that does not keep the loop
/// alive) fires later and finds nobody to wake.
#[doc(alias = "gevent.wait")]
pub fn wait_all(timeout: Option<Duration>) -> bool {
    crate::hub::get_hub().join(timeout)
}
