//! End-of-file that arrives together with the last data: a reader parked on a socket, whose
//! peer then writes and shuts down (or closes) before the hub polls, gets one readiness edge
//! for both. It must read the data and then end-of-file (0), never wait for a second edge that
//! will not come. (A read that returns less than asked does not prove the socket drained of
//! everything: the end-of-stream may still be there to read.)

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use gevent_hub::{sleep, spawn};
use gevent_net::unix::UnixStream;
use gevent_net::TcpListener;

/// How long a read may wait before the test calls it a hang.
const HANG: Duration = Duration::from_secs(5);

/// Reads with a large buffer until end-of-file; returns what was read, or the error that
/// ended the loop (`WouldBlock` when a read waited `HANG`).
fn read_to_eof(mut r: impl Read) -> Result<Vec<u8>, (ErrorKind, String)> {
    let mut all = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..1000 {
        let n = r.read(&mut buf).map_err(|e| (e.kind(), e.to_string()))?;
        if n == 0 {
            return Ok(all);
        }
        all.extend_from_slice(&buf[..n]);
    }
    panic!("no end-of-file after 1000 reads");
}

/// The peer writes and shuts down its sending side while the reader is parked.
#[test]
fn tcp_data_and_fin_in_one_edge() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    for round in 0..20 {
        // A plain std socket: its calls never go through the hub, so the data and the FIN are
        // both queued before the hub polls again.
        let mut peer = std::net::TcpStream::connect(addr).unwrap();
        let (s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(HANG)).unwrap();
        let reader = spawn(move || read_to_eof(&s));
        sleep(Duration::ZERO); // the reader tries, gets WouldBlock and parks
        let msg = format!("round {round}: some data, then end-of-file");
        peer.write_all(msg.as_bytes()).unwrap();
        if round % 2 == 0 {
            peer.shutdown(Shutdown::Write).unwrap();
        } else {
            drop(peer); // close: FIN too
        }
        let got = reader.get().unwrap();
        match got {
            Ok(v) => assert_eq!(v, msg.as_bytes(), "round {round}"),
            Err((ErrorKind::WouldBlock, _)) => {
                panic!("round {round}: the reader hung after the data (no end-of-file)")
            }
            Err((_, e)) => panic!("round {round}: {e}"),
        }
    }
}

/// The same on a Unix stream pair, and with the data already read once before the peer's
/// last write (the reader parks again after a `WouldBlock`).
#[test]
fn unix_data_and_shutdown_in_one_edge() {
    for round in 0..20 {
        let (a, mut peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let a = UnixStream::from_std(a).unwrap();
        a.set_read_timeout(Some(HANG)).unwrap();
        let reader = spawn(move || read_to_eof(&a));
        sleep(Duration::ZERO);
        peer.write_all(b"first").unwrap();
        sleep(Duration::from_millis(1)); // the reader reads it and parks again
        peer.write_all(b" and last").unwrap();
        peer.shutdown(Shutdown::Write).unwrap();
        let got = reader.get().unwrap();
        match got {
            Ok(v) => assert_eq!(v, b"first and last", "round {round}"),
            Err((ErrorKind::WouldBlock, _)) => {
                panic!("round {round}: the reader hung after the data (no end-of-file)")
            }
            Err((_, e)) => panic!("round {round}: {e}"),
        }
    }
}

/// A TCP stream whose peer writes and closes at once, from another thread: the data and the
/// FIN race with the reader's registration and its first reads.
#[test]
fn tcp_peer_in_another_thread_writes_and_closes() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        for i in 0..50u32 {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            c.write_all(&i.to_le_bytes().repeat(100)).unwrap();
        }
    });
    for i in 0..50u32 {
        let (s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(HANG)).unwrap();
        let got = read_to_eof(&s).unwrap_or_else(|e| panic!("connection {i}: {e:?}"));
        assert_eq!(got, i.to_le_bytes().repeat(100), "connection {i}");
    }
    t.join().unwrap();
}
