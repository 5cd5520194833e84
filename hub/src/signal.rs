//! Signal handlers that run in greenlets (gevent's `signal_handler`).
//!
//! The process-wide handler (installed through `signal-hook-registry`) only writes the signal
//! number to a pipe, with a direct `write(2)` system call (rustix: async-signal-safe, and never
//! libc's `write`, which the monkey crate may interpose). The read end of the pipe is registered with
//! the hub's poller without keeping the loop alive; when it becomes readable the hub spawns one
//! greenlet per registered callback.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::rc::Rc;

use signal_hook_registry::SigId;

use crate::glet::spawn_raw;
use crate::hub::get_hub;
use crate::reactor::IoSource;

thread_local! {
    /// This thread's signal pipe and callbacks, once a handler is registered.
    static SIGNALS: RefCell<Option<Rc<Signals>>> = const { RefCell::new(None) };
}

/// A registered callback and its handle id.
type Handler = (u64, Rc<dyn Fn()>);

/// The per-thread signal machinery.
struct Signals {
    /// The write end (the signal handler writes the signal number here).
    write: OwnedFd,
    /// The read end, registered with the hub.
    read: IoSource<OwnedFd>,
    /// Callbacks by signal number, with their handle ids.
    handlers: RefCell<HashMap<i32, Vec<Handler>>>,
    /// Registrations with the process-wide registry, one per signal number that has
    /// callbacks (one byte per signal, however many callbacks it has).
    ids: RefCell<HashMap<i32, SigId>>,
    /// The next handle id.
    next: std::cell::Cell<u64>,
}

/// A registered signal handler; [`cancel`](SignalHandle::cancel) (or drop) removes it.
#[derive(Debug)]
#[must_use = "dropping the handle cancels the handler; call `forget` to keep it for good"]
pub struct SignalHandle {
    /// The signal.
    signum: i32,
    /// Its id.
    id: u64,
    /// Whether it was already cancelled or forgotten.
    done: bool,
}

impl SignalHandle {
    /// Removes the handler.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn cancel(mut self) {
        self.remove();
    }

    /// Keeps the handler for the rest of the thread's life.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn forget(mut self) {
        self.done = true;
    }

    fn remove(&mut self) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let Some(s) = SIGNALS.try_with(|s| s.borrow().clone()).ok().flatten() else {
            return;
        };
        let last = match s.handlers.borrow_mut().get_mut(&self.signum) {
            Some(v) => {
                v.retain(|(id, _)| *id != self.id);
                v.is_empty()
            }
            None => true,
        };
        if !last {
            return;
        }
        let sid = s.ids.borrow_mut().remove(&self.signum);
        if let Some(sid) = sid {
            signal_hook_registry::unregister(sid);
        }
    }
}

impl Drop for SignalHandle {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Runs `f` in a new greenlet each time the process receives `signum` (gevent's
/// `signal_handler`). The handler does not keep the loop alive. Returns a handle that cancels
/// it when dropped (or [`SignalHandle::forget`] to keep it).
///
/// # Errors
///
/// `InvalidInput` if the signal cannot be handled (`SIGKILL`, `SIGSTOP`), must not be
/// (`SIGILL`, `SIGFPE`, `SIGSEGV`), or is not a signal number; the error of the pipe's or the
/// registration's system call otherwise.
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// let hits = Rc::new(Cell::new(0));
/// let h = hits.clone();
/// let handle = gevent_hub::signal_handler(libc::SIGUSR2, move || h.set(h.get() + 1)).unwrap();
/// // SAFETY (doctest): raising a signal we handle.
/// unsafe { libc::raise(libc::SIGUSR2) };
/// for _ in 0..100 { if hits.get() > 0 { break } gevent_hub::sleep(Duration::from_millis(5)); }
/// assert_eq!(hits.get(), 1);
/// handle.cancel();
/// ```
///
/// # Switches
///
/// Never.
pub fn signal_handler(signum: i32, f: impl Fn() + 'static) -> io::Result<SignalHandle> {
    if signal_hook_registry::FORBIDDEN.contains(&signum) {
        // SIGKILL and SIGSTOP cannot be handled; SIGILL, SIGFPE and SIGSEGV must not be.
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signum} cannot be handled"),
        ));
    }
    let s = signals()?;
    let id = s.next.get();
    s.next.set(id + 1);
    let fd = s.write.as_raw_fd();
    let byte = u8::try_from(signum).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    if !s.ids.borrow().contains_key(&signum) {
        // SAFETY: the action only makes a write(2) system call, which is async-signal-safe, on
        // a non-blocking pipe that stays open for the process's life (the thread's `Signals`
        // is never dropped before the registration is removed, and the fd is leaked if the
        // thread exits first).
        let sid = unsafe {
            signal_hook_registry::register(signum, move || {
                // SAFETY: `fd` is open for as long as this action is registered (above).
                let pipe = BorrowedFd::borrow_raw(fd);
                // A full pipe already holds wake-ups for the reader: dropping this one is fine.
                let _ = rustix::io::write(pipe, &[byte]);
            })
        }?;
        s.ids.borrow_mut().insert(signum, sid);
    }
    s.handlers
        .borrow_mut()
        .entry(signum)
        .or_default()
        .push((id, Rc::new(f)));
    Ok(SignalHandle {
        signum,
        id,
        done: false,
    })
}

/// This thread's signal machinery, created (and its reader greenlet started) on first use.
fn signals() -> io::Result<Rc<Signals>> {
    if let Some(s) = SIGNALS.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    use rustix::pipe::PipeFlags;
    let (read, write) = rustix::pipe::pipe_with(PipeFlags::NONBLOCK | PipeFlags::CLOEXEC)?;
    let read = IoSource::new(read)?;
    read.set_ref(false);
    let s = Rc::new(Signals {
        write,
        read,
        handlers: RefCell::new(HashMap::new()),
        ids: RefCell::new(HashMap::new()),
        next: std::cell::Cell::new(0),
    });
    SIGNALS.with(|x| *x.borrow_mut() = Some(s.clone()));
    let _ = get_hub();
    let reader = s.clone();
    spawn_raw(move || loop {
        if reader.read.wait_readable(None).is_err() {
            return;
        }
        let mut buf = [0u8; 64];
        // Until EAGAIN (or an error): the pipe is non-blocking.
        while let Ok(n @ 1..) = rustix::io::read(reader.read.as_fd(), &mut buf) {
            for &b in &buf[..n] {
                let cbs: Vec<_> = reader
                    .handlers
                    .borrow()
                    .get(&i32::from(b))
                    .map(|v| v.iter().map(|(_, f)| f.clone()).collect())
                    .unwrap_or_default();
                for f in cbs {
                    spawn_raw(move || f());
                }
            }
        }
    });
    Ok(s)
}
