//! Stacks at scale and when they run out (issue 9 §3.2, issue 11 §1).
//!
//! * 40,000 × `spawn(sleep)` + `joinall` (before: an abort in the stack pool's growth, and
//!   past about 32,700 live greenlets a `StackError` for the rest): with stacks in arenas,
//!   all of them run.
//! * A greenlet that cannot get a stack fails *itself*: it ends dead with a `GreenletError`
//!   naming the cause, its joiners wake, the error is reported once, and the greenlet that was
//!   switching to it (a direct hand-over from a greenlet that yields) carries on. Before, that
//!   switcher died of the error, and the new greenlet stayed "started, never dead" while its
//!   joiners ended in `LoopExit`.
//!
//! Ours, not ported (gevent has the same hole: a `MemoryError` from `greenlet.switch` in the
//! hub's callback is reported and the greenlet never runs nor dies). The exhaustion scenario
//! caps the address space (`RLIMIT_AS`), so it runs in a child process: this test binary
//! re-executed with `--exact`, with glibc's heap told to grow ahead and never shrink, so that
//! the hub's own small allocations still succeed once stacks no longer do.

use std::cell::RefCell;
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::{get_hub, joinall, sleep, spawn, Greenlet};

/// The environment variable that tells a re-executed test binary to play the child.
const CHILD: &str = "GEVENT_HUB_TEST_STACKS_CHILD";

/// Whether this kernel has `madvise(MADV_GUARD_INSTALL)` (Linux 6.13), where stacks live in
/// arenas.
fn kernel_has_guard_install() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (6, 13) && std::env::var_os(greenlet::NO_ARENAS_ENV).is_none()
}

#[test]
fn forty_thousand_sleepers_all_join() {
    let reports = Rc::new(RefCell::new(Vec::new()));
    let r = reports.clone();
    get_hub().set_error_handler(move |e| r.borrow_mut().push(e.to_string()));
    let gs: Vec<Greenlet<u32>> = (0..40_000u32)
        .map(|i| {
            spawn(move || {
                sleep(Duration::from_millis(20));
                i
            })
        })
        .collect();
    joinall(&gs);
    get_hub().reset_error_handler();
    assert!(
        gs.iter().all(Greenlet::dead),
        "joinall returns once all are dead"
    );
    let ok = gs.iter().filter(|g| g.successful()).count();
    let failed: Vec<_> = gs.iter().filter_map(Greenlet::exception).collect();
    println!(
        "40,000 spawn(sleep): {ok} ran, {} could not get a stack ({:?} stacks)",
        failed.len(),
        greenlet::stack_mode()
    );
    // Whatever the kernel, each one either ran or failed itself with the stack error.
    assert_eq!(ok + failed.len(), gs.len());
    for e in &failed {
        assert!(e.to_string().contains("greenlet stack"), "{e}");
    }
    assert_eq!(
        reports.borrow().len(),
        failed.len(),
        "each failure reported once"
    );
    if kernel_has_guard_install() {
        assert_eq!(greenlet::stack_mode(), greenlet::StackMode::Arenas);
        assert_eq!(
            ok, 40_000,
            "with arenas, the default vm.max_map_count is no limit"
        );
        for (i, g) in gs.iter().enumerate().step_by(997) {
            assert_eq!(g.value(), Some(i as u32));
        }
    }
}

/// Lowers the soft limit on the address space to `room` bytes more than is mapped now.
fn cap_address_space(room: u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let vm_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    let new = libc::rlimit {
        rlim_cur: vm_kb * 1024 + room,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit with a valid pointer; lowers the soft limit of this child process.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &new) }, 0);
}

