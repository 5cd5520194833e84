//! The hub's poller: a [`polling::Poller`] (epoll on Linux) with every fd registered once,
//! edge-triggered, for both directions and hang-ups, and its notifier for wake-ups from other
//! threads.
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

use polling::{Event, PollMode};

/// The poller of one hub.
#[derive(Debug)]
pub(crate) struct Poller {
    /// The `polling` poller.
    inner: polling::Poller,
}

/// Interest of every registration under `key`: both directions and hang-ups.
fn interest(key: usize) -> Event {
    Event::all(key).with_interrupt()
}

impl Poller {
    /// A new poller.
    pub(crate) fn new() -> io::Result<Poller> {
        Ok(Poller {
            inner: polling::Poller::new()?,
        })
    }

    /// Adds `fd` under `key`, for both directions, edge-triggered. (`epoll` reports the fd's
    /// current readiness once at registration, so nothing that is already pending is lost.)
    pub(crate) fn add(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
        // SAFETY: every caller deletes `fd` from the poller before closing it (`IoSource`,
        // `TempReg`: see `Hub::register_fd`).
        unsafe { self.inner.add_with_mode(&fd, interest(key), PollMode::Edge) }
    }

    /// Removes `fd`.
    pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.inner.delete(fd)
    }

    /// Waits for events, up to `timeout` (`None`: no limit), and puts them in `events`.
    /// A wake-up by [`Poller::notify`] ends the wait without adding an event.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.list.clear();
        self.inner.wait(&mut events.list, timeout)?;
        Ok(())
    }

    /// Wakes the current or next [`Poller::wait`] (from any thread).
    pub(crate) fn notify(&self) -> io::Result<()> {
        self.inner.notify()
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
