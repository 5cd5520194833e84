//! The few system calls that `rustix` does not offer, made directly with the `syscall`
//! instruction: `madvise` with the guard-page advice of Linux 6.13, and the signal calls of the
//! stack-overflow handler (`rt_sigaction`, `sigaltstack`, `rt_sigprocmask`, `tkill`,
//! `exit_group`).
//!
//! Nothing here goes through libc: the `monkey` crate interposes libc's symbols, and the
//! runtime's own calls must never reach its hooks (DESIGN.md). Every function here is
//! async-signal-safe: one system call, no allocation, no lock.

use std::ffi::c_void;

/// `MADV_GUARD_INSTALL` (Linux 6.13): turn the pages of a range into guard pages.
pub(crate) const MADV_GUARD_INSTALL: usize = 102;

/// An `errno` value from a failed system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Errno(pub(crate) i32);

impl Errno {
    /// As a `std::io::Error`.
    pub(crate) fn io(self) -> std::io::Error {
        std::io::Error::from_raw_os_error(self.0)
    }
}

/// Turns a raw return value into a result (the kernel returns `-errno` on failure).
fn check(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

/// A system call with up to four arguments.
///
/// # Safety
///
/// The caller upholds the contract of system call `nr` for these arguments.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn syscall4(nr: i64, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
    let ret: isize;
    // SAFETY: by the caller's contract; `syscall` clobbers rcx and r11 only.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a1,
            in("rsi") a2,
            in("rdx") a3,
            in("r10") a4,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack, preserves_flags)
        );
    }
    ret
}

/// A system call with up to four arguments.
///
/// # Safety
///
/// The caller upholds the contract of system call `nr` for these arguments.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn syscall4(nr: i64, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
    let ret: isize;
    // SAFETY: by the caller's contract; `svc 0` preserves every register but x0.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") a1 as isize => ret,
            in("x1") a2,
            in("x2") a3,
            in("x3") a4,
            options(nostack, preserves_flags)
        );
    }
    ret
}

/// `madvise(addr, len, advice)` with an advice number that rustix does not name.
///
/// # Safety
///
/// `[addr, addr + len)` must be memory this crate mapped and nobody else uses in a way the
/// advice would break.
pub(crate) unsafe fn madvise(addr: *mut c_void, len: usize, advice: usize) -> Result<(), Errno> {
    // SAFETY: by the caller's contract.
    check(unsafe { syscall4(libc::SYS_madvise, addr as usize, len, advice, 0) }).map(drop)
}

/// The kernel's `struct sigaction` (not libc's, whose mask is 128 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct KernelSigaction {
    /// The handler, or `SIG_DFL`/`SIG_IGN`.
    pub(crate) handler: usize,
    /// `SA_*` flags.
    pub(crate) flags: u64,
    /// The code the handler returns through (`SA_RESTORER`).
    pub(crate) restorer: usize,
    /// Signals blocked while the handler runs.
    pub(crate) mask: u64,
}

impl KernelSigaction {
    /// The default disposition.
    pub(crate) const DEFAULT: KernelSigaction = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };

    /// A disposition running `handler` with `SA_SIGINFO | SA_ONSTACK` and an empty mask.
    pub(crate) fn siginfo_on_altstack(handler: usize) -> KernelSigaction {
        let mut a = KernelSigaction {
            handler,
            flags: (libc::SA_SIGINFO | libc::SA_ONSTACK) as u64,
            restorer: 0,
            mask: 0,
        };
        set_restorer(&mut a);
        a
    }
}

/// `SA_RESTORER`: x86-64 needs user space to say how a handler returns.
#[cfg(target_arch = "x86_64")]
const SA_RESTORER: u64 = 0x0400_0000;

