use std::time::Duration;
#[test]
fn dbg() {
    let t = std::thread::spawn(|| {
        gevent_hub::spawn(|| gevent_hub::sleep(Duration::from_secs(5)));
        gevent_hub::sleep(Duration::from_millis(1));
        panic!("boom");
    });
    assert!(t.join().is_err());
}
