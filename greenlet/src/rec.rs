//! [`Rec`]: the counted pointer to a greenlet's record, and the [`Payload`] a scheduler may keep
//! in the same allocation.
//!
//! A greenlet's record ([`Inner`]) is one heap allocation, counted by hand rather than by an
//! `Rc`: the allocation may carry a typed payload after the record (the hub keeps its
//! per-greenlet state there, so spawning a greenlet costs one allocation, not two), and the
//! header is one word smaller than an `Rc`'s (no weak count). The record is freed through a
//! per-payload-type function table when the last [`Rec`] goes.

use std::alloc::Layout;
use std::any::TypeId;
use std::ops::Deref;
use std::ptr::NonNull;

use crate::greenlet::Greenlet;
use crate::switch::Inner;

/// What a scheduler keeps in a greenlet's record ([`Builder::build_fallible_with`]): its
/// per-greenlet state, in the same allocation as the greenlet (one allocation per greenlet),
/// read back with [`Greenlet::payload`].
///
/// [`Builder::build_fallible_with`]: crate::Builder::build_fallible_with
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// struct Runs(Cell<u32>);
/// impl greenlet::Payload for Runs {}
/// let g = greenlet::Builder::new().build_fallible_with(Runs(Cell::new(0)), |_, _| ());
/// g.payload::<Runs>().unwrap().0.set(1);
/// assert_eq!(g.payload::<Runs>().unwrap().0.get(), 1);
/// assert!(g.payload::<u8>().is_none());
/// ```
pub trait Payload: 'static {
    /// Called when the greenlet dies without having run (it was thrown into, or
    /// [`discard`](Greenlet::discard)ed, before it started), with a handle to it. Its `run` has
    /// been dropped already. The default does nothing.
    ///
    /// # Switches
    ///
    /// Must not: it runs in the switching machinery.
    fn unrun(_g: &Greenlet) {}
}

impl Payload for () {}

/// The functions that know a record's payload type.
pub(crate) struct RecVTable {
    /// Drops the record and its payload in place and frees the allocation.
    free: unsafe fn(NonNull<Inner>),
    /// The payload's type.
    payload_type: fn() -> TypeId,
    /// [`Payload::unrun`].
    pub(crate) unrun: fn(&Greenlet),
}

/// A record and its payload, in one allocation (the record first, so a pointer to one is a
/// pointer to the other).
#[repr(C)]
struct RecWith<P> {
    /// The greenlet's record.
    inner: Inner,
    /// The scheduler's payload.
    payload: P,
}

/// The function table of records with payload `P`, promoted to a static.
trait HasRecVTable {
    /// The table.
    const VT: RecVTable;
}

impl<P: Payload> HasRecVTable for P {
    const VT: RecVTable = RecVTable {
        free: free_rec::<P>,
        payload_type: TypeId::of::<P>,
        unrun: P::unrun,
    };
}

/// Drops and frees a record with payload `P`.
///
/// # Safety
///
/// `p` points at a live `RecWith<P>` allocated by [`Rec::new`] whose count has reached zero.
unsafe fn free_rec<P>(p: NonNull<Inner>) {
    let p = p.cast::<RecWith<P>>();
    // SAFETY: by the contract, the allocation is a live `RecWith<P>` made with this layout,
    // and nothing refers to it any more.
    unsafe {
        std::ptr::drop_in_place(p.as_ptr());
        std::alloc::dealloc(p.as_ptr().cast(), Layout::new::<RecWith<P>>());
    }
}

/// A counted pointer to a greenlet's record (what `Rc<Inner>` would be).
///
/// # Invariant
///
/// Points at a live record allocated by [`Rec::new`] whose `refs` counts every `Rec` to it.
pub(crate) struct Rec(NonNull<Inner>);

impl Rec {
    /// Allocates `inner` with `payload` behind it.
    pub(crate) fn new<P: Payload>(mut inner: Inner, payload: P) -> Rec {
        inner.refs.set(1);
        inner.vt = &<P as HasRecVTable>::VT;
        let b = Box::new(RecWith { inner, payload });
        // SAFETY: `RecWith` is `repr(C)` with the record first: a pointer to it is a pointer to
        // the record. `Box::into_raw` is never null.
        Rec(unsafe { NonNull::new_unchecked(Box::into_raw(b).cast::<Inner>()) })
    }

    /// The record's address.
    #[inline(always)]
    pub(crate) fn as_ptr(&self) -> *const Inner {
        self.0.as_ptr()
    }

    /// Whether both point at the same record.
    #[inline(always)]
    pub(crate) fn ptr_eq(a: &Rec, b: &Rec) -> bool {
        a.0 == b.0
    }

    /// Gives up this pointer without releasing its count (see [`from_raw`](Rec::from_raw)).
    #[inline(always)]
    pub(crate) fn into_raw(self) -> NonNull<Inner> {
        let p = self.0;
        std::mem::forget(self);
        p
    }

    /// Takes back a pointer given up with [`into_raw`](Rec::into_raw).
    ///
    /// # Safety
    ///
    /// `p` came from `into_raw`, and is taken back once.
    #[inline(always)]
    pub(crate) unsafe fn from_raw(p: NonNull<Inner>) -> Rec {
        Rec(p)
    }

    /// A new counted pointer to the record at `p`.
    ///
    /// # Safety
    ///
    /// `p` points at a live record allocated by [`Rec::new`].
    #[inline(always)]
    pub(crate) unsafe fn clone_from_ptr(p: NonNull<Inner>) -> Rec {
        // SAFETY: by the contract.
        let inner = unsafe { p.as_ref() };
        inner.refs.set(inner.refs.get() + 1);
        Rec(p)
    }

    /// The payload, if it is of type `P`.
    #[inline]
    pub(crate) fn payload<P: 'static>(&self) -> Option<&P> {
        if (self.vt.payload_type)() != TypeId::of::<P>() {
            return None;
        }
        // SAFETY: the payload is a `P` (checked above).
        Some(unsafe { self.payload_unchecked() })
    }

    /// The payload, known to be of type `P`.
    ///
    /// # Safety
    ///
    /// The record was made with a payload of type `P`.
    #[inline(always)]
    pub(crate) unsafe fn payload_unchecked<P: 'static>(&self) -> &P {
        // SAFETY: by the contract the allocation is a `RecWith<P>`, live while `self` is.
        unsafe { &(*self.0.cast::<RecWith<P>>().as_ptr()).payload }
    }
}

impl Clone for Rec {
    #[inline(always)]
    fn clone(&self) -> Rec {
        self.refs.set(self.refs.get() + 1);
        Rec(self.0)
    }
}

impl Drop for Rec {
    #[inline]
    fn drop(&mut self) {
        let n = self.refs.get() - 1;
        self.refs.set(n);
        if n == 0 {
            let free = self.vt.free;
            // SAFETY: the last pointer is gone; the record was made by `Rec::new` with the
            // payload type `free` was made for.
            unsafe { free(self.0) }
        }
    }
}

impl Deref for Rec {
    type Target = Inner;
    #[inline(always)]
    fn deref(&self) -> &Inner {
        // SAFETY: the record is live while a `Rec` to it exists (the invariant).
        unsafe { self.0.as_ref() }
    }
}

/// The function table of records without a payload.
pub(crate) fn plain_vt() -> &'static RecVTable {
    &<() as HasRecVTable>::VT
}
