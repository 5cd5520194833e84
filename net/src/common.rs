//! The methods and trait implementations the socket types share, written once: each macro
//! below adds one family of methods to a socket type (a struct with a `sock: Rc<Sock<$std>>`
//! field), with its documentation. The doc examples are assembled from snippets each type
//! passes in:
//!
//! * `new`: code that makes a socket `s` of the type (keeping its peer, if any, alive) and
//!   brings its name into scope;
//! * `end`: code run at the end of each example (removing a socket file);
//! * `op`: an expression on `s` that waits for the socket (an `io::Result`): `s.accept()`,
//!   `(&s).read(&mut [0u8; 1])`...

/// The methods every socket type has: `local_addr`, `try_clone`, `take_error`,
/// `set_nonblocking`, `close`, `into_std`, `from_std`; and `AsFd`, `AsRawFd`, `IntoRawFd`,
/// `FromRawFd`, the `From` conversions and `Debug`.
macro_rules! socket_common {
    (
        $t:ident, $std:ty, $addr:ty,
        new: $new:expr, end: $end:expr, op: $op:expr $(,)?
    ) => {
        impl $t {
            /// The local address.
            ///
            /// # Examples
            ///
            #[doc = concat!("```\n", $new, "\nlet addr = s.local_addr().unwrap();\n",
                "println!(\"{addr:?}\");\n", $end, "\n```")]
            ///
            /// # Errors
            ///
            /// `getsockname`'s error; `EBADF` after [`close`](Self::close).
            ///
            /// # Switches
            ///
            /// Never.
            pub fn local_addr(&self) -> ::std::io::Result<$addr> {
                self.sock.get()?.local_addr()
            }

            /// Another handle to the same socket, for example to read in one greenlet and
            /// write in another. Shares the fd, its registration, the timeouts and the
            /// non-blocking flag (not a `dup`); the socket closes when the last handle is
            /// dropped, or for all handles at once with [`close`](Self::close). Never fails
            /// while open (`io::Result` for std's signature).
            ///
            /// # Examples
            ///
            #[doc = concat!("```\n", $new, "\nlet s2 = s.try_clone().unwrap();\ns.close();\n",
                "assert!(s2.take_error().is_err()); // closed for every handle\n", $end, "\n```")]
            ///
            /// # Errors
            ///
            /// `EBADF` after `close`.
            ///
            /// # Switches
            ///
            /// Never.
            pub fn try_clone(&self) -> ::std::io::Result<$t> {
                self.sock.get()?;
                Ok(self.clone())
            }

            /// Takes the pending `SO_ERROR`.
            ///
            /// # Examples
            ///
            #[doc = concat!("```\n", $new, "\nassert!(s.take_error().unwrap().is_none());\n",
                $end, "\n```")]
            ///
            /// # Errors
            ///
            /// `getsockopt`'s error; `EBADF` after `close`.
            ///
            /// # Switches
            ///
            /// Never.
            pub fn take_error(&self) -> ::std::io::Result<Option<::std::io::Error>> {
                self.sock.get()?.take_error()
            }

            /// In non-blocking mode, calls that would wait return `WouldBlock` instead.
            /// Shared by all handles. (The fd itself is always non-blocking; this is the mode
            /// std's API shows.)
            ///
            /// # Examples
            ///
            #[doc = concat!("```\n", "use std::io::Read;\n", $new,
                "\ns.set_nonblocking(true).unwrap();\nlet e = ", $op, ".unwrap_err(); // no wait\n",
                "assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);\n", $end, "\n```")]
            ///
            /// # Errors
            ///
            /// `EBADF` after `close`.
            ///
            /// # Switches
            ///
            /// Never.
            pub fn set_nonblocking(&self, nonblocking: bool) -> ::std::io::Result<()> {
                self.sock.get()?;
                self.sock.set_nonblocking(nonblocking);
                Ok(())
            }

            /// gevent's `close()`: closes the socket for every handle now. Greenlets waiting
            /// on it wake with `EBADF` ("closed in another greenlet"), later calls on any
            /// handle fail with `EBADF`, and a connected stream is shut down so the peer sees
            /// the end. The fd itself is released when the last handle is dropped (so its
            /// number is never reused under a handle that still exists). Dropping every
            /// handle closes too.
            ///
            /// # Examples
            ///
            #[doc = concat!("```\n", "use std::io::Read;\n", $new,
                "\nlet s2 = s.try_clone().unwrap();\n",
                "let g = gevent_hub::spawn(move || { let s = s2; ", $op,
                ".map(drop).map_err(|e| e.raw_os_error()) });\n",
                "gevent_hub::sleep(std::time::Duration::ZERO); // g waits\ns.close();\n",
                "assert_eq!(g.get().unwrap(), Err(Some(libc::EBADF)));\n", $end, "\n```")]
            ///
            /// # Switches
            ///
            /// Never.
            pub fn close(&self) {
                self.sock.close();
            }

            /// The std socket, deregistered, in blocking mode unless
            /// [`set_nonblocking(true)`](Self::set_nonblocking) was called, with the timeouts
            /// (if any) carried over to `SO_RCVTIMEO`/`SO_SNDTIMEO`. If other handles remain,
            /// they keep the socket: the result is a `dup` of it, which shares its
            /// non-blocking file status.
            ///
            /// # Examples
            ///
            #[doc = concat!("```\n", $new, "\nlet std_s = s.into_std().unwrap();\n",
                "let s = ", stringify!($t), "::from_std(std_s).unwrap(); // and back\n", $end,
                "\n```")]
            ///
            /// # Errors
            ///
            /// `ioctl`, `setsockopt` or `dup` errors.
            ///
            /// # Switches
            ///
            /// Never.
            pub fn into_std(self) -> ::std::io::Result<$std> {
                match ::std::rc::Rc::try_unwrap(self.sock) {
                    Ok(s) => s.into_blocking(),
                    Err(rc) => rc.raw().try_clone(),
                }
            }

            /// Registers a std socket with this thread's hub (made non-blocking underneath).
            ///
            /// # Examples
            ///
            /// See [`into_std`](Self::into_std).
            ///
            /// # Errors
            ///
            /// `ioctl`'s error, or the poller's.
            ///
            /// # Switches
            ///
            /// Never.
            pub fn from_std(s: $std) -> ::std::io::Result<$t> {
                Ok($t {
                    sock: ::std::rc::Rc::new($crate::sock::Sock::from_blocking(s)?),
                })
            }
        }

        impl ::std::os::fd::AsFd for $t {
            fn as_fd(&self) -> ::std::os::fd::BorrowedFd<'_> {
                self.sock.as_fd()
            }
        }

        impl ::std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> ::std::os::fd::RawFd {
                ::std::os::fd::AsRawFd::as_raw_fd(self.sock.raw())
            }
        }

        /// Takes the fd out (see `into_std` for what happens when other handles remain).
        ///
        /// # Panics
        ///
        /// If `dup` or `ioctl` fail.
        impl ::std::os::fd::IntoRawFd for $t {
            fn into_raw_fd(self) -> ::std::os::fd::RawFd {
                ::std::os::fd::IntoRawFd::into_raw_fd(
                    self.into_std()
                        .expect("cannot take the fd out of a cooperative socket"),
                )
            }
        }

        /// Takes the fd out (see `into_std` for what happens when other handles remain).
        ///
        /// # Panics
        ///
        /// If `dup` or `ioctl` fail.
        impl From<$t> for ::std::os::fd::OwnedFd {
            fn from(s: $t) -> ::std::os::fd::OwnedFd {
                ::std::os::fd::OwnedFd::from(
                    s.into_std()
                        .expect("cannot take the fd out of a cooperative socket"),
                )
            }
        }

        /// Registers the socket with this thread's hub.
        ///
        /// # Panics
        ///
        /// If the poller refuses the fd (use `from_std` to get the error instead).
        impl From<$std> for $t {
            fn from(s: $std) -> $t {
                <$t>::from_std(s).expect("cannot register the socket with the hub's poller")
            }
        }

        /// Registers the socket with this thread's hub.
        ///
        /// # Panics
        ///
        /// If the poller refuses the fd.
        impl From<::std::os::fd::OwnedFd> for $t {
            fn from(fd: ::std::os::fd::OwnedFd) -> $t {
                <$t>::from(<$std>::from(fd))
            }
        }

        impl ::std::os::fd::FromRawFd for $t {
            /// # Safety
            ///
            /// `fd` must be an open socket of the right kind, owned by nobody else.
            ///
            /// # Panics
            ///
            /// If the poller refuses the fd.
            unsafe fn from_raw_fd(fd: ::std::os::fd::RawFd) -> $t {
                // SAFETY: the caller hands over ownership of an open socket fd.
                <$t>::from(unsafe { <$std as ::std::os::fd::FromRawFd>::from_raw_fd(fd) })
            }
        }

        impl ::std::fmt::Debug for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.sock.fmt(f)
            }
        }
    };
}

