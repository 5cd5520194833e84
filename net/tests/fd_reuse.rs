//! An fd number closed behind the back of a greenlet waiting on it, and reused at once by a
//! new socket, never disturbs the new socket's registration: the old wait (a watch of a `dup`)
//! times out on its own, and the new socket keeps waking. Before the reactor registered
//! watches as `dup`s, the old wait's clean-up deleted the new socket's registration through
//! the reused number, and the new socket never woke again.
//!
//! Safe code cannot close a borrowed fd; here `unsafe` code stands in for a C library that
//! closes a number it does not own. (Its own file, so its own process: it relies on the
//! kernel handing out the lowest free fd number.)

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use gevent_hub::{sleep, spawn};
use gevent_net::unix::UnixStream;
use gevent_net::{os, select};

#[test]
fn a_number_closed_and_reused_under_a_wait_leaves_the_new_socket_working() {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    let raw = r.as_raw_fd();
    // SAFETY: deliberately wrong, to stand for foreign code: the number is closed below while
    // these waits borrow it. They only ever use it to make their `dup` (before the close).
    let borrowed: BorrowedFd<'static> = unsafe { BorrowedFd::borrow_raw(raw) };
    let waiter = spawn(move || {
        os::wait_read(borrowed, Some(Duration::from_millis(100))).map_err(|e| e.kind())
    });
    let selector = spawn(move || {
        select::select(&[borrowed], &[], &[], Some(Duration::from_millis(100)))
            .map(|(r, _, _)| r.len())
            .map_err(|e| e.kind())
    });
    sleep(Duration::from_millis(10)); // both wait now
    drop(r); // "foreign code" closes the number

    // A new socket gets the same number, and registers it.
    let (s, peer) = UnixStream::pair().unwrap();
    assert_eq!(s.as_raw_fd(), raw, "the kernel did not reuse the number");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();

    // The old waits time out (their watches leave the poller) and report it.
    assert_eq!(waiter.get().unwrap(), Err(std::io::ErrorKind::TimedOut));
    assert_eq!(selector.get().unwrap(), Ok(0));

    // The new socket still wakes when data comes.
    let writer = spawn(move || {
        sleep(Duration::from_millis(20));
        (&peer).write_all(b"ping").unwrap();
        peer
    });
    let t = Instant::now();
    let mut buf = [0u8; 4];
    let n = (&s)
        .read(&mut buf)
        .expect("the new socket's registration survived");
    assert_eq!(&buf[..n], b"ping");
    assert!(t.elapsed() < Duration::from_secs(5));
    // And a wait on it through its fd works too.
    (&writer.get().unwrap()).write_all(b"!").unwrap();
    os::wait_read(s.as_fd(), Some(Duration::from_secs(5))).unwrap();
    drop(w);
}
