//! Socket I/O: `recv`, `recvfrom`, `recvmsg`, `send`, `sendto`, `sendmsg`, `read`, `readv`,
//! `write`, `writev` (the last four for sockets only), `connect`, `accept`, `accept4`, and the
//! `socket`/`socketpair` bookkeeping.
//!
//! # How a call that would block waits
//!
//! The call is made with `MSG_DONTWAIT` (for `read`/`write` on a socket: `recvfrom`/`sendto`
//! with `MSG_DONTWAIT`, for `readv`/`writev`: `recvmsg`/`sendmsg`), so the kernel's
//! `O_NONBLOCK` flag, which lives on the open file description and is shared with every dup
//! and child, is never changed. Only when it answers `EAGAIN` does the hook look further: if
//! the caller asked for `MSG_DONTWAIT` or set `O_NONBLOCK` (`fcntl(F_GETFL)`), `EAGAIN` is the
//! answer, as libc's would be. Otherwise the greenlet waits for the fd (its `SO_RCVTIMEO` or
//! `SO_SNDTIMEO` bounds the whole call: expiry gives `EAGAIN`, or the bytes done so far) and
//! tries again.
//!
//! A blocking read returns as soon as some bytes are there (unless `MSG_WAITALL`); a blocking
//! send on a stream socket sends everything before it returns (or returns the count sent
//! before an error, a timeout or a kill); a datagram is sent in one call. `connect` and
//! `accept` have no per-call flag: `O_NONBLOCK` is set with `ioctl(FIONBIO)` for that one call
//! and cleared right after, as std's `connect_timeout` does.

use std::os::fd::RawFd;
use std::time::Instant;

use libc::{c_int, c_void, iovec, msghdr, size_t, sockaddr, socklen_t, ssize_t};

use crate::fdkind::{self, Kind};
use crate::state::{self, HookScope, SOCKET};
use crate::sys::{self, errno};
use crate::wait::{wait_fd, Interest, Outcome};

/// Flags under which a receive never waits in the kernel (or must not be retried): passed
/// through as they are.
const RECV_PASS: c_int = libc::MSG_DONTWAIT | libc::MSG_ERRQUEUE | libc::MSG_OOB;

/// The per-call state of a call that may wait: its deadline and whether the fd is
/// non-blocking, each asked for once, when first needed.
struct Waiter {
    /// The fd.
    fd: RawFd,
    /// What to wait for.
    interest: Interest,
    /// The deadline from `SO_RCVTIMEO`/`SO_SNDTIMEO`, once asked.
    deadline: Option<Option<Instant>>,
    /// Whether the fd has `O_NONBLOCK`, once asked.
    nonblocking: Option<bool>,
}

/// What to do after a call said `EAGAIN`.
enum Next {
    /// Try the call again (the fd became ready).
    Retry,
    /// Return this error.
    Fail(c_int),
    /// Make the call blocking instead (the hub cannot wait here).
    Block,
}

impl Waiter {
    /// A waiter for `fd`.
    fn new(fd: RawFd, interest: Interest) -> Waiter {
        Waiter {
            fd,
            interest,
            deadline: None,
            nonblocking: None,
        }
    }

    /// Whether the caller set `O_NONBLOCK` on the fd.
    fn nonblocking(&mut self) -> bool {
        let fd = self.fd;
        *self
            .nonblocking
            .get_or_insert_with(|| sys::is_nonblocking(fd))
    }

    /// After `EAGAIN`: waits for the fd (unless it is non-blocking) and says what next.
    fn after_eagain(&mut self, scope: &HookScope) -> Next {
        if self.nonblocking() {
            return Next::Fail(libc::EAGAIN);
        }
        let fd = self.fd;
        let read = self.interest == Interest::Read;
        let deadline = *self
            .deadline
            .get_or_insert_with(|| sys::socket_timeout(fd, read).map(|t| Instant::now() + t));
        match scope.outside(|| wait_fd(fd, self.interest, deadline)) {
            Outcome::Ready => Next::Retry,
            Outcome::TimedOut => Next::Fail(libc::EAGAIN),
            Outcome::Closed => Next::Fail(libc::EBADF),
            Outcome::Interrupted(e) => Next::Fail(e),
            Outcome::Unavailable => Next::Block,
        }
    }
}

