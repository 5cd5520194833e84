//! Stacks: carved from large arenas with guard pages that cost no kernel mapping, reused
//! through a per-thread cache and a process-wide pool whose memory goes back to the kernel past
//! a budget, and the out-of-stacks error.
//!
//! # Layout
//!
//! A stack is a *slot*: one guard page at its low end, then the usable bytes. Slots of one
//! size are carved, on demand, from **arenas**: one `mmap` of address space
//! (`MAP_NORESERVE`: nothing is committed until touched) holding many slots, the first of 64
//! slots and each next one twice as large, up to 65,536 slots. Each slot's guard page is made a
//! guard with `madvise(MADV_GUARD_INSTALL)` (Linux ≥ 6.13) when the slot is first carved: the
//! kernel marks the page in its page table, the arena stays one mapping, and a million stacks
//! need a few dozen mappings (`vm.max_map_count` no longer matters).
//!
//! On a kernel without `MADV_GUARD_INSTALL` (`EINVAL`), or when the environment variable
//! [`NO_ARENAS_ENV`] is set, each stack is its own mapping with an `mprotect`ed guard page (two
//! kernel mappings per stack, so `vm.max_map_count`, 65530 by default, allows about 32,000 live
//! greenlets); the switch is said once through `tracing`.
//!
//! # Reuse and the budget
//!
//! A finished greenlet's stack goes back to its thread's cache (at most [`LOCAL_CACHE`]
//! stacks), and from there in batches to the process-wide pool. Free stacks keep their pages
//! (reused at once, no page faults) up to a process-wide budget ([`stack_cache_budget`],
//! default [`DEFAULT_STACK_CACHE_BUDGET`] bytes of stack, counted by stack size: 16,384 stacks
//! of 256 KiB, of which only the pages their greenlets touched are resident, typically one to
//! three pages each, so 64 to 192 MiB). Past it, the
//! oldest free stacks are marked `MADV_FREE`: the kernel takes their pages whenever it needs
//! memory (they leave the RSS then), and a stack reused before that finds its pages in place,
//! with no page fault, so a steady churn of thousands of greenlets costs nothing. Free stacks
//! may keep at most 4 times the budget of address space reserved (16 GiB by default: 65,536
//! stacks of 256 KiB, whose page tables and guard markers take about 34 MB); past that,
//! arenas whose stacks are all free are unmapped whole (pages, page tables, guards and address
//! space). So a burst of a million greenlets does not pin its memory once it is over. With
//! one mapping per stack, free stacks past the budget are unmapped at once.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::c_void;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use corosensei::stack::{Stack, StackPointer};
use rustix::mm::{self, Advice, MapFlags, MprotectFlags, ProtFlags};

use crate::sys;

/// The stack size a greenlet gets unless its builder says otherwise: 256 KiB of address space,
/// of which only the pages it touches become resident.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// How many bytes of free stacks (counted by their size) the process keeps with their memory
/// for reuse, unless changed with [`set_stack_cache_budget`]: 4 GiB, 16,384 stacks of the
/// default size (as many as one thread's pool kept before, but for the whole process), of
/// which only the pages their greenlets touched are resident: typically one to three pages
/// each. Free stacks beyond it are marked `MADV_FREE` (the kernel takes their pages when it
/// needs memory), and whole arenas are unmapped past 4 times it (see
/// [`set_stack_cache_budget`]).
pub const DEFAULT_STACK_CACHE_BUDGET: usize = 4 << 30;

/// How many free stacks each thread keeps in its own cache (outside the process-wide budget),
/// so that spawning and finishing greenlets takes no lock.
pub const LOCAL_CACHE: usize = 32;

/// The environment variable that, set to anything but `0` or empty when the first stack is
/// made, makes every stack its own mapping (the fallback for kernels before Linux 6.13),
/// even where `MADV_GUARD_INSTALL` works.
pub const NO_ARENAS_ENV: &str = "GEVENT_NO_STACK_ARENAS";

