//! [`Child`], [`ChildHandle`], and the per-child state that reaping works under.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::process::{ExitStatus, Output};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{get_hub, wait_one, HoldGuard, Notify, WaitList, Waitable, WaiterKey};

use crate::pipe::{remaining, ChildStderr, ChildStdin, ChildStdout};
use crate::sys;

/// How a child's exit is noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detection {
    /// A pidfd in the hub's poller, watched by one small greenlet.
    Pidfd,
    /// This thread's `SIGCHLD` handler, which tries every live child of the thread.
    Sigchld,
}

/// What every handle to one child shares: the reaping happens here, once.
pub(crate) struct ChildState {
    /// The process id.
    pid: u32,
    /// std's handle. Reaping goes through its `try_wait` (`waitpid(pid, WNOHANG)`, never
    /// `waitpid(-1)`), and `kill` through its `kill`.
    ///
    /// # Invariant
    ///
    /// Borrowed only for the length of one system call: never across a switch.
    std: RefCell<std::process::Child>,
    /// The outcome once known: the exit status, or the errno with which reaping failed for
    /// good (`ECHILD`: someone else reaped our child). Set once; never reaped again after.
    exit: Cell<Option<Result<ExitStatus, i32>>>,
    /// Greenlets (and `wait`/`iwait` registrations) to notify on exit.
    waiters: WaitList,
    /// Keeps the hub's loop alive while someone waits (the exit watchers themselves do not:
    /// a child nobody waits for must not keep the loop running).
    hold: RefCell<Option<HoldGuard>>,
    /// How the exit is noticed.
    detection: Cell<Detection>,
}

impl ChildState {
    /// The state of a child just spawned.
    pub(crate) fn new(child: std::process::Child) -> Rc<ChildState> {
        Rc::new(ChildState {
            pid: child.id(),
            std: RefCell::new(child),
            exit: Cell::new(None),
            waiters: WaitList::new(),
            hold: RefCell::new(None),
            detection: Cell::new(Detection::Pidfd),
        })
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Records how the exit is noticed.
    pub(crate) fn set_detection(&self, d: Detection) {
        self.detection.set(d);
    }

    /// Whether the outcome is known.
    pub(crate) fn is_done(&self) -> bool {
        self.exit.get().is_some()
    }

    /// Reaps the child if it has exited, without waiting: the status once known, `None` while
    /// it runs. The one place where `waitpid` is called; the status is kept, so the child is
    /// reaped exactly once however many greenlets ask.
    pub(crate) fn reap(&self) -> io::Result<Option<ExitStatus>> {
        if let Some(r) = self.exit.get() {
            return r.map(Some).map_err(io::Error::from_raw_os_error);
        }
        let r = self.std.borrow_mut().try_wait();
        match r {
            Ok(None) => Ok(None),
            Ok(Some(s)) => {
                self.finish(Ok(s));
                Ok(Some(s))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(None),
            Err(e) => {
                self.finish(Err(e.raw_os_error().unwrap_or(libc::ECHILD)));
                Err(e)
            }
        }
    }

    /// Records the outcome and wakes every waiter.
    fn finish(&self, r: Result<ExitStatus, i32>) {
        self.exit.set(Some(r));
        self.waiters.notify_all();
        self.hold.borrow_mut().take();
    }
}

/// A running or exited child process (std's `Child`, gevent's `Popen`): its waits switch to
/// the hub instead of blocking the thread, and its pipes are cooperative.
///
/// Made by [`Command::spawn`](crate::Command::spawn). Dropping it neither kills nor waits for
/// the child, as in std; unlike std, the hub still reaps it when it exits, so it leaves no
/// zombie (as long as this thread's hub runs).
///
/// A `Child` belongs to the thread that spawned it, whose hub watches it: unlike std's, it is
/// not `Send`.
///
/// ```compile_fail
/// let child = gevent_subprocess::Command::new("true").spawn().unwrap();
/// std::thread::spawn(move || drop(child)); // error: `Rc<...>` cannot be sent between threads
/// ```
///
/// # Examples
///
/// ```
/// use gevent_subprocess::Command;
/// let mut child = Command::new("sh").args(["-c", "exit 3"]).spawn()?;
/// assert_eq!(child.wait()?.code(), Some(3));
/// # Ok::<(), std::io::Error>(())
/// ```
#[doc(alias = "Popen")]
pub struct Child {
    /// The parent's end of the child's stdin, if it was piped. `wait` closes it first.
    pub stdin: Option<ChildStdin>,
    /// The parent's end of the child's stdout, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The parent's end of the child's stderr, if it was piped.
    pub stderr: Option<ChildStderr>,
    /// The shared state (waits, status).
    handle: ChildHandle,
}

/// A cheap, clonable handle for waiting on (and signalling) a [`Child`] from several
/// greenlets: `Child` holds the pipes and needs `&mut` to close stdin; a `ChildHandle` only
/// waits, and can be moved into a spawned greenlet.
///
/// # Examples
///
/// ```
/// use gevent_subprocess::Command;
/// let mut child = Command::new("true").spawn()?;
/// let h = child.handle();
/// let g = gevent_hub::spawn(move || h.wait().unwrap().success());
/// assert!(child.wait()?.success());
/// assert!(g.get().unwrap());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct ChildHandle {
    /// The shared state.
    state: Rc<ChildState>,
}

impl Child {
    /// Assembles a child from its parts.
    pub(crate) fn new(
        state: Rc<ChildState>,
        stdin: Option<ChildStdin>,
        stdout: Option<ChildStdout>,
        stderr: Option<ChildStderr>,
    ) -> Child {
        Child {
            stdin,
            stdout,
            stderr,
            handle: ChildHandle { state },
        }
    }

