//! A pipeline between two children, `producer | sort`, read cooperatively while a greenlet
//! keeps ticking.
//!
//! The producer's [`ChildStdout`](gevent::subprocess::ChildStdout) becomes the consumer's
//! stdin (`Stdio::from`, as with std), so the data flows from child to child without passing
//! through this process; the example reads only `sort`'s output, which switches to the hub
//! while the pipe is empty.
//!
//! Run it with `cargo run --example subprocess_pipeline`.

use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;
use std::time::Duration;

use gevent::subprocess::{Command, Stdio};

/// Runs the example.
pub fn main() -> std::io::Result<()> {
    let ticks = Rc::new(Cell::new(0u32));
    let t = ticks.clone();
    let ticker = gevent::spawn(move || loop {
        t.set(t.get() + 1);
        gevent::sleep(Duration::from_millis(10));
    });

    let mut producer = Command::new("sh")
        .args([
            "-c",
            "for w in pear apple fig banana; do echo $w; sleep 0.05; done",
        ])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut consumer = Command::new("sort")
        .stdin(producer.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .spawn()?;

    let mut sorted = String::new();
    consumer
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut sorted)?;
    print!("{sorted}");
    println!("producer: {}", producer.wait()?);
    println!("consumer: {}", consumer.wait()?);
    ticker.kill();
    println!(
        "the ticker ran meanwhile: {}",
        // About 20 ticks (the producer takes some 200 ms); a blocking read would give 0 or 1.
        if ticks.get() >= 4 { "yes" } else { "no" }
    );
    Ok(())
}