/// How many stacks move between a thread's cache and the process-wide pool at once.
const BATCH: usize = LOCAL_CACHE / 2;
/// Slots in a size class's first arena.
const FIRST_ARENA_SLOTS: usize = 64;
/// The most slots in one arena (16 GiB of address space with the default stack size).
const MAX_ARENA_SLOTS: usize = 1 << 16;
/// In arenas, free stacks may reserve this many times the budget of address space (see
/// `reserve`).
const RESERVE_FACTOR: usize = 4;

/// How greenlet stacks are mapped in this process.
///
/// # Examples
///
/// ```
/// use greenlet::StackMode;
/// let mode = greenlet::stack_mode();
/// assert!(mode == StackMode::Arenas || mode == StackMode::Mappings);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackMode {
    /// Stacks are carved from large arenas; guard pages are installed with
    /// `madvise(MADV_GUARD_INSTALL)` and cost no kernel mapping.
    Arenas,
    /// Each stack is its own mapping with an `mprotect`ed guard page: two kernel mappings per
    /// stack (kernels before Linux 6.13, or [`NO_ARENAS_ENV`] set).
    Mappings,
}

/// How stacks are mapped in this process, decided when the first stack is made (this call
/// decides it if none was made yet).
///
/// # Examples
///
/// ```
/// println!("greenlet stacks: {:?}", greenlet::stack_mode());
/// ```
///
/// # Switches
///
/// Never.
pub fn stack_mode() -> StackMode {
    *MODE.get_or_init(decide_mode)
}

/// The mode, once decided.
static MODE: OnceLock<StackMode> = OnceLock::new();

/// Probes the kernel for `MADV_GUARD_INSTALL` unless the environment forbids arenas, and says
/// through `tracing` when stacks fall back to one mapping each.
fn decide_mode() -> StackMode {
    let forced = std::env::var_os(NO_ARENAS_ENV).is_some_and(|v| !v.is_empty() && v != "0");
    if forced {
        tracing::info!(
            "{NO_ARENAS_ENV} is set: each greenlet stack is its own mapping with an mprotect'ed \
             guard page (two kernel mappings per stack; vm.max_map_count caps live greenlets)"
        );
        return StackMode::Mappings;
    }
    let page = page_size();
    // SAFETY: a fresh private anonymous mapping of two pages, used only here and unmapped
    // before returning.
    let probe = unsafe {
        mm::mmap_anonymous(
            std::ptr::null_mut(),
            2 * page,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE | MapFlags::NORESERVE,
        )
    };
    let Ok(probe) = probe else {
        // Cannot even probe (out of memory): arenas are what we would want; the first real
        // arena will report the failure.
        return StackMode::Arenas;
    };
    // SAFETY: the probe mapping is ours.
    let r = unsafe { sys::madvise(probe, page, sys::MADV_GUARD_INSTALL) };
    // SAFETY: unmapping the probe, which nothing else refers to.
    let _ = unsafe { mm::munmap(probe, 2 * page) };
    match r {
        Ok(()) => StackMode::Arenas,
        Err(e) => {
            tracing::warn!(
                errno = e.0,
                "this kernel has no madvise(MADV_GUARD_INSTALL) (Linux >= 6.13): each greenlet \
                 stack is its own mapping with an mprotect'ed guard page, two kernel mappings \
                 per stack, so vm.max_map_count (65530 by default) caps live greenlets at about \
                 32,000"
            );
            StackMode::Mappings
        }
    }
}

/// The page size, read once.
pub(crate) fn page_size() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    match PAGE.load(Ordering::Relaxed) {
        0 => {
            let p = rustix::param::page_size();
            PAGE.store(p, Ordering::Relaxed);
            p
        }
        p => p,
    }
}

/// A greenlet stack: one slot (guard page, then the usable bytes) of an arena.
///
/// It is plain addresses: giving it back ([`release`]) is what frees it; one that is dropped
/// instead (a suspended greenlet leaked at thread exit) stays reserved.
#[derive(Debug)]
pub(crate) struct GStack {
    /// The lowest address of the slot: its guard page.
    bottom: usize,
    /// One past the highest usable address: where the stack starts, growing down. (Never
    /// zero, which also lets `Option<GStack>` and results of it move as plain words.)
    top: StackPointer,
}

