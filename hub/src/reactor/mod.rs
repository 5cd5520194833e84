//! The reactor: how a greenlet waits for a file descriptor to become readable or writable.
//!
//! This is the hub's public I/O API, the one that `gevent-net` (sockets, `select`, `os`),
//! `gevent-subprocess` (pipes, pidfds) and `gevent-monkey` (libc hooks) are built on. It has
//! three parts:
//!
//! * [`IoSource<T>`]: an I/O object the caller *owns* (a socket, a pipe end, a pidfd),
//!   registered once for its whole life. [`read_with`](IoSource::read_with) and
//!   [`write_with`](IoSource::write_with) try the system call first and switch to the hub only
//!   after `WouldBlock`. `T` must be [`IoSafe`]: its fd cannot change under the registration.
//! * [`Registration`]: the registration itself, with its readiness bits and waiters. Besides
//!   the one inside every `IoSource`, one can be made for an fd the caller only *borrows*
//!   ([`Registration::watch`], what `os::wait_read`, `select` and `poll` use: it registers a
//!   `dup` of the fd), or, in `unsafe` code, for a raw fd number whose owner promises to keep it
//!   open ([`Registration::from_raw_fd`], for code that sees only numbers, like libc hooks).
//!   [`Registration::arm`] and [`Armed::finish`] let code that brings its own park function
//!   (one that returns a kill or timeout as a value instead of unwinding) wait on it.
//! * [`cancel_wait`]: wakes every greenlet waiting through a watch or a raw registration of an
//!   fd with `EBADF`, and takes those registrations out of the poller, *before* the fd is
//!   closed (gevent's `cancel_wait`; a `close` hook calls it).
//!
//! # Design: edge-triggered registrations with readiness bits
//!
//! An fd is added to the hub's [`polling::Poller`] once, when its registration is created, for
//! both directions plus hang-ups (`Event::all(key).with_interrupt()`) in edge-triggered mode
//! (`PollMode::Edge`); it is never re-armed. Each registration keeps two readiness bits
//! ([`Interest::READABLE`], [`Interest::WRITABLE`]):
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
//! `epoll_ctl` per wait, and the hot path of a socket call touches only the registration's own
//! cells (an `Rc` the owner holds), never the hub's registry.
//!
//! Why a short read does not clear the readable bit (as tokio does): `polling` cannot ask for
//! `EPOLLRDHUP`, so a peer's end-of-stream shows only as readability. When data and the FIN
//! both arrive before the poller collects the fd's event, they make one edge; a read that
//! returns the data (less than asked) leaves the end-of-file still to be read, and no edge
//! would ever come for it: a reader that waited would hang (`gevent-net`'s `tests/eof.rs`). So
//! after a short read the next read tries again and returns the end-of-file, more data, or
//! `WouldBlock`. The cost, measured on the echo benchmark (`echo_compare.sh`, 100
//! connections; the same build with `EPOLLRDHUP`, the short-read rule and its own epoll
//! wrapper, in the same runs): about 0.4 extra `recv` returning `EAGAIN` per round trip
//! (`strace -c`: 2.45 system calls per round trip instead of 2.0, of which the `polling`
//! wait's own `timerfd_settime`, `epoll_ctl` and `read` are 0.03), and 3 to 4 % fewer round
//! trips per second for 4 to 5 % more server CPU per round trip (0.87 to 0.93 of tokio's
//! round trips instead of 0.91 to 0.96). Writability is cleared only by `WouldBlock` too.
//!
//! A registration of an owned object starts with both bits set ("unknown: try the call").
//! Edge-triggered `epoll` also reports the state an fd is in when it is added, so a fresh fd
//! that is already readable still produces its event.
//!
//! [`Registration::wait`] (and [`IoSource::wait_readable`]) have *level* semantics (they
//! return while the fd is ready, also when the caller did not read anything since the last
//! wake): if the bit is set, a zero-timeout `poll(2)` confirms it before returning, so callers
//! that wait first and read later, or read only part of the data, never hang.
//!
//! # I/O safety: an fd closed elsewhere never touches another registration
//!
//! `epoll` identifies a registration by the pair (open file, fd number), but `epoll_ctl(DEL)`
//! names only the number. A registration deleted through a number that was closed and reused
//! meanwhile would delete the registration of the unrelated file now behind that number, whose
//! waiters would then never wake. So every registration is deleted only through a descriptor
//! that is provably still open:
//!
//! * an [`IoSource`] owns its `T`, which is [`IoSafe`] (its fd cannot be swapped or closed
//!   through a shared reference), and deregisters before `T` is dropped;
//! * a watch ([`Registration::watch`]) registers a `dup` of the borrowed fd that it owns and
//!   closes itself, so whatever happens to the original number, deleting never touches
//!   another registration (and a waiter on a number closed by foreign code wakes with `EBADF`
//!   as soon as [`cancel_wait`] is called for it, or times out; it never steals events);
//! * a raw registration ([`Registration::from_raw_fd`]) is `unsafe`: its creator promises
//!   that the fd stays open until the registration is dropped or [`cancel_wait`] took it out
//!   of the poller.
//!
//! When an fd is already in the epoll set (`EEXIST`: an `IoSource` owns it and a raw
//! registration is made for it, or the other way round), the newcomer registers a `dup` of it
//! instead, which `epoll` treats as a separate registration of the same file.
//!
//! # Examples
//!
//! ```
//! use std::io::{Read, Write};
//! use std::os::unix::net::UnixStream;
//! use gevent_hub::reactor::IoSource;
//!
//! let (a, mut b) = UnixStream::pair().unwrap();
//! a.set_nonblocking(true).unwrap();
//! let a = IoSource::new(a).unwrap();
//! let writer = gevent_hub::spawn(move || { b.write_all(b"ping").unwrap(); b });
//! let mut buf = [0u8; 8];
//! // Tries the read; it would block, so the greenlet switches until `writer` has written.
//! let n = a.read_with(None, |mut s| s.read(&mut buf)).unwrap();
//! assert_eq!(&buf[..n], b"ping");
//! # drop(writer);
//! ```

