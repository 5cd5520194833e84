//! `select`, `poll` and `os::wait_read`/`wait_write` with timeouts, on plain fds and on fds
//! that a socket already registered with the hub.
//!
//! Ported from gevent's `src/gevent/tests/test__select.py` (`TestSelect`, `TestSelectRead`,
//! `TestPollRead` as timed waits; `test_errno`; `test_unregister_never_registered`;
//! `TestSelectTypes.test_int`; `TestPossibleCrashes.test_closing_object_while_selecting`) and
//! `test__os.py` (`wait_read` / `wait_write` on a pipe).

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_hub::{sleep, spawn};
use gevent_net::select::{poll, select, Poll, PollFd, POLLIN, POLLOUT};
use gevent_net::{os, TcpListener, TcpStream};

/// A pipe (read end, write end).
fn pipe() -> (OwnedFd, OwnedFd) {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap()
}

/// The raw numbers of `fds`, to compare results.
fn nums(fds: &[BorrowedFd<'_>]) -> Vec<i32> {
    fds.iter().map(|f| f.as_raw_fd()).collect()
}

/// Asserts that `f` takes about `d` (not less, and well under a generous bound).
fn takes_about(d: Duration, f: impl FnOnce()) {
    let t = Instant::now();
    f();
    let took = t.elapsed();
    assert!(took >= d.mul_f32(0.95), "{took:?} < {d:?}");
    assert!(took < d + Duration::from_secs(1), "{took:?}");
}

/// `TestSelect`: no fds at all is a sleep.
#[test]
fn select_on_nothing_sleeps() {
    takes_about(Duration::from_millis(50), || {
        let (r, w, x) = select(&[], &[], &[], Some(Duration::from_millis(50))).unwrap();
        assert!(r.is_empty() && w.is_empty() && x.is_empty());
    });
}

/// `TestSelectRead`: a pipe with nothing to read times out.
#[test]
fn select_read_times_out() {
    let (r, _w) = pipe();
    takes_about(Duration::from_millis(50), || {
        let got = select(&[r.as_fd()], &[], &[], Some(Duration::from_millis(50))).unwrap();
        assert!(got.0.is_empty());
    });
}

#[test]
fn select_wakes_when_another_greenlet_writes() {
    let (r, w) = pipe();
    let writer = spawn(move || {
        sleep(Duration::from_millis(20));
        let mut f = std::fs::File::from(w);
        f.write_all(b"x").unwrap();
        f
    });
    let t = Instant::now();
    let (rd, wr, x) = select(&[r.as_fd()], &[], &[], Some(Duration::from_secs(5))).unwrap();
    assert_eq!(
        (nums(&rd), nums(&wr), nums(&x)),
        (vec![r.as_raw_fd()], vec![], vec![])
    );
    assert!(t.elapsed() < Duration::from_secs(2));
    writer.join();
}

#[test]
fn select_reports_writable_at_once_and_zero_timeout_just_looks() {
    let (a, _b) = StdUnixStream::pair().unwrap();
    let fd = a.as_fd();
    let (r, w, _) = select(&[fd], &[fd], &[], Some(Duration::ZERO)).unwrap();
    assert_eq!((nums(&r), nums(&w)), (vec![], vec![a.as_raw_fd()]));
}

/// `test_errno`: an fd whose number was closed behind the caller's back (only unsafe code or
/// a C library can do that to a borrowed fd) is EBADF for `select`, `POLLNVAL` for `poll`.
#[test]
fn select_on_a_number_closed_behind_its_back_is_ebadf() {
    let (r, w) = pipe();
    let raw = r.as_raw_fd();
    drop(r);
    drop(w);
    // SAFETY: deliberately wrong (the number is closed) but not used for I/O other than
    // poll(2), which reports POLLNVAL: the scenario this test is about.
    let dead = unsafe { BorrowedFd::borrow_raw(raw) };
    let e = select(&[dead], &[], &[], Some(Duration::ZERO)).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EBADF));
    let e = select(&[dead], &[], &[], Some(Duration::from_millis(10))).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EBADF));
    let mut fds = [PollFd::new(dead, POLLIN)];
    assert_eq!(poll(&mut fds, Some(Duration::ZERO)).unwrap(), 1);
    assert_eq!(fds[0].revents, gevent_net::select::POLLNVAL);
}

