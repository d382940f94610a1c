//! The printf-style functions of shim.c (sd_notifyf, sd_pid_notifyf,
//! sd_pid_notifyf_with_fds) against a real receiving socket: the formatted text arrives
//! byte for byte, through the stack buffer and through the heap path for long messages.
//! Case ids refer to §12.3 of the reference (S17, P4); the argument errors (S5, P1-P3) are
//! in notify.rs with the other argument checks.

mod common;

use std::ffi::{CStr, c_char, c_int};
use std::os::fd::AsRawFd;
use std::ptr;

use common::{
    CLAIM_PID_1, Receiver, TempDir, cstring, file_id, lock_env, nonexistent_pid, own_pid,
    sd_notifyf, sd_pid_notifyf, sd_pid_notifyf_with_fds, skip_unless_root, two_files,
};

/// S17: integers and strings are formatted; the result is sent without a terminator.
#[test]
fn formats_arguments() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);

    // SAFETY: the format's conversions match the arguments' C types.
    let r = unsafe { sd_notifyf(0, c"READY=%d\nX=%s".as_ptr(), 1 as c_int, c"y".as_ptr()) };
    assert_eq!(r, 1, "S17");
    let d = rx.recv();
    d.assert_bytes(b"READY=1\nX=y");
    d.assert_from_self();

    // SAFETY: as above.
    let r = unsafe {
        sd_notifyf(
            0,
            c"MAINPID=%lu\nSTATUS=%5.1f%% done, %x/%c".as_ptr(),
            4242 as libc::c_ulong,
            99.5f64,
            255 as libc::c_uint,
            b'z' as c_int,
        )
    };
    assert_eq!(r, 1);
    rx.recv()
        .assert_bytes(b"MAINPID=4242\nSTATUS= 99.5% done, ff/z");

    // A format without conversions is sent as is; an empty one gives an empty datagram.
    // SAFETY: no conversions, no arguments.
    assert_eq!(unsafe { sd_notifyf(0, c"WATCHDOG=1".as_ptr()) }, 1);
    rx.recv().assert_bytes(b"WATCHDOG=1");
    // SAFETY: as above.
    assert_eq!(unsafe { sd_notifyf(0, c"".as_ptr()) }, 1);
    rx.recv().assert_bytes(b"");
    rx.assert_nothing();
    assert!(env.notify_socket_set());
}

/// The formatted text goes through a 4 KiB stack buffer and, beyond, through the heap:
/// both sides of that edge, and a message bigger than the default socket send buffer,
/// arrive exactly.
#[test]
fn long_formatted_messages_arrive_exactly() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let prefix = "STATUS=";
    // Total lengths (without the NUL): the buffer holds 4095 characters and the NUL.
    for total in [4094, 4095, 4096, 4097, 5000, 300 * 1024] {
        let body: String = (0..total - prefix.len())
            .map(|i| (b'A' + (i % 23) as u8) as char)
            .collect();
        let arg = cstring(body.as_str());
        // SAFETY: %s with a NUL-terminated string.
        let r = unsafe { sd_notifyf(0, c"STATUS=%s".as_ptr(), arg.as_ptr()) };
        assert_eq!(r, 1, "length {total}");
        let d = rx.recv();
        assert_eq!(d.bytes.len(), total, "length {total}");
        d.assert_bytes(format!("{prefix}{body}").as_bytes());
        d.assert_from_self();
    }
    rx.assert_nothing();
}

/// sd_pid_notifyf speaks for a pid like sd_pid_notify: a pid the kernel refuses falls back
/// to the caller's own credentials.
#[test]
fn pid_notifyf_credentials() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    for pid in [0, own_pid(), -5, nonexistent_pid()] {
        // SAFETY: %d with an int.
        let r = unsafe { sd_pid_notifyf(pid, 0, c"MAINPID=%d".as_ptr(), pid as c_int) };
        assert_eq!(r, 1, "pid {pid}");
        let d = rx.recv();
        d.assert_bytes(format!("MAINPID={pid}").as_bytes());
        d.assert_from_self();
    }
    if !skip_unless_root("sd_pid_notifyf(1)", CLAIM_PID_1) {
        // SAFETY: %d with an int.
        let r = unsafe { sd_pid_notifyf(1, 0, c"MAINPID=%d".as_ptr(), 1 as c_int) };
        assert_eq!(r, 1);
        let d = rx.recv();
        d.assert_bytes(b"MAINPID=1");
        d.assert_from_pid(1);
    }
    rx.assert_nothing();
}

