//! `LISTEN_FDNAMES` (spec §3.2) through the public `sd_listen_fds_with_names`: the split
//! (readyd's `listen::split_names` is private), the escapes, the count check against
//! `LISTEN_FDS`, the malloc'ed array, which fds get close-on-exec, and the unsetting.
//!
//! Input: one control byte, then the value of `LISTEN_FDNAMES` up to the first NUL.
//! Control bits 0-1: `LISTEN_FDS` is the model's name count (0), one more (1), one less
//! (2), or the count with `LISTEN_FDNAMES` unset (3); bit 2: unset_environment.
#![no_main]

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};
use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use readyd_fuzz::model;
use readyd_fuzz::sandbox::{self, ListenFds};

/// fds 3 .. 3+OPEN are open (/dev/null where the fuzzer had nothing).
const OPEN: c_int = 48;

const VARS: [&CStr; 4] = [
    c"LISTEN_PID",
    c"LISTEN_FDS",
    c"LISTEN_FDNAMES",
    c"LISTEN_PIDFDID",
];

fn fds() -> &'static Mutex<ListenFds> {
    static FDS: OnceLock<Mutex<ListenFds>> = OnceLock::new();
    FDS.get_or_init(|| {
        for v in VARS {
            sandbox::set_var(v, None);
        }
        Mutex::new(ListenFds::open(OPEN))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let value = rest.split(|&b| b == 0).next().unwrap_or_default();
    let unset = c_int::from(control & 4 != 0);
    let with_names = control & 3 != 3;
    let model = model::split_fdnames(value);
    let count = model.as_ref().map_or(1, Vec::len) as c_int;
    let mut n = match control & 3 {
        1 => count + 1,
        2 => count - 1,
        _ => count,
    };
    if n > OPEN {
        // Not enough open fds for a real answer; a count mismatch still checks the split.
        n = 1;
    }
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let mut fds = fds().lock().unwrap();
    fds.begin();
    fds.reset();
    let baseline = fds.cloexec();
    sandbox::set_var(c"LISTEN_PID", Some(pid.to_string().as_bytes()));
    sandbox::set_var(c"LISTEN_FDS", Some(n.to_string().as_bytes()));
    sandbox::set_var(c"LISTEN_FDNAMES", with_names.then_some(value));
    let free = sandbox::lowest_free_fd();

    let sentinel = std::ptr::dangling_mut::<*mut c_char>();
    let mut names = sentinel;
    // SAFETY: a valid out-pointer.
    let r = unsafe { readyd::sd_listen_fds_with_names(unset, &mut names) };
    let got_names = (names != sentinel).then(|| {
        // SAFETY: set by the call: a fresh NULL-terminated malloc'ed array.
        unsafe { readyd_fuzz::take_names(names) }
    });
    let cloexec = fds.cloexec();
    let env: Vec<_> = VARS.iter().map(|v| sandbox::get_var(v)).collect();
    let leaked = sandbox::lowest_free_fd() != free;
    fds.restore();
    drop(fds);

    // What the spec says.
    let touched = |k: c_int| -> String {
        baseline
            .chars()
            .enumerate()
            .map(|(i, c)| if (i as c_int) < k && c == 'n' { 'y' } else { c })
            .collect()
    };
    let (want_r, want_names, want_cloexec) = match (&model, with_names) {
        (Err(e), true) => (-e, None, baseline.clone()),
        _ if n <= 0 => (-libc::EINVAL, None, baseline.clone()),
        (Ok(list), true) if list.len() as c_int != n => (-libc::EINVAL, None, touched(n)),
        (Ok(list), true) => (n, Some(list.clone()), touched(n)),
        (_, false) => (n, Some(vec![b"unknown".to_vec(); n as usize]), touched(n)),
    };
    let want_env: Vec<Option<Vec<u8>>> = if unset != 0 {
        vec![None; 4]
    } else {
        vec![
            Some(pid.to_string().into_bytes()),
            Some(n.to_string().into_bytes()),
            with_names.then(|| value.to_vec()),
            None,
        ]
    };
    let case = format!(
        "LISTEN_FDS={n} LISTEN_FDNAMES={} unset={unset}",
        if with_names {
            format!("\"{}\"", value.escape_ascii())
        } else {
            "(unset)".into()
        }
    );
    assert!(!leaked, "{case}: an fd leaked");
    assert_eq!(r, want_r, "{case}: return value");
    assert_eq!(got_names, want_names, "{case}: names");
    assert_eq!(
        cloexec, want_cloexec,
        "{case}: close-on-exec flags of fds 3.."
    );
    assert_eq!(env, want_env, "{case}: environment afterwards");
});
