//! StreamServer: start/stop/close, serve_forever, pools, kills at stop with Drops run,
//! stop_accepting, from_listener, threads with SO_REUSEPORT. Follows gevent's
//! `src/gevent/tests/test__server.py` (start/stop, close leaves handlers, pool full).

use std::cell::Cell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent_net::{TcpListener, TcpStream};
use gevent_server::StreamServer;

/// Sends a line and reads the echo.
fn echo_once(addr: std::net::SocketAddr, msg: &[u8]) -> Vec<u8> {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(msg).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    out
}

/// An echo handler.
fn echo(mut s: TcpStream, _peer: std::net::SocketAddr) {
    let mut buf = [0u8; 1024];
    while let Ok(n @ 1..) = s.read(&mut buf) {
        if s.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

#[test]
fn start_serve_close() {
    let s = StreamServer::new("127.0.0.1:0", echo);
    assert!(!s.started() && !s.closed());
    s.start().unwrap();
    s.start().unwrap(); // idempotent
    assert!(s.started());
    let a = s.local_addr().unwrap();
    assert_eq!(echo_once(a, b"abc"), b"abc");
    s.close();
    assert!(s.closed() && !s.started());
    assert!(TcpStream::connect(a).is_err());
    assert!(s.start().is_err());
}

#[test]
fn serve_forever_returns_after_stop() {
    let s = StreamServer::new("127.0.0.1:0", echo);
    let s2 = s.clone();
    gevent_hub::spawn(move || {
        gevent_hub::sleep(Duration::from_millis(20));
        let a = s2.local_addr().unwrap();
        assert_eq!(echo_once(a, b"x"), b"x");
        s2.stop(None);
    });
    let t = Instant::now();
    s.serve_forever().unwrap();
    assert!(s.closed());
    assert!(t.elapsed() < Duration::from_secs(10));
}

/// Counts drops.
struct Guard(Rc<Cell<u32>>);
impl Drop for Guard {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn stop_kills_handlers_at_the_deadline_and_runs_drops() {
    let dropped = Rc::new(Cell::new(0));
    let d2 = dropped.clone();
    let s = StreamServer::new("127.0.0.1:0", move |_s, _p| {
        let _g = Guard(d2.clone());
        gevent_hub::sleep(Duration::from_secs(60));
    });
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    let clients: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(a).unwrap()).collect();
    gevent_hub::sleep(Duration::from_millis(30));
    assert_eq!(s.handler_count(), 3);
    let t = Instant::now();
    s.stop(Some(Duration::from_millis(50)));
    assert!(t.elapsed() >= Duration::from_millis(50));
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(dropped.get(), 3);
    assert_eq!(s.handler_count(), 0);
    drop(clients);
}

#[test]
fn close_lets_handlers_finish() {
    let s = StreamServer::new("127.0.0.1:0", echo);
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    let mut c = TcpStream::connect(a).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"1").unwrap();
    let mut b = [0u8; 1];
    c.read_exact(&mut b).unwrap();
    s.close();
    c.write_all(b"2").unwrap();
    c.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"2");
    assert_eq!(s.handler_count(), 1);
    drop(c);
    s.stop(None);
}

#[test]
fn pool_caps_concurrent_handlers() {
    let running = Rc::new(Cell::new(0));
    let most = Rc::new(Cell::new(0));
    let (r2, m2) = (running.clone(), most.clone());
    let s = StreamServer::builder("127.0.0.1:0")
        .pool(2)
        .handler(move |mut st: TcpStream, _p| {
            r2.set(r2.get() + 1);
            m2.set(m2.get().max(r2.get()));
            gevent_hub::sleep(Duration::from_millis(20));
            let _ = st.write_all(b"done");
            r2.set(r2.get() - 1);
        })
        .build()
        .unwrap();
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    let gs: Vec<_> = (0..6)
        .map(|_| {
            gevent_hub::spawn(move || {
                let mut c = TcpStream::connect(a).unwrap();
                let mut out = String::new();
                c.read_to_string(&mut out).unwrap();
                out
            })
        })
        .collect();
    for g in &gs {
        assert_eq!(g.get().unwrap(), "done");
    }
    assert_eq!(most.get(), 2);
    s.stop(None);
}

