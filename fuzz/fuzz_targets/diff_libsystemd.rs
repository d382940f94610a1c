//! Differential: the same environment handed to readyd and to the system's libsystemd.so.0
//! (dlopen), and the results compared: return values, out-parameters, which fds got
//! close-on-exec, what reached the receiver, which variables remain, with
//! unset_environment 0 and 1, and no fd left behind.
//!
//! Input: NUL-separated records `K=value`; a key not given leaves its variable unset.
//!   W WATCHDOG_USEC    w WATCHDOG_PID    P LISTEN_PID    F LISTEN_FDS
//!   N LISTEN_FDNAMES   I LISTEN_PIDFDID  S NOTIFY_SOCKET M the sd_notify() message
//! In values these bytes stand for things that change from run to run:
//!   \x01 our pid (decimal)   \x02 in hex digits   \x03 in octal digits
//!   \x04 the receiver's socket path   \x05 the receiver's abstract name (after an @)
//!   \x06 our pidfd inode id (decimal; "0" where the kernel has none)
//!
//! The system library is systemd 252; readyd follows the newest upstream. Where the spec
//! (§13) says the two differ, readyd is held to the newest behaviour instead:
//!   * `NOTIFY_SOCKET` neither `/` nor `@`: 252 says -EINVAL, newest -EPROTO or the vsock
//!     parser's verdict (model::notify_address). A well-formed vsock address is not sent to.
//!   * `LISTEN_PIDFDID`: 252 ignores it and never unsets it; newest checks it once
//!     `LISTEN_PID` is ours (a parse error is returned, a different id means "not for us")
//!     and removes it with the other `LISTEN_*` variables.
//!
//! Safety of the sends: the process moves into a network namespace of its own (root), so
//! `@names` reach nothing but the receiver; a `/path` that is a socket other than the
//! receiver's is never sent to. fds 3.. are /dev/null copies (or the fuzzer's own, whose
//! flags are put back).
#![no_main]

use std::ffi::{CStr, CString};
use std::fmt::Write as _;
use std::os::raw::{c_char, c_int};
use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use readyd_fuzz::model;
use readyd_fuzz::reference::{self, Libsystemd};
use readyd_fuzz::sandbox::{self, Datagram, ListenFds, Receiver};

const VARS: [(&CStr, u8); 7] = [
    (c"WATCHDOG_USEC", b'W'),
    (c"WATCHDOG_PID", b'w'),
    (c"LISTEN_PID", b'P'),
    (c"LISTEN_FDS", b'F'),
    (c"LISTEN_FDNAMES", b'N'),
    (c"LISTEN_PIDFDID", b'I'),
    (c"NOTIFY_SOCKET", b'S'),
];
const LISTEN_PID: usize = 2;
const FDNAMES: usize = 4;
const PIDFDID: usize = 5;
const NOTIFY: usize = 6;

/// Longest value kept after substitution.
const MAX_VALUE: usize = 4096;

struct World {
    sd: Libsystemd,
    fds: ListenFds,
    rx: Receiver,
    private_net: bool,
    pid: c_int,
    pidfd_id: Option<u64>,
    /// The fds' close-on-exec flags before any call of the current input.
    fds_baseline: String,
}

/// Our own pidfd's inode id, found here without readyd: pidfd_open, a pidfs check, fstat.
fn own_pidfd_id() -> Option<u64> {
    // SAFETY: plain syscalls on a fresh fd, closed before returning.
    unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) as c_int;
        if fd < 0 {
            return None;
        }
        let mut sfs: libc::statfs = std::mem::zeroed();
        let mut st: libc::stat = std::mem::zeroed();
        let ok = libc::fstatfs(fd, &mut sfs) == 0
            && sfs.f_type == 0x5049_4446
            && libc::fstat(fd, &mut st) == 0;
        libc::close(fd);
        ok.then_some(st.st_ino)
    }
}

fn world() -> &'static Mutex<World> {
    static WORLD: OnceLock<Mutex<World>> = OnceLock::new();
    WORLD.get_or_init(|| {
        for (v, _) in VARS {
            sandbox::set_var(v, None);
        }
        let sd = reference::load().unwrap_or_else(|| {
            panic!("libsystemd.so.0 cannot be loaded (apt-get install libsystemd0)")
        });
        let private_net = sandbox::private_network();
        if !private_net {
            eprintln!(
                "diff_libsystemd: no private network namespace (not root?): abstract \
                 NOTIFY_SOCKET names other than the receiver's are not sent to"
            );
        }
        Mutex::new(World {
            sd,
            fds: ListenFds::open(16),
            rx: Receiver::new("diff"),
            private_net,
            // SAFETY: no preconditions.
            pid: unsafe { libc::getpid() },
            pidfd_id: own_pidfd_id(),
            fds_baseline: String::new(),
        })
    })
}

