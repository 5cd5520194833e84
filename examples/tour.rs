//! The tour: gevent for Rust, one section at a time, each printing what it does.
//!
//! This is the project's main program. It walks through the examples of `examples/`, in the
//! order of gevent's tutorial: the hub (spawn, join, states, links, kill, signals),
//! synchronisation (events, semaphores, greenlet-local storage, timeouts), queues and pools,
//! networking (a server and many clients, concurrent downloads, UDP), child processes; then
//! the raw greenlets underneath (switching, parents, arguments, resuming, killing), as in
//! greenlet's documentation; and last monkey patching (std's own blocking calls made
//! cooperative).
//!
//! Run it with `cargo run --release --example tour`, or `cargo run --example tour -- WORD...`
//! for the sections whose title contains one of the words (case does not matter).

#[path = "echo_many.rs"]
#[allow(dead_code)] // the tour calls `run`; the example's `main` reads the command line
mod echo_many;
#[path = "fetch.rs"]
#[allow(dead_code)] // the tour calls `run`; the example's `main` reads the command line
mod fetch;
#[path = "gevent_async_result.rs"]
mod gevent_async_result;
#[path = "gevent_bounded_semaphore.rs"]
mod gevent_bounded_semaphore;
#[path = "gevent_event.rs"]
mod gevent_event;
#[path = "gevent_functions.rs"]
mod gevent_functions;
#[path = "gevent_lifecycle.rs"]
mod gevent_lifecycle;
#[path = "gevent_local.rs"]
mod gevent_local;
#[path = "gevent_signal_shutdown.rs"]
mod gevent_signal_shutdown;
#[path = "gevent_sleep_ref.rs"]
mod gevent_sleep_ref;
#[path = "gevent_spawn_args.rs"]
mod gevent_spawn_args;
#[path = "gevent_spawn_later.rs"]
mod gevent_spawn_later;
#[path = "gevent_states.rs"]
mod gevent_states;
#[path = "gevent_subclass.rs"]
mod gevent_subclass;
#[path = "gevent_sync_async.rs"]
mod gevent_sync_async;
#[path = "gevent_timeout.rs"]
mod gevent_timeout;
#[path = "greenlet_args.rs"]
mod greenlet_args;
#[path = "greenlet_parent.rs"]
mod greenlet_parent;
#[path = "greenlet_ping_pong.rs"]
mod greenlet_ping_pong;
#[path = "greenlet_resume.rs"]
mod greenlet_resume;
#[path = "greenlet_switch.rs"]
mod greenlet_switch;
#[path = "greenlet_throw.rs"]
mod greenlet_throw;
#[path = "monkey_std.rs"]
mod monkey_std;
#[path = "pool_group.rs"]
mod pool_group;
#[path = "pool_imap_unordered.rs"]
mod pool_imap_unordered;
#[path = "pool_methods.rs"]
mod pool_methods;
#[path = "pool_size.rs"]
mod pool_size;
#[path = "queue_bounded.rs"]
mod queue_bounded;
#[path = "queue_workers.rs"]
mod queue_workers;
#[path = "subprocess_parallel.rs"]
mod subprocess_parallel;
#[path = "subprocess_pipeline.rs"]
mod subprocess_pipeline;
#[path = "subprocess_popen.rs"]
mod subprocess_popen;
#[path = "udp_echo.rs"]
#[allow(dead_code)] // the tour calls `run`; the example's `main` reads the command line
mod udp_echo;

/// One section of the tour: a title, the example it comes from, and the code that shows it.
struct Section {
    /// What the section shows.
    title: &'static str,
    /// The example to run on its own for the same output.
    example: &'static str,
    /// Prints the section's output.
    run: fn(),
}

