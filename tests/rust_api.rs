//! The safe Rust API (`readyd::notify`, ...) against a real receiving socket, as the C
//! API is tested: exact bytes, credentials, passed fds, the barrier, refused states (and
//! nothing sent for them), socket-activation fds owned once with the variables removed,
//! the watchdog variables; then the same calls through the API and through the C exports,
//! which must give identical datagrams.

#![cfg(feature = "std")]

mod common;

use std::ffi::{CString, c_int};
use std::io::{self, ErrorKind, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Duration;

use common::{
    Datagram, Receiver, TempDir, fd_is_open, file_id, lock_env, nonexistent_pid, own_pid, two_files,
};
use readyd::{InvalidState, State, Supervisor};

/// Every field the API knows, one of each, and the bytes they must give.
fn every_state() -> (Vec<State<'static>>, &'static [u8]) {
    (
        vec![
            State::Ready,
            State::Reloading,
            State::Stopping,
            State::Status("serving: 3 workers"),
            State::Errno(5),
            State::BusError("org.freedesktop.DBus.Error.Failed"),
            State::MainPid(4242),
            State::MonotonicUsec(123_456_789),
            State::Watchdog,
            State::WatchdogTrigger,
            State::WatchdogUsec(30_000_000),
            State::ExtendTimeoutUsec(u64::MAX),
            State::FdStore,
            State::FdStoreRemove,
            State::FdName("http-listener"),
            State::FdPollDisable,
            State::Custom("X_READYD=custom value = with equals"),
        ],
        b"READY=1\nRELOADING=1\nSTOPPING=1\nSTATUS=serving: 3 workers\nERRNO=5\n\
BUSERROR=org.freedesktop.DBus.Error.Failed\nMAINPID=4242\nMONOTONIC_USEC=123456789\n\
WATCHDOG=1\nWATCHDOG=trigger\nWATCHDOG_USEC=30000000\nEXTEND_TIMEOUT_USEC=18446744073709551615\n\
FDSTORE=1\nFDSTOREREMOVE=1\nFDNAME=http-listener\nFDPOLL=0\nX_READYD=custom value = with equals",
    )
}

#[test]
fn notify_sends_exactly_the_fields_joined_by_newlines() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    assert!(readyd::notify(&[State::Ready]).expect("notify"));
    let d = rx.recv();
    d.assert_bytes(b"READY=1");
    d.assert_from_self();
    assert!(d.fds.is_empty());

    let (states, bytes) = every_state();
    assert!(readyd::notify(&states).expect("notify every state"));
    rx.recv().assert_bytes(bytes);

    assert!(readyd::notify_str("READY=1\nSTATUS=raw\n").expect("notify_str"));
    rx.recv().assert_bytes(b"READY=1\nSTATUS=raw\n");
    // The API never touches NOTIFY_SOCKET.
    assert_eq!(
        env.get("NOTIFY_SOCKET").as_deref(),
        Some(rx.address.as_ref())
    );
    rx.assert_nothing();
}

#[test]
fn abstract_addresses_deliver() {
    let env = lock_env();
    let rx = Receiver::abstract_name();
    env.set("NOTIFY_SOCKET", &rx.address);
    assert!(readyd::notify(&[State::Status("abstract")]).expect("notify"));
    let d = rx.recv();
    d.assert_bytes(b"STATUS=abstract");
    d.assert_from_self();
}

#[test]
fn without_notify_socket_nothing_is_sent_and_that_is_not_an_error() {
    let _env = lock_env();
    assert!(!readyd::notify(&[State::Ready]).expect("notify"));
    assert!(!readyd::notify_str("READY=1").expect("notify_str"));
    assert!(!readyd::barrier(Duration::from_secs(5)).expect("barrier"));
    assert!(!readyd::stopping().expect("stopping"));
    assert!(!readyd::reloading().expect("reloading"));
    assert!(!readyd::mainpid(1).expect("mainpid"));
    assert_eq!(readyd::ready().expect("ready"), None);
}

