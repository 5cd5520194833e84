//! How many greenlets one process can park at once, and what each costs: `N` greenlets wait on
//! one `Event`, then all are woken and joined.
//!
//! Prints, tab-separated like the peers' benchmarks in `../shared/bench`:
//!
//! ```text
//! parked          N   greenlets
//! rss_per_parked  B   bytes      (resident memory + page tables per parked greenlet)
//! pte_per_parked  B   bytes      (page tables alone, from VmPTE)
//! maps            M   mappings   (lines of /proc/self/maps while they are parked)
//! woken           N   greenlets
//! ```
//!
//! Per-greenlet figures are deltas from just before spawning, in a fresh process. With stacks
//! in arenas (Linux ≥ 6.13) a million greenlets fit in the default `vm.max_map_count`
//! (65530); with the fallback of one mapping per stack (`GEVENT_NO_STACK_ARENAS=1`, or an older
//! kernel) spawning past about 32,000 fails each further greenlet with a stack error, which
//! this program counts and reports instead of parking it.
//!
//! Run it with `cargo run --release --example max_parked 1000000`.

use std::time::Instant;

use gevent::event::Event;

/// A figure of `/proc/self/status`, in bytes (`VmRSS`, `VmPTE`).
fn status(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or_else(|| panic!("no {key} in /proc/self/status"))
}

/// Lines of `/proc/self/maps`: the process's kernel mappings.
fn mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .expect("/proc/self/maps")
        .lines()
        .count()
}

/// Runs the example.
fn main() {
    let n: usize = match std::env::args().nth(1) {
        None => 100_000,
        Some(a) => match a.replace('_', "").parse() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("usage: max_parked [N > 0] (got {a:?})");
                std::process::exit(2);
            }
        },
    };
    let event = Event::new();
    // Greenlets that cannot get a stack are counted below, not reported one by one.
    gevent::get_hub().set_error_handler(|_| ());
    // Make the hub and the first stacks before measuring: what is measured is per greenlet.
    gevent::spawn(|| ()).join();
    let (rss0, pte0) = (status("VmRSS"), status("VmPTE"));
    let t = Instant::now();
    let gs: Vec<_> = (0..n)
        .map(|_| {
            let e = event.clone();
            gevent::spawn(move || e.wait())
        })
        .collect();
    // Let every one of them run until it parks.
    gevent::sleep(std::time::Duration::ZERO);
    let parked_in = t.elapsed();
    let (rss1, pte1) = (status("VmRSS"), status("VmPTE"));
    let maps = mappings();
    let failed = gs.iter().filter(|g| g.dead()).count();
    let parked = n - failed;
    let per = |bytes: u64| bytes as f64 / parked.max(1) as f64;
    let pte = pte1.saturating_sub(pte0);
    let rss = rss1.saturating_sub(rss0) + pte;
    println!("parked\t{parked}\tgreenlets");
    println!("rss_per_parked\t{:.0}\tbytes", per(rss));
    println!("pte_per_parked\t{:.0}\tbytes", per(pte));
    println!("maps\t{maps}\tmappings");
    eprintln!(
        "({:?} stacks; {parked} parked in {parked_in:?}; {failed} could not get a stack)",
        gevent::greenlet::stack_mode()
    );
    let t = Instant::now();
    event.set();
    gevent::joinall(&gs);
    let woken = gs.iter().filter(|g| g.successful()).count();
    println!("woken\t{woken}\tgreenlets");
    eprintln!("(woken and joined in {:?})", t.elapsed());
    if failed > 0 {
        if let Some(e) = gs.iter().find_map(|g| g.exception()) {
            eprintln!("first failure: {e}");
        }
        std::process::exit(1);
    }
}
