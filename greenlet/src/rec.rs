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
use std::cell::Cell;
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
    unsafe { std::ptr::drop_in_place(p.as_ptr()) };
    let layout = Layout::new::<RecWith<P>>();
    if !keep(layout, p.cast()) {
        // SAFETY: allocated by `Rec::new` with this layout; dropped above.
        unsafe { std::alloc::dealloc(p.as_ptr().cast(), layout) };
    }
}

/// How many freed records of one layout a thread keeps for reuse (a record is a few hundred
/// bytes: about 1.5 MiB for the hub's).
const KEEP_PER_LAYOUT: usize = 4096;

/// How many record layouts a thread keeps freed records of (one per payload type in use: the
/// plain one and the hub's few).
const LAYOUTS: usize = 4;

/// A freed record's memory, linked into its layout's list.
struct FreeNode {
    /// The next freed record of the same layout.
    next: *mut FreeNode,
}

/// Freed records of one layout, kept for reuse.
struct FreeClass {
    /// The layout's size; 0 while the class is unused.
    size: Cell<usize>,
    /// The layout's alignment.
    align: Cell<usize>,
    /// The most recently freed record (reused first: its memory is warm).
    head: Cell<*mut FreeNode>,
    /// How many are in the list.
    len: Cell<usize>,
}

/// A thread's freed records: spawning a greenlet reuses one instead of asking the allocator
/// (malloc and free of a record were about a quarter of a spawn's instructions).
struct FreeRecs([FreeClass; LAYOUTS]);

impl FreeRecs {
    /// The class of `layout`, claiming an unused one if there is none yet.
    #[inline]
    fn class(&self, layout: Layout, claim: bool) -> Option<&FreeClass> {
        for c in &self.0 {
            if c.size.get() == layout.size() && c.align.get() == layout.align() {
                return Some(c);
            }
            if c.size.get() == 0 {
                if !claim {
                    return None;
                }
                c.size.set(layout.size());
                c.align.set(layout.align());
                return Some(c);
            }
        }
        None
    }
}

impl Drop for FreeRecs {
    fn drop(&mut self) {
        for c in &self.0 {
            let Ok(layout) = Layout::from_size_align(c.size.get(), c.align.get()) else {
                continue;
            };
            let mut p = c.head.replace(std::ptr::null_mut());
            while !p.is_null() {
                // SAFETY: every node in the list is a freed record of this class's layout,
                // owned by the list alone (see `keep`).
                let next = unsafe { (*p).next };
                // SAFETY: as above; allocated with `layout` by `Rec::new`.
                unsafe { std::alloc::dealloc(p.cast(), layout) };
                p = next;
            }
            c.len.set(0);
        }
    }
}

thread_local! {
    /// This thread's freed records.
    static FREE: FreeRecs = const {
        FreeRecs([const {
            FreeClass {
                size: Cell::new(0),
                align: Cell::new(0),
                head: Cell::new(std::ptr::null_mut()),
                len: Cell::new(0),
            }
        }; LAYOUTS])
    };
}

/// Keeps the dropped record memory at `p` (allocated with `layout`) for reuse; `false` if the
/// thread's list for it is full or gone (the caller frees it).
#[inline]
fn keep(layout: Layout, p: NonNull<u8>) -> bool {
    FREE.try_with(|f| {
        let Some(c) = f.class(layout, true) else {
            return false;
        };
        if c.len.get() >= KEEP_PER_LAYOUT {
            return false;
        }
        let node = p.as_ptr().cast::<FreeNode>();
        // SAFETY: `p` is a dead allocation of `layout`, at least a pointer in size and
        // alignment (it held a record), which the list now owns.
        unsafe { node.write(FreeNode { next: c.head.get() }) };
        c.head.set(node);
        c.len.set(c.len.get() + 1);
        true
    })
    .unwrap_or(false)
}

/// Memory for a record of `layout`: a freed one of this thread, or a new allocation.
#[inline]
fn alloc_rec(layout: Layout) -> NonNull<u8> {
    let reused = FREE
        .try_with(|f| {
            let c = f.class(layout, false)?;
            let node = c.head.get();
            if node.is_null() {
                return None;
            }
            // SAFETY: a node in the list is a dead allocation the list owns (see `keep`).
            c.head.set(unsafe { (*node).next });
            c.len.set(c.len.get() - 1);
            NonNull::new(node.cast::<u8>())
        })
        .ok()
        .flatten();
    if let Some(p) = reused {
        return p;
    }
    // SAFETY: `layout` is a record's, never zero-sized.
    let p = unsafe { std::alloc::alloc(layout) };
    match NonNull::new(p) {
        Some(p) => p,
        None => std::alloc::handle_alloc_error(layout),
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
        let p = alloc_rec(Layout::new::<RecWith<P>>()).cast::<RecWith<P>>();
        // SAFETY: `p` is unused memory of `RecWith<P>`'s layout; both fields are written.
        unsafe {
            std::ptr::addr_of_mut!((*p.as_ptr()).inner).write(inner);
            std::ptr::addr_of_mut!((*p.as_ptr()).payload).write(payload);
        }
        // SAFETY: `RecWith` is `repr(C)` with the record first: a pointer to it is a pointer to
        // the record.
        Rec(p.cast::<Inner>())
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

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use crate::{Builder, Greenlet, Payload, Value};

    /// A payload of `N` words, so that each `N` is a record layout of its own.
    struct Words<const N: usize>([Cell<u64>; N]);
    impl<const N: usize> Payload for Words<N> {}

    /// A finished greenlet with a `Words<N>` payload filled with `v`, checked and dropped;
    /// returns its record's address.
    fn churn<const N: usize>(v: u64) -> usize {
        let g = Builder::new().build_fallible_with(
            Words::<N>(std::array::from_fn(|_| Cell::new(v))),
            |me: Greenlet, _| me.payload::<Words<N>>().unwrap().0[N - 1].get(),
        );
        assert_eq!(g.switch(()).take::<u64>(), v);
        let p = g.payload::<Words<N>>().unwrap();
        assert!(p.0.iter().all(|c| c.get() == v));
        let addr = g.inner.as_ptr() as usize;
        drop(g);
        addr
    }

    #[test]
    fn freed_records_are_reused_per_layout() {
        std::thread::spawn(|| {
            // More layouts than the thread keeps lists for: the extra ones go to the allocator.
            for round in 0..3 {
                let a = churn::<1>(round);
                assert_eq!(
                    churn::<1>(round + 10),
                    a,
                    "a freed record of the same layout is reused"
                );
                churn::<2>(round);
                churn::<3>(round);
                churn::<4>(round);
                churn::<5>(round);
                churn::<6>(round);
            }
            // Records of a plain greenlet and of different payloads stay apart.
            let g = Greenlet::new(|v: Value| v);
            assert!(g.payload::<Words<1>>().is_none());
            assert_eq!(g.switch(7u8).take::<u8>(), 7);
        })
        .join()
        .unwrap();
    }
}