/// Runs a receive-like call (`op(extra_flags)`, one system call) as a blocking call would
/// behave, waiting cooperatively; returns its result, errno set.
fn recv_like(fd: RawFd, mut op: impl FnMut(c_int) -> ssize_t) -> ssize_t {
    if !state::may_wait() {
        return op(0);
    }
    let scope = HookScope::enter();
    let mut w = Waiter::new(fd, Interest::Read);
    loop {
        let r = op(libc::MSG_DONTWAIT);
        if r >= 0 {
            return scope.ok(r);
        }
        let e = errno();
        if e != libc::EAGAIN {
            return scope.fail(e);
        }
        match w.after_eagain(&scope) {
            Next::Retry => {}
            Next::Fail(e) => return scope.fail(e),
            Next::Block => {
                drop(scope);
                return op(0);
            }
        }
    }
}

/// Runs a send-like call on a stream socket until all `len` bytes are sent: `op(done,
/// extra_flags)` sends from byte `done` on.
fn send_all(fd: RawFd, len: usize, mut op: impl FnMut(usize, c_int) -> ssize_t) -> ssize_t {
    if !state::may_wait() {
        return op(0, 0);
    }
    let scope = HookScope::enter();
    let mut w = Waiter::new(fd, Interest::Write);
    let mut done = 0usize;
    loop {
        let r = op(done, libc::MSG_DONTWAIT);
        if r >= 0 {
            done += r as usize;
            if done >= len || w.nonblocking() {
                return scope.ok(done as ssize_t);
            }
            continue;
        }
        let e = errno();
        if e != libc::EAGAIN {
            return if done > 0 {
                scope.ok(done as ssize_t)
            } else {
                scope.fail(e)
            };
        }
        match w.after_eagain(&scope) {
            Next::Retry => {}
            Next::Fail(e) => {
                return if done > 0 {
                    scope.ok(done as ssize_t)
                } else {
                    scope.fail(e)
                };
            }
            Next::Block => {
                drop(scope);
                let r = op(done, 0);
                return if r >= 0 {
                    (done + r as usize) as ssize_t
                } else if done > 0 {
                    done as ssize_t
                } else {
                    -1
                };
            }
        }
    }
}

/// Receives into `len` bytes until they are full, the peer closes, or an error (`MSG_WAITALL`
/// on a stream socket): `op(done, extra_flags)` receives from byte `done` on.
fn recv_all(fd: RawFd, len: usize, mut op: impl FnMut(usize, c_int) -> ssize_t) -> ssize_t {
    let mut done = 0usize;
    loop {
        let r = recv_like(fd, |f| op(done, f));
        if r < 0 {
            return if done > 0 { done as ssize_t } else { -1 };
        }
        done += r as usize;
        if r == 0 || done >= len {
            return done as ssize_t;
        }
    }
}

/// A copy of an iovec array that can skip bytes already transferred.
struct IoCursor {
    /// The remaining buffers.
    iov: Vec<iovec>,
}

impl IoCursor {
    /// Copies `n` iovecs at `iov`.
    ///
    /// # Safety
    ///
    /// `iov` points to `n` valid iovecs (or `n` is 0).
    unsafe fn new(iov: *const iovec, n: usize) -> IoCursor {
        let iov = if n == 0 || iov.is_null() {
            Vec::new()
        } else {
            // SAFETY: the caller's promise.
            unsafe { std::slice::from_raw_parts(iov, n) }.to_vec()
        };
        IoCursor { iov }
    }

    /// Total bytes.
    fn len(&self) -> usize {
        self.iov.iter().map(|v| v.iov_len).sum()
    }

    /// The iovecs left after skipping `skip` bytes from the start, as a fresh array.
    fn from(&self, mut skip: usize) -> Vec<iovec> {
        let mut out = Vec::with_capacity(self.iov.len());
        for v in &self.iov {
            if skip >= v.iov_len {
                skip -= v.iov_len;
                continue;
            }
            out.push(iovec {
                // SAFETY: `skip < iov_len`: still inside the caller's buffer.
                iov_base: unsafe { v.iov_base.cast::<u8>().add(skip) }.cast(),
                iov_len: v.iov_len - skip,
            });
            skip = 0;
        }
        out
    }
}

