//! Stack overflow reporting.
//!
//! A greenlet that overflows its stack touches the guard page below it. Without a handler of
//! ours that is a bare SIGSEGV, indistinguishable from any other crash. This module installs,
//! once per process, a SIGSEGV/SIGBUS handler that runs on an alternate signal stack (ensured on
//! every thread that maps greenlet stacks). When the faulting address lies in the guard page of
//! the greenlet running on the faulting thread, it writes
//! `greenlet '<name or id>' has overflowed its stack (<size> bytes)` to stderr with `write(2)`
//! and aborts. Any other fault goes to the handler that was installed before ours (Rust's own
//! handler reports overflows of thread stacks), or to the default action.

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

/// Guards the process-wide installation of the handlers.
static INSTALL: Once = Once::new();
/// The SIGSEGV disposition that was in place before ours.
static PREV_SEGV: OnceLock<libc::sigaction> = OnceLock::new();
/// The SIGBUS disposition that was in place before ours.
static PREV_BUS: OnceLock<libc::sigaction> = OnceLock::new();
/// The page size, read once at installation (the handler must not call `sysconf`).
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
        let disable = libc::stack_t {
            ss_sp: ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: disabling this thread's alternate stack, then unmapping the region this module
        // mapped for it; no signal handler can run on it once it is disabled.
        unsafe {
            libc::sigaltstack(&disable, ptr::null_mut());
            libc::munmap(base as *mut libc::c_void, self.len.get());
        }
    }
}

/// The page size (the size of a stack's guard page), as read at installation.
pub(crate) fn page_size() -> usize {
    PAGE.load(Ordering::Relaxed)
}

/// Installs the handlers (once per process) and the alternate stack (once per thread).
pub(crate) fn install() {
    INSTALL.call_once(|| {
        // SAFETY: `sysconf` has no preconditions; installing handlers with `sigaction` is sound
        // since `handler` only calls async-signal-safe functions.
        unsafe {
            let page = libc::sysconf(libc::_SC_PAGESIZE);
            if page > 0 {
                PAGE.store(page as usize, Ordering::Relaxed);
            }
            for (sig, prev) in [(libc::SIGSEGV, &PREV_SEGV), (libc::SIGBUS, &PREV_BUS)] {
                let mut new: libc::sigaction = MaybeUninit::zeroed().assume_init();
                new.sa_sigaction = handler as *const () as usize;
                new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut new.sa_mask);
                let mut old: libc::sigaction = MaybeUninit::zeroed().assume_init();
                if libc::sigaction(sig, &new, &mut old) == 0 {
                    let _ = prev.set(old);
                }
            }
        }
    });
    if ALTSTACK_READY.with(|r| r.replace(true)) {
        return;
    }
    // SAFETY: querying and, if absent, installing this thread's alternate signal stack on a
    // fresh private mapping that lives until the thread exits (see `AltStack::drop`).
    unsafe {
        let mut cur: libc::stack_t = MaybeUninit::zeroed().assume_init();
        if libc::sigaltstack(ptr::null(), &mut cur) != 0 || cur.ss_flags & libc::SS_DISABLE == 0 {
            return;
        }
        let len = (libc::SIGSTKSZ).max(64 * 1024);
        let base = libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if base == libc::MAP_FAILED {
            return;
        }
        let st = libc::stack_t {
            ss_sp: base,
            ss_flags: 0,
            ss_size: len,
        };
        if libc::sigaltstack(&st, ptr::null_mut()) != 0 {
            libc::munmap(base, len);
            return;
        }
        OWN_ALTSTACK.with(|a| {
            a.base.set(base as usize);
            a.len.set(len);
        });
    }
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
                Some(name) => m.push(name.as_bytes()),
                None => m.push_num(s.id),
            }
            m.push(b"' has overflowed its stack (");
            m.push_num(s.size as u64);
            m.push(b" bytes)\n");
            // SAFETY: write(2) and abort(3) are async-signal-safe; the buffer is ours.
            unsafe {
                libc::write(2, m.buf.as_ptr().cast(), m.len);
                libc::abort();
            }
        }
    }
    let prev = if sig == libc::SIGBUS {
        PREV_BUS.get()
    } else {
        PREV_SEGV.get()
    };
    match prev {
        Some(p) if p.sa_sigaction != libc::SIG_DFL && p.sa_sigaction != libc::SIG_IGN => {
            if p.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous handler was installed with SA_SIGINFO, so it has this
                // signature; we pass on exactly what the kernel gave us.
                unsafe {
                    let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                        std::mem::transmute(p.sa_sigaction);
                    f(sig, info, ctx);
                }
            } else {
                // SAFETY: a handler installed without SA_SIGINFO takes only the signal number.
                unsafe {
                    let f: extern "C" fn(libc::c_int) = std::mem::transmute(p.sa_sigaction);
                    f(sig);
                }
            }
        }
        _ => {
            // Restore the default action and return: the faulting instruction runs again and
            // the process dies of the signal, as it would have without us.
            // SAFETY: resetting a disposition to SIG_DFL is async-signal-safe.
            unsafe {
                let mut dfl: libc::sigaction = MaybeUninit::zeroed().assume_init();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &dfl, ptr::null_mut());
            }
        }
    }
}