/// The invalid state of an error, if it holds one.
fn why(e: &io::Error) -> Option<InvalidState> {
    e.get_ref()?.downcast_ref::<InvalidState>().copied()
}

#[test]
fn a_newline_or_nul_inside_a_value_is_refused_and_nothing_is_sent() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let cases: [(State<'_>, InvalidState); 11] = [
        (
            State::Status("ok\nMAINPID=1"),
            InvalidState::Newline { key: "STATUS" },
        ),
        (
            State::Status("ok\n"),
            InvalidState::Newline { key: "STATUS" },
        ),
        (State::Status("a\0b"), InvalidState::Nul { key: "STATUS" }),
        (
            State::BusError("x\nREADY=1"),
            InvalidState::Newline { key: "BUSERROR" },
        ),
        (
            State::FdName("a\nb"),
            InvalidState::Newline { key: "FDNAME" },
        ),
        (State::FdName("a:b"), InvalidState::FdName),
        (State::FdName("tab\there"), InvalidState::FdName),
        (
            State::Custom("X=1\nREADY=1"),
            InvalidState::Newline { key: "custom" },
        ),
        (State::Custom("no-equals"), InvalidState::NotKeyValue),
        (State::Custom("=value"), InvalidState::NotKeyValue),
        (State::Custom(""), InvalidState::NotKeyValue),
    ];
    for (state, expected) in cases {
        assert_eq!(state.validate(), Err(expected), "{state:?}");
        // A bad field anywhere refuses the whole message.
        let e = readyd::notify(&[State::Ready, state]).expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{state:?}");
        assert_eq!(why(&e), Some(expected), "{state:?}: {e}");
    }
    let long = "n".repeat(256);
    assert_eq!(State::FdName(&long).validate(), Err(InvalidState::FdName));
    assert_eq!(State::FdName(&long[..255]).validate(), Ok(()));
    assert_eq!(State::FdName("with space").validate(), Ok(()));
    assert_eq!(State::FdName("").validate(), Ok(()));
    let e = readyd::notify_str("READY=1\0STATUS=x").expect_err("NUL");
    assert_eq!(why(&e), Some(InvalidState::Nul { key: "message" }));
    let e = readyd::ready_with_status("up\nMAINPID=1").expect_err("newline");
    assert_eq!(why(&e), Some(InvalidState::Newline { key: "STATUS" }));
    let e = readyd::failed(5, "bad\n").expect_err("newline");
    assert_eq!(why(&e), Some(InvalidState::Newline { key: "STATUS" }));
    let e = readyd::notify_with_fds(&[State::Custom("x")], &[]).expect_err("not KEY=VALUE");
    assert_eq!(why(&e), Some(InvalidState::NotKeyValue));
    rx.assert_nothing();
}

#[test]
fn send_errors_are_the_os_errors_of_the_c_api() {
    let env = lock_env();
    let dir = TempDir::new();
    let cases: [(String, c_int); 4] = [
        (
            dir.join("nobody").to_str().unwrap().to_owned(),
            libc::ENOENT,
        ),
        ("relative/path".to_owned(), libc::EPROTO),
        (format!("/{}", "x".repeat(120)), libc::ENAMETOOLONG),
        ("@".to_owned(), libc::EINVAL),
    ];
    for (address, errno) in cases {
        env.set("NOTIFY_SOCKET", &address);
        let e = readyd::notify(&[State::Ready]).expect_err(&address);
        assert_eq!(e.raw_os_error(), Some(errno), "{address}: {e}");
        let c = cstring_of("READY=1");
        assert_eq!(unsafe_notify(&c), -errno, "{address}");
    }
}

fn cstring_of(s: &str) -> CString {
    CString::new(s).expect("no NUL")
}

#[test]
fn fds_are_passed_in_order_and_stay_open() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let dir = TempDir::new();
    let files = two_files(&dir);
    let fds = [files[0].as_fd(), files[1].as_fd()];
    assert!(
        readyd::notify_with_fds(&[State::FdStore, State::FdName("pair")], &fds)
            .expect("notify_with_fds")
    );
    let d = rx.recv();
    d.assert_bytes(b"FDSTORE=1\nFDNAME=pair");
    d.assert_from_self();
    let sent: Vec<_> = fds.iter().map(|f| file_id(f.as_raw_fd())).collect();
    assert_eq!(d.fd_ids(), sent);
    assert!(fds.iter().all(|f| fd_is_open(f.as_raw_fd())));
}

