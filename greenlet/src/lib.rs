//! Raw greenlets: stackful coroutines with explicit, symmetric switching.
//!
//! A [`Greenlet`] is a function running on its own stack. Any greenlet can
//! [`switch`](Greenlet::switch) to any other of its thread, passing a [`Value`]; the switch
//! returns when something switches back. Each greenlet has a parent, which receives its result
//! (or its panic) when it ends. The thread's native stack is its *main* greenlet. This is
//! Python's `greenlet` with Rust's types: values are any `'static` type, exceptions are panics,
//! and [`GreenletExit`] kills.
//!
//! This crate is the bottom layer of `gevent` (re-exported as `gevent::greenlet`); most programs
//! want the hub and `gevent::spawn` instead, which schedule greenlets for you.
//!
//! # Implementation
//!
//! * Stacks and switching come from `corosensei`. A symmetric switch is built from its
//!   asymmetric resume/suspend by a trampoline on the main stack (see the `switch` module's
//!   design notes), so a switch between two greenlets costs two context switches and a switch
//!   between main and a greenlet one.
//! * A greenlet takes a stack when it first runs (default size [`DEFAULT_STACK_SIZE`], with a
//!   guard page below it). Stacks are carved from large arenas whose guard pages are installed
//!   with `madvise(MADV_GUARD_INSTALL)` (Linux ≥ 6.13), so they cost no kernel mapping and a
//!   million greenlets fit in the default `vm.max_map_count`; on older kernels each stack is
//!   its own mapping with an `mprotect`ed guard ([`StackMode`]; `tracing` says so once).
//! * Finished greenlets' stacks are reused: each thread keeps up to [`LOCAL_CACHE`] free
//!   stacks, and the process keeps free stacks with their memory up to a budget
//!   ([`stack_cache_budget`], default [`DEFAULT_STACK_CACHE_BUDGET`] = 4 GiB of stack, 16,384
//!   stacks of 256 KiB, of which only the touched pages are resident);
//!   beyond it their pages are marked `MADV_FREE` (the kernel takes them when it needs
//!   memory), and past 4 times it arenas whose stacks are all free are unmapped. A reused
//!   stack costs nanoseconds, a fresh one about a microsecond.
//! * Running out of stacks (address space, memory, or in the fallback `vm.max_map_count`) is
//!   a [`StackError`], never a crash: the switch that tried to start the greenlet fails (as in
//!   Python's greenlet), or, for a greenlet built with [`Builder::build_fallible`] (what the
//!   hub uses), the greenlet fails itself.
//! * The first greenlet stack mapped in the process installs a SIGSEGV/SIGBUS handler on an
//!   alternate signal stack: a greenlet that overflows its stack hits its guard page and the
//!   process aborts with `greenlet '<name or #id>' has overflowed its stack (<size> bytes)` on
//!   stderr, instead of a bare segmentation fault. Other faults go to the previous handler.
//! * Every system call is made through `rustix` or directly (never through libc's wrappers),
//!   so a library that interposes libc's symbols never sees the runtime's own calls.
//! * Linux only, on x86-64 and AArch64.
//! * Killing unwinds the target's stack, so this crate requires `panic = "unwind"` (it does not
//!   build with `panic = "abort"`).
//! * A [`Scheduler`] installed with [`install_scheduler`] becomes the thread's hub: switching to
//!   the hub greenlet asks it what runs next, on the main stack, with no extra switch.
//!
//! # Examples
//!
//! A greenlet suspended and resumed later, with values both ways:
//!
//! ```
//! use greenlet::{getcurrent, Greenlet, Value};
//!
//! let counter = Greenlet::new(|start: Value| {
//!     let mut n = start.take::<u32>();
//!     loop {
//!         let step = getcurrent().parent().unwrap().switch(n).take::<u32>();
//!         n += step;
//!     }
//! });
//! assert_eq!(counter.switch(10u32).take::<u32>(), 10);
//! assert_eq!(counter.switch(5u32).take::<u32>(), 15);
//! assert_eq!(counter.switch(1u32).take::<u32>(), 16);
//! drop(counter); // suspended and unreferenced: killed with GreenletExit, stack reused
//! ```

#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(not(target_os = "linux"))]
compile_error!(
    "the greenlet crate (and gevent for Rust on it) supports Linux only: its stacks rely on \
     Linux's mmap/madvise, and its system calls are made directly"
);

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!(
    "the greenlet crate supports x86-64 and AArch64: its stack-overflow handler makes system \
     calls directly"
);

#[cfg(panic = "abort")]
compile_error!(
    "the greenlet crate needs `panic = \"unwind\"`: killing a greenlet unwinds its stack. \
     Remove `panic = \"abort\"` from your Cargo profile."
);

mod greenlet;
mod name;
mod overflow;
mod rec;
mod registry;
mod run;
mod stack;
mod switch;
mod sys;
mod value;

