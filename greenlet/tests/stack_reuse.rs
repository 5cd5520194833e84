//! Stacks are reused: many sequential greenlets do not grow the process's memory or its count
//! of kernel mappings, and the pool accounts for every stack. (The budget that gives memory
//! back to the kernel is tested in `arena.rs`, in both stack modes.)
//!
//! Ours, not ported: Python's greenlet copies stacks instead of giving each greenlet its own
//! (`test_leaks.py`'s `test_untracked_memory_doesnt_increase` is the nearest relative). This
//! file reads process-wide figures (`/proc/self/maps`, `VmRSS`), so it has its own process and
//! its tests take turns.

mod support;

use std::hint::black_box;
use std::sync::Mutex;

use greenlet::{Greenlet, Value};
use support::parent_switch;

/// The tests of this file measure the whole process: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

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

/// Runs a greenlet that touches `bytes` of its stack and returns the address of a local.
fn run_one(stack_size: usize, bytes: usize) -> usize {
    let g = Greenlet::builder()
        .stack_size(stack_size)
        .build(move |_: Value| {
            let mut buf = [0u8; 16 * 1024];
            let n = bytes.min(buf.len());
            buf[..n].fill(1);
            black_box(&buf);
            &buf as *const _ as usize
        });
    g.switch(()).take::<usize>()
}

#[test]
fn sequential_greenlets_reuse_one_stack() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let size = greenlet::DEFAULT_STACK_SIZE;
    run_one(size, 16 * 1024); // warm the pool
    let (maps, mem) = (map_count(), rss());
    let mut addrs = std::collections::HashSet::new();
    for _ in 0..10_000 {
        addrs.insert(run_one(size, 16 * 1024));
    }
    let (maps2, mem2) = (map_count(), rss());
    assert!(
        addrs.len() <= 2,
        "sequential greenlets ran on {} different stacks",
        addrs.len()
    );
    assert!(maps2 <= maps + 8, "mappings grew from {maps} to {maps2}");
    assert!(
        mem2 <= mem + 16 * 1024 * 1024,
        "resident memory grew from {mem} to {mem2} bytes"
    );
}

#[test]
fn killed_greenlets_give_their_stacks_back() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let wait = || {
        Greenlet::new(|_: Value| loop {
            parent_switch(());
        })
    };
    let g = wait();
    g.switch(());
    drop(g);
    let maps = map_count();
    for _ in 0..10_000 {
        let g = wait();
        g.switch(());
        drop(g); // killed: its stack goes back to the pool
    }
    let maps2 = map_count();
    assert!(maps2 <= maps + 8, "mappings grew from {maps} to {maps2}");
}

#[test]
fn other_sizes_are_pooled_by_size() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for size in [32 * 1024, 64 * 1024, 1024 * 1024] {
        run_one(size, 8 * 1024);
        let maps = map_count();
        for _ in 0..2_000 {
            run_one(size, 8 * 1024);
        }
        let maps2 = map_count();
        assert!(
            maps2 <= maps + 8,
            "{size}: mappings grew from {maps} to {maps2}"
        );
    }
}

#[test]
fn stack_stats_count_live_and_free_stacks() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const N: usize = 500;
    let before = greenlet::stack_stats();
    let gs: Vec<Greenlet> = (0..N)
        .map(|_| {
            Greenlet::new(|_: Value| loop {
                parent_switch(());
            })
        })
        .collect();
    for g in &gs {
        g.switch(());
    }
    let live = greenlet::stack_stats();
    assert!(
        live.in_use >= before.in_use + N - greenlet::LOCAL_CACHE,
        "{N} live stacks are in use: {before:?} -> {live:?}"
    );
    drop(gs);
    let after = greenlet::stack_stats();
    assert!(
        after.in_use + N <= live.in_use + greenlet::LOCAL_CACHE,
        "dropped greenlets' stacks come back: {live:?} -> {after:?}"
    );
    assert!(after.warm_bytes <= greenlet::stack_cache_budget());
}
