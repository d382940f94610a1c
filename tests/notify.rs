//! sd_notify, sd_pid_notify and sd_pid_notify_with_fds against a real receiving socket:
//! return codes, the exact datagram, the sender's credentials, the passed fds and the
//! unset semantics. Case ids (S1, S24, ...) refer to §12.3 of the reference; where 252 and
//! newest differ, the expected value is the newest one.

mod common;

use std::ffi::{CStr, c_int};
use std::fs;
use std::os::fd::{AsRawFd, RawFd};
use std::ptr;

use common::{
    CLAIM_PID_1, Receiver, TempDir, cstring, fd_is_open, file_id, is_root, listener, lock_env,
    nonexistent_pid, own_pid, sd_notifyf, sd_pid_notifyf, sd_pid_notifyf_with_fds, skip,
    skip_unless_root, two_files,
};
use libc::{
    E2BIG, EBADF, ECONNREFUSED, EINVAL, EMSGSIZE, ENAMETOOLONG, ENOENT, EPROTO, EPROTOTYPE,
};
use readyd::{sd_notify, sd_pid_notify, sd_pid_notify_with_fds};

/// Values to pass where a call has more fds than the limit: the library must reject the
/// count before it looks at them.
static MANY_FDS: [c_int; 254] = [0; 254];

/// One call with fixed arguments, as a table row.
struct Row {
    id: &'static str,
    call: fn() -> c_int,
    /// Result when NOTIFY_SOCKET is unset.
    when_unset: c_int,
    /// Result when NOTIFY_SOCKET names a live receiver.
    when_set: c_int,
    /// The datagram the receiver must get when it is set (None: nothing may arrive).
    sent: Option<&'static [u8]>,
}

