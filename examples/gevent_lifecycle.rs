//! A `Greenlet` object from creation to death: `start`, `join`, `get`, `dead`, `ready`,
//! `successful`, `value`, `exception`, `kill`, and the callbacks `link_value`,
//! `link_exception`, `rawlink` and `unlink`.
//!
//! From a tutorial's list of `Greenlet` methods: `job = Greenlet(target0, 3)`, `job.start()`,
//! `job.join()`, `job.get()`, `job.dead`, `job.kill()`, `job.ready()`, `job.successful()`,
//! `job.value`, `job.exception`, `job.rawlink(back)`, `job.unlink()`, `job.link_value(back)`,
//! `job.link_exception(back)`. Links run when the greenlet dies: `link*` callbacks in a new
//! greenlet, `rawlink` callbacks in the hub. A killed greenlet counts as successful, as in
//! gevent, and `get` says it was killed; `killed` tells a kill from a return. `take` moves a
//! value out of a greenlet without cloning it (an `io::Result` is not `Clone`). The failing
//! job's panic is also reported once on stderr by the hub, with the line that spawned it.
//!
//! Run it with `cargo run --example gevent_lifecycle`.

use std::time::Duration;

use gevent::Greenlet;

/// The job: sleeps `n` hundredths of a second, returns `n * n`.
fn target0(n: u64) -> u64 {
    gevent::sleep(Duration::from_millis(10 * n));
    n * n
}

/// Prints a greenlet's states on one line.
fn states<T: Clone + std::fmt::Debug>(what: &str, g: &Greenlet<T>) {
    println!(
        "{what}: started={} dead={} ready={} successful={} value={:?} exception={}",
        g.started(),
        g.dead(),
        g.ready(),
        g.successful(),
        g.value(),
        g.exception().map_or("none".to_string(), |e| e.to_string()),
    );
}

/// Prints when dropped: the job's `finally:` block.
struct Finally;

impl Drop for Finally {
    fn drop(&mut self) {
        println!("long job: cleaning up (its Drops run when it is killed)");
    }
}

/// Runs the example.
pub fn main() {
    // job = Greenlet(target0, 3): created, not started.
    let job = Greenlet::new(|| target0(3));
    states("created", &job);

    let id = job.rawlink(|_| println!("rawlink: never printed, it was unlinked"));
    job.unlink(id);
    job.link_value(|g| println!("link_value: the job returned {:?}", g.value()));
    job.link_exception(|_| println!("link_exception: never printed, the job succeeded"));

    job.start();
    states("started", &job);
    job.join();
    println!("job.get() = {:?}", job.get());
    gevent::sleep(Duration::ZERO); // let the links run
    states("finished", &job);

    // A job that fails: its panic is its exception.
    let failing = gevent::spawn(|| -> u64 { panic!("target0 failed") });
    failing.link_exception(|g| {
        println!(
            "link_exception: the job failed with {:?}",
            g.exception().unwrap().message()
        )
    });
    failing.join();
    gevent::sleep(Duration::ZERO);
    states("failed", &failing);

    // A long job, killed while it sleeps.
    let long = gevent::spawn(|| {
        let _finally = Finally;
        target0(6000)
    });
    gevent::sleep(Duration::ZERO);
    states("long job running", &long);
    long.kill();
    states("long job killed", &long);
    println!("long.get() = {}", long.get().unwrap_err());
    println!(
        "killed: long={} job={} (both successful)",
        long.killed(),
        job.killed()
    );

    // A value that is not Clone: `take` moves it out, once.
    let read = gevent::spawn(|| -> std::io::Result<String> {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut &b"the contents"[..], &mut text)?;
        Ok(text)
    });
    let contents = read.take().unwrap();
    println!("read.take() = {:?}", contents.unwrap());
    println!("read.take() again: {}", read.take().unwrap_err());
}
