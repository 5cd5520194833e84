//! The hub's poller: a [`polling::Poller`] (epoll on Linux) with every fd registered once,
//! edge-triggered, for both directions and hang-ups, and its notifier for wake-ups from other
//! threads.
//!
//! The poller can be closed (its fds released) while other threads still hold it for
//! wake-ups: the hub's teardown at thread exit does so, and from then on a wake-up from another
//! thread reports that the hub is gone.
//!
//! `polling` asks epoll for `EPOLLIN | EPOLLPRI | EPOLLHUP | EPOLLERR` (readable) and
//! `EPOLLOUT | EPOLLHUP | EPOLLERR` (writable), never for `EPOLLRDHUP`: a peer's end-of-stream
//! shows only as readability, which is why a short read does not clear the readable bit (see
//! the `io` module). Each of its waits costs, besides the `epoll_wait`, a `timerfd_settime`
//! and an `epoll_ctl` (its timeout timer) and a `read` and an `epoll_ctl` (re-arming its
//! notifier); those are shared by every fd the wait reports.

use std::io;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use parking_lot::RwLock;
use polling::{Event, PollMode};

/// The poller of one hub.
#[derive(Debug)]
pub(crate) struct Poller {
    /// The `polling` poller; `None` once closed. Only the hub's thread closes it, never while
    /// it waits, so the lock is never contended by a writer on the hot path.
    inner: RwLock<Option<polling::Poller>>,
}

/// The error of an operation on a closed poller.
fn closed() -> io::Error {
    io::Error::from_raw_os_error(libc::EBADF)
}

/// Interest of every registration under `key`: both directions and hang-ups.
fn interest(key: usize) -> Event {
    Event::all(key).with_interrupt()
}

impl Poller {
    /// A new poller.
    pub(crate) fn new() -> io::Result<Poller> {
        Ok(Poller {
            inner: RwLock::new(Some(polling::Poller::new()?)),
        })
    }

    /// Adds `fd` under `key`, for both directions, edge-triggered. (`epoll` reports the fd's
    /// current readiness once at registration, so nothing that is already pending is lost.)
    pub(crate) fn add(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
        let p = self.inner.read();
        let p = p.as_ref().ok_or_else(closed)?;
        // SAFETY: every caller deletes `fd` from the poller before closing it (`IoSource`,
        // `TempReg`: see `Hub::register_fd`); a closed poller holds no registration.
        unsafe { p.add_with_mode(&fd, interest(key), PollMode::Edge) }
    }

    /// Removes `fd`.
    pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        match &*self.inner.read() {
            Some(p) => p.delete(fd),
            None => Err(closed()),
        }
    }

    /// Waits for events, up to `timeout` (`None`: no limit), and puts them in `events`.
    /// A wake-up by [`Poller::notify`] ends the wait without adding an event.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.list.clear();
        match &*self.inner.read() {
            Some(p) => p.wait(&mut events.list, timeout).map(drop),
            None => Err(closed()),
        }
    }

    /// Runs `send` (which queues work for the hub) and then wakes the current or next
    /// [`Poller::wait`], from any thread, while the poller is open; returns `false` (without
    /// running `send`) once it is closed, or if `send` or the wake-up fails. Work that `send`
    /// queued is therefore always seen by the hub, or dropped by its teardown after
    /// [`Poller::close`].
    pub(crate) fn send_and_notify(&self, send: impl FnOnce() -> bool) -> bool {
        match &*self.inner.read() {
            Some(p) => send() && p.notify().is_ok(),
            None => false,
        }
    }

    /// Whether the poller is open (not yet [`closed`](Poller::close)).
    pub(crate) fn is_open(&self) -> bool {
        self.inner.read().is_some()
    }

    /// Closes the poller: its fds are released; waits and registrations fail with `EBADF`,
    /// wake-ups report `false`.
    pub(crate) fn close(&self) {
        let p = self.inner.write().take();
        drop(p);
    }
}

/// A buffer of poller events.
pub(crate) struct Events {
    /// The events of the last wait.
    list: polling::Events,
}

impl Events {
    /// A buffer for up to 1024 events per wait.
    pub(crate) fn new() -> Events {
        Events {
            list: polling::Events::new(),
        }
    }

    /// Empties the buffer.
    pub(crate) fn clear(&mut self) {
        self.list.clear();
    }

    /// The events, decoded.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Ev> + '_ {
        self.list.iter().map(|e| {
            let closed = e.is_interrupt() || e.is_err() == Some(true);
            Ev {
                key: e.key,
                readable: e.readable,
                writable: e.writable,
                closed,
            }
        })
    }
}

/// One decoded event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ev {
    /// The registration's key.
    pub(crate) key: usize,
    /// Data, urgent data or end-of-stream to read (or a hang-up or error).
    pub(crate) readable: bool,
    /// Room to write (or a hang-up or error).
    pub(crate) writable: bool,
    /// Hang-up or error (`EPOLLHUP`/`EPOLLERR`): neither direction will block any more.
    pub(crate) closed: bool,
}