// SAFETY: `base` and `limit` describe a slot with a guard page at its low end and at least 16
// KiB of usable, writable memory above it, which belongs to this `GStack` alone until it is
// given back; both are page-aligned, so aligned to `STACK_ALIGNMENT`.
unsafe impl Stack for GStack {
    #[inline]
    fn base(&self) -> StackPointer {
        self.top
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        // SAFETY: a mapped slot's address is never zero.
        unsafe { StackPointer::new_unchecked(self.bottom) }
    }
}

/// The lowest usable address of `stack`: its guard page lies just below.
pub(crate) fn limit(stack: &GStack) -> usize {
    stack.bottom + page_size()
}

thread_local! {
    /// This thread's cache of free stacks, by usable size.
    static LOCAL: RefCell<Local> = const {
        RefCell::new(Local { lists: Vec::new(), held: 0 })
    };
    /// The stack size new greenlets of this thread get by default.
    static DEFAULT_SIZE: std::cell::Cell<usize> = const { std::cell::Cell::new(DEFAULT_STACK_SIZE) };
}

/// One thread's free stacks.
struct Local {
    /// Free stacks by usable size, the most recently freed last (warm in cache).
    lists: Vec<(usize, Vec<GStack>)>,
    /// How many stacks `lists` holds in all.
    held: usize,
}

impl Local {
    /// The list for stacks of `usable` bytes.
    #[inline]
    fn list(&mut self, usable: usize) -> &mut Vec<GStack> {
        if self.lists.first().is_some_and(|(s, _)| *s == usable) {
            return &mut self.lists[0].1;
        }
        self.list_slow(usable)
    }

    /// `list`, for a size other than the first one used.
    #[cold]
    fn list_slow(&mut self, usable: usize) -> &mut Vec<GStack> {
        let i = match self.lists.iter().position(|(s, _)| *s == usable) {
            Some(i) => i,
            None => {
                self.lists.push((usable, Vec::new()));
                self.lists.len() - 1
            }
        };
        &mut self.lists[i].1
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // The thread is exiting: its free stacks go to the process-wide pool.
        let mut pool = pool();
        for (_, list) in self.lists.drain(..) {
            pool.put(list);
        }
    }
}

/// Creates this thread's stack cache now (see [`init_thread`](crate::init_thread)), so that it
/// outlives the hub's teardown at thread exit.
pub(crate) fn init_thread() {
    let _ = LOCAL.try_with(|_| ());
}

/// The usable size of a stack asked to be `size` bytes: whole pages.
#[inline]
fn usable_size(size: usize) -> usize {
    let mask = page_size() - 1; // the page size is a power of two
    (size + mask) & !mask
}

/// Takes a stack of `size` bytes from this thread's cache, if it has one (the fast path;
/// [`acquire_slow`] is the rest).
#[inline]
pub(crate) fn acquire_cached(size: usize) -> Option<GStack> {
    let usable = usable_size(size);
    LOCAL
        .try_with(|l| {
            let mut l = l.try_borrow_mut().ok()?;
            let s = l.list(usable).pop();
            if s.is_some() {
                l.held -= 1;
            }
            s
        })
        .ok()
        .flatten()
}

/// Takes a stack of `size` bytes when this thread's cache has none: refills the cache from
/// the process-wide pool, or carves a new slot.
#[cold]
#[inline(never)]
pub(crate) fn acquire_slow(size: usize) -> Result<GStack, StackError> {
    let usable = usable_size(size);
    crate::overflow::install();
    // Decided (and said through `tracing`) before the pool is locked.
    stack_mode();
    let mut got = pool()
        .take(usable, BATCH)
        .map_err(|source| StackError::new(size, source))?;
    let first = got
        .pop()
        .expect("take returns at least one stack or an error");
    if !got.is_empty() {
        let rest = LOCAL.try_with(|l| {
            let mut l = l.borrow_mut();
            l.held += got.len();
            l.list(usable).append(&mut got);
        });
        if rest.is_err() {
            // The thread is exiting: keep them in the pool.
            pool().put(got);
        }
    }
    Ok(first)
}