#[test]
fn at_most_253_fds_and_an_error_sends_nothing() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let dir = TempDir::new();
    let files = two_files(&dir);
    let many: Vec<BorrowedFd<'_>> = (0..253).map(|i| files[i % 2].as_fd()).collect();
    assert!(readyd::notify_with_fds(&[State::FdStore], &many).expect("253 fds"));
    assert_eq!(rx.recv().fds.len(), 253);
    let too_many: Vec<BorrowedFd<'_>> = (0..254).map(|i| files[i % 2].as_fd()).collect();
    let e = readyd::notify_with_fds(&[State::FdStore], &too_many).expect_err("254 fds");
    assert_eq!(e.raw_os_error(), Some(libc::E2BIG));
    // The core's own (public, safe) send refuses them too, before its stack buffer could
    // overflow.
    let raw: Vec<RawFd> = too_many.iter().map(|f| f.as_raw_fd()).collect();
    assert_eq!(
        readyd::notify::send(0, b"FDSTORE=1", &raw),
        Err(readyd::errno::Errno(libc::E2BIG))
    );
    rx.assert_nothing();
}

#[test]
fn barrier_returns_once_the_supervisor_closes_the_fd_and_times_out_otherwise() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    assert!(readyd::notify(&[State::Status("before")]).expect("notify"));
    let (passed, earlier, barrier) = thread::scope(|s| {
        let supervisor = s.spawn(|| {
            let earlier = rx.recv().bytes;
            let d = rx.recv();
            let seen = (d.bytes.clone(), d.fds.len(), d.creds().pid);
            drop(d); // closes the pipe's write end: the barrier is passed
            (earlier, seen)
        });
        let r = readyd::barrier(Duration::MAX).expect("barrier");
        let (earlier, seen) = supervisor.join().expect("supervisor");
        (r, earlier, seen)
    });
    assert!(passed);
    assert_eq!(earlier, b"STATUS=before");
    assert_eq!(barrier, (b"BARRIER=1".to_vec(), 1, own_pid()));

    // The supervisor holds the fd until the caller has given up.
    let (gave_up, wait) = std::sync::mpsc::channel::<()>();
    let rx_ref = &rx;
    let r = thread::scope(|s| {
        s.spawn(move || {
            let d = rx_ref.recv();
            let _ = wait.recv_timeout(Duration::from_secs(10));
            drop(d);
        });
        let r = readyd::barrier(Duration::from_millis(50));
        let _ = gave_up.send(());
        r
    });
    let e = r.expect_err("timeout");
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert_eq!(e.raw_os_error(), Some(libc::ETIMEDOUT));
    rx.assert_nothing();
}

#[test]
fn readiness_calls_send_what_the_c_library_sends() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let pid = own_pid();
    assert_eq!(readyd::ready().expect("ready"), Some(Supervisor::Systemd));
    rx.recv()
        .assert_bytes(format!("READY=1\nMAINPID={pid}").as_bytes());
    assert_eq!(
        readyd::ready_with_status("serving").expect("ready"),
        Some(Supervisor::Systemd)
    );
    rx.recv()
        .assert_bytes(format!("READY=1\nSTATUS=serving\nMAINPID={pid}").as_bytes());
    assert_eq!(
        readyd::failed(-libc::EADDRINUSE, "port 80 is taken").expect("failed"),
        Some(Supervisor::Systemd)
    );
    rx.recv().assert_bytes(b"STATUS=port 80 is taken\nERRNO=98");
    assert!(readyd::stopping().expect("stopping"));
    rx.recv().assert_bytes(b"STOPPING=1");
    // A pid no process has is refused before anything is sent (the next datagram is the
    // watchdog's); the datagram for a real one is compared with the C call's below.
    let gone = u32::try_from(nonexistent_pid()).expect("a positive pid");
    let err = readyd::mainpid(gone).expect_err("mainpid of no process");
    assert_eq!(err.raw_os_error(), Some(libc::ESRCH), "{err}");
    assert!(readyd::watchdog().expect("watchdog"));
    rx.recv().assert_bytes(b"WATCHDOG=1");
    assert!(readyd::reloading().expect("reloading"));
    let d = rx.recv();
    let text = String::from_utf8(d.bytes.clone()).expect("utf-8");
    let usec = text
        .strip_prefix("RELOADING=1\nMONOTONIC_USEC=")
        .unwrap_or_else(|| panic!("reloading sent {text:?}"));
    assert!(
        !usec.is_empty() && usec.bytes().all(|b| b.is_ascii_digit()),
        "{text:?}"
    );
    d.assert_from_self();
    rx.assert_nothing();
}

