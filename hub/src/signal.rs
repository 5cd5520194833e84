//! Signal handlers that run in greenlets (gevent's `signal_handler`), and the signal numbers a
//! gevent user reaches for ([`SIGINT`], [`SIGTERM`], ...).
//!
//! # Implementation
//!
//! The process-wide handler (installed through `signal-hook-registry`, which chains to any
//! handler installed before it) only writes the signal number to a pipe, with a raw `write(2)`
//! through rustix: async-signal-safe, and it leaves `errno` alone. The read end of the pipe is
//! registered with the hub's poller without keeping the loop alive; when it becomes readable,
//! a greenlet of the hub reads it and spawns one greenlet per registered callback, named after
//! the handler (so that a panic in it is reported as, say, `'signal handler #2 for
//! SIGUSR1'`). The pipe's system calls go through rustix, never libc, so the monkey crate's
//! hooks never see them.
//!
//! A handler stays installed until [`SignalHandle::cancel`]: dropping its handle does not
//! remove it (gevent keeps a started signal watcher alive in its loop the same way). When the
//! thread exits, its hub's teardown removes the thread's handlers and closes its pipe.
//!
//! # Examples
//!
//! ```
//! use std::{cell::Cell, rc::Rc, time::Duration};
//! use gevent_hub::signal::{signal_handler, SIGUSR2};
//! let hits = Rc::new(Cell::new(0));
//! let h = hits.clone();
//! let handle = signal_handler(SIGUSR2, move || h.set(h.get() + 1)).unwrap();
//! // SAFETY (doctest): raising a signal we handle.
//! unsafe { libc::raise(SIGUSR2) };
//! for _ in 0..200 { if hits.get() > 0 { break } gevent_hub::sleep(Duration::from_millis(5)); }
//! assert_eq!(hits.get(), 1);
//! handle.cancel();
//! ```

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::rc::Rc;

use signal_hook_registry::SigId;

use crate::glet::{spawn_raw, Greenlet};
use crate::hub::get_hub;
use crate::reactor::IoSource;

/// Interrupt (Ctrl-C).
pub const SIGINT: i32 = libc::SIGINT;
/// Termination request (`kill`, `systemctl stop`): the polite way to stop a server.
pub const SIGTERM: i32 = libc::SIGTERM;
/// Quit (Ctrl-\), as in gevent's `signal_handler(signal.SIGQUIT, gevent.kill)` example.
pub const SIGQUIT: i32 = libc::SIGQUIT;
/// Hangup of the controlling terminal; daemons reload their configuration on it.
pub const SIGHUP: i32 = libc::SIGHUP;
/// User-defined signal 1.
pub const SIGUSR1: i32 = libc::SIGUSR1;
/// User-defined signal 2.
pub const SIGUSR2: i32 = libc::SIGUSR2;

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
    next: Cell<u64>,
}

impl Drop for Signals {
    fn drop(&mut self) {
        // Before the pipe closes: no handler may write to its fd number afterwards.
        for (_, sid) in self.ids.get_mut().drain() {
            signal_hook_registry::unregister(sid);
        }
    }
}

/// A registered signal handler. It stays installed until [`cancel`](SignalHandle::cancel)
/// (dropping the handle keeps it, as gevent does).
///
/// # Examples
///
/// See [`signal_handler`].
#[derive(Debug)]
pub struct SignalHandle {
    /// The signal.
    signum: i32,
    /// Its id.
    id: u64,
}

impl SignalHandle {
    /// Removes the handler. When it was the last one for its signal in this thread, this
    /// thread's registration with the process-wide handler is removed too: the signal then
    /// does nothing here (the process-wide handler stays installed; it also runs whatever
    /// handler was installed before it).
    ///
    /// # Examples
    ///
    /// ```
    /// let h = gevent_hub::signal_handler(gevent_hub::signal::SIGUSR1, || ()).unwrap();
    /// h.cancel();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn cancel(self) {
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
        s.handlers.borrow_mut().remove(&self.signum);
        let sid = s.ids.borrow_mut().remove(&self.signum);
        if let Some(sid) = sid {
            signal_hook_registry::unregister(sid);
        }
    }

    /// Keeps the handler for the rest of the thread's life: the same as dropping the handle
    /// (kept for code that wants to say so).
    ///
    /// # Examples
    ///
    /// ```
    /// gevent_hub::signal_handler(gevent_hub::signal::SIGUSR2, || ()).unwrap().forget();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn forget(self) {}

    /// The signal it handles.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_hub::signal::{signal_handler, SIGHUP};
    /// let h = signal_handler(SIGHUP, || ()).unwrap();
    /// assert_eq!(h.signum(), SIGHUP);
    /// h.cancel();
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn signum(&self) -> i32 {
        self.signum
    }
}

