//! The reactor's public API as its users (net, subprocess, monkey) use it: owned sources,
//! watches of borrowed fds, raw registrations with `cancel_wait`, waits through `arm` with a
//! park function of the caller's, and what kills, timeouts and closes leave behind.
//!
//! After gevent's `src/gevent/tests/test__hub.py` (`TestWaiting`: `cancel_wait` on a watcher
//! in use, a second waiter on one watcher is `ConcurrentObjectUseError`) and
//! `test__select.py` (`test_closing_object_while_selecting`).

mod support;

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use gevent_hub::reactor::{cancel_wait, ConcurrentUse, Interest, IoSource, Registration};
use gevent_hub::{get_hub, park_timeout, sleep, spawn, Greenlet};
use support::{timed, NO_TIME};

/// How many fds the hub has registered (from its `Debug`).
fn registered() -> usize {
    let d = format!("{:?}", get_hub());
    let n = d.split("fds: ").nth(1).expect("the hub's Debug lists fds");
    n.trim_end_matches(|c: char| !c.is_ascii_digit())
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A greenlet's `wait` outcome as the OS error code (or the kind, without one).
fn code(r: std::io::Result<()>) -> Result<(), String> {
    r.map_err(|e| match e.raw_os_error() {
        Some(c) => format!("os {c}"),
        None => format!("{:?}", e.kind()),
    })
}

/// Dropping an owned source wakes the watches of its fd with `EBADF` ("closed in another
/// greenlet"), before the fd closes.
#[test]
fn dropping_a_source_wakes_the_watches_of_its_fd() {
    let (a, _b) = UnixStream::pair().unwrap();
    let src = IoSource::new(a).unwrap();
    let watch = Registration::watch(src.as_fd()).unwrap();
    let before = registered();
    let g: Greenlet<Result<(), String>> =
        spawn(move || code(watch.wait(Interest::READABLE, Some(Duration::from_secs(10)))));
    sleep(Duration::ZERO);
    let (_, took) = timed(|| {
        drop(src);
        g.join();
    });
    assert!(took < NO_TIME, "{took:?}");
    assert_eq!(g.get().unwrap(), Err(format!("os {}", libc::EBADF)));
    assert_eq!(
        registered(),
        before - 2,
        "the source and the watch are gone"
    );
}

/// A raw registration (what a libc hook caches per fd): `cancel_wait` before the close wakes
/// its waiter with `EBADF`, takes it out of the poller, and later waits fail at once.
#[test]
fn cancel_wait_takes_a_raw_registration_out() {
    let (a, _b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let a = Rc::new(a);
    let before = registered();
    // SAFETY: `a` stays open until after `cancel_wait` below.
    let reg = Rc::new(unsafe { Registration::from_raw_fd(a.as_raw_fd()) }.unwrap());
    assert_eq!(registered(), before + 1);
    let (r2, a2) = (reg.clone(), a.clone());
    let g = spawn(move || {
        r2.io_with(Interest::READABLE, None, || (&*a2).read(&mut [0u8; 4]))
            .map_err(|e| e.raw_os_error())
    });
    sleep(Duration::ZERO); // g read EAGAIN and waits
                           // The "close hook": cancel first, then close.
    cancel_wait(a.as_fd());
    assert_eq!(g.get().unwrap(), Err(Some(libc::EBADF)));
    assert_eq!(
        registered(),
        before,
        "out of the poller while the fd was open"
    );
    drop(g);
    drop(Rc::try_unwrap(a).expect("g is done with it")); // the real close
    let e = reg.wait(Interest::READABLE, None).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EBADF));
    assert!(format!("{reg:?}").contains("closed: true"));
}

