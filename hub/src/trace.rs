//! The stack backtrace of a panic the hub reports: captured by the hub's panic hook when
//! `RUST_BACKTRACE` asks for one, shown in std's format without the runtime's own frames.
//!
//! std's hook trims a thread's backtrace to the frames between its panic machinery and the
//! thread's entry (`__rust_end_short_backtrace` .. `__rust_begin_short_backtrace`). A greenlet
//! has no such entry marker: below its function come the hub's frames that run it, the
//! greenlet and corosensei frames that switched to its stack, and then the frames of whatever
//! stack switched into it (the hub's loop, `main`). Those say nothing about the panic, so a
//! short backtrace keeps the frames from the panic down to the last frame of the user's code,
//! and drops the rest; `RUST_BACKTRACE=full` shows every frame, as std does.
//!
//! This module depends on no other module of the crate.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::sync::OnceLock;

/// What the environment asks for, as [`Backtrace::capture`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// No backtrace (`RUST_BACKTRACE` unset or `0`).
    Off,
    /// The frames of the panic and of the user's code (`RUST_BACKTRACE=1`).
    Short,
    /// Every frame (`RUST_BACKTRACE=full`).
    Full,
}

/// The style asked for by `RUST_LIB_BACKTRACE`, else `RUST_BACKTRACE` (read once, as std
/// does).
pub(crate) fn style() -> Style {
    static STYLE: OnceLock<Style> = OnceLock::new();
    *STYLE.get_or_init(|| {
        let var =
            std::env::var_os("RUST_LIB_BACKTRACE").or_else(|| std::env::var_os("RUST_BACKTRACE"));
        match var.as_deref().and_then(|v| v.to_str()) {
            None | Some("0") => Style::Off,
            Some("full") => Style::Full,
            Some(_) => Style::Short,
        }
    })
}

/// Captures the running stack if the environment asks for backtraces (cheap otherwise: no
/// unwinding, no symbols; symbols are resolved only when the report is made).
pub(crate) fn capture() -> Option<Backtrace> {
    if style() == Style::Off {
        return None;
    }
    let bt = Backtrace::force_capture();
    (bt.status() == BacktraceStatus::Captured).then_some(bt)
}

/// The backtrace as the report shows it: std's short format without the runtime's frames,
/// followed by a note, or every frame with `RUST_BACKTRACE=full`.
pub(crate) fn render(bt: &Backtrace) -> String {
    if style() == Style::Full {
        return format!("stack backtrace:\n{bt:#}");
    }
    let frames = trim(parse(&bt.to_string()));
    let mut out = String::from("stack backtrace:\n");
    for (i, f) in frames.iter().enumerate() {
        out.push_str(&format!("{i:>4}: {}\n", f.name));
        for l in &f.rest {
            out.push_str(l);
            out.push('\n');
        }
    }
    out.push_str(
        "note: frames of the panic machinery and of the gevent runtime are omitted; run with \
         `RUST_BACKTRACE=full` for a verbose backtrace.",
    );
    out
}

/// One frame of std's format: `  N: name`, then its `at file:line:col` lines.
#[derive(Debug)]
struct Frame {
    /// The symbol's name.
    name: String,
    /// The lines after the name (its source location), as std printed them.
    rest: Vec<String>,
}