/// Runs `f` in a new greenlet each time the process receives `signum` (gevent's
/// `signal_handler`), until [`SignalHandle::cancel`]. The handler does not keep the loop
/// alive. Its greenlets are named `signal handler #<id> for <SIGNAME>`, so that a panic in one
/// is reported under that name.
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
/// use gevent_hub::signal::SIGUSR2;
/// let hits = Rc::new(Cell::new(0));
/// let h = hits.clone();
/// let handle = gevent_hub::signal_handler(SIGUSR2, move || h.set(h.get() + 1)).unwrap();
/// // SAFETY (doctest): raising a signal we handle.
/// unsafe { libc::raise(SIGUSR2) };
/// for _ in 0..200 { if hits.get() > 0 { break } gevent_hub::sleep(Duration::from_millis(5)); }
/// assert_eq!(hits.get(), 1);
/// handle.cancel();
/// ```
///
/// # Switches
///
/// Never.
#[doc(alias = "signal")]
pub fn signal_handler(signum: i32, f: impl Fn() + 'static) -> io::Result<SignalHandle> {
    if signal_hook_registry::FORBIDDEN.contains(&signum) {
        // SIGKILL and SIGSTOP cannot be handled; SIGILL, SIGFPE and SIGSEGV must not be.
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {} cannot be handled", signal_name(signum)),
        ));
    }
    let byte = u8::try_from(signum)
        .ok()
        .filter(|&b| b > 0)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{signum} is not a signal number"),
            )
        })?;
    let s = signals()?;
    let id = s.next.get();
    s.next.set(id + 1);
    if !s.ids.borrow().contains_key(&signum) {
        let fd = s.write.as_raw_fd();
        // SAFETY: the action only makes a raw `write(2)` system call (rustix, no libc, no
        // allocation, `errno` untouched), which is async-signal-safe, on a non-blocking pipe.
        // The pipe's write end stays open until the registration is removed: `cancel` and
        // `Signals::drop` unregister before the fd is closed, and `unregister` returns only
        // once no running action can still use it.
        let sid = unsafe {
            signal_hook_registry::register(signum, move || {
                let fd = BorrowedFd::borrow_raw(fd);
                let _ = rustix::io::write(fd, &[byte]);
            })
        }?;
        s.ids.borrow_mut().insert(signum, sid);
    }
    s.handlers
        .borrow_mut()
        .entry(signum)
        .or_default()
        .push((id, Rc::new(f)));
    Ok(SignalHandle { signum, id })
}

/// The name of a signal (`SIGTERM`), or its number.
fn signal_name(signum: i32) -> String {
    let names = [
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGINT, "SIGINT"),
        (libc::SIGQUIT, "SIGQUIT"),
        (libc::SIGILL, "SIGILL"),
        (libc::SIGTRAP, "SIGTRAP"),
        (libc::SIGABRT, "SIGABRT"),
        (libc::SIGBUS, "SIGBUS"),
        (libc::SIGFPE, "SIGFPE"),
        (libc::SIGKILL, "SIGKILL"),
        (libc::SIGUSR1, "SIGUSR1"),
        (libc::SIGSEGV, "SIGSEGV"),
        (libc::SIGUSR2, "SIGUSR2"),
        (libc::SIGPIPE, "SIGPIPE"),
        (libc::SIGALRM, "SIGALRM"),
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGCHLD, "SIGCHLD"),
        (libc::SIGCONT, "SIGCONT"),
        (libc::SIGSTOP, "SIGSTOP"),
        (libc::SIGTSTP, "SIGTSTP"),
        (libc::SIGTTIN, "SIGTTIN"),
        (libc::SIGTTOU, "SIGTTOU"),
        (libc::SIGURG, "SIGURG"),
        (libc::SIGXCPU, "SIGXCPU"),
        (libc::SIGXFSZ, "SIGXFSZ"),
        (libc::SIGVTALRM, "SIGVTALRM"),
        (libc::SIGPROF, "SIGPROF"),
        (libc::SIGWINCH, "SIGWINCH"),
        (libc::SIGIO, "SIGIO"),
        (libc::SIGPWR, "SIGPWR"),
        (libc::SIGSYS, "SIGSYS"),
    ];
    match names.iter().find(|(n, _)| *n == signum) {
        Some((_, name)) => (*name).to_owned(),
        None => format!("signal {signum}"),
    }
}

/// This thread's signal machinery, created (and its reader greenlet started) on first use.
fn signals() -> io::Result<Rc<Signals>> {
    if let Some(s) = SIGNALS.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    let (read, write) = rustix::pipe::pipe_with(
        rustix::pipe::PipeFlags::NONBLOCK | rustix::pipe::PipeFlags::CLOEXEC,
    )?;
    let read = IoSource::new(read)?;
    read.set_ref(false);
    let s = Rc::new(Signals {
        write,
        read,
        handlers: RefCell::new(HashMap::new()),
        ids: RefCell::new(HashMap::new()),
        next: Cell::new(0),
    });
    SIGNALS.with(|x| *x.borrow_mut() = Some(s.clone()));
    let _ = get_hub();
    let reader = s.clone();
    spawn_raw(move || loop {
        if reader.read.wait_readable(None).is_err() {
            return;
        }
        let mut buf = [0u8; 64];
        loop {
            let n = match rustix::io::read(reader.read.get_ref().as_fd(), &mut buf) {
                Ok(n) if n > 0 => n,
                Ok(_) => break,
                Err(e) if e == rustix::io::Errno::INTR => continue,
                Err(_) => break,
            };
            for &b in &buf[..n] {
                let signum = i32::from(b);
                let cbs: Vec<Handler> = reader
                    .handlers
                    .borrow()
                    .get(&signum)
                    .map(|v| v.to_vec())
                    .unwrap_or_default();
                for (id, f) in cbs {
                    let g = Greenlet::new(move || f());
                    g.set_name(format!("signal handler #{id} for {}", signal_name(signum)));
                    g.start();
                }
            }
        }
    });
    Ok(s)
}

/// Removes this thread's handlers and closes its signal pipe (the hub's teardown at thread
/// exit; the reader greenlet has been killed by then, or is left to the hub to drop).
pub(crate) fn teardown() {
    let s = SIGNALS.try_with(|s| s.borrow_mut().take()).ok().flatten();
    if let Some(s) = s {
        for (_, sid) in s.ids.borrow_mut().drain() {
            signal_hook_registry::unregister(sid);
        }
        s.handlers.borrow_mut().clear();
    }
}
