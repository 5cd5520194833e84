//! Waiting for file descriptors: [`IoSource`], the registration every cooperative I/O type
//! builds on, and [`wait_read`] / [`wait_write`] for any fd.
//!
//! # Design: edge-triggered registrations with readiness bits
//!
//! An fd is added to the hub's [`polling::Poller`] once, when its [`IoSource`] is created, for
//! both directions plus hang-ups (`Event::all(key).with_interrupt()`) in edge-triggered mode
//! (`PollMode::Edge`); it is never re-armed. The hub keeps two readiness bits per
//! registration (`READABLE`, `WRITABLE`):
//!
//! * the poller *sets* a bit whenever the kernel reports an edge for that direction (and wakes
//!   the greenlet parked for it, if any); a hang-up or error sets both, stickily;
//! * an I/O call *clears* it only when the kernel proves the fd is not ready: the call
//!   returned `WouldBlock` (`EAGAIN`);
//! * an I/O call whose bit is clear does not even try the system call: it parks until the
//!   poller sets the bit.
//!
//! Nothing can be missed between a `WouldBlock` and the park, because the hub (the only place
//! that polls) cannot run in between: the greenlet runs until it parks. There is no
//! `epoll_ctl` per wait.
//!
//! Why a short read does not clear the readable bit (as tokio does): `polling` cannot ask for
//! `EPOLLRDHUP`, so a peer's end-of-stream shows only as readability. When data and the FIN
//! both arrive before the poller collects the fd's event, they make one edge; a read that
//! returns the data (less than asked) leaves the end-of-file still to be read, and no edge
//! would ever come for it: a reader that waited would hang (`tests/net_eof.rs`). So after a
//! short read the next read tries again and returns the end-of-file, more data, or
//! `WouldBlock`. The cost, measured on the echo benchmark (`echo_compare.sh`, 100
//! connections; the same build with `EPOLLRDHUP`, the short-read rule and its own epoll
//! wrapper, in the same runs): about 0.4 extra `recv` returning `EAGAIN` per round trip
//! (`strace -c`: 2.45 system calls per round trip instead of 2.0, of which the `polling`
//! wait's own `timerfd_settime`, `epoll_ctl` and `read` are 0.03), and 3 to 4 % fewer round
//! trips per second for 4 to 5 % more server CPU per round trip (0.87 to 0.93 of tokio's
//! round trips instead of 0.91 to 0.96). Writability is cleared only by `WouldBlock` too.
//!
//! A new registration starts with both bits set ("unknown: try the call"). Edge-triggered
//! `epoll` also reports the state an fd is in when it is added, so a fresh fd that is already
//! readable still produces its event.
//!
//! [`IoSource::wait_readable`] has *level* semantics (it returns while the fd is readable, also
//! when the caller did not read anything since the last wake): if the bit is set, it confirms
//! with a zero-timeout `poll(2)` before returning, so callers that wait first and read later,
//! or read only part of the data, never hang. The net types use the cheaper
//! [`IoSource::read_with`] / [`IoSource::write_with`] (try, then wait only after `WouldBlock`).
//!
//! [`wait_read`] / [`wait_write`] (and `select`) wait on fds they do not own: each wait adds a
//! temporary registration and removes it afterwards. When the fd is already in the epoll set
//! (an [`IoSource`] owns it: `EEXIST`), the temporary registration uses a `dup` of the fd
//! instead, which `epoll` treats as a separate registration of the same file. The hub tracks
//! these temporary waits by fd, so that an [`IoSource`] being dropped (or [`cancel_wait`])
//! wakes them with `EBADF` before the fd is closed, and removes them from the epoll set while
//! the fd is still open.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use greenlet::Value;

use crate::hub::{get_hub, Hub, HubInner};
use crate::park::{park_timeout, Unparker};
use crate::poller::Events;

/// Readiness bit: the fd may be readable.
pub(crate) const READABLE: u8 = 1;
/// Readiness bit: the fd may be writable.
pub(crate) const WRITABLE: u8 = 2;
/// Sticky readiness bit: the fd hung up or failed; reads cannot block any more (`WouldBlock`
/// never clears it).
const READ_CLOSED: u8 = READABLE << 2;
/// Sticky readiness bit: hang-up or error; writes cannot block any more.
const WRITE_CLOSED: u8 = WRITABLE << 2;

