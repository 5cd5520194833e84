//! Stack overflow reporting.
//!
//! A greenlet that overflows its stack touches the guard page below it (in an arena, a page
//! marked with `MADV_GUARD_INSTALL`; in the fallback, an `mprotect`ed page). Without a handler
//! of ours that is a bare SIGSEGV, indistinguishable from any other crash. This module installs,
//! once per process, a SIGSEGV/SIGBUS handler that runs on an alternate signal stack (ensured on
//! every thread that maps greenlet stacks). When the faulting address lies in the guard page of
//! the greenlet running on the faulting thread, it writes
//! `greenlet '<name or #id>' has overflowed its stack (<size> bytes)` to stderr with `write(2)`
//! and aborts. Any other fault goes to the handler that was installed before ours (Rust's own
//! handler reports overflows of thread stacks), or to the default action.
//!
//! The handler allocates nothing and takes no lock; every system call here is made through
//! rustix or directly (`crate::sys`), never through libc.

use std::cell::Cell;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

use rustix::mm::{self, MapFlags, ProtFlags};

use crate::sys::{self, KernelSigaction, SigStack};

/// Guards the process-wide installation of the handlers.
static INSTALL: Once = Once::new();
/// The SIGSEGV disposition that was in place before ours.
static PREV_SEGV: OnceLock<KernelSigaction> = OnceLock::new();
/// The SIGBUS disposition that was in place before ours.
static PREV_BUS: OnceLock<KernelSigaction> = OnceLock::new();
/// The page size, read once at installation (the handler must not ask the system).
static PAGE: AtomicUsize = AtomicUsize::new(4096);

thread_local! {
    /// Whether this thread has checked (and if needed, created) its alternate signal stack.
    static ALTSTACK_READY: Cell<bool> = const { Cell::new(false) };
    /// The alternate stack this module mapped for this thread, unmapped when the thread exits.
    static OWN_ALTSTACK: AltStack = const { AltStack { base: Cell::new(0), len: Cell::new(0) } };
}

/// An alternate signal stack mapped by this module for one thread.
struct AltStack {
    /// Address of the mapping, 0 when none.
    base: Cell<usize>,
    /// Length of the mapping.
    len: Cell<usize>,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let base = self.base.get();
        if base == 0 {
            return;
        }
        let disable = SigStack {
            sp: 0,
            flags: libc::SS_DISABLE,
            size: 0,
        };
        // SAFETY: disabling this thread's alternate stack, then unmapping the region this module
        // mapped for it; no signal handler can run on it once it is disabled.
        unsafe {
            if sys::sigaltstack(Some(&disable), None).is_ok() {
                let _ = mm::munmap(base as *mut std::ffi::c_void, self.len.get());
            }
        }
    }
}

/// Installs the handlers (once per process) and the alternate stack (once per thread).
pub(crate) fn install() {
    INSTALL.call_once(|| {
        PAGE.store(crate::stack::page_size(), Ordering::Relaxed);
        let new = KernelSigaction::siginfo_on_altstack(handler as *const () as usize);
        for (sig, prev) in [(libc::SIGSEGV, &PREV_SEGV), (libc::SIGBUS, &PREV_BUS)] {
            let mut old = KernelSigaction::DEFAULT;
            // SAFETY: `handler` only makes async-signal-safe calls and has the SA_SIGINFO
            // signature.
            if unsafe { sys::sigaction(sig, Some(&new), Some(&mut old)) }.is_ok() {
                let _ = prev.set(old);
            }
        }
    });
    if ALTSTACK_READY.with(|r| r.replace(true)) {
        return;
    }
    let mut cur = SigStack {
        sp: 0,
        flags: 0,
        size: 0,
    };
    // SAFETY: only reads the current alternate stack.
    if unsafe { sys::sigaltstack(None, Some(&mut cur)) }.is_err()
        || cur.flags & libc::SS_DISABLE == 0
    {
        return; // this thread has one already (Rust's main thread and spawned threads do)
    }
    let len = libc::SIGSTKSZ.max(64 * 1024);
    // SAFETY: a fresh private anonymous mapping that lives until the thread exits (see
    // `AltStack::drop`).
    let Ok(base) = (unsafe {
        mm::mmap_anonymous(
            std::ptr::null_mut(),
            len,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE,
        )
    }) else {
        return;
    };
    let st = SigStack {
        sp: base as usize,
        flags: 0,
        size: len,
    };
    // SAFETY: the stack is mapped until `AltStack::drop` disables it.
    if unsafe { sys::sigaltstack(Some(&st), None) }.is_err() {
        // SAFETY: unmapping what we just mapped and never used.
        let _ = unsafe { mm::munmap(base, len) };
        return;
    }
    OWN_ALTSTACK.with(|a| {
        a.base.set(base as usize);
        a.len.set(len);
    });
}

