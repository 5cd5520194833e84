//! The parent's ends of a child's pipes: [`ChildStdin`], [`ChildStdout`], [`ChildStderr`].
//!
//! Each wraps std's pipe end, switched to `O_NONBLOCK` and registered with the hub's reactor
//! as an [`IoSource`]. A read or write is tried at once; on `WouldBlock` the greenlet waits
//! for the pipe in the hub and tries again. The child's end of the pipe is a different open
//! file description, so the child keeps its blocking pipe.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::process::Stdio;
use std::time::{Duration, Instant};

use gevent_hub::reactor::IoSource;

use crate::sys;

/// One pipe end, non-blocking and registered with this thread's hub.
pub(crate) struct Pipe {
    /// The pipe end (a `File`, so that `&File` gives `Read` and `Write` without unsafe code).
    io: IoSource<File>,
}

/// The time left until `deadline`: `Ok(None)` for no deadline, `TimedOut` once it passed.
pub(crate) fn remaining(deadline: Option<Instant>) -> io::Result<Option<Duration>> {
    match deadline {
        None => Ok(None),
        Some(d) => {
            let now = Instant::now();
            if now >= d {
                Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"))
            } else {
                Ok(Some(d - now))
            }
        }
    }
}

impl Pipe {
    /// Takes over `fd`: sets `O_NONBLOCK` and registers it with the hub.
    fn new(fd: OwnedFd) -> io::Result<Pipe> {
        sys::set_nonblocking(&fd, true)?;
        Ok(Pipe {
            io: IoSource::new(File::from(fd))?,
        })
    }

    /// Reads into `buf`, waiting (until `deadline`) while the pipe is empty.
    pub(crate) fn read_deadline(
        &self,
        buf: &mut [u8],
        deadline: Option<Instant>,
    ) -> io::Result<usize> {
        loop {
            match self.io.get_ref().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.io.wait_readable(remaining(deadline)?)?
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }

    /// Writes from `buf`, waiting (until `deadline`) while the pipe is full.
    pub(crate) fn write_deadline(
        &self,
        buf: &[u8],
        deadline: Option<Instant>,
    ) -> io::Result<usize> {
        loop {
            match self.io.get_ref().write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.io.wait_writable(remaining(deadline)?)?
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }

    /// Leaves the hub and gives the descriptor back in blocking mode (for another child).
    fn into_blocking(self) -> OwnedFd {
        let f = self.io.into_inner();
        // Clearing a flag on a descriptor we own cannot fail in practice (only EBADF could);
        // if it did, the next process would see EAGAIN from its reads, which it reports.
        let _ = sys::set_nonblocking(&f, false);
        OwnedFd::from(f)
    }

    /// The descriptor.
    fn raw(&self) -> RawFd {
        self.io.as_raw_fd()
    }

    /// The descriptor, borrowed.
    fn borrowed(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

macro_rules! pipe_type {
    ($(#[$doc:meta])* $name:ident, $std:ident) => {
        $(#[$doc])*
        pub struct $name {
            /// The pipe end.
            pub(crate) pipe: Pipe,
        }

        impl $name {
            /// Takes over std's pipe end.
            pub(crate) fn from_std(p: std::process::$std) -> io::Result<$name> {
                Ok($name { pipe: Pipe::new(OwnedFd::from(p))? })
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.pipe.raw()
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.pipe.borrowed()
            }
        }

        /// Hands the pipe end to another child (as in `producer | consumer`): it leaves the
        /// hub and goes back to blocking mode.
        impl From<$name> for Stdio {
            fn from(p: $name) -> Stdio {
                Stdio::from(p.pipe.into_blocking())
            }
        }

        /// The descriptor, back in blocking mode and no longer registered with the hub.
        impl From<$name> for OwnedFd {
            fn from(p: $name) -> OwnedFd {
                p.pipe.into_blocking()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("fd", &self.pipe.raw()).finish()
            }
        }
    };
}

pipe_type!(
    /// The parent's writing end of a child's stdin (std's `ChildStdin`, cooperative): a
    /// write that would block switches to the hub until the child has read enough.
    ///
    /// Dropping it closes the pipe, so the child sees end of file.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use gevent_subprocess::{Command, Stdio};
    ///
    /// let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    /// let mut stdin = child.stdin.take().unwrap();
    /// stdin.write_all(b"hello")?;
    /// drop(stdin); // end of file for `cat`
    /// let mut out = String::new();
    /// child.stdout.take().unwrap().read_to_string(&mut out)?;
    /// assert_eq!(out, "hello");
    /// assert!(child.wait()?.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ChildStdin,
    ChildStdin
);

pipe_type!(
    /// The parent's reading end of a child's stdout (std's `ChildStdout`, cooperative): a
    /// read that would block switches to the hub until the child writes (or exits).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use gevent_subprocess::{Command, Stdio};
    ///
    /// let mut child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
    /// let mut out = String::new();
    /// child.stdout.take().unwrap().read_to_string(&mut out)?;
    /// assert_eq!(out, "hi\n");
    /// child.wait()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ChildStdout,
    ChildStdout
);

pipe_type!(
    /// The parent's reading end of a child's stderr (std's `ChildStderr`, cooperative); see
    /// [`ChildStdout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use gevent_subprocess::{Command, Stdio};
    ///
    /// let mut child = Command::new("sh").args(["-c", "echo oops >&2"]).stderr(Stdio::piped()).spawn()?;
    /// let mut err = String::new();
    /// child.stderr.take().unwrap().read_to_string(&mut err)?;
    /// assert_eq!(err, "oops\n");
    /// child.wait()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ChildStderr,
    ChildStderr
);

/// Writes switch to the hub while the pipe is full.
///
/// # Errors
///
/// As `write(2)` on a pipe: `BrokenPipe` once the child closed its end (Rust programs ignore
/// `SIGPIPE`, so it arrives as an error, not a signal).
///
/// # Switches
///
/// Yes, while the pipe is full.
///
/// # Kill safety
///
/// A kill unwinding out of a write wrote nothing in that call; earlier calls' bytes are in
/// the pipe.
impl Write for ChildStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pipe.write_deadline(buf, None)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads switch to the hub while the pipe is empty; `Ok(0)` is end of file (the child closed
/// its end, usually by exiting).
///
/// # Switches
///
/// Yes, while the pipe is empty.
///
/// # Kill safety
///
/// A kill unwinding out of a read consumed nothing.
impl Read for ChildStdout {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.pipe.read_deadline(buf, None)
    }
}

/// As for [`ChildStdout`].
///
/// # Switches
///
/// Yes, while the pipe is empty.
impl Read for ChildStderr {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.pipe.read_deadline(buf, None)
    }
}
