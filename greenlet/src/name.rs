//! A greenlet's name, readable from the stack-overflow signal handler.
//!
//! The handler may interrupt its own thread anywhere, so it reads the name through two plain
//! words (address and length) that are updated in an order it can always make sense of, never
//! through a `String`. Names set later do not free the earlier ones while the greenlet lives, so
//! [`Greenlet::name`](crate::Greenlet::name) can hand out `&str`s.

use std::cell::{Cell, UnsafeCell};
use std::sync::atomic::{compiler_fence, Ordering};

/// `len` flag: the id follows the text ("Greenlet-" then 17).
const WITH_ID: usize = 1 << (usize::BITS - 1);

/// One name owned by a greenlet, kept until it dies.
struct Owned {
    /// The text.
    text: Box<str>,
    /// The name this one replaced (or a numbered name written out), if any.
    _prev: Option<Box<Owned>>,
}

/// A greenlet's name.
///
/// # Invariant
///
/// `ptr`/`len` describe the current text: null for none, else `len & !WITH_ID` bytes of UTF-8
/// at `ptr` that live as long as the record (a `'static` string, or one in `owned`).
pub(crate) struct Name {
    /// Address of the text, or null.
    ptr: Cell<*const u8>,
    /// Its length, with `WITH_ID` when the id follows.
    len: Cell<usize>,
    /// Texts this record owns (the current one and every earlier one).
    owned: UnsafeCell<Option<Box<Owned>>>,
}

impl Name {
    /// No name.
    pub(crate) const fn none() -> Name {
        Name {
            ptr: Cell::new(std::ptr::null()),
            len: Cell::new(0),
            owned: UnsafeCell::new(None),
        }
    }

    /// A fixed name (`with_id`: the greenlet's id follows it).
    pub(crate) fn fixed(text: &'static str, with_id: bool) -> Name {
        let n = Name::none();
        n.ptr.set(text.as_ptr());
        n.len.set(text.len() | if with_id { WITH_ID } else { 0 });
        n
    }

    /// An owned name.
    pub(crate) fn owned(text: Box<str>) -> Name {
        let n = Name::none();
        n.set(text);
        n
    }

    /// Replaces the name. The earlier text stays allocated while the record lives.
    pub(crate) fn set(&self, text: Box<str>) {
        // SAFETY: `owned` is only touched here and in `get`/`drop`, never re-entrantly, and
        // only from the owning thread (records are `!Send`); boxes inside never move.
        let owned = unsafe { &mut *self.owned.get() };
        let node = Box::new(Owned {
            text,
            _prev: owned.take(),
        });
        let (p, l) = (node.text.as_ptr(), node.text.len());
        *owned = Some(node);
        // A signal handler on this thread sees either the old pair, or length 0 (no name), or
        // the new pair: the length is cleared first and set last.
        self.len.set(0);
        compiler_fence(Ordering::SeqCst);
        self.ptr.set(p);
        compiler_fence(Ordering::SeqCst);
        self.len.set(l);
    }

    /// The name, with `id` written out after a numbered one.
    pub(crate) fn get(&self, id: u64) -> Option<&str> {
        let (text, with_id) = self.raw()?;
        // SAFETY: `raw` gives UTF-8 text set from a `str`.
        let text = unsafe { std::str::from_utf8_unchecked(text) };
        if !with_id {
            return Some(text);
        }
        // Write the numbered name out once and keep it; it becomes the current name.
        self.set(format!("{text}{id}").into_boxed_str());
        let (text, _) = self.raw()?;
        // SAFETY: as above.
        Some(unsafe { std::str::from_utf8_unchecked(text) })
    }

    /// The current text and whether the id follows, for the signal handler: reads two words,
    /// allocates nothing.
    pub(crate) fn raw(&self) -> Option<(&[u8], bool)> {
        let len = self.len.get();
        compiler_fence(Ordering::SeqCst);
        let ptr = self.ptr.get();
        if ptr.is_null() || len == 0 {
            return None;
        }
        // SAFETY: by the invariant, `ptr` points at `len & !WITH_ID` live bytes.
        let text = unsafe { std::slice::from_raw_parts(ptr, len & !WITH_ID) };
        Some((text, len & WITH_ID != 0))
    }
}