/// The sections, in order. Add new ones at the end of their part.
const SECTIONS: &[Section] = &[
    // The hub: scheduled greenlets (crate `gevent-hub`, `gevent::spawn` and friends).
    Section {
        title: "The hub: spawn with arguments and closures, then joinall",
        example: "gevent_spawn_args",
        run: gevent_spawn_args::main,
    },
    Section {
        title: "The hub: synchronous and asynchronous execution",
        example: "gevent_sync_async",
        run: gevent_sync_async::main,
    },
    Section {
        title: "The hub: greenlet states (the winner and the loser)",
        example: "gevent_states",
        run: gevent_states::main,
    },
    Section {
        title: "The hub: a greenlet type of one's own (gevent::Run)",
        example: "gevent_subclass",
        run: gevent_subclass::main,
    },
    Section {
        title: "The hub: spawn_later and start_later",
        example: "gevent_spawn_later",
        run: gevent_spawn_later::main,
    },
    Section {
        title: "The hub: a Greenlet's life, its links, kill and take",
        example: "gevent_lifecycle",
        run: gevent_lifecycle::main,
    },
    Section {
        title: "The hub: spawn_raw, getcurrent, wait, kill, killall, wait_all",
        example: "gevent_functions",
        run: gevent_functions::main,
    },
    Section {
        title: "The hub: sleep(0) yields, sleep with ref=False",
        example: "gevent_sleep_ref",
        run: gevent_sleep_ref::main,
    },
    Section {
        title: "The hub: shutting down on SIGQUIT",
        example: "gevent_signal_shutdown",
        run: gevent_signal_shutdown::main,
    },
    // Synchronisation (crates `gevent-event`, `gevent-lock`, `gevent-local`, `gevent-timeout`).
    Section {
        title: "Synchronisation: an Event, one setter and many waiters",
        example: "gevent_event",
        run: gevent_event::main,
    },
    Section {
        title: "Synchronisation: AsyncResult, a value for whoever waits",
        example: "gevent_async_result",
        run: gevent_async_result::main,
    },
    Section {
        title: "Synchronisation: a BoundedSemaphore around a shared resource",
        example: "gevent_bounded_semaphore",
        run: gevent_bounded_semaphore::main,
    },
    Section {
        title: "Synchronisation: greenlet-local storage",
        example: "gevent_local",
        run: gevent_local::main,
    },
    Section {
        title: "Time limits: Timeout in its forms",
        example: "gevent_timeout",
        run: gevent_timeout::main,
    },
    // Queues and pools (crates `gevent-queue`, `gevent-pool`).
    Section {
        title: "Queues: a boss and three workers sharing 24 tasks",
        example: "queue_workers",
        run: queue_workers::main,
    },
    Section {
        title: "Queues: a bounded queue makes the boss wait",
        example: "queue_bounded",
        run: queue_bounded::main,
    },
    Section {
        title: "Pools: imap_unordered, imap and map",
        example: "pool_imap_unordered",
        run: pool_imap_unordered::main,
    },
    Section {
        title: "Pools: a Group of greenlets",
        example: "pool_group",
        run: pool_group::main,
    },
    Section {
        title: "Pools: a Pool limits concurrency",
        example: "pool_size",
        run: pool_size::main,
    },
    Section {
        title: "Pools: apply, apply_async, map and friends",
        example: "pool_methods",
        run: pool_methods::main,
    },
    // Networking (crates `gevent-net`, `gevent-server`).
    Section {
        title: "Networking: a StreamServer and 100 clients in one thread",
        example: "echo_many",
        run: || echo_many::run(100).expect("echo_many"),
    },
    Section {
        title: "Networking: fetching 20 pages at once",
        example: "fetch",
        run: || fetch::run(20).expect("fetch"),
    },
    Section {
        title: "Networking: UDP, a DatagramServer and a client",
        example: "udp_echo",
        run: || udp_echo::run().expect("udp_echo"),
    },
    // Processes (crate `gevent-subprocess`).
    Section {
        title: "Processes: Popen with a pipe while another greenlet works",
        example: "subprocess_popen",
        run: || subprocess_popen::main().expect("subprocess_popen"),
    },
    Section {
        title: "Processes: ten children at once",
        example: "subprocess_parallel",
        run: subprocess_parallel::main,
    },
    Section {
        title: "Processes: a pipeline between two children",
        example: "subprocess_pipeline",
        run: || subprocess_pipeline::main().expect("subprocess_pipeline"),
    },
    // Raw greenlets, underneath it all (crate `greenlet`, `gevent::greenlet`).
    Section {
        title: "Raw greenlets: two greenlets switching (12, 56, 34; never 78)",
        example: "greenlet_switch",
        run: greenlet_switch::main,
    },
    Section {
        title: "Raw greenlets: a panic goes to the parent",
        example: "greenlet_parent",
        run: greenlet_parent::main,
    },
    Section {
        title: "Raw greenlets: switching with arguments",
        example: "greenlet_args",
        run: greenlet_args::main,
    },
    Section {
        title: "Raw greenlets: suspended, then resumed later",
        example: "greenlet_resume",
        run: greenlet_resume::main,
    },
    Section {
        title: "Raw greenlets: ping-pong, greenlets passed as arguments",
        example: "greenlet_ping_pong",
        run: greenlet_ping_pong::main,
    },
    Section {
        title: "Raw greenlets: killing with GreenletExit, throwing, dropping",
        example: "greenlet_throw",
        run: greenlet_throw::main,
    },
    // Monkey patching (crate `gevent-monkey`, `gevent::monkey` with the feature `monkey`).
    // Last: it patches the process.
    Section {
        title: "Monkey patching: std's sleeps, sockets and children in greenlets",
        example: "monkey_std",
        run: monkey_std::main,
    },
];

/// Whether `title` contains one of `words`, whatever the case (all titles match no words).
fn matches(title: &str, words: &[String]) -> bool {
    let title = title.to_lowercase();
    words.is_empty() || words.iter().any(|w| title.contains(&w.to_lowercase()))
}

fn main() {
    let words: Vec<String> = std::env::args().skip(1).collect();
    let chosen: Vec<&Section> = SECTIONS
        .iter()
        .filter(|s| matches(s.title, &words))
        .collect();
    if chosen.is_empty() {
        eprintln!(
            "no section of the tour has {} in its title (case does not matter); the sections:",
            words
                .iter()
                .map(|w| format!("{w:?}"))
                .collect::<Vec<_>>()
                .join(" or ")
        );
        for s in SECTIONS {
            eprintln!("  {}", s.title);
        }
        std::process::exit(2);
    }
    for (n, s) in chosen.iter().enumerate() {
        if n > 0 {
            println!();
        }
        println!("== {} ==", s.title);
        println!("   (cargo run --example {})", s.example);
        (s.run)();
    }
}
