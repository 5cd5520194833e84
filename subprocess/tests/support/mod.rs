//! Helpers shared by the test files: counting zombies and open descriptors through `/proc`.

#![allow(dead_code)] // each test file uses a different subset

use std::fs;

/// The pids of this process's children that are zombies (state `Z` in `/proc/<pid>/stat`).
pub fn zombies() -> Vec<u32> {
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue; // gone meanwhile
        };
        // `pid (comm) state ppid ...`; comm may contain spaces and parentheses.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let ppid = fields.next().and_then(|p| p.parse::<u32>().ok());
        if state == Some("Z") && ppid == Some(me) {
            found.push(pid);
        }
    }
    found
}

/// Whether `pid` is a zombie child of this process.
pub fn is_zombie(pid: u32) -> bool {
    zombies().contains(&pid)
}

/// How many descriptors this process has open.
pub fn open_fds() -> usize {
    // `read_dir` itself holds one descriptor while it runs, the same each time.
    fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Waits (cooperatively, at most ~5 s) until `cond` holds; returns whether it did.
pub fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if cond() {
            return true;
        }
        gevent_hub::sleep(std::time::Duration::from_millis(10));
    }
    cond()
}
