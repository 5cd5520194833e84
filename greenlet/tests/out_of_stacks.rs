//! Running out of stacks (address space, memory, or `vm.max_map_count` when each stack is two
//! kernel mappings) is a clear, recoverable error, never a crash: the switch that tried to start
//! the greenlet fails (Python's greenlet raises in the switcher and leaves the target unstarted,
//! `TUserGreenlet.cpp`'s `g_initialstub`), and a greenlet built with `build_fallible` fails
//! itself while the greenlet that switched to it waits on.
//!
//! Ours, not ported (DESIGN.md, "Facts measured here"). The scenario exhausts a process-wide
//! resource, so it runs in a child process: this test binary re-executed with `--exact` and an
//! environment variable, once with stacks in arenas and once with the fallback of one mapping
//! per stack. The child caps its address space (`RLIMIT_AS`, 1 GiB above what it has mapped):
//! with arenas that is the limit it meets (about 50,000 stacks of 16 KiB); in the fallback,
//! `vm.max_map_count` comes first where it has its default (about 32,700 stacks). Either makes
//! `mmap` or `mprotect` fail with `ENOMEM`, which is what the error reports.

mod support;

use std::panic::{self, AssertUnwindSafe};

use greenlet::{Greenlet, StackError, Value};
use support::parent_switch;

/// The environment variable that tells a re-executed test binary to play the child.
const CHILD: &str = "GREENLET_TEST_OUT_OF_STACKS_CHILD";
/// The smallest stack a greenlet may have: the most stacks for the least memory.
const SIZE: usize = 16 * 1024;
/// More greenlets than either limit allows here (a bound for the loop).
const MAX: usize = 100_000;

/// Lowers the soft limit on the address space to 1 GiB more than is mapped now (about 50,000
/// small stacks), unless it is lower already; returns the previous limit.
fn cap_address_space() -> libc::rlimit {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let vm_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    let cap = vm_kb * 1024 + (1 << 30);
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with valid pointers to `rlimit`s we own; this lowers the soft
    // limit of this (child) process only.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_AS, &mut old), 0);
        if old.rlim_cur == libc::RLIM_INFINITY || old.rlim_cur > cap {
            let new = libc::rlimit {
                rlim_cur: cap,
                rlim_max: old.rlim_max,
            };
            assert_eq!(libc::setrlimit(libc::RLIMIT_AS, &new), 0);
        }
    }
    old
}

/// Puts back the address-space limit that `cap_address_space` replaced.
fn restore_address_space(old: libc::rlimit) {
    // SAFETY: setrlimit with a valid pointer; raising the soft limit back up to its old value,
    // which is within the (unchanged) hard limit.
    unsafe { assert_eq!(libc::setrlimit(libc::RLIMIT_AS, &old), 0) };
}

/// A greenlet that waits in its parent until it is dropped.
fn waiter() -> Greenlet {
    Greenlet::builder().stack_size(SIZE).build(|_: Value| loop {
        parent_switch(());
    })
}