/// Whether `ready` says a call for `bit` (`READABLE` or `WRITABLE`) may proceed.
#[inline]
fn is_ready(ready: u8, bit: u8) -> bool {
    ready & (bit | bit << 2) != 0
}

/// The state of one registration, shared (an `Rc`) by the hub's registry, which the poller's
/// events reach by key, and by its owner ([`IoSource`], a temporary wait), which reaches it
/// directly: the hot path of a socket call touches only these cells.
pub(crate) struct IoState {
    /// The descriptor in the epoll set (the owner's fd, or a dup of it).
    fd: Cell<RawFd>,
    /// Readiness bits (`READABLE`, `WRITABLE`, and the sticky `READ_CLOSED`, `WRITE_CLOSED`)
    /// reported by the poller and not disproved since.
    ready: Cell<u8>,
    /// The greenlet waiting to read, if any.
    reader: Cell<Option<Unparker>>,
    /// The greenlet waiting to write, if any.
    writer: Cell<Option<Unparker>>,
    /// Whether a waiter here keeps the loop alive.
    ///
    /// # Invariant
    ///
    /// `HubInner::io_refs` counts one for each present `reader`/`writer` of a `refd` state.
    refd: Cell<bool>,
}

/// An fd registered with the poller: what the hub's registry holds under each key.
pub(crate) type IoEntry = Rc<IoState>;

impl IoState {
    /// The waiter slot of a direction.
    fn slot(&self, read: bool) -> &Cell<Option<Unparker>> {
        if read {
            &self.reader
        } else {
            &self.writer
        }
    }

    /// Whether a call for `bit` may proceed.
    #[inline]
    fn is_ready(&self, bit: u8) -> bool {
        is_ready(self.ready.get(), bit)
    }

    /// Clears readiness bits.
    #[inline]
    fn clear(&self, bits: u8) {
        self.ready.set(self.ready.get() & !bits);
    }

    /// Whether a greenlet is parked in the slot of `read`.
    fn waiting(&self, read: bool) -> bool {
        let slot = self.slot(read);
        let u = slot.take();
        let w = u.as_ref().is_some_and(Unparker::is_waiting);
        slot.set(u);
        w
    }

    /// Whether the slot of `read` holds a waiter (live or stale: counted either way).
    fn waiting_or_stale(&self, read: bool) -> bool {
        let slot = self.slot(read);
        let u = slot.take();
        let some = u.is_some();
        slot.set(u);
        some
    }

    /// Stores `u` in the slot of `read`, counting it in `io_refs`. (A stale waiter found
    /// there, woken but not yet back to clear it, is already counted.)
    fn put_waiter(&self, hub: &HubInner, read: bool, u: Unparker) {
        if self.slot(read).replace(Some(u)).is_none() && self.refd.get() {
            hub.io_refs.set(hub.io_refs.get() + 1);
        }
    }

    /// Takes the waiter of `read` out of its slot, uncounting it.
    fn take_waiter(&self, hub: &HubInner, read: bool) -> Option<Unparker> {
        let u = self.slot(read).take();
        if u.is_some() && self.refd.get() {
            hub.io_refs.set(hub.io_refs.get() - 1);
        }
        u
    }

    /// Wakes the waiters of both directions with the "closed" error.
    fn wake_closed(&self, hub: &HubInner) {
        for read in [true, false] {
            if let Some(u) = self.take_waiter(hub, read) {
                u.wake(Value::new(Closed));
            }
        }
    }
}

/// The wake value of a waiter whose fd was closed (deregistered) under it.
struct Closed;

/// Whether a wake value says the fd was closed under the waiter.
pub(crate) fn is_closed_value(v: &Value) -> bool {
    v.is::<Closed>()
}

/// The error of a wait ended because the fd was closed (gevent: "File descriptor was closed in
/// another greenlet").
pub(crate) fn closed_error() -> io::Error {
    io::Error::from_raw_os_error(libc::EBADF)
}

