//! The crate's system calls, in one place: `pidfd_open(2)`, `fcntl(2)` for `O_NONBLOCK`, and
//! `kill(2)`. Everything else (spawning, reaping with `waitpid(pid, WNOHANG)`) goes through
//! `std::process`.
//!
//! Every function maps `-1` to `io::Error::last_os_error()` right after the call, so `errno`
//! is read before anything else can run on this thread (another greenlet could overwrite it).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Maps a libc-style return value (`-1` on failure) to `io::Result`, reading `errno` at once.
fn cvt(r: libc::c_long) -> io::Result<libc::c_long> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Opens a pidfd for `pid` (Linux 5.3+): a descriptor that becomes readable when the process
/// exits. It is close-on-exec.
///
/// # Errors
///
/// `ENOSYS` on kernels without `pidfd_open` (or where a seccomp filter hides it), `ESRCH` if
/// there is no such process, `EMFILE` when out of descriptors.
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid =
        libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `pidfd_open(pid, flags)` takes two integers and touches no memory of ours.
    let r = cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) })?;
    let fd = libc::c_int::try_from(r).map_err(|_| io::Error::other("pidfd out of range"))?;
    // SAFETY: the kernel just returned `fd` as a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sets or clears `O_NONBLOCK` on `fd`'s open file description.
///
/// # Errors
///
/// `fcntl`'s error (`EBADF`).
pub(crate) fn set_nonblocking(fd: &impl AsRawFd, on: bool) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: `F_GETFL` on a descriptor the caller keeps open reads its flags, no memory.
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) }.into())?;
    let flags = flags as libc::c_int;
    let new = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if new != flags {
        // SAFETY: as above; `F_SETFL` takes an integer argument.
        cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, new) }.into())?;
    }
    Ok(())
}

/// Sends `signum` to `pid`.
///
/// The caller must know that `pid` is its own child and not yet reaped, so that the number
/// cannot belong to another process (a pid is reused only after its zombie is reaped).
///
/// # Errors
///
/// `EINVAL` for a bad signal number, `ESRCH`, `EPERM`.
pub(crate) fn kill(pid: u32, signum: i32) -> io::Result<()> {
    let pid =
        libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `kill(2)` takes two integers and touches no memory of ours.
    cvt(unsafe { libc::kill(pid, signum) }.into())?;
    Ok(())
}
