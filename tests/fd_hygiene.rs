//! Every call, on every path (success, each error, a barrier that times out), leaves the
//! set of open fds exactly as it found it: whatever the library opens (its socket, the
//! barrier's pipe) it closes before returning.
//!
//! One test in this file: no other test thread opens or closes fds between the two
//! snapshots of /proc/self/fd.

mod common;

use std::collections::BTreeSet;
use std::ffi::{CStr, c_int};
use std::fs;
use std::os::fd::{AsRawFd, RawFd};
use std::ptr;
use std::sync::mpsc;
use std::thread;

use common::{
    Receiver, TempDir, cstring, fd_is_open, is_root, listener, lock_env, sd_notifyf,
    sd_pid_notifyf_with_fds, skip, two_files,
};
use readyd::{
    sd_notify, sd_notify_barrier, sd_pid_notify, sd_pid_notify_barrier, sd_pid_notify_with_fds,
    upstart_ready,
};

/// The open fds of this process. Listing /proc/self/fd opens the directory itself; that
/// entry (a link back to the directory) is left out.
fn open_fds() -> BTreeSet<RawFd> {
    let mut fds = BTreeSet::new();
    for entry in fs::read_dir("/proc/self/fd").expect("list /proc/self/fd") {
        let entry = entry.expect("read /proc/self/fd");
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<RawFd>() else {
            continue;
        };
        let target = fs::read_link(entry.path()).unwrap_or_default();
        if target.ends_with("fd") && target.starts_with("/proc") {
            continue;
        }
        fds.insert(fd);
    }
    fds
}

/// A call to check, where NOTIFY_SOCKET holds `address` (None: unset), with the result it
/// must give (None: depends on the machine, e.g. vsock support).
struct Case<'a> {
    id: &'static str,
    address: Option<String>,
    call: Box<dyn Fn() -> c_int + 'a>,
    expected: Option<c_int>,
}

/// Runs `call` while a supervisor thread reads one message from `rx` and closes its fds,
/// so that a barrier can complete.
fn with_supervisor(rx: &Receiver, call: impl FnOnce() -> c_int) -> c_int {
    thread::scope(|s| {
        let supervisor = s.spawn(|| drop(rx.recv()));
        let r = call();
        supervisor.join().expect("supervisor thread");
        r
    })
}

/// Runs `call` while a supervisor thread reads one message and holds its fds until the
/// call has returned (the barrier times out).
fn with_holding_supervisor(rx: &Receiver, call: impl FnOnce() -> c_int) -> c_int {
    let (done, wait_done) = mpsc::channel::<()>();
    thread::scope(|s| {
        let supervisor = s.spawn(move || {
            let d = rx.recv();
            let _ = wait_done.recv();
            drop(d);
        });
        let r = call();
        done.send(()).expect("supervisor alive");
        supervisor.join().expect("supervisor thread");
        r
    })
}