    /// The process id (std's `id`, gevent's `pid`).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut child = gevent_subprocess::Command::new("true").spawn()?;
    /// assert!(child.id() > 0);
    /// child.wait()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "pid")]
    pub fn id(&self) -> u32 {
        self.handle.id()
    }

    /// A handle for waiting from other greenlets.
    ///
    /// # Examples
    ///
    /// See [`ChildHandle`].
    ///
    /// # Switches
    ///
    /// Never.
    pub fn handle(&self) -> ChildHandle {
        self.handle.clone()
    }

    /// Closes stdin (if piped), then waits for the child to exit, switching to the hub
    /// meanwhile (std's `wait`, gevent's `Popen.wait`). Once the status is known, every later
    /// call returns it again.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut child = gevent_subprocess::Command::new("sleep").arg("0.01").spawn()?;
    /// assert!(child.wait()?.success());
    /// assert!(child.wait()?.success()); // the same status again
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `waitpid`'s error: `ECHILD` if something else reaped the child (a `waitpid(-1)`
    /// elsewhere in the process).
    ///
    /// # Switches
    ///
    /// Yes, until the child exits (not if it already has).
    ///
    /// # Kill safety
    ///
    /// A kill or timeout leaves the child running and reapable; stdin is closed.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        self.handle.wait()
    }

    /// Waits at most `timeout` for the child to exit: `Ok(None)` if it still runs. Unlike
    /// [`wait`](Child::wait), stdin stays open (as in Python's `wait(timeout)` and the
    /// `wait-timeout` crate).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut child = gevent_subprocess::Command::new("sleep").arg("10").spawn()?;
    /// assert_eq!(child.wait_timeout(Duration::from_millis(10))?, None);
    /// child.kill()?;
    /// assert!(child.wait_timeout(Duration::from_secs(10))?.is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`wait`](Child::wait).
    ///
    /// # Switches
    ///
    /// Yes, unless the child has exited.
    ///
    /// # Kill safety
    ///
    /// A kill leaves the child as it was.
    pub fn wait_timeout(&self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        self.handle.wait_timeout(timeout)
    }

