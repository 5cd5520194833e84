//! I/O safety: a registration of an fd number that is closed and reused by another socket
//! never deletes the new socket's registration when it goes.
//!
//! * A watch (what `os::wait_read`, `select` and `poll` use) whose number foreign code closes
//!   behind its back: it registered a `dup`, so its clean-up touches only that.
//! * A raw registration (what a libc hook caches per fd) that a `close` hook cancels before the
//!   real close: it leaves the poller while the fd is still open, so dropping it later, after
//!   the number was reused, does nothing through that number.
//!
//! Before watches registered `dup`s, the first case deleted the new socket's registration and
//! the new socket never woke again. (Its own file, so its own process: it relies on the kernel
//! handing out the lowest free fd number.)

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use gevent_hub::reactor::{cancel_wait, Interest, IoSource, Registration};
use gevent_hub::{sleep, spawn};

/// The tests of this file run one at a time: each relies on the lowest free fd number.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A new socket whose number must be `raw`, registered with the hub; returns it and its peer.
fn new_socket_on(raw: i32) -> (IoSource<UnixStream>, UnixStream) {
    let (s, peer) = UnixStream::pair().unwrap();
    assert_eq!(s.as_raw_fd(), raw, "the kernel did not reuse the number");
    s.set_nonblocking(true).unwrap();
    (IoSource::new(s).unwrap(), peer)
}

/// Reads what `peer` sends `s` a moment later, with a time limit: fails if `s` never wakes.
fn still_wakes(s: &IoSource<UnixStream>, peer: UnixStream) {
    let w = spawn(move || {
        sleep(Duration::from_millis(20));
        (&peer).write_all(b"ping").unwrap();
        peer
    });
    let mut buf = [0u8; 8];
    let n = s
        .read_with(Some(Duration::from_secs(5)), |mut s| s.read(&mut buf))
        .expect("the new socket's registration survived");
    assert_eq!(&buf[..n], b"ping");
    drop(w);
}

#[test]
fn a_watch_of_a_number_closed_behind_its_back() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let (a, _b) = UnixStream::pair().unwrap();
    let raw = a.as_raw_fd();
    // SAFETY: deliberately wrong, standing for foreign code that closes a number it does not
    // own: the borrow is used only to make the watch's dup, before the close.
    let borrowed: BorrowedFd<'static> = unsafe { BorrowedFd::borrow_raw(raw) };
    let waiter = spawn(move || {
        let w = Registration::watch(borrowed).unwrap();
        w.wait(Interest::READABLE, Some(Duration::from_millis(100)))
            .map_err(|e| e.kind())
    });
    sleep(Duration::from_millis(10));
    drop(a);
    let (s, peer) = new_socket_on(raw);
    // The watch times out on its own file and leaves the poller through its dup.
    assert_eq!(waiter.get().unwrap(), Err(std::io::ErrorKind::TimedOut));
    still_wakes(&s, peer);
}

#[test]
fn a_raw_registration_cancelled_before_the_close() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let (a, _b) = UnixStream::pair().unwrap();
    let raw = a.as_raw_fd();
    // SAFETY: `a` is open until the "close hook" below has called `cancel_wait`.
    let reg = unsafe { Registration::from_raw_fd(raw) }.unwrap();
    reg.clear_ready(Interest::READABLE);
    let reg = std::rc::Rc::new(reg);
    let r2 = reg.clone();
    let waiter = spawn(move || {
        r2.wait(Interest::READABLE, Some(Duration::from_secs(10)))
            .map_err(|e| e.raw_os_error())
    });
    sleep(Duration::from_millis(5));
    cancel_wait(a.as_fd()); // the hook, before the real close
    drop(a);
    assert_eq!(waiter.get().unwrap(), Err(Some(libc::EBADF)));
    let (s, peer) = new_socket_on(raw);
    drop(waiter);
    drop(reg); // the last handle: must not delete through the reused number
    still_wakes(&s, peer);
}