/// The argument checks come before `NOTIFY_SOCKET` is read, so they give the same error
/// whether it is set or not; well-formed calls give 0 when unset and 1 when set.
fn argument_rows() -> Vec<Row> {
    vec![
        Row {
            id: "S1 sd_notify",
            // SAFETY: a NUL-terminated literal.
            call: || unsafe { sd_notify(0, c"READY=1".as_ptr()) },
            when_unset: 0,
            when_set: 1,
            sent: Some(b"READY=1"),
        },
        Row {
            id: "S2 sd_notify(NULL)",
            // SAFETY: NULL state is allowed and must be refused.
            call: || unsafe { sd_notify(0, ptr::null()) },
            when_unset: -EINVAL,
            when_set: -EINVAL,
            sent: None,
        },
        Row {
            id: "S3 with_fds(NULL fds, 1)",
            // SAFETY: a NULL fds with a count is an argument error the library checks.
            call: || unsafe { sd_pid_notify_with_fds(0, 0, c"X=1".as_ptr(), ptr::null(), 1) },
            when_unset: -EINVAL,
            when_set: -EINVAL,
            sent: None,
        },
        Row {
            id: "S4/S29 with_fds 254 fds",
            // SAFETY: MANY_FDS holds 254 ints.
            call: || unsafe {
                sd_pid_notify_with_fds(0, 0, c"X=1".as_ptr(), MANY_FDS.as_ptr(), 254)
            },
            when_unset: -E2BIG,
            when_set: -E2BIG,
            sent: None,
        },
        Row {
            id: "S4 with_fds u32::MAX fds",
            // SAFETY: the count is refused before any fd is read (reference §4.2 step 2);
            // reading past MANY_FDS would be the library bug this row exists to catch.
            call: || unsafe {
                sd_pid_notify_with_fds(0, 0, c"X=1".as_ptr(), MANY_FDS.as_ptr(), u32::MAX)
            },
            when_unset: -E2BIG,
            when_set: -E2BIG,
            sent: None,
        },
        Row {
            id: "NULL state wins over too many fds",
            // SAFETY: NULL state; MANY_FDS holds 254 ints.
            call: || unsafe { sd_pid_notify_with_fds(0, 0, ptr::null(), MANY_FDS.as_ptr(), 254) },
            when_unset: -EINVAL,
            when_set: -EINVAL,
            sent: None,
        },
        Row {
            id: "NULL fds wins over too many fds",
            // SAFETY: NULL fds with a count is an argument error the library checks.
            call: || unsafe { sd_pid_notify_with_fds(0, 0, c"X=1".as_ptr(), ptr::null(), 254) },
            when_unset: -EINVAL,
            when_set: -EINVAL,
            sent: None,
        },
        Row {
            id: "S26 with_fds(NULL, 0)",
            // SAFETY: NULL fds is allowed with a zero count.
            call: || unsafe { sd_pid_notify_with_fds(0, 0, c"X=1".as_ptr(), ptr::null(), 0) },
            when_unset: 0,
            when_set: 1,
            sent: Some(b"X=1"),
        },
        Row {
            id: "sd_pid_notify(0)",
            // SAFETY: a NUL-terminated literal.
            call: || unsafe { sd_pid_notify(0, 0, c"STATUS=pid zero".as_ptr()) },
            when_unset: 0,
            when_set: 1,
            sent: Some(b"STATUS=pid zero"),
        },
        Row {
            id: "sd_pid_notify(NULL)",
            // SAFETY: NULL state is allowed and must be refused.
            call: || unsafe { sd_pid_notify(0, 0, ptr::null()) },
            when_unset: -EINVAL,
            when_set: -EINVAL,
            sent: None,
        },
        Row {
            id: "S5 sd_notifyf(NULL)",
            // SAFETY: a NULL format is allowed and must be refused.
            call: || unsafe { sd_notifyf(0, ptr::null()) },
            when_unset: -EINVAL,
            when_set: -EINVAL,
            sent: None,
        },
        Row {
            id: "sd_pid_notifyf(NULL)",
            // SAFETY: a NULL format is allowed and must be refused.
            call: || unsafe { sd_pid_notifyf(0, 0, ptr::null()) },
            when_unset: -EINVAL,
            when_set: -EINVAL,
            sent: None,
        },
        Row {
            id: "P1 notifyf_with_fds(NULL fds, 1)",
            // SAFETY: NULL fds with a count; the format matches its argument.
            call: || unsafe {
                sd_pid_notifyf_with_fds(0, 0, ptr::null(), 1, c"X=%d".as_ptr(), 1 as c_int)
            },
            when_unset: -EINVAL,
            when_set: -EINVAL,
            sent: None,
        },
        Row {
            id: "P2 notifyf_with_fds 2^32 fds (SIZE_MAX where size_t is 32 bits)",
            // SAFETY: the count is refused before any fd is read (see "S4 u32::MAX");
            // in particular it must not wrap to 0 in a 32-bit conversion.
            call: || unsafe {
                sd_pid_notifyf_with_fds(
                    0,
                    0,
                    MANY_FDS.as_ptr(),
                    usize::try_from(1u64 << 32).unwrap_or(usize::MAX),
                    c"X=%d".as_ptr(),
                    1 as c_int,
                )
            },
            when_unset: -E2BIG,
            when_set: -E2BIG,
            sent: None,
        },
        Row {
            id: "P2 notifyf_with_fds 254 fds",
            // SAFETY: MANY_FDS holds 254 ints; the format matches its argument.
            call: || unsafe {
                sd_pid_notifyf_with_fds(0, 0, MANY_FDS.as_ptr(), 254, c"X=%d".as_ptr(), 1 as c_int)
            },
            when_unset: -E2BIG,
            when_set: -E2BIG,
            sent: None,
        },
        Row {
            id: "P3 notifyf_with_fds(NULL, 0, NULL format)",
            // SAFETY: NULL fds with no count, NULL format.
            call: || unsafe { sd_pid_notifyf_with_fds(0, 0, ptr::null(), 0, ptr::null()) },
            when_unset: -EINVAL,
            when_set: -EINVAL,
            sent: None,
        },
        Row {
            id: "notifyf_with_fds(NULL, 0)",
            // SAFETY: NULL fds with no count; the format matches its argument.
            call: || unsafe {
                sd_pid_notifyf_with_fds(0, 0, ptr::null(), 0, c"X=%d".as_ptr(), 7 as c_int)
            },
            when_unset: 0,
            when_set: 1,
            sent: Some(b"X=7"),
        },
    ]
}

