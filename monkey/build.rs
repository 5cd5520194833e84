//! No build step: the script exists because `links = "gevent_monkey"` needs one. That key makes
//! Cargo refuse two versions of this crate in one program (both would define libc's `recv`,
//! `poll`, ... and only one could win).

fn main() {}