/// `TestPollRead` and `test_unregister_never_registered`.
#[test]
fn poll_object_times_out_and_unregister_unknown_fails() {
    let (r, _w) = pipe();
    let (other, _w2) = pipe();
    let mut p = Poll::new();
    p.register(r.as_fd(), POLLIN);
    takes_about(Duration::from_millis(50), || {
        assert!(p.poll(Some(Duration::from_millis(50))).unwrap().is_empty());
    });
    p.unregister(r.as_fd()).unwrap();
    assert_eq!(
        p.unregister(other.as_fd()).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        p.modify(other.as_fd(), POLLIN).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn poll_function_fills_revents() {
    let (r, w) = pipe();
    let mut fds = [
        PollFd::new(r.as_fd(), POLLIN),
        PollFd::new(w.as_fd(), POLLOUT),
    ];
    assert_eq!(poll(&mut fds, Some(Duration::ZERO)).unwrap(), 1);
    assert_eq!((fds[0].revents, fds[1].revents), (0, POLLOUT));
}

/// `test__os.py`: `wait_read` / `wait_write` with timeouts.
#[test]
fn wait_read_and_wait_write_with_timeouts() {
    let (r, w) = pipe();
    let t = Instant::now();
    let e = os::wait_read(&r, Some(Duration::from_millis(30))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert!(t.elapsed() >= Duration::from_millis(28));
    os::wait_write(&w, Some(Duration::from_secs(1))).unwrap();
    let mut wf = std::fs::File::from(w);
    wf.write_all(b"y").unwrap();
    os::wait_read(&r, Some(Duration::from_secs(1))).unwrap();
    // Level semantics: still readable, nothing was read.
    os::wait_read(r.as_fd(), Some(Duration::from_secs(1))).unwrap();
}

/// The fd of a socket that another greenlet is reading (so already in the hub's epoll set:
/// EEXIST) can still be selected on and waited for.
#[test]
fn select_and_wait_read_on_a_registered_socket() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let c = TcpStream::connect(addr).unwrap();
    let (mut s, _) = l.accept().unwrap();
    let fd = c.as_fd();
    // Another greenlet reads the socket (parks on its registration).
    let mut reader = c.try_clone().unwrap();
    let g = spawn(move || {
        let mut b = [0u8; 8];
        let n = reader.read(&mut b).unwrap();
        b[..n].to_vec()
    });
    sleep(Duration::ZERO);
    let (r, _, _) = select(&[fd], &[], &[], Some(Duration::from_millis(20))).unwrap();
    assert!(r.is_empty());
    spawn(move || {
        sleep(Duration::from_millis(10));
        s.write_all(b"data").unwrap();
        s
    });
    let (_, w, _) = select(&[fd], &[fd], &[], Some(Duration::from_secs(5))).unwrap();
    assert_eq!(nums(&w), [c.as_raw_fd()]);
    os::wait_read(fd, Some(Duration::from_secs(5))).unwrap();
    assert_eq!(g.get().unwrap(), b"data");
}

/// `test_closing_object_while_selecting`: a socket dropped (closed) while another greenlet
/// selects on it wakes that greenlet promptly with EBADF.
#[test]
fn closing_a_socket_wakes_its_selectors() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (c1, c2) = (c.try_clone().unwrap(), c.try_clone().unwrap());
    let sel = spawn(move || {
        select(&[c1.as_fd()], &[], &[], Some(Duration::from_secs(10)))
            .map(|_| ())
            .map_err(|e| e.raw_os_error())
    });
    let waiter = spawn(move || {
        os::wait_read(&c2, Some(Duration::from_secs(10))).map_err(|e| e.raw_os_error())
    });
    sleep(Duration::from_millis(5));
    let t = Instant::now();
    c.close(); // closes it for every handle: wakes the waiters on its fd
    assert!(sel.join_timeout(Duration::from_secs(2)));
    assert!(waiter.join_timeout(Duration::from_secs(2)));
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(sel.get().unwrap(), Err(Some(libc::EBADF)));
    assert_eq!(waiter.get().unwrap(), Err(Some(libc::EBADF)));
}

/// `os::cancel_wait` wakes waiters on an fd the caller owns.
#[test]
fn cancel_wait_wakes_waiters() {
    let (r, _w) = pipe();
    let r = Rc::new(r);
    let r2 = r.clone();
    let g = spawn(move || os::wait_read(&*r2, None).map_err(|e| e.raw_os_error()));
    sleep(Duration::ZERO);
    os::cancel_wait(&*r);
    assert_eq!(g.get().unwrap(), Err(Some(libc::EBADF)));
}

/// A kill while selecting leaves no registration behind: the fd can be waited on again.
#[test]
fn killed_selector_leaves_nothing_behind() {
    let (r, w) = pipe();
    let r = Rc::new(r);
    let r2 = r.clone();
    let g = spawn(move || select(&[r2.as_fd()], &[], &[], None).map(|_| ()).is_ok());
    sleep(Duration::ZERO);
    g.kill();
    assert!(g.get().unwrap_err().is_killed());
    let mut wf = std::fs::File::from(w);
    wf.write_all(b"z").unwrap();
    let (rd, _, _) = select(&[r.as_fd()], &[], &[], Some(Duration::from_secs(1))).unwrap();
    assert_eq!(nums(&rd), [r.as_raw_fd()]);
}