#[test]
fn argument_checks_with_notify_socket_unset() {
    let env = lock_env();
    for row in argument_rows() {
        let r = (row.call)();
        assert_eq!(r, row.when_unset, "{}", row.id);
        assert!(!env.notify_socket_set(), "{}", row.id);
    }
}

#[test]
fn argument_checks_with_a_live_receiver() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    for row in argument_rows() {
        let r = (row.call)();
        assert_eq!(r, row.when_set, "{}", row.id);
        match row.sent {
            Some(bytes) => {
                let d = rx.recv();
                d.assert_bytes(bytes);
                d.assert_from_self();
                assert!(d.fds.is_empty(), "{}: unexpected fds", row.id);
            }
            None => rx.assert_nothing(),
        }
        assert!(
            env.notify_socket_set(),
            "{}: unset without being asked",
            row.id
        );
    }
}

/// Addresses that cannot be sent to, with the error each gives. The fixtures (files,
/// listeners) live as long as the returned guard.
fn bad_addresses(dir: &TempDir) -> (Vec<(String, String, c_int)>, Vec<std::os::fd::OwnedFd>) {
    let mut rows: Vec<(String, String, c_int)> = Vec::new();
    let mut add = |id: &str, address: String, err: c_int| rows.push((id.into(), address, err));

    // Not a path, an abstract name or vsock: an unknown address family.
    add("S6 empty", String::new(), -EPROTO);
    add("S6 relative", "relative/path".into(), -EPROTO);
    add("S6 one letter", "x".into(), -EPROTO);
    // Too short, too long.
    add("S7 slash", "/".into(), -EINVAL);
    add("S7 at", "@".into(), -EINVAL);
    add(
        "S8 path of 108",
        format!("/{}", "p".repeat(107)),
        -ENAMETOOLONG,
    );
    add(
        "S9 abstract of 108",
        format!("@{}", "a".repeat(107)),
        -EINVAL,
    );
    // Accepted by the parser, refused by the kernel.
    let base = dir.path().to_str().expect("utf-8 temp dir").to_owned();
    let fill = 107 - base.len() - 1;
    add(
        "S10 path of 107, absent",
        format!("{base}/{}", "n".repeat(fill)),
        -ENOENT,
    );
    let name = common::unique_name("readyd-nobody");
    add(
        "S11 abstract of 107, unbound",
        format!("@{name}{}", "u".repeat(106 - name.len())),
        -ECONNREFUSED,
    );
    add(
        "S12 missing dir",
        "/nonexistent-readyd-dir/sock".into(),
        -ENOENT,
    );
    if std::path::Path::new("/etc/passwd").exists() {
        // Connecting needs write permission on the file; only root has it here.
        let err = if is_root() {
            -ECONNREFUSED
        } else {
            -libc::EACCES
        };
        add("S13 /etc/passwd", "/etc/passwd".into(), err);
    }
    let file = dir.join("regular");
    fs::write(&file, b"not a socket").expect("write fixture");
    add(
        "S13 regular file",
        file.to_str().unwrap().into(),
        -ECONNREFUSED,
    );
    let stale = dir.join("stale");
    drop(std::os::unix::net::UnixDatagram::bind(&stale).expect("bind"));
    add(
        "stale socket file",
        stale.to_str().unwrap().into(),
        -ECONNREFUSED,
    );
    let stream = dir.join("stream");
    let seqpacket = dir.join("seqpacket");
    let keep = vec![
        listener(&stream, libc::SOCK_STREAM),
        listener(&seqpacket, libc::SOCK_SEQPACKET),
    ];
    add(
        "S14 stream listener",
        stream.to_str().unwrap().into(),
        -EPROTOTYPE,
    );
    add(
        "S14 seqpacket listener",
        seqpacket.to_str().unwrap().into(),
        -EPROTOTYPE,
    );
    // vsock forms that fail to parse (V1-V3): no socket is created.
    for bad in [
        "vsock:2",
        "vsock:2:",
        "vsock:2:4294967295",
        "vsock:abc:5",
        "vsock::5",
        "vsock:4294967295:5",
        "vsock-dgram::5",
        "vsock:2:5:6",
    ] {
        add("V1", bad.into(), -EINVAL);
    }
    add("V2", "vsock:-1:5".into(), -EINVAL); // "-1" names VMADDR_CID_ANY (newest)
    add("V2", "vsock:-2:5".into(), -libc::ERANGE);
    add("V2", "vsock:4294967296:5".into(), -libc::ERANGE);
    add("V3", "VSOCK:2:3".into(), -EPROTO);
    add("V3", "vsock-foo:2:3".into(), -EPROTO);
    (rows, keep)
}

