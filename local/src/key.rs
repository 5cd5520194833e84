//! [`greenlet_local!`](crate::greenlet_local) and its [`LocalKey`].

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

/// Declares greenlet-local statics, in the shape of `thread_local!`: each greenlet (and each
/// thread's main greenlet, and the hub) sees its own value, made by the initialiser the first
/// time that greenlet asks, and dropped when the greenlet ends.
///
/// Each `static NAME: T = init;` becomes a [`LocalKey<T>`]; read it with
/// [`with`](LocalKey::with). Attributes and visibility are kept; several statics may be
/// declared at once.
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use gevent_local::greenlet_local;
///
/// greenlet_local! {
///     /// What this greenlet has stashed.
///     static STASH: RefCell<Vec<u8>> = RefCell::new(Vec::new());
///     pub static NAME: String = String::from("anonymous");
/// }
///
/// STASH.with(|s| s.borrow_mut().push(1));
/// let g = greenlet::Greenlet::new(|_: greenlet::Value| {
///     STASH.with(|s| s.borrow_mut().push(2));
///     STASH.with(|s| s.borrow().clone())
/// });
/// assert_eq!(g.switch(()).take::<Vec<u8>>(), [2]); // its own
/// STASH.with(|s| assert_eq!(*s.borrow(), [1]));  // ours, untouched
/// NAME.with(|n| assert_eq!(n, "anonymous"));
/// ```
#[macro_export]
macro_rules! greenlet_local {
    // The base of the recursion.
    () => {};

    ($(#[$attr:meta])* $vis:vis static $name:ident : $t:ty = $init:expr; $($rest:tt)*) => {
        $crate::__greenlet_local_inner!($(#[$attr])* $vis $name, $t, $init);
        $crate::greenlet_local!($($rest)*);
    };

    ($(#[$attr:meta])* $vis:vis static $name:ident : $t:ty = $init:expr) => {
        $crate::__greenlet_local_inner!($(#[$attr])* $vis $name, $t, $init);
    };
}

/// Declares one greenlet-local static (the work behind [`greenlet_local!`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __greenlet_local_inner {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty, $init:expr) => {
        $(#[$attr])*
        $vis static $name: $crate::LocalKey<$t> = {
            fn __init() -> $t {
                $init
            }
            $crate::LocalKey::__new(__init)
        };
    };
}

/// A greenlet-local static declared with [`greenlet_local!`](crate::greenlet_local): the
/// greenlet counterpart of `std::thread::LocalKey`.
///
/// The key is the static's address; the values live in each greenlet's local storage
/// ([`greenlet::Greenlet::local_keyed`]), so they are dropped when their greenlet ends, on its
/// own stack.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// gevent_local::greenlet_local! { static HITS: Cell<u32> = Cell::new(0); }
/// HITS.with(|h| h.set(h.get() + 1));
/// assert_eq!(HITS.get(), 1);
/// ```
pub struct LocalKey<T: 'static> {
    /// Makes a greenlet's value, the first time that greenlet asks.
    init: fn() -> T,
}

impl<T: 'static> LocalKey<T> {
    /// Used by [`greenlet_local!`](crate::greenlet_local); not public API.
    #[doc(hidden)]
    pub const fn __new(init: fn() -> T) -> LocalKey<T> {
        LocalKey { init }
    }

    /// Runs `f` with the running greenlet's value, creating it first if this greenlet has
    /// none yet.
    ///
    /// # Examples
    ///
    /// ```
    /// gevent_local::greenlet_local! { static ID: u64 = greenlet::getcurrent().id(); }
    /// let mine = ID.with(|id| *id);
    /// let g = greenlet::Greenlet::new(|_: greenlet::Value| ID.with(|id| *id));
    /// assert_ne!(g.switch(()).take::<u64>(), mine);
    /// ```
    ///
    /// # Panics
    ///
    /// If the initialiser panics (nothing is stored then).
    ///
    /// # Switches
    ///
    /// Never, unless `f` (or the initialiser) does.
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        let key = greenlet::LocalKey::Addr(self as *const LocalKey<T> as usize);
        let v = greenlet::getcurrent().local_keyed(key, || Rc::new((self.init)()));
        let v = v
            .downcast_ref::<T>()
            .expect("a greenlet-local key holds its own type");
        f(v)
    }
}

impl<T: 'static> LocalKey<Cell<T>> {
    /// Sets the running greenlet's value.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// gevent_local::greenlet_local! { static N: Cell<i32> = Cell::new(0); }
    /// N.set(5);
    /// assert_eq!(N.get(), 5);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set(&'static self, value: T) {
        self.with(|c| c.set(value));
    }

    /// The running greenlet's value.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// gevent_local::greenlet_local! { static N: Cell<u8> = Cell::new(3); }
    /// assert_eq!(N.get(), 3);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn get(&'static self) -> T
    where
        T: Copy,
    {
        self.with(Cell::get)
    }

    /// Takes the running greenlet's value, leaving `T::default()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// gevent_local::greenlet_local! { static N: Cell<u8> = Cell::new(3); }
    /// assert_eq!(N.take(), 3);
    /// assert_eq!(N.get(), 0);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn take(&'static self) -> T
    where
        T: Default,
    {
        self.with(Cell::take)
    }

    /// Replaces the running greenlet's value, returning the old one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// gevent_local::greenlet_local! { static N: Cell<u8> = Cell::new(3); }
    /// assert_eq!(N.replace(4), 3);
    /// assert_eq!(N.get(), 4);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn replace(&'static self, value: T) -> T {
        self.with(|c| c.replace(value))
    }
}