/// The timeout methods of connected sockets (streams and UDP): `set_read_timeout`,
/// `set_write_timeout`, `read_timeout`, `write_timeout`.
macro_rules! socket_timeouts {
    ($t:ident, new: $new:expr, end: $end:expr, op: $op:expr $(,)?) => {
        impl $t {
            /// Makes calls that read give up after `d` with `WouldBlock` (std's behaviour on
            /// Unix, where `SO_RCVTIMEO` expires with `EAGAIN`); `None` waits forever. Shared
            /// by all handles. It limits each call's wait, not the socket's life.
            ///
            /// # Examples
            ///
            #[doc = concat!("```\n", "use std::{io::Read, time::Duration};\n", $new,
                "\ns.set_read_timeout(Some(Duration::from_millis(10))).unwrap();\n",
                "let e = ", $op, ".unwrap_err(); // after 10 ms\n",
                "assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);\n", $end, "\n```")]
            ///
            /// # Errors
            ///
            /// `InvalidInput` for a zero duration (as std).
            ///
            /// # Switches
            ///
            /// Never.
            pub fn set_read_timeout(&self, d: Option<::std::time::Duration>) -> ::std::io::Result<()> {
                self.sock.set_read_timeout(d)
            }

            /// Makes calls that write give up after `d` with `WouldBlock`; see
            /// [`set_read_timeout`](Self::set_read_timeout).
            ///
            /// # Examples
            ///
            #[doc = concat!("```\n", "use std::time::Duration;\n", $new,
                "\ns.set_write_timeout(Some(Duration::from_secs(1))).unwrap();\n",
                "assert_eq!(s.write_timeout().unwrap(), Some(Duration::from_secs(1)));\n",
                "assert!(s.set_write_timeout(Some(Duration::ZERO)).is_err());\n", $end, "\n```")]
            ///
            /// # Errors
            ///
            /// `InvalidInput` for a zero duration.
            ///
            /// # Switches
            ///
            /// Never.
            pub fn set_write_timeout(&self, d: Option<::std::time::Duration>) -> ::std::io::Result<()> {
                self.sock.set_write_timeout(d)
            }

            /// The read timeout.
            ///
            /// # Examples
            ///
            #[doc = concat!("```\n", $new, "\nassert_eq!(s.read_timeout().unwrap(), None);\n",
                $end, "\n```")]
            ///
            /// # Errors
            ///
            /// Never (std's signature).
            ///
            /// # Switches
            ///
            /// Never.
            pub fn read_timeout(&self) -> ::std::io::Result<Option<::std::time::Duration>> {
                Ok(self.sock.read_timeout())
            }

            /// The write timeout.
            ///
            /// # Examples
            ///
            #[doc = concat!("```\n", $new, "\nassert_eq!(s.write_timeout().unwrap(), None);\n",
                $end, "\n```")]
            ///
            /// # Errors
            ///
            /// Never (std's signature).
            ///
            /// # Switches
            ///
            /// Never.
            pub fn write_timeout(&self) -> ::std::io::Result<Option<::std::time::Duration>> {
                Ok(self.sock.write_timeout())
            }
        }
    };
}