/// S6-S14, V1-V3 and S31: the error of each bad address; the variable stays unless
/// unset_environment asks for its removal, which happens on error too.
#[test]
fn bad_addresses_give_the_reference_errors_and_honour_unset() {
    let env = lock_env();
    let dir = TempDir::new();
    let (rows, _keep) = bad_addresses(&dir);
    for (id, address, expected) in &rows {
        for unset in [0, 1] {
            env.set("NOTIFY_SOCKET", address);
            // SAFETY: a NUL-terminated literal.
            let r = unsafe { sd_notify(unset, c"READY=1".as_ptr()) };
            assert_eq!(
                r, *expected,
                "{id}: NOTIFY_SOCKET={address:?} unset={unset}"
            );
            assert_eq!(
                env.notify_socket_set(),
                unset == 0,
                "{id}: NOTIFY_SOCKET={address:?} unset={unset}"
            );
        }
    }
}

/// The longest addresses the parser accepts (S10/S11 with someone listening) work.
#[test]
fn longest_path_and_abstract_name_deliver() {
    let env = lock_env();
    let dir = TempDir::new();
    let base = dir.path().to_str().unwrap().to_owned();
    let path = format!("{base}/{}", "r".repeat(107 - base.len() - 1));
    assert_eq!(path.len(), 107);
    let name = common::unique_name("readyd-long");
    let name = format!("{name}{}", "q".repeat(106 - name.len()));
    for rx in [
        Receiver::at_path(std::path::Path::new(&path)),
        Receiver::at_abstract(&name),
    ] {
        assert_eq!(rx.address.len(), 107);
        env.set("NOTIFY_SOCKET", &rx.address);
        // SAFETY: a NUL-terminated literal.
        let r = unsafe { sd_notify(0, c"READY=1".as_ptr()) };
        assert_eq!(r, 1, "{}", rx.address);
        let d = rx.recv();
        d.assert_bytes(b"READY=1");
        d.assert_from_self();
    }
}

/// S15, S16, S18: the receiver gets exactly the bytes of the string, with nothing added,
/// from this process, on a path or an abstract socket.
#[test]
fn payload_is_exactly_the_string() {
    let env = lock_env();
    let cases: [(&str, &CStr); 4] = [
        ("S15", c"READY=1\nSTATUS=x"),
        ("S16 empty", c""),
        ("trailing newline kept", c"READY=1\n"),
        ("binary-ish", c"STATUS=\t\x01\x7f\xc3\xa9 end"),
    ];
    for rx in [Receiver::path(), Receiver::abstract_name()] {
        env.set("NOTIFY_SOCKET", &rx.address);
        for (id, state) in cases {
            // SAFETY: a NUL-terminated literal.
            let r = unsafe { sd_notify(0, state.as_ptr()) };
            assert_eq!(r, 1, "{id} via {}", rx.address);
            let d = rx.recv();
            d.assert_bytes(state.to_bytes());
            d.assert_from_self();
            assert!(d.fds.is_empty());
            rx.assert_nothing();
        }
        assert!(env.notify_socket_set());
    }
    // S15's exact length, spelled out.
    assert_eq!(c"READY=1\nSTATUS=x".to_bytes().len(), 16);
}