/// A fixed buffer for composing the message without allocating.
struct Msg {
    /// The bytes written so far.
    buf: [u8; 512],
    /// How many bytes of `buf` are used.
    len: usize,
}

impl Msg {
    fn push(&mut self, s: &[u8]) {
        for &b in s {
            if self.len < self.buf.len() {
                self.buf[self.len] = b;
                self.len += 1;
            }
        }
    }

    fn push_num(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
}

/// The signal handler: report a greenlet guard-page hit and abort, or pass the fault on.
extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid `siginfo_t` for SA_SIGINFO handlers of SIGSEGV/SIGBUS.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some(s) = crate::switch::current_stack() {
        let page = PAGE.load(Ordering::Relaxed);
        if s.limit != 0 && addr < s.limit && addr >= s.limit.saturating_sub(page) {
            let mut m = Msg {
                buf: [0; 512],
                len: 0,
            };
            m.push(b"greenlet '");
            match s.name {
                Some((prefix, with_id)) => {
                    m.push(prefix);
                    if with_id {
                        m.push_num(s.id);
                    }
                }
                None => {
                    m.push(b"#");
                    m.push_num(s.id);
                }
            }
            m.push(b"' has overflowed its stack (");
            m.push_num(s.size as u64);
            m.push(b" bytes)\n");
            // SAFETY: fd 2 is stderr, open for the life of the process (a closed one makes the
            // write fail harmlessly).
            let stderr = unsafe { BorrowedFd::borrow_raw(2) };
            let mut out = &m.buf[..m.len];
            while !out.is_empty() {
                match rustix::io::write(stderr, out) {
                    Ok(n) if n > 0 => out = &out[n..],
                    Err(rustix::io::Errno::INTR) => {}
                    _ => break,
                }
            }
            sys::abort();
        }
    }
    let prev = if sig == libc::SIGBUS {
        PREV_BUS.get()
    } else {
        PREV_SEGV.get()
    };
    match prev {
        Some(p) if p.handler != libc::SIG_DFL && p.handler != libc::SIG_IGN => {
            if p.flags & libc::SA_SIGINFO as u64 != 0 {
                // SAFETY: the previous handler was installed with SA_SIGINFO, so it has this
                // signature; we pass on exactly what the kernel gave us.
                unsafe {
                    let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                        std::mem::transmute(p.handler);
                    f(sig, info, ctx);
                }
            } else {
                // SAFETY: a handler installed without SA_SIGINFO takes only the signal number.
                unsafe {
                    let f: extern "C" fn(libc::c_int) = std::mem::transmute(p.handler);
                    f(sig);
                }
            }
        }
        _ => {
            // Restore the default action and return: the faulting instruction runs again and
            // the process dies of the signal, as it would have without us.
            // SAFETY: resetting a disposition to SIG_DFL is async-signal-safe.
            let _ = unsafe { sys::sigaction(sig, Some(&KernelSigaction::DEFAULT), None) };
        }
    }
}
