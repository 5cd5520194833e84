//! The real system calls behind the hooks, and `errno`.
//!
//! Every hook passes through to the kernel with a raw system call, never through libc's
//! wrapper of the same name (which is the hook itself: calling it would recurse). Calls that
//! take typed arguments go through `rustix` (its `linux_raw` backend makes the system call
//! directly); calls that pass a caller's raw pointers on unchanged (a `msghdr`, a `sockaddr`
//! buffer, an `fd_set`) go through libc's generic `syscall(2)` entry point, which this crate
//! does not hook and which is async-signal-safe.
//!
//! The wrappers here follow libc's convention: `-1` and `errno` set on failure.

use std::os::fd::{BorrowedFd, RawFd};
use std::time::Duration;

use libc::{c_int, c_long, c_void, size_t, sockaddr, socklen_t, ssize_t};

/// The calling thread's `errno`.
#[inline]
pub(crate) fn errno() -> c_int {
    // SAFETY: `__errno_location` returns the calling thread's errno slot, always valid.
    unsafe { *libc::__errno_location() }
}

/// Sets the calling thread's `errno`.
#[inline]
pub(crate) fn set_errno(e: c_int) {
    // SAFETY: as in `errno`.
    unsafe { *libc::__errno_location() = e }
}

/// Borrows a raw fd for a `rustix` call.
///
/// # Safety
///
/// `fd` must stay open for the duration of the call the borrow is passed to (a closed fd makes
/// the kernel answer `EBADF`, which is harmless; a reused one is the caller's own race).
#[inline]
pub(crate) unsafe fn bfd(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: the caller's promise; `BorrowedFd` requires only that `fd` is not -1 while used,
    // and a negative fd makes the kernel answer `EBADF`.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// `syscall(nr, a...)` with `isize` arguments, libc's convention.
macro_rules! raw {
    ($nr:expr $(, $a:expr)*) => {
        // SAFETY: the caller of the wrapper passes the arguments the system call expects,
        // with the same validity as libc's function of the same name would require.
        unsafe { libc::syscall($nr $(, $a)*) }
    };
}

/// `recvfrom(2)`; also `recv` (null address).
///
/// # Safety
///
/// As libc's `recvfrom`.
#[inline]
pub(crate) unsafe fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    alen: *mut socklen_t,
) -> ssize_t {
    raw!(libc::SYS_recvfrom, fd, buf, len, flags, addr, alen) as ssize_t
}

/// `sendto(2)`; also `send` (null address).
///
/// # Safety
///
/// As libc's `sendto`.
#[inline]
pub(crate) unsafe fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    alen: socklen_t,
) -> ssize_t {
    raw!(libc::SYS_sendto, fd, buf, len, flags, addr, alen) as ssize_t
}

/// `recvmsg(2)`.
///
/// # Safety
///
/// As libc's `recvmsg`.
#[inline]
pub(crate) unsafe fn recvmsg(fd: c_int, msg: *mut libc::msghdr, flags: c_int) -> ssize_t {
    raw!(libc::SYS_recvmsg, fd, msg, flags) as ssize_t
}

/// `sendmsg(2)`.
///
/// # Safety
///
/// As libc's `sendmsg`.
#[inline]
pub(crate) unsafe fn sendmsg(fd: c_int, msg: *const libc::msghdr, flags: c_int) -> ssize_t {
    raw!(libc::SYS_sendmsg, fd, msg, flags) as ssize_t
}

/// `read(2)`.
///
/// # Safety
///
/// As libc's `read`.
#[inline]
pub(crate) unsafe fn read(fd: c_int, buf: *mut c_void, n: size_t) -> ssize_t {
    raw!(libc::SYS_read, fd, buf, n) as ssize_t
}

/// `write(2)`.
///
/// # Safety
///
/// As libc's `write`.
#[inline]
pub(crate) unsafe fn write(fd: c_int, buf: *const c_void, n: size_t) -> ssize_t {
    raw!(libc::SYS_write, fd, buf, n) as ssize_t
}