#[test]
fn ready_on_a_notification_fd_writes_one_line_and_removes_the_variable() {
    let env = lock_env();
    let (mut reader, writer) = UnixStream::pair().expect("socketpair");
    let fd = OwnedFd::from(writer);
    env.set("READYD_NOTIFY_FD", fd.as_raw_fd().to_string());
    // The library closes the fd it was told about: hand it over.
    let raw = std::os::fd::IntoRawFd::into_raw_fd(fd);
    assert_eq!(readyd::ready().expect("ready"), Some(Supervisor::NotifyFd));
    assert_eq!(env.get("READYD_NOTIFY_FD"), None);
    assert!(!fd_is_open(raw), "the notification fd is closed");
    let mut got = String::new();
    reader.read_to_string(&mut got).expect("read");
    assert_eq!(got, "READY=1\n");

    let (mut reader, writer) = UnixStream::pair().expect("socketpair");
    readyd::notify_fd(writer.into(), "READY=1").expect("notify_fd");
    let mut got = String::new();
    reader.read_to_string(&mut got).expect("read");
    assert_eq!(got, "READY=1\n");
}

#[test]
fn watchdog_enabled_reads_and_only_the_unset_form_removes() {
    let env = lock_env();
    let pid = own_pid().to_string();
    env.set("WATCHDOG_USEC", "4000000");
    env.remove("WATCHDOG_PID");
    assert_eq!(
        readyd::watchdog_enabled().expect("watchdog"),
        Some(Duration::from_secs(4))
    );
    env.set("WATCHDOG_PID", &pid);
    assert_eq!(
        readyd::watchdog_enabled().expect("watchdog"),
        Some(Duration::from_secs(4))
    );
    assert!(env.get("WATCHDOG_USEC").is_some() && env.get("WATCHDOG_PID").is_some());
    env.set("WATCHDOG_PID", "1");
    assert_eq!(readyd::watchdog_enabled().expect("other pid"), None);
    for bad in ["0", "18446744073709551615", "soon"] {
        env.set("WATCHDOG_USEC", bad);
        let e = readyd::watchdog_enabled().expect_err(bad);
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL), "{bad}");
    }
    env.set("WATCHDOG_USEC", "1000");
    env.set("WATCHDOG_PID", &pid);
    assert_eq!(
        readyd::watchdog_enabled_and_unset().expect("unset form"),
        Some(Duration::from_millis(1))
    );
    assert_eq!(env.get("WATCHDOG_USEC"), None);
    assert_eq!(env.get("WATCHDOG_PID"), None);
    env.set("WATCHDOG_USEC", "bad");
    assert!(readyd::watchdog_enabled_and_unset().is_err());
    assert_eq!(env.get("WATCHDOG_USEC"), None, "removed on errors too");
}

// ---- socket activation: in forked children with a known fd table -------------------------