/// The child: start greenlets until one cannot get a stack, then check the error and recover.
fn child() {
    // Near the limit even small allocations may fail: report panics with a plain line (the
    // default hook may symbolise a backtrace, which maps files), create every greenlet record
    // before the address space is capped, and leave some free heap behind for messages.
    panic::set_hook(Box::new(|info| eprintln!("child: {info}")));
    let all: Vec<Greenlet> = (0..MAX).map(|_| waiter()).collect();
    // A greenlet built with `build_fallible` fails itself instead: `x` (started now) will
    // switch to `f`, which cannot start; `f` ends with its `run`'s answer to the error, which
    // goes to `f`'s parent (main), and `x` stays suspended, untouched.
    let f =
        Greenlet::builder()
            .stack_size(SIZE)
            .build_fallible(|first: Result<Value, StackError>| match first {
                Ok(_) => (true, None),
                Err(e) => (false, e.io_error().raw_os_error()),
            });
    let f2 = f.clone();
    let x = Greenlet::builder().stack_size(SIZE).build(move |_: Value| {
        parent_switch(());
        f2.switch(()).take::<&str>()
    });
    x.switch(());
    // One whose `run` tries to switch while failing: that panic goes to its parent.
    let t = Greenlet::new(|_: Value| ());
    let s = Greenlet::builder().stack_size(SIZE).build_fallible(
        move |first: Result<Value, StackError>| {
            if first.is_err() {
                t.switch(());
            }
        },
    );
    drop((0..64).map(|_| vec![0u8; 1024]).collect::<Vec<_>>());
    println!("created {MAX} greenlets");
    Greenlet::new(|_: Value| ()).switch(());
    println!("stack_mode={:?}", greenlet::stack_mode());
    let old = cap_address_space();
    let mut started = 0;
    let err: StackError = loop {
        assert!(started < MAX, "no limit was reached");
        match all[started].try_switch(()) {
            Ok(_) => started += 1,
            Err(e) => break e,
        }
    };
    let refused = &all[started];
    assert!(
        !refused.is_started(),
        "the refused greenlet stays unstarted"
    );
    // `switch` panics with the same message, and the panic can be caught.
    let p = panic::catch_unwind(AssertUnwindSafe(|| refused.switch(()))).unwrap_err();
    let (ran, errno) = x.switch(()).take::<(bool, Option<i32>)>();
    let x_active = x.is_active();
    let f_dead = f.is_dead();
    let s_panic = panic::catch_unwind(AssertUnwindSafe(|| s.switch(()))).unwrap_err();
    restore_address_space(old);
    assert!(!ran && errno == Some(libc::ENOMEM), "{ran} {errno:?}");
    assert!(
        x_active && f_dead,
        "the switcher waits on, the failed greenlet is dead"
    );
    assert_eq!(x.switch("back").take::<&str>(), "back");
    assert!(x.is_dead());
    let s_msg = support::message(&*s_panic);
    assert!(s_msg.contains("must not switch"), "{s_msg}");
    assert!(s.is_dead());
    println!("fallible greenlet failed itself");

    println!("started {started} greenlets before the error");
    let text = err.to_string();
    println!("error: {text}");
    assert!(text.contains("vm.max_map_count"), "{text}");
    assert_eq!(err.size(), SIZE);
    assert_eq!(err.io_error().raw_os_error(), Some(libc::ENOMEM));
    let msg = support::message(&*p);
    assert!(msg.contains("vm.max_map_count"), "{msg}");
    assert!(!refused.is_started());
    println!("switch panicked: {msg}");

    // Greenlets started before the error still work.
    for g in all[..started].iter().step_by(1000) {
        g.switch(());
    }

    // Release some: their stacks go to the pool, and the refused greenlet can start now.
    let mut all = all;
    let refused = all.swap_remove(started);
    all[started - 100..started].iter_mut().for_each(|g| {
        *g = Greenlet::new(|_: Value| ());
    });
    refused.try_switch(()).expect("a pooled stack is free now");
    assert!(refused.is_active());
    drop(refused);
    drop(all);
    assert_eq!(Greenlet::new(|_: Value| 7).switch(()).take::<i32>(), 7);
    println!("recovered");
}

#[test]
fn out_of_stacks_is_a_clear_recoverable_error() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    for (label, fallback) in support::MODES {
        let out = support::child_command(
            "out_of_stacks_is_a_clear_recoverable_error",
            CHILD,
            "1",
            fallback,
        )
        .output()
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{label}: the child failed: {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status
        );
        support::assert_mode(&stdout, label);
        for want in [
            "greenlets before the error",
            "error: cannot map a 16384 byte greenlet stack",
            "vm.max_map_count",
            "switch panicked: cannot map",
            "fallible greenlet failed itself",
            "recovered",
        ] {
            assert!(
                stdout.contains(want),
                "{label}: stdout lacks {want:?}:\n{stdout}"
            );
        }
    }
}
