//! [`Registration`]: one fd in the hub's poller, its readiness bits and its waiters; and
//! [`Armed`], a waiter stored by code that parks with its own park function.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use greenlet::Value;

use super::{
    closed_error, is_ready, poll_now, timed_out, Closed, ConcurrentUse, Interest, IoState, Reactor,
    READABLE, WRITABLE,
};
use crate::hub::{get_hub, Hub};
use crate::park::{park_timeout, Unparker};

/// An fd registered with this thread's hub: readiness bits, at most one waiting reader and
/// one waiting writer, and the ways to wait.
///
/// There are three kinds, by who keeps the fd open:
///
/// * inside an [`IoSource`](super::IoSource), which owns the fd (reach it through
///   [`IoSource::registration`](super::IoSource::registration));
/// * a *watch* of a borrowed fd ([`Registration::watch`]): it registers a `dup` of the fd and
///   owns that, so it stays sound whatever happens to the original number;
/// * a *raw* registration ([`Registration::from_raw_fd`], `unsafe`): the fd number itself,
///   whose owner promises to keep it open while it is registered (for code that sees only fd
///   numbers, like libc hooks that cache one registration per fd).
///
/// Dropping a registration takes it out of the poller (while its fd is still open) and wakes
/// its waiters with `EBADF`. It is `!Send`: it belongs to its thread's hub.
///
/// # Examples
///
/// ```
/// use std::{io::Write, os::fd::AsFd, time::Duration};
/// use gevent_hub::reactor::{Interest, Registration};
/// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let reg = Registration::watch(a.as_fd()).unwrap();
/// let e = reg.wait(Interest::READABLE, Some(Duration::from_millis(5))).unwrap_err();
/// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
/// b.write_all(b"x").unwrap();
/// reg.wait(Interest::READABLE, None).unwrap(); // readable now
/// ```
pub struct Registration {
    /// The shared state (also in the reactor's registry, under `st.key`, until it is gone).
    st: Rc<IoState>,
    /// The hub it is registered with.
    hub: Hub,
    /// The `dup` registered in place of the fd (always for a watch; for the other kinds, when
    /// the fd was already in the epoll set). Closed after the registration is deleted.
    dup: Option<OwnedFd>,
    /// Whether [`cancel_wait`](super::cancel_wait) reaches it (watches and raw registrations).
    /// An owned registration instead wakes the watches of its fd when it is dropped.
    watched: bool,
}

impl Registration {
    /// Registers `fd`, owned by an [`IoSource`](super::IoSource), with readiness `ready`.
    pub(super) fn owned(fd: BorrowedFd<'_>, ready: Interest) -> io::Result<Registration> {
        let hub = get_hub();
        // SAFETY: the `IoSource` owns the fd (its `T: IoSafe` cannot close or swap it through
        // a shared reference) and drops this registration before `T`.
        let (st, dup) = unsafe { hub.0.reactor.add(fd, fd.as_raw_fd(), ready.bits())? };
        Ok(Registration {
            st,
            hub,
            dup,
            watched: false,
        })
    }

