//! The thread's registry of active greenlets (started and not finished), so that a thread
//! that exits can find and kill the greenlets it leaves suspended ([`alive`](crate::alive)).
//!
//! A greenlet enters it the first time it suspends (when a resume of it returns without it
//! having finished), not when it starts: one that runs to its end without switching out (a
//! short spawned task) never touches the registry, and a running greenlet is the current one,
//! which the registry does not need to find.
//!
//! A vector of pointers to the records, each record knowing its index: adding is a push,
//! removing a `swap_remove` that updates the index of the record moved into the hole, both
//! O(1) with no allocation in the steady state. The vector lives in a thread-local without a
//! destructor, so that it stays usable from any thread-local destructor (the hub's teardown
//! runs in one); its buffer is freed when the thread's greenlet context is destroyed.

use std::cell::RefCell;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

use crate::greenlet::Greenlet;
use crate::switch::Inner;

thread_local! {
    /// The active normal greenlets of this thread.
    ///
    /// # Invariant
    ///
    /// Every pointer refers to a live record (made by `Rec::new`) in state `Active`
    /// whose `active_index` is its position here (a record not here has `usize::MAX`): a
    /// record leaves the registry when it finishes (`switch::finish`) or, still active, when
    /// it is dropped (`Inner::drop`).
    static ACTIVE: ManuallyDrop<RefCell<Vec<NonNull<Inner>>>> =
        const { ManuallyDrop::new(RefCell::new(Vec::new())) };
}

/// Adds an active greenlet that has just suspended for the first time.
#[inline]
pub(crate) fn add(inner: &Inner) {
    let _ = ACTIVE.try_with(|a| {
        let mut a = a.borrow_mut();
        inner.active_index.set(a.len());
        a.push(NonNull::from(inner));
    });
}

/// Removes a greenlet that finished (or is dropped while active). A no-op for a greenlet
/// that is not there.
#[inline]
pub(crate) fn remove(inner: &Inner) {
    let i = inner.active_index.replace(usize::MAX);
    if i == usize::MAX {
        return;
    }
    let _ = ACTIVE.try_with(|a| {
        let mut a = a.borrow_mut();
        if a.get(i).copied() != Some(NonNull::from(inner)) {
            return;
        }
        a.swap_remove(i);
        if let Some(moved) = a.get(i) {
            // SAFETY: registered pointers refer to live records (the invariant of `ACTIVE`).
            unsafe { moved.as_ref() }.active_index.set(i);
        }
    });
}

/// Frees the registry's buffer (when the thread's greenlet context is destroyed). Greenlets
/// still active then are leaked with their stacks; they are forgotten here.
pub(crate) fn release() {
    let _ = ACTIVE.try_with(|a| drop(std::mem::take(&mut *a.borrow_mut())));
}

/// Counted handles to every active greenlet of this thread.
pub(crate) fn alive() -> Vec<Greenlet> {
    ACTIVE
        .try_with(|a| {
            a.borrow()
                .iter()
                .map(|p| {
                    // SAFETY: registered pointers refer to live records (the invariant of
                    // `ACTIVE`), all made by `Rec::new`.
                    let rc = unsafe { crate::rec::Rec::clone_from_ptr(*p) };
                    Greenlet::from_inner(rc)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// How many greenlets of this thread are active.
pub(crate) fn count() -> usize {
    ACTIVE.try_with(|a| a.borrow().len()).unwrap_or(0)
}
