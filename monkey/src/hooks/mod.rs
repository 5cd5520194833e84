//! The interposed libc functions, by family.

pub(crate) mod dns;
pub(crate) mod fd;
pub(crate) mod process;
pub(crate) mod select;
pub(crate) mod socket;
pub(crate) mod time;
