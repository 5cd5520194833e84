//! Name resolution: `getaddrinfo` runs on the hub's thread pool (gevent's default threaded
//! resolver).
//!
//! glibc's resolver makes its own system calls internally (its sockets, the nscd socket,
//! `/etc/hosts`), out of reach of interposition: the whole call is moved to a worker thread
//! instead, and the greenlet waits for it. The real `getaddrinfo` is found with
//! `dlsym(RTLD_NEXT)` by `patch_dns` (or on first use when unpatched).

use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use libc::{addrinfo, c_char, c_int};

use crate::state::{self, HookScope, DNS};
use crate::wait::{wait_job, Outcome};

/// The signature of `getaddrinfo`.
type GetAddrInfo = unsafe extern "C" fn(
    *const c_char,
    *const c_char,
    *const addrinfo,
    *mut *mut addrinfo,
) -> c_int;

/// libc's `getaddrinfo` (0: not resolved yet).
static REAL: AtomicUsize = AtomicUsize::new(0);

/// Finds libc's `getaddrinfo` (the next definition after this one); `false` if there is none.
pub(crate) fn resolve_real() -> bool {
    if REAL.load(Ordering::Acquire) != 0 {
        return true;
    }
    // SAFETY: a lookup by a valid C string.
    let p = unsafe { libc::dlsym(libc::RTLD_NEXT, c"getaddrinfo".as_ptr()) };
    if p.is_null() {
        return false;
    }
    REAL.store(p as usize, Ordering::Release);
    true
}

/// libc's `getaddrinfo`, resolved on first use.
fn real() -> Option<GetAddrInfo> {
    if !resolve_real() {
        return None;
    }
    let p = REAL.load(Ordering::Acquire);
    // SAFETY: `p` is the address of libc's `getaddrinfo`, which has this signature.
    Some(unsafe { std::mem::transmute::<usize, GetAddrInfo>(p) })
}

/// A result list from libc's `getaddrinfo`, freed on drop unless taken (a job whose greenlet
/// was killed drops its result on the worker).
struct List(AtomicPtr<addrinfo>);

// SAFETY: the list is plain heap memory owned by whoever holds it; glibc's `freeaddrinfo` may
// run on any thread.
unsafe impl Send for List {}

impl List {
    /// Takes the list out (not freed).
    fn take(&self) -> *mut addrinfo {
        self.0.swap(std::ptr::null_mut(), Ordering::AcqRel)
    }
}

impl Drop for List {
    fn drop(&mut self) {
        let p = self.take();
        if !p.is_null() {
            // SAFETY: a list returned by `getaddrinfo`, freed once.
            unsafe { libc::freeaddrinfo(p) };
        }
    }
}

/// `getaddrinfo(3)`.
///
/// # Switches
///
/// In a greenlet of a running hub, with `dns` patched: runs libc's `getaddrinfo` on the thread
/// pool and waits in the hub for it. Anywhere else: never, libc's own.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call returns `EAI_SYSTEM` with `errno` `ECANCELED` or
/// `ETIMEDOUT` (the lookup finishes on the pool and its result is freed), and the interrupt stays
/// pending: it is raised at the greenlet's next Rust-side wait, or when its function returns.
///
/// # Safety
///
/// As libc's `getaddrinfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn getaddrinfo(
    node: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    res: *mut *mut addrinfo,
) -> c_int {
    let Some(f) = real() else {
        return libc::EAI_SYSTEM;
    };
    if !state::active(DNS) || res.is_null() || !state::may_wait() {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { f(node, service, hints, res) };
    }
    // SAFETY: the caller's arguments.
    unsafe { getaddrinfo_slow(f, node, service, hints, res) }
}

/// Copies a C string argument (null stays null).
///
/// # Safety
///
/// `p` is null or a valid C string.
unsafe fn owned(p: *const c_char) -> Option<CString> {
    // SAFETY: the caller's promise.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_owned())
}

/// The slow path: the call on the thread pool.
///
/// # Safety
///
/// As libc's `getaddrinfo`, `res` not null.
#[inline(never)]
unsafe fn getaddrinfo_slow(
    f: GetAddrInfo,
    node: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    res: *mut *mut addrinfo,
) -> c_int {
    let scope = HookScope::enter();
    // The worker gets copies: a killed greenlet's frame (and its strings) may be gone before
    // the worker is done.
    // SAFETY: the caller's valid C strings.
    let (node_c, service_c) = unsafe { (owned(node), owned(service)) };
    // SAFETY: null or the caller's valid addrinfo; only its four input fields count.
    let hints_c =
        unsafe { hints.as_ref() }.map(|h| (h.ai_flags, h.ai_family, h.ai_socktype, h.ai_protocol));
    let job = gevent_threadpool::default().spawn(move || {
        // SAFETY: zeroed addrinfo is valid (null pointers); the inputs are owned here.
        let mut h: addrinfo = unsafe { std::mem::zeroed() };
        let hp = match hints_c {
            Some((flags, family, socktype, protocol)) => {
                h.ai_flags = flags;
                h.ai_family = family;
                h.ai_socktype = socktype;
                h.ai_protocol = protocol;
                &h as *const addrinfo
            }
            None => std::ptr::null(),
        };
        let mut out: *mut addrinfo = std::ptr::null_mut();
        // SAFETY: valid (owned) arguments.
        let rc = unsafe {
            f(
                node_c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
                service_c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
                hp,
                &mut out,
            )
        };
        let err = crate::sys::errno();
        (
            rc,
            err,
            List(AtomicPtr::new(if rc == 0 {
                out
            } else {
                std::ptr::null_mut()
            })),
        )
    });
    let done = scope.outside(|| wait_job(&job)).map(|()| {
        job.with_result(|r| match r {
            Ok((rc, err, list)) => (*rc, *err, list.take()),
            Err(_) => (libc::EAI_SYSTEM, libc::EIO, std::ptr::null_mut()),
        })
        .unwrap_or((libc::EAI_SYSTEM, libc::EIO, std::ptr::null_mut()))
    });
    match done {
        Ok((rc, err, list)) => {
            if rc == 0 {
                // SAFETY: the caller's valid result pointer.
                unsafe { *res = list };
                return scope.ok(0);
            }
            drop(scope);
            if rc == libc::EAI_SYSTEM {
                crate::sys::set_errno(err);
            }
            rc
        }
        Err(Outcome::Interrupted(e)) => {
            drop(scope);
            crate::sys::set_errno(e);
            libc::EAI_SYSTEM
        }
        Err(_) => {
            drop(scope);
            // SAFETY: the caller's arguments, passed on.
            unsafe { f(node, service, hints, res) }
        }
    }
}
