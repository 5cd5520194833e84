//! [`AsyncResult`]: a one-time result that greenlets wait for.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{Greenlet, GreenletError, Notify, WaitList, Waitable, WaiterKey};

/// A result that is set once, by one greenlet, and read by any number (gevent's
/// `AsyncResult`): a value ([`set`](AsyncResult::set)) or an error
/// ([`set_exception`](AsyncResult::set_exception)). [`get`](AsyncResult::get) waits for it.
/// Setting wakes every waiter; an `AsyncResult` is never reset.
///
/// The error type `E` defaults to [`GreenletError`], the outcome of a greenlet, so that an
/// `AsyncResult` can receive what a [`Greenlet`] produced (see
/// [`set_from`](AsyncResult::set_from)); any other error type works too.
///
/// `AsyncResult` is a cheap handle: clones share one result. It is `!Send`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent_event::AsyncResult;
///
/// let a = AsyncResult::<&str>::new();
/// let setter = a.clone();
/// gevent_hub::spawn(move || {
///     gevent_hub::sleep(Duration::from_millis(5));
///     setter.set("Hello!");
/// });
/// let waiters: Vec<_> = (0..2).map(|_| {
///     let a = a.clone();
///     gevent_hub::spawn(move || a.get().unwrap())
/// }).collect();
/// for w in &waiters {
///     assert_eq!(w.get().unwrap(), "Hello!");
/// }
/// ```
///
/// With an error type of your own:
///
/// ```
/// #[derive(Debug, Clone, PartialEq)]
/// struct Refused;
/// let a = gevent_event::AsyncResult::<u32, Refused>::new();
/// a.set_exception(Refused);
/// assert_eq!(a.get(), Err(Refused));
/// assert!(a.ready() && !a.successful());
/// ```
///
/// `AsyncResult` stays on its thread (it is `!Send`; the thread pool hands results back through
/// its hub instead):
///
/// ```compile_fail
/// let a = gevent_event::AsyncResult::<u8>::new();
/// std::thread::spawn(move || a.set(1));
/// ```
pub struct AsyncResult<T: 'static, E: 'static = GreenletError> {
    /// The shared state.
    inner: Rc<Inner<T, E>>,
}

/// The state shared by the handles of one result.
struct Inner<T, E> {
    /// The result, once set.
    result: RefCell<Option<Result<T, E>>>,
    /// Greenlets (and `Waitable` registrations) waiting for it.
    ///
    /// # Invariant
    ///
    /// Empty once `result` is set.
    waiters: WaitList,
}

/// The error of [`AsyncResult::try_set_result`]: the result was already set. Gives the
/// rejected result back.
///
/// # Examples
///
/// ```
/// let a = gevent_event::AsyncResult::<u8>::new();
/// a.set(1);
/// let e = a.try_set_result(Ok(2)).unwrap_err();
/// assert_eq!(e.to_string(), "the AsyncResult is already set");
/// assert_eq!(e.into_inner().unwrap(), 2);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AlreadySet<R>(
    /// The rejected result.
    pub R,
);

impl<R> AlreadySet<R> {
    /// The rejected result.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent_event::AsyncResult::<u8>::new();
    /// a.set(1);
    /// assert_eq!(a.try_set_result(Ok(2)).unwrap_err().into_inner().unwrap(), 2);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn into_inner(self) -> R {
        self.0
    }
}

impl<R> fmt::Debug for AlreadySet<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AlreadySet(..)")
    }
}

impl<R> fmt::Display for AlreadySet<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the AsyncResult is already set")
    }
}

impl<R> std::error::Error for AlreadySet<R> {}

impl<T: 'static, E: 'static> Clone for AsyncResult<T, E> {
    fn clone(&self) -> Self {
        AsyncResult {
            inner: self.inner.clone(),
        }
    }
}

impl<T: 'static, E: 'static> Default for AsyncResult<T, E> {
    fn default() -> Self {
        AsyncResult::new()
    }
}

