//! Monkey patching (gevent's `gevent.monkey`): blocking calls made inside a greenlet by std, by
//! third-party crates and by C libraries wait cooperatively, so other greenlets run meanwhile.
//!
//! ```no_run
//! use std::io::Read;
//! gevent_monkey::patch_all().expect("the hooks are in effect");
//! let gs: Vec<_> = (0..20)
//!     .map(|_| gevent_hub::spawn(|| std::thread::sleep(std::time::Duration::from_millis(100))))
//!     .collect();
//! gevent_hub::joinall(&gs); // about 100 ms, not 2 s
//! let g = gevent_hub::spawn(|| {
//!     // A plain std socket: its read switches to the hub while it waits.
//!     let mut s = std::net::TcpStream::connect("127.0.0.1:6379")?;
//!     let mut buf = [0u8; 64];
//!     s.read(&mut buf)
//! });
//! # drop(g);
//! ```
//!
//! # How
//!
//! This crate defines libc's own function names (`recv`, `send`, `poll`, `clock_nanosleep`,
//! ...) with `#[unsafe(no_mangle)] extern "C"`. The executable's definition wins over libc's
//! for every caller in the process: std, crates, C libraries linked in or loaded with `dlopen`.
//! The symbols are there as soon as the crate is linked (which calling [`patch_all`] ensures:
//! a crate only listed in `Cargo.toml` and never named in the code is not linked at all); the
//! behaviour is switched on at run time by `patch_*`. Until then, and always outside greenlets,
//! each hook is the system call itself: one relaxed atomic load and one thread-local read, then
//! the raw system call (never libc's wrapper, which would be the hook again).
//!
//! Inside a greenlet of a thread with a hub (the main greenlet included), a call that would
//! block waits on the hub's reactor instead:
//!
//! | family | functions | patched by |
//! |---|---|---|
//! | sockets | `recv`, `recvfrom`, `recvmsg`, `send`, `sendto`, `sendmsg`, `read`, `readv`, `write`, `writev` (sockets only), `connect`, `accept`, `accept4`; `close`, `dup2`, `dup3` wake waiters with `EBADF` | [`patch_socket`] |
//! | time | `sleep`, `usleep`, `nanosleep`, `clock_nanosleep` | [`patch_time`] |
//! | DNS | `getaddrinfo` (run on the hub's thread pool) | [`patch_dns`] |
//! | select | `poll`, `ppoll`, `select` | [`patch_select`] |
//! | subprocess | `waitpid`, `wait4` for one child | [`patch_subprocess`] |
//!
//! # Semantics
//!
//! Exactly libc's, inside greenlets and out: the same results and `errno` (saved on entry and
//! restored on success), `poll`'s `revents` as the kernel reports them, a blocking read that
//! returns after the first bytes, a blocking stream send that sends everything,
//! `SO_RCVTIMEO`/`SO_SNDTIMEO` honoured (expiry is `EAGAIN`, `EINPROGRESS` for `connect`), and
//! a caller's `O_NONBLOCK` respected. The kernel's `O_NONBLOCK` flag is never changed behind
//! the caller's back: reads and sends pass `MSG_DONTWAIT` per call; `connect` and `accept` set
//! `O_NONBLOCK` for that one call only (as std's `connect_timeout` does).
//!
//! Waits go through the hub's reactor: each thread keeps one registration per fd number
//! (made at the fd's first wait, kept until the `close`, `dup2` or `dup3` hook sees the number
//! closed or replaced, on any thread), so a wait costs no `epoll_ctl`. An fd closed where no
//! hook sees it (glibc's `fclose` of a socket opened with `fdopen`, `close_range`, a raw system
//! call) while a greenlet thread has it registered leaves a registration that never wakes for
//! a new file given that number: close such sockets with `close`.
//!
//! Calls made before `main`, in a forked child before `exec` (the child starts unpatched), on
//! threads without a hub (the thread pool's workers, for example), in the hub itself and
//! while a thread is being torn down pass straight through, without allocating or locking.
//!
//! # Kills and timeouts
//!
//! A panic cannot cross an `extern "C"` function (the process would abort), and C frames may
//! sit between a hook and the greenlet's Rust code. So a kill or [`Timeout`] that reaches a
//! greenlet waiting inside a hook makes the call fail: `-1` with `errno` `ECANCELED` (a kill)
//! or `ETIMEDOUT` (a `Timeout`), never `EINTR` (std and hiredis retry on `EINTR`). A sleep
//! returns early as if it had slept (std asserts that a sleep fails only with `EINTR`). The
//! kill or timeout itself stays pending on the greenlet: it is raised at the greenlet's next
//! wait made from Rust (`gevent::sleep`, a join, an event, a gevent socket), which usually
//! comes right after the library gives up on its failed call, or when the greenlet's function
//! returns (the greenlet then ends killed). A `Timeout::run` (or `with_timeout`) around the
//! call takes its own timeout back when the block returns and returns `Err(timeout)`: the
//! block saw the library's error (`ETIMEDOUT`), and the caller learns that the timeout was the
//! cause. A kill that arrives while a foreign library is waiting is therefore delivered late,
//! after the library returns, not in the middle of it.
//!
//! [`Timeout`]: gevent_timeout::Timeout
//!
//! # What stays blocking
//!
//! * `std::sync::Mutex`, `Condvar`, `thread::park` and channels: they wait with the `futex`
//!   system call through libc's `syscall()`, not a named function. Crates that hand work to
//!   their own helper threads and wait on such a channel (a sync client wrapping a tokio
//!   runtime, `ureq`'s resolver with a timeout) block the hub while they wait.
//! * Regular files (and pipes, ttys): `read`/`write` on them pass through, as in gevent.
//! * `epoll_wait` (a runtime inside a greenlet), `pselect`, `waitpid(-1)`, `gethostbyname`,
//!   `getnameinfo`: not hooked.
//! * Threads: never patched (`is_patched("thread")` is `false`). A greenlet is not a thread:
//!   std's thread-locals, `Mutex` and `thread::current()` would mean something else if
//!   `thread::spawn` made greenlets, and code that needs real parallelism would lose it. Run
//!   blocking work that cannot be patched on the thread pool (`gevent::threadpool`).
//!
//! # Patching early
//!
//! Call [`patch_all`] first thing in `main`, before other threads exist. Unlike Python, nothing
//! has to be re-imported: the hooks are linked in, and fds opened before the call are handled
//! like the others.
//!
//! Requires Linux with glibc, dynamically linked (`crt-static` builds cannot interpose libc).