#[test]
fn no_call_leaks_or_closes_an_fd() {
    let env = lock_env();
    let dir = TempDir::new();
    let rx = Receiver::path();
    let abstract_rx = Receiver::abstract_name();
    let files = two_files(&dir);
    let two = [files[0].as_raw_fd(), files[1].as_raw_fd()];
    let many: Vec<RawFd> = vec![files[0].as_raw_fd(); 253];
    let regular = dir.join("regular");
    fs::write(&regular, b"x").unwrap();
    let stream = dir.join("stream");
    let _stream_listener = listener(&stream, libc::SOCK_STREAM);
    let stale = dir.join("stale");
    drop(std::os::unix::net::UnixDatagram::bind(&stale).unwrap());
    let long_text = cstring("T".repeat(5000));
    let big = cstring(vec![b'b'; 300 * 1024]);
    let huge = cstring(vec![b'h'; 17 << 20]);
    assert!(!fd_is_open(999));

    let path = |p: &std::path::Path| Some(p.to_str().unwrap().to_owned());
    let live = Some(rx.address.clone());
    let notify = |unset: c_int, state: &'static CStr| {
        // SAFETY: a NUL-terminated literal.
        move || unsafe { sd_notify(unset, state.as_ptr()) }
    };

    let mut cases: Vec<Case> = vec![
        Case {
            id: "sent",
            address: live.clone(),
            call: Box::new(notify(0, c"READY=1")),
            expected: Some(1),
        },
        Case {
            id: "sent, unset",
            address: live.clone(),
            call: Box::new(notify(1, c"READY=1")),
            expected: Some(1),
        },
        Case {
            id: "sent to an abstract name",
            address: Some(abstract_rx.address.clone()),
            call: Box::new(notify(0, c"READY=1")),
            expected: Some(1),
        },
        Case {
            id: "unset variable",
            address: None,
            call: Box::new(notify(0, c"READY=1")),
            expected: Some(0),
        },
        Case {
            id: "NULL state",
            address: live.clone(),
            // SAFETY: NULL state must be refused.
            call: Box::new(|| unsafe { sd_notify(0, ptr::null()) }),
            expected: Some(-libc::EINVAL),
        },
        Case {
            id: "254 fds",
            address: live.clone(),
            // SAFETY: the count is refused before any fd is read.
            call: Box::new(|| unsafe {
                sd_pid_notify_with_fds(0, 0, c"X=1".as_ptr(), many.as_ptr(), 254)
            }),
            expected: Some(-libc::E2BIG),
        },
        Case {
            id: "unknown scheme",
            address: Some("relative".into()),
            call: Box::new(notify(1, c"READY=1")),
            expected: Some(-libc::EPROTO),
        },
        Case {
            id: "too short",
            address: Some("@".into()),
            call: Box::new(notify(0, c"READY=1")),
            expected: Some(-libc::EINVAL),
        },
        Case {
            id: "too long",
            address: Some(format!("/{}", "l".repeat(200))),
            call: Box::new(notify(0, c"READY=1")),
            expected: Some(-libc::ENAMETOOLONG),
        },
        Case {
            id: "bad vsock numbers",
            address: Some("vsock:-2:5".into()),
            call: Box::new(notify(0, c"READY=1")),
            expected: Some(-libc::ERANGE),
        },
        Case {
            id: "missing path",
            address: path(&dir.join("absent")),
            call: Box::new(notify(0, c"READY=1")),
            expected: Some(-libc::ENOENT),
        },
        Case {
            id: "not a socket",
            address: path(&regular),
            call: Box::new(notify(0, c"READY=1")),
            expected: Some(-libc::ECONNREFUSED),
        },
        Case {
            id: "stale socket",
            address: path(&stale),
            call: Box::new(notify(0, c"READY=1")),
            expected: Some(-libc::ECONNREFUSED),
        },
        Case {
            id: "stream listener",
            address: path(&stream),
            call: Box::new(notify(0, c"READY=1")),
            expected: Some(-libc::EPROTOTYPE),
        },
        Case {
            id: "vsock, any type",
            address: Some("vsock:1:5".into()),
            call: Box::new(notify(0, c"READY=1")),
            expected: None,
        },
        Case {
            id: "vsock datagram",
            address: Some("vsock-dgram:1:5".into()),
            call: Box::new(notify(0, c"READY=1")),
            expected: None,
        },
        Case {
            id: "two fds",
            address: live.clone(),
            // SAFETY: two ints.
            call: Box::new(|| unsafe {
                sd_pid_notify_with_fds(0, 0, c"FDSTORE=1".as_ptr(), two.as_ptr(), 2)
            }),
            expected: Some(1),
        },
        Case {
            id: "253 fds",
            address: live.clone(),
            // SAFETY: 253 ints.
            call: Box::new(|| unsafe {
                sd_pid_notify_with_fds(0, 0, c"FDSTORE=1".as_ptr(), many.as_ptr(), 253)
            }),
            expected: Some(1),
        },
        Case {
            id: "invalid fd",
            address: live.clone(),
            // SAFETY: two ints.
            call: Box::new(|| unsafe {
                sd_pid_notify_with_fds(0, 0, c"FDSTORE=1".as_ptr(), [two[0], 999].as_ptr(), 2)
            }),
            expected: Some(-libc::EBADF),
        },
        Case {
            id: "invalid fd, refused pid",
            address: live.clone(),
            // SAFETY: one int.
            call: Box::new(|| unsafe {
                sd_pid_notify_with_fds(-5, 0, c"FDSTORE=1".as_ptr(), [999].as_ptr(), 1)
            }),
            expected: Some(-libc::EBADF),
        },
        Case {
            id: "refused pid, retried",
            address: live.clone(),
            // SAFETY: a NUL-terminated literal.
            call: Box::new(|| unsafe { sd_pid_notify(-5, 0, c"READY=1".as_ptr()) }),
            expected: Some(1),
        },
        Case {
            id: "printf, stack buffer",
            address: live.clone(),
            // SAFETY: %d with an int.
            call: Box::new(|| unsafe { sd_notifyf(0, c"READY=%d".as_ptr(), 1 as c_int) }),
            expected: Some(1),
        },
        Case {
            id: "printf, heap buffer",
            address: live.clone(),
            // SAFETY: %s with a NUL-terminated string.
            call: Box::new(|| unsafe { sd_notifyf(0, c"STATUS=%s".as_ptr(), long_text.as_ptr()) }),
            expected: Some(1),
        },
        Case {
            id: "printf with fds, bad address",
            address: Some("x".into()),
            // SAFETY: two ints; no conversions.
            call: Box::new(|| unsafe {
                sd_pid_notifyf_with_fds(0, 0, two.as_ptr(), 2, c"FDSTORE=1".as_ptr())
            }),
            expected: Some(-libc::EPROTO),
        },
        Case {
            id: "bigger than the default send buffer",
            address: live.clone(),
            // SAFETY: a NUL-terminated string.
            call: Box::new(|| unsafe { sd_notify(0, big.as_ptr()) }),
            expected: Some(1),
        },
        Case {
            id: "barrier passed",
            address: live.clone(),
            call: Box::new(|| with_supervisor(&rx, || sd_notify_barrier(0, 5_000_000))),
            expected: Some(1),
        },
        Case {
            id: "barrier passed, unset, no timeout",
            address: live.clone(),
            call: Box::new(|| with_supervisor(&rx, || sd_notify_barrier(1, u64::MAX))),
            expected: Some(1),
        },
        Case {
            id: "barrier timed out, fd held",
            address: live.clone(),
            call: Box::new(|| with_holding_supervisor(&rx, || sd_notify_barrier(0, 20_000))),
            expected: Some(-libc::ETIMEDOUT),
        },
        Case {
            id: "barrier timed out, nobody reading",
            address: live.clone(),
            call: Box::new(|| sd_pid_notify_barrier(-5, 0, 0)),
            expected: Some(-libc::ETIMEDOUT),
        },
        Case {
            id: "barrier, unset variable",
            address: None,
            call: Box::new(|| sd_notify_barrier(0, 0)),
            expected: Some(0),
        },
        Case {
            id: "barrier, send fails",
            address: path(&dir.join("absent")),
            call: Box::new(|| sd_notify_barrier(1, 0)),
            expected: Some(-libc::ENOENT),
        },
        Case {
            id: "barrier, bad address",
            address: Some("relative".into()),
            call: Box::new(|| sd_notify_barrier(0, 0)),
            expected: Some(-libc::EPROTO),
        },
        Case {
            id: "upstart, not under Upstart",
            address: None,
            call: Box::new(|| upstart_ready()),
            expected: Some(0),
        },
    ];
    if is_root() {
        cases.push(Case {
            id: "on behalf of pid 1",
            address: live.clone(),
            // SAFETY: a NUL-terminated literal.
            call: Box::new(|| unsafe { sd_pid_notify(1, 0, c"READY=1".as_ptr()) }),
            expected: Some(1),
        });
        cases.push(Case {
            id: "beyond the forced send buffer",
            address: live.clone(),
            // SAFETY: a NUL-terminated string.
            call: Box::new(|| unsafe { sd_notify(0, huge.as_ptr()) }),
            expected: Some(-libc::EMSGSIZE),
        });
    } else {
        skip("the pid 1 and EMSGSIZE cases need root");
    }

    for case in &cases {
        match &case.address {
            Some(a) => env.set("NOTIFY_SOCKET", a),
            None => env.remove("NOTIFY_SOCKET"),
        }
        let before = open_fds();
        let r = (case.call)();
        // Whatever arrived (and the fds it brought) is dropped before counting again.
        for receiver in [&rx, &abstract_rx] {
            while let Some(d) = receiver.try_recv(0) {
                drop(d);
            }
        }
        let after = open_fds();
        assert_eq!(
            after,
            before,
            "{}: open fds changed (result {r}); new: {:?}, gone: {:?}",
            case.id,
            after.difference(&before).collect::<Vec<_>>(),
            before.difference(&after).collect::<Vec<_>>(),
        );
        if let Some(expected) = case.expected {
            assert_eq!(r, expected, "{}", case.id);
        }
    }
}