/// Gives a stack back: to this thread's cache, whose oldest stacks go to the pool when it is
/// full.
#[inline]
pub(crate) fn release(stack: GStack) {
    let usable = stack.top.get() - stack.bottom - page_size();
    let mut stack = Some(stack);
    let spill = LOCAL.try_with(|l| {
        let mut l = l.try_borrow_mut().ok()?;
        let list = l.list(usable);
        list.extend(stack.take());
        l.held += 1;
        if l.held <= LOCAL_CACHE {
            return None;
        }
        let list = l.list(usable);
        let n = BATCH.min(list.len());
        let out: Vec<GStack> = list.drain(..n).collect();
        l.held -= out.len();
        Some(out)
    });
    if let Ok(Some(out)) = spill {
        pool().put(out);
    }
    if let Some(s) = stack {
        // The thread's cache is gone (thread exit) or busy: straight to the pool.
        pool().put(vec![s]);
    }
}

/// The process-wide pool.
fn pool() -> MutexGuard<'static, Pool> {
    static POOL: Mutex<Pool> = Mutex::new(Pool::new());
    // A panic while the pool is locked leaves it consistent (every change is completed before
    // anything that can panic), so a poisoned lock is taken over.
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The process-wide budget, in bytes of free stacks that keep their memory.
static BUDGET: AtomicUsize = AtomicUsize::new(DEFAULT_STACK_CACHE_BUDGET);

/// Sets how many bytes of free stacks (counted by their size, process-wide, beyond the
/// [`LOCAL_CACHE`] stacks each thread keeps) keep their memory for reuse; default
/// [`DEFAULT_STACK_CACHE_BUDGET`]. Free stacks beyond it are marked `MADV_FREE` (the kernel
/// takes their pages when it needs memory); with stacks in arenas, free stacks may reserve at
/// most 4 times the budget of address space, past which arenas whose stacks are all free are
/// unmapped (with one mapping per stack: past the budget itself). Lowering it gives memory back
/// now; with 0, every free stack outside the threads' caches gives its memory back, and every
/// arena whose stacks are all free is unmapped.
///
/// # Examples
///
/// ```
/// greenlet::set_stack_cache_budget(16 << 20);
/// assert_eq!(greenlet::stack_cache_budget(), 16 << 20);
/// # greenlet::set_stack_cache_budget(greenlet::DEFAULT_STACK_CACHE_BUDGET);
/// ```
///
/// # Switches
///
/// Never.
pub fn set_stack_cache_budget(bytes: usize) {
    BUDGET.store(bytes, Ordering::Relaxed);
    pool().trim();
}

/// The process-wide budget of free stack bytes that keep their memory (see
/// [`set_stack_cache_budget`]).
///
/// # Examples
///
/// ```
/// assert!(greenlet::stack_cache_budget() > 0);
/// ```
///
/// # Switches
///
/// Never.
pub fn stack_cache_budget() -> usize {
    BUDGET.load(Ordering::Relaxed)
}

/// What the process-wide stack pool holds, from [`stack_stats`].
///
/// # Examples
///
/// ```
/// let s = greenlet::stack_stats();
/// assert!(s.warm_bytes <= greenlet::stack_cache_budget());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StackStats {
    /// Kernel mappings holding stacks: arenas, or (in [`StackMode::Mappings`]) one per stack
    /// (each of which the kernel counts twice, for its guard page).
    pub mappings: usize,
    /// Address space reserved for stacks, in bytes.
    pub reserved_bytes: usize,
    /// Stacks handed out and not yet back in the pool (running or suspended greenlets, and the
    /// threads' caches).
    pub in_use: usize,
    /// Free stacks in the pool that keep their memory.
    pub warm: usize,
    /// Bytes of `warm` stacks, counted by stack size (at most the budget).
    pub warm_bytes: usize,
    /// Free stacks in the pool past the budget, whose pages the kernel may take
    /// (`MADV_FREE`).
    pub cold: usize,
}