/// `recv(2)`.
///
/// # Switches
///
/// In a greenlet of a running hub, with the family patched, when the fd is a socket in blocking
/// mode and the call would block: waits in the hub for the socket's readiness (other greenlets
/// run), then retries. Anywhere else (before `patch_*`, outside greenlets, in a non-blocking
/// socket, on files and pipes): never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` (kill) or `ETIMEDOUT`
/// (timeout), nothing more is transferred (a stream send returns what it had sent, if anything),
/// and the interrupt stays pending: it is raised at the greenlet's next Rust-side wait, or when
/// its function returns.
///
/// # Safety
///
/// As libc's `recv`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t {
    if !state::active(SOCKET) || flags & RECV_PASS != 0 {
        // SAFETY: the caller's arguments, passed on.
        return unsafe {
            sys::recvfrom(
                fd,
                buf,
                len,
                flags,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
    }
    recv_slow(
        fd,
        buf,
        len,
        flags,
        std::ptr::null_mut(),
        std::ptr::null_mut(),
    )
}

/// `recvfrom(2)`.
///
/// # Switches
///
/// In a greenlet of a running hub, with the family patched, when the fd is a socket in blocking
/// mode and the call would block: waits in the hub for the socket's readiness (other greenlets
/// run), then retries. Anywhere else (before `patch_*`, outside greenlets, in a non-blocking
/// socket, on files and pipes): never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` (kill) or `ETIMEDOUT`
/// (timeout), nothing more is transferred (a stream send returns what it had sent, if anything),
/// and the interrupt stays pending: it is raised at the greenlet's next Rust-side wait, or when
/// its function returns.
///
/// # Safety
///
/// As libc's `recvfrom`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    alen: *mut socklen_t,
) -> ssize_t {
    if !state::active(SOCKET) || flags & RECV_PASS != 0 {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { sys::recvfrom(fd, buf, len, flags, addr, alen) };
    }
    recv_slow(fd, buf, len, flags, addr, alen)
}

/// The slow path of `recv`/`recvfrom`.
#[inline(never)]
fn recv_slow(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    alen: *mut socklen_t,
) -> ssize_t {
    if flags & libc::MSG_WAITALL != 0 && len > 0 {
        if flags & libc::MSG_PEEK != 0 || fdkind::kind(fd) != Some(Kind::Stream) {
            // Peeking until full cannot be done by parts; a datagram is one call anyway.
            return recv_like(fd, |f| {
                // SAFETY: the caller's arguments, passed on.
                unsafe { sys::recvfrom(fd, buf, len, flags | f, addr, alen) }
            });
        }
        return recv_all(fd, len, |done, f| {
            // SAFETY: `done < len`: the rest of the caller's buffer.
            unsafe {
                sys::recvfrom(
                    fd,
                    buf.cast::<u8>().add(done).cast(),
                    len - done,
                    flags | f,
                    if done == 0 {
                        addr
                    } else {
                        std::ptr::null_mut()
                    },
                    if done == 0 {
                        alen
                    } else {
                        std::ptr::null_mut()
                    },
                )
            }
        });
    }
    recv_like(fd, |f| {
        // SAFETY: the caller's arguments, passed on.
        unsafe { sys::recvfrom(fd, buf, len, flags | f, addr, alen) }
    })
}

/// `recvmsg(2)`.
///
/// # Switches
///
/// In a greenlet of a running hub, with the family patched, when the fd is a socket in blocking
/// mode and the call would block: waits in the hub for the socket's readiness (other greenlets
/// run), then retries. Anywhere else (before `patch_*`, outside greenlets, in a non-blocking
/// socket, on files and pipes): never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` (kill) or `ETIMEDOUT`
/// (timeout), nothing more is transferred (a stream send returns what it had sent, if anything),
/// and the interrupt stays pending: it is raised at the greenlet's next Rust-side wait, or when
/// its function returns.
///
/// # Safety
///
/// As libc's `recvmsg`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    if !state::active(SOCKET) || flags & RECV_PASS != 0 || msg.is_null() {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { sys::recvmsg(fd, msg, flags) };
    }
    // SAFETY: `msg` is the caller's valid msghdr.
    unsafe { recvmsg_slow(fd, msg, flags) }
}

