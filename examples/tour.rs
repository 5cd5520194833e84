//! The tour: gevent for Rust, one section at a time, each printing what it does.
//!
//! This is the project's main program. It walks through the examples of `examples/`, in the
//! order of gevent's and greenlet's tutorials: raw greenlets first (switching, parents,
//! arguments, resuming, killing); sections for the hub, pools, queues and the rest of the
//! toolkit come as those crates land.
//!
//! Run it with `cargo run --release --example tour`, or `cargo run --example tour -- WORD` for
//! the sections whose title contains `WORD`.

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
    // Raw greenlets (crate `greenlet`, `gevent::greenlet`).
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
];

fn main() {
    let filter: Vec<String> = std::env::args().skip(1).collect();
    let chosen = SECTIONS
        .iter()
        .filter(|s| filter.is_empty() || filter.iter().any(|w| s.title.contains(w.as_str())));
    for (n, s) in chosen.enumerate() {
        if n > 0 {
            println!();
        }
        println!("== {} ==", s.title);
        println!("   (cargo run --example {})", s.example);
        (s.run)();
    }
}
