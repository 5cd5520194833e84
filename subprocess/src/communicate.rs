//! [`Child::communicate`]: feed stdin while draining stdout and stderr, concurrently.
//!
//! Each pipe gets a job; with more than one job, each runs in a greenlet of its own, so a child
//! that fills its stdout pipe before reading all its input cannot deadlock with us (the classic
//! trap of writing all input first). Every job stops by itself at the deadline and gives its
//! pipe back, so a timeout needs no kills and a later call can go on where this one stopped.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{joinall, spawn, Greenlet, KillOptions};

use crate::child::Child;
use crate::pipe::{ChildStderr, ChildStdin, ChildStdout, Pipe};

/// [`Child::communicate`] ran out of time. It keeps what was exchanged so far; the child
/// still runs, and its unfinished pipes are back in the [`Child`], so calling `communicate`
/// again goes on where this call stopped (pass the input not yet written:
/// `&input[e.input_written()..]`).
///
/// It travels inside the `io::Error` (of kind `TimedOut`) that `communicate` returns; get it
/// back with `io::Error::downcast`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gevent_subprocess::{Command, CommunicateTimeout, Stdio};
///
/// let mut child = Command::new("sh")
///     .args(["-c", "echo early; exec sleep 10"])
///     .stdout(Stdio::piped())
///     .spawn()?;
/// let err = child.communicate(None, Some(Duration::from_millis(500))).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
/// let t = err.downcast::<CommunicateTimeout>().unwrap();
/// assert_eq!(t.stdout(), b"early\n");
/// assert_eq!((t.stderr(), t.input_written()), (&b""[..], 0)); // no stderr pipe, no input
/// let (stdout, _stderr) = t.into_output();
/// assert_eq!(stdout, b"early\n");
/// child.kill()?;
/// child.wait()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunicateTimeout {
    /// Read from stdout so far.
    stdout: Vec<u8>,
    /// Read from stderr so far.
    stderr: Vec<u8>,
    /// How many bytes of the input were written.
    written: usize,
}

impl CommunicateTimeout {
    /// What was read from stdout before the time ran out.
    ///
    /// # Examples
    ///
    /// See [`CommunicateTimeout`].
    ///
    /// # Switches
    ///
    /// Never.
    pub fn stdout(&self) -> &[u8] {
        &self.stdout
    }

    /// What was read from stderr before the time ran out.
    ///
    /// # Examples
    ///
    /// See [`CommunicateTimeout`].
    ///
    /// # Switches
    ///
    /// Never.
    pub fn stderr(&self) -> &[u8] {
        &self.stderr
    }

    /// How many bytes of the input reached the child's stdin.
    ///
    /// # Examples
    ///
    /// See [`CommunicateTimeout`].
    ///
    /// # Switches
    ///
    /// Never.
    pub fn input_written(&self) -> usize {
        self.written
    }

    /// The output read so far, as `(stdout, stderr)`.
    ///
    /// # Examples
    ///
    /// See [`CommunicateTimeout`].
    ///
    /// # Switches
    ///
    /// Never.
    pub fn into_output(self) -> (Vec<u8>, Vec<u8>) {
        (self.stdout, self.stderr)
    }
}

impl fmt::Display for CommunicateTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "communicating with the child timed out after reading {} bytes of stdout and {} of \
             stderr, and writing {} bytes of input",
            self.stdout.len(),
            self.stderr.len(),
            self.written
        )
    }
}

impl std::error::Error for CommunicateTimeout {}

/// An `io::Error` of kind `TimedOut` carrying the timeout (get it back with `downcast`).
impl From<CommunicateTimeout> for io::Error {
    fn from(t: CommunicateTimeout) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, t)
    }
}

/// One pipe's share of the work.
enum Job {
    /// Write `input` to stdin, then close it.
    Feed(ChildStdin, Vec<u8>),
    /// Read stdout to its end.
    Out(ChildStdout),
    /// Read stderr to its end.
    Err(ChildStderr),
}

/// Which pipe a job served.
#[derive(Clone, Copy)]
enum Which {
    /// Stdin.
    In,
    /// Stdout.
    Out,
    /// Stderr.
    Err,
}

/// What a job did.
struct Done {
    /// The pipe it served.
    which: Which,
    /// The pipe, if the job stopped before finishing with it (timeout, error).
    unfinished: Option<Job>,
    /// What was read.
    data: Vec<u8>,
    /// How much input was written.
    written: usize,
    /// How the job ended: `Ok(true)` finished, `Ok(false)` out of time, or an error.
    outcome: io::Result<bool>,
}

impl Job {
    /// Runs the job until it finishes, fails, or `deadline` passes.
    fn run(self, deadline: Option<Instant>) -> Done {
        match self {
            Job::Feed(stdin, input) => {
                let mut written = 0;
                let mut outcome = Ok(true);
                while written < input.len() {
                    match stdin.pipe.write_deadline(&input[written..], deadline) {
                        Ok(n) => written += n,
                        // The child exited or closed stdin without reading it all: as Python's
                        // communicate, stop feeding and go on reading.
                        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => break,
                        Err(e) => {
                            outcome = Err(e);
                            break;
                        }
                    }
                }
                finish(outcome, Job::Feed(stdin, input), Vec::new(), written)
            }
            Job::Out(out) => {
                let mut data = Vec::new();
                let outcome = drain(&out.pipe, &mut data, deadline);
                finish(outcome, Job::Out(out), data, 0)
            }
            Job::Err(err) => {
                let mut data = Vec::new();
                let outcome = drain(&err.pipe, &mut data, deadline);
                finish(outcome, Job::Err(err), data, 0)
            }
        }
    }
}

