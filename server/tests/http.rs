//! The HTTP/1.1 server's behaviour: keep-alive, pipelining, bodies, Expect, HEAD/204/304,
//! panics, stop, timeouts, limits, the access log. Several cases follow gevent's
//! `src/gevent/tests/test__pywsgi.py` (pipelining, connection close, 100-continue, 304/204
//! bodies, chunked input and trailers).

mod support;

use std::cell::Cell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gevent_server::http::{AccessLog, Body, HttpBuilder, HttpServer};
use http::{Request, Response, StatusCode};
use support::{one, Client};

/// The test application.
fn app(mut req: Request<Body>) -> Response<Body> {
    let path = req.uri().path().to_string();
    match path.as_str() {
        "/echo" => {
            let mut body = Vec::new();
            req.body_mut().read_to_end(&mut body).unwrap_or_default();
            let trailers = req.body().trailers().map_or(0, |t| t.len());
            let mut r = Response::new(Body::from(body));
            r.headers_mut()
                .insert("x-trailers", trailers.to_string().parse().unwrap());
            r
        }
        "/echo-stream" => {
            let body = std::mem::take(req.body_mut());
            Response::new(Body::reader(body))
        }
        "/panic" => panic!("handler panic (expected by the test)"),
        "/sleep" => {
            gevent_hub::sleep(Duration::from_secs(60));
            Response::new(Body::from("late"))
        }
        "/big" => Response::new(Body::stream(|w| {
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..1024 {
                w.write_all(&chunk)?;
            }
            Ok(())
        })),
        "/stream" => Response::new(Body::stream(|w| {
            w.write_all(b"one,")?;
            w.write_all(b"two,")?;
            w.write_all(b"three")
        })),
        "/reader" => Response::new(Body::reader(std::io::Cursor::new(
            b"from a reader".to_vec(),
        ))),
        "/sized" => Response::new(Body::sized(5, std::io::Cursor::new(b"12345678".to_vec()))),
        "/204" => {
            let mut r = Response::new(Body::from("must not be sent"));
            *r.status_mut() = StatusCode::NO_CONTENT;
            r
        }
        "/304" => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        }
        "/close" => {
            let mut r = Response::new(Body::from("bye"));
            r.headers_mut()
                .insert("connection", "close".parse().unwrap());
            r
        }
        "/info" => {
            let info = req.body().conn_info().unwrap();
            Response::new(Body::from(info.peer_addr.to_string()))
        }
        _ => Response::new(Body::from(format!("hello {path}"))),
    }
}

/// A started server running `app`, configured by `f`.
fn server(f: impl FnOnce(HttpBuilder) -> HttpBuilder) -> (HttpServer, std::net::SocketAddr) {
    let b = HttpServer::builder("127.0.0.1:0").access_log(AccessLog::Off);
    let s = f(b).handler(app).build().unwrap();
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    (s, a)
}

