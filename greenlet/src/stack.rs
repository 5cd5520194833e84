//! Stacks: a per-thread pool of guarded stacks, the out-of-stacks error, and the handler that
//! turns a greenlet's stack overflow into a clear message instead of a bare SIGSEGV.
//!
//! A stack is corosensei's [`DefaultStack`]: one `mmap` with a `PROT_NONE` guard page at its low
//! end (two kernel mappings). Finished greenlets give their stack back to the pool of their
//! thread; a greenlet takes one when it first runs, not when it is created.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;

use corosensei::stack::{DefaultStack, Stack};

/// The stack size a greenlet gets unless its builder says otherwise: 256 KiB of address space,
/// of which only the pages it touches become resident.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// How many finished stacks a thread keeps for reuse, unless changed with
/// [`set_max_pooled_stacks`].
pub const DEFAULT_MAX_POOLED_STACKS: usize = 16 * 1024;

thread_local! {
    /// This thread's pool of stacks, by size.
    static POOL: RefCell<Pool> = RefCell::new(Pool::new());
    /// The stack size new greenlets of this thread get by default.
    static DEFAULT_SIZE: Cell<usize> = const { Cell::new(DEFAULT_STACK_SIZE) };
}

/// Reused stacks of one thread.
struct Pool {
    /// Stacks of the default size, most recently used last (warm in cache).
    default: Vec<GStack>,
    /// Stacks of other sizes, keyed by requested size.
    sized: Vec<(usize, Vec<GStack>)>,
    /// The most stacks kept in all.
    max: usize,
    /// How many stacks `default` and `sized` hold together.
    held: usize,
}

impl Pool {
    fn new() -> Pool {
        Pool {
            default: Vec::new(),
            sized: Vec::new(),
            max: DEFAULT_MAX_POOLED_STACKS,
            held: 0,
        }
    }

    fn list(&mut self, size: usize) -> &mut Vec<GStack> {
        if size == DEFAULT_STACK_SIZE {
            return &mut self.default;
        }
        let i = match self.sized.iter().position(|(s, _)| *s == size) {
            Some(i) => i,
            None => {
                self.sized.push((size, Vec::new()));
                self.sized.len() - 1
            }
        };
        &mut self.sized[i].1
    }
}

/// Sets the stack size that greenlets created afterwards on this thread get by default
/// (rounded up to whole pages, plus one guard page). A builder's
/// [`stack_size`](crate::Builder::stack_size) overrides it.
///
/// # Examples
///
/// ```
/// greenlet::set_default_stack_size(128 * 1024);
/// assert_eq!(greenlet::default_stack_size(), 128 * 1024);
/// # greenlet::set_default_stack_size(greenlet::DEFAULT_STACK_SIZE);
/// ```
///
/// # Panics
///
/// If `size` is below 16 KiB: too small for Rust code to do anything useful.
///
/// # Switches
///
/// Never.
pub fn set_default_stack_size(size: usize) {
    assert!(
        size >= 16 * 1024,
        "greenlet stack size {size} is below 16 KiB"
    );
    DEFAULT_SIZE.with(|d| d.set(size));
}

/// The stack size new greenlets of this thread get by default.
///
/// # Examples
///
/// ```
/// assert!(greenlet::default_stack_size() >= 16 * 1024);
/// ```
///
/// # Switches
///
/// Never.
pub fn default_stack_size() -> usize {
    DEFAULT_SIZE.with(|d| d.get())
}

/// Sets how many finished stacks this thread keeps for reuse (default
/// [`DEFAULT_MAX_POOLED_STACKS`]); stacks beyond it are unmapped at once. Lowering it frees
/// stacks now.
///
/// # Examples
///
/// ```
/// greenlet::set_max_pooled_stacks(64);
/// # greenlet::set_max_pooled_stacks(greenlet::DEFAULT_MAX_POOLED_STACKS);
/// ```
///
/// # Switches
///
/// Never.
pub fn set_max_pooled_stacks(max: usize) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        p.max = max;
        while p.held > max {
            let popped =
                p.default.pop().is_some() || p.sized.iter_mut().any(|(_, v)| v.pop().is_some());
            if !popped {
                break;
            }
            p.held -= 1;
        }
    });
}

