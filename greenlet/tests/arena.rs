//! Stacks in arenas, and the fallback of one mapping per stack: how many kernel mappings live
//! greenlets cost, and the process-wide budget past which free stacks give their memory back.
//!
//! Ours, not ported (DESIGN.md, "Facts measured here": `MADV_GUARD_INSTALL` guards cost no
//! mapping). The stack mode is decided once per process, so each scenario runs in a child
//! process (this test binary re-executed with `--exact`), once with arenas and once with the
//! fallback forced by `GEVENT_NO_STACK_ARENAS`.

mod support;

use std::hint::black_box;

use greenlet::{Greenlet, StackMode, Value};
use support::parent_switch;

/// The environment variable that tells a re-executed test binary to play the child.
const CHILD: &str = "GREENLET_TEST_ARENA_CHILD";

/// How many kernel mappings the process has.
fn map_count() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count()
}

/// Resident memory of the process, in bytes.
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Memory of the process's that the kernel may take back at will (`MADV_FREE`d pages not yet
/// reclaimed), in bytes.
fn lazy_free() -> usize {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap();
    let line = text.lines().find(|l| l.starts_with("LazyFree:")).unwrap();
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// A greenlet that touches `N` bytes of its stack, then waits in its parent until dropped.
fn waiter<const N: usize>() -> Greenlet {
    Greenlet::new(move |_: Value| {
        let mut buf = [1u8; N];
        black_box(&mut buf);
        loop {
            parent_switch(());
        }
    })
}

/// Starts `n` waiters touching `N` bytes each and returns them, suspended.
fn start<const N: usize>(n: usize) -> Vec<Greenlet> {
    let gs: Vec<Greenlet> = (0..n).map(|_| waiter::<N>()).collect();
    for g in &gs {
        g.switch(());
    }
    gs
}

/// Runs the child scenario `scenario` in both stack modes; returns each mode's stdout.
fn run_both(test: &str, scenario: &str) -> Vec<(&'static str, String)> {
    support::MODES
        .iter()
        .map(|&(label, fallback)| {
            let out = support::child_command(test, CHILD, scenario, fallback)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success(),
                "{label}: the child failed: {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
                out.status
            );
            support::assert_mode(&stdout, label);
            (label, stdout)
        })
        .collect()
}