/// Two greenlets tried to wait for the same direction of one fd (gevent's
/// `ConcurrentObjectUseError`). Returned inside an `io::Error` of kind `Other`.
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use gevent_hub::{net::unix::UnixStream, ConcurrentUse};
/// let (a, _b) = UnixStream::pair().unwrap();
/// let mut r1 = a.try_clone().unwrap();
/// let g = gevent_hub::spawn(move || { let _ = r1.read(&mut [0u8; 1]); });
/// gevent_hub::sleep(std::time::Duration::ZERO); // g waits to read
/// let e = (&a).read(&mut [0u8; 1]).unwrap_err();
/// let cu = e.get_ref().unwrap().downcast_ref::<ConcurrentUse>().unwrap();
/// assert!(cu.read);
/// g.kill();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConcurrentUse {
    /// The fd.
    pub fd: RawFd,
    /// `true` for reading, `false` for writing.
    pub read: bool,
}

impl fmt::Display for ConcurrentUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "another greenlet is already waiting to {} fd {} (one reader and one writer at a \
             time: gevent's ConcurrentObjectUseError)",
            if self.read { "read" } else { "write" },
            self.fd
        )
    }
}

impl std::error::Error for ConcurrentUse {}

impl Hub {
    /// Adds `fd` to the poller (edge-triggered, both directions) under a fresh key, with the
    /// readiness bits `ready`. If `fd` is already in the epoll set, a dup of it is added instead
    /// and returned: the caller must keep it open until [`Hub::deregister_fd`].
    pub(crate) fn register_fd(
        &self,
        fd: RawFd,
        ready: u8,
    ) -> io::Result<(usize, Rc<IoState>, Option<OwnedFd>)> {
        let st = Rc::new(IoState {
            fd: Cell::new(fd),
            ready: Cell::new(ready),
            reader: Cell::new(None),
            writer: Cell::new(None),
            refd: Cell::new(true),
        });
        let key = self.0.io.borrow_mut().insert(st.clone());
        // SAFETY: the caller keeps `fd` open until it calls `deregister_fd` (IoSource's
        // contract), so the poller never holds a closed descriptor.
        let r = self
            .0
            .poller
            .add(unsafe { BorrowedFd::borrow_raw(fd) }, key);
        let dup = match r {
            Ok(()) => None,
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => match self.register_dup(&st, key) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.0.io.borrow_mut().remove(key);
                    return Err(e);
                }
            },
            Err(e) => {
                self.0.io.borrow_mut().remove(key);
                return Err(e);
            }
        };
        Ok((key, st, dup))
    }

    /// Registers a dup of the fd of `st` under `key` (for an fd the epoll set already holds).
    fn register_dup(&self, st: &IoState, key: usize) -> io::Result<OwnedFd> {
        // SAFETY: the caller keeps the fd open for the duration of this call.
        let bfd = unsafe { BorrowedFd::borrow_raw(st.fd.get()) };
        let dup = rustix::io::fcntl_dupfd_cloexec(bfd, 0)?;
        // The caller keeps `dup` open until the registration is deleted.
        self.0.poller.add(dup.as_fd(), key)?;
        st.fd.set(dup.as_raw_fd());
        Ok(dup)
    }

    /// Removes `key` from the poller; waiters still parked on it are woken with the "closed"
    /// error.
    pub(crate) fn deregister_fd(&self, key: usize) {
        let Some(st) = self.0.io.borrow_mut().try_remove(key) else {
            return;
        };
        // SAFETY: the fd is still open (the caller closes it after this), and registered.
        let bfd = unsafe { BorrowedFd::borrow_raw(st.fd.get()) };
        let _ = self.0.poller.delete(bfd);
        st.wake_closed(&self.0);
    }
}

/// Records the poller's events: sets readiness bits and wakes the greenlets parked for them.
/// Called by the hub after each wait of its poller.
pub(crate) fn dispatch(hub: &HubInner, events: &Events) {
    let io = hub.io.borrow();
    for ev in events.iter() {
        let Some(st) = io.get(ev.key) else {
            continue;
        };
        let mut bits = 0;
        if ev.readable {
            bits |= READABLE;
        }
        if ev.writable {
            bits |= WRITABLE;
        }
        if ev.closed {
            bits |= READ_CLOSED | WRITE_CLOSED;
        }
        st.ready.set(st.ready.get() | bits);
        for (read, bit) in [(true, READABLE), (false, WRITABLE)] {
            if is_ready(bits, bit) {
                if let Some(u) = st.take_waiter(hub, read) {
                    u.wake(Value::empty());
                }
            }
        }
    }
}