impl<T: 'static, E: 'static> AsyncResult<T, E> {
    /// A new result, not set.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent_event::AsyncResult::<i32>::new();
    /// assert!(!a.ready());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new() -> AsyncResult<T, E> {
        AsyncResult {
            inner: Rc::new(Inner {
                result: RefCell::new(None),
                waiters: WaitList::new(),
            }),
        }
    }

    /// Sets the value and wakes every waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent_event::AsyncResult::<i32>::new();
    /// a.set(7);
    /// assert_eq!(a.get().unwrap(), 7);
    /// ```
    ///
    /// # Panics
    ///
    /// If the result is already set (an `AsyncResult` is set once; see
    /// [`try_set_result`](AsyncResult::try_set_result)).
    ///
    /// # Switches
    ///
    /// Never: waiters are queued in the hub. Callable from hub callbacks.
    pub fn set(&self, value: T) {
        self.set_result(Ok(value));
    }

    /// Sets an error and wakes every waiter; their `get` returns `Err(error)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::GreenletError;
    /// let a = gevent_event::AsyncResult::<i32>::new();
    /// a.set_exception(GreenletError::from_panic(Box::new("boom")));
    /// assert_eq!(a.get().unwrap_err().message(), "boom");
    /// ```
    ///
    /// # Panics
    ///
    /// If the result is already set.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_exception(&self, error: impl Into<E>) {
        self.set_result(Err(error.into()));
    }

    /// Sets the result (a value or an error) and wakes every waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent_event::AsyncResult::<i32, String>::new();
    /// a.set_result("7".parse::<i32>().map_err(|e| e.to_string()));
    /// assert_eq!(a.get(), Ok(7));
    /// ```
    ///
    /// # Panics
    ///
    /// If the result is already set.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_result(&self, result: Result<T, E>) {
        if self.try_set_result(result).is_err() {
            panic!("AsyncResult is already set: it is set once and never reset");
        }
    }

    /// Sets the result unless it is already set.
    ///
    /// # Errors
    ///
    /// [`AlreadySet`] with `result` if a result was set before.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent_event::AsyncResult::<i32>::new();
    /// assert!(a.try_set_result(Ok(1)).is_ok());
    /// assert!(a.try_set_result(Ok(2)).is_err());
    /// assert_eq!(a.get().unwrap(), 1);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn try_set_result(&self, result: Result<T, E>) -> Result<(), AlreadySet<Result<T, E>>> {
        let inner = &*self.inner;
        {
            let mut r = inner.result.borrow_mut();
            if r.is_some() {
                return Err(AlreadySet(result));
            }
            *r = Some(result);
        }
        inner.waiters.notify_all();
        Ok(())
    }

    /// Whether the result is set (gevent's `ready()`).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent_event::AsyncResult::<()>::new();
    /// assert!(!a.ready());
    /// a.set(());
    /// assert!(a.ready());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn ready(&self) -> bool {
        self.inner.result.borrow().is_some()
    }

    /// Whether the result is set to a value (not an error).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent_event::AsyncResult::<(), ()>::new();
    /// assert!(!a.successful());
    /// a.set(());
    /// assert!(a.successful());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn successful(&self) -> bool {
        matches!(&*self.inner.result.borrow(), Some(Ok(_)))
    }

    /// Runs `f` on the result, if set, without cloning it.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent_event::AsyncResult::<String>::new();
    /// a.set("abc".to_owned());
    /// assert_eq!(a.with_result(|r| r.as_ref().unwrap().len()), Some(3));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn with_result<R>(&self, f: impl FnOnce(&Result<T, E>) -> R) -> Option<R> {
        self.inner.result.borrow().as_ref().map(f)
    }

    /// Waits until the result is set (without reading it).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent_event::AsyncResult::<u8>::new();
    /// let a2 = a.clone();
    /// gevent_hub::spawn(move || a2.set(1));
    /// a.wait();
    /// assert!(a.ready());
    /// ```
    ///
    /// # Panics
    ///
    /// With [`LoopExit`](gevent_hub::LoopExit) when the main greenlet waits and nothing can
    /// ever set the result; re-raises a kill or timeout aimed at the greenlet.
    ///
    /// # Switches
    ///
    /// Yes, unless the result is set.
    ///
    /// # Kill safety
    ///
    /// A greenlet killed (or timed out) while it waits leaves no trace in the result.
    pub fn wait(&self) {
        self.wait_opt(None);
    }

    /// Waits at most `timeout` for the result; returns whether it is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let a = gevent_event::AsyncResult::<u8>::new();
    /// assert!(!a.wait_timeout(Duration::from_millis(1)));
    /// ```
    ///
    /// # Switches
    ///
    /// Yes, unless the result is set.
    ///
    /// # Kill safety
    ///
    /// As [`wait`](AsyncResult::wait).
    #[doc(alias = "wait")]
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_opt(Some(timeout))
    }

    /// Waits for the result, at most `timeout` if given; returns whether it is set.
    fn wait_opt(&self, timeout: Option<Duration>) -> bool {
        let inner = &*self.inner;
        if self.ready() {
            return true;
        }
        drop(inner.waiters.wait(timeout));
        self.ready()
    }

    /// How many greenlets (and `Waitable` registrations) are waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gevent_event::AsyncResult::<u8>::new().waiter_count(), 0);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "linkcount")]
    pub fn waiter_count(&self) -> usize {
        self.inner.waiters.len()
    }
}