#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(not(all(
    target_os = "linux",
    target_env = "gnu",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
compile_error!(
    "gevent-monkey interposes glibc's functions: it supports Linux with glibc on x86_64 and \
     aarch64 only"
);

#[cfg(target_feature = "crt-static")]
compile_error!(
    "gevent-monkey cannot interpose libc in a statically linked program (crt-static): libc's \
     functions would call their own internals directly"
);

mod fdkind;
mod hooks;
mod state;
mod sys;
mod wait;

use std::ffi::{c_void, CStr};
use std::fmt;
use std::sync::atomic::Ordering;

use crate::state::{DNS, ENABLED, SELECT, SOCKET, SUBPROCESS, TIME};

/// `patch_*` could not switch the hooks on: the hooks are not what the program calls.
///
/// # Examples
///
/// ```
/// match gevent_monkey::patch_time() {
///     Ok(()) => assert!(gevent_monkey::is_patched("time")),
///     Err(e) => eprintln!("not patched: {e}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MonkeyError {
    /// Another definition of `symbol` wins over this crate's: another `LD_PRELOAD` library, a
    /// second copy of the hooks, or a static build.
    NotInEffect {
        /// The libc function.
        symbol: &'static str,
        /// The file the winning definition comes from, if the dynamic linker knows it.
        found_in: Option<String>,
    },
    /// libc's own `symbol` (needed to run it on the thread pool) was not found.
    NoLibcFunction {
        /// The libc function.
        symbol: &'static str,
    },
}