/// What connected streams (TCP and Unix) add: `shutdown`, `peek`, and `Read`/`Write` for the
/// type and for a shared reference to it.
macro_rules! socket_stream {
    ($t:ident, new: $new:expr, end: $end:expr $(,)?) => {
        impl $t {
            /// Shuts down the read half, the write half, or both. Greenlets waiting to read
            /// wake and read end-of-file (the kernel wakes them), also through other handles.
            ///
            /// # Examples
            ///
            #[doc = concat!("```\n", "use std::{io::Read, net::Shutdown};\n", $new,
                "\nlet mut r = s.try_clone().unwrap();\n",
                "let g = gevent_hub::spawn(move || r.read(&mut [0u8; 8]).unwrap());\n",
                "gevent_hub::sleep(std::time::Duration::ZERO); // g waits\n",
                "s.shutdown(Shutdown::Both).unwrap();\nassert_eq!(g.get().unwrap(), 0);\n",
                $end, "\n```")]
            ///
            /// # Errors
            ///
            /// `shutdown`'s error (`NotConnected`); `EBADF` after `close`.
            ///
            /// # Switches
            ///
            /// Never.
            pub fn shutdown(&self, how: ::std::net::Shutdown) -> ::std::io::Result<()> {
                self.sock.get()?.shutdown(how)
            }

            /// Reads without removing the data from the queue (`MSG_PEEK`); switches until
            /// some data (or end-of-file) is there.
            ///
            /// # Examples
            ///
            #[doc = concat!("```\n", "use std::io::Write;\n", $new,
                "\n(&peer).write_all(b\"abc\").unwrap();\nlet mut buf = [0u8; 8];\n",
                "let n = s.peek(&mut buf).unwrap();\nassert_eq!(&buf[..n], b\"abc\");\n",
                "assert_eq!(s.peek(&mut buf).unwrap(), 3); // still there\n", $end, "\n```")]
            ///
            /// # Errors
            ///
            /// As `read`.
            ///
            /// # Switches
            ///
            /// Yes, until data is there.
            ///
            /// # Kill safety
            ///
            /// Nothing is consumed.
            pub fn peek(&self, buf: &mut [u8]) -> ::std::io::Result<usize> {
                self.sock.recv(buf, true)
            }
        }

        $crate::common::socket_stream!(@io $t);
        $crate::common::socket_stream!(@io &$t);
    };
    // `Read` and `Write` for the type and for a shared reference to it.
    (@io $ty:ty) => {
        impl ::std::io::Read for $ty {
            #[inline]
            fn read(&mut self, buf: &mut [u8]) -> ::std::io::Result<usize> {
                self.sock.recv(buf, false)
            }
            fn read_vectored(
                &mut self,
                bufs: &mut [::std::io::IoSliceMut<'_>],
            ) -> ::std::io::Result<usize> {
                self.sock.recv_vectored(bufs)
            }
        }

        impl ::std::io::Write for $ty {
            #[inline]
            fn write(&mut self, buf: &[u8]) -> ::std::io::Result<usize> {
                self.sock.send(buf)
            }
            fn write_vectored(&mut self, bufs: &[::std::io::IoSlice<'_>]) -> ::std::io::Result<usize> {
                self.sock.send_vectored(bufs)
            }
            fn flush(&mut self) -> ::std::io::Result<()> {
                Ok(())
            }
        }
    };
}

/// What listeners (TCP and Unix) add: `incoming()` and its iterator type `Incoming`.
macro_rules! socket_listener {
    ($t:ident, $stream:ident, new: $new:expr, end: $end:expr, connect: $connect:expr $(,)?) => {
        impl $t {
            /// An iterator over incoming connections (`accept` in a loop). It ends once the
            /// listener is [`close`](Self::close)d (also while it waits for a connection).
            /// After an error it pauses before the next `accept`: it yields to the other
            /// greenlets after a transient error (a client that reset before being accepted),
            /// and backs off from 10 ms to 1 s while the process is out of descriptors or
            /// memory (as gevent's `StreamServer` does), so `incoming().flatten()` never
            /// spins.
            ///
            /// # Examples
            ///
            #[doc = concat!("```\n", $new, "\nlet s2 = s.try_clone().unwrap();\n",
                "let server = gevent_hub::spawn(move || s2.incoming().flatten().count());\n",
                $connect, "\ngevent_hub::sleep(std::time::Duration::from_millis(20));\n",
                "s.close(); // ends the loop\nassert_eq!(server.get().unwrap(), 2);\n", $end,
                "\n```")]
            ///
            /// # Switches
            ///
            /// Each `next` switches until a connection arrives (or the listener closes).
            ///
            /// # Kill safety
            ///
            /// A kill while waiting accepted nothing.
            pub fn incoming(&self) -> Incoming<'_> {
                Incoming {
                    listener: self,
                    state: $crate::sock::AcceptLoop::default(),
                }
            }
        }

        #[doc = concat!("Iterator of [`", stringify!($t), "::incoming`]: the accepted streams ",
            "until the listener is closed.")]
        ///
        /// # Examples
        ///
        #[doc = concat!("See [`", stringify!($t), "::incoming`].")]
        #[derive(Debug)]
        pub struct Incoming<'a> {
            /// The listener.
            listener: &'a $t,
            /// Pauses after errors.
            state: $crate::sock::AcceptLoop,
        }

        impl Iterator for Incoming<'_> {
            type Item = ::std::io::Result<$stream>;
            fn next(&mut self) -> Option<::std::io::Result<$stream>> {
                let l = self.listener;
                self.state.next(&l.sock, || l.accept().map(|(s, _)| s))
            }
        }
    };
}

