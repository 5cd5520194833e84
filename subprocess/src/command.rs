//! [`Command`]: std's process builder, spawning children whose waits switch.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::Path;
use std::process::{CommandArgs, CommandEnvs, ExitStatus, Output, Stdio};

use crate::child::{Child, ChildState};
use crate::pipe::{ChildStderr, ChildStdin, ChildStdout};
use crate::reap;

/// A process builder with `std::process::Command`'s API (gevent's `Popen` arguments): the
/// spawning is std's (`posix_spawn` or `fork`+`exec`), the [`Child`] it gives is cooperative.
///
/// As in std, [`spawn`](Command::spawn) and [`status`](Command::status) inherit the three
/// standard streams by default, and [`output`](Command::output) pipes stdout and stderr and
/// gives the child a null stdin, unless the stream was set.
///
/// For std's Unix extensions (`uid`, `gid`, `process_group`, `pre_exec`, `arg0`), use
/// [`as_std_mut`](Command::as_std_mut) with `std::os::unix::process::CommandExt`.
///
/// # Examples
///
/// ```
/// use gevent_subprocess::Command;
/// let out = Command::new("sh").arg("-c").arg("echo $FRUIT").env("FRUIT", "banana").output()?;
/// assert_eq!(out.stdout, b"banana\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[doc(alias = "Popen")]
pub struct Command {
    /// std's builder, which does the spawning.
    inner: std::process::Command,
    /// Whether the caller set stdin (else each way of spawning applies its own default).
    stdin_set: bool,
    /// Whether the caller set stdout.
    stdout_set: bool,
    /// Whether the caller set stderr.
    stderr_set: bool,
}