impl fmt::Display for MonkeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MonkeyError::NotInEffect { symbol, found_in } => {
                write!(
                    f,
                    "gevent-monkey's `{symbol}` is not the one the program calls"
                )?;
                if let Some(file) = found_in {
                    write!(f, " (the dynamic linker resolves it to {file})")?;
                }
                f.write_str(
                    ": another library interposes it (LD_PRELOAD, a second copy of the hooks) \
                     or the program is linked statically",
                )
            }
            MonkeyError::NoLibcFunction { symbol } => {
                write!(
                    f,
                    "libc's `{symbol}` was not found (dlsym(RTLD_NEXT) failed)"
                )
            }
        }
    }
}

impl std::error::Error for MonkeyError {}

/// A hooked symbol's name.
type Sym = &'static CStr;

/// The symbols of each family.
fn symbols(family: u32) -> Vec<Sym> {
    match family {
        SOCKET => vec![
            c"recv",
            c"recvfrom",
            c"recvmsg",
            c"send",
            c"sendto",
            c"sendmsg",
            c"read",
            c"readv",
            c"write",
            c"writev",
            c"connect",
            c"accept",
            c"accept4",
            c"socket",
            c"socketpair",
            c"close",
            c"dup2",
            c"dup3",
        ],
        TIME => vec![c"sleep", c"usleep", c"nanosleep", c"clock_nanosleep"],
        DNS => vec![c"getaddrinfo"],
        SELECT => vec![c"poll", c"ppoll", c"select"],
        SUBPROCESS => vec![c"waitpid", c"wait4"],
        _ => Vec::new(),
    }
}

/// Checks that the program's `name` is this crate's definition: that `dlsym(RTLD_DEFAULT)`
/// finds it in the object (executable or shared library) this code is in.
///
/// Comparing with the address of our function is not enough: inside a shared library, taking
/// the address of an exported function goes through the same symbol lookup (a library
/// loaded with `RTLD_LOCAL` would see libc's `recv` both ways and conclude that all is well).
/// The object is found from a private function, whose address is always direct.
fn check(name: Sym) -> Result<(), MonkeyError> {
    // SAFETY: a lookup by a valid C string.
    let found = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    let here = object_of(marker as *const () as *mut c_void);
    if here.is_some() && object_of(found) == here {
        return Ok(());
    }
    let symbol: &'static str = name.to_str().unwrap_or("?");
    Err(MonkeyError::NotInEffect {
        symbol,
        found_in: library_of(found),
    })
}

