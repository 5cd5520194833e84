//! How the hub reports a greenlet's panic: once, with the panic's own text (and its location
//! when the panic hook saw it), never the text of an earlier panic that user code caught.
//! gevent's `Hub.handle_error` prints the exception of the greenlet that died of it.

mod support;

use std::fmt;
use std::panic::{self, AssertUnwindSafe};

use gevent_hub::{get_hub, register_payload_display, spawn};
use support::{capture_errors, seen};

/// A panic raised with `resume_unwind` (no hook) after the greenlet caught another panic: the
/// report is the new payload's text, not the caught one's.
#[test]
fn a_caught_panic_does_not_leak_into_the_next_report() {
    let reports = capture_errors();
    let g = spawn(|| -> () {
        let _ = panic::catch_unwind(AssertUnwindSafe(|| panic!("caught and forgotten")));
        panic::resume_unwind(Box::new("raised without the hook"));
    });
    assert!(g.get().unwrap_err().is_panic());
    let reports = seen(&reports);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].message, "raised without the hook");
    get_hub().reset_error_handler();
}

/// A plain panic is reported with its location.
#[test]
fn a_panic_is_reported_with_its_location() {
    let reports = capture_errors();
    let g = spawn(|| -> () { panic!("with a location") });
    assert_eq!(g.get().unwrap_err().message(), "with a location");
    let reports = seen(&reports);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].message.contains("error_report.rs:")
            && reports[0].message.ends_with("with a location"),
        "{reports:?}"
    );
    get_hub().reset_error_handler();
}

/// A payload type registered with `register_payload_display` is reported with its `Display`.
#[test]
fn registered_payload_types_are_shown() {
    #[derive(Debug)]
    struct Deadline(u32);
    impl fmt::Display for Deadline {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "deadline {} passed", self.0)
        }
    }
    register_payload_display::<Deadline>();
    register_payload_display::<Deadline>(); // twice is harmless
    let reports = capture_errors();
    let g = spawn(|| -> () { panic::resume_unwind(Box::new(Deadline(7))) });
    assert_eq!(g.get().unwrap_err().message(), "deadline 7 passed");
    let reports = seen(&reports);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].message, "deadline 7 passed");
    get_hub().reset_error_handler();
}
