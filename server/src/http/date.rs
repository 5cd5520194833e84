//! The `Date` header, formatted once per second per thread, and the access log's timestamp.

use std::cell::Cell;
use std::time::UNIX_EPOCH;

/// Length of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) const DATE_LEN: usize = 29;

thread_local! {
    /// The second last formatted and its text.
    static CACHE: Cell<(u64, [u8; DATE_LEN])> = const { Cell::new((u64::MAX, [0; DATE_LEN])) };
}

/// Seconds since the epoch now, from the kernel's coarse real-time clock (a vDSO read without
/// the hardware clock; it lags by less than a scheduler tick, which a one-second `Date` does
/// not see).
fn now_secs() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
    u64::try_from(t.tv_sec).unwrap_or(0)
}

/// The current `Date` value.
pub(crate) fn http_date() -> [u8; DATE_LEN] {
    let secs = now_secs();
    CACHE.with(|c| {
        let (at, text) = c.get();
        if at == secs {
            return text;
        }
        let s = httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(secs));
        let mut text = [b' '; DATE_LEN];
        let n = s.len().min(DATE_LEN);
        text[..n].copy_from_slice(&s.as_bytes()[..n]);
        c.set((secs, text));
        text
    })
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) for the access log.
pub(crate) fn log_time() -> String {
    let secs = now_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Howard Hinnant's `civil_from_days`: the date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        let d = http_date();
        assert_eq!(&d[26..], b"GMT");
        assert_eq!(log_time().len(), 19);
    }
}