/// A snapshot of the process-wide stack pool.
///
/// # Examples
///
/// ```
/// let g = greenlet::Greenlet::new(|_: greenlet::Value| ());
/// g.switch(());
/// assert!(greenlet::stack_stats().reserved_bytes > 0);
/// ```
///
/// # Switches
///
/// Never.
pub fn stack_stats() -> StackStats {
    let p = pool();
    let mut s = StackStats {
        warm_bytes: p.warm_bytes,
        ..StackStats::default()
    };
    for a in p.arenas.iter().flatten() {
        s.mappings += 1;
        s.reserved_bytes += a.len;
        s.in_use += a.carved - a.free;
    }
    for c in &p.classes {
        s.warm += c.warm.len();
        s.cold += c.cold.len();
    }
    s
}

/// Free stacks of one usable size.
struct Class {
    /// Usable bytes per stack.
    usable: usize,
    /// Free stacks that keep their memory, the oldest first.
    warm: Vec<GStack>,
    /// Free stacks whose memory went back to the kernel.
    cold: Vec<GStack>,
    /// The arena new slots are carved from, if it has room left.
    carving: Option<usize>,
    /// Slots in the next arena.
    next_slots: usize,
}

/// One mapping holding slots of one class.
struct Arena {
    /// Its address.
    base: usize,
    /// Its length in bytes.
    len: usize,
    /// The slot size (guard page included).
    slot: usize,
    /// How many slots it has room for.
    slots: usize,
    /// How many slots have been carved (handed out at least once).
    carved: usize,
    /// How many carved slots are free in the pool (warm or cold).
    free: usize,
    /// How many of the `free` ones are warm.
    warm: usize,
    /// Its class (an index into `Pool::classes`).
    class: usize,
}

/// The process-wide pool.
struct Pool {
    /// Free stacks by size.
    classes: Vec<Class>,
    /// Every mapping, by id (`None`: unmapped; the id is reused).
    arenas: Vec<Option<Arena>>,
    /// Mapped arenas by address, for finding a stack's arena.
    by_base: BTreeMap<usize, usize>,
    /// Ids of unmapped arenas, for reuse.
    free_ids: Vec<usize>,
    /// Bytes of warm free stacks.
    warm_bytes: usize,
    /// Bytes of cold free stacks (their pages given back or marked `MADV_FREE`).
    cold_bytes: usize,
}

impl Pool {
    const fn new() -> Pool {
        Pool {
            classes: Vec::new(),
            arenas: Vec::new(),
            by_base: BTreeMap::new(),
            free_ids: Vec::new(),
            warm_bytes: 0,
            cold_bytes: 0,
        }
    }

    /// The class of `usable`-byte stacks.
    fn class(&mut self, usable: usize) -> usize {
        match self.classes.iter().position(|c| c.usable == usable) {
            Some(i) => i,
            None => {
                self.classes.push(Class {
                    usable,
                    warm: Vec::new(),
                    cold: Vec::new(),
                    carving: None,
                    next_slots: FIRST_ARENA_SLOTS,
                });
                self.classes.len() - 1
            }
        }
    }

    /// Up to `want` free stacks of `usable` bytes (warm ones first), or one new slot if there
    /// are none.
    fn take(&mut self, usable: usize, want: usize) -> io::Result<Vec<GStack>> {
        let c = self.class(usable);
        let slot = usable + page_size();
        let mut out = Vec::with_capacity(want);
        while out.len() < want {
            let Some(s) = self.classes[c].warm.pop() else {
                break;
            };
            let a = self.arena_of_mut(s.bottom);
            a.free -= 1;
            a.warm -= 1;
            self.warm_bytes -= slot;
            out.push(s);
        }
        while out.len() < want {
            let Some(s) = self.classes[c].cold.pop() else {
                break;
            };
            self.arena_of_mut(s.bottom).free -= 1;
            self.cold_bytes -= slot;
            out.push(s);
        }
        if out.is_empty() {
            out.push(self.carve(c, slot)?);
        }
        Ok(out)
    }

    /// The arena with id `id`, which is mapped.
    fn arena_mut(&mut self, id: usize) -> &mut Arena {
        self.arenas[id]
            .as_mut()
            .expect("a stack's arena is mapped while the stack exists")
    }