/// Several messages arrive as separate datagrams, in order.
#[test]
fn messages_arrive_one_datagram_each_in_order() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let states: [&CStr; 3] = [c"STATUS=starting", c"READY=1", c"STOPPING=1"];
    for s in states {
        // SAFETY: a NUL-terminated literal.
        assert_eq!(unsafe { sd_notify(0, s.as_ptr()) }, 1);
    }
    for s in states {
        rx.recv().assert_bytes(s.to_bytes());
    }
    rx.assert_nothing();
}

/// S30, S32: unset_environment removes the variable on success and on every error, and
/// only when asked.
#[test]
fn unset_environment_on_success_and_on_errors() {
    let env = lock_env();
    let rx = Receiver::path();

    env.set("NOTIFY_SOCKET", &rx.address);
    // SAFETY: a NUL-terminated literal.
    assert_eq!(unsafe { sd_notify(1, c"READY=1".as_ptr()) }, 1, "S30");
    assert!(!env.notify_socket_set(), "S30: NOTIFY_SOCKET kept");
    rx.recv().assert_bytes(b"READY=1");
    // Nothing to send to any more.
    // SAFETY: a NUL-terminated literal.
    assert_eq!(unsafe { sd_notify(1, c"READY=1".as_ptr()) }, 0);
    rx.assert_nothing();

    env.set("NOTIFY_SOCKET", &rx.address);
    // SAFETY: NULL state must be refused.
    let r = unsafe { sd_notify(1, ptr::null()) };
    assert_eq!(r, -EINVAL, "S32 sd_notify");
    assert!(
        !env.notify_socket_set(),
        "S32 sd_notify: NOTIFY_SOCKET kept"
    );

    env.set("NOTIFY_SOCKET", &rx.address);
    // SAFETY: a NULL format must be refused.
    let r = unsafe { sd_notifyf(1, ptr::null()) };
    assert_eq!(r, -EINVAL, "S32 sd_notifyf");
    assert!(
        !env.notify_socket_set(),
        "S32 sd_notifyf: NOTIFY_SOCKET kept"
    );

    env.set("NOTIFY_SOCKET", &rx.address);
    // SAFETY: MANY_FDS holds 254 ints.
    let r = unsafe { sd_pid_notify_with_fds(0, 1, c"X=1".as_ptr(), MANY_FDS.as_ptr(), 254) };
    assert_eq!(r, -E2BIG, "S29 with unset");
    assert!(!env.notify_socket_set(), "S29: NOTIFY_SOCKET kept");

    env.set("NOTIFY_SOCKET", &rx.address);
    let bad = [999];
    assert!(!fd_is_open(999));
    // SAFETY: one int.
    let r = unsafe { sd_pid_notify_with_fds(0, 1, c"X=1".as_ptr(), bad.as_ptr(), 1) };
    assert_eq!(r, -EBADF, "S27 with unset");
    assert!(!env.notify_socket_set(), "S27: NOTIFY_SOCKET kept");

    env.set("NOTIFY_SOCKET", &rx.address);
    // SAFETY: a NUL-terminated literal.
    assert_eq!(unsafe { sd_pid_notify(0, 1, c"A=1".as_ptr()) }, 1);
    assert!(
        !env.notify_socket_set(),
        "sd_pid_notify: NOTIFY_SOCKET kept"
    );
    rx.recv().assert_bytes(b"A=1");
    rx.assert_nothing();
}