/// A wait through `arm` with the caller's own park: readiness comes back through `finish`, a
/// timeout leaves no waiter behind (another greenlet can wait next), and a second waiter for
/// the same direction is refused.
#[test]
fn arm_with_a_park_of_ones_own() {
    let (a, b) = UnixStream::pair().unwrap();
    let reg = Rc::new(Registration::watch(a.as_fd()).unwrap());
    // Times out: nothing to read.
    let mut armed = None;
    let r = park_timeout(Some(Duration::from_millis(5)), |u| {
        armed = Some(reg.arm(Interest::READABLE, u));
    });
    assert!(r.is_err());
    drop(armed); // removes the waiter
                 // Another greenlet may wait now, and a second one is refused.
    let r2 = reg.clone();
    let first = spawn(move || code(r2.wait(Interest::READABLE, Some(Duration::from_secs(5)))));
    sleep(Duration::ZERO);
    let e = reg.wait(Interest::READABLE, None).unwrap_err();
    let cu = e
        .get_ref()
        .unwrap()
        .downcast_ref::<ConcurrentUse>()
        .unwrap();
    assert!(cu.read && cu.fd == a.as_raw_fd());
    // Through arm, the refusal comes back from finish.
    let mut armed = None;
    let v = park_timeout(Some(Duration::from_secs(5)), |u| {
        armed = Some(reg.arm(Interest::READABLE, u));
    })
    .expect("woken at once");
    let e = armed.unwrap().finish(&v).unwrap_err();
    assert!(e.get_ref().unwrap().is::<ConcurrentUse>());
    // A writer may wait beside the reader.
    reg.wait(Interest::WRITABLE, Some(Duration::from_secs(5)))
        .unwrap();
    (&b).write_all(b"x").unwrap();
    assert_eq!(first.get().unwrap(), Ok(()));
    // Ready now: arm wakes at once and finish says Ok.
    let mut armed = None;
    let v = park_timeout(None, |u| armed = Some(reg.arm(Interest::READABLE, u))).unwrap();
    armed.unwrap().finish(&v).unwrap();
}

/// A kill while waiting (on an owned source, a watch, a raw registration) leaves no waiter
/// and no registration behind.
#[test]
fn kills_and_timeouts_leave_nothing_behind() {
    let (a, _b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let src = Rc::new(IoSource::new(a).unwrap());
    let before = registered();
    let s2 = src.clone();
    let gs: Vec<Greenlet<()>> = vec![
        spawn(move || {
            let _ = s2.read_with(None, |mut s| s.read(&mut [0u8; 1]));
        }),
        spawn({
            let s = src.clone();
            move || {
                let w = Registration::watch(s.as_fd()).unwrap();
                let _ = w.wait(Interest::READABLE, None);
            }
        }),
    ];
    sleep(Duration::ZERO);
    assert_eq!(registered(), before + 1, "the watch");
    for g in &gs {
        g.kill();
        assert!(g.get().unwrap_err().is_killed());
    }
    assert_eq!(registered(), before);
    // Nobody waits any more: a new reader is not refused, and times out cleanly.
    let e = src
        .read_with(Some(Duration::from_millis(5)), |mut s| {
            s.read(&mut [0u8; 1])
        })
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert_eq!(e.raw_os_error(), None);
}

/// A registration of an fd the epoll set already holds (a raw registration of a socket an
/// `IoSource` owns, as a hook would make for a `gevent-net` socket's number) registers a `dup`
/// and works beside the owner's.
#[test]
fn a_raw_registration_beside_an_owned_one() {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let src = IoSource::new(a).unwrap();
    // SAFETY: `src` owns the fd and outlives the registration (dropped first, below).
    let raw = unsafe { Registration::from_raw_fd(src.as_raw_fd()) }.unwrap();
    let w = spawn(move || {
        sleep(Duration::from_millis(10));
        (&b).write_all(b"xy").unwrap();
        b
    });
    raw.wait(Interest::READABLE, Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 2];
    let n = src
        .read_with(Some(Duration::from_secs(5)), |mut s| s.read(&mut buf))
        .unwrap();
    assert_eq!(&buf[..n], b"xy");
    drop(raw);
    drop(w);
}

/// What the poller refuses is a clear error, not a hang.
#[test]
fn a_regular_file_cannot_be_registered() {
    let f = std::fs::File::open("/proc/self/status").unwrap();
    let e = Registration::watch(f.as_fd()).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EPERM));
    assert!(IoSource::new(f).is_err());
}