impl<T: 'static> LocalKey<RefCell<T>> {
    /// Runs `f` with a shared borrow of the running greenlet's value.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// gevent_local::greenlet_local! { static V: RefCell<Vec<u8>> = RefCell::new(vec![1]); }
    /// assert_eq!(V.with_borrow(|v| v.len()), 1);
    /// ```
    ///
    /// # Panics
    ///
    /// If the value is mutably borrowed (by this greenlet).
    ///
    /// # Switches
    ///
    /// Never, unless `f` does.
    pub fn with_borrow<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        self.with(|c| f(&c.borrow()))
    }

    /// Runs `f` with a mutable borrow of the running greenlet's value.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// gevent_local::greenlet_local! { static V: RefCell<Vec<u8>> = RefCell::new(Vec::new()); }
    /// V.with_borrow_mut(|v| v.push(3));
    /// assert_eq!(V.take(), [3]);
    /// ```
    ///
    /// # Panics
    ///
    /// If the value is borrowed (by this greenlet).
    ///
    /// # Switches
    ///
    /// Never, unless `f` does.
    pub fn with_borrow_mut<R>(&'static self, f: impl FnOnce(&mut T) -> R) -> R {
        self.with(|c| f(&mut c.borrow_mut()))
    }

    /// Takes the running greenlet's value, leaving `T::default()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// gevent_local::greenlet_local! { static S: RefCell<String> = RefCell::new("a".into()); }
    /// assert_eq!(S.take(), "a");
    /// assert_eq!(S.with_borrow(|s| s.len()), 0);
    /// ```
    ///
    /// # Panics
    ///
    /// If the value is borrowed.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn take(&'static self) -> T
    where
        T: Default,
    {
        self.with(RefCell::take)
    }

    /// Replaces the running greenlet's value, returning the old one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// gevent_local::greenlet_local! { static S: RefCell<String> = RefCell::new("a".into()); }
    /// assert_eq!(S.replace("b".into()), "a");
    /// ```
    ///
    /// # Panics
    ///
    /// If the value is borrowed.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn replace(&'static self, value: T) -> T {
        self.with(|c| c.replace(value))
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey").finish_non_exhaustive()
    }
}