/// The slow path of `recvmsg`.
///
/// # Safety
///
/// As libc's `recvmsg`, `msg` not null.
#[inline(never)]
unsafe fn recvmsg_slow(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    if flags & libc::MSG_WAITALL != 0
        && flags & libc::MSG_PEEK == 0
        && fdkind::kind(fd) == Some(Kind::Stream)
    {
        // SAFETY: the caller's msghdr.
        let m = unsafe { &mut *msg };
        // SAFETY: the caller's iovec array.
        let cur = unsafe { IoCursor::new(m.msg_iov, m.msg_iovlen) };
        let len = cur.len();
        if len > 0 {
            let mut got_flags = 0;
            let r = recv_all(fd, len, |done, f| {
                if done == 0 {
                    // SAFETY: the caller's msghdr.
                    let r = unsafe { sys::recvmsg(fd, msg, flags | f) };
                    // SAFETY: as above (read after the call).
                    got_flags |= unsafe { (*msg).msg_flags };
                    return r;
                }
                let mut rest = cur.from(done);
                // SAFETY: zeroed msghdr is valid (null pointers, zero lengths).
                let mut m2: msghdr = unsafe { std::mem::zeroed() };
                m2.msg_iov = rest.as_mut_ptr();
                m2.msg_iovlen = rest.len() as _;
                // SAFETY: `m2` points into the caller's buffers, past what was received.
                let r = unsafe { sys::recvmsg(fd, &mut m2, flags | f) };
                got_flags |= m2.msg_flags;
                r
            });
            if r >= 0 {
                m.msg_flags = got_flags;
            }
            return r;
        }
    }
    recv_like(fd, |f| {
        // SAFETY: the caller's arguments, passed on.
        unsafe { sys::recvmsg(fd, msg, flags | f) }
    })
}

/// `send(2)`.
///
/// # Switches
///
/// In a greenlet of a running hub, with the family patched, when the fd is a socket in blocking
/// mode and the call would block: waits in the hub for the socket's readiness (other greenlets
/// run), then retries. Anywhere else (before `patch_*`, outside greenlets, in a non-blocking
/// socket, on files and pipes): never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` (kill) or `ETIMEDOUT`
/// (timeout), nothing more is transferred (a stream send returns what it had sent, if anything),
/// and the interrupt stays pending: it is raised at the greenlet's next Rust-side wait, or when
/// its function returns.
///
/// # Safety
///
/// As libc's `send`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
    if !state::active(SOCKET) || flags & libc::MSG_DONTWAIT != 0 {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { sys::sendto(fd, buf, len, flags, std::ptr::null(), 0) };
    }
    send_slow(fd, buf, len, flags, std::ptr::null(), 0)
}

/// `sendto(2)`.
///
/// # Switches
///
/// In a greenlet of a running hub, with the family patched, when the fd is a socket in blocking
/// mode and the call would block: waits in the hub for the socket's readiness (other greenlets
/// run), then retries. Anywhere else (before `patch_*`, outside greenlets, in a non-blocking
/// socket, on files and pipes): never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` (kill) or `ETIMEDOUT`
/// (timeout), nothing more is transferred (a stream send returns what it had sent, if anything),
/// and the interrupt stays pending: it is raised at the greenlet's next Rust-side wait, or when
/// its function returns.
///
/// # Safety
///
/// As libc's `sendto`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    alen: socklen_t,
) -> ssize_t {
    if !state::active(SOCKET) || flags & libc::MSG_DONTWAIT != 0 {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { sys::sendto(fd, buf, len, flags, addr, alen) };
    }
    send_slow(fd, buf, len, flags, addr, alen)
}

/// The slow path of `send`/`sendto` (and `write` on a socket).
#[inline(never)]
fn send_slow(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    alen: socklen_t,
) -> ssize_t {
    if fdkind::kind(fd) == Some(Kind::Stream) {
        return send_all(fd, len, |done, f| {
            // SAFETY: `done < len`: the rest of the caller's buffer.
            unsafe {
                sys::sendto(
                    fd,
                    buf.cast::<u8>().add(done).cast(),
                    len - done,
                    flags | f,
                    addr,
                    alen,
                )
            }
        });
    }
    // A datagram: one call, retried whole.
    send_one(fd, |f| {
        // SAFETY: the caller's arguments, passed on.
        unsafe { sys::sendto(fd, buf, len, flags | f, addr, alen) }
    })
}

/// A send that is one message (datagram sockets): retried whole after a wait.
fn send_one(fd: RawFd, mut op: impl FnMut(c_int) -> ssize_t) -> ssize_t {
    if !state::may_wait() {
        return op(0);
    }
    let scope = HookScope::enter();
    let mut w = Waiter::new(fd, Interest::Write);
    loop {
        let r = op(libc::MSG_DONTWAIT);
        if r >= 0 {
            return scope.ok(r);
        }
        let e = errno();
        if e != libc::EAGAIN {
            return scope.fail(e);
        }
        match w.after_eagain(&scope) {
            Next::Retry => {}
            Next::Fail(e) => return scope.fail(e),
            Next::Block => {
                drop(scope);
                return op(0);
            }
        }
    }
}

