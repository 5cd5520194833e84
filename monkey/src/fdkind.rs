//! What an fd is (a stream socket, another socket, not a socket), cached per fd number.
//!
//! `read`, `write`, `readv` and `writev` are hooked for sockets only: files, pipes and ttys
//! pass through. Telling them apart takes an `fstat` (and a `getsockopt(SO_TYPE)` for a
//! socket), so the answer is cached in a table of atomics indexed by fd number (fds beyond it
//! are asked each time). The entry is cleared by the `close`, `dup2` and `dup3` hooks and set by
//! the `socket`, `socketpair`, `accept` and `accept4` hooks. An fd closed where no hook sees it
//! (glibc's `fclose`, `close_range`) can leave a stale entry: a stale "socket" corrects itself
//! (the socket call fails with `ENOTSOCK` and the fd is asked again); a stale "not a socket"
//! only makes that fd's `read`/`write` pass through (blocking the thread as they would without
//! the hooks) until a socket hook sets it again.
//!
//! Only atomics: async-signal-safe, no allocation, no lock.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU8, Ordering};

/// How many fds the table covers.
const SIZE: usize = 65536;

/// Not known yet.
const UNKNOWN: u8 = 0;

/// What an fd is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A stream socket (`SOCK_STREAM`): a blocking send sends everything.
    Stream = 1,
    /// Another socket (datagram, seqpacket, raw): every send is one message.
    Socket = 2,
    /// Not a socket: the hooks pass through.
    Other = 3,
}

/// The cache.
static KINDS: [AtomicU8; SIZE] = [const { AtomicU8::new(UNKNOWN) }; SIZE];

/// What `fd` is known to be, without asking the kernel.
#[inline]
pub(crate) fn cached(fd: RawFd) -> Option<Kind> {
    match usize::try_from(fd)
        .ok()
        .and_then(|i| KINDS.get(i))?
        .load(Ordering::Relaxed)
    {
        1 => Some(Kind::Stream),
        2 => Some(Kind::Socket),
        3 => Some(Kind::Other),
        _ => None,
    }
}

/// What `fd` is; `None` if it is not open (the call that follows reports `EBADF`).
#[inline]
pub(crate) fn kind(fd: RawFd) -> Option<Kind> {
    if let Some(k) = cached(fd) {
        return Some(k);
    }
    let k = classify(fd)?;
    set(fd, k);
    Some(k)
}

/// Asks the kernel what `fd` is.
#[cold]
fn classify(fd: RawFd) -> Option<Kind> {
    if fd < 0 {
        return None;
    }
    // SAFETY: queries; a closed fd gives EBADF.
    let st = rustix::fs::fstat(unsafe { crate::sys::bfd(fd) }).ok()?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::Socket {
        return Some(Kind::Other);
    }
    // SAFETY: as above.
    let ty = rustix::net::sockopt::socket_type(unsafe { crate::sys::bfd(fd) }).ok()?;
    Some(if ty == rustix::net::SocketType::STREAM {
        Kind::Stream
    } else {
        Kind::Socket
    })
}

/// Records what `fd` is.
#[inline]
pub(crate) fn set(fd: RawFd, k: Kind) {
    if let Some(slot) = usize::try_from(fd).ok().and_then(|i| KINDS.get(i)) {
        slot.store(k as u8, Ordering::Relaxed);
    }
}

/// Records a new socket of type `ty` (`SOCK_STREAM`... possibly with `SOCK_NONBLOCK` and
/// `SOCK_CLOEXEC` or-ed in).
#[inline]
pub(crate) fn set_socket(fd: RawFd, ty: libc::c_int) {
    let k = if ty & 0xf == libc::SOCK_STREAM {
        Kind::Stream
    } else {
        Kind::Socket
    };
    set(fd, k);
}

/// Forgets what `fd` was (it is being closed or replaced).
#[inline]
pub(crate) fn forget(fd: RawFd) {
    if let Some(slot) = usize::try_from(fd).ok().and_then(|i| KINDS.get(i)) {
        slot.store(UNKNOWN, Ordering::Relaxed);
    }
}