impl<T: Clone + 'static, E: Clone + 'static> AsyncResult<T, E> {
    /// Waits for the result and returns a copy of it: the value, or the error.
    ///
    /// # Errors
    ///
    /// The error set with [`set_exception`](AsyncResult::set_exception).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent_event::AsyncResult::<i32>::new();
    /// let a2 = a.clone();
    /// gevent_hub::spawn(move || a2.set(3));
    /// assert_eq!(a.get().unwrap(), 3);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`wait`](AsyncResult::wait).
    ///
    /// # Switches
    ///
    /// Yes, unless the result is set.
    ///
    /// # Kill safety
    ///
    /// As [`wait`](AsyncResult::wait).
    pub fn get(&self) -> Result<T, E> {
        self.wait_opt(None);
        self.now().expect("woken only once set")
    }

    /// [`get`](AsyncResult::get) with a time limit: `None` if the result is not set within
    /// `timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let a = gevent_event::AsyncResult::<i32>::new();
    /// assert!(a.get_timeout(Duration::from_millis(1)).is_none());
    /// a.set(1);
    /// assert_eq!(a.get_timeout(Duration::from_millis(1)).unwrap().unwrap(), 1);
    /// ```
    ///
    /// # Switches
    ///
    /// Yes, unless the result is set.
    ///
    /// # Kill safety
    ///
    /// As [`wait`](AsyncResult::wait).
    #[doc(alias = "get")]
    pub fn get_timeout(&self, timeout: Duration) -> Option<Result<T, E>> {
        self.wait_opt(Some(timeout));
        self.now()
    }

    /// The result if it is set, without waiting (gevent's `get_nowait`).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent_event::AsyncResult::<i32>::new();
    /// assert!(a.get_nowait().is_none());
    /// a.set(5);
    /// assert_eq!(a.get_nowait().unwrap().unwrap(), 5);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn get_nowait(&self) -> Option<Result<T, E>> {
        self.now()
    }

    /// The value, if the result is set to one (gevent's `value`).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent_event::AsyncResult::<i32>::new();
    /// assert_eq!(a.value(), None);
    /// a.set(5);
    /// assert_eq!(a.value(), Some(5));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn value(&self) -> Option<T> {
        match &*self.inner.result.borrow() {
            Some(Ok(v)) => Some(v.clone()),
            _ => None,
        }
    }

    /// The error, if the result is set to one (gevent's `exception`).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent_event::AsyncResult::<i32, &str>::new();
    /// a.set_exception("no");
    /// assert_eq!(a.exception(), Some("no"));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn exception(&self) -> Option<E> {
        match &*self.inner.result.borrow() {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        }
    }

    /// A copy of the result, if set.
    fn now(&self) -> Option<Result<T, E>> {
        self.inner.result.borrow().clone()
    }
}

impl<T: Clone + 'static> AsyncResult<T, GreenletError> {
    /// Sets the result to the outcome of the finished greenlet `g`: its value, or its
    /// [`GreenletError`] (a panic, or a kill). This makes an `AsyncResult` a link target, as
    /// in gevent's `g.link(async_result)`:
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gevent_event::AsyncResult::<i32>::new();
    /// let g = gevent_hub::spawn(|| 40 + 2);
    /// let a2 = a.clone();
    /// g.link(move |g| a2.set_from(g));
    /// assert_eq!(a.get().unwrap(), 42);
    /// ```
    ///
    /// # Panics
    ///
    /// If `g` has not finished, or the result is already set.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_from(&self, g: &Greenlet<T>) {
        assert!(
            g.ready(),
            "AsyncResult::set_from: greenlet '{}' has not finished",
            g.name()
        );
        // `get` on a finished greenlet returns at once.
        self.set_result(g.get());
    }
}

impl<T: 'static, E: 'static> Waitable for AsyncResult<T, E> {
    fn ready(&self) -> bool {
        AsyncResult::ready(self)
    }

    fn add_waiter(&self, notify: Notify) -> WaiterKey {
        if self.ready() {
            notify();
            return WaiterKey::NONE;
        }
        self.inner.waiters.add(notify)
    }

    fn remove_waiter(&self, key: WaiterKey) {
        self.inner.waiters.remove(key);
    }

    fn failure(&self) -> Option<GreenletError> {
        match &*self.inner.result.borrow() {
            Some(Err(e)) => (e as &dyn Any).downcast_ref::<GreenletError>().cloned(),
            _ => None,
        }
    }
}

impl<T: 'static, E: 'static> fmt::Debug for AsyncResult<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.inner.result.borrow() {
            None => "unset",
            Some(Ok(_)) => "value",
            Some(Err(_)) => "exception",
        };
        f.debug_struct("AsyncResult")
            .field("state", &state)
            .field("waiters", &self.waiter_count())
            .finish()
    }
}