    /// The id of the mapped arena holding address `addr`, if any.
    fn arena_of(&self, addr: usize) -> Option<usize> {
        let (_, &id) = self.by_base.range(..=addr).next_back()?;
        let a = self.arenas[id].as_ref()?;
        (addr < a.base + a.len).then_some(id)
    }

    /// The arena of a stack whose slot starts at `bottom`.
    fn arena_of_mut(&mut self, bottom: usize) -> &mut Arena {
        let id = self
            .arena_of(bottom)
            .expect("a stack's arena is mapped while the stack exists");
        self.arena_mut(id)
    }

    /// A new slot of class `c`, from its arena or a new one.
    fn carve(&mut self, c: usize, slot: usize) -> io::Result<GStack> {
        let mode = stack_mode();
        let id = match self.classes[c].carving {
            Some(id) => id,
            None => {
                let id = self.map_arena(c, slot, mode)?;
                self.classes[c].carving = Some(id);
                id
            }
        };
        let page = page_size();
        let a = self.arena_mut(id);
        let bottom = a.base + a.carved * a.slot;
        if mode == StackMode::Arenas {
            // SAFETY: the slot's first page lies in our arena and nothing uses it yet.
            unsafe { sys::madvise(bottom as *mut c_void, page, sys::MADV_GUARD_INSTALL) }
                .map_err(sys::Errno::io)?;
        }
        a.carved += 1;
        if a.carved == a.slots {
            self.classes[c].carving = None;
        }
        Ok(GStack {
            bottom,
            top: StackPointer::new(bottom + slot).expect("a mapped slot ends above zero"),
        })
    }

    /// Maps a new arena for class `c` (in `Mappings` mode, one slot with its guard page),
    /// halving its size while the kernel refuses it.
    fn map_arena(&mut self, c: usize, slot: usize, mode: StackMode) -> io::Result<usize> {
        let mut slots = match mode {
            StackMode::Arenas => self.classes[c].next_slots,
            StackMode::Mappings => 1,
        };
        let base = loop {
            let len = slots.checked_mul(slot).ok_or(io::ErrorKind::OutOfMemory)?;
            // SAFETY: a fresh private anonymous mapping at an address the kernel picks.
            let r = unsafe {
                mm::mmap_anonymous(
                    std::ptr::null_mut(),
                    len,
                    ProtFlags::READ | ProtFlags::WRITE,
                    MapFlags::PRIVATE | MapFlags::NORESERVE | MapFlags::STACK,
                )
            };
            match r {
                Ok(p) => break p,
                Err(e) if slots > 1 && e == rustix::io::Errno::NOMEM => slots /= 2,
                Err(e) => return Err(e.into()),
            }
        };
        let len = slots * slot;
        match mode {
            StackMode::Arenas => {
                // Huge pages would make a parked greenlet's first touch commit 2 MiB: keep
                // arenas to small pages (MAP_STACK implies it since Linux 6.7; say it anyway).
                // SAFETY: the arena is ours and unused.
                let _ = unsafe { mm::madvise(base, len, Advice::LinuxNoHugepage) };
                self.classes[c].next_slots = (slots * 2).min(MAX_ARENA_SLOTS);
            }
            StackMode::Mappings => {
                // SAFETY: the first page of our fresh mapping becomes the guard page.
                if let Err(e) = unsafe { mm::mprotect(base, page_size(), MprotectFlags::empty()) } {
                    // SAFETY: unmapping the mapping we just made, which nothing refers to.
                    let _ = unsafe { mm::munmap(base, len) };
                    return Err(e.into());
                }
            }
        }
        let arena = Arena {
            base: base as usize,
            len,
            slot,
            slots,
            carved: 0,
            free: 0,
            warm: 0,
            class: c,
        };
        let id = match self.free_ids.pop() {
            Some(id) => {
                self.arenas[id] = Some(arena);
                id
            }
            None => {
                self.arenas.push(Some(arena));
                self.arenas.len() - 1
            }
        };
        self.by_base.insert(base as usize, id);
        Ok(id)
    }