/// `readv(2)`.
///
/// # Safety
///
/// As libc's `readv`.
#[inline]
pub(crate) unsafe fn readv(fd: c_int, iov: *const libc::iovec, n: c_int) -> ssize_t {
    raw!(libc::SYS_readv, fd, iov, n) as ssize_t
}

/// `writev(2)`.
///
/// # Safety
///
/// As libc's `writev`.
#[inline]
pub(crate) unsafe fn writev(fd: c_int, iov: *const libc::iovec, n: c_int) -> ssize_t {
    raw!(libc::SYS_writev, fd, iov, n) as ssize_t
}

/// `connect(2)`.
///
/// # Safety
///
/// As libc's `connect`.
#[inline]
pub(crate) unsafe fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    raw!(libc::SYS_connect, fd, addr, len) as c_int
}

/// `accept4(2)` (`accept` is `accept4` with no flags).
///
/// # Safety
///
/// As libc's `accept4`.
#[inline]
pub(crate) unsafe fn accept4(
    fd: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
    flags: c_int,
) -> c_int {
    raw!(libc::SYS_accept4, fd, addr, len, flags) as c_int
}

/// `socket(2)`.
///
/// # Safety
///
/// As libc's `socket` (no pointers).
#[inline]
pub(crate) unsafe fn socket(domain: c_int, ty: c_int, proto: c_int) -> c_int {
    raw!(libc::SYS_socket, domain, ty, proto) as c_int
}

/// `socketpair(2)`.
///
/// # Safety
///
/// As libc's `socketpair`.
#[inline]
pub(crate) unsafe fn socketpair(domain: c_int, ty: c_int, proto: c_int, sv: *mut c_int) -> c_int {
    raw!(libc::SYS_socketpair, domain, ty, proto, sv) as c_int
}

/// `ppoll(2)` (what `poll` is on every architecture): `timeout` null = no limit. The kernel
/// writes the time left into `*timeout`: pass a copy.
///
/// # Safety
///
/// As libc's `ppoll`.
#[inline]
pub(crate) unsafe fn ppoll(
    fds: *mut libc::pollfd,
    n: libc::nfds_t,
    timeout: *mut libc::timespec,
    sigmask: *const libc::sigset_t,
) -> c_int {
    let setsize = if sigmask.is_null() {
        0
    } else {
        std::mem::size_of::<c_long>()
    };
    raw!(libc::SYS_ppoll, fds, n, timeout, sigmask, setsize) as c_int
}

/// `select(2)`, which writes the time left into `*timeout` as Linux's does.
///
/// # Safety
///
/// As libc's `select`.
#[inline]
pub(crate) unsafe fn select(
    nfds: c_int,
    r: *mut libc::fd_set,
    w: *mut libc::fd_set,
    e: *mut libc::fd_set,
    timeout: *mut libc::timeval,
) -> c_int {
    #[cfg(target_arch = "x86_64")]
    {
        raw!(libc::SYS_select, nfds, r, w, e, timeout) as c_int
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        // No `select` system call here: `pselect6` with the timeout converted both ways.
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let tsp = if timeout.is_null() {
            std::ptr::null_mut()
        } else {
            // SAFETY: the caller passes a valid timeval or null.
            let tv = unsafe { *timeout };
            if tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1_000_000 {
                set_errno(libc::EINVAL);
                return -1;
            }
            ts.tv_sec = tv.tv_sec;
            ts.tv_nsec = (tv.tv_usec * 1000) as _;
            &mut ts as *mut libc::timespec
        };
        let r = raw!(
            libc::SYS_pselect6,
            nfds,
            r,
            w,
            e,
            tsp,
            std::ptr::null::<c_void>()
        ) as c_int;
        if !timeout.is_null() {
            // SAFETY: as above.
            unsafe {
                (*timeout).tv_sec = ts.tv_sec;
                (*timeout).tv_usec = (ts.tv_nsec / 1000) as _;
            }
        }
        r
    }
}