#[test]
fn stop_and_start_accepting() {
    let s = StreamServer::new("127.0.0.1:0", echo);
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    s.stop_accepting();
    gevent_hub::sleep(Duration::from_millis(10));
    // The kernel queues the connection; nobody serves it until accepting resumes.
    let g = gevent_hub::spawn(move || echo_once(a, b"queued"));
    gevent_hub::sleep(Duration::from_millis(50));
    assert!(!g.ready());
    s.start_accepting();
    assert_eq!(g.get().unwrap(), b"queued");
    s.stop(None);
}

#[test]
fn from_listener_and_max_accept() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    let s = StreamServer::from_listener(l, echo);
    s.start().unwrap();
    assert_eq!(echo_once(a, b"given"), b"given");
    s.stop(None);
    let s = StreamServer::builder("127.0.0.1:0")
        .max_accept(1)
        .handler(echo)
        .build()
        .unwrap();
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    let gs: Vec<_> = (0..10)
        .map(|i| gevent_hub::spawn(move || echo_once(a, &[i])))
        .collect();
    for (i, g) in gs.iter().enumerate() {
        assert_eq!(g.get().unwrap(), [i as u8]);
    }
    s.stop(None);
}

#[test]
fn reuse_port_lets_two_servers_share() {
    let s1 = StreamServer::builder("127.0.0.1:0")
        .reuse_port(true)
        .handler(echo)
        .build()
        .unwrap();
    s1.start().unwrap();
    let a = s1.local_addr().unwrap();
    let s2 = StreamServer::builder(a)
        .reuse_port(true)
        .handler(echo)
        .build()
        .unwrap();
    s2.start().unwrap();
    assert_eq!(s2.local_addr().unwrap(), a);
    // Without SO_REUSEPORT the port is taken.
    let s3 = StreamServer::new(a, echo);
    assert!(s3.start().is_err());
    s1.stop(None);
    s2.stop(None);
}

#[test]
fn threads_with_port_zero() {
    let s = StreamServer::builder("127.0.0.1:0")
        .threads(3)
        .handler_factory(|| {
            |mut st: TcpStream, _p| {
                let name = std::thread::current().name().unwrap_or("?").to_string();
                let _ = st.write_all(name.as_bytes());
            }
        })
        .build()
        .unwrap();
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    assert_ne!(a.port(), 0);
    let mut names = std::collections::HashSet::new();
    for _ in 0..60 {
        let mut c = TcpStream::connect(a).unwrap();
        let mut out = String::new();
        c.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("gevent-server-"), "{out}");
        names.insert(out);
    }
    // The kernel spreads connections over the three listeners (by hash of the 4-tuple).
    assert!(names.len() >= 2, "{names:?}");
    let t = Instant::now();
    s.stop(Some(Duration::from_millis(100)));
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(TcpStream::connect(a).is_err());
}

#[test]
fn threads_need_a_factory() {
    let e = StreamServer::builder("127.0.0.1:0")
        .threads(2)
        .handler(echo)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}

thread_local! {
    /// The server of `serve_forever_with_threads_until_stopped`, for the callback.
    static SERVER: std::cell::RefCell<Option<StreamServer>> = const { std::cell::RefCell::new(None) };
}

#[test]
fn serve_forever_with_threads_until_stopped() {
    let s = StreamServer::builder("127.0.0.1:0")
        .threads(2)
        .handler_factory(|| echo)
        .build()
        .unwrap();
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    SERVER.with(|x| *x.borrow_mut() = Some(s.clone()));
    // The stop comes from another thread, through a callback in this hub; meanwhile this
    // thread's hub has nothing of its own to wait for.
    let remote = gevent_hub::get_hub().remote();
    let t = std::thread::spawn(move || {
        let mut c = std::net::TcpStream::connect(a).unwrap();
        c.write_all(b"ping").unwrap();
        let mut b = [0u8; 4];
        c.read_exact(&mut b).unwrap();
        remote.run_callback(|| {
            let s = SERVER.with(|x| x.borrow_mut().take()).unwrap();
            gevent_hub::spawn(move || s.stop(None));
        });
        b
    });
    s.serve_forever().unwrap();
    assert_eq!(&t.join().unwrap(), b"ping");
    assert!(s.closed());
}