/// The number printed after `key=` in a child's stdout.
fn figure(stdout: &str, key: &str) -> usize {
    stdout
        .split(&format!("{key}="))
        .nth(1)
        .unwrap_or_else(|| panic!("the child prints {key}:\n{stdout}"))
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[test]
fn live_greenlets_cost_few_mappings_in_arenas() {
    if std::env::var_os(CHILD).is_some() {
        let mode = greenlet::stack_mode();
        println!("stack_mode={mode:?}");
        // Past the ~32,000 stacks that one mapping per stack allows with the default
        // vm.max_map_count; the fallback stays below it.
        let n = match mode {
            StackMode::Arenas => 40_000,
            StackMode::Mappings => 5_000,
        };
        let before = map_count();
        let gs = start::<512>(n);
        let live = map_count();
        println!("n={n} added={}", live - before);
        let s = greenlet::stack_stats();
        assert!(s.in_use >= n, "{s:?}");
        // Every one of them still runs.
        for g in gs.iter().step_by(97) {
            g.switch(());
        }
        drop(gs);
        println!("done");
        return;
    }
    for (label, stdout) in run_both("live_greenlets_cost_few_mappings_in_arenas", "many") {
        let n = figure(&stdout, "n");
        let added = figure(&stdout, "added");
        assert!(stdout.contains("done"), "{stdout}");
        if stdout.contains("stack_mode=Arenas") {
            // 40,000 stacks of 256 KiB in arenas of 64, 128, ... slots: 10 arenas.
            assert!(added < 40, "{label}: {n} stacks added {added} mappings");
        } else {
            // Each stack and its guard page: two mappings.
            assert!(
                added >= 2 * n - 10,
                "{label}: {n} stacks added {added} mappings"
            );
        }
    }
}

#[test]
fn free_stacks_past_the_budget_give_memory_back() {
    if std::env::var_os(CHILD).is_some() {
        Greenlet::new(|_: Value| ()).switch(());
        println!("stack_mode={:?}", greenlet::stack_mode());
        const N: usize = 2_000;
        const TOUCH: usize = 64 * 1024;
        greenlet::set_stack_cache_budget(4 << 20);
        let (maps0, rss0) = (map_count(), rss());
        let gs = start::<TOUCH>(N);
        let (maps1, rss1) = (map_count(), rss());
        assert!(
            rss1 >= rss0 + N * TOUCH * 3 / 4,
            "{N} greenlets touching {TOUCH} bytes each: {rss0} -> {rss1}"
        );
        drop(gs);
        let (maps2, rss2, lazy2) = (map_count(), rss(), lazy_free());
        let s = greenlet::stack_stats();
        println!(
            "rss0={rss0} rss1={rss1} rss2={rss2} lazy2={lazy2} maps0={maps0} maps1={maps1} \
             maps2={maps2}"
        );
        println!("stats={s:?}");
        assert!(s.warm_bytes <= 4 << 20, "{s:?}");
        // What stays pinned: the budget, and each thread's cache of LOCAL_CACHE stacks; the
        // rest is gone or the kernel's to take (LazyFree).
        let kept = (4 << 20) + greenlet::LOCAL_CACHE * TOUCH;
        assert!(
            rss2 - lazy2.min(rss2) <= rss0 + kept + (8 << 20),
            "memory went back to the kernel: {rss0} -> {rss1} -> {rss2} ({lazy2} lazily free)"
        );
        if greenlet::stack_mode() == StackMode::Mappings {
            assert!(
                maps2 + N <= maps1,
                "unmapped past the budget: {maps0} -> {maps1} -> {maps2}"
            );
        }
        // The same again: stacks whose memory went back are reused (or mapped anew), and
        // they read as fresh memory.
        let gs = start::<TOUCH>(N);
        assert!(gs.iter().all(|g| g.is_active()));
        drop(gs);
        let s = greenlet::stack_stats();
        assert!(s.warm_bytes <= 4 << 20, "{s:?}");
        // Lowering the budget to zero gives back what the pool kept: warm stacks cooled,
        // arenas whose stacks are all free unmapped.
        greenlet::set_stack_cache_budget(0);
        let s = greenlet::stack_stats();
        assert_eq!(s.warm_bytes, 0, "{s:?}");
        let left = match greenlet::stack_mode() {
            StackMode::Arenas => 1,
            StackMode::Mappings => greenlet::LOCAL_CACHE,
        };
        assert!(
            s.mappings <= left,
            "only the mappings of the thread's cached stacks are left: {s:?}"
        );
        let rss3 = rss();
        println!("rss3={rss3} stats={s:?}");
        greenlet::set_stack_cache_budget(greenlet::DEFAULT_STACK_CACHE_BUDGET);
        println!("done");
        return;
    }
    for (_, stdout) in run_both("free_stacks_past_the_budget_give_memory_back", "budget") {
        assert!(stdout.contains("done"), "{stdout}");
    }
}

#[test]
fn stacks_of_an_exiting_thread_go_to_the_pool() {
    if std::env::var_os(CHILD).is_some() {
        Greenlet::new(|_: Value| ()).switch(());
        println!("stack_mode={:?}", greenlet::stack_mode());
        let before = greenlet::stack_stats();
        std::thread::spawn(|| drop(start::<512>(100)))
            .join()
            .unwrap();
        let after = greenlet::stack_stats();
        println!("before={before:?} after={after:?}");
        assert_eq!(
            after.in_use, before.in_use,
            "the thread's cache went to the pool"
        );
        // Another thread reuses them.
        std::thread::spawn(|| drop(start::<512>(100)))
            .join()
            .unwrap();
        let again = greenlet::stack_stats();
        assert_eq!(
            again.reserved_bytes, after.reserved_bytes,
            "reused, not mapped anew"
        );
        println!("done");
        return;
    }
    for (_, stdout) in run_both("stacks_of_an_exiting_thread_go_to_the_pool", "threads") {
        assert!(stdout.contains("done"), "{stdout}");
    }
}
