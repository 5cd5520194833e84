//! A child process waited for cooperatively: a `cron` greenlet keeps printing while the main
//! greenlet waits for `sleep 1; uname` and collects its output through a pipe.
//!
//! The seed documents' `from gevent.subprocess import Popen, PIPE` ("a patched version of
//! Python's subprocess module that supports cooperative waiting for child processes"), as in
//! the gevent tutorial's example: `Popen(['sleep 1; uname'], stdout=PIPE, shell=True)` becomes
//! `Command::new("sh").args(["-c", "sleep 1; uname"]).stdout(Stdio::piped()).spawn()`, and
//! `sub.communicate()` the same call. Then gevent's `examples/processes.py`: `uname` and `ls`
//! run at once, and `gevent::wait` waits for both, at most 2 seconds.
//!
//! Run it with `cargo run --example subprocess_popen`.

use std::io::Read;
use std::time::Duration;

use gevent::subprocess::{Command, Stdio};

/// Prints `cron` every 0.2 s, for ever (until killed).
fn cron() {
    loop {
        println!("cron");
        gevent::sleep(Duration::from_millis(200));
    }
}

/// Runs the example.
pub fn main() -> std::io::Result<()> {
    let g = gevent::spawn(cron);
    let mut sub = Command::new("sh")
        .args(["-c", "sleep 1; uname"])
        .stdout(Stdio::piped())
        .spawn()?;
    // Switches to the hub until the child closes its stdout and exits: `cron` runs meanwhile.
    let (out, _err) = sub.communicate(None, None)?;
    g.kill();
    println!("{}", String::from_utf8_lossy(&out).trim_end());

    // gevent's examples/processes.py: run 2 jobs in parallel.
    let mut p1 = Command::new("uname").stdout(Stdio::piped()).spawn()?;
    let mut p2 = Command::new("ls").arg("/").stdout(Stdio::piped()).spawn()?;
    gevent::wait(&[&p1, &p2], Some(Duration::from_secs(2)));
    // Print the results (if available).
    for (name, p) in [("uname", &mut p1), ("ls", &mut p2)] {
        if p.try_wait()?.is_some() {
            let mut out = String::new();
            p.stdout.take().unwrap().read_to_string(&mut out)?;
            println!("{name}: {} line(s)", out.lines().count());
        } else {
            println!("{name}: job is still running");
            p.kill()?;
            p.wait()?;
        }
    }
    Ok(())
}
