//! Cooperative child processes (gevent's `gevent.subprocess`): `std::process`'s API, where
//! waiting for a child or its pipes switches to the hub instead of blocking the thread.
//!
//! [`Command`] builds and spawns a child as std does; the [`Child`] it returns waits
//! ([`wait`](Child::wait), [`wait_timeout`](Child::wait_timeout), [`output`](Command::output),
//! [`communicate`](Child::communicate)) by switching, so other greenlets run meanwhile, and
//! its piped [`stdin`](Child::stdin), [`stdout`](Child::stdout) and [`stderr`](Child::stderr)
//! are cooperative `Write`/`Read` types. A `Child` is a [`Waitable`](gevent_hub::Waitable):
//! `gevent::wait(&[&child1, &child2], None)` waits for both.
//!
//! # Implementation
//!
//! * Spawning is std's (`posix_spawn` or `fork` + `exec`); this crate takes std's pipe ends,
//!   sets them `O_NONBLOCK` (the child's ends stay blocking) and registers them with the
//!   thread's hub (the first call creates it).
//! * Exits are noticed without a thread per child. Right after the spawn, `pidfd_open(2)`
//!   (Linux 5.3+) gives a descriptor that becomes readable when the child exits; it sits in
//!   the hub's poller, watched by one small greenlet per child, which reaps the child with
//!   `waitpid(pid, WNOHANG)`. Where `pidfd_open` fails, the thread instead installs a `SIGCHLD`
//!   handler through the hub's signal path ([`gevent_hub::signal_handler`]) before its first
//!   such child is spawned, and on each signal tries to reap each of its live children, by pid.
//!   `waitpid(-1)` is never called: children that are not ours, and a user's own `SIGCHLD`
//!   handler, are left alone. The variable `GEVENT_SUBPROCESS_NO_PIDFD=1` forces the fallback.
//! * A child is reaped exactly once, under its own state; the status is kept, and every
//!   waiter (several greenlets, `try_wait` loops, `wait`/`iwait`) sees the same one. A dropped
//!   `Child` is still reaped when it exits, so no zombies pile up while the hub runs.
//! * The exit watchers do not keep the hub's loop alive; a greenlet waiting for a child does.
//! * [`Child::communicate`] serves each pipe in a greenlet of its own, so large input and
//!   output never deadlock.
//!
//! # Examples
//!
//! ```
//! use std::time::{Duration, Instant};
//! use gevent_subprocess::{Command, Stdio};
//!
//! // Ten children sleeping at once take about as long as one.
//! let t = Instant::now();
//! let children: Vec<_> = (0..10)
//!     .map(|_| Command::new("sleep").arg("0.2").spawn())
//!     .collect::<Result<_, _>>()?;
//! gevent_hub::wait(&children, None);
//! assert!(t.elapsed() < Duration::from_secs(2));
//!
//! // Feed a child and read it, while other greenlets run.
//! let mut cat = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
//! let (out, _) = cat.communicate(Some(b"input"), Some(Duration::from_secs(10)))?;
//! assert_eq!(out, b"input");
//! assert!(cat.wait()?.success());
//! # Ok::<(), std::io::Error>(())
//! ```

#![forbid(unsafe_code)]

mod child;
mod command;
mod communicate;
mod pipe;
mod reap;
mod sys;

pub use crate::child::{Child, ChildHandle};
pub use crate::command::Command;
pub use crate::communicate::CommunicateTimeout;
pub use crate::pipe::{ChildStderr, ChildStdin, ChildStdout};
#[doc(hidden)]
pub use crate::reap::__force_sigchld_fallback;

#[doc(no_inline)]
pub use std::process::{ExitStatus, Output, Stdio};