mod registration;
mod source;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::ops::BitOr;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::rc::Rc;
use std::sync::Arc;

use greenlet::Value;
use slab::Slab;

use crate::hub::get_hub;
use crate::park::Unparker;
use crate::poller::{Events, Poller};

pub use self::registration::{Armed, Registration};
pub use self::source::{IoSafe, IoSource};

/// Readiness bit: the fd may be readable.
const READABLE: u8 = 1;
/// Readiness bit: the fd may be writable.
const WRITABLE: u8 = 2;
/// Sticky readiness bit: the fd hung up or failed; reads cannot block any more (`WouldBlock`
/// never clears it).
const READ_CLOSED: u8 = READABLE << 2;
/// Sticky readiness bit: hang-up or error; writes cannot block any more.
const WRITE_CLOSED: u8 = WRITABLE << 2;

/// Whether `ready` says a call for one of `bits` (`READABLE` and/or `WRITABLE`) may proceed.
#[inline]
fn is_ready(ready: u8, bits: u8) -> bool {
    ready & (bits | bits << 2) != 0
}

/// A set of I/O directions: what a wait is for, or which readiness bits to set or clear.
///
/// # Examples
///
/// ```
/// use gevent_hub::reactor::Interest;
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert_eq!(both, Interest::BOTH);
/// assert!(both.is_readable() && both.is_writable());
/// assert!(!Interest::NONE.is_readable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest(u8);

impl Interest {
    /// No direction (a registration that must wait for the poller before any call).
    pub const NONE: Interest = Interest(0);
    /// Reading (also accepting, receiving; and end-of-file, errors and hang-ups).
    pub const READABLE: Interest = Interest(READABLE);
    /// Writing (also sending, the end of a `connect`; and errors and hang-ups).
    pub const WRITABLE: Interest = Interest(WRITABLE);
    /// Both directions.
    pub const BOTH: Interest = Interest(READABLE | WRITABLE);

    /// Whether reading is in the set.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gevent_hub::reactor::Interest::READABLE.is_readable());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub const fn is_readable(self) -> bool {
        self.0 & READABLE != 0
    }

    /// Whether writing is in the set.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!gevent_hub::reactor::Interest::READABLE.is_writable());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub const fn is_writable(self) -> bool {
        self.0 & WRITABLE != 0
    }

    /// The bits, for the registration's cells.
    #[inline]
    const fn bits(self) -> u8 {
        self.0
    }
}