    /// Takes back free stacks (warm), then gives memory back past the budget.
    fn put(&mut self, stacks: Vec<GStack>) {
        for s in stacks {
            let a = self.arena_of_mut(s.bottom);
            a.free += 1;
            a.warm += 1;
            let (slot, class) = (a.slot, a.class);
            self.warm_bytes += slot;
            self.classes[class].warm.push(s);
        }
        let budget = stack_cache_budget();
        if self.warm_bytes > budget || self.warm_bytes + self.cold_bytes > reserve(budget) {
            self.trim();
        }
    }

    /// Gives memory back: while free stacks reserve more address space than [`reserve`],
    /// unmaps arenas whose stacks are all free (pages, page tables, guards and address space
    /// go back); then, while warm stacks exceed the budget, marks the oldest ones
    /// `MADV_FREE`. Each goes down to three quarters of its limit, so that trimming is not
    /// redone at every release.
    fn trim(&mut self) {
        let budget = stack_cache_budget();
        let reserve = reserve(budget);
        if self.warm_bytes + self.cold_bytes > reserve {
            self.unmap_free_arenas(reserve - reserve / 4);
        }
        if self.warm_bytes > budget {
            self.cool(budget - budget / 4);
        }
    }

    /// Unmaps arenas whose stacks are all free until free stacks reserve at most `target`
    /// bytes: those without warm stacks first, then the largest.
    fn unmap_free_arenas(&mut self, target: usize) {
        let mut empty: Vec<(bool, usize, usize)> = self
            .arenas
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let a = a.as_ref()?;
                (a.free == a.carved).then_some((a.warm > 0, usize::MAX - a.len, i))
            })
            .collect();
        empty.sort_unstable();
        let mut gone = false;
        for (_, _, id) in empty {
            if self.warm_bytes + self.cold_bytes <= target {
                break;
            }
            let a = self.arenas[id].take().expect("listed as mapped");
            self.by_base.remove(&a.base);
            self.warm_bytes -= a.warm * a.slot;
            self.cold_bytes -= (a.free - a.warm) * a.slot;
            if self.classes[a.class].carving == Some(id) {
                self.classes[a.class].carving = None;
            }
            // SAFETY: every slot of the arena is free (in the pool, used by nobody); the lists
            // are purged of them below before anything can hand one out.
            let _ = unsafe { mm::munmap(a.base as *mut c_void, a.len) };
            self.free_ids.push(id);
            gone = true;
        }
        if gone {
            let mut classes = std::mem::take(&mut self.classes);
            for c in &mut classes {
                c.warm.retain(|s| self.arena_of(s.bottom).is_some());
                c.cold.retain(|s| self.arena_of(s.bottom).is_some());
            }
            self.classes = classes;
        }
    }

    /// Marks the oldest warm stacks `MADV_FREE` until the warm ones fit in `target` bytes: the
    /// kernel takes their pages when it needs memory (and they leave the process's RSS then);
    /// until it does, a reused stack finds them in place, with no page fault.
    fn cool(&mut self, target: usize) {
        let page = page_size();
        let mut cooled = Vec::new();
        for ci in 0..self.classes.len() {
            if self.warm_bytes <= target {
                break;
            }
            let slot = self.classes[ci].usable + page;
            let excess = (self.warm_bytes - target).div_ceil(slot);
            let n = excess.min(self.classes[ci].warm.len());
            let old: Vec<GStack> = self.classes[ci].warm.drain(..n).collect();
            for s in &old {
                self.arena_of_mut(s.bottom).warm -= 1;
                self.warm_bytes -= slot;
                self.cold_bytes += slot;
            }
            cooled.extend(old.iter().map(|s| (s.bottom, s.top.get())));
            self.classes[ci].cold.extend(old);
        }
        // One `madvise` per run of adjacent slots (guard pages inside a run keep their guard
        // markers), not one per stack.
        cooled.sort_unstable();
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for (bottom, top) in cooled {
            match runs.last_mut() {
                Some(r) if r.1 == bottom => r.1 = top,
                _ => runs.push((bottom, top)),
            }
        }
        for (bottom, top) in runs {
            // SAFETY: every slot of the run is free (in the pool's cold lists, used by nobody):
            // its usable pages are ours to discard (a reused stack may find them zeroed), and
            // its guard pages stay guards.
            let _ = unsafe {
                mm::madvise(
                    (bottom + page) as *mut c_void,
                    top - bottom - page,
                    Advice::LinuxFree,
                )
            };
        }
    }
}