pub use crate::greenlet::{Builder, Current, Greenlet, LocalKey, ParentError, WaitState};
pub use crate::rec::Payload;
pub use crate::stack::{
    default_stack_size, set_default_stack_size, set_stack_cache_budget, stack_cache_budget,
    stack_mode, stack_stats, StackError, StackMode, StackStats, DEFAULT_STACK_CACHE_BUDGET,
    DEFAULT_STACK_SIZE, LOCAL_CACHE, NO_ARENAS_ENV,
};
pub use crate::switch::{Message, Panic, Scheduler};
pub use crate::value::{GreenletExit, Value};

use std::rc::Rc;

/// The running greenlet: the thread's main greenlet on its native stack, the hub inside a
/// scheduler, or the greenlet whose code is running.
///
/// The [`Current`] handle derefs to [`Greenlet`] but does not by itself keep the greenlet alive
/// (see [`Greenlet`]'s notes on dropping); [`Current::to_greenlet`] gives one that does.
///
/// # Examples
///
/// ```
/// use greenlet::{getcurrent, Greenlet, Value};
/// let main = getcurrent().to_greenlet();
/// assert!(main.is_main());
/// let g = Greenlet::new(move |_: Value| getcurrent().parent() == Some(main));
/// assert!(g.switch(()).take::<bool>());
/// ```
///
/// # Switches
///
/// Never.
#[inline]
pub fn getcurrent() -> Current {
    switch::current()
}

/// This thread's main greenlet (its native stack).
///
/// # Examples
///
/// ```
/// assert!(greenlet::main().is_main());
/// ```
///
/// # Switches
///
/// Never.
pub fn main() -> Greenlet {
    switch::main_greenlet()
}

/// Installs `scheduler` as this thread's hub and returns the hub greenlet.
///
/// Switching to the returned greenlet (from any greenlet of the thread) calls
/// [`Scheduler::schedule`] on the main stack, which answers what runs next. Greenlets whose
/// parent is the hub send it their results and panics when they end. The hub's parent is the
/// main greenlet; it never dies.
///
/// # Panics
///
/// If this thread already has a scheduler: one hub per thread.
///
/// # Examples
///
/// See [`Scheduler`].
///
/// # Switches
///
/// Never.
pub fn install_scheduler(scheduler: Rc<dyn Scheduler>) -> Greenlet {
    switch::install_scheduler(scheduler)
}

/// This thread's hub greenlet, if a scheduler is installed.
///
/// # Examples
///
/// ```
/// std::thread::spawn(|| assert!(greenlet::hub().is_none())).join().unwrap();
/// ```
///
/// # Switches
///
/// Never.
pub fn hub() -> Option<Greenlet> {
    switch::hub()
}

/// Every greenlet of this thread that is suspended, or running after having been suspended
/// before, and has not finished, as counted handles; the main greenlet and the hub are not
/// included. (A greenlet enters this list the first time it switches out, which keeps
/// greenlets that run to their end in one go free of any bookkeeping; seen from the main
/// greenlet, it is every greenlet that has started and not finished.) This is how a thread
/// that exits finds the greenlets it leaves suspended, to kill them (the hub does it).
///
/// # Examples
///
/// ```
/// use greenlet::{getcurrent, Greenlet, Value};
/// let main = getcurrent().to_greenlet();
/// let g = Greenlet::new(move |_: Value| { main.switch(()); });
/// assert!(greenlet::alive().is_empty());
/// g.switch(()); // it starts, and switches back: suspended
/// assert_eq!(greenlet::alive(), [g.clone()]);
/// assert_eq!(greenlet::alive_count(), 1);
/// g.switch(()); // it finishes
/// assert!(greenlet::alive().is_empty());
/// ```
///
/// # Switches
///
/// Never.
pub fn alive() -> Vec<Greenlet> {
    registry::alive()
}

/// How many greenlets [`alive`] would return.
///
/// # Examples
///
/// ```
/// assert_eq!(greenlet::alive_count(), 0);
/// ```
///
/// # Switches
///
/// Never.
pub fn alive_count() -> usize {
    registry::count()
}

/// Creates this thread's greenlet state now rather than on first use: its main greenlet, its
/// stack pool and the alternate signal stack of the stack-overflow handler.
///
/// Thread-local destructors run in the reverse order of the thread-locals' first use (glibc's
/// `__cxa_thread_atexit_impl`, which Rust's `thread_local!` uses). A thread-local first used
/// after this call is therefore destroyed before the greenlet crate's own state, so its
/// destructor can still switch into greenlets: the hub calls this when it is created, and
/// its teardown at thread exit kills the greenlets left suspended from such a destructor.
///
/// # Examples
///
/// ```
/// greenlet::init_thread();
/// assert!(greenlet::getcurrent().is_main());
/// ```
///
/// # Switches
///
/// Never.
pub fn init_thread() {
    let _ = switch::main_greenlet();
    stack::init_thread();
    overflow::install();
}