/// S19, S21, S23: speaking for oneself, for a pid that does not exist, or for a negative
/// pid (and, without privileges, for pid 1): the message arrives with this process's own
/// credentials (the kernel refuses the claim and the library sends once more without
/// explicit credentials).
#[test]
fn own_pid_seen_unless_privileged_for_another() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let mut cases = vec![
        ("S19 own pid", own_pid()),
        ("S21 nonexistent pid", nonexistent_pid()),
        ("S23 pid -5", -5),
        ("pid i32::MIN", libc::pid_t::MIN),
    ];
    if !is_root() {
        // S22 as it happens without privileges: claiming pid 1 is refused.
        cases.push(("S22 pid 1, unprivileged", 1));
    }
    for (id, pid) in cases {
        // SAFETY: a NUL-terminated literal.
        let r = unsafe { sd_pid_notify(pid, 0, c"READY=1".as_ptr()) };
        assert_eq!(r, 1, "{id}");
        let d = rx.recv();
        d.assert_bytes(b"READY=1");
        d.assert_from_self();
        rx.assert_nothing();
    }
}

/// S20, S25: as root, a message may speak for pid 1, and the receiver sees pid 1 (with and
/// without fds).
#[test]
fn root_may_speak_for_pid_1() {
    if skip_unless_root("S20/S25", CLAIM_PID_1) {
        return;
    }
    let env = lock_env();
    let dir = TempDir::new();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);

    // SAFETY: a NUL-terminated literal.
    let r = unsafe { sd_pid_notify(1, 0, c"MAINPID=1".as_ptr()) };
    assert_eq!(r, 1, "S20");
    let d = rx.recv();
    d.assert_bytes(b"MAINPID=1");
    d.assert_from_pid(1);
    assert!(d.fds.is_empty());

    let files = two_files(&dir);
    let fds = [files[0].as_raw_fd(), files[1].as_raw_fd()];
    // SAFETY: two ints.
    let r = unsafe { sd_pid_notify_with_fds(1, 0, c"FDSTORE=1".as_ptr(), fds.as_ptr(), 2) };
    assert_eq!(r, 1, "S25");
    let d = rx.recv();
    d.assert_bytes(b"FDSTORE=1");
    d.assert_from_pid(1);
    assert_eq!(
        d.fd_ids(),
        vec![file_id(fds[0]), file_id(fds[1])],
        "S25 fds"
    );
    rx.assert_nothing();
}

/// S22: an unprivileged sender may not claim pid 1; the kernel refuses the explicit
/// credentials and the message goes out with the sender's own. Needs root to create the
/// unprivileged child.
#[test]
fn unprivileged_claim_for_pid_1_falls_back_to_own_pid() {
    if !is_root() {
        skip("S22 needs root to switch a child to uid 65534");
        return;
    }
    let env = lock_env();
    // An abstract address: no file permissions for the unprivileged child to trip on.
    let rx = Receiver::abstract_name();
    env.set("NOTIFY_SOCKET", &rx.address);
    // SAFETY: the child only makes async-signal-safe calls (setresgid, setresuid, the
    // library's notify, which neither allocates nor locks, and _exit). The environment
    // lock is held, so no other test thread is inside setenv at the fork.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork");
    if child == 0 {
        // SAFETY: in the child, as above.
        unsafe {
            if libc::setgroups(0, ptr::null()) != 0
                || libc::setresgid(65534, 65534, 65534) != 0
                || libc::setresuid(65534, 65534, 65534) != 0
            {
                libc::_exit(100);
            }
            let r = sd_pid_notify(1, 0, c"READY=1".as_ptr());
            libc::_exit(if r == 1 { 0 } else { 101 });
        }
    }
    let status = wait_exit(child);
    assert_eq!(
        status, 0,
        "child: 100 = could not drop privileges, 101 = notify failed"
    );
    let d = rx.recv();
    d.assert_bytes(b"READY=1");
    let c = d.creds();
    assert_eq!(
        (c.pid, c.uid, c.gid),
        (child, 65534, 65534),
        "S22 credentials"
    );
}