impl Command {
    /// A builder for running `program` (found on `PATH` if it has no `/`), with no arguments,
    /// this process's environment and working directory.
    ///
    /// # Examples
    ///
    /// ```
    /// let status = gevent_subprocess::Command::new("true").status()?;
    /// assert!(status.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command {
            inner: std::process::Command::new(program),
            stdin_set: false,
            stdout_set: false,
            stderr_set: false,
        }
    }

    /// Adds an argument.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = gevent_subprocess::Command::new("echo").arg("hello").output()?;
    /// assert_eq!(out.stdout, b"hello\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.inner.arg(arg);
        self
    }

    /// Adds arguments.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = gevent_subprocess::Command::new("echo").args(["a", "b"]).output()?;
    /// assert_eq!(out.stdout, b"a b\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.inner.args(args);
        self
    }

    /// Sets an environment variable for the child.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = gevent_subprocess::Command::new("sh")
    ///     .args(["-c", "echo $GREETING"])
    ///     .env("GREETING", "hi")
    ///     .output()?;
    /// assert_eq!(out.stdout, b"hi\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.inner.env(key, val);
        self
    }

    /// Sets environment variables for the child.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = gevent_subprocess::Command::new("sh")
    ///     .args(["-c", "echo $A$B"])
    ///     .envs([("A", "1"), ("B", "2")])
    ///     .output()?;
    /// assert_eq!(out.stdout, b"12\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.inner.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = gevent_subprocess::Command::new("sh")
    ///     .args(["-c", "echo ${GONE-unset}"])
    ///     .env("GONE", "x")
    ///     .env_remove("GONE")
    ///     .output()?;
    /// assert_eq!(out.stdout, b"unset\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.inner.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what `env` adds).
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_subprocess::Command;
    /// let out = Command::new("/usr/bin/env").env_clear().env("ONLY", "me").output()?;
    /// assert_eq!(out.stdout, b"ONLY=me\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn env_clear(&mut self) -> &mut Command {
        self.inner.env_clear();
        self
    }

    /// Sets the child's working directory.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = gevent_subprocess::Command::new("pwd").current_dir("/").output()?;
    /// assert_eq!(out.stdout, b"/\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.inner.current_dir(dir);
        self
    }

    /// Sets the child's stdin: [`Stdio::piped`] gives [`Child::stdin`], a cooperative
    /// writer.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use gevent_subprocess::{Command, Stdio};
    /// let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    /// child.stdin.take().unwrap().write_all(b"through cat")?; // closed when dropped
    /// assert_eq!(child.wait_with_output()?.stdout, b"through cat");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.inner.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// Sets the child's stdout: [`Stdio::piped`] gives [`Child::stdout`], a cooperative
    /// reader; a [`ChildStdout`] of another child connects the two (`a | b`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use gevent_subprocess::{Command, Stdio};
    /// let mut child = Command::new("echo").arg("out").stdout(Stdio::piped()).spawn()?;
    /// let mut text = String::new();
    /// child.stdout.take().unwrap().read_to_string(&mut text)?; // other greenlets run meanwhile
    /// assert_eq!(text, "out\n");
    /// child.wait()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.inner.stdout(cfg);
        self.stdout_set = true;
        self
    }

    /// Sets the child's stderr.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_subprocess::{Command, Stdio};
    /// let out = Command::new("sh").args(["-c", "echo oops >&2"]).stderr(Stdio::piped()).output()?;
    /// assert_eq!(out.stderr, b"oops\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.inner.stderr(cfg);
        self.stderr_set = true;
        self
    }

    /// Starts the child (gevent's `Popen(...)`). Streams not set are inherited.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent_subprocess::{Command, Stdio};
    /// let mut child = Command::new("true").stdout(Stdio::null()).spawn()?;
    /// assert!(child.wait()?.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As std's `spawn`: `NotFound` for a missing program, `PermissionDenied`...; or if the
    /// hub cannot watch the child (out of descriptors), in which case the child is killed.
    ///
    /// # Switches
    ///
    /// Never (`fork`/`exec` itself takes well under a millisecond and does not wait).
    pub fn spawn(&mut self) -> io::Result<Child> {
        self.spawn_with([Stdio::inherit, Stdio::inherit, Stdio::inherit])
    }

    /// Runs the child to completion and collects its output (std's `output`, Python's
    /// `check_output` without the check). Unless set, stdin is null and stdout and stderr are
    /// piped; they are read concurrently while other greenlets run.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = gevent_subprocess::Command::new("echo").arg("hello").output()?;
    /// assert_eq!(out.stdout, b"hello\n");
    /// assert!(out.status.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`spawn`](Command::spawn), then a read error or as [`Child::wait`].
    ///
    /// # Switches
    ///
    /// Yes, until the child exits.
    ///
    /// # Kill safety
    ///
    /// A kill drops what was read; the child keeps running and is reaped when it exits.
    #[doc(alias("check_output", "communicate"))]
    pub fn output(&mut self) -> io::Result<Output> {
        self.spawn_with([Stdio::null, Stdio::piped, Stdio::piped])?
            .wait_with_output()
    }

    /// Runs the child to completion and returns its status (std's `status`, Python's
    /// `call`). Streams not set are inherited.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gevent_subprocess::Command::new("sh").args(["-c", "exit 47"]).status()?;
    /// assert_eq!(s.code(), Some(47));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`spawn`](Command::spawn) and [`Child::wait`].
    ///
    /// # Switches
    ///
    /// Yes, until the child exits.
    ///
    /// # Kill safety
    ///
    /// A kill leaves the child running; it is reaped when it exits.
    #[doc(alias("call", "check_call"))]
    pub fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn_with([Stdio::inherit, Stdio::inherit, Stdio::inherit])?
            .wait()
    }

    /// The program.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gevent_subprocess::Command::new("ls").get_program(), "ls");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn get_program(&self) -> &OsStr {
        self.inner.get_program()
    }

    /// The arguments (without the program).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut cmd = gevent_subprocess::Command::new("ls");
    /// cmd.args(["-l", "/"]);
    /// assert_eq!(cmd.get_args().collect::<Vec<_>>(), ["-l", "/"]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn get_args(&self) -> CommandArgs<'_> {
        self.inner.get_args()
    }

    /// The environment changes (`None` values are removals).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::ffi::OsStr;
    /// let mut cmd = gevent_subprocess::Command::new("env");
    /// cmd.env("A", "1").env_remove("B");
    /// let envs: Vec<_> = cmd.get_envs().collect();
    /// assert_eq!(envs, [(OsStr::new("A"), Some(OsStr::new("1"))), (OsStr::new("B"), None)]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn get_envs(&self) -> CommandEnvs<'_> {
        self.inner.get_envs()
    }

    /// The working directory, if set.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut cmd = gevent_subprocess::Command::new("pwd");
    /// assert_eq!(cmd.get_current_dir(), None);
    /// cmd.current_dir("/tmp");
    /// assert_eq!(cmd.get_current_dir(), Some(std::path::Path::new("/tmp")));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.inner.get_current_dir()
    }

    /// std's builder underneath.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut cmd = gevent_subprocess::Command::new("ls");
    /// cmd.arg("-l");
    /// assert_eq!(cmd.as_std().get_args().count(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn as_std(&self) -> &std::process::Command {
        &self.inner
    }

    /// std's builder underneath, for its platform extensions (`CommandExt`). Set the
    /// streams through this type's [`stdin`](Command::stdin) & co., not through std's: the
    /// defaults of `spawn`/`output`/`status` would override them.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::process::CommandExt;
    /// let mut cmd = gevent_subprocess::Command::new("sh");
    /// cmd.args(["-c", "echo $0"]);
    /// cmd.as_std_mut().arg0("renamed");
    /// assert_eq!(cmd.output()?.stdout, b"renamed\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.inner
    }

    /// Spawns with `defaults` for the streams the caller did not set.
    fn spawn_with(&mut self, defaults: [fn() -> Stdio; 3]) -> io::Result<Child> {
        if !self.stdin_set {
            self.inner.stdin(defaults[0]());
        }
        if !self.stdout_set {
            self.inner.stdout(defaults[1]());
        }
        if !self.stderr_set {
            self.inner.stderr(defaults[2]());
        }
        let plan = reap::prepare()?;
        let mut child = self.inner.spawn()?;
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let state = ChildState::new(child);
        let wrapped = reap::watch(&state, plan).and_then(|()| {
            Ok((
                stdin.map(ChildStdin::from_std).transpose()?,
                stdout.map(ChildStdout::from_std).transpose()?,
                stderr.map(ChildStderr::from_std).transpose()?,
            ))
        });
        match wrapped {
            Ok((i, o, e)) => Ok(Child::new(state, i, o, e)),
            Err(e) => {
                // Do not leave a child the caller cannot reach: kill it; the watcher (if
                // any) reaps it.
                let child = Child::new(state, None, None, None);
                let _ = child.kill();
                let _ = child.try_wait();
                Err(e)
            }
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}
