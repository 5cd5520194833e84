//! Real servers for the third-party proofs: Redis and PostgreSQL on loopback.
//!
//! `.ci/run` starts them and passes their addresses in `GEVENT_TEST_REDIS_URL`
//! (`redis://127.0.0.1:PORT/`) and `GEVENT_TEST_PG` (a libpq connection string). Without those
//! variables a test starts its own server (`redis-server`; PostgreSQL 15's `initdb` and
//! `pg_ctl` as the `postgres` user, which needs root), and fails with a message saying what is
//! missing if it cannot: these tests never pass without running.

#![allow(dead_code)] // each test file uses its own part

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server this test started; stopped when dropped.
pub enum Server {
    /// One given by the environment (not ours to stop).
    External,
    /// A `redis-server` child.
    Redis(Child),
    /// A PostgreSQL cluster in a temporary directory (its data in `data/`).
    Postgres(PathBuf),
}

impl Drop for Server {
    fn drop(&mut self) {
        match self {
            Server::External => {}
            Server::Redis(c) => {
                let _ = c.kill();
                let _ = c.wait();
            }
            Server::Postgres(dir) => {
                let _ = Command::new("runuser")
                    .args(["-u", "postgres", "--"])
                    .arg(pg_bin("pg_ctl"))
                    .arg("-D")
                    .arg(dir.join("data"))
                    .args(["-m", "immediate", "-w", "stop"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
                let _ = std::fs::remove_dir_all(&*dir);
            }
        }
    }
}

/// A free loopback port.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on `port`.
fn wait_listening(port: u16) {
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "no server came up on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A Redis server: its URL, and the guard that stops it.
pub fn redis() -> (String, Server) {
    if let Ok(url) = std::env::var("GEVENT_TEST_REDIS_URL") {
        return (url, Server::External);
    }
    let port = free_port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start redis-server ({e}): install it (apt-get install redis-server) or \
                 set GEVENT_TEST_REDIS_URL, as .ci/run does"
            )
        });
    let guard = Server::Redis(child);
    wait_listening(port);
    (format!("redis://127.0.0.1:{port}/"), guard)
}

/// PostgreSQL 15's program `name`.
fn pg_bin(name: &str) -> PathBuf {
    PathBuf::from("/usr/lib/postgresql/15/bin").join(name)
}

/// A PostgreSQL server: a libpq connection string, and the guard that stops it.
pub fn postgres() -> (String, Server) {
    if let Ok(c) = std::env::var("GEVENT_TEST_PG") {
        return (c, Server::External);
    }
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("gevent-monkey-pg-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ok = Command::new("chown")
        .arg("postgres:postgres")
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "cannot start PostgreSQL: needs root and the postgres user (or set GEVENT_TEST_PG, as \
         .ci/run does)"
    );
    let guard = Server::Postgres(dir.clone());
    let data = dir.join("data");
    let st = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(pg_bin("initdb"))
        .args(["-A", "trust", "-U", "postgres", "-D"])
        .arg(&data)
        .stdout(Stdio::null())
        .status()
        .expect("initdb");
    assert!(st.success(), "initdb failed");
    let port = free_port();
    let st = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(pg_bin("pg_ctl"))
        .arg("-D")
        .arg(&data)
        .arg("-o")
        .arg(format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1",
            dir.display()
        ))
        .arg("-l")
        .arg(dir.join("log"))
        .args(["-w", "start"])
        .stdout(Stdio::null())
        .status()
        .expect("pg_ctl");
    assert!(st.success(), "pg_ctl start failed");
    (
        format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"),
        guard,
    )
}
