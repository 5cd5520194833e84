//! `ureq` (a blocking HTTP client on std sockets) against a slow local server: 20 GETs in
//! greenlets overlap.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use gevent_hub::{joinall, spawn};

#[test]
fn twenty_gets_against_a_slow_server_overlap() {
    gevent_monkey::patch_all().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    spawn(move || {
        // Ends with ECANCELED when the thread's teardown kills it.
        for conn in listener.incoming() {
            let Ok(conn) = conn else { break };
            spawn(move || {
                let mut r = BufReader::new(conn);
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                let path = line.split(' ').nth(1).unwrap().to_string();
                while r.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                std::thread::sleep(Duration::from_millis(200));
                let body = format!("slow {path}");
                write!(
                    r.into_inner(),
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
            });
        }
    });
    let t = Instant::now();
    let gets: Vec<_> = (0..20)
        .map(|i| {
            spawn(move || {
                let mut resp = ureq::get(&format!("http://{addr}/{i}")).call().unwrap();
                resp.body_mut().read_to_string().unwrap()
            })
        })
        .collect();
    joinall(&gets);
    let took = t.elapsed();
    for (i, g) in gets.iter().enumerate() {
        assert_eq!(g.get().unwrap(), format!("slow /{i}"));
    }
    eprintln!("ureq: 20 GETs against a 200 ms server in {took:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
}