/// `sendmsg(2)`.
///
/// # Switches
///
/// In a greenlet of a running hub, with the family patched, when the fd is a socket in blocking
/// mode and the call would block: waits in the hub for the socket's readiness (other greenlets
/// run), then retries. Anywhere else (before `patch_*`, outside greenlets, in a non-blocking
/// socket, on files and pipes): never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` (kill) or `ETIMEDOUT`
/// (timeout), nothing more is transferred (a stream send returns what it had sent, if anything),
/// and the interrupt stays pending: it is raised at the greenlet's next Rust-side wait, or when
/// its function returns.
///
/// # Safety
///
/// As libc's `sendmsg`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    if !state::active(SOCKET) || flags & libc::MSG_DONTWAIT != 0 || msg.is_null() {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { sys::sendmsg(fd, msg, flags) };
    }
    // SAFETY: `msg` is the caller's valid msghdr.
    unsafe { sendmsg_slow(fd, msg, flags) }
}

/// The slow path of `sendmsg` (and `writev` on a socket).
///
/// # Safety
///
/// As libc's `sendmsg`, `msg` not null.
#[inline(never)]
unsafe fn sendmsg_slow(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    if fdkind::kind(fd) != Some(Kind::Stream) {
        return send_one(fd, |f| {
            // SAFETY: the caller's arguments, passed on.
            unsafe { sys::sendmsg(fd, msg, flags | f) }
        });
    }
    // SAFETY: the caller's msghdr and its iovec array.
    let (cur, m) = unsafe { (IoCursor::new((*msg).msg_iov, (*msg).msg_iovlen), *msg) };
    let len = cur.len();
    send_all(fd, len, |done, f| {
        if done == 0 {
            // SAFETY: the caller's msghdr.
            return unsafe { sys::sendmsg(fd, msg, flags | f) };
        }
        // The rest of the bytes; control data went with the first part.
        let mut rest = cur.from(done);
        let mut m2 = m;
        m2.msg_iov = rest.as_mut_ptr();
        m2.msg_iovlen = rest.len() as _;
        m2.msg_control = std::ptr::null_mut();
        m2.msg_controllen = 0;
        // SAFETY: `m2` points into the caller's buffers, past what was sent.
        unsafe { sys::sendmsg(fd, &m2, flags | f) }
    })
}

/// `read(2)`: cooperative for sockets; files, pipes and ttys pass through.
///
/// # Switches
///
/// In a greenlet of a running hub, with the family patched, when the fd is a socket in blocking
/// mode and the call would block: waits in the hub for the socket's readiness (other greenlets
/// run), then retries. Anywhere else (before `patch_*`, outside greenlets, in a non-blocking
/// socket, on files and pipes): never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` (kill) or `ETIMEDOUT`
/// (timeout), nothing more is transferred (a stream send returns what it had sent, if anything),
/// and the interrupt stays pending: it is raised at the greenlet's next Rust-side wait, or when
/// its function returns.
///
/// # Safety
///
/// As libc's `read`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, n: size_t) -> ssize_t {
    if !state::active(SOCKET) {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { sys::read(fd, buf, n) };
    }
    read_slow(fd, buf, n)
}

/// The slow path of `read`.
#[inline(never)]
fn read_slow(fd: c_int, buf: *mut c_void, n: size_t) -> ssize_t {
    if matches!(fdkind::kind(fd), Some(Kind::Stream | Kind::Socket)) {
        let r = recv_like(fd, |f| {
            // SAFETY: the caller's arguments, as `recvfrom` (what `read` is on a socket).
            unsafe { sys::recvfrom(fd, buf, n, f, std::ptr::null_mut(), std::ptr::null_mut()) }
        });
        if r >= 0 || errno() != libc::ENOTSOCK {
            return r;
        }
        // A stale cache entry: the fd is something else now.
        fdkind::forget(fd);
    }
    // SAFETY: the caller's arguments, passed on.
    unsafe { sys::read(fd, buf, n) }
}

