//! [`Value`]: what one greenlet hands another through `switch`, and [`GreenletExit`].

use std::any::{type_name, Any};
use std::fmt;

/// A value of any `'static` type passed through [`Greenlet::switch`](crate::Greenlet::switch),
/// returned by a greenlet's `run`, or received by the greenlet that is switched back into.
///
/// Python's greenlet passes arbitrary objects; Rust needs one type for "anything", so a
/// `Value` is a type-erased box (or nothing: [`Value::empty`], which is what `switch(())`
/// sends and costs no allocation).
///
/// # Examples
///
/// ```
/// use greenlet::Value;
///
/// let v = Value::new(42_i32);
/// assert!(v.is::<i32>());
/// assert_eq!(v.take::<i32>(), 42);
///
/// let v = Value::new("text");
/// let v = v.downcast::<i32>().unwrap_err(); // the wrong type gives the value back
/// assert_eq!(v.downcast::<&str>().unwrap(), "text");
///
/// assert!(Value::empty().is_empty());
/// assert!(Value::new(()).is_empty());
/// ```
///
/// # Switches
///
/// Never: a `Value` is plain data.
pub struct Value(
    /// The payload; `None` is the empty value (what `()` becomes).
    Option<Box<dyn Any>>,
);

impl Value {
    /// Wraps `v`. A `Value` passed in is returned as it is (not boxed twice), and `()` becomes
    /// the empty value.
    ///
    /// # Examples
    ///
    /// ```
    /// use greenlet::Value;
    /// let v = Value::new(Value::new(1u8));
    /// assert_eq!(v.take::<u8>(), 1);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn new<T: 'static>(v: T) -> Value {
        let mut slot = Some(v);
        let any: &mut dyn Any = &mut slot;
        if let Some(inner) = any.downcast_mut::<Option<Value>>() {
            return inner.take().unwrap_or_default();
        }
        if any.is::<Option<()>>() {
            return Value(None);
        }
        Value(Some(Box::new(slot.take().expect("filled above"))))
    }

    /// The empty value, what `switch(())` sends and a `run` returning `()` gives its parent.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(greenlet::Value::empty().is::<()>());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub const fn empty() -> Value {
        Value(None)
    }

    /// Whether this is the empty value.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!greenlet::Value::new(1).is_empty());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Whether the value holds a `T` (`()` for the empty value).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(greenlet::Value::new(String::new()).is::<String>());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn is<T: 'static>(&self) -> bool {
        match &self.0 {
            None => std::any::TypeId::of::<T>() == std::any::TypeId::of::<()>(),
            Some(b) => b.is::<T>(),
        }
    }

    /// Takes the `T` out, or gives the value back unchanged if it holds another type.
    ///
    /// # Errors
    ///
    /// The value itself, when it does not hold a `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = greenlet::Value::new(7u64);
    /// let v = v.downcast::<u32>().unwrap_err();
    /// assert_eq!(v.downcast::<u64>().unwrap(), 7);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn downcast<T: 'static>(self) -> Result<T, Value> {
        match self.0 {
            None => {
                let mut unit = Some(());
                let any: &mut dyn Any = &mut unit;
                match any.downcast_mut::<Option<T>>() {
                    Some(t) => Ok(t.take().expect("filled above")),
                    None => Err(Value(None)),
                }
            }
            Some(b) => b.downcast::<T>().map(|b| *b).map_err(|b| Value(Some(b))),
        }
    }

    /// Takes the `T` out.
    ///
    /// # Panics
    ///
    /// If the value does not hold a `T`; the message names both types.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(greenlet::Value::new(3.5f64).take::<f64>(), 3.5);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    #[track_caller]
    pub fn take<T: 'static>(self) -> T {
        match self.downcast::<T>() {
            Ok(t) => t,
            Err(v) => panic!(
                "Value::take::<{}>() called on {}",
                type_name::<T>(),
                if v.is_empty() {
                    "the empty value"
                } else {
                    "a value of another type"
                }
            ),
        }
    }

    /// A reference to the `T` inside, if it holds one.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = greenlet::Value::new(vec![1, 2]);
    /// assert_eq!(v.downcast_ref::<Vec<i32>>().unwrap().len(), 2);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        self.0.as_ref()?.downcast_ref::<T>()
    }

    /// The boxed payload, `None` for the empty value.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(greenlet::Value::empty().into_inner().is_none());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn into_inner(self) -> Option<Box<dyn Any>> {
        self.0
    }
}

impl Default for Value {
    fn default() -> Self {
        Value::empty()
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("Value(())");
        }
        if let Some(x) = self.downcast_ref::<GreenletExit>() {
            return write!(f, "Value({x:?})");
        }
        macro_rules! show {
            ($($t:ty),*) => {$(
                if let Some(x) = self.downcast_ref::<$t>() {
                    return write!(f, "Value({x:?})");
                }
            )*};
        }
        show!(
            i32,
            i64,
            u32,
            u64,
            usize,
            isize,
            bool,
            char,
            f64,
            &'static str,
            String
        );
        f.write_str("Value(..)")
    }
}

/// The payload that kills a greenlet: thrown into it with
/// [`Greenlet::throw`](crate::Greenlet::throw) (or when its last handle is dropped), it unwinds
/// the greenlet's stack from the switch where it waits, running its `Drop`s like `finally:`
/// blocks. Unlike any other panic, it does not propagate: the greenlet's parent receives it as a
/// [`Value`].
///
/// # Examples
///
/// ```
/// use greenlet::{Greenlet, GreenletExit, Value};
///
/// let g = Greenlet::new(|_: Value| {
///     greenlet::getcurrent().parent().unwrap().switch("waiting");
///     unreachable!("killed while waiting");
/// });
/// assert_eq!(g.switch(()).take::<&str>(), "waiting");
/// let back = g.throw(GreenletExit);
/// assert!(back.is::<GreenletExit>());
/// assert!(g.is_dead());
/// ```
///
/// # Switches
///
/// Not by itself: throwing it switches into the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GreenletExit;

impl fmt::Display for GreenletExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("greenlet exit")
    }
}

impl std::error::Error for GreenletExit {}