/// One input: the variables to set and the message.
#[derive(Debug)]
struct Case {
    vars: [Option<Vec<u8>>; 7],
    state: Vec<u8>,
}

fn expand(raw: &[u8], w: &World) -> Vec<u8> {
    let mut v = Vec::new();
    for &b in raw {
        match b {
            1 => v.extend_from_slice(w.pid.to_string().as_bytes()),
            2 => v.extend_from_slice(format!("{:x}", w.pid).as_bytes()),
            3 => v.extend_from_slice(format!("{:o}", w.pid).as_bytes()),
            4 => v.extend_from_slice(&w.rx.path),
            5 => v.extend_from_slice(&w.rx.name),
            6 => v.extend_from_slice(w.pidfd_id.unwrap_or(0).to_string().as_bytes()),
            _ => v.push(b),
        }
        if v.len() > MAX_VALUE {
            v.truncate(MAX_VALUE);
            break;
        }
    }
    v
}

fn parse(data: &[u8], w: &World) -> Case {
    let mut case = Case {
        vars: Default::default(),
        state: b"READY=1".to_vec(),
    };
    for rec in data.split(|&b| b == 0) {
        let [key, b'=', raw @ ..] = rec else {
            continue;
        };
        let value = expand(raw, w);
        if *key == b'M' {
            case.state = value;
        } else if let Some(i) = VARS.iter().position(|(_, k)| k == key) {
            case.vars[i] = Some(value);
        }
    }
    case
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Watchdog,
    WatchdogNull,
    ListenFds,
    ListenNames,
    Notify,
    Barrier,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lib {
    Readyd,
    Reference,
}

/// Everything a call can be seen to do.
#[derive(Clone, PartialEq, Eq)]
struct Outcome {
    r: c_int,
    usec: Option<u64>,
    names: Option<Vec<Vec<u8>>>,
    cloexec: String,
    env: Vec<Option<Vec<u8>>>,
    received: Vec<Datagram>,
    leaked_fd: bool,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "r={}", self.r)?;
        if let Some(u) = self.usec {
            write!(f, " usec={u}")?;
        }
        if let Some(names) = &self.names {
            let shown: Vec<String> = names
                .iter()
                .map(|n| format!("\"{}\"", n.escape_ascii()))
                .collect();
            write!(f, " names=[{}]", shown.join(","))?;
        }
        write!(
            f,
            " cloexec(3..)={} env:",
            self.cloexec.trim_end_matches('-')
        )?;
        for (i, (name, _)) in VARS.iter().enumerate() {
            if let Some(v) = &self.env[i] {
                write!(f, " {}=\"{}\"", name.to_string_lossy(), v.escape_ascii())?;
            }
        }
        for d in &self.received {
            write!(f, " received=\"{}\"+{}fd", d.bytes.escape_ascii(), d.fds)?;
        }
        if self.leaked_fd {
            write!(f, " LEAKED-FD")?;
        }
        Ok(())
    }
}

const USEC_SENTINEL: u64 = 0xdead_beef_0000_0001;

fn run(w: &World, lib: Lib, call: Call, unset: c_int, case: &Case) -> Outcome {
    for (i, (name, _)) in VARS.iter().enumerate() {
        sandbox::set_var(name, case.vars[i].as_deref());
    }
    w.fds.reset();
    w.rx.drain();
    let free = sandbox::lowest_free_fd();
    let state = CString::new(case.state.clone()).expect("NUL-free");
    let mut usec = USEC_SENTINEL;
    let sentinel = std::ptr::dangling_mut::<*mut c_char>();
    let mut names = sentinel;
    let sd = &w.sd;
    // SAFETY: valid pointers for every out-parameter and a NUL-terminated message.
    let r = unsafe {
        match (lib, call) {
            (Lib::Readyd, Call::Watchdog) => readyd::sd_watchdog_enabled(unset, &mut usec),
            (Lib::Reference, Call::Watchdog) => (sd.watchdog_enabled)(unset, &mut usec),
            (Lib::Readyd, Call::WatchdogNull) => {
                readyd::sd_watchdog_enabled(unset, std::ptr::null_mut())
            }
            (Lib::Reference, Call::WatchdogNull) => {
                (sd.watchdog_enabled)(unset, std::ptr::null_mut())
            }
            (Lib::Readyd, Call::ListenFds) => readyd::sd_listen_fds(unset),
            (Lib::Reference, Call::ListenFds) => (sd.listen_fds)(unset),
            (Lib::Readyd, Call::ListenNames) => readyd::sd_listen_fds_with_names(unset, &mut names),
            (Lib::Reference, Call::ListenNames) => (sd.listen_fds_with_names)(unset, &mut names),
            (Lib::Readyd, Call::Notify) => readyd::sd_notify(unset, state.as_ptr()),
            (Lib::Reference, Call::Notify) => (sd.notify)(unset, state.as_ptr()),
            (Lib::Readyd, Call::Barrier) => readyd::sd_notify_barrier(unset, 0),
            (Lib::Reference, Call::Barrier) => (sd.notify_barrier)(unset, 0),
        }
    };
    let names = (names != sentinel).then(|| {
        // SAFETY: the call stored a fresh NULL-terminated malloc'ed array.
        unsafe { readyd_fuzz::take_names(names) }
    });
    let received = w.rx.drain();
    Outcome {
        r,
        usec: (usec != USEC_SENTINEL).then_some(usec),
        names,
        cloexec: w.fds.cloexec(),
        env: VARS.iter().map(|(v, _)| sandbox::get_var(v)).collect(),
        received,
        leaked_fd: sandbox::lowest_free_fd() != free,
    }
}

