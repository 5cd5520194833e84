//! [`Local<T>`]: greenlet-local objects made at run time.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Numbers `Local` objects, process-wide. Never reused, so a new object never finds an old
/// one's values.
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// Marks keys of `Local` objects: no address of a `static` (which `greenlet_local!` and other
/// users of [`greenlet::LocalKey::Addr`] use) has the top bit set on the platforms we run on
/// (user space is the lower half).
const TAG: usize = 1 << (usize::BITS - 1);

/// A greenlet-local object made at run time (gevent's `local()`): each greenlet that calls
/// [`with`](Local::with) sees its own value, made by the initialiser the first time that
/// greenlet asks, and dropped when the greenlet ends. The thread's main greenlet (and its hub)
/// have their own values too.
///
/// `Local` is a cheap handle: clones share one object (one value per greenlet), so a clone
/// can be moved into each greenlet. It is `!Send`.
///
/// When the last handle is dropped, the values it made are dropped at once in every greenlet
/// still alive (on the dropping greenlet's stack), so a long-lived greenlet does not keep
/// them. Each such greenlet keeps only an empty slot (two words) until it ends.
///
/// For statics, see [`greenlet_local!`](crate::greenlet_local).
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use gevent_local::Local;
///
/// let counter = Local::new(|| Cell::new(0u32));
/// counter.with(|c| c.set(10));
/// let c2 = counter.clone();
/// let g = greenlet::Greenlet::new(move |_: greenlet::Value| {
///     c2.with(|c| c.set(c.get() + 1));
///     c2.with(|c| c.get())
/// });
/// assert_eq!(g.switch(()).take::<u32>(), 1); // its own, made fresh
/// counter.with(|c| assert_eq!(c.get(), 10));  // ours
/// ```
///
/// A `Local` is `!Send`: its values belong to the greenlets of one thread.
///
/// ```compile_fail
/// let l = gevent_local::Local::new(|| 0u32);
/// std::thread::spawn(move || l.with(|v| *v));
/// ```
#[doc(alias = "local")]
pub struct Local<T: 'static> {
    /// The shared object.
    inner: Rc<Inner<T>>,
}

/// The state shared by the handles of one `Local`.
struct Inner<T: 'static> {
    /// This object's key in every greenlet's local storage (`TAG | id`).
    key: usize,
    /// Makes a greenlet's value.
    init: Box<dyn Fn() -> T>,
    /// The slots this object made, one per greenlet that asked; emptied when it is dropped.
    slots: RefCell<Vec<Weak<Slot<T>>>>,
    /// When `slots` reaches this length, the slots of dead greenlets are pruned.
    prune_at: Cell<usize>,
}

/// One greenlet's value, stored in that greenlet's local storage.
struct Slot<T> {
    /// The value; `None` once the `Local` is dropped.
    value: RefCell<Option<T>>,
}

impl<T: 'static> Local<T> {
    /// A greenlet-local object whose values are made by `init`.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gevent_local::Local::new(|| String::from("fresh"));
    /// assert_eq!(l.with(|s| s.clone()), "fresh");
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new(init: impl Fn() -> T + 'static) -> Local<T> {
        Local {
            inner: Rc::new(Inner {
                key: TAG | NEXT_ID.fetch_add(1, Ordering::Relaxed),
                init: Box::new(init),
                slots: RefCell::new(Vec::new()),
                prune_at: Cell::new(16),
            }),
        }
    }

    /// Runs `f` with the running greenlet's value, making it first if this greenlet has none
    /// yet.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// let l = gevent_local::Local::new(|| RefCell::new(Vec::<u8>::new()));
    /// l.with(|v| v.borrow_mut().push(1));
    /// l.with(|v| assert_eq!(*v.borrow(), [1]));
    /// ```
    ///
    /// # Panics
    ///
    /// If the initialiser panics (nothing is stored then), or if `f` or the initialiser
    /// drops the last handle of this `Local` (impossible through `&self` alone).
    ///
    /// # Switches
    ///
    /// Never, unless `f` (or the initialiser) does.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        let inner = &*self.inner;
        let key = greenlet::LocalKey::Addr(inner.key);
        let any: Rc<dyn Any> = greenlet::getcurrent().local_keyed(key, || inner.new_slot());
        let slot = any
            .downcast_ref::<Slot<T>>()
            .expect("a Local's key holds its own slot type");
        let v = slot.value.borrow();
        f(v.as_ref().expect("the Local is alive, so its values are"))
    }
}

impl<T: 'static> Inner<T> {
    /// Makes the running greenlet's slot and remembers it.
    fn new_slot(&self) -> Rc<dyn Any> {
        let slot = Rc::new(Slot {
            value: RefCell::new(Some((self.init)())),
        });
        let mut slots = self.slots.borrow_mut();
        if slots.len() >= self.prune_at.get() {
            slots.retain(|w| w.strong_count() > 0);
            self.prune_at.set((2 * slots.len()).max(16));
        }
        slots.push(Rc::downgrade(&slot));
        slot
    }
}

impl<T: 'static> Drop for Inner<T> {
    fn drop(&mut self) {
        for w in self.slots.get_mut().drain(..) {
            if let Some(slot) = w.upgrade() {
                let v = slot.value.borrow_mut().take();
                drop(v);
            }
        }
    }
}

impl<T: 'static> Clone for Local<T> {
    fn clone(&self) -> Self {
        Local {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Default + 'static> Default for Local<T> {
    /// A `Local` whose values start as `T::default()`.
    fn default() -> Self {
        Local::new(T::default)
    }
}

impl<T: 'static> fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Local")
            .field("key", &(self.inner.key & !TAG))
            .finish_non_exhaustive()
    }
}