/// Creates this thread's stack pool now (see [`init_thread`](crate::init_thread)).
pub(crate) fn init_thread() {
    let _ = POOL.try_with(|_| ());
}

/// Takes a stack of `size` bytes from this thread's pool, or maps a new one.
pub(crate) fn acquire(size: usize) -> Result<GStack, StackError> {
    let pooled = POOL
        .try_with(|p| {
            let mut p = p.borrow_mut();
            let s = p.list(size).pop();
            if s.is_some() {
                p.held -= 1;
            }
            s
        })
        .ok()
        .flatten();
    if let Some(s) = pooled {
        return Ok(s);
    }
    crate::overflow::install();
    // No "colouring" of stack tops: staggering them to avoid 4K aliasing was measured to make
    // no difference to switch times here, while it makes a parked greenlet's few frames
    // straddle two pages more often (more resident memory per greenlet).
    DefaultStack::new(size).map_err(|source| StackError { size, source })
}

/// A greenlet stack: corosensei's guarded `mmap` stack.
pub(crate) type GStack = DefaultStack;

/// Gives a stack back to this thread's pool (or unmaps it if the pool is full).
pub(crate) fn release(size: usize, stack: GStack) {
    let _ = POOL.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.held < p.max {
            p.held += 1;
            p.list(size).push(stack);
        }
    });
}

/// The lowest usable address of `stack`: its guard page lies just below.
pub(crate) fn limit(stack: &GStack) -> usize {
    // corosensei's `limit` is the start of the mapping, which is the guard page itself.
    stack.limit().get() + crate::overflow::page_size()
}

/// A greenlet could not get a stack: the kernel refused the mapping.
///
/// Usually the process has run into `vm.max_map_count` (each guarded stack is two kernel
/// mappings, and the default limit of 65530 allows about 32,000 stacks), or out of address
/// space. [`Greenlet::try_switch`](crate::Greenlet::try_switch) returns it;
/// [`Greenlet::switch`](crate::Greenlet::switch) panics with it as the payload, which the caller
/// can catch. The greenlet stays unstarted and can be switched to again later.
///
/// # Examples
///
/// ```
/// use greenlet::StackError;
/// let e = StackError::from_io(262_144, std::io::Error::from_raw_os_error(12));
/// assert!(e.to_string().contains("vm.max_map_count"));
/// ```
#[derive(Debug)]
pub struct StackError {
    /// The stack size that was asked for.
    size: usize,
    /// What `mmap`/`mprotect` said.
    source: io::Error,
}

impl StackError {
    /// Builds the error for a failed mapping of a `size`-byte stack.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = greenlet::StackError::from_io(4096, std::io::Error::from_raw_os_error(12));
    /// assert_eq!(e.size(), 4096);
    /// ```
    pub fn from_io(size: usize, source: io::Error) -> StackError {
        StackError { size, source }
    }

    /// The stack size that was asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = greenlet::StackError::from_io(8192, std::io::Error::from_raw_os_error(12));
    /// assert_eq!(e.size(), 8192);
    /// ```
    pub fn size(&self) -> usize {
        self.size
    }

    /// The operating system's error.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = greenlet::StackError::from_io(8192, std::io::Error::from_raw_os_error(12));
    /// assert_eq!(e.io_error().raw_os_error(), Some(12));
    /// ```
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot map a {} byte greenlet stack ({}); usually the process has reached \
             vm.max_map_count (each greenlet stack is two kernel mappings: about 32,000 stacks \
             with the default 65530): raise it with `sysctl -w vm.max_map_count=1048576` (as \
             root), or keep fewer greenlets alive at once; otherwise the address space or \
             memory is exhausted",
            self.size, self.source
        )
    }
}

impl std::error::Error for StackError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