/// The child: a driver greenlet spawns 2,000 greenlets and yields to them (handing over
/// directly to each new one), with room for only a few hundred stacks.
fn child() {
    std::panic::set_hook(Box::new(|info| eprintln!("child: {info}")));
    // Grow the heap now, while address space is plentiful; glibc keeps it (see the parent).
    drop((0..256).map(|_| vec![1u8; 1 << 20]).collect::<Vec<_>>());
    let reports = Rc::new(RefCell::new(Vec::new()));
    let r = reports.clone();
    get_hub().set_error_handler(move |e| r.borrow_mut().push(e.to_string()));
    const N: usize = 2_000;
    let driver = spawn(move || {
        let gs: Vec<Greenlet<usize>> = (0..N)
            .map(|i| {
                spawn(move || {
                    sleep(Duration::from_millis(5));
                    i
                })
            })
            .collect();
        // Yields: the hub hands this greenlet's turn straight to the next ready one, so the
        // switch that fails to start a greenlet is often this greenlet's own.
        for _ in 0..4 {
            sleep(Duration::ZERO);
        }
        joinall(&gs);
        gs
    });
    // Started with the room it needs; then the cap.
    sleep(Duration::ZERO);
    cap_address_space(100 << 20);
    let gs = driver.get().expect("the driver carries on");
    let ok = gs.iter().filter(|g| g.successful()).count();
    let failed: Vec<_> = gs.iter().filter(|g| !g.successful()).collect();
    println!(
        "ran={ok} failed={} reports={}",
        failed.len(),
        reports.borrow().len()
    );
    assert!(ok > 0 && !failed.is_empty(), "the cap is between: {ok} ran");
    for g in &failed {
        assert!(
            g.dead() && g.ready() && !g.started(),
            "dead, not left `started`"
        );
        let e = g.exception().expect("failed with an error");
        let text = e.to_string();
        assert!(
            text.contains("greenlet stack") && text.contains("RLIMIT_AS"),
            "{text}"
        );
        assert!(g.get().is_err());
    }
    assert_eq!(reports.borrow().len(), failed.len());
    assert!(
        reports.borrow()[0].contains(&failed[0].name()),
        "{:?}",
        reports.borrow()[0]
    );
    // Joiners of a failed greenlet wake: a fresh joiner returns at once.
    failed[0].join();
    // Once greenlets finish, their stacks serve new ones.
    let again = spawn(|| 7);
    assert_eq!(again.get().unwrap(), 7);
    println!("done");
}

#[test]
fn a_greenlet_that_cannot_get_a_stack_fails_itself() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_greenlet_that_cannot_get_a_stack_fails_itself",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        // glibc's heap: serve allocations up to 32 MiB from the heap (not mmap), and never give
        // its top back, so the hub's allocations still succeed under the cap.
        .env("MALLOC_MMAP_THRESHOLD_", "33554432")
        .env("MALLOC_TRIM_THRESHOLD_", "4294967296")
        .env("MALLOC_TOP_PAD_", "67108864")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the child failed: {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(stdout.contains("done"), "{stdout}");
}

/// Recurses with a 1 KiB frame until the stack runs out (the bound is never reached).
fn recurse(depth: u64) -> u64 {
    if std::hint::black_box(depth) == u64::MAX {
        return 0;
    }
    let frame = std::hint::black_box([depth as u8; 1024]);
    recurse(depth + 1) + u64::from(frame[depth as usize % 1024])
}

/// The stack-overflow report names a hub greenlet by its name (`Greenlet-N`, or the one set),
/// not by its raw id (issue 10).
#[test]
fn overflow_report_names_the_hub_greenlet() {
    if let Some(mode) = std::env::var_os(CHILD) {
        let g = Greenlet::new(|| recurse(0));
        if mode == "renamed" {
            g.set_name("worker-3");
        }
        println!("name={}", g.name());
        g.start();
        g.join();
        unreachable!("the recursion never ends");
    }
    for mode in ["default", "renamed"] {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "overflow_report_names_the_hub_greenlet",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, mode)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let name: String = stdout
            .split("name=")
            .nth(1)
            .expect("the child prints the name")
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        assert_eq!(mode == "renamed", name == "worker-3", "{name}");
        let want = format!("greenlet '{name}' has overflowed its stack");
        assert!(
            stderr.contains(&want),
            "{mode}: stderr lacks {want:?}: {:?}\n{stderr}",
            out.status
        );
    }
}