#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".pushsection .text.__greenlet_rs_sigreturn,\"ax\",@progbits",
    ".p2align 4",
    ".hidden __greenlet_rs_sigreturn",
    ".globl __greenlet_rs_sigreturn",
    ".type __greenlet_rs_sigreturn,@function",
    "__greenlet_rs_sigreturn:",
    "    mov rax, 15", // rt_sigreturn
    "    syscall",
    "    ud2",
    ".size __greenlet_rs_sigreturn, .-__greenlet_rs_sigreturn",
    ".popsection",
);

#[cfg(target_arch = "x86_64")]
extern "C" {
    /// Where a handler returns to: calls `rt_sigreturn` (defined in assembly above).
    fn __greenlet_rs_sigreturn();
}

/// Gives `a` the restorer the architecture needs.
#[cfg(target_arch = "x86_64")]
fn set_restorer(a: &mut KernelSigaction) {
    a.flags |= SA_RESTORER;
    a.restorer = __greenlet_rs_sigreturn as *const () as usize;
}

/// Gives `a` the restorer the architecture needs (none: the kernel's vDSO provides one).
#[cfg(target_arch = "aarch64")]
fn set_restorer(_a: &mut KernelSigaction) {}

/// `rt_sigaction(sig, new, old)`.
///
/// # Safety
///
/// A handler in `new` must be async-signal-safe and of the signature its flags announce.
pub(crate) unsafe fn sigaction(
    sig: i32,
    new: Option<&KernelSigaction>,
    old: Option<&mut KernelSigaction>,
) -> Result<(), Errno> {
    let new = new.map_or(0, |n| n as *const KernelSigaction as usize);
    let old = old.map_or(0, |o| o as *mut KernelSigaction as usize);
    // SAFETY: both pointers are null or point at valid `KernelSigaction`s; the size of the
    // kernel's signal set is 8 bytes.
    check(unsafe { syscall4(libc::SYS_rt_sigaction, sig as usize, new, old, 8) }).map(drop)
}

/// The kernel's `stack_t`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct SigStack {
    /// Lowest address of the alternate stack.
    pub(crate) sp: usize,
    /// `SS_DISABLE`, `SS_ONSTACK` or 0.
    pub(crate) flags: i32,
    /// Its size.
    pub(crate) size: usize,
}

/// `sigaltstack(new, old)`.
///
/// # Safety
///
/// A stack in `new` must stay mapped while it is installed.
pub(crate) unsafe fn sigaltstack(
    new: Option<&SigStack>,
    old: Option<&mut SigStack>,
) -> Result<(), Errno> {
    let new = new.map_or(0, |n| n as *const SigStack as usize);
    let old = old.map_or(0, |o| o as *mut SigStack as usize);
    // SAFETY: both pointers are null or point at valid `SigStack`s.
    check(unsafe { syscall4(libc::SYS_sigaltstack, new, old, 0, 0) }).map(drop)
}

/// Dies of `SIGABRT`, whatever the signal's disposition and mask were: async-signal-safe.
pub(crate) fn abort() -> ! {
    let sig = libc::SIGABRT;
    let unblock: u64 = 1 << (sig - 1);
    // SAFETY: resetting SIGABRT to its default action, unblocking it and sending it to this
    // thread; every pointer points at a local that lives across the call.
    unsafe {
        let _ = sigaction(sig, Some(&KernelSigaction::DEFAULT), None);
        let _ = syscall4(
            libc::SYS_rt_sigprocmask,
            libc::SIG_UNBLOCK as usize,
            &unblock as *const u64 as usize,
            0,
            8,
        );
        let tid = syscall4(libc::SYS_gettid, 0, 0, 0, 0);
        let _ = syscall4(libc::SYS_tkill, tid as usize, sig as usize, 0, 0);
        // Not reached unless something refused the signal: end the process all the same,
        // with the status a shell reports for SIGABRT.
        syscall4(libc::SYS_exit_group, 128 + sig as usize, 0, 0, 0);
    }
    // exit_group never returns; no panic machinery here (this runs in a signal handler).
    loop {
        std::hint::spin_loop();
    }
}
