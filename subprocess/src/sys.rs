//! The crate's system calls, in one place, through `rustix` (direct system calls, never
//! libc's wrappers that the monkey crate may interpose): `pidfd_open(2)`, `ioctl(FIONBIO)`
//! for `O_NONBLOCK`, and `kill(2)`. Everything else (spawning, reaping with
//! `waitpid(pid, WNOHANG)`) goes through `std::process`.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::process::{Pid, PidfdFlags, Signal};

/// The `Pid` of a child's process id.
fn pid(pid: u32) -> io::Result<Pid> {
    i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))
}

/// Opens a pidfd for `pid` (Linux 5.3+): a descriptor that becomes readable when the process
/// exits. It is close-on-exec.
///
/// # Errors
///
/// `ENOSYS` on kernels without `pidfd_open` (or where a seccomp filter hides it), `ESRCH` if
/// there is no such process, `EMFILE` when out of descriptors.
pub(crate) fn pidfd_open(p: u32) -> io::Result<OwnedFd> {
    Ok(rustix::process::pidfd_open(pid(p)?, PidfdFlags::empty())?)
}

/// Sets or clears `O_NONBLOCK` on `fd`'s open file description.
///
/// # Errors
///
/// `ioctl`'s error (`EBADF`).
pub(crate) fn set_nonblocking(fd: impl AsFd, on: bool) -> io::Result<()> {
    Ok(rustix::io::ioctl_fionbio(fd, on)?)
}

/// Sends `signum` to `pid`.
///
/// The caller must know that `pid` is its own child and not yet reaped, so that the number
/// cannot belong to another process (a pid is reused only after its zombie is reaped).
///
/// # Errors
///
/// `InvalidInput` for a number that is not a named signal (`SIGTERM`, `SIGKILL`...; realtime
/// signals and 0 are not accepted); `ESRCH`, `EPERM`.
pub(crate) fn kill(p: u32, signum: i32) -> io::Result<()> {
    let sig = Signal::from_named_raw(signum).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{signum} is not a named signal"),
        )
    })?;
    Ok(rustix::process::kill_process(pid(p)?, sig)?)
}