/// P4: formatted text plus two fds: 20 bytes and both fds, in order.
#[test]
fn notifyf_with_fds_sends_text_and_fds() {
    let env = lock_env();
    let dir = TempDir::new();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let files = two_files(&dir);
    let fds = [files[0].as_raw_fd(), files[1].as_raw_fd()];
    // SAFETY: two ints; %s with a NUL-terminated string.
    let r = unsafe {
        sd_pid_notifyf_with_fds(
            0,
            0,
            fds.as_ptr(),
            2,
            c"FDSTORE=1\nFDNAME=%s".as_ptr(),
            c"foo".as_ptr(),
        )
    };
    assert_eq!(r, 1, "P4");
    let d = rx.recv();
    d.assert_bytes(b"FDSTORE=1\nFDNAME=foo");
    assert_eq!(d.bytes.len(), 20);
    d.assert_from_self();
    assert_eq!(d.fd_ids(), vec![file_id(fds[0]), file_id(fds[1])]);

    // An fd that is not open: -EBADF, nothing sent.
    let bad = [fds[0], 999];
    assert!(!common::fd_is_open(999));
    // SAFETY: two ints; no conversions.
    let r = unsafe { sd_pid_notifyf_with_fds(0, 0, bad.as_ptr(), 2, c"FDSTORE=1".as_ptr()) };
    assert_eq!(r, -libc::EBADF);
    rx.assert_nothing();

    if !skip_unless_root("sd_pid_notifyf_with_fds(1)", CLAIM_PID_1) {
        // SAFETY: two ints; %d with an int.
        let r = unsafe {
            sd_pid_notifyf_with_fds(1, 0, fds.as_ptr(), 2, c"MAINPID=%d".as_ptr(), 1 as c_int)
        };
        assert_eq!(r, 1);
        let d = rx.recv();
        d.assert_bytes(b"MAINPID=1");
        d.assert_from_pid(1);
        assert_eq!(d.fd_ids(), vec![file_id(fds[0]), file_id(fds[1])]);
    }
    rx.assert_nothing();
}

/// unset_environment on the printf variants: removed after success and after errors,
/// kept when 0; with the variable unset the result is 0.
#[test]
fn printf_variants_honour_unset_environment() {
    let env = lock_env();
    let rx = Receiver::path();
    type Call = fn(c_int) -> c_int;
    let calls: [(&str, Call, &[u8]); 3] = [
        (
            "sd_notifyf",
            // SAFETY: %s with a NUL-terminated string.
            |u| unsafe { sd_notifyf(u, c"STATUS=%s".as_ptr(), c"a".as_ptr()) },
            b"STATUS=a",
        ),
        (
            "sd_pid_notifyf",
            // SAFETY: %s with a NUL-terminated string.
            |u| unsafe { sd_pid_notifyf(0, u, c"STATUS=%s".as_ptr(), c"b".as_ptr()) },
            b"STATUS=b",
        ),
        (
            "sd_pid_notifyf_with_fds",
            // SAFETY: no fds; %s with a NUL-terminated string.
            |u| unsafe {
                sd_pid_notifyf_with_fds(0, u, ptr::null(), 0, c"STATUS=%s".as_ptr(), c"c".as_ptr())
            },
            b"STATUS=c",
        ),
    ];
    for (id, call, sent) in calls {
        env.set("NOTIFY_SOCKET", &rx.address);
        assert_eq!(call(0), 1, "{id}");
        assert!(env.notify_socket_set(), "{id}: removed with unset=0");
        rx.recv().assert_bytes(sent);

        assert_eq!(call(1), 1, "{id}");
        assert!(!env.notify_socket_set(), "{id}: kept with unset=1");
        rx.recv().assert_bytes(sent);

        assert_eq!(call(1), 0, "{id} with the variable gone");
        rx.assert_nothing();

        env.set("NOTIFY_SOCKET", "relative");
        assert_eq!(call(1), -libc::EPROTO, "{id} with a bad address");
        assert!(!env.notify_socket_set(), "{id}: kept after an error");
    }
    let null_format: *const c_char = ptr::null();
    env.set("NOTIFY_SOCKET", &rx.address);
    // SAFETY: NULL fds with no count; a NULL format must be refused.
    let r = unsafe { sd_pid_notifyf_with_fds(0, 1, ptr::null(), 0, null_format) };
    assert_eq!(r, -libc::EINVAL);
    assert!(!env.notify_socket_set(), "P3 with unset: kept");
    env.set("NOTIFY_SOCKET", &rx.address);
    // SAFETY: as above.
    let r = unsafe { sd_pid_notifyf(0, 1, null_format) };
    assert_eq!(r, -libc::EINVAL);
    assert!(
        !env.notify_socket_set(),
        "sd_pid_notifyf(NULL) with unset: kept"
    );
    rx.assert_nothing();
}

/// Several arguments around a long one: past the stack buffer the shim formats the whole
/// argument list a second time, and every argument must still come out right.
#[test]
fn heap_path_formats_every_argument() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let long = cstring("L".repeat(5000));
    let fmt: &CStr = c"A=%d\nB=%s\nC=%s\nD=%u";
    // SAFETY: the conversions match the arguments' C types.
    let r = unsafe {
        sd_notifyf(
            0,
            fmt.as_ptr(),
            -7 as c_int,
            long.as_ptr(),
            c"tail".as_ptr(),
            3_000_000_000u32 as libc::c_uint,
        )
    };
    assert_eq!(r, 1);
    let expected = format!("A=-7\nB={}\nC=tail\nD=3000000000", "L".repeat(5000));
    rx.recv().assert_bytes(expected.as_bytes());
    rx.assert_nothing();
}