/// S24: two fds arrive, in order, referring to the same files; the caller keeps its own.
#[test]
fn two_fds_are_passed_in_order() {
    let env = lock_env();
    let dir = TempDir::new();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let files = two_files(&dir);
    let fds = [files[1].as_raw_fd(), files[0].as_raw_fd()];
    // SAFETY: two ints.
    let r = unsafe {
        sd_pid_notify_with_fds(0, 0, c"FDSTORE=1\nFDNAME=pair".as_ptr(), fds.as_ptr(), 2)
    };
    assert_eq!(r, 1, "S24");
    let d = rx.recv();
    d.assert_bytes(b"FDSTORE=1\nFDNAME=pair");
    d.assert_from_self();
    assert_eq!(d.fds.len(), 2);
    assert_eq!(d.fd_ids(), vec![file_id(fds[0]), file_id(fds[1])]);
    assert_ne!(d.fd_ids()[0], d.fd_ids()[1]);
    assert!(
        fd_is_open(fds[0]) && fd_is_open(fds[1]),
        "the caller's fds were closed"
    );
    rx.assert_nothing();
}

/// S28: 253 fds, the kernel's maximum, all arrive.
#[test]
fn the_maximum_of_253_fds_is_passed() {
    let env = lock_env();
    let dir = TempDir::new();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let files: Vec<fs::File> = (0..253)
        .map(|i| {
            let p = dir.join(&format!("f{i}"));
            fs::write(&p, b"x").expect("fixture");
            fs::File::open(p).expect("fixture")
        })
        .collect();
    let fds: Vec<RawFd> = files.iter().map(|f| f.as_raw_fd()).collect();
    // SAFETY: fds holds 253 ints.
    let r = unsafe { sd_pid_notify_with_fds(0, 0, c"FDSTORE=1".as_ptr(), fds.as_ptr(), 253) };
    assert_eq!(r, 1, "S28");
    let d = rx.recv();
    d.assert_bytes(b"FDSTORE=1");
    let expected: Vec<(u64, u64)> = fds.iter().map(|&fd| file_id(fd)).collect();
    assert_eq!(d.fds.len(), 253);
    assert_eq!(d.fd_ids(), expected);
}

/// S27: an fd that is not open fails the send with -EBADF and nothing arrives, also when
/// explicit credentials are attached and dropped for the retry.
#[test]
fn invalid_fd_fails_with_ebadf_and_sends_nothing() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    assert!(!fd_is_open(999), "fd 999 must be free for this test");
    let dir = TempDir::new();
    let files = two_files(&dir);
    let cases: [(&str, libc::pid_t, [RawFd; 2]); 3] = [
        ("S27 alone", 0, [999, 999]),
        ("S27 after a good fd", 0, [files[0].as_raw_fd(), 999]),
        ("S27 with a refused pid", -5, [999, files[0].as_raw_fd()]),
    ];
    for (id, pid, fds) in cases {
        // SAFETY: two ints.
        let r = unsafe { sd_pid_notify_with_fds(pid, 0, c"FDSTORE=1".as_ptr(), fds.as_ptr(), 2) };
        assert_eq!(r, -EBADF, "{id}");
        rx.assert_nothing();
    }
    // A count of one looks only at the first fd.
    let fds = [files[0].as_raw_fd(), 999];
    // SAFETY: two ints, of which one is read.
    let r = unsafe { sd_pid_notify_with_fds(0, 0, c"FDSTORE=1".as_ptr(), fds.as_ptr(), 1) };
    assert_eq!(r, 1);
    let d = rx.recv();
    assert_eq!(d.fd_ids(), vec![file_id(fds[0])]);
    rx.assert_nothing();
}

/// A message larger than the default send buffer: the library must grow its buffer and
/// still deliver the exact bytes in one datagram.
#[test]
fn message_larger_than_default_send_buffer_is_delivered() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let default_sndbuf: usize = fs::read_to_string("/proc/sys/net/core/wmem_default")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(212_992);
    let body: String = (0..300 * 1024)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let state = cstring(format!("STATUS={body}\nREADY=1"));
    assert!(state.as_bytes().len() > default_sndbuf);
    // SAFETY: a NUL-terminated string.
    let r = unsafe { sd_notify(0, state.as_ptr()) };
    assert_eq!(r, 1);
    let d = rx.recv();
    d.assert_bytes(state.as_bytes());
    d.assert_from_self();
    rx.assert_nothing();
}