/// Runs `body` in a forked child whose fds 3 and 4 are two different files (nothing else
/// open from 3 up to the report fd), with the environment `vars` set and `LISTEN_PID` its
/// own pid; returns the text `body` returned.
fn in_listen_child(vars: &[(&str, &str)], body: fn() -> String) -> String {
    let env = lock_env();
    let dir = TempDir::new();
    let files = two_files(&dir);
    let mut p = [0 as c_int; 2];
    // SAFETY: room for two fds.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    for (k, v) in vars {
        env.set(k, v);
    }
    // SAFETY: the environment lock is held, so no test thread changes the environment at
    // the fork; the child is single-threaded and glibc keeps malloc usable after fork.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork");
    if child == 0 {
        const REPORT: RawFd = 1000;
        // SAFETY: raw syscalls on the child's own fd table (close_range as the system call:
        // musl has no wrapper).
        unsafe {
            let ok = libc::dup2(p[1], REPORT) == REPORT
                && libc::dup2(files[0].as_raw_fd(), 100) == 100
                && libc::dup2(files[1].as_raw_fd(), 101) == 101
                && libc::syscall(libc::SYS_close_range, 3, 99, 0) == 0
                && libc::dup2(100, 3) == 3
                && libc::dup2(101, 4) == 4
                && libc::syscall(libc::SYS_close_range, 5, REPORT - 1, 0) == 0;
            if !ok {
                libc::_exit(90);
            }
            std::env::set_var("LISTEN_PID", libc::getpid().to_string());
        }
        let report = body();
        // SAFETY: the report fd is ours; a short write shows as a wrong report.
        unsafe {
            libc::write(REPORT, report.as_ptr().cast(), report.len());
            libc::_exit(0);
        }
    }
    for (k, _) in vars {
        env.remove(k);
    }
    // SAFETY: the parent's copy of the write end.
    unsafe { libc::close(p[1]) };
    // SAFETY: p[0] is ours from here on.
    let mut reader = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(p[0]) });
    let mut report = String::new();
    reader.read_to_string(&mut report).expect("read report");
    let mut status = 0;
    // SAFETY: our child; a valid out-pointer.
    assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
    assert_eq!(status, 0, "child exit status (90: fd setup failed)");
    report
}

fn listen_vars_left() -> Vec<&'static str> {
    [
        "LISTEN_PID",
        "LISTEN_PIDFDID",
        "LISTEN_FDS",
        "LISTEN_FDNAMES",
    ]
    .into_iter()
    .filter(|v| std::env::var_os(v).is_some())
    .collect()
}

fn cloexec(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only queries.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    fl >= 0 && fl & libc::FD_CLOEXEC != 0
}

#[test]
fn listen_fds_are_owned_once_named_and_the_variables_removed() {
    let report = in_listen_child(
        &[("LISTEN_FDS", "2"), ("LISTEN_FDNAMES", "web:ctl\\:1")],
        || {
            let ids = [file_id(3), file_id(4)];
            let got: Vec<(OwnedFd, String)> = match readyd::listen_fds() {
                Ok(fds) => fds.collect(),
                Err(e) => return format!("error {e}"),
            };
            let described: Vec<String> = got
                .iter()
                .map(|(fd, name)| {
                    let raw = fd.as_raw_fd();
                    let same = file_id(raw) == ids[(raw - 3) as usize];
                    format!("{raw}={name} same={same} cloexec={}", cloexec(raw))
                })
                .collect();
            let left = listen_vars_left();
            let again = readyd::listen_fds().map(|f| f.len());
            // Even told again, the API never wraps the same fds a second time.
            // SAFETY: the child is single-threaded.
            unsafe {
                std::env::set_var("LISTEN_PID", std::process::id().to_string());
                std::env::set_var("LISTEN_FDS", "2");
            }
            let retold = readyd::listen_fds().map(|f| f.len());
            let mut got = got.into_iter();
            drop(got.next());
            let after_drop = (fd_is_open(3), fd_is_open(4));
            format!(
                "{described:?} left={left:?} again={again:?} retold={retold:?} \
                 open_after_drop={after_drop:?}"
            )
        },
    );
    assert_eq!(
        report,
        "[\"3=web same=true cloexec=true\", \"4=ctl:1 same=true cloexec=true\"] left=[] \
         again=Ok(0) retold=Ok(0) open_after_drop=(false, true)"
    );
}