/// How much address space free stacks may keep reserved, given the budget: 4 times it in
/// arenas (16 GiB by default, 65,536 stacks of 256 KiB, whose page tables and guard markers
/// take about 34 MB), and just the budget when each stack is its own mapping (free stacks
/// would hold kernel mappings that live greenlets need).
fn reserve(budget: usize) -> usize {
    match stack_mode() {
        StackMode::Arenas => budget.saturating_mul(RESERVE_FACTOR),
        StackMode::Mappings => budget,
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

/// A greenlet could not get a stack: the kernel refused the memory.
///
/// With stacks in arenas ([`StackMode::Arenas`]) the process is out of address space
/// (`RLIMIT_AS`) or memory (overcommit limits). With one mapping per stack
/// ([`StackMode::Mappings`]) it is usually `vm.max_map_count`: each stack is two kernel
/// mappings, and the default limit of 65530 allows about 32,000 stacks.
///
/// [`Greenlet::try_switch`](crate::Greenlet::try_switch) returns it and
/// [`Greenlet::switch`](crate::Greenlet::switch) panics with its message (the target stays
/// unstarted, as in Python's greenlet); a greenlet built with
/// [`Builder::build_fallible`](crate::Builder::build_fallible) gets it instead, and fails
/// itself.
///
/// # Examples
///
/// ```
/// use greenlet::StackError;
/// let e = StackError::from_io(262_144, std::io::Error::from_raw_os_error(12));
/// assert!(e.to_string().contains("cannot map a 262144 byte greenlet stack"));
/// ```
#[derive(Debug)]
pub struct StackError {
    /// The stack size that was asked for.
    size: usize,
    /// What the kernel said.
    source: io::Error,
    /// How stacks were being mapped.
    mode: StackMode,
}

impl StackError {
    /// The error for a failed `size`-byte stack, in this process's [`stack_mode`].
    fn new(size: usize, source: io::Error) -> StackError {
        StackError {
            size,
            source,
            mode: stack_mode(),
        }
    }

    /// Builds the error for a failed mapping of a `size`-byte stack, in this process's
    /// [`stack_mode`].
    ///
    /// # Examples
    ///
    /// ```
    /// let e = greenlet::StackError::from_io(4096, std::io::Error::from_raw_os_error(12));
    /// assert_eq!(e.size(), 4096);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn from_io(size: usize, source: io::Error) -> StackError {
        StackError::new(size, source)
    }

    /// The stack size that was asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = greenlet::StackError::from_io(8192, std::io::Error::from_raw_os_error(12));
    /// assert_eq!(e.size(), 8192);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
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
    ///
    /// # Switches
    ///
    /// Never.
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }

    /// How stacks were mapped when it happened.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = greenlet::StackError::from_io(8192, std::io::Error::from_raw_os_error(12));
    /// assert_eq!(e.mode(), greenlet::stack_mode());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn mode(&self) -> StackMode {
        self.mode
    }
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot map a {} byte greenlet stack ({}); ",
            self.size, self.source
        )?;
        match self.mode {
            StackMode::Arenas => f.write_str(
                "the process is out of address space (RLIMIT_AS) or memory (overcommit \
                 limits; stacks are carved from arenas, so vm.max_map_count matters only if \
                 the process has many other mappings): keep fewer greenlets alive at once or \
                 give them smaller stacks",
            ),
            StackMode::Mappings => f.write_str(
                "usually the process has reached vm.max_map_count (each greenlet stack is its \
                 own mapping plus a guard page, two kernel mappings: about 32,000 stacks with \
                 the default 65530, because this kernel lacks MADV_GUARD_INSTALL (Linux 6.13) \
                 or GEVENT_NO_STACK_ARENAS is set): raise it with `sysctl -w \
                 vm.max_map_count=1048576` (as root), or keep fewer greenlets alive at once; \
                 otherwise the address space or memory is exhausted",
            ),
        }
    }
}

impl std::error::Error for StackError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
