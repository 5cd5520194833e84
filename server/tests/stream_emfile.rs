//! Accept back-off when the process is out of file descriptors (`EMFILE`): the acceptor pauses
//! (gevent's `min_delay`, doubling to `max_delay`) instead of spinning, and serves the queued
//! connection once descriptors are free again. Its own file: it lowers the process's
//! `RLIMIT_NOFILE`.

use std::io::Read;
use std::time::{Duration, Instant};

use gevent_net::TcpStream;
use gevent_server::StreamServer;
use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

#[test]
fn emfile_pauses_then_recovers() {
    let s = StreamServer::builder("127.0.0.1:0")
        .accept_backoff(Duration::from_millis(20), Duration::from_millis(200))
        .handler(|mut st: TcpStream, _p| {
            use std::io::Write;
            let _ = st.write_all(b"hi");
        })
        .build()
        .unwrap();
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    let c = TcpStream::connect(a).unwrap();
    // Use up the descriptors: the accept of the next connection fails with EMFILE.
    let old = getrlimit(Resource::Nofile);
    let mut hogs = Vec::new();
    let c2 = TcpStream::connect(a).unwrap();
    let probe = std::fs::File::open("/dev/null").unwrap();
    let cur = {
        use std::os::fd::AsRawFd;
        probe.as_raw_fd() as u64
    };
    drop(probe);
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(cur + 1),
            maximum: old.maximum,
        },
    )
    .unwrap();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        hogs.push(f);
    }
    let t = Instant::now();
    gevent_hub::sleep(Duration::from_millis(150)); // the acceptor fails and backs off
    let cpu_before = cpu_time();
    gevent_hub::sleep(Duration::from_millis(300));
    let spent = cpu_time() - cpu_before;
    assert!(
        spent < Duration::from_millis(150),
        "busy loop: {spent:?} of CPU in 300 ms"
    );
    drop(hogs);
    setrlimit(Resource::Nofile, old).unwrap();
    let mut c2 = c2;
    c2.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = String::new();
    c2.read_to_string(&mut out).unwrap();
    assert_eq!(out, "hi");
    assert!(t.elapsed() < Duration::from_secs(10));
    drop(c);
    s.stop(None);
}

/// This process's CPU time.
fn cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}
