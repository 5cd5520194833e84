//! libpq (C, through `pq-sys`) against a real PostgreSQL 15: 20 greenlets each run
//! `SELECT pg_sleep(0.2)` on their own connection, in one thread, in about 0.2 s (not 4 s).
//! libpq waits in `poll()` and reads with `recv()`: the hooks make both cooperative, with C
//! frames between the hook and the greenlet's Rust code.

mod support;

use std::ffi::{CStr, CString};
use std::time::{Duration, Instant};

use gevent_hub::{joinall, spawn};

/// A libpq connection, finished on drop.
struct Conn(*mut pq_sys::PGconn);

impl Conn {
    fn open(conninfo: &str) -> Conn {
        let c = CString::new(conninfo).unwrap();
        // SAFETY: a valid C string; libpq returns a connection object (maybe failed).
        let p = unsafe { pq_sys::PQconnectdb(c.as_ptr()) };
        let conn = Conn(p);
        // SAFETY: `p` is libpq's connection object.
        let ok = unsafe { pq_sys::PQstatus(p) } == pq_sys::ConnStatusType::CONNECTION_OK;
        assert!(ok, "cannot connect: {}", conn.error());
        conn
    }

    fn error(&self) -> String {
        // SAFETY: a live connection; libpq's message is a C string owned by it.
        unsafe { CStr::from_ptr(pq_sys::PQerrorMessage(self.0)) }
            .to_string_lossy()
            .into_owned()
    }

    /// Runs `sql`, returning the first column of the first row.
    fn query_one(&self, sql: &str) -> String {
        let q = CString::new(sql).unwrap();
        // SAFETY: a live connection and a valid C string.
        let res = unsafe { pq_sys::PQexec(self.0, q.as_ptr()) };
        // SAFETY: `res` is libpq's result (null only when out of memory).
        let st = unsafe { pq_sys::PQresultStatus(res) };
        assert_eq!(
            st,
            pq_sys::ExecStatusType::PGRES_TUPLES_OK,
            "{}",
            self.error()
        );
        // SAFETY: a result with at least one row and column.
        let v = unsafe { CStr::from_ptr(pq_sys::PQgetvalue(res, 0, 0)) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: freed once.
        unsafe { pq_sys::PQclear(res) };
        v
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // SAFETY: finished once.
        unsafe { pq_sys::PQfinish(self.0) };
    }
}

#[test]
fn twenty_pg_sleeps_overlap() {
    gevent_monkey::patch_all().unwrap();
    let (conninfo, _server) = support::postgres();
    // Connect first (concurrently too), then time the queries alone.
    let conns: Vec<_> = (0..20)
        .map(|_| {
            let ci = conninfo.clone();
            spawn(move || std::rc::Rc::new(Conn::open(&ci)))
        })
        .collect();
    joinall(&conns);
    let conns: Vec<_> = conns.iter().map(|g| g.get().unwrap()).collect();
    let t = Instant::now();
    let queries: Vec<_> = conns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let c = c.clone();
            spawn(move || c.query_one(&format!("SELECT {i} FROM pg_sleep(0.2)")))
        })
        .collect();
    joinall(&queries);
    let took = t.elapsed();
    for (i, q) in queries.iter().enumerate() {
        assert_eq!(q.get().unwrap(), i.to_string());
    }
    eprintln!("libpq: 20 x SELECT pg_sleep(0.2) in {took:?}");
    assert!(took >= Duration::from_millis(200));
    assert!(
        took < Duration::from_secs(1),
        "took {took:?}: the queries did not overlap"
    );
}

#[test]
fn a_kill_reaches_a_greenlet_waiting_inside_libpq() {
    gevent_monkey::patch_all().unwrap();
    let (conninfo, _server) = support::postgres();
    let g = spawn(move || {
        let c = Conn::open(&conninfo);
        let q = CString::new("SELECT pg_sleep(30)").unwrap();
        // SAFETY: a live connection and a valid C string. libpq's poll() fails with
        // ECANCELED when the kill arrives: it returns a failed result.
        let res = unsafe { pq_sys::PQexec(c.0, q.as_ptr()) };
        // SAFETY: as above.
        unsafe { pq_sys::PQclear(res) };
        // The kill is pending: this wait raises it.
        gevent_hub::sleep(Duration::from_secs(30));
        unreachable!("the kill was lost");
    });
    gevent_hub::sleep(Duration::from_millis(300));
    let t = Instant::now();
    g.kill();
    assert!(g.get().unwrap_err().is_killed());
    assert!(t.elapsed() < Duration::from_secs(10));
}