/// The file that defines the code at `p`, if the dynamic linker knows.
fn library_of(p: *mut c_void) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: zeroed Dl_info is valid (null pointers).
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: `p` is an address; `info` is ours to fill.
    if unsafe { libc::dladdr(p, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: the dynamic linker's C string.
    Some(
        unsafe { CStr::from_ptr(info.dli_fname) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// A private function: its address is in this crate's object, never interposed.
#[inline(never)]
fn marker() {}

/// The load address of the object that contains `p`.
fn object_of(p: *mut c_void) -> Option<usize> {
    if p.is_null() {
        return None;
    }
    // SAFETY: zeroed Dl_info is valid (null pointers).
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: `p` is an address; `info` is ours to fill.
    if unsafe { libc::dladdr(p, &mut info) } == 0 {
        return None;
    }
    Some(info.dli_fbase as usize)
}

/// Switches the families in `bits` on, after checking that their hooks are in effect.
fn patch(bits: u32) -> Result<(), MonkeyError> {
    for family in [SOCKET, TIME, DNS, SELECT, SUBPROCESS] {
        if bits & family != 0 {
            symbols(family).into_iter().try_for_each(check)?;
        }
    }
    if bits & DNS != 0 && !hooks::dns::resolve_real() {
        return Err(MonkeyError::NoLibcFunction {
            symbol: "getaddrinfo",
        });
    }
    state::install_fork_handler();
    ENABLED.fetch_or(bits, Ordering::SeqCst);
    Ok(())
}

/// Patches everything this crate can (gevent's `patch_all()`): sockets, time, DNS, select and
/// subprocess waits. Calling it again, or after some `patch_*`, patches the union. It never
/// creates a hub: a thread's first wait does, as without patching.
///
/// # Examples
///
/// ```
/// gevent_monkey::patch_all().unwrap();
/// let t = std::time::Instant::now();
/// let gs: Vec<_> = (0..5)
///     .map(|_| gevent_hub::spawn(|| std::thread::sleep(std::time::Duration::from_millis(50))))
///     .collect();
/// gevent_hub::joinall(&gs);
/// assert!(t.elapsed() < std::time::Duration::from_millis(240)); // together, not 250 ms
/// ```
///
/// # Errors
///
/// [`MonkeyError::NotInEffect`] if the program's `recv` (or another hooked function) is not
/// this crate's: another `LD_PRELOAD` library wins, or the program is linked statically.
/// Nothing is switched on then. [`MonkeyError::NoLibcFunction`] if libc's `getaddrinfo`
/// cannot be found.
///
/// # Switches
///
/// Never.
pub fn patch_all() -> Result<(), MonkeyError> {
    patch(SOCKET | TIME | DNS | SELECT | SUBPROCESS)
}

/// Patches socket I/O: `recv`, `recvfrom`, `recvmsg`, `send`, `sendto`, `sendmsg`, `read`,
/// `readv`, `write`, `writev` (on sockets), `connect`, `accept`, `accept4`, and `close`,
/// `dup2`, `dup3` (which wake waiters on the fd).
///
/// # Examples
///
/// ```
/// gevent_monkey::patch_socket().unwrap();
/// assert!(gevent_monkey::is_patched("socket"));
/// ```
///
/// # Errors
///
/// As [`patch_all`].
///
/// # Switches
///
/// Never.
pub fn patch_socket() -> Result<(), MonkeyError> {
    patch(SOCKET)
}

/// Patches the sleeps: `sleep`, `usleep`, `nanosleep`, `clock_nanosleep` (std's
/// `thread::sleep`).
///
/// # Examples
///
/// ```
/// gevent_monkey::patch_time().unwrap();
/// assert!(gevent_monkey::is_patched("time"));
/// ```
///
/// # Errors
///
/// As [`patch_all`].
///
/// # Switches
///
/// Never.
pub fn patch_time() -> Result<(), MonkeyError> {
    patch(TIME)
}

/// Patches name resolution: `getaddrinfo` (std's `ToSocketAddrs`) runs on the hub's thread
/// pool while the greenlet waits.
///
/// # Examples
///
/// ```
/// gevent_monkey::patch_dns().unwrap();
/// assert!(gevent_monkey::is_patched("dns"));
/// ```
///
/// # Errors
///
/// As [`patch_all`].
///
/// # Switches
///
/// Never.
pub fn patch_dns() -> Result<(), MonkeyError> {
    patch(DNS)
}

/// Patches multiplexing: `poll`, `ppoll` (without a signal mask), `select`.
///
/// # Examples
///
/// ```
/// gevent_monkey::patch_select().unwrap();
/// assert!(gevent_monkey::is_patched("select"));
/// ```
///
/// # Errors
///
/// As [`patch_all`].
///
/// # Switches
///
/// Never.
pub fn patch_select() -> Result<(), MonkeyError> {
    patch(SELECT)
}

/// Patches waiting for a child process: `waitpid` and `wait4` for one child (std's
/// `Child::wait`).
///
/// # Examples
///
/// ```
/// gevent_monkey::patch_subprocess().unwrap();
/// assert!(gevent_monkey::is_patched("subprocess"));
/// ```
///
/// # Errors
///
/// As [`patch_all`].
///
/// # Switches
///
/// Never.
pub fn patch_subprocess() -> Result<(), MonkeyError> {
    patch(SUBPROCESS)
}

/// Whether the family `name` is patched: `"socket"`, `"time"`, `"dns"`, `"select"`,
/// `"subprocess"`. `"thread"` is never patched (see the crate docs); any other name is not.
///
/// # Examples
///
/// ```
/// gevent_monkey::patch_select().unwrap();
/// assert!(gevent_monkey::is_patched("select"));
/// assert!(!gevent_monkey::is_patched("thread"));
/// ```
///
/// # Switches
///
/// Never.
pub fn is_patched(name: &str) -> bool {
    let bit = match name {
        "socket" => SOCKET,
        "time" => TIME,
        "dns" => DNS,
        "select" => SELECT,
        "subprocess" => SUBPROCESS,
        _ => return false,
    };
    ENABLED.load(Ordering::SeqCst) & bit != 0
}