    /// Watches an fd the caller only borrows: registers a `dup` of it (owned by the
    /// registration), not ready until the poller reports it (so the first
    /// [`wait`](Registration::wait) consults the kernel). What `os::wait_read`, `select` and
    /// `poll` use for one wait; a cache of watches also works (each keeps its file open
    /// through its `dup` until dropped or cancelled).
    ///
    /// [`cancel_wait`](super::cancel_wait) on the fd wakes its waiters with `EBADF`, and so
    /// does dropping the [`IoSource`](super::IoSource) that owns the fd, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsFd;
    /// use gevent_hub::reactor::{Interest, Registration};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let reg = Registration::watch(a.as_fd()).unwrap();
    /// reg.wait(Interest::WRITABLE, None).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `dup`'s error (`EMFILE`); the poller's (`EPERM` for a regular file).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn watch(fd: BorrowedFd<'_>) -> io::Result<Registration> {
        let dup = rustix::io::fcntl_dupfd_cloexec(fd, 0)?;
        let hub = get_hub();
        let r = &hub.0.reactor;
        // SAFETY: `dup` is owned by the registration and closed only after it is deleted (the
        // `Drop` below); a fresh dup cannot already be in the epoll set, so no second dup is
        // made.
        let (st, none) = unsafe { r.add(dup.as_fd_ref(), fd.as_raw_fd(), 0)? };
        debug_assert!(none.is_none());
        r.watch(&st);
        Ok(Registration {
            st,
            hub,
            dup: Some(dup),
            watched: true,
        })
    }

    /// Registers the fd number `fd` itself, with both readiness bits set ("unknown: try the
    /// call"), for code that sees only fd numbers and wants one registration per fd across
    /// calls (a libc hook's cache): no `dup`, no `epoll_ctl` per wait.
    /// [`cancel_wait`](super::cancel_wait) on the fd wakes its waiters with `EBADF` and takes
    /// it out of the poller; dropping it after that only releases memory.
    ///
    /// If the fd is already in the epoll set (an [`IoSource`](super::IoSource) owns it), a
    /// `dup` of it is registered instead.
    ///
    /// # Safety
    ///
    /// `fd` must be an open descriptor, and stay open until the registration is dropped or
    /// [`cancel_wait`](super::cancel_wait) was called for it (a `close`/`dup2` hook calls
    /// `cancel_wait` before the real call). Closing it earlier could make the registration
    /// delete, through the reused number, the registration of an unrelated file.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::{AsFd, AsRawFd};
    /// use gevent_hub::reactor::{cancel_wait, Interest, Registration};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// // SAFETY: `a` outlives the registration: it is cancelled before `a` is dropped.
    /// let reg = unsafe { Registration::from_raw_fd(a.as_raw_fd()) }.unwrap();
    /// assert!(reg.is_ready(Interest::READABLE));
    /// cancel_wait(a.as_fd()); // what a close hook does before the real close
    /// drop(a);
    /// let e = reg.wait(Interest::READABLE, None).unwrap_err();
    /// assert_eq!(e.raw_os_error(), Some(libc::EBADF));
    /// ```
    ///
    /// # Errors
    ///
    /// The poller's error (`EBADF`, `EPERM` for a regular file).
    ///
    /// # Switches
    ///
    /// Never.
    pub unsafe fn from_raw_fd(fd: RawFd) -> io::Result<Registration> {
        if fd < 0 {
            return Err(closed_error());
        }
        // SAFETY: the caller promises that `fd` is open for as long as this borrow is used.
        let bfd = unsafe { BorrowedFd::borrow_raw(fd) };
        let hub = get_hub();
        let r = &hub.0.reactor;
        // SAFETY: the caller keeps `fd` open until the registration is dropped or cancelled
        // (which deletes it from the poller); a dup, if made, is owned by the registration.
        let (st, dup) = unsafe { r.add(bfd, fd, READABLE | WRITABLE)? };
        r.watch(&st);
        Ok(Registration {
            st,
            hub,
            dup,
            watched: true,
        })
    }

    /// The reactor.
    #[inline]
    fn reactor(&self) -> &Reactor {
        &self.hub.0.reactor
    }

    /// The registered descriptor (the fd, or the registration's `dup` of it), open while the
    /// registration exists.
    fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the registered descriptor is open while the registration exists: an owned
        // or raw fd by its owner's contract, a dup because we own it.
        unsafe { BorrowedFd::borrow_raw(self.st.fd) }
    }

    /// Whether the readiness bit of a direction in `interest` is set: a call for it may
    /// proceed without waiting (the poller reported readiness, or the registration is new, and
    /// no `WouldBlock` disproved it since). A hang-up or error leaves both set for good.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsFd;
    /// use gevent_hub::reactor::{Interest, Registration};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let reg = Registration::watch(a.as_fd()).unwrap();
    /// assert!(!reg.is_ready(Interest::WRITABLE)); // a watch waits for the poller first
    /// reg.set_ready(Interest::WRITABLE);
    /// assert!(reg.is_ready(Interest::WRITABLE));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn is_ready(&self, interest: Interest) -> bool {
        self.st.is_ready(interest.bits())
    }

    /// Sets readiness bits: the next call for those directions tries before waiting.
    ///
    /// # Examples
    ///
    /// See [`is_ready`](Registration::is_ready).
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn set_ready(&self, interest: Interest) {
        self.st.ready.set(self.st.ready.get() | interest.bits());
    }

    /// Clears readiness bits: the caller's system call for those directions returned
    /// `WouldBlock`, so the next wait parks until the poller reports an edge. (Hang-ups and
    /// errors stay: once reported, calls never block again.)
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use gevent_hub::reactor::{Interest, Registration};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// // SAFETY: `a` outlives the registration.
    /// let reg = unsafe { Registration::from_raw_fd(a.as_raw_fd()) }.unwrap();
    /// reg.clear_ready(Interest::READABLE);
    /// assert!(!reg.is_ready(Interest::READABLE));
    /// # drop(reg);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn clear_ready(&self, interest: Interest) {
        self.st.clear(interest.bits());
    }

    /// Waits until the fd is ready for a direction of `interest` (or has an error or
    /// hang-up), or `timeout` passes. Level semantics: it returns at once while the fd is
    /// ready, also when nothing was read since the last wait (a set bit is confirmed with a
    /// zero-timeout `poll(2)`; a clear one parks until the poller sets it).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{io::Write, os::fd::AsFd};
    /// use gevent_hub::reactor::{Interest, Registration};
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let reg = Registration::watch(a.as_fd()).unwrap();
    /// gevent_hub::spawn(move || b.write_all(b"x").unwrap());
    /// reg.wait(Interest::READABLE, None).unwrap(); // switches until the greenlet wrote
    /// reg.wait(Interest::READABLE, None).unwrap(); // still readable: nothing was read
    /// ```
    ///
    /// # Errors
    ///
    /// `TimedOut` (with no OS error code) after `timeout`; `EBADF` (`raw_os_error`) if the
    /// registration is closed or cancelled while waiting, or was before; `Other` wrapping
    /// [`ConcurrentUse`] if another greenlet already waits for that direction.
    ///
    /// # Panics
    ///
    /// Re-raises a kill or timeout aimed at the greenlet (see [`arm`](Registration::arm) for
    /// waits that must not unwind); panics inside the hub (a callback).
    ///
    /// # Switches
    ///
    /// Yes, unless the fd is ready.
    ///
    /// # Kill safety
    ///
    /// A kill or timeout leaves nothing behind: the waiter is removed.
    pub fn wait(&self, interest: Interest, timeout: Option<Duration>) -> io::Result<()> {
        let bits = interest.bits();
        if self.st.gone.get() {
            return Err(closed_error());
        }
        if self.st.is_ready(bits) {
            if poll_now(self.fd(), bits)? {
                return Ok(());
            }
            self.st.clear(bits);
        }
        self.park_for(bits, timeout)
    }

    /// Runs `op` (a non-blocking system call on the fd for `interest`: read, receive,
    /// accept, or write, send, connect) until it does not return `WouldBlock`, switching to
    /// the hub in between until the fd is ready, and returns its outcome. If the bit is clear
    /// (the hub knows the fd is not ready), `op` is not called until the poller sets it. Only
    /// `WouldBlock` clears the bit; a successful `op` leaves it set, however short its result.
    /// `Interrupted` is retried.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{io::Read, os::fd::AsRawFd};
    /// use gevent_hub::reactor::{Interest, Registration};
    /// let (mut a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// // SAFETY: `a` outlives the registration.
    /// let reg = unsafe { Registration::from_raw_fd(a.as_raw_fd()) }.unwrap();
    /// gevent_hub::spawn(move || { use std::io::Write; b.write_all(b"hi").unwrap(); b });
    /// let mut buf = [0u8; 4];
    /// let n = reg.io_with(Interest::READABLE, None, || a.read(&mut buf)).unwrap();
    /// assert_eq!(&buf[..n], b"hi");
    /// # drop(reg);
    /// ```
    ///
    /// # Errors
    ///
    /// `op`'s error; `TimedOut` (no OS error code) if `timeout` (for all the waits together)
    /// passes while waiting; as [`wait`](Registration::wait) otherwise.
    ///
    /// # Panics
    ///
    /// As [`wait`](Registration::wait).
    ///
    /// # Switches
    ///
    /// Yes, when `op` would block.
    ///
    /// # Kill safety
    ///
    /// A kill unwinds only from a wait, between two calls of `op`: what `op` did stays done.
    #[inline]
    pub fn io_with<R>(
        &self,
        interest: Interest,
        timeout: Option<Duration>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        let bits = interest.bits();
        let st = &*self.st;
        // A timeout too long for the clock (`Duration::MAX`) is no limit.
        let timeout = timeout.filter(|t| crate::deadline_after(*t).is_some());
        let mut deadline: Option<Instant> = None;
        loop {
            if st.is_ready(bits) {
                match op() {
                    Ok(r) => return Ok(r),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => st.clear(bits),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            let left = match timeout {
                None => None,
                Some(t) => {
                    let now = Instant::now();
                    let d = *deadline.get_or_insert_with(|| now.checked_add(t).unwrap_or(now));
                    Some(d.saturating_duration_since(now))
                }
            };
            self.park_for(bits, left)?;
        }
    }

    /// Parks until the poller sets one of `bits` (returns at once if one is set), or
    /// `timeout` passes.
    fn park_for(&self, bits: u8, timeout: Option<Duration>) -> io::Result<()> {
        let st = &*self.st;
        if st.is_ready(bits) {
            return Ok(());
        }
        if st.gone.get() {
            return Err(closed_error());
        }
        if let Some(e) = self.concurrent_use(bits) {
            return Err(io::Error::other(e));
        }
        let mut armed = None;
        let r = park_timeout(timeout, |u| {
            self.put_waiters(bits, &u);
            armed = Some(Armed {
                reg: self,
                bits,
                refused: None,
            });
        });
        match r {
            Ok(v) => armed.expect("stored by the park").finish(&v),
            Err(_) => Err(timed_out()),
        }
    }

    /// The error to give if another greenlet waits for one of `bits` already.
    fn concurrent_use(&self, bits: u8) -> Option<ConcurrentUse> {
        [(true, READABLE), (false, WRITABLE)]
            .into_iter()
            .find(|&(read, bit)| bits & bit != 0 && self.st.waiting(read))
            .map(|(read, _)| ConcurrentUse {
                fd: self.st.orig,
                read,
            })
    }

    /// Stores `u` in the slots of `bits`.
    #[inline]
    fn put_waiters(&self, bits: u8, u: &Unparker) {
        for (read, bit) in [(true, READABLE), (false, WRITABLE)] {
            if bits & bit != 0 {
                self.st.put_waiter(self.reactor(), read, u.clone());
            }
        }
    }

    /// Stores `u` (the [`Unparker`] of a park under way) to be woken when the fd becomes
    /// ready for a direction of `interest`, for code that parks with a park function of its
    /// own (one that returns a kill or a timeout as a value, for example, where unwinding is
    /// not allowed). Call it inside the park's registration closure; after the park returns,
    /// pass its value to [`Armed::finish`]; if the park ended otherwise (a timeout, a kill),
    /// drop the [`Armed`]: that removes the waiter.
    ///
    /// If a direction of `interest` is ready already, the registration is closed, or another
    /// greenlet waits for that direction, `u` is woken at once and nothing is stored;
    /// [`Armed::finish`] then says which. Check [`is_ready`](Registration::is_ready) first to
    /// avoid that trip through the hub. Several registrations may be armed with clones of one
    /// `Unparker` (a wait on several fds): the first that becomes ready wakes it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{io::Write, os::fd::AsFd, time::Duration};
    /// use gevent_hub::reactor::{Interest, Registration};
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let reg = Registration::watch(a.as_fd()).unwrap();
    /// gevent_hub::spawn(move || b.write_all(b"x").unwrap());
    /// let mut armed = None;
    /// // Any park function that hands out an Unparker works here.
    /// let r = gevent_hub::park_timeout(Some(Duration::from_secs(5)), |u| {
    ///     armed = Some(reg.arm(Interest::READABLE, u));
    /// });
    /// let v = r.expect("woken before the time limit");
    /// armed.unwrap().finish(&v).unwrap(); // Ok: readable
    /// assert!(reg.is_ready(Interest::READABLE));
    /// ```
    ///
    /// # Switches
    ///
    /// Never (the caller's park switches).
    pub fn arm(&self, interest: Interest, u: Unparker) -> Armed<'_> {
        let bits = interest.bits();
        let mut armed = Armed {
            reg: self,
            bits: 0,
            refused: None,
        };
        if self.st.gone.get() {
            u.wake(Value::new(Closed));
        } else if self.st.is_ready(bits) {
            u.wake(Value::empty());
        } else if let Some(e) = self.concurrent_use(bits) {
            armed.refused = Some(e);
            u.wake(Value::empty());
        } else {
            self.put_waiters(bits, &u);
            armed.bits = bits;
        }
        armed
    }

    /// Wakes the greenlets waiting on this registration now with `EBADF`; the registration
    /// stays (later waits work as before).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{os::fd::AsFd, rc::Rc};
    /// use gevent_hub::reactor::{Interest, Registration};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let reg = Rc::new(Registration::watch(a.as_fd()).unwrap());
    /// let r2 = reg.clone();
    /// let g = gevent_hub::spawn(move || r2.wait(Interest::READABLE, None).map_err(|e| e.raw_os_error()));
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// reg.cancel_waiters();
    /// assert_eq!(g.get().unwrap(), Err(Some(libc::EBADF)));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn cancel_waiters(&self) {
        self.st.wake_closed(self.reactor());
    }

    /// Whether waiters on this registration keep the loop alive (gevent's `ref`); default
    /// `true`. With `false`, a greenlet waiting only on it gets `LoopExit` ("would block
    /// forever") when nothing else is pending.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{os::fd::AsFd, time::Duration};
    /// use gevent_hub::reactor::{Interest, Registration};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let reg = Registration::watch(a.as_fd()).unwrap();
    /// reg.set_ref(false);
    /// assert!(reg.wait(Interest::READABLE, Some(Duration::from_millis(1))).is_err());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_ref(&self, refd: bool) {
        let st = &self.st;
        if st.refd.replace(refd) == refd {
            return;
        }
        let n = [true, false]
            .into_iter()
            .filter(|&r| st.waiting_or_stale(r))
            .count();
        let refs = &self.reactor().refs;
        if refd {
            refs.set(refs.get() + n);
        } else {
            refs.set(refs.get() - n);
        }
    }

    /// Whether the registration was taken out of the poller: by [`cancel_wait`](super::cancel_wait)
    /// for its fd, by the drop of the [`IoSource`](super::IoSource) that owns the fd, or by
    /// the hub's teardown. Its waits then fail with `EBADF` at once; a cache of raw
    /// registrations replaces such an entry with a fresh one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::{AsFd, AsRawFd};
    /// use gevent_hub::reactor::{cancel_wait, Registration};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// // SAFETY: `a` outlives the registration.
    /// let reg = unsafe { Registration::from_raw_fd(a.as_raw_fd()) }.unwrap();
    /// assert!(!reg.is_closed());
    /// cancel_wait(a.as_fd());
    /// assert!(reg.is_closed());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[inline]
    pub fn is_closed(&self) -> bool {
        self.st.gone.get()
    }

    /// The fd number this registration is for (for messages; a watch registers a `dup`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::{AsFd, AsRawFd};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let reg = gevent_hub::reactor::Registration::watch(a.as_fd()).unwrap();
    /// assert_eq!(reg.fd_number(), a.as_raw_fd());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn fd_number(&self) -> RawFd {
        self.st.orig
    }
}

