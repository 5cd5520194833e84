//! [`RunSlot`]: a greenlet's `run` function, stored inline in its record when small.
//!
//! Keeping the record a sized type (rather than `Inner<dyn FnOnce>`) makes every field access on
//! the switch path a fixed offset, and storing small closures inline saves the second
//! allocation per greenlet that a `Box<dyn FnOnce>` would cost.

use std::cell::{Cell, UnsafeCell};
use std::mem::{self, MaybeUninit};

use crate::switch::Inner;
use crate::value::Value;

/// Words of inline storage: closures up to this size (and pointer alignment) are stored
/// inline, larger ones are boxed.
const INLINE_WORDS: usize = 4;

/// The functions that know the closure's type.
struct VTable {
    /// Moves the closure out of the storage and calls it.
    call: unsafe fn(*mut u8, *const Inner, Value) -> Value,
    /// Drops the closure in place without calling it.
    drop: unsafe fn(*mut u8),
}

/// A type-erased `FnOnce(Value) -> R`, taken once.
///
/// # Invariant
///
/// `vtable` is `Some` exactly while `data` holds a live closure (inline) or a live `Box` of one,
/// of the type the vtable was made for.
pub(crate) struct RunSlot {
    /// How to call and drop what `data` holds; `None` when empty.
    vtable: Cell<Option<&'static VTable>>,
    /// The closure itself, or a `Box` pointer to it.
    data: UnsafeCell<MaybeUninit<[usize; INLINE_WORDS]>>,
}

/// Whether `F` fits the inline storage.
const fn fits<F>() -> bool {
    mem::size_of::<F>() <= mem::size_of::<[usize; INLINE_WORDS]>()
        && mem::align_of::<F>() <= mem::align_of::<usize>()
}

/// Calls an inline closure, moving it out.
///
/// # Safety
///
/// `p` points at a live `F`, which is moved out (the storage is logically empty afterwards).
unsafe fn call_inline<F: FnOnce(*const Inner, Value) -> R, R: 'static>(
    p: *mut u8,
    me: *const Inner,
    v: Value,
) -> Value {
    // SAFETY: by the contract, `p` holds a live `F` that nobody else will read.
    let f = unsafe { p.cast::<F>().read() };
    Value::new(f(me, v))
}

/// Drops an inline closure.
///
/// # Safety
///
/// `p` points at a live `F`.
unsafe fn drop_inline<F>(p: *mut u8) {
    // SAFETY: by the contract.
    unsafe { p.cast::<F>().drop_in_place() }
}

/// Calls a boxed closure, consuming the box.
///
/// # Safety
///
/// `p` holds a `*mut F` from `Box::into_raw`, which is consumed.
unsafe fn call_boxed<F: FnOnce(*const Inner, Value) -> R, R: 'static>(
    p: *mut u8,
    me: *const Inner,
    v: Value,
) -> Value {
    // SAFETY: by the contract, the pointer came from `Box::into_raw` and is used once.
    let f = unsafe { Box::from_raw(p.cast::<*mut F>().read()) };
    Value::new(f(me, v))
}

/// Drops a boxed closure.
///
/// # Safety
///
/// `p` holds a `*mut F` from `Box::into_raw`, which is consumed.
unsafe fn drop_boxed<F>(p: *mut u8) {
    // SAFETY: by the contract.
    drop(unsafe { Box::from_raw(p.cast::<*mut F>().read()) })
}

/// The vtables, one per closure type, promoted to statics.
trait HasVTable {
    /// Inline storage.
    const INLINE: VTable;
    /// Boxed storage.
    const BOXED: VTable;
}

impl<F: FnOnce(*const Inner, Value) -> R, R: 'static> HasVTable for (F, R) {
    const INLINE: VTable = VTable {
        call: call_inline::<F, R>,
        drop: drop_inline::<F>,
    };
    const BOXED: VTable = VTable {
        call: call_boxed::<F, R>,
        drop: drop_boxed::<F>,
    };
}

impl RunSlot {
    /// An empty slot (main, hub).
    pub(crate) const fn empty() -> RunSlot {
        RunSlot {
            vtable: Cell::new(None),
            data: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// A slot holding `f`.
    pub(crate) fn new<F, R>(f: F) -> RunSlot
    where
        F: FnOnce(*const Inner, Value) -> R + 'static,
        R: 'static,
    {
        let slot = RunSlot::empty();
        let p = slot.data.get().cast::<u8>();
        if fits::<F>() {
            // SAFETY: `F` fits the storage in size and alignment (checked above); the slot is
            // fresh, so nothing is overwritten.
            unsafe { p.cast::<F>().write(f) };
            slot.vtable.set(Some(&<(F, R) as HasVTable>::INLINE));
        } else {
            // SAFETY: a pointer fits the (pointer-aligned) storage.
            unsafe { p.cast::<*mut F>().write(Box::into_raw(Box::new(f))) };
            slot.vtable.set(Some(&<(F, R) as HasVTable>::BOXED));
        }
        slot
    }

    /// Takes the function out and runs it with the first switched-in value.
    ///
    /// # Panics
    ///
    /// If the slot is empty.
    pub(crate) fn call(&self, me: *const Inner, v: Value) -> Value {
        let vt = self.vtable.take().expect("a greenlet's run is taken once");
        // SAFETY: `vtable` was `Some`, so `data` holds the closure it was made for; taking the
        // vtable first marks the slot empty, so the closure is moved out exactly once.
        unsafe { (vt.call)(self.data.get().cast(), me, v) }
    }

    /// Drops the function without running it (no-op when empty).
    pub(crate) fn clear(&self) {
        if let Some(vt) = self.vtable.take() {
            // SAFETY: as in `call`.
            unsafe { (vt.drop)(self.data.get().cast()) }
        }
    }
}

impl Drop for RunSlot {
    fn drop(&mut self) {
        self.clear();
    }
}