impl BitOr for Interest {
    type Output = Interest;
    fn bitor(self, rhs: Interest) -> Interest {
        Interest(self.0 | rhs.0)
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            0 => "NONE",
            READABLE => "READABLE",
            WRITABLE => "WRITABLE",
            _ => "BOTH",
        })
    }
}

/// Two greenlets tried to wait for the same direction of one registration (gevent's
/// `ConcurrentObjectUseError`). Returned inside an `io::Error` of kind `Other`.
///
/// # Examples
///
/// ```
/// use std::{io::Read, rc::Rc};
/// use gevent_hub::reactor::{ConcurrentUse, IoSource};
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// let a = Rc::new(IoSource::new(a).unwrap());
/// let a2 = a.clone();
/// let g = gevent_hub::spawn(move || { let _ = a2.read_with(None, |mut s| s.read(&mut [0u8; 1])); });
/// gevent_hub::sleep(std::time::Duration::ZERO); // g waits to read
/// let e = a.read_with(None, |mut s| s.read(&mut [0u8; 1])).unwrap_err();
/// let cu = e.get_ref().unwrap().downcast_ref::<ConcurrentUse>().unwrap();
/// assert!(cu.read);
/// g.kill();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConcurrentUse {
    /// The fd's number (for the message only).
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

/// The error of a wait ended because the fd was closed (or [`cancel_wait`] was called) under
/// it: `EBADF`, as gevent's "File descriptor was closed in another greenlet".
fn closed_error() -> io::Error {
    io::Error::from_raw_os_error(libc::EBADF)
}

/// The error of a wait whose time limit passed (no OS error code: callers tell it from a
/// system call's `ETIMEDOUT` that way).
fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "timed out")
}

/// The wake value of a waiter whose registration was closed (deregistered or cancelled).
struct Closed;

/// The state of one registration, shared (an `Rc`) by the reactor's registry, which the
/// poller's events reach by key, and by its [`Registration`], which reaches it directly: the
/// hot path of a socket call touches only these cells.
pub(crate) struct IoState {
    /// The descriptor in the epoll set: the owner's fd, or a `dup` the registration owns.
    fd: RawFd,
    /// The fd number the registration is for (what [`cancel_wait`] and errors name).
    orig: RawFd,
    /// Its key in the registry and the poller.
    key: usize,
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
    /// `Reactor::refs` counts one for each present `reader`/`writer` of a `refd` state.
    refd: Cell<bool>,
    /// Taken out of the poller and the registry (by [`cancel_wait`] or the registration's
    /// drop): waits fail with `EBADF`, and nothing touches `fd` through the poller again.
    gone: Cell<bool>,
}

impl IoState {
    /// The waiter slot of a direction.
    #[inline]
    fn slot(&self, read: bool) -> &Cell<Option<Unparker>> {
        if read {
            &self.reader
        } else {
            &self.writer
        }
    }

    /// Whether a call for one of `bits` may proceed.
    #[inline]
    fn is_ready(&self, bits: u8) -> bool {
        is_ready(self.ready.get(), bits)
    }

    /// Clears readiness bits (never the sticky ones).
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

    /// Stores `u` in the slot of `read`, counting it in `refs`. (A stale waiter found there,
    /// woken but not yet back to clear it, is already counted.)
    fn put_waiter(&self, r: &Reactor, read: bool, u: Unparker) {
        if self.slot(read).replace(Some(u)).is_none() && self.refd.get() {
            r.refs.set(r.refs.get() + 1);
        }
    }

    /// Takes the waiter of `read` out of its slot, uncounting it.
    fn take_waiter(&self, r: &Reactor, read: bool) -> Option<Unparker> {
        let u = self.slot(read).take();
        if u.is_some() && self.refd.get() {
            r.refs.set(r.refs.get() - 1);
        }
        u
    }

    /// Removes a waiter left in the slot of `read` by a park that ended otherwise than by this
    /// registration's wake (a timeout, a kill, another registration of a multi-fd wait). A
    /// live waiter found there belongs to another greenlet and stays.
    fn clear_stale(&self, r: &Reactor, read: bool) {
        let slot = self.slot(read);
        let Some(u) = slot.take() else { return };
        if u.is_waiting() {
            slot.set(Some(u));
            return;
        }
        if self.refd.get() {
            r.refs.set(r.refs.get() - 1);
        }
    }