#[test]
fn listen_fds_without_names_are_unknown() {
    let report = in_listen_child(&[("LISTEN_FDS", "1")], || {
        let names: Vec<String> = readyd::listen_fds()
            .map(|f| f.map(|(_, n)| n).collect())
            .unwrap_or_default();
        format!("{names:?} open4={}", fd_is_open(4))
    });
    // Only fd 3 was passed: fd 4 stays open, untouched.
    assert_eq!(report, "[\"unknown\"] open4=true");
}

#[test]
fn malformed_listen_variables_are_errors_and_still_removed() {
    let report = in_listen_child(&[("LISTEN_FDS", "2"), ("LISTEN_FDNAMES", "one")], || {
        let e = readyd::listen_fds().err().and_then(|e| e.raw_os_error());
        let left = listen_vars_left();
        let again = readyd::listen_fds().map(|f| f.len());
        format!(
            "{e:?} left={left:?} again={again:?} open={:?}",
            (fd_is_open(3), fd_is_open(4))
        )
    });
    assert_eq!(
        report,
        format!(
            "Some({}) left=[] again=Ok(0) open=(true, true)",
            libc::EINVAL
        )
    );
}

#[test]
fn listen_fds_for_another_pid_are_not_taken() {
    let report = in_listen_child(&[("LISTEN_FDS", "2")], || {
        // SAFETY: the child is single-threaded.
        unsafe { std::env::set_var("LISTEN_PID", "1") };
        let n = readyd::listen_fds().map(|f| f.len());
        format!(
            "{n:?} left={:?} open={:?}",
            listen_vars_left(),
            (fd_is_open(3), fd_is_open(4))
        )
    });
    assert_eq!(report, "Ok(0) left=[] open=(true, true)");
}

// ---- the API and the C exports give identical datagrams ---------------------------------

/// What a supervisor sees of one datagram: bytes, sender pid, uid, gid and the identities
/// of the fds that came with it.
type Seen = (
    Vec<u8>,
    (libc::pid_t, libc::uid_t, libc::gid_t),
    Vec<(u64, u64)>,
);

fn seen(d: &Datagram) -> Seen {
    let c = d.creds();
    (d.bytes.clone(), (c.pid, c.uid, c.gid), d.fd_ids())
}