/// Whether the notify calls may run for this case at all (see the module comment).
fn may_send(w: &World, case: &Case) -> bool {
    match case.vars[NOTIFY].as_deref() {
        None => true,
        Some(v @ [b'/' | b'@', ..]) => sandbox::harmless_unix_target(v, &w.rx, w.private_net),
        Some(v) => model::notify_address(v).is_err(),
    }
}

/// What readyd must do, given what libsystemd 252 did: the same, except for the
/// differences the spec lists in §13.
fn expected(w: &World, call: Call, unset: c_int, case: &Case, reference: &Outcome) -> Outcome {
    let mut e = reference.clone();
    match call {
        Call::Watchdog | Call::WatchdogNull => {}
        Call::ListenFds | Call::ListenNames => {
            let Some(id_text) = case.vars[PIDFDID].as_deref() else {
                return e;
            };
            e.env[PIDFDID] = (unset == 0).then(|| id_text.to_vec());
            let ours = case.vars[LISTEN_PID].as_deref().map(model::parse_pid) == Some(Ok(w.pid));
            let names_split = call != Call::ListenNames
                || case.vars[FDNAMES]
                    .as_deref()
                    .is_none_or(|v| model::split_fdnames(v).is_ok());
            if ours && names_split {
                let not_for_us = match model::safe_atou64(id_text) {
                    Err(errno) => Some(-errno),
                    Ok(id) if w.pidfd_id.is_some_and(|own| own != id) => Some(0),
                    Ok(_) => None,
                };
                if let Some(r) = not_for_us {
                    e.r = r;
                    e.names = None;
                    e.cloexec = w.fds_baseline.clone();
                }
            }
        }
        Call::Notify | Call::Barrier => {
            if let Some(v) = case.vars[NOTIFY].as_deref()
                && !matches!(v.first(), Some(b'/' | b'@'))
            {
                assert_eq!(
                    reference.r,
                    -libc::EINVAL,
                    "libsystemd 252 was expected to reject NOTIFY_SOCKET=\"{}\" with -EINVAL",
                    v.escape_ascii()
                );
                e.r = -model::notify_address(v).expect_err("well-formed vsock is skipped");
            }
        }
    }
    e
}

/// `READYD_FUZZ_TRACE=1`: print every call's outcome (for running single inputs).
fn trace() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("READYD_FUZZ_TRACE").is_some())
}

fn show(case: &Case) -> String {
    let mut s = String::new();
    for (i, (name, _)) in VARS.iter().enumerate() {
        if let Some(v) = &case.vars[i] {
            let _ = write!(s, "{}=\"{}\" ", name.to_string_lossy(), v.escape_ascii());
        }
    }
    let _ = write!(s, "message=\"{}\"", case.state.escape_ascii());
    s
}

fuzz_target!(|data: &[u8]| {
    let mut guard = world().lock().unwrap();
    let w = &mut *guard;
    let case = parse(data, w);
    w.fds.begin();
    w.fds.reset();
    w.fds_baseline = w.fds.cloexec();
    let sending = may_send(w, &case);
    for unset in [0, 1] {
        for call in [
            Call::Watchdog,
            Call::WatchdogNull,
            Call::ListenFds,
            Call::ListenNames,
            Call::Notify,
            Call::Barrier,
        ] {
            if matches!(call, Call::Notify | Call::Barrier) && !sending {
                continue;
            }
            let reference = run(w, Lib::Reference, call, unset, &case);
            let ours = run(w, Lib::Readyd, call, unset, &case);
            let want = expected(w, call, unset, &case, &reference);
            if trace() {
                eprintln!(
                    "{} | {call:?} unset={unset}\n  readyd:     {ours:?}\n  libsystemd: {reference:?}",
                    show(&case)
                );
            }
            if ours != want {
                w.fds.restore();
                panic!(
                    "{call:?}, unset={unset}: readyd differs\n  case:      {}\n  readyd:    \
                     {ours:?}\n  expected:  {want:?}\n  libsystemd 252: {reference:?}",
                    show(&case)
                );
            }
        }
    }
    for (v, _) in VARS {
        sandbox::set_var(v, None);
    }
    w.fds.restore();
});