/// `write(2)`: cooperative for sockets; files, pipes and ttys pass through.
///
/// # Switches
///
/// In a greenlet of a running hub, with the family patched, when the fd is a socket in blocking
/// mode and the call would block: waits in the hub for the socket's readiness (other greenlets
/// run), then retries. Anywhere else (before `patch_*`, outside greenlets, in a non-blocking
/// socket, on files and pipes): never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` (kill) or `ETIMEDOUT`
/// (timeout), nothing more is transferred (a stream send returns what it had sent, if anything),
/// and the interrupt stays pending: it is raised at the greenlet's next Rust-side wait, or when
/// its function returns.
///
/// # Safety
///
/// As libc's `write`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, n: size_t) -> ssize_t {
    if !state::active(SOCKET) {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { sys::write(fd, buf, n) };
    }
    write_slow(fd, buf, n)
}

/// The slow path of `write`.
#[inline(never)]
fn write_slow(fd: c_int, buf: *const c_void, n: size_t) -> ssize_t {
    if matches!(fdkind::kind(fd), Some(Kind::Stream | Kind::Socket)) {
        // `sendto` without MSG_NOSIGNAL: a broken pipe still raises SIGPIPE, as `write` does.
        let r = send_slow(fd, buf, n, 0, std::ptr::null(), 0);
        if r >= 0 || errno() != libc::ENOTSOCK {
            return r;
        }
        fdkind::forget(fd);
    }
    // SAFETY: the caller's arguments, passed on.
    unsafe { sys::write(fd, buf, n) }
}

/// `readv(2)`: cooperative for sockets.
///
/// # Switches
///
/// In a greenlet of a running hub, with the family patched, when the fd is a socket in blocking
/// mode and the call would block: waits in the hub for the socket's readiness (other greenlets
/// run), then retries. Anywhere else (before `patch_*`, outside greenlets, in a non-blocking
/// socket, on files and pipes): never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` (kill) or `ETIMEDOUT`
/// (timeout), nothing more is transferred (a stream send returns what it had sent, if anything),
/// and the interrupt stays pending: it is raised at the greenlet's next Rust-side wait, or when
/// its function returns.
///
/// # Safety
///
/// As libc's `readv`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t {
    if !state::active(SOCKET) {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { sys::readv(fd, iov, n) };
    }
    readv_slow(fd, iov, n)
}

/// The slow path of `readv`.
#[inline(never)]
fn readv_slow(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t {
    if n >= 0 && matches!(fdkind::kind(fd), Some(Kind::Stream | Kind::Socket)) {
        // SAFETY: zeroed msghdr is valid.
        let mut m: msghdr = unsafe { std::mem::zeroed() };
        m.msg_iov = iov.cast_mut();
        m.msg_iovlen = n as _;
        let r = recv_like(fd, |f| {
            // SAFETY: the caller's iovecs, as `recvmsg` (what `readv` is on a socket).
            unsafe { sys::recvmsg(fd, &mut m, f) }
        });
        if r >= 0 || errno() != libc::ENOTSOCK {
            return r;
        }
        fdkind::forget(fd);
    }
    // SAFETY: the caller's arguments, passed on.
    unsafe { sys::readv(fd, iov, n) }
}

/// `writev(2)`: cooperative for sockets.
///
/// # Switches
///
/// In a greenlet of a running hub, with the family patched, when the fd is a socket in blocking
/// mode and the call would block: waits in the hub for the socket's readiness (other greenlets
/// run), then retries. Anywhere else (before `patch_*`, outside greenlets, in a non-blocking
/// socket, on files and pipes): never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` (kill) or `ETIMEDOUT`
/// (timeout), nothing more is transferred (a stream send returns what it had sent, if anything),
/// and the interrupt stays pending: it is raised at the greenlet's next Rust-side wait, or when
/// its function returns.
///
/// # Safety
///
/// As libc's `writev`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t {
    if !state::active(SOCKET) {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { sys::writev(fd, iov, n) };
    }
    // SAFETY: the caller's arguments.
    unsafe { writev_slow(fd, iov, n) }
}