    /// The exit status if the child has exited, reaping it; `None` while it runs (std's
    /// `try_wait`, gevent's `poll`). Calls `waitpid(pid, WNOHANG)` itself, so a loop of
    /// `try_wait` sees the exit even if it never lets the hub run.
    ///
    /// # Examples
    ///
    /// ```
    /// let child = gevent_subprocess::Command::new("true").spawn()?;
    /// while child.try_wait()?.is_none() {}
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`wait`](Child::wait).
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "poll")]
    pub fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
        self.handle.try_wait()
    }

    /// Kills the child with `SIGKILL` (std's `kill`); `Ok` if it has already exited. Does
    /// not wait for it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// let mut child = gevent_subprocess::Command::new("sleep").arg("10").spawn()?;
    /// child.kill()?;
    /// assert_eq!(child.wait()?.signal(), Some(libc::SIGKILL));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `kill(2)`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn kill(&self) -> io::Result<()> {
        self.handle.kill()
    }

    /// Sends `signum` to the child (gevent's `send_signal`); `Ok` and nothing sent if it has
    /// already been reaped (its pid may belong to another process by then).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// let mut child = gevent_subprocess::Command::new("sleep").arg("10").spawn()?;
    /// child.send_signal(libc::SIGTERM)?;
    /// assert_eq!(child.wait()?.signal(), Some(libc::SIGTERM));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a number that is not a named signal (realtime signals are not
    /// accepted); `kill(2)`'s error.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn send_signal(&self, signum: i32) -> io::Result<()> {
        self.handle.send_signal(signum)
    }

    /// Sends `SIGTERM` (gevent's `terminate`); see [`send_signal`](Child::send_signal).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut child = gevent_subprocess::Command::new("sleep").arg("10").spawn()?;
    /// child.terminate()?;
    /// let status = child.wait()?;
    /// assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGTERM));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Child::send_signal).
    ///
    /// # Switches
    ///
    /// Never.
    pub fn terminate(&self) -> io::Result<()> {
        self.handle.send_signal(libc::SIGTERM)
    }

    /// Closes stdin, reads stdout and stderr to their ends (concurrently), and waits for the
    /// child (std's `wait_with_output`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_subprocess::{Command, Stdio};
    /// let child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
    /// let out = child.wait_with_output()?;
    /// assert_eq!(out.stdout, b"hi\n");
    /// assert!(out.status.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A read error, or as [`wait`](Child::wait).
    ///
    /// # Switches
    ///
    /// Yes, until the pipes close and the child exits.
    ///
    /// # Kill safety
    ///
    /// A kill closes the pipes (the `Child` is consumed); the child is reaped when it exits.
    pub fn wait_with_output(mut self) -> io::Result<Output> {
        let (stdout, stderr) = self.communicate(None, None)?;
        let status = self.wait()?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    /// How the exit is detected, for tests: `"pidfd"` or `"sigchld"`.
    #[doc(hidden)]
    pub fn __exit_detection(&self) -> &'static str {
        match self.handle.state.detection.get() {
            Detection::Pidfd => "pidfd",
            Detection::Sigchld => "sigchld",
        }
    }

    /// The deadline-based wait behind `communicate`.
    pub(crate) fn wait_deadline(
        &self,
        deadline: Option<Instant>,
    ) -> io::Result<Option<ExitStatus>> {
        self.handle.wait_deadline(deadline)
    }
}