/// Parks the running greenlet until the poller sets `bit` on `st` (returns at once if it is
/// set), or `timeout` passes. Errors: `TimedOut`, the "closed" error, [`ConcurrentUse`].
fn park_for(hub: &Hub, st: &IoState, bit: u8, timeout: Option<Duration>) -> io::Result<()> {
    if st.is_ready(bit) {
        return Ok(());
    }
    let read = bit == READABLE;
    if st.waiting(read) {
        let fd = st.fd.get();
        return Err(io::Error::other(ConcurrentUse { fd, read }));
    }
    let guard = ClearSlot { hub, st, read };
    let r = park_timeout(timeout, |u| st.put_waiter(&hub.0, read, u));
    match r {
        Ok(v) => {
            // Whoever woke us (the poller, a deregistration, a cancel) took the waiter out of
            // the slot: nothing to clear.
            std::mem::forget(guard);
            if v.is::<Closed>() {
                Err(closed_error())
            } else {
                Ok(())
            }
        }
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "timed out")),
    }
}

/// Removes a waiter that was not woken by the poller (timeout, kill).
struct ClearSlot<'a> {
    /// The hub.
    hub: &'a Hub,
    /// The registration.
    st: &'a IoState,
    /// Which direction.
    read: bool,
}

impl Drop for ClearSlot<'_> {
    fn drop(&mut self) {
        let slot = self.st.slot(self.read);
        let Some(u) = slot.take() else { return };
        if u.is_waiting() {
            // A live waiter of another greenlet (ours was woken, and replaced): theirs.
            slot.set(Some(u));
            return;
        }
        if self.st.refd.get() {
            let hub = &self.hub.0;
            hub.io_refs.set(hub.io_refs.get() - 1);
        }
    }
}

/// Zero-timeout `poll(2)` of one fd: whether any of `events` (`POLLIN`...) is reported (errors
/// and hang-ups count as ready).
pub(crate) fn poll_now(fd: RawFd, events: i16) -> io::Result<bool> {
    let mut p = [libc::pollfd {
        fd,
        events,
        revents: 0,
    }];
    let n = ppoll(&mut p, Some(Duration::ZERO))?;
    if p[0].revents & libc::POLLNVAL != 0 {
        return Err(closed_error());
    }
    Ok(n > 0 && p[0].revents != 0)
}