#[test]
fn get_keep_alive_and_date() {
    let (s, a) = server(|b| b);
    let mut c = Client::connect(a);
    for i in 0..3 {
        c.send(format!("GET /r{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        let r = c.response().unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), format!("hello /r{i}"));
        assert_eq!(
            r.header("content-length"),
            Some(&*format!("hello /r{i}").len().to_string())
        );
        assert!(r.header("date").unwrap().ends_with(" GMT"));
        assert!(r.header("connection").is_none());
    }
    s.stop(None);
}

#[test]
fn pipelined_responses_in_order_in_one_write() {
    let (s, a) = server(|b| b);
    let mut c = Client::connect(a);
    let mut reqs = Vec::new();
    for i in 0..16 {
        reqs.extend_from_slice(format!("GET /p{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    }
    c.send(&reqs);
    // All 16 answers arrive together: the first read sees them all.
    gevent_hub::sleep(Duration::from_millis(50));
    let mut first = vec![0u8; 1 << 16];
    let n = c.s.read(&mut first).unwrap();
    let text = String::from_utf8_lossy(&first[..n]);
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 16, "{text}");
    let mut last = 0;
    for i in 0..16 {
        let at = text.find(&format!("hello /p{i}")).unwrap();
        assert!(at > last);
        last = at;
    }
    s.stop(None);
}

#[test]
fn http10_close_and_keep_alive() {
    let (s, a) = server(|b| b);
    let mut c = Client::connect(a);
    c.send(b"GET / HTTP/1.0\r\n\r\n");
    let r = c.response().unwrap();
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.is_closed());
    let mut c = Client::connect(a);
    c.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.response().unwrap();
    assert_eq!(r.header("connection"), Some("keep-alive"));
    c.send(b"GET /again HTTP/1.0\r\n\r\n");
    assert_eq!(c.response().unwrap().text(), "hello /again");
    // A streamed body on 1.0: delimited by the close.
    let mut c = Client::connect(a);
    c.send(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.response().unwrap();
    assert_eq!(r.text(), "one,two,three");
    assert!(r.header("transfer-encoding").is_none());
    s.stop(None);
}

#[test]
fn connection_close_from_client_and_handler() {
    let (s, a) = server(|b| b);
    let mut c = Client::connect(a);
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.response().unwrap();
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.response().is_none());
    let mut c = Client::connect(a);
    c.send(b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response().unwrap().header("connection"), Some("close"));
    assert!(c.is_closed());
    s.stop(None);
}

#[test]
fn bodies_out_streamed_reader_sized() {
    let (s, a) = server(|b| b);
    let mut c = Client::connect(a);
    c.send(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.response().unwrap();
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.text(), "one,two,three");
    c.send(b"GET /reader HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response().unwrap().text(), "from a reader");
    c.send(b"GET /sized HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.response().unwrap();
    assert_eq!(
        (r.header("content-length"), r.text().as_str()),
        (Some("5"), "12345")
    );
    s.stop(None);
}

#[test]
fn head_204_304_have_no_body() {
    let (s, a) = server(|b| b);
    let mut c = Client::connect(a);
    c.send(b"HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.response_to("HEAD").unwrap();
    assert_eq!(r.header("content-length"), Some("8"));
    c.send(b"GET /204 HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.response().unwrap();
    assert_eq!(r.status, 204);
    assert!(r.header("content-length").is_none());
    c.send(b"GET /304 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response().unwrap().status, 304);
    // Nothing stray follows: the next response parses.
    c.send(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response().unwrap().text(), "hello /after");
    s.stop(None);
}

#[test]
fn request_bodies_length_chunked_trailers_echo() {
    let (s, a) = server(|b| b);
    let mut c = Client::connect(a);
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    assert_eq!(c.response().unwrap().text(), "hello");
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Sum: 5\r\nX-More: y\r\n\r\n");
    let r = c.response().unwrap();
    assert_eq!(
        (r.text().as_str(), r.header("x-trailers")),
        ("abcde", Some("2"))
    );
    c.send(b"POST /echo-stream HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd");
    assert_eq!(c.response().unwrap().text(), "abcd");
    // A big body through the socket in several reads.
    let big = vec![b'z'; 300_000];
    c.send(
        format!(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            big.len()
        )
        .as_bytes(),
    );
    c.send(&big);
    assert_eq!(c.response().unwrap().body.len(), big.len());
    s.stop(None);
}

#[test]
fn unread_bodies_small_drained_large_closes() {
    let (s, a) = server(|b| b.drain_limit(1000));
    let mut c = Client::connect(a);
    c.send(b"POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response().unwrap().text(), "hello /ignore");
    assert_eq!(c.response().unwrap().text(), "hello /next");
    c.send(b"POST /ignore HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\nGET /n2 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response().unwrap().text(), "hello /ignore");
    assert_eq!(c.response().unwrap().text(), "hello /n2");
    c.send(b"POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
    let r = c.response().unwrap();
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.is_closed());
    s.stop(None);
}

#[test]
fn expect_100_continue_only_when_read() {
    let (s, a) = server(|b| b);
    let mut c = Client::connect(a);
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    let r = c.response().unwrap();
    assert_eq!(r.status, 100);
    c.send(b"abc");
    assert_eq!(c.response().unwrap().text(), "abc");
    // Not read: no 100, a final answer, and the connection closes.
    let mut c = Client::connect(a);
    c.send(
        b"POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
    );
    let r = c.response().unwrap();
    assert_eq!((r.status, r.header("connection")), (200, Some("close")));
    // An unknown expectation: 417.
    let r = one(
        a,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: magic\r\n\r\nx",
    )
    .unwrap();
    assert_eq!(r.status, 417);
    s.stop(None);
}

#[test]
fn handler_panic_is_500_and_close() {
    let (s, a) = server(|b| b);
    let mut c = Client::connect(a);
    c.send(b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.response().unwrap();
    assert_eq!((r.status, r.header("connection")), (500, Some("close")));
    assert_eq!(r.text(), "Internal Server Error");
    assert!(c.is_closed());
    // The server goes on.
    assert_eq!(
        one(a, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap().status,
        200
    );
    s.stop(None);
}

#[test]
fn stop_kills_without_500_and_closes_idle() {
    let (s, a) = server(|b| b);
    let mut busy = Client::connect(a);
    busy.send(b"GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut idle = Client::connect(a);
    idle.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(idle.response().unwrap().status, 200);
    gevent_hub::sleep(Duration::from_millis(20));
    let t = Instant::now();
    s.stop(Some(Duration::from_millis(100)));
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(idle.is_closed());
    // The killed handler produced no response at all.
    assert!(busy.read_to_end().is_empty());
    assert!(s.closed());
}

#[test]
fn stop_answers_in_flight_with_close() {
    let (s, a) = server(|b| b);
    let mut c = Client::connect(a);
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\na");
    gevent_hub::sleep(Duration::from_millis(20));
    let s2 = s.clone();
    let stopper = gevent_hub::spawn(move || s2.stop(Some(Duration::from_secs(5))));
    gevent_hub::sleep(Duration::from_millis(20));
    c.send(b"b");
    let r = c.response().unwrap();
    assert_eq!(
        (r.text().as_str(), r.header("connection")),
        ("ab", Some("close"))
    );
    stopper.join();
}

#[test]
fn idle_timeout_closes() {
    let (s, a) = server(|b| b.keep_alive_timeout(Duration::from_millis(100)));
    let mut c = Client::connect(a);
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.response().unwrap();
    let t = Instant::now();
    assert!(c.is_closed());
    assert!(t.elapsed() < Duration::from_secs(5));
    s.stop(None);
}

#[test]
fn idle_timeout_never_early() {
    // Deadlines are coarse (a sweeper), but never shorter than asked.
    let (s, a) = server(|b| b.keep_alive_timeout(Duration::from_millis(400)));
    let mut c = Client::connect(a);
    for _ in 0..3 {
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(c.response().unwrap().status, 200);
        gevent_hub::sleep(Duration::from_millis(100));
    }
    s.stop(None);
}

#[test]
fn write_timeout_drops_a_client_that_does_not_read() {
    let (s, a) = server(|b| b.write_timeout(Some(Duration::from_millis(200))));
    let mut stuck = Client::connect(a);
    stuck.send(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    // Others are served meanwhile.
    let mut other = Client::connect(a);
    other.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(other.response().unwrap().status, 200);
    drop(other);
    let t = Instant::now();
    while s.stream_server().handler_count() > 0 {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the stuck connection was not dropped"
        );
        gevent_hub::sleep(Duration::from_millis(10));
    }
    drop(stuck);
    s.stop(None);
}

#[test]
fn nothing_left_in_the_hub_after_stop() {
    // The deadline sweeper does not keep the loop alive once the connections are gone.
    let (s, a) = server(|b| b.keep_alive_timeout(Duration::from_secs(30)));
    let mut c = Client::connect(a);
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response().unwrap().status, 200);
    s.stop(None);
    assert!(c.is_closed());
    drop(c);
    drop(s);
    let t = Instant::now();
    assert!(gevent_hub::get_hub().join(Some(Duration::from_secs(5))));
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn slowloris_head_deadline_408() {
    let (s, a) = server(|b| b.header_read_timeout(Duration::from_millis(300)));
    let mut c = Client::connect(a);
    let t = Instant::now();
    let req = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut got = None;
    for b in req.iter() {
        if c.s.write_all(std::slice::from_ref(b)).is_err() {
            break;
        }
        gevent_hub::sleep(Duration::from_millis(20));
        if t.elapsed() > Duration::from_millis(600) {
            got = c.response();
            break;
        }
    }
    let r = got.expect("a 408 before the head completes");
    assert_eq!(r.status, 408);
    assert!(t.elapsed() < Duration::from_secs(5));
    s.stop(None);
}

#[test]
fn body_timeout_408() {
    let (s, a) = server(|b| b.body_read_timeout(Some(Duration::from_millis(100))));
    let mut c = Client::connect(a);
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    let r = c.response().unwrap();
    assert_eq!(r.status, 408);
    s.stop(None);
}

#[test]
fn limits_413_414_431() {
    let (s, a) = server(|b| {
        b.max_body(Some(10))
            .max_headers(5)
            .max_request_line(100)
            .max_head_bytes(1000)
    });
    let r = one(
        a,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n01234567890",
    )
    .unwrap();
    assert_eq!(r.status, 413);
    let r = one(a, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n8\r\n01234567\r\n0\r\n\r\n").unwrap();
    assert_eq!(r.status, 413);
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(200));
    assert_eq!(one(a, long.as_bytes()).unwrap().status, 414);
    let long = format!("GET /{}", "a".repeat(200)); // no newline yet
    assert_eq!(one(a, long.as_bytes()).unwrap().status, 414);
    let many = format!("GET / HTTP/1.1\r\nHost: x\r\n{}\r\n", "A: b\r\n".repeat(6));
    assert_eq!(one(a, many.as_bytes()).unwrap().status, 431);
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nA: {}\r\n\r\n",
        "b".repeat(2000)
    );
    assert_eq!(one(a, big.as_bytes()).unwrap().status, 431);
    s.stop(None);
}

#[test]
fn access_log_in_gevents_format() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l2 = lines.clone();
    let (s, a) = server(move |b| {
        b.access_log(AccessLog::Custom(Arc::new(move |r| {
            l2.lock().unwrap().push(r.to_string())
        })))
    });
    one(a, b"GET /logged?q=1 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    gevent_hub::sleep(Duration::from_millis(10));
    let lines = lines.lock().unwrap();
    let line = &lines[0];
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
    assert!(
        line.contains("] \"GET /logged?q=1 HTTP/1.1\" 200 13 0."),
        "{line}"
    );
    s.stop(None);
}

#[test]
fn conn_info_and_server_header() {
    let (s, a) = server(|b| b.server_header(Some("gevent-rs")));
    let mut c = Client::connect(a);
    c.send(b"GET /info HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.response().unwrap();
    assert_eq!(r.text(), c.s.local_addr().unwrap().to_string());
    assert_eq!(r.header("server"), Some("gevent-rs"));
    s.stop(None);
}

#[test]
fn threads_share_the_port() {
    let s = HttpServer::builder("127.0.0.1:0")
        .access_log(AccessLog::Off)
        .threads(2)
        .handler_factory(|| {
            |_r: Request<Body>| {
                Response::new(Body::from(format!("{:?}", std::thread::current().name())))
            }
        })
        .build()
        .unwrap();
    s.start().unwrap();
    let a = s.local_addr().unwrap();
    let seen = Rc::new(Cell::new(0));
    let mut names = std::collections::HashSet::new();
    for _ in 0..40 {
        let r = one(a, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        names.insert(r.text());
        seen.set(seen.get() + 1);
    }
    assert!(
        names.iter().all(|n| n.contains("gevent-server-")),
        "{names:?}"
    );
    s.stop(None);
    assert!(s.closed());
}