/// `clock_nanosleep(2)`, returning the error number (0 on success) as libc's does; `errno` is
/// left alone.
///
/// # Safety
///
/// As libc's `clock_nanosleep`.
#[inline]
pub(crate) unsafe fn clock_nanosleep(
    clock: libc::clockid_t,
    flags: c_int,
    req: *const libc::timespec,
    rem: *mut libc::timespec,
) -> c_int {
    let saved = errno();
    let r = raw!(libc::SYS_clock_nanosleep, clock, flags, req, rem);
    if r == 0 {
        return 0;
    }
    let e = errno();
    set_errno(saved);
    e
}

/// `wait4(2)`.
///
/// # Safety
///
/// As libc's `wait4`.
#[inline]
pub(crate) unsafe fn wait4(
    pid: libc::pid_t,
    status: *mut c_int,
    options: c_int,
    rusage: *mut libc::rusage,
) -> libc::pid_t {
    raw!(libc::SYS_wait4, pid, status, options, rusage) as libc::pid_t
}

/// `close(2)`.
///
/// # Safety
///
/// As libc's `close`.
#[inline]
pub(crate) unsafe fn close(fd: c_int) -> c_int {
    raw!(libc::SYS_close, fd) as c_int
}

/// `dup3(2)`.
///
/// # Safety
///
/// As libc's `dup3`.
#[inline]
pub(crate) unsafe fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    raw!(libc::SYS_dup3, old, new, flags) as c_int
}

/// `dup2(2)`: `dup3`, except that `old == new` returns `new` if it is open.
///
/// # Safety
///
/// As libc's `dup2`.
#[inline]
pub(crate) unsafe fn dup2(old: c_int, new: c_int) -> c_int {
    #[cfg(target_arch = "x86_64")]
    {
        raw!(libc::SYS_dup2, old, new) as c_int
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        if old == new {
            return match raw!(libc::SYS_fcntl, old, libc::F_GETFL) {
                r if r < 0 => -1,
                _ => new,
            };
        }
        raw!(libc::SYS_dup3, old, new, 0) as c_int
    }
}

/// Whether `fd` has `O_NONBLOCK` set (errors count as "no": the call that follows reports
/// them).
pub(crate) fn is_nonblocking(fd: RawFd) -> bool {
    // SAFETY: a query; a bad fd gives an error.
    rustix::fs::fcntl_getfl(unsafe { bfd(fd) })
        .is_ok_and(|f| f.contains(rustix::fs::OFlags::NONBLOCK))
}

/// Sets or clears `O_NONBLOCK` with `ioctl(FIONBIO)` (as std's `set_nonblocking` does).
pub(crate) fn set_nonblocking(fd: RawFd, on: bool) -> bool {
    // SAFETY: as in `is_nonblocking`.
    rustix::io::ioctl_fionbio(unsafe { bfd(fd) }, on).is_ok()
}

/// `SO_RCVTIMEO` (`read = true`) or `SO_SNDTIMEO` of a socket: `None` for none.
pub(crate) fn socket_timeout(fd: RawFd, read: bool) -> Option<Duration> {
    use rustix::net::sockopt::{socket_timeout, Timeout};
    let id = if read { Timeout::Recv } else { Timeout::Send };
    // SAFETY: as in `is_nonblocking`.
    socket_timeout(unsafe { bfd(fd) }, id).ok().flatten()
}

/// `SO_ERROR` of a socket, as an errno value (0: none).
pub(crate) fn socket_error(fd: RawFd) -> c_int {
    // SAFETY: as in `is_nonblocking`.
    match rustix::net::sockopt::socket_error(unsafe { bfd(fd) }) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) | Err(e) => e.raw_os_error(),
    }
}

/// Opens a pidfd for `pid` (closed with [`close_raw`]).
pub(crate) fn pidfd_open(pid: libc::pid_t) -> Option<RawFd> {
    use std::os::fd::IntoRawFd;
    let pid = rustix::process::Pid::from_raw(pid)?;
    rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
        .ok()
        .map(IntoRawFd::into_raw_fd)
}

/// Closes an fd of ours with the system call (not through the `close` hook).
pub(crate) fn close_raw(fd: RawFd) {
    // SAFETY: `fd` is ours and not used after this.
    unsafe { rustix::io::close(fd) }
}