/// The slow path of `writev`.
///
/// # Safety
///
/// As libc's `writev`.
#[inline(never)]
unsafe fn writev_slow(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t {
    if (0..=libc::UIO_MAXIOV).contains(&n)
        && matches!(fdkind::kind(fd), Some(Kind::Stream | Kind::Socket))
    {
        // SAFETY: zeroed msghdr is valid.
        let mut m: msghdr = unsafe { std::mem::zeroed() };
        m.msg_iov = iov.cast_mut();
        m.msg_iovlen = n as _;
        // SAFETY: the caller's iovecs, as `sendmsg` (what `writev` is on a socket).
        let r = unsafe { sendmsg_slow(fd, &m, 0) };
        if r >= 0 || errno() != libc::ENOTSOCK {
            return r;
        }
        fdkind::forget(fd);
    }
    // SAFETY: the caller's arguments, passed on.
    unsafe { sys::writev(fd, iov, n) }
}

/// `connect(2)`: a blocking connect waits cooperatively for the handshake.
///
/// # Switches
///
/// In a greenlet of a running hub, with the family patched, when the fd is a socket in blocking
/// mode and the call would block: waits in the hub for the socket's readiness (other greenlets
/// run), then retries. Anywhere else (before `patch_*`, outside greenlets, in a non-blocking
/// socket, on files and pipes): never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` (kill) or `ETIMEDOUT`
/// (timeout), nothing more is transferred (a stream send returns what it had sent, if anything),
/// and the interrupt stays pending: it is raised at the greenlet's next Rust-side wait, or when
/// its function returns.
///
/// # Safety
///
/// As libc's `connect`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    if !state::active(SOCKET) || !state::may_wait() {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { sys::connect(fd, addr, len) };
    }
    connect_slow(fd, addr, len)
}

/// The slow path of `connect`.
#[inline(never)]
fn connect_slow(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    let scope = HookScope::enter();
    if sys::is_nonblocking(fd) || !sys::set_nonblocking(fd, true) {
        drop(scope);
        // SAFETY: the caller's arguments, passed on.
        return unsafe { sys::connect(fd, addr, len) };
    }
    // SAFETY: the caller's arguments, passed on.
    let r = unsafe { sys::connect(fd, addr, len) };
    let e = errno();
    sys::set_nonblocking(fd, false);
    if r == 0 {
        return scope.ok(0);
    }
    let mut w = Waiter::new(fd, Interest::Write);
    w.nonblocking = Some(false);
    match e {
        libc::EINPROGRESS => {}
        libc::EAGAIN => {
            // A Unix socket whose listener's backlog is full: wait, then try again.
            loop {
                match w.after_eagain(&scope) {
                    Next::Retry => {}
                    Next::Fail(libc::EAGAIN) => return scope.fail(libc::EAGAIN),
                    Next::Fail(e) => return scope.fail(e),
                    Next::Block => {
                        drop(scope);
                        // SAFETY: the caller's arguments, passed on.
                        return unsafe { sys::connect(fd, addr, len) };
                    }
                }
                sys::set_nonblocking(fd, true);
                // SAFETY: the caller's arguments, passed on.
                let r = unsafe { sys::connect(fd, addr, len) };
                let e = errno();
                sys::set_nonblocking(fd, false);
                match (r, e) {
                    (0, _) => return scope.ok(0),
                    (_, libc::EAGAIN) => continue,
                    (_, libc::EINPROGRESS) => break,
                    (_, e) => return scope.fail(e),
                }
            }
        }
        e => return scope.fail(e),
    }
    // In progress: wait until writable (SO_SNDTIMEO bounds it: expiry is EINPROGRESS, as for
    // a blocking connect), then the outcome is SO_ERROR.
    match w.after_eagain(&scope) {
        Next::Retry => match sys::socket_error(fd) {
            0 => scope.ok(0),
            e => scope.fail(e),
        },
        Next::Fail(libc::EAGAIN) => scope.fail(libc::EINPROGRESS),
        Next::Fail(e) => scope.fail(e),
        Next::Block => {
            // Wait in the kernel for the handshake, then read its outcome.
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLOUT,
                revents: 0,
            };
            // SAFETY: one valid pollfd, no timeout, no mask.
            let n = unsafe { sys::ppoll(&mut p, 1, std::ptr::null_mut(), std::ptr::null()) };
            if n < 0 {
                return scope.fail(errno());
            }
            match sys::socket_error(fd) {
                0 => scope.ok(0),
                e => scope.fail(e),
            }
        }
    }
}

