//! The hub's poller: one epoll instance per hub, fds registered once and edge-triggered, and an
//! eventfd for wake-ups from other threads. (Linux only, like the rest of the crate.)
//!
//! Why not `polling::Poller`: it cannot ask for `EPOLLRDHUP` (without which a stream read that
//! drains the data before a FIN cannot tell that end-of-file is still to be read: the edge was
//! already consumed), and each of its waits costs five system calls (`timerfd_settime`, two
//! `epoll_ctl` re-arms, an eventfd `read`, and the `epoll_wait`). Here a wait is one
//! `epoll_pwait2` (nanosecond timeouts; `epoll_wait` with the timeout rounded up to the next
//! millisecond on kernels before 5.11), and the eventfd is read only when it fired.
//!
//! All system calls go straight to the kernel (rustix, or `syscall(2)`), never through libc
//! functions the monkey crate may interpose.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::{eventfd, EventfdFlags};

/// The key of the eventfd's registration.
const NOTIFY_KEY: u64 = u64::MAX;

/// An epoll instance with a wake-up eventfd.
#[derive(Debug)]
pub(crate) struct Poller {
    /// The epoll fd.
    epoll: OwnedFd,
    /// Written by [`Poller::notify`]; registered edge-triggered under `NOTIFY_KEY`.
    event: OwnedFd,
    /// A notification was sent and no wait has returned since (saves redundant writes).
    notified: AtomicBool,
    /// `epoll_pwait2` is refused by this kernel: use `epoll_wait`.
    no_pwait2: AtomicBool,
}

/// Interest of every registration: both directions, end-of-stream, edge-triggered.
fn interest() -> EventFlags {
    EventFlags::IN | EventFlags::OUT | EventFlags::RDHUP | EventFlags::PRI | EventFlags::ET
}

impl Poller {
    /// A new epoll instance.
    pub(crate) fn new() -> io::Result<Poller> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let event = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        epoll::add(
            &epoll,
            &event,
            EventData::new_u64(NOTIFY_KEY),
            EventFlags::IN | EventFlags::ET,
        )?;
        Ok(Poller {
            epoll,
            event,
            notified: AtomicBool::new(false),
            no_pwait2: AtomicBool::new(false),
        })
    }

    /// Adds `fd` under `key`, for both directions, edge-triggered. (`epoll` reports the fd's
    /// current readiness once at registration, so nothing that is already pending is lost.)
    pub(crate) fn add(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
        epoll::add(&self.epoll, fd, EventData::new_u64(key as u64), interest())?;
        Ok(())
    }

    /// Removes `fd`.
    pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        epoll::delete(&self.epoll, fd)?;
        Ok(())
    }

    /// Waits for events, up to `timeout` (`None`: no limit), and puts them in `events`.
    /// Returns how many fd events there are (a wake-up by [`Poller::notify`] is not one).
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.list.clear();
        let n = loop {
            match self.epoll_wait(events, timeout) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    if timeout.is_some() {
                        // The hub recomputes its deadline; an early return is harmless.
                        break 0;
                    }
                }
                r => break r?,
            }
        };
        // SAFETY: the kernel initialised the first `n` entries.
        unsafe { events.list.set_len(n) };
        self.notified.store(false, Ordering::SeqCst);
        if let Some(i) = events.list.iter().position(|e| {
            let data = e.data;
            data.u64() == NOTIFY_KEY
        }) {
            events.list.swap_remove(i);
            let mut buf = [0u8; 8];
            let _ = rustix::io::read(&self.event, &mut buf);
        }
        Ok(events.list.len())
    }

    /// One `epoll_pwait2` (or `epoll_wait`) into the spare capacity of `events`.
    fn epoll_wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        let cap = events.list.capacity();
        let ptr = events.list.as_mut_ptr();
        if !self.no_pwait2.load(Ordering::Relaxed) {
            let ts = timeout.map(|d| libc::timespec {
                tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
                tv_nsec: d.subsec_nanos() as libc::c_long,
            });
            let tsp = ts
                .as_ref()
                .map_or(std::ptr::null(), |t| t as *const libc::timespec);
            // SAFETY: `ptr` has room for `cap` events (`epoll_event` has the layout of
            // rustix's `Event`); `tsp` is null or points to a live timespec; no signal mask.
            let n = unsafe {
                libc::syscall(
                    libc::SYS_epoll_pwait2,
                    self.epoll.as_raw_fd(),
                    ptr,
                    cap as libc::c_int,
                    tsp,
                    std::ptr::null::<libc::sigset_t>(),
                    0usize,
                )
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ENOSYS) {
                return Err(e);
            }
            self.no_pwait2.store(true, Ordering::Relaxed);
        }
        let ts = timeout.map(|d| rustix::event::Timespec {
            tv_sec: d.as_secs().min(i64::MAX as u64) as _,
            tv_nsec: d.subsec_nanos() as _,
        });
        // Fills the spare capacity and sets the length.
        let n = epoll::wait(
            &self.epoll,
            rustix::buffer::spare_capacity(&mut events.list),
            ts.as_ref(),
        )?;
        Ok(n)
    }

    /// Wakes the current or next [`Poller::wait`] (from any thread).
    pub(crate) fn notify(&self) -> io::Result<()> {
        if self.notified.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        match rustix::io::write(&self.event, &1u64.to_ne_bytes()) {
            Ok(_) | Err(rustix::io::Errno::AGAIN) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl AsRawFd for Poller {
    fn as_raw_fd(&self) -> RawFd {
        self.epoll.as_raw_fd()
    }
}

impl AsFd for Poller {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }
}

/// A buffer of poller events.
pub(crate) struct Events {
    /// The events of the last wait.
    list: Vec<epoll::Event>,
}

impl Events {
    /// A buffer for up to 1024 events per wait.
    pub(crate) fn new() -> Events {
        Events {
            list: Vec::with_capacity(1024),
        }
    }

    /// Empties the buffer.
    pub(crate) fn clear(&mut self) {
        self.list.clear();
    }

    /// The events, decoded.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Ev> + '_ {
        self.list.iter().map(|e| {
            let (f, data) = (e.flags, e.data);
            let err = f.intersects(EventFlags::ERR | EventFlags::HUP);
            Ev {
                key: data.u64() as usize,
                readable: f.intersects(EventFlags::IN | EventFlags::PRI | EventFlags::RDHUP),
                writable: f.contains(EventFlags::OUT),
                read_closed: err || f.contains(EventFlags::RDHUP),
                closed: err,
            }
        })
    }
}

/// One decoded event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ev {
    /// The registration's key.
    pub(crate) key: usize,
    /// Data (or urgent data, or end-of-stream) to read.
    pub(crate) readable: bool,
    /// Room to write.
    pub(crate) writable: bool,
    /// The peer will send no more (`EPOLLRDHUP`), or the fd hung up or failed: reading will
    /// not block from now on.
    pub(crate) read_closed: bool,
    /// Hang-up or error (`EPOLLHUP`/`EPOLLERR`): neither direction will block any more.
    pub(crate) closed: bool,
}
