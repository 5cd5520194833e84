//! gevent-monkey's hooks as a shared library to load with `LD_PRELOAD`, for programs not
//! written in Rust:
//!
//! ```text
//! cargo build --release -p gevent-monkey-preload
//! LD_PRELOAD=target/release/libgevent_monkey_preload.so python3 -c 'import time; time.sleep(0.1)'
//! ```
//!
//! Such a program has no greenlets and no hub, so every hooked call passes straight through
//! to the kernel, with libc's exact results: the library is a way to run the hooks' raw paths
//! under a foreign program's own test suite (CPython's, in this project's CI). With
//! `GEVENT_MONKEY=1` in the environment, the library also switches the hooks on when it is
//! loaded (as `patch_all()` would); threads without a hub still pass through, after asking
//! whether they have one.
//!
//! A Rust program does not need this library: depending on `gevent-monkey` and calling
//! `patch_all()` links the same hooks into the executable.

#![deny(unsafe_code)]

pub use gevent_monkey;

/// Runs when the library is loaded: `patch_all()` if `GEVENT_MONKEY=1`.
extern "C" fn init() {
    if std::env::var_os("GEVENT_MONKEY").is_some_and(|v| v == "1") {
        if let Err(e) = gevent_monkey::patch_all() {
            eprintln!("gevent-monkey-preload: GEVENT_MONKEY=1 but not patched: {e}");
        }
    }
}

/// The library's constructor (an `.init_array` entry, run by the dynamic linker).
// SAFETY: `.init_array` holds pointers to `extern "C" fn()` run once at load time; `init` is
// one, and it only reads the environment and calls `patch_all` (which tolerates running
// before `main`).
#[allow(unsafe_code)]
#[used]
#[unsafe(link_section = ".init_array")]
static INIT: extern "C" fn() = init;