/// S34: a message bigger than even a forced 8 MiB buffer (16 MiB as the kernel counts it)
/// fails with -EMSGSIZE. Only as root is the buffer size known (forced).
#[test]
fn message_beyond_the_forced_buffer_fails_with_emsgsize() {
    if skip_unless_root("S34", "forcing an 8 MiB send buffer") {
        return;
    }
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let state = cstring(vec![b's'; 17 << 20]);
    // SAFETY: a NUL-terminated string.
    let r = unsafe { sd_notify(0, state.as_ptr()) };
    assert_eq!(r, -EMSGSIZE, "S34");
    rx.assert_nothing();
}

/// S33: the send blocks while the receiver's queue is full, and a signal interrupts it
/// with -EINTR (no retry). A forked child sends to a receiver nobody reads, with a
/// repeating timer whose handler does nothing; it reports how many sends succeeded first.
#[test]
fn full_receiver_queue_blocks_until_a_signal() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let qlen: c_int = fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
        .expect("read max_dgram_qlen")
        .trim()
        .parse()
        .expect("parse max_dgram_qlen");
    let mut p = [0 as c_int; 2];
    // SAFETY: room for two fds.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: the child makes only async-signal-safe calls (sigaction, setitimer, the
    // library's notify, write, _exit). The environment lock is held during the fork.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork");
    if child == 0 {
        extern "C" fn ignore(_: c_int) {}
        // SAFETY: in the child, as above; the structures are plain data.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = ignore as *const () as libc::sighandler_t;
            action.sa_flags = 0; // no SA_RESTART: the blocked send must return
            libc::sigaction(libc::SIGALRM, &action, ptr::null_mut());
            let tick = libc::timeval {
                tv_sec: 0,
                tv_usec: 100_000,
            };
            let timer = libc::itimerval {
                it_interval: tick,
                it_value: tick,
            };
            libc::setitimer(libc::ITIMER_REAL, &timer, ptr::null_mut());
            let mut sent: c_int = 0;
            let mut r = 1;
            while r == 1 && sent < 100_000 {
                r = sd_notify(0, c"WATCHDOG=1".as_ptr());
                if r == 1 {
                    sent += 1;
                }
            }
            let report = [sent, r];
            let n = libc::write(p[1], report.as_ptr().cast(), size_of_val(&report));
            libc::_exit(if n == size_of_val(&report) as isize {
                0
            } else {
                99
            });
        }
    }
    // SAFETY: the parent's copy of the write end, not used here.
    unsafe { libc::close(p[1]) };
    assert_eq!(wait_exit(child), 0, "child could not report");
    let mut report = [0 as c_int; 2];
    // SAFETY: reads at most the 8 bytes of report.
    let n = unsafe { libc::read(p[0], report.as_mut_ptr().cast(), size_of_val(&report)) };
    // SAFETY: our read end, closed once.
    unsafe { libc::close(p[0]) };
    assert_eq!(n, 8, "child report");
    assert_eq!(report[1], -libc::EINTR, "S33 result once the queue is full");
    assert_eq!(
        report[0],
        qlen + 1,
        "sends accepted before the queue was full"
    );
    for _ in 0..report[0] {
        rx.recv().assert_bytes(b"WATCHDOG=1");
    }
    rx.assert_nothing();
}

/// Waits (at most 10 s) for a child and returns its exit code; fails if it was killed or
/// had to be.
fn wait_exit(child: libc::pid_t) -> c_int {
    let mut status = 0;
    for _ in 0..1000 {
        // SAFETY: a valid out-pointer; the child is ours.
        let r = unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) };
        if r == child {
            assert!(
                libc::WIFEXITED(status),
                "child did not exit normally: {status:#x}"
            );
            return libc::WEXITSTATUS(status);
        }
        assert_eq!(r, 0, "waitpid");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // SAFETY: our own child, which is stuck.
    unsafe {
        libc::kill(child, libc::SIGKILL);
        libc::waitpid(child, &mut status, 0);
    }
    panic!("child {child} still running after 10 s");
}
