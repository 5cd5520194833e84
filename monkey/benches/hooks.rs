//! What a hook costs a call that passes through: ns per `recv` on an empty non-blocking socket
//! (it fails with `EAGAIN` at once), called
//!
//! * `libc`: through libc's own `recv` (found with `dlsym(RTLD_NEXT)`): no hook;
//! * `hook_unpatched`: through the hook before `patch_all()`;
//! * `hook_patched_no_hub`: through the hook after `patch_all()`, on a thread without a hub
//!   (outside greenlets: the case the ≤ 5 ns target is about);
//! * `hook_patched_greenlet`: in a greenlet (the main one, of a thread with a hub): the slow
//!   path, which also asks `fcntl(F_GETFL)` whether the caller set `O_NONBLOCK`.
//!
//! Each case runs in alternation with libc's own `recv`, 31 rounds of 200,000 calls;
//! the figures are the fastest round's (the least disturbed on a shared machine), and `added`
//! is the difference to libc's in the same comparison. Run with `cargo bench -p gevent-monkey --bench hooks`.

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Instant;

type Recv = unsafe extern "C" fn(
    libc::c_int,
    *mut libc::c_void,
    libc::size_t,
    libc::c_int,
) -> libc::ssize_t;

/// Calls per round (`HOOKS_BENCH_CALLS` overrides it: a small number to run the program under
/// `valgrind --tool=callgrind` and count instructions instead).
fn calls() -> u32 {
    std::env::var("HOOKS_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

/// Rounds per comparison.
const ROUNDS: usize = 31;

/// ns per call of `f` on `fd` (an empty non-blocking socket), over `CALLS` calls.
fn run(f: Recv, fd: libc::c_int) -> f64 {
    let mut buf = [0u8; 16];
    let n = calls();
    let t = Instant::now();
    for _ in 0..n {
        // SAFETY: a valid fd and buffer.
        let r = unsafe { f(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        assert_eq!(r, -1);
    }
    t.elapsed().as_nanos() as f64 / f64::from(n)
}

/// Runs `a` and `b` in alternation (so that the machine's drift hits both alike): the fastest
/// round's ns per call of each (on a shared machine the minimum is the figure least disturbed
/// by other work), and the difference of the two.
fn compare(a: Recv, b: Recv) -> (f64, f64, f64) {
    let (s, _peer) = UnixStream::pair().unwrap();
    s.set_nonblocking(true).unwrap();
    let fd = s.as_raw_fd();
    let (mut xa, mut xb) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let ta = run(a, fd);
        let tb = run(b, fd);
        xa.push(ta);
        xb.push(tb);
    }
    let (ma, mb) = (min(&xa), min(&xb));
    (ma, mb, mb - ma)
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn main() {
    // SAFETY: a lookup by a valid C string; libc's `recv` has this signature.
    let libc_recv: Recv = unsafe {
        let p = libc::dlsym(libc::RTLD_NEXT, c"recv".as_ptr());
        assert!(!p.is_null());
        std::mem::transmute::<*mut libc::c_void, Recv>(p)
    };
    // The program's `recv`: the hook (`libc::recv` resolves to it).
    let hook: Recv = libc::recv;
    let (base, unpatched, d_unpatched) = compare(libc_recv, hook);
    gevent_monkey::patch_all().unwrap();
    let (base2, no_hub, d_no_hub) = std::thread::spawn(move || compare(libc_recv, hook))
        .join()
        .unwrap();
    // A thread with a hub, in its main greenlet.
    let (base3, in_greenlet, d_greenlet) = std::thread::spawn(move || {
        gevent_hub::sleep(std::time::Duration::ZERO);
        compare(libc_recv, hook)
    })
    .join()
    .unwrap();
    println!("libc\t{:.1}\tns/recv", min(&[base, base2, base3]));
    println!("hook_unpatched\t{unpatched:.1}\tns/recv");
    println!("hook_patched_no_hub\t{no_hub:.1}\tns/recv");
    println!("hook_patched_greenlet\t{in_greenlet:.1}\tns/recv");
    println!("added_unpatched\t{d_unpatched:.1}\tns/recv");
    println!("added_patched_no_hub\t{d_no_hub:.1}\tns/recv");
    println!("added_patched_greenlet\t{d_greenlet:.1}\tns/recv");
}