/// Packs a job's outcome: a finished job drops (closes) its pipe, an unfinished one keeps it.
fn finish(outcome: io::Result<bool>, job: Job, data: Vec<u8>, written: usize) -> Done {
    let which = match job {
        Job::Feed(..) => Which::In,
        Job::Out(_) => Which::Out,
        Job::Err(_) => Which::Err,
    };
    let outcome = match outcome {
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok(false),
        o => o,
    };
    let unfinished = match outcome {
        Ok(true) => None,
        _ => Some(job),
    };
    Done {
        which,
        unfinished,
        data,
        written,
        outcome,
    }
}

/// Reads `pipe` to its end into `data`.
fn drain(pipe: &Pipe, data: &mut Vec<u8>, deadline: Option<Instant>) -> io::Result<bool> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match pipe.read_deadline(&mut buf, deadline)? {
            0 => return Ok(true),
            n => data.extend_from_slice(&buf[..n]),
        }
    }
}

/// Kills the job greenlets if the caller unwinds (killed or timed out) while joining them.
struct KillJobs(Vec<Greenlet<()>>);

impl Drop for KillJobs {
    fn drop(&mut self) {
        for g in &self.0 {
            g.kill_with(KillOptions {
                block: false,
                timeout: None,
            });
        }
    }
}

/// Runs the jobs: inline if there is one, else each in its own greenlet.
fn run_jobs(jobs: Vec<Job>, deadline: Option<Instant>) -> Vec<Done> {
    if jobs.len() <= 1 {
        return jobs.into_iter().map(|j| j.run(deadline)).collect();
    }
    let slots: Vec<Rc<RefCell<Option<Done>>>> = jobs.iter().map(|_| Rc::default()).collect();
    let gs: Vec<Greenlet<()>> = jobs
        .into_iter()
        .zip(&slots)
        .map(|(job, slot)| {
            let slot = slot.clone();
            spawn(move || *slot.borrow_mut() = Some(job.run(deadline)))
        })
        .collect();
    let guard = KillJobs(gs);
    joinall(&guard.0);
    drop(guard);
    slots
        .into_iter()
        .filter_map(|s| s.borrow_mut().take())
        .collect()
}

impl Child {
    /// Sends `input` to the child's stdin and closes it, reads its stdout and stderr to their
    /// ends, and waits for it to exit; returns `(stdout, stderr)` (gevent's and Python's
    /// `Popen.communicate`). The three pipes are served concurrently, so large input and
    /// output cannot deadlock. A pipe that was not piped gives an empty `Vec`.
    ///
    /// With `timeout`, gives up after that long (pipes and exit together) with an error of
    /// kind `TimedOut` holding a [`CommunicateTimeout`] with what was read so far; the child
    /// is not killed (kill it, or call `communicate` again to go on).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_subprocess::{Command, Stdio};
    /// let mut child = Command::new("sh")
    ///     .args(["-c", "echo pineapple >&2; cat"])
    ///     .stdin(Stdio::piped())
    ///     .stdout(Stdio::piped())
    ///     .stderr(Stdio::piped())
    ///     .spawn()?;
    /// let (out, err) = child.communicate(Some(b"banana"), None)?;
    /// assert_eq!((&out[..], &err[..]), (&b"banana"[..], &b"pineapple\n"[..]));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `TimedOut` (with a [`CommunicateTimeout`]) when the time runs out; `InvalidInput` if
    /// `input` is given but stdin was not piped; a read or write error on a pipe (a child that
    /// stops reading its stdin early is not one: the rest of the input is dropped, as in
    /// Python); or as [`wait`](Child::wait).
    ///
    /// # Switches
    ///
    /// Yes, until the pipes close and the child exits.
    ///
    /// # Kill safety
    ///
    /// A kill (or a `gevent::Timeout`) unwinding out of it kills the helper greenlets; the
    /// pipes they served are closed and what they read is lost. The child keeps running and is
    /// reaped when it exits.
    pub fn communicate(
        &mut self,
        input: Option<&[u8]>,
        timeout: Option<Duration>,
    ) -> io::Result<(Vec<u8>, Vec<u8>)> {
        let deadline = timeout.and_then(|d| Instant::now().checked_add(d));
        let input = input.filter(|i| !i.is_empty());
        if input.is_some() && self.stdin.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "communicate was given input but the child's stdin is not piped",
            ));
        }
        let mut jobs = Vec::with_capacity(3);
        if let Some(stdin) = self.stdin.take() {
            if let Some(input) = input {
                jobs.push(Job::Feed(stdin, input.to_vec()));
            }
            // Without input, dropping stdin closes it: the child sees end of file.
        }
        if let Some(out) = self.stdout.take() {
            jobs.push(Job::Out(out));
        }
        if let Some(err) = self.stderr.take() {
            jobs.push(Job::Err(err));
        }
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let mut written = 0;
        let mut failure = None;
        let mut timed_out = false;
        for done in run_jobs(jobs, deadline) {
            match done.unfinished {
                Some(Job::Feed(p, _)) => self.stdin = Some(p),
                Some(Job::Out(p)) => self.stdout = Some(p),
                Some(Job::Err(p)) => self.stderr = Some(p),
                None => {}
            }
            match done.which {
                Which::In => {}
                Which::Out => stdout = done.data,
                Which::Err => stderr = done.data,
            }
            written += done.written;
            match done.outcome {
                Ok(true) => {}
                Ok(false) => timed_out = true,
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        let timeout = CommunicateTimeout {
            stdout,
            stderr,
            written,
        };
        if timed_out || self.wait_deadline(deadline)?.is_none() {
            return Err(timeout.into());
        }
        Ok(timeout.into_output())
    }
}