impl ChildHandle {
    /// The process id.
    ///
    /// # Examples
    ///
    /// ```
    /// let child = gevent_subprocess::Command::new("true").spawn()?;
    /// let h = child.handle();
    /// assert_eq!(h.id(), child.id());
    /// h.wait()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn id(&self) -> u32 {
        self.state.pid
    }

    /// Waits for the child to exit (does not touch its pipes); see [`Child::wait`].
    ///
    /// # Examples
    ///
    /// See [`ChildHandle`].
    ///
    /// # Errors
    ///
    /// As [`Child::wait`].
    ///
    /// # Switches
    ///
    /// Yes, until the child exits (not if it already has).
    ///
    /// # Kill safety
    ///
    /// A kill or timeout leaves the child running and reapable.
    pub fn wait(&self) -> io::Result<ExitStatus> {
        match self.wait_deadline(None)? {
            Some(s) => Ok(s),
            None => unreachable!("a wait without a deadline ends with a status"),
        }
    }

    /// See [`Child::wait_timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let child = gevent_subprocess::Command::new("sleep").arg("10").spawn()?;
    /// let h = child.handle();
    /// assert_eq!(h.wait_timeout(Duration::from_millis(10))?, None); // still running
    /// h.kill()?;
    /// assert!(h.wait_timeout(Duration::from_secs(10))?.is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Child::wait`].
    ///
    /// # Switches
    ///
    /// Yes, unless the child has exited.
    ///
    /// # Kill safety
    ///
    /// A kill leaves the child as it was.
    pub fn wait_timeout(&self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        self.wait_deadline(Instant::now().checked_add(timeout))
    }

    /// See [`Child::try_wait`].
    ///
    /// # Examples
    ///
    /// ```
    /// let child = gevent_subprocess::Command::new("sleep").arg("10").spawn()?;
    /// let h = child.handle();
    /// assert_eq!(h.try_wait()?, None); // gevent's poll(): still running
    /// h.kill()?;
    /// h.wait()?;
    /// assert!(h.try_wait()?.is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Child::wait`].
    ///
    /// # Switches
    ///
    /// Never.
    #[doc(alias = "poll")]
    pub fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
        self.state.reap()
    }

    /// See [`Child::kill`].
    ///
    /// # Examples
    ///
    /// ```
    /// let mut child = gevent_subprocess::Command::new("sleep").arg("10").spawn()?;
    /// let h = child.handle();
    /// gevent_hub::spawn(move || h.kill().unwrap()); // from another greenlet
    /// assert!(!child.wait()?.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Child::kill`].
    ///
    /// # Switches
    ///
    /// Never.
    pub fn kill(&self) -> io::Result<()> {
        if self.state.is_done() {
            return Ok(());
        }
        let r = self.state.std.borrow_mut().kill();
        r
    }

    /// See [`Child::send_signal`].
    ///
    /// # Examples
    ///
    /// ```
    /// let child = gevent_subprocess::Command::new("sleep").arg("10").spawn()?;
    /// let h = child.handle();
    /// h.send_signal(libc::SIGINT)?;
    /// let status = h.wait()?;
    /// assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGINT));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Child::send_signal`].
    ///
    /// # Switches
    ///
    /// Never.
    pub fn send_signal(&self, signum: i32) -> io::Result<()> {
        // Not reaped yet, so the pid is still ours (a zombie at worst).
        if self.state.reap()?.is_some() {
            return Ok(());
        }
        sys::kill(self.state.pid, signum)
    }

    /// Waits until `deadline` (`None`: for ever).
    fn wait_deadline(&self, deadline: Option<Instant>) -> io::Result<Option<ExitStatus>> {
        loop {
            if let Some(s) = self.state.reap()? {
                return Ok(Some(s));
            }
            let timeout = match remaining(deadline) {
                Ok(t) => t,
                Err(_) => return Ok(None),
            };
            wait_one(self, timeout);
        }
    }
}

/// Ready once the child has exited (and been reaped), so `gevent::wait(&[&c1, &c2], None)`
/// waits for children, greenlets and events alike.
///
/// # Examples
///
/// ```
/// use gevent_subprocess::Command;
/// let a = Command::new("true").spawn()?;
/// let b = Command::new("sleep").arg("0.01").spawn()?;
/// assert_eq!(gevent_hub::wait(&[&a, &b], None).len(), 2);
/// assert!(a.try_wait()?.is_some() && b.try_wait()?.is_some());
/// # Ok::<(), std::io::Error>(())
/// ```
impl Waitable for ChildHandle {
    fn ready(&self) -> bool {
        !matches!(self.state.reap(), Ok(None))
    }

    fn add_waiter(&self, notify: Notify) -> WaiterKey {
        let key = self.state.waiters.add(notify);
        if self.state.is_done() {
            self.state.waiters.notify_all();
            return key;
        }
        let mut hold = self.state.hold.borrow_mut();
        if hold.is_none() {
            *hold = Some(get_hub().remote().hold());
        }
        key
    }

    fn remove_waiter(&self, key: WaiterKey) {
        self.state.waiters.remove(key);
        if self.state.waiters.is_empty() {
            self.state.hold.borrow_mut().take();
        }
    }
}

/// As for [`ChildHandle`].
impl Waitable for Child {
    fn ready(&self) -> bool {
        self.handle.ready()
    }

    fn add_waiter(&self, notify: Notify) -> WaiterKey {
        self.handle.add_waiter(notify)
    }

    fn remove_waiter(&self, key: WaiterKey) {
        self.handle.remove_waiter(key)
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.id())
            .field("status", &self.handle.state.exit.get())
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}

impl fmt::Debug for ChildHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildHandle")
            .field("pid", &self.id())
            .field("status", &self.state.exit.get())
            .finish()
    }
}