/// `ppoll(2)` as a direct system call (never through an interposed libc `poll`, so the monkey
/// crate's hooks are not re-entered), retried on `EINTR`. Returns how many entries have events.
pub(crate) fn ppoll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let tsp = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    loop {
        // SAFETY: `fds` is a valid array of `pollfd` of the given length that we may write;
        // `tsp` is null or points to a timespec that outlives the call; no signal mask.
        let n = unsafe {
            libc::syscall(
                libc::SYS_ppoll,
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                tsp,
                std::ptr::null::<libc::sigset_t>(),
                0usize,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// An I/O object (a socket, a pipe end...) registered with this thread's hub, so that
/// greenlets can wait for it to become readable or writable.
///
/// It owns `T`; when it is dropped, the fd leaves the poller first, greenlets waiting on the
/// fd through [`wait_read`] / [`wait_write`] / `select` are woken with `EBADF`, and then `T` is
/// dropped (closing the fd). At most one greenlet waits per direction.
///
/// Put `T` in non-blocking mode: the calls made through [`read_with`](IoSource::read_with) and
/// [`write_with`](IoSource::write_with) must return `WouldBlock` rather than block the thread.
///
/// # Examples
///
/// ```
/// use std::os::unix::net::UnixStream;
/// use std::io::{Read, Write};
/// use gevent_hub::IoSource;
///
/// let (a, mut b) = UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// let a = IoSource::new(a).unwrap();
/// let g = gevent_hub::spawn(move || { b.write_all(b"x").unwrap(); b });
/// let mut buf = [0u8; 8];
/// // Tries the read, and switches until `g` has written when it would block.
/// let n = a.read_with(None, |mut s| s.read(&mut buf)).unwrap();
/// assert_eq!(&buf[..n], b"x");
/// # drop(g);
/// ```
pub struct IoSource<T: AsRawFd> {
    /// The object.
    io: Option<T>,
    /// Its key in the hub's registry.
    key: usize,
    /// Its registration's state (also in the registry).
    st: Rc<IoState>,
    /// A dup of the fd registered in its place, when the fd itself already was.
    dup: Option<OwnedFd>,
    /// The hub it is registered with.
    hub: Hub,
}

impl<T: AsRawFd> IoSource<T> {
    /// Registers `io` with this thread's hub. Put it in non-blocking mode first.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let src = gevent_hub::IoSource::new(a).unwrap();
    /// src.wait_writable(None).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// If the poller refuses the fd.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new(io: T) -> io::Result<IoSource<T>> {
        IoSource::with_readiness(io, READABLE | WRITABLE)
    }

    /// [`IoSource::new`] with the initial readiness bits (`0` for a socket that is still
    /// connecting: the first wait waits for the poller).
    pub(crate) fn with_readiness(io: T, ready: u8) -> io::Result<IoSource<T>> {
        let hub = get_hub();
        let (key, st, dup) = hub.register_fd(io.as_raw_fd(), ready)?;
        Ok(IoSource {
            io: Some(io),
            key,
            st,
            dup,
            hub,
        })
    }

    /// The object.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let src = gevent_hub::IoSource::new(a).unwrap();
    /// assert!(src.get_ref().peer_addr().is_ok());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn get_ref(&self) -> &T {
        self.io.as_ref().expect("present until drop")
    }

    /// The object, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let mut src = gevent_hub::IoSource::new(a).unwrap();
    /// src.get_mut().set_nonblocking(true).unwrap();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn get_mut(&mut self) -> &mut T {
        self.io.as_mut().expect("present until drop")
    }

    /// Deregisters and returns the object.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let src = gevent_hub::IoSource::new(a).unwrap();
    /// let a: std::os::unix::net::UnixStream = src.into_inner(); // deregistered
    /// # drop(a);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn into_inner(mut self) -> T {
        self.deregister();
        self.io.take().expect("present until drop")
    }

    /// Whether waiters on this object keep the loop alive (gevent's `ref`); default `true`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let src = gevent_hub::IoSource::new(a).unwrap();
    /// src.set_ref(false); // waiting on it alone would be "blocked forever"
    /// assert!(src.wait_readable(Some(Duration::from_millis(1))).is_err());
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
        let hub = &self.hub.0;
        if refd {
            hub.io_refs.set(hub.io_refs.get() + n);
        } else {
            hub.io_refs.set(hub.io_refs.get() - n);
        }
    }

    /// Waits until the object is readable (or has an error or hang-up), or `timeout` passes.
    /// Level semantics: returns at once while the object is readable, even if nothing was read
    /// since the last wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{io::Write, time::Duration};
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let src = gevent_hub::IoSource::new(a).unwrap();
    /// let e = src.wait_readable(Some(Duration::from_millis(5))).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    /// b.write_all(b"x").unwrap();
    /// src.wait_readable(None).unwrap();
    /// src.wait_readable(None).unwrap(); // still readable: nothing was read
    /// ```
    ///
    /// # Errors
    ///
    /// `TimedOut` after `timeout`; `EBADF` (`raw_os_error`) if it is closed while waiting (see
    /// [`cancel_wait`](IoSource::cancel_wait)); `Other` wrapping [`ConcurrentUse`] if another
    /// greenlet already waits to read it.
    ///
    /// # Switches
    ///
    /// Yes, unless the object is readable.
    ///
    /// # Kill safety
    ///
    /// A kill or timeout leaves nothing behind: the waiter is removed.
    pub fn wait_readable(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.wait_level(READABLE, timeout)
    }

    /// Waits until the object is writable; see [`wait_readable`](IoSource::wait_readable).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let src = gevent_hub::IoSource::new(a).unwrap();
    /// src.wait_writable(None).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// As [`wait_readable`](IoSource::wait_readable).
    ///
    /// # Switches
    ///
    /// Yes, unless the object is writable.
    ///
    /// # Kill safety
    ///
    /// As [`wait_readable`](IoSource::wait_readable).
    pub fn wait_writable(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.wait_level(WRITABLE, timeout)
    }

    fn wait_level(&self, bit: u8, timeout: Option<Duration>) -> io::Result<()> {
        if self.bit(bit) {
            let ev = if bit == READABLE {
                libc::POLLIN
            } else {
                libc::POLLOUT
            };
            if poll_now(self.as_raw_fd(), ev)? {
                return Ok(());
            }
            self.st.clear(bit);
        }
        park_for(&self.hub, &self.st, bit, timeout)
    }

    /// Runs `op` (a non-blocking read, receive or accept on the object) until it does not
    /// return `WouldBlock`, switching to the hub in between until the object is readable, and
    /// returns its outcome. If the hub already knows the object is not readable, `op` is not
    /// called until it is.
    ///
    /// # Examples
    ///
    /// See [`IoSource`].
    ///
    /// # Errors
    ///
    /// `op`'s error; `TimedOut` if `timeout` passes while waiting; as
    /// [`wait_readable`](IoSource::wait_readable) otherwise.
    ///
    /// # Switches
    ///
    /// Yes, when `op` would block.
    ///
    /// # Kill safety
    ///
    /// A kill unwinds only from a wait, between two calls of `op`: what `op` did stays done.
    pub fn read_with<R>(
        &self,
        timeout: Option<Duration>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.op_with(READABLE, timeout, op)
    }

    /// Runs `op` (a non-blocking write, send or connect on the object) until it does not
    /// return `WouldBlock`, switching to the hub in between until the object is writable.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let src = gevent_hub::IoSource::new(a).unwrap();
    /// let n = src.write_with(None, |mut s| s.write(b"hello")).unwrap();
    /// let mut buf = [0u8; 5];
    /// b.read_exact(&mut buf[..n]).unwrap();
    /// assert_eq!(&buf, b"hello");
    /// ```
    ///
    /// # Errors
    ///
    /// As [`read_with`](IoSource::read_with).
    ///
    /// # Switches
    ///
    /// Yes, when `op` would block.
    ///
    /// # Kill safety
    ///
    /// As [`read_with`](IoSource::read_with).
    pub fn write_with<R>(
        &self,
        timeout: Option<Duration>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.op_with(WRITABLE, timeout, op)
    }

    /// The engine of `read_with`/`write_with`: only `WouldBlock` clears the bit (so that the
    /// next call waits without trying); a successful `op` leaves it set, however short.
    pub(crate) fn op_with<R>(
        &self,
        bit: u8,
        timeout: Option<Duration>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut deadline: Option<Instant> = None;
        let timeout = timeout.filter(|t| crate::deadline_after(*t).is_some());
        let st = &*self.st;
        loop {
            if st.is_ready(bit) {
                match op(self.get_ref()) {
                    Ok(r) => return Ok(r),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => st.clear(bit),
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
            park_for(&self.hub, st, bit, left)?;
        }
    }

    /// Whether the readiness bit `bit` is set.
    fn bit(&self, bit: u8) -> bool {
        self.st.is_ready(bit)
    }

    /// Sets readiness bits: the next call for those directions tries before waiting.
    pub(crate) fn set_ready(&self, bits: u8) {
        self.st.ready.set(self.st.ready.get() | bits);
    }

    /// Parks until the poller reports `bit` (returns at once if the bit is set).
    pub(crate) fn wait_edge(&self, bit: u8, timeout: Option<Duration>) -> io::Result<()> {
        park_for(&self.hub, &self.st, bit, timeout)
    }

    /// Clears the readiness bit `bit` (the object proved not ready).
    fn clear(&self, bit: u8) {
        self.st.clear(bit);
    }

    /// Tells the hub that the object is not readable now (a call made outside
    /// [`read_with`](IoSource::read_with) returned `WouldBlock`): the next `read_with` waits
    /// for the poller instead of trying first. Calling it when the object is readable only
    /// costs a trip through the hub.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let src = gevent_hub::IoSource::new(a).unwrap();
    /// // A read made directly on the object said WouldBlock: tell the hub.
    /// assert!(src.get_ref().read(&mut [0u8; 1]).is_err());
    /// src.clear_readable();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn clear_readable(&self) {
        self.clear(READABLE);
    }

    /// Tells the hub that the object is not writable now; see
    /// [`clear_readable`](IoSource::clear_readable).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let src = gevent_hub::IoSource::new(a).unwrap();
    /// src.clear_writable(); // wrong here (it is writable): costs one trip through the hub
    /// src.wait_writable(None).unwrap();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn clear_writable(&self) {
        self.clear(WRITABLE);
    }

    /// Wakes the greenlets waiting on this object now (its own readers and writers, and
    /// those in [`wait_read`] / [`wait_write`] / `select` on its fd) with `EBADF`, as gevent
    /// does when a socket is closed in another greenlet. The object stays registered.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let src = std::rc::Rc::new(gevent_hub::IoSource::new(a).unwrap());
    /// let s2 = src.clone();
    /// let g = gevent_hub::spawn(move || s2.wait_readable(None).map_err(|e| e.raw_os_error()));
    /// gevent_hub::sleep(std::time::Duration::ZERO);
    /// src.cancel_wait();
    /// assert_eq!(g.get().unwrap(), Err(Some(libc::EBADF)));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn cancel_wait(&self) {
        self.st.wake_closed(&self.hub.0);
        cancel_wait(self.as_raw_fd());
    }

    fn deregister(&mut self) {
        self.hub.deregister_fd(self.key);
        drop(self.dup.take());
        if let Some(io) = &self.io {
            cancel_wait(io.as_raw_fd());
        }
    }
}