#[test]
fn the_api_and_the_c_exports_give_identical_datagrams() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let dir = TempDir::new();
    let files = two_files(&dir);
    let raw_fds = [files[0].as_raw_fd(), files[1].as_raw_fd()];
    let borrowed = [files[0].as_fd(), files[1].as_fd()];
    let (every, every_bytes) = every_state();
    let every_text = String::from_utf8(every_bytes.to_vec()).expect("utf-8");
    let c = |s: &str| CString::new(s).expect("no NUL");

    type Call<'a> = Box<dyn Fn() -> c_int + 'a>;
    type Api<'a> = Box<dyn Fn() -> io::Result<bool> + 'a>;
    let cases: Vec<(&str, Call<'_>, Api<'_>)> = vec![
        (
            "ready and status",
            Box::new(|| unsafe_notify(&c("READY=1\nSTATUS=up"))),
            Box::new(|| readyd::notify(&[State::Ready, State::Status("up")])),
        ),
        (
            "every field",
            Box::new(|| unsafe_notify(&c(&every_text))),
            Box::new(|| readyd::notify(&every)),
        ),
        (
            "raw string",
            Box::new(|| unsafe_notify(&c("WATCHDOG=1\n"))),
            Box::new(|| readyd::notify_str("WATCHDOG=1\n")),
        ),
        (
            "empty",
            Box::new(|| unsafe_notify(&c(""))),
            Box::new(|| readyd::notify(&[])),
        ),
        (
            "fds",
            Box::new(|| {
                let s = c("FDSTORE=1\nFDNAME=pair");
                // SAFETY: a NUL-terminated string and two open fds.
                unsafe { readyd::sd_pid_notify_with_fds(0, 0, s.as_ptr(), raw_fds.as_ptr(), 2) }
            }),
            Box::new(|| {
                readyd::notify_with_fds(&[State::FdStore, State::FdName("pair")], &borrowed)
            }),
        ),
        (
            "ready",
            // SAFETY: NULL status is allowed.
            Box::new(|| unsafe { readyd::readyd_ready(std::ptr::null()) }),
            Box::new(|| readyd::ready().map(|s| s.is_some())),
        ),
        (
            "ready with status",
            // SAFETY: a NUL-terminated string.
            Box::new(|| unsafe { readyd::readyd_ready(c"all set".as_ptr()) }),
            Box::new(|| readyd::ready_with_status("all set").map(|s| s.is_some())),
        ),
        (
            "failed",
            // SAFETY: a NUL-terminated string.
            Box::new(|| unsafe { readyd::readyd_failed(-2, c"no config".as_ptr()) }),
            Box::new(|| readyd::failed(2, "no config").map(|s| s.is_some())),
        ),
        (
            "stopping",
            Box::new(|| readyd::readyd_stopping()),
            Box::new(readyd::stopping),
        ),
        (
            "mainpid",
            Box::new(|| readyd::readyd_mainpid(own_pid())),
            Box::new(|| readyd::mainpid(std::process::id())),
        ),
    ];
    for (name, call_c, call_api) in &cases {
        assert!(call_c() > 0, "{name}: the C call");
        let from_c = seen(&rx.recv());
        assert!(call_api().expect(name), "{name}: the API call");
        let from_api = seen(&rx.recv());
        assert_eq!(from_api, from_c, "{name}");
    }
    // The reload message differs only in its timestamp.
    assert_eq!(readyd::readyd_reloading(), 1);
    let from_c = seen(&rx.recv());
    assert!(readyd::reloading().expect("reloading"));
    let from_api = seen(&rx.recv());
    let digits_masked = |b: &[u8]| -> Vec<u8> {
        b.iter()
            .map(|&x| if x.is_ascii_digit() { b'N' } else { x })
            .collect()
    };
    assert_eq!(digits_masked(&from_api.0), digits_masked(&from_c.0));
    assert_eq!((from_api.1, from_api.2), (from_c.1, from_c.2));
    rx.assert_nothing();
}

fn unsafe_notify(s: &CString) -> c_int {
    // SAFETY: a NUL-terminated string.
    unsafe { readyd::sd_notify(0, s.as_ptr()) }
}

#[test]
fn unescape_removes_backslashes() {
    let unescaped = |raw: &[u8]| {
        let mut out = Vec::new();
        readyd::listen::unescape(raw, |b| out.push(b));
        out
    };
    assert_eq!(unescaped(b"a\\:b"), b"a:b");
    assert_eq!(unescaped(b"a\\\\b"), b"a\\b");
    assert_eq!(unescaped(b"plain"), b"plain");
    assert_eq!(unescaped(b"trailing\\"), b"trailing");
}

#[test]
fn daemonize_refuses_to_fork_a_process_with_threads() {
    let env = lock_env();
    let (stop, parked) = std::sync::mpsc::channel::<()>();
    let helper = thread::spawn(move || {
        let _ = parked.recv();
    });
    let pid = own_pid();
    let e = readyd::daemonize().expect_err("threads are running");
    assert_eq!(e.kind(), ErrorKind::Other);
    assert!(e.to_string().contains("before any other thread"), "{e}");
    let e = readyd::Daemonize::new()
        .pidfile("/run/with\0nul.pid")
        .start()
        .expect_err("NUL in the path");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    // Under a supervisor, the "when unsupervised" form does nothing, threads or not.
    env.set("NOTIFY_SOCKET", "/nonexistent/notify");
    let r = readyd::Daemonize::new().when_unsupervised().start();
    assert!(!r.expect("nothing to do"));
    assert_eq!(own_pid(), pid);
    stop.send(()).expect("helper waits");
    helper.join().expect("helper");
}