    /// Wakes the waiters of both directions with the "closed" error.
    fn wake_closed(&self, r: &Reactor) {
        for read in [true, false] {
            if let Some(u) = self.take_waiter(r, read) {
                u.wake(Value::new(Closed));
            }
        }
    }
}

/// The reactor of one hub: its registrations, by poller key, and what `cancel_wait` reaches.
pub(crate) struct Reactor {
    /// The hub's poller (shared with the hub, which waits on it, and with `RemoteHub`, which
    /// notifies it).
    poller: Arc<Poller>,
    /// Live registrations, by poller key.
    registry: RefCell<Slab<Rc<IoState>>>,
    /// Parked waiters on fds that keep the loop alive.
    refs: Cell<usize>,
    /// Watches and raw registrations, by the fd number they are for: what [`cancel_wait`]
    /// wakes and removes. (Registrations of an [`IoSource`] are not here: their fd cannot be
    /// closed behind their back.)
    watched: RefCell<HashMap<RawFd, Vec<Rc<IoState>>>>,
}

impl Reactor {
    /// A reactor on `poller`, with no registrations.
    pub(crate) fn new(poller: Arc<Poller>) -> Reactor {
        Reactor {
            poller,
            registry: RefCell::new(Slab::new()),
            refs: Cell::new(0),
            watched: RefCell::new(HashMap::new()),
        }
    }

    /// How many fds are registered.
    pub(crate) fn len(&self) -> usize {
        self.registry.borrow().len()
    }

    /// Whether no fd is registered (the hub then skips the poller when it need not block).
    pub(crate) fn is_empty(&self) -> bool {
        self.registry.borrow().is_empty()
    }

    /// How many parked waiters keep the loop alive.
    pub(crate) fn refs(&self) -> usize {
        self.refs.get()
    }

    /// Adds `fd` to the poller (edge-triggered, both directions) under a fresh key, with the
    /// readiness bits `ready`; `orig` is the fd number the registration is for. If `fd` is
    /// already in the epoll set, a `dup` of it is added instead and returned.
    ///
    /// # Safety
    ///
    /// `fd` must stay open until the state is removed ([`Reactor::remove`]), and the dup, if
    /// one is returned, too.
    unsafe fn add(
        &self,
        fd: BorrowedFd<'_>,
        orig: RawFd,
        ready: u8,
    ) -> io::Result<(Rc<IoState>, Option<std::os::fd::OwnedFd>)> {
        let mut registry = self.registry.borrow_mut();
        let entry = registry.vacant_entry();
        let key = entry.key();
        let mut dup = None;
        let registered = match self.poller.add(fd, key) {
            Ok(()) => fd.as_raw_fd(),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                let d = rustix::io::fcntl_dupfd_cloexec(fd, 0)?;
                self.poller.add(std::os::fd::AsFd::as_fd(&d), key)?;
                let raw = d.as_raw_fd();
                dup = Some(d);
                raw
            }
            Err(e) => return Err(e),
        };
        let st = Rc::new(IoState {
            fd: registered,
            orig,
            key,
            ready: Cell::new(ready),
            reader: Cell::new(None),
            writer: Cell::new(None),
            refd: Cell::new(true),
            gone: Cell::new(false),
        });
        entry.insert(st.clone());
        Ok((st, dup))
    }

    /// Takes `st` out of the poller and the registry, and wakes its waiters with the "closed"
    /// error. A no-op if it is already gone. Its `fd` must still be open.
    fn remove(&self, st: &IoState) {
        if st.gone.replace(true) {
            return;
        }
        let removed = self.registry.borrow_mut().try_remove(st.key);
        debug_assert!(removed.is_some());
        // SAFETY: `st.fd` is open until the state is gone (the contract of `Reactor::add`),
        // and it is not gone yet.
        let _ = self.poller.delete(unsafe { BorrowedFd::borrow_raw(st.fd) });
        st.wake_closed(self);
        drop(removed);
    }

    /// Forgets every registration: the hub's teardown at thread exit, before it closes the
    /// poller. The waiters still stored are dropped (their greenlets are dead or leaked by
    /// then); the owners' later drops find their registrations gone and touch nothing.
    pub(crate) fn close(&self) {
        let all: Vec<Rc<IoState>> = self.registry.borrow_mut().drain().collect();
        self.watched.borrow_mut().clear();
        for st in &all {
            st.gone.set(true);
            drop(st.reader.take());
            drop(st.writer.take());
        }
        self.refs.set(0);
    }

    /// Lists `st` as a registration that `cancel_wait(st.orig)` reaches.
    fn watch(&self, st: &Rc<IoState>) {
        self.watched
            .borrow_mut()
            .entry(st.orig)
            .or_default()
            .push(st.clone());
    }

    /// Unlists `st` (a no-op if `cancel_wait` already did).
    fn unwatch(&self, st: &Rc<IoState>) {
        let mut w = self.watched.borrow_mut();
        if let Some(v) = w.get_mut(&st.orig) {
            v.retain(|x| !Rc::ptr_eq(x, st));
            if v.is_empty() {
                w.remove(&st.orig);
            }
        }
    }

    /// Removes (and so wakes, with `EBADF`) the watches and raw registrations of `fd`.
    fn cancel(&self, fd: RawFd) {
        let list = {
            let mut w = self.watched.borrow_mut();
            if w.is_empty() {
                return;
            }
            w.remove(&fd)
        };
        for st in list.into_iter().flatten() {
            self.remove(&st);
        }
    }

    /// Records the poller's events: sets readiness bits and wakes the greenlets parked for
    /// them. Called by the hub after each wait of its poller.
    pub(crate) fn dispatch(&self, events: &Events) {
        let registry = self.registry.borrow();
        for ev in events.iter() {
            let Some(st) = registry.get(ev.key) else {
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
                    if let Some(u) = st.take_waiter(self, read) {
                        u.wake(Value::empty());
                    }
                }
            }
        }
    }
}