/// `accept(2)`.
///
/// # Switches
///
/// In a greenlet of a running hub, with the family patched, when the fd is a socket in blocking
/// mode and the call would block: waits in the hub for the socket's readiness (other greenlets
/// run), then retries. Anywhere else (before `patch_*`, outside greenlets, in a non-blocking
/// socket, on files and pipes): never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` (kill) or `ETIMEDOUT`
/// (timeout), nothing more is transferred (a stream send returns what it had sent, if anything),
/// and the interrupt stays pending: it is raised at the greenlet's next Rust-side wait, or when
/// its function returns.
///
/// # Safety
///
/// As libc's `accept`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    // SAFETY: the caller's arguments.
    unsafe { accept4(fd, addr, len, 0) }
}

/// `accept4(2)`: a blocking accept waits cooperatively for a connection.
///
/// # Switches
///
/// In a greenlet of a running hub, with the family patched, when the fd is a socket in blocking
/// mode and the call would block: waits in the hub for the socket's readiness (other greenlets
/// run), then retries. Anywhere else (before `patch_*`, outside greenlets, in a non-blocking
/// socket, on files and pipes): never, the system call as is.
///
/// # Kill safety
///
/// A kill or `Timeout` ends the wait: the call fails with `ECANCELED` (kill) or `ETIMEDOUT`
/// (timeout), nothing more is transferred (a stream send returns what it had sent, if anything),
/// and the interrupt stays pending: it is raised at the greenlet's next Rust-side wait, or when
/// its function returns.
///
/// # Safety
///
/// As libc's `accept4`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn accept4(
    fd: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
    flags: c_int,
) -> c_int {
    let r = if !state::active(SOCKET) || !state::may_wait() {
        // SAFETY: the caller's arguments, passed on.
        unsafe { sys::accept4(fd, addr, len, flags) }
    } else {
        accept_slow(fd, addr, len, flags)
    };
    if r >= 0 {
        // The same kind as the listener, if known (asking would cost unpatched programs).
        match fdkind::cached(fd) {
            Some(k @ (Kind::Stream | Kind::Socket)) => fdkind::set(r, k),
            _ => fdkind::forget(r),
        }
    }
    r
}

/// The slow path of `accept4`.
#[inline(never)]
fn accept_slow(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t, flags: c_int) -> c_int {
    let scope = HookScope::enter();
    let mut w = Waiter::new(fd, Interest::Read);
    if w.nonblocking() {
        drop(scope);
        // SAFETY: the caller's arguments, passed on.
        return unsafe { sys::accept4(fd, addr, len, flags) };
    }
    w.nonblocking = Some(false);
    loop {
        if !sys::set_nonblocking(fd, true) {
            drop(scope);
            // SAFETY: the caller's arguments, passed on.
            return unsafe { sys::accept4(fd, addr, len, flags) };
        }
        // SAFETY: the caller's arguments, passed on.
        let r = unsafe { sys::accept4(fd, addr, len, flags) };
        let e = errno();
        sys::set_nonblocking(fd, false);
        if r >= 0 {
            return scope.ok(r);
        }
        if e != libc::EAGAIN {
            return scope.fail(e);
        }
        match w.after_eagain(&scope) {
            Next::Retry => {}
            Next::Fail(e) => return scope.fail(e),
            Next::Block => {
                drop(scope);
                // SAFETY: the caller's arguments, passed on.
                return unsafe { sys::accept4(fd, addr, len, flags) };
            }
        }
    }
}

/// `socket(2)`: records the new fd as a socket (no waiting here).
///
/// # Switches
///
/// Never: records the new fds as sockets.
///
/// # Safety
///
/// As libc's `socket`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn socket(domain: c_int, ty: c_int, proto: c_int) -> c_int {
    // SAFETY: no pointers.
    let fd = unsafe { sys::socket(domain, ty, proto) };
    if fd >= 0 {
        fdkind::set_socket(fd, ty);
    }
    fd
}

/// `socketpair(2)`: records both fds as sockets.
///
/// # Switches
///
/// Never: records the new fds as sockets.
///
/// # Safety
///
/// As libc's `socketpair`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn socketpair(
    domain: c_int,
    ty: c_int,
    proto: c_int,
    sv: *mut c_int,
) -> c_int {
    // SAFETY: the caller's arguments, passed on.
    let r = unsafe { sys::socketpair(domain, ty, proto, sv) };
    if r == 0 {
        // SAFETY: the kernel filled two fds at `sv`.
        let (a, b) = unsafe { (*sv, *sv.add(1)) };
        fdkind::set_socket(a, ty);
        fdkind::set_socket(b, ty);
    }
    r
}