#[test]
fn daemonize_releases_the_original_process_once_the_daemon_is_ready() {
    let _env = lock_env();
    let mut p = [0 as c_int; 2];
    // SAFETY: room for two fds.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // Held across the fork so that no other test thread (libtest's reporter) holds std's
    // stdout lock in the child, which daemonize() flushes: the child's copy is owned by
    // its one thread, which may take it again.
    let stdout = io::stdout().lock();
    // SAFETY: the environment lock is held; the child is single-threaded (so daemonize()
    // may fork it again) and glibc keeps malloc usable after fork.
    let child = unsafe { libc::fork() };
    drop(stdout);
    assert!(child >= 0, "fork");
    if child == 0 {
        let report = match readyd::daemonize() {
            Ok(true) => format!("daemon {} {:?}", own_pid(), readyd::ready()),
            other => format!("in the original process: {other:?}"),
        };
        // SAFETY: the write end is ours; a short write shows as a wrong report.
        unsafe {
            libc::write(p[1], report.as_ptr().cast(), report.len());
            libc::_exit(0);
        }
    }
    // SAFETY: the parent's copy of the write end.
    unsafe { libc::close(p[1]) };
    // SAFETY: p[0] is ours from here on.
    let mut reader = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(p[0]) });
    let mut report = String::new();
    reader.read_to_string(&mut report).expect("read report");
    let mut status = 0;
    // SAFETY: our child; a valid out-pointer.
    assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the original process exits 0 once the daemon is ready (status {status:#x}); {report}"
    );
    let daemon: libc::pid_t = report
        .strip_prefix("daemon ")
        .and_then(|r| r.split(' ').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("report: {report:?}"));
    assert_ne!(daemon, child, "the daemon is a new process");
    assert!(report.ends_with(" Ok(Some(Daemonize))"), "{report}");
}

#[test]
fn the_api_and_the_c_exports_agree_on_barrier_watchdog_and_booted() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    // The barrier message of each, answered by a supervisor that closes the fd at once.
    let answer = || {
        let d = rx.recv();
        let seen = (d.bytes.clone(), d.fds.len(), d.creds().pid);
        drop(d);
        seen
    };
    let (c_result, from_c) = thread::scope(|s| {
        let supervisor = s.spawn(answer);
        let r = readyd::sd_notify_barrier(0, 5_000_000);
        (r, supervisor.join().expect("supervisor"))
    });
    let (api_result, from_api) = thread::scope(|s| {
        let supervisor = s.spawn(answer);
        let r = readyd::barrier(Duration::from_secs(5)).expect("barrier");
        (r, supervisor.join().expect("supervisor"))
    });
    assert_eq!((c_result, api_result), (1, true));
    assert_eq!(from_api, from_c);
    assert_eq!(from_api, (b"BARRIER=1".to_vec(), 1, own_pid()));

    let pid = own_pid().to_string();
    for (usec, wdpid) in [
        ("2000000", None),
        ("2000000", Some(pid.as_str())),
        ("2000000", Some("1")),
        ("0", None),
        ("0x10", None),
        ("junk", None),
    ] {
        env.set("WATCHDOG_USEC", usec);
        match wdpid {
            Some(p) => env.set("WATCHDOG_PID", p),
            None => env.remove("WATCHDOG_PID"),
        }
        let mut c_usec = 0u64;
        // SAFETY: a valid out-pointer.
        let c = unsafe { readyd::sd_watchdog_enabled(0, &mut c_usec) };
        let api = readyd::watchdog_enabled();
        let case = format!("WATCHDOG_USEC={usec} WATCHDOG_PID={wdpid:?}");
        match api {
            Ok(Some(d)) => assert_eq!((c, c_usec), (1, d.as_micros() as u64), "{case}"),
            Ok(None) => assert_eq!(c, 0, "{case}"),
            Err(e) => assert_eq!(Some(-c), e.raw_os_error(), "{case}"),
        }
    }
    env.remove("WATCHDOG_USEC");
    env.remove("WATCHDOG_PID");
    assert_eq!(
        readyd::booted().expect("booted"),
        readyd::sd_booted() > 0,
        "booted"
    );
    rx.assert_nothing();
}