impl<T: AsRawFd> Drop for IoSource<T> {
    fn drop(&mut self) {
        if self.io.is_some() {
            self.deregister();
        }
    }
}

impl<T: AsRawFd> AsRawFd for IoSource<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd + AsFd> AsFd for IoSource<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for IoSource<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoSource").field("io", &self.io).finish()
    }
}

thread_local! {
    /// Temporary registrations of fds the hub does not own (`wait_read`, `select`), by the fd
    /// waited on: `(id, key)` pairs, so that closing the fd can wake and remove them first.
    static TEMP: RefCell<HashMap<RawFd, Vec<(u64, usize)>>> = RefCell::new(HashMap::new());
    /// The next id of a temporary registration.
    static TEMP_ID: Cell<u64> = const { Cell::new(0) };
}

/// Creates this module's thread-locals before the hub's teardown guard, so that they outlive
/// the teardown at thread exit (see the `hub` module: a socket dropped by a greenlet killed
/// there still finds `TEMP`).
pub(crate) fn init_thread() {
    let _ = TEMP.try_with(|_| ());
}

/// A temporary registration of an fd the caller owns, for one wait.
pub(crate) struct TempReg {
    /// The hub.
    hub: Hub,
    /// The fd waited on.
    fd: RawFd,
    /// Its key in the hub's registry.
    key: usize,
    /// Its registration's state.
    st: Rc<IoState>,
    /// Identifies this registration in `TEMP`.
    id: u64,
    /// The dup registered in place of `fd`, if `fd` was already registered.
    dup: Option<OwnedFd>,
}

