//! The request head path: scan for the end of the head (whole, and resumed after every prefix
//! the input's first byte picks), then parse and check it. Nothing may panic; a prefix scan
//! resumed on the whole input must agree with a scan of the whole.
#![no_main]

use gevent_server::http::fuzzing::{parse, scan, HeadLimits, Scan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, data)) = data.split_first() else {
        return;
    };
    let limits = HeadLimits {
        strict_line_endings: first & 1 == 0,
        max_headers: 1 + (first as usize >> 1) % 120,
        ..HeadLimits::default()
    };
    let whole = scan(data, 0, &limits);
    let cut = if data.is_empty() { 0 } else { first as usize % data.len() };
    if let Ok(Scan::Partial(from)) = scan(&data[..cut], 0, &limits) {
        let resumed = scan(data, from, &limits);
        if let (Ok(a), Ok(b)) = (&whole, &resumed) {
            assert_eq!(a, b, "resumed scan differs");
        }
    }
    if let Ok(Scan::Complete(n)) = whole {
        let head = bytes::Bytes::copy_from_slice(&data[..n]);
        if let Ok(h) = parse(head, &limits) {
            // A parsed head is self-consistent.
            assert!(h.headers.len() <= limits.max_headers);
            if h.version == http_version_10() {
                assert!(h.headers.get("transfer-encoding").is_none());
            }
        }
    }
});

fn http_version_10() -> gevent_server::http::fuzzing::Version {
    gevent_server::http::fuzzing::Version::HTTP_10
}