/// Wakes every greenlet waiting on `fd` through a watch ([`Registration::watch`]: what
/// `os::wait_read`, `select` and `poll` use) or a raw registration
/// ([`Registration::from_raw_fd`]) with `EBADF`, and takes those registrations out of the
/// poller now, while `fd` is open (gevent's `cancel_wait`). Later waits on them fail with
/// `EBADF` at once.
///
/// Call it before closing an fd that other greenlets may be waiting on through such
/// registrations; a `close` or `dup2` hook calls it before the real call. [`IoSource`] (so
/// every socket type) does it itself when it closes its fd. Registrations inside an
/// `IoSource` are not affected (see [`IoSource::cancel_wait`]).
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// use std::rc::Rc;
/// use gevent_hub::reactor::{cancel_wait, Interest, Registration};
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let reg = Rc::new(Registration::watch(a.as_fd()).unwrap());
/// let r2 = reg.clone();
/// let g = gevent_hub::spawn(move || r2.wait(Interest::READABLE, None).map_err(|e| e.raw_os_error()));
/// gevent_hub::sleep(std::time::Duration::ZERO); // let it wait
/// cancel_wait(a.as_fd());
/// assert_eq!(g.get().unwrap(), Err(Some(libc::EBADF)));
/// ```
///
/// # Switches
///
/// Never.
pub fn cancel_wait(fd: BorrowedFd<'_>) {
    get_hub().0.reactor.cancel(fd.as_raw_fd());
}

/// Zero-timeout `poll(2)` of one fd (a direct system call): whether one of `bits` is ready
/// (errors and hang-ups count as ready).
///
/// # Errors
///
/// `EBADF` if the fd is not open (`POLLNVAL`); `poll`'s error.
fn poll_now(fd: BorrowedFd<'_>, bits: u8) -> io::Result<bool> {
    use rustix::event::{PollFd, PollFlags};
    let mut flags = PollFlags::empty();
    if bits & READABLE != 0 {
        flags |= PollFlags::IN;
    }
    if bits & WRITABLE != 0 {
        flags |= PollFlags::OUT;
    }
    let mut p = [PollFd::from_borrowed_fd(fd, flags)];
    let zero = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let n = loop {
        match rustix::event::poll(&mut p, Some(&zero)) {
            Err(rustix::io::Errno::INTR) => continue,
            r => break r?,
        }
    };
    let rev = p[0].revents();
    if rev.contains(PollFlags::NVAL) {
        return Err(closed_error());
    }
    Ok(n > 0 && !rev.is_empty())
}