impl TempReg {
    /// Registers `fd` (not ready until the poller says so).
    pub(crate) fn new(fd: RawFd) -> io::Result<TempReg> {
        if fd < 0 {
            return Err(closed_error());
        }
        let hub = get_hub();
        let (key, st, dup) = hub.register_fd(fd, 0)?;
        let id = TEMP_ID.with(|c| {
            let id = c.get();
            c.set(id + 1);
            id
        });
        TEMP.with(|t| t.borrow_mut().entry(fd).or_default().push((id, key)));
        Ok(TempReg {
            hub,
            fd,
            key,
            st,
            id,
            dup,
        })
    }

    /// Parks until the fd is ready for `bit`.
    pub(crate) fn wait(&self, bit: u8, timeout: Option<Duration>) -> io::Result<()> {
        park_for(&self.hub, &self.st, bit, timeout)
    }

    /// Stores `u` as the waiter for the directions in `bits` (for waits on several fds with
    /// one park); returns `false` if the fd is already known ready (then nothing is stored).
    pub(crate) fn add_waiter(&self, bits: u8, u: &Unparker) -> bool {
        let st = &self.st;
        if (bits & READABLE != 0 && st.is_ready(READABLE))
            || (bits & WRITABLE != 0 && st.is_ready(WRITABLE))
        {
            return false;
        }
        for (read, bit) in [(true, READABLE), (false, WRITABLE)] {
            if bits & bit != 0 {
                st.put_waiter(&self.hub.0, read, u.clone());
            }
        }
        true
    }

