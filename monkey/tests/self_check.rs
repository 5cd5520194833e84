//! `patch_all()` checks that the hooks are what the program calls. In this binary they are.
//! When they are not, it says so instead of silently doing nothing: here the hooks' shared
//! library is loaded by `dlopen` with `RTLD_LOCAL` (Python's `ctypes.CDLL`), too late and too
//! privately to interpose anything, and its constructor's `patch_all()` (`GEVENT_MONKEY=1`)
//! reports that `recv` resolves to libc's.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_hooks_are_in_effect_here() {
    gevent_monkey::patch_all().expect("this binary's own hooks win");
    assert!(gevent_monkey::is_patched("socket"));
}

#[test]
fn hooks_that_do_not_interpose_are_reported() {
    // Build the preload library into this test's target directory.
    let exe = std::env::current_exe().unwrap();
    let profile_dir: PathBuf = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let profile = match profile_dir.file_name().unwrap().to_str().unwrap() {
        "debug" => "dev".to_string(),
        p => p.to_string(),
    };
    let st = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "gevent-monkey-preload",
            "--profile",
            &profile,
        ])
        .arg("--target-dir")
        .arg(profile_dir.parent().unwrap())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(st.success(), "building gevent-monkey-preload failed");
    let lib = profile_dir.join("libgevent_monkey_preload.so");
    let out = Command::new("python3")
        .arg("-c")
        .arg("import ctypes, sys; ctypes.CDLL(sys.argv[1]); print('loaded')")
        .arg(&lib)
        .env("GEVENT_MONKEY", "1")
        .output()
        .expect("python3");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.contains("loaded"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("not patched: gevent-monkey's `recv` is not the one the program calls")
            && stderr.contains("libc.so"),
        "{stderr}"
    );
}