/// A borrowed `OwnedFd` as a `BorrowedFd` (without importing `AsFd` for one call).
trait AsFdRef {
    /// The borrow.
    fn as_fd_ref(&self) -> BorrowedFd<'_>;
}

impl AsFdRef for OwnedFd {
    fn as_fd_ref(&self) -> BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(self)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let r = &self.hub.0.reactor;
        // Deleted through the registered descriptor, which is still open: the owner's fd
        // (closed after this), the raw fd (by contract), or our dup (closed below).
        r.remove(&self.st);
        if self.watched {
            r.unwatch(&self.st);
        } else {
            // An owned fd is about to close: wake the watches of it ("closed in another
            // greenlet"), while their dups are still registered.
            r.cancel(self.st.orig);
        }
        drop(self.dup.take());
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ready = self.st.ready.get();
        f.debug_struct("Registration")
            .field("fd", &self.st.orig)
            .field("readable", &is_ready(ready, READABLE))
            .field("writable", &is_ready(ready, WRITABLE))
            .field("closed", &self.st.gone.get())
            .finish()
    }
}

/// A waiter stored by [`Registration::arm`] for a park under way. After the park returns a
/// value, [`finish`](Armed::finish) interprets it; dropping an `Armed` (also through
/// `finish`) removes the waiter if it is still stored (the park ended by a timeout, a kill,
/// or another registration's wake).
///
/// # Examples
///
/// See [`Registration::arm`].
#[must_use = "dropping it at once removes the waiter"]
pub struct Armed<'a> {
    /// The registration.
    reg: &'a Registration,
    /// The directions whose slots hold our waiter (0: nothing was stored).
    bits: u8,
    /// Set when another greenlet already waited: the error `finish` returns.
    refused: Option<ConcurrentUse>,
}

impl Armed<'_> {
    /// The outcome of the wait, from the value the park returned: `Ok` when the fd became
    /// ready (or was ready when armed).
    ///
    /// # Errors
    ///
    /// `EBADF` if the registration was closed or cancelled; `Other` wrapping
    /// [`ConcurrentUse`] if another greenlet was already waiting when it was armed.
    ///
    /// # Examples
    ///
    /// See [`Registration::arm`].
    ///
    /// # Switches
    ///
    /// Never.
    pub fn finish(self, woken_with: &Value) -> io::Result<()> {
        if let Some(e) = self.refused {
            return Err(io::Error::other(e));
        }
        if woken_with.is::<Closed>() {
            return Err(closed_error());
        }
        Ok(())
    }
}

impl Drop for Armed<'_> {
    #[inline]
    fn drop(&mut self) {
        let st = &self.reg.st;
        let r = self.reg.reactor();
        for (read, bit) in [(true, READABLE), (false, WRITABLE)] {
            if self.bits & bit != 0 {
                st.clear_stale(r, read);
            }
        }
    }
}

impl fmt::Debug for Armed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Armed")
            .field("fd", &self.reg.st.orig)
            .field("refused", &self.refused.is_some())
            .finish()
    }
}