    /// Removes the waiters stored by `add_waiter`.
    pub(crate) fn remove_waiters(&self) {
        for read in [true, false] {
            drop(self.st.take_waiter(&self.hub.0, read));
        }
    }
}

impl Drop for TempReg {
    fn drop(&mut self) {
        let listed = TEMP.with(|t| {
            let mut t = t.borrow_mut();
            let Some(v) = t.get_mut(&self.fd) else {
                return false;
            };
            let Some(i) = v.iter().position(|&(id, _)| id == self.id) else {
                return false;
            };
            v.swap_remove(i);
            if v.is_empty() {
                t.remove(&self.fd);
            }
            true
        });
        // A cancelled registration was already removed (while its fd was open); its key may
        // belong to someone else by now.
        if listed {
            self.hub.deregister_fd(self.key);
        }
        drop(self.dup.take());
    }
}

/// Wakes every greenlet waiting on `fd` in [`wait_read`], [`wait_write`] or `select` with
/// `EBADF` and removes their registrations (gevent's `cancel_wait`). Call it before closing an
/// fd that other greenlets may be waiting on; [`IoSource`] (so every socket type) does it
/// itself when it closes its fd.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let fd = a.as_raw_fd();
/// let g = gevent_hub::spawn(move || gevent_hub::wait_read(fd, None).map_err(|e| e.raw_os_error()));
/// gevent_hub::sleep(std::time::Duration::ZERO); // let it wait
/// gevent_hub::os::cancel_wait(fd);
/// assert_eq!(g.get().unwrap(), Err(Some(libc::EBADF)));
/// ```
///
/// # Switches
///
/// Never.
pub fn cancel_wait(fd: RawFd) {
    let regs = TEMP.with(|t| {
        let mut t = t.borrow_mut();
        if t.is_empty() {
            None
        } else {
            t.remove(&fd)
        }
    });
    if let Some(regs) = regs {
        let hub = get_hub();
        for (_, key) in regs {
            hub.deregister_fd(key);
        }
    }
}

/// Waits until `fd` is readable, or `timeout` passes (gevent's `os.wait_read`). The fd stays
/// the caller's; it is registered with the hub only for the wait (a `dup` of it, if an
/// [`IoSource`] already registered it).
///
/// # Errors
///
/// `TimedOut` after `timeout`; `EBADF` if the fd is closed through its [`IoSource`] or
/// [`cancel_wait`] meanwhile; the poller's error for a bad fd.
///
/// # Examples
///
/// ```
/// use std::{io::Write, os::fd::AsRawFd, os::unix::net::UnixStream, time::Duration};
/// let (a, mut b) = UnixStream::pair().unwrap();
/// let r = gevent_hub::wait_read(a.as_raw_fd(), Some(Duration::from_millis(5)));
/// assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
/// b.write_all(b"x").unwrap();
/// gevent_hub::wait_read(a.as_raw_fd(), None).unwrap();
/// ```
///
/// # Switches
///
/// Yes.
///
/// # Kill safety
///
/// The registration is removed however the wait ends.
pub fn wait_read(fd: RawFd, timeout: Option<Duration>) -> io::Result<()> {
    TempReg::new(fd)?.wait(READABLE, timeout)
}

/// Waits until `fd` is writable, or `timeout` passes (gevent's `os.wait_write`).
///
/// # Errors
///
/// As [`wait_read`].
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// gevent_hub::wait_write(a.as_raw_fd(), None).unwrap();
/// ```
///
/// # Switches
///
/// Yes.
///
/// # Kill safety
///
/// The registration is removed however the wait ends.
pub fn wait_write(fd: RawFd, timeout: Option<Duration>) -> io::Result<()> {
    TempReg::new(fd)?.wait(WRITABLE, timeout)
}
