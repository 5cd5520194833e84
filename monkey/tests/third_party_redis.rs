//! The `redis` crate's sync API (std sockets inside) against a real `redis-server`: 20
//! greenlets block in `BLPOP` on their own connections, one pusher releases them all, in one
//! thread, in well under a second.

mod support;

use std::time::{Duration, Instant};

use gevent_hub::{joinall, spawn};

#[test]
fn twenty_greenlets_in_blpop_released_by_one_pusher() {
    gevent_monkey::patch_all().unwrap();
    let (url, _server) = support::redis();
    let key = format!("gevent-monkey-test-{}", std::process::id());
    let client = redis::Client::open(url.as_str()).unwrap();
    let waiters: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            let key = key.clone();
            spawn(move || {
                let mut con = client.get_connection().unwrap();
                let (_, v): (String, String) = redis::cmd("BLPOP")
                    .arg(&key)
                    .arg(0)
                    .query(&mut con)
                    .unwrap();
                v
            })
        })
        .collect();
    // Let every waiter connect and block in BLPOP (the server shows them as blocked).
    let mut admin = client.get_connection().unwrap();
    let t = Instant::now();
    loop {
        let info: String = redis::cmd("INFO").arg("clients").query(&mut admin).unwrap();
        let blocked = info
            .lines()
            .find_map(|l| l.strip_prefix("blocked_clients:"))
            .and_then(|n| n.trim().parse::<u32>().ok())
            .unwrap_or(0);
        if blocked >= 20 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "only {blocked} blocked in BLPOP"
        );
        std::thread::sleep(Duration::from_millis(10)); // cooperative: the waiters run
    }
    let t = Instant::now();
    let pusher = {
        let key = key.clone();
        spawn(move || {
            let mut con = client.get_connection().unwrap();
            for i in 0..20 {
                let _: i64 = redis::cmd("RPUSH")
                    .arg(&key)
                    .arg(i)
                    .query(&mut con)
                    .unwrap();
            }
        })
    };
    pusher.get().unwrap();
    joinall(&waiters);
    let took = t.elapsed();
    let mut got: Vec<u32> = waiters
        .iter()
        .map(|g| g.get().unwrap().parse().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, (0..20).collect::<Vec<_>>());
    eprintln!("redis: 20 greenlets in BLPOP released by one pusher in {took:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
}