/// Splits std's `Display` of a backtrace into frames.
fn parse(text: &str) -> Vec<Frame> {
    let mut frames: Vec<Frame> = Vec::new();
    for line in text.lines() {
        let head = line
            .trim_start()
            .split_once(": ")
            .filter(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        match head {
            Some((_, name)) => frames.push(Frame {
                name: name.to_string(),
                rest: Vec::new(),
            }),
            None => {
                if let Some(f) = frames.last_mut() {
                    f.rest.push(line.to_string());
                }
            }
        }
    }
    frames
}

/// The symbol's path without a leading `<` (`<gevent_hub::glet::Greenlet<T> as ..>::f`).
fn path(name: &str) -> &str {
    name.trim_start_matches('<')
}

/// A frame of the panic machinery or of the hook that captured the backtrace: above the
/// panicking code.
fn is_machinery(name: &str) -> bool {
    let p = path(name);
    [
        "std::backtrace",
        "std::panicking::",
        "std::panic::panic_any",
        "std::rt::",
        "std::sys::backtrace::",
        "core::panicking::",
        "gevent_hub::error::",
        "gevent_hub::trace::",
        "alloc::boxed::Box<F,A> as core::ops::function::Fn",
    ]
    .iter()
    .any(|m| p.starts_with(m))
        || p.ends_with("rust_begin_unwind")
        || p.contains("__rust_end_short_backtrace")
}

/// The crates of the runtime, as their paths begin in symbol names. Named one by one: a
/// user's crate may well be called `gevent_something` (the examples are).
const RUNTIME_CRATES: &[&str] = &[
    "gevent::",
    "gevent_hub::",
    "gevent_net::",
    "gevent_threadpool::",
    "gevent_event::",
    "gevent_lock::",
    "gevent_queue::",
    "gevent_timeout::",
    "gevent_local::",
    "gevent_pool::",
    "gevent_subprocess::",
    "gevent_ssl::",
    "gevent_server::",
    "gevent_monkey::",
    "greenlet::",
    "corosensei::",
];

/// A frame of the runtime: the gevent crates, the greenlet crate, corosensei.
fn is_runtime(name: &str) -> bool {
    let p = path(name);
    RUNTIME_CRATES.iter().any(|c| p.starts_with(c)) || p == "stack_init_trampoline"
}

/// Where a greenlet's stack ends: the frames that switched to it.
fn is_stack_switch(name: &str) -> bool {
    let p = path(name);
    p.starts_with("greenlet::") || p.starts_with("corosensei::") || p == "stack_init_trampoline"
}

/// Glue between the runtime and the user's function (calls through `FnOnce`, `catch_unwind`).
fn is_glue(name: &str) -> bool {
    let p = path(name);
    [
        "core::ops::function::",
        "core::panic::unwind_safe::AssertUnwindSafe",
        "std::panicking::catch_unwind",
        "std::panicking::try",
        "std::panic::catch_unwind",
        "__rust_try",
    ]
    .iter()
    .any(|m| p.starts_with(m))
}

/// Keeps the frames from the panicking code down to the last frame of the user's code (see
/// the module docs). A backtrace in which nothing can be recognised is kept whole.
fn trim(frames: Vec<Frame>) -> Vec<Frame> {
    // The top: after the panic machinery.
    let start = frames
        .iter()
        .rposition(|f| {
            let p = path(&f.name);
            p.contains("__rust_end_short_backtrace")
        })
        .map(|i| i + 1)
        .unwrap_or(0);
    let start = start
        + frames[start..]
            .iter()
            .take_while(|f| is_machinery(&f.name))
            .count();
    // The bottom: the first runtime frame below a frame of the user's code (glue before it
    // dropped too); if the panic happened in the runtime itself with no user frame (a hub
    // callback, say), the end of the greenlet's stack.
    let mut seen_user = false;
    let mut end = frames.len();
    for (i, f) in frames.iter().enumerate().skip(start) {
        if is_runtime(&f.name) {
            if seen_user || is_stack_switch(&f.name) {
                end = i;
                break;
            }
        } else if !is_glue(&f.name) {
            seen_user = true;
        }
    }
    while end > start && is_glue(&frames[end - 1].name) {
        end -= 1;
    }
    if start >= end {
        return frames;
    }
    frames.into_iter().take(end).skip(start).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backtrace of a greenlet's panic, as std prints it (short format).
    const SAMPLE: &str = "   0: std::backtrace::Backtrace::force_capture
             at /rustc/x/library/std/src/backtrace.rs:312:9
   1: gevent_hub::error::install_panic_hook::{{closure}}::{{closure}}
   2: <alloc::boxed::Box<F,A> as core::ops::function::Fn<Args>>::call
   3: std::panicking::panic_with_hook
   4: std::panicking::panic_handler::{{closure}}
   5: std::sys::backtrace::__rust_end_short_backtrace
   6: __rustc::rust_begin_unwind
             at /rustc/x/library/std/src/panicking.rs:689:5
   7: core::panicking::panic_fmt
   8: core::result::unwrap_failed
   9: app::parse
             at ./src/main.rs:4:5
  10: app::main::{{closure}}
             at ./src/main.rs:9:30
  11: core::ops::function::FnOnce::call_once
  12: <core::panic::unwind_safe::AssertUnwindSafe<F> as core::ops::function::FnOnce<()>>::call_once
  13: std::panicking::catch_unwind::do_call
  14: std::panic::catch_unwind
  15: gevent_hub::glet::Greenlet<T>::body
  16: gevent_hub::glet::Greenlet<T>::new::{{closure}}
  17: greenlet::run::call_inline
  18: corosensei::coroutine::Coroutine::resume
  19: gevent_hub::hub::HubInner::run
  20: app::main
             at ./src/main.rs:12:5
";

    #[test]
    fn keeps_the_frames_of_the_user_code() {
        let names: Vec<String> = trim(parse(SAMPLE)).into_iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "core::result::unwrap_failed",
                "app::parse",
                "app::main::{{closure}}"
            ]
        );
    }

    #[test]
    fn a_panic_inside_the_runtime_keeps_its_frames() {
        let text = "   0: std::sys::backtrace::__rust_end_short_backtrace
   1: __rustc::rust_begin_unwind
   2: gevent_hub::glet::Greenlet<T>::join
   3: app::work
   4: core::ops::function::FnOnce::call_once
   5: gevent_hub::glet::Greenlet<T>::body
   6: greenlet::run::call_inline
";
        let names: Vec<String> = trim(parse(text)).into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["gevent_hub::glet::Greenlet<T>::join", "app::work"]);
    }

    /// Regression: a user crate named `gevent_*` (the example `gevent_lifecycle`) was taken
    /// for the runtime, and the report kept every glue and runtime frame below it.
    #[test]
    fn a_user_crate_named_gevent_something_is_user_code() {
        let text = "   0: std::sys::backtrace::__rust_end_short_backtrace
   1: __rustc::rust_begin_unwind
   2: gevent_lifecycle::main::{{closure}}
             at ./examples/gevent_lifecycle.rs:67:45
   3: <core::panic::unwind_safe::AssertUnwindSafe<F> as core::ops::function::FnOnce<()>>::call_once
   4: std::panicking::catch_unwind::do_call
   5: __rust_try
   6: std::panic::catch_unwind
   7: gevent_hub::glet::Greenlet<T>::body
   8: gevent_hub::glet::Greenlet<T>::new::{{closure}}
   9: greenlet::run::call_inline
";
        let names: Vec<String> = trim(parse(text)).into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["gevent_lifecycle::main::{{closure}}"]);
    }

    #[test]
    fn unknown_shapes_are_kept_whole() {
        let text = "   0: a::b\n   1: c::d\n";
        assert_eq!(trim(parse(text)).len(), 2);
    }
}