/// A getter and a setter of one socket option, delegated to the std socket (`set_ttl` and
/// `ttl`, `set_nodelay` and `nodelay`...).
macro_rules! socket_option {
    (
        $t:ident, new: $new:expr, end: $end:expr;
        $($opt:literal: $set:ident, $get:ident: $ty:ty = $val:literal;)*
    ) => {
        impl $t {
            $(
                #[doc = concat!("Sets `", $opt, "`.")]
                ///
                /// # Examples
                ///
                #[doc = concat!("```\n", $new, "\ns.", stringify!($set), "(", stringify!($val),
                    ").unwrap();\nassert_eq!(s.", stringify!($get), "().unwrap(), ",
                    stringify!($val), ");\n", $end, "\n```")]
                ///
                /// # Errors
                ///
                /// `setsockopt`'s error; `EBADF` after `close`.
                ///
                /// # Switches
                ///
                /// Never.
                pub fn $set(&self, value: $ty) -> ::std::io::Result<()> {
                    self.sock.get()?.$set(value)
                }

                #[doc = concat!("`", $opt, "`.")]
                ///
                /// # Examples
                ///
                #[doc = concat!("See [`", stringify!($set), "`](Self::", stringify!($set), ").")]
                ///
                /// # Errors
                ///
                /// `getsockopt`'s error; `EBADF` after `close`.
                ///
                /// # Switches
                ///
                /// Never.
                pub fn $get(&self) -> ::std::io::Result<$ty> {
                    self.sock.get()?.$get()
                }
            )*
        }
    };
}

pub(crate) use {socket_common, socket_listener, socket_option, socket_stream, socket_timeouts};
