//! `readyd notify` as a drop-in for systemd-notify (252 to 258), against a real receiving
//! socket (SO_PASSCRED): the exact bytes, the pid the message is credited to, the
//! descriptors passed to the fd store, `--uid`, `--exec`, the barrier, `--ready-fd`.
//!
//! Speaking for another pid needs CAP_SYS_ADMIN: run as root (as CI does), the crediting
//! cases check the credited pid; otherwise they check the documented fallback (the
//! message comes from readyd itself) and say so.
//!
//! The command under test is `build/readyd` (or `$READYD_BIN`), as in tests/command.rs.

mod common;

use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Datagram, Receiver, TempDir, file_id, is_root, own_pid};

static READYD: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let path = std::env::var("READYD_BIN")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/build/readyd").to_string());
    assert!(
        std::path::Path::new(&path).is_file(),
        "{path} does not exist: run `make` first (or set READYD_BIN to the command to test)"
    );
    path
});

/// `readyd notify ARGS` aimed at `rx`, without the supervisor variables of the test's own
/// environment.
fn notify(rx: &Receiver, args: &[&str]) -> Command {
    let mut c = Command::new(&*READYD);
    c.arg("notify").args(args).env("NOTIFY_SOCKET", &rx.address);
    for v in [
        "MANAGERPID",
        "MANAGERPIDFDID",
        "READYD_NOTIFY_FD",
        "LISTEN_FDS",
    ] {
        c.env_remove(v);
    }
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Waits (bounded) for the child; its exit status and stderr.
fn finish(mut child: Child) -> (i32, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            return (status.code().unwrap_or(-1), err);
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("readyd notify did not exit within 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The pidfd inode id of `pid`, as MAINPIDFDID= carries it (None without pidfs).
fn pidfd_id(pid: libc::pid_t) -> Option<u64> {
    // SAFETY: pidfd_open takes a pid and flags; it returns a new fd.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the fd was just created and is owned here.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    // SAFETY: statfs is plain data; fstatfs fills it.
    let mut sfs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid fd and out-pointer.
    if unsafe { libc::fstatfs(fd.as_raw_fd(), &mut sfs) } < 0 || sfs.f_type != 0x5049_4446 {
        return None;
    }
    Some(file_id(fd.as_raw_fd()).1)
}

/// `MAINPID=P` and, where the kernel has pidfs, `\nMAINPIDFDID=ID`.
fn mainpid_fields(pid: libc::pid_t) -> String {
    match pidfd_id(pid) {
        Some(id) => format!("MAINPID={pid}\nMAINPIDFDID={id}"),
        None => format!("MAINPID={pid}"),
    }
}

/// Asserts the message was credited to `want` (as root), or to readyd itself (`own`), the
/// fallback of an unprivileged sender.
fn assert_credited(d: &Datagram, want: libc::pid_t, own: libc::pid_t) {
    let c = d.creds();
    if is_root() {
        assert_eq!(c.pid, want, "the credited pid");
    } else {
        println!("not root: speaking for pid {want} is refused, so readyd sends as itself");
        assert_eq!(c.pid, own, "the unprivileged fallback: readyd's own pid");
    }
}

#[test]
fn default_credits_the_calling_process_as_systemd_notify_does() {
    let rx = Receiver::path();
    // The caller is this test process; nothing says it is the service manager.
    let child = notify(&rx, &["--ready", "--no-block"]).spawn().unwrap();
    let me = child.id() as libc::pid_t;
    let d = rx.recv();
    d.assert_bytes(b"READY=1");
    assert_credited(&d, own_pid(), me);
    assert_eq!(finish(child).0, 0);

    // From a shell script: the script (the service's main process) is credited.
    let dir = TempDir::new();
    let script = format!(
        r#""{}" notify --ready --status=from-script --no-block; echo $$ > {}"#,
        *READYD,
        dir.join("sh.pid").display()
    );
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(&script).env("NOTIFY_SOCKET", &rx.address);
    sh.env_remove("MANAGERPID").env_remove("MANAGERPIDFDID");
    let child = sh.stderr(Stdio::piped()).spawn().unwrap();
    let shell = child.id() as libc::pid_t;
    let d = rx.recv();
    d.assert_bytes(b"READY=1\nSTATUS=from-script");
    assert_eq!(finish(child).0, 0);
    assert_eq!(
        fs::read_to_string(dir.join("sh.pid")).unwrap().trim(),
        shell.to_string()
    );
    if is_root() {
        assert_eq!(d.creds().pid, shell, "credited to the script");
    } else {
        assert_ne!(
            d.creds().pid,
            shell,
            "an unprivileged sender cannot speak for it"
        );
    }
}

#[test]
fn the_service_manager_is_never_credited() {
    // $MANAGERPID names the caller (as for a user service, or under `readyd run`):
    // readyd speaks for itself.
    let rx = Receiver::path();
    let mut c = notify(&rx, &["--ready", "--no-block"]);
    c.env("MANAGERPID", own_pid().to_string());
    let child = c.spawn().unwrap();
    let me = child.id() as libc::pid_t;
    let d = rx.recv();
    d.assert_bytes(b"READY=1");
    assert_eq!(d.creds().pid, me);
    assert_eq!(finish(child).0, 0);

    // A MANAGERPIDFDID that does not match: the pid was reused, it is not the manager.
    if pidfd_id(own_pid()).is_some() {
        let mut c = notify(&rx, &["--ready", "--no-block"]);
        c.env("MANAGERPID", own_pid().to_string())
            .env("MANAGERPIDFDID", "1");
        let child = c.spawn().unwrap();
        let me = child.id() as libc::pid_t;
        let d = rx.recv();
        assert_credited(&d, own_pid(), me);
        assert_eq!(finish(child).0, 0);
    }
}

#[test]
fn pid_values() {
    let rx = Receiver::path();
    // --pid=self: readyd itself, sent as itself.
    let child = notify(&rx, &["--ready", "--pid=self", "--no-block"])
        .spawn()
        .unwrap();
    let me = child.id() as libc::pid_t;
    let want = format!("READY=1\n{}", mainpid_fields(me));
    let d = rx.recv();
    d.assert_bytes(want.as_bytes());
    assert_eq!(d.creds().pid, me);
    assert_eq!(finish(child).0, 0);

    // --pid (auto), --pid=auto and --pid=parent: the caller, here this test.
    for arg in ["--pid", "--pid=auto", "--pid=parent", "--pid="] {
        let child = notify(&rx, &[arg, "--no-block"]).spawn().unwrap();
        let me = child.id() as libc::pid_t;
        let d = rx.recv();
        d.assert_bytes(mainpid_fields(own_pid()).as_bytes());
        assert_credited(&d, own_pid(), me);
        assert_eq!(finish(child).0, 0, "{arg}");
    }
    // With MANAGERPID naming the caller, auto means readyd, parent still the caller.
    for (arg, parent) in [("--pid=auto", false), ("--pid=parent", true)] {
        let mut c = notify(&rx, &[arg, "--no-block"]);
        c.env("MANAGERPID", own_pid().to_string());
        let child = c.spawn().unwrap();
        let me = child.id() as libc::pid_t;
        let want = if parent { own_pid() } else { me };
        let d = rx.recv();
        d.assert_bytes(mainpid_fields(want).as_bytes());
        assert_credited(&d, want, me);
        assert_eq!(finish(child).0, 0, "{arg}");
    }
    // A number: that process.
    let arg = format!("--pid={}", own_pid());
    let child = notify(&rx, &["--ready", &arg, "--no-block"])
        .spawn()
        .unwrap();
    let me = child.id() as libc::pid_t;
    let d = rx.recv();
    d.assert_bytes(format!("READY=1\n{}", mainpid_fields(own_pid())).as_bytes());
    assert_credited(&d, own_pid(), me);
    assert_eq!(finish(child).0, 0);

    // A pid that does not exist: refused, nothing sent.
    let arg = format!("--pid={}", common::nonexistent_pid());
    let (status, err) = finish(notify(&rx, &["--ready", &arg]).spawn().unwrap());
    assert_eq!(status, 1, "{err}");
    assert!(err.contains("no such process"), "{err}");
    rx.assert_nothing();
}

#[test]
fn message_order_and_fields_as_systemd_notify() {
    let rx = Receiver::path();
    let child = notify(
        &rx,
        &[
            "--stopping",
            "--ready",
            "--reloading",
            "--status=busy",
            "--pid=self",
            "X_ONE=1",
            "STATUS=replaced",
            "--no-block",
        ],
    )
    .spawn()
    .unwrap();
    let me = child.id() as libc::pid_t;
    let d = rx.recv();
    let text = String::from_utf8(d.bytes.clone()).unwrap();
    let (first, rest) = text.split_once('\n').unwrap();
    assert_eq!(first, "RELOADING=1");
    let (stamp, rest) = rest.split_once('\n').unwrap();
    assert!(
        stamp
            .strip_prefix("MONOTONIC_USEC=")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0,
        "{stamp}"
    );
    assert_eq!(
        rest,
        format!(
            "READY=1\nSTOPPING=1\nSTATUS=replaced\n{}\nX_ONE=1",
            mainpid_fields(me)
        )
    );
    assert_eq!(finish(child).0, 0);
}

/// Places `fds` (at most 4) at 3, 4, ... in the child (without close-on-exec).
fn with_fds(c: &mut Command, fds: Vec<RawFd>) {
    assert!(fds.len() <= 4);
    // SAFETY: dup2 is async-signal-safe; the fds stay open in the parent until spawn.
    unsafe {
        c.pre_exec(move || {
            // Out of the way first, so that no source is overwritten by an earlier target.
            // No allocation here: the child of a threaded process.
            let mut high = [-1 as RawFd; 4];
            for (h, &fd) in high.iter_mut().zip(&fds) {
                *h = libc::fcntl(fd, libc::F_DUPFD, 100);
                if *h < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for (i, &fd) in high[..fds.len()].iter().enumerate() {
                if libc::dup2(fd, 3 + i as RawFd) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(fd);
            }
            Ok(())
        });
    }
}

#[test]
fn fd_and_fdname_pass_descriptors_to_the_fd_store() {
    let rx = Receiver::path();
    let dir = TempDir::new();
    let a = fs::File::create(dir.join("a")).unwrap();
    let b = fs::File::create(dir.join("b")).unwrap();
    let ids = vec![file_id(a.as_raw_fd()), file_id(b.as_raw_fd())];
    let mut c = notify(&rx, &["--fd=3", "--fd", "4", "--fdname=db", "--no-block"]);
    with_fds(&mut c, vec![a.as_raw_fd(), b.as_raw_fd()]);
    let child = c.spawn().unwrap();
    let me = child.id() as libc::pid_t;
    let d = rx.recv();
    d.assert_bytes(b"FDSTORE=1\nFDNAME=db");
    assert_eq!(d.fd_ids(), ids, "the descriptors, in the order given");
    assert_credited(&d, own_pid(), me);
    assert_eq!(finish(child).0, 0);

    // A descriptor that is not open: an error, nothing sent.
    let (status, err) = finish(notify(&rx, &["--fd=9", "--no-block"]).spawn().unwrap());
    assert_eq!(status, 1, "{err}");
    assert!(err.contains("Bad file descriptor"), "{err}");
    rx.assert_nothing();
}

#[test]
fn exec_runs_the_command_after_sending_without_the_stored_fds() {
    let rx = Receiver::path();
    let dir = TempDir::new();
    let f = fs::File::create(dir.join("stored")).unwrap();
    let out = dir.join("exec.out");
    let script = format!(
        r#"echo "$$ $([ -e /proc/self/fd/3 ] && echo fd3-open || echo fd3-closed) $1" > {}"#,
        out.display()
    );
    let mut c = notify(
        &rx,
        &[
            "--exec",
            "--ready",
            "--fd=3",
            "--no-block",
            ";",
            "--",
            "sh",
            "-c",
            &script,
            "sh",
            "arg;1",
        ],
    );
    with_fds(&mut c, vec![f.as_raw_fd()]);
    let child = c.spawn().unwrap();
    let me = child.id() as libc::pid_t;
    let d = rx.recv();
    d.assert_bytes(b"READY=1\nFDSTORE=1");
    assert_eq!(d.fds.len(), 1);
    let (status, err) = finish(child);
    assert_eq!(status, 0, "{err}");
    // The same process (exec), the stored fd closed, the arguments as given.
    assert_eq!(
        fs::read_to_string(&out).unwrap(),
        format!("{me} fd3-closed arg;1\n")
    );

    // A command that does not exist: 127 and why, after the message was sent.
    let (status, err) = finish(
        notify(
            &rx,
            &["--exec", "--ready", "--no-block", ";", "/nonexistent/cmd"],
        )
        .spawn()
        .unwrap(),
    );
    rx.recv().assert_bytes(b"READY=1");
    assert_eq!(status, 127, "{err}");
    assert!(err.contains("cannot execute /nonexistent/cmd"), "{err}");
}

#[test]
fn uid_sends_with_that_real_uid() {
    if common::skip_unless_root("--uid", "setreuid to another user") {
        return;
    }
    let rx = Receiver::path();
    for (user, gid) in [("65534", None), ("nobody", Some(65534))] {
        let child = notify(&rx, &["--ready", "--uid", user, "--no-block"])
            .spawn()
            .unwrap();
        let d = rx.recv();
        d.assert_bytes(b"READY=1");
        let c = d.creds();
        assert_eq!(c.uid, 65534, "--uid={user}");
        assert_eq!(c.pid, own_pid(), "still credited to the caller");
        if let Some(gid) = gid {
            // nobody's group from the passwd entry.
            assert_eq!(c.gid, gid, "--uid={user}: the passwd entry's group");
        }
        assert_eq!(finish(child).0, 0);
    }
    let (status, err) = finish(
        notify(&rx, &["--ready", "--uid=no-such-user-here"])
            .spawn()
            .unwrap(),
    );
    assert_eq!(status, 1, "{err}");
    assert!(err.contains("no such user"), "{err}");
    rx.assert_nothing();
}

#[test]
fn the_barrier_is_credited_to_the_same_pid() {
    let rx = Receiver::path();
    let child = notify(&rx, &["--ready"]).spawn().unwrap();
    let me = child.id() as libc::pid_t;
    let d = rx.recv();
    d.assert_bytes(b"READY=1");
    assert_credited(&d, own_pid(), me);
    let barrier = rx.recv();
    barrier.assert_bytes(b"BARRIER=1");
    assert_eq!(barrier.fds.len(), 1);
    assert_eq!(barrier.creds().pid, d.creds().pid);
    drop(barrier); // closing the pipe answers the barrier
    let (status, err) = finish(child);
    assert_eq!(status, 0, "{err}");
}

#[test]
fn ready_fd_is_readyds_own_option_for_s6_and_dinit() {
    let mut p = [0 as RawFd; 2];
    // SAFETY: room for two fds.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both fds were just created and are owned here.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
    let mut c = Command::new(&*READYD);
    c.args(["notify", "--ready", "--status=up", "--ready-fd=3"])
        .env_remove("NOTIFY_SOCKET")
        .stderr(Stdio::piped());
    with_fds(&mut c, vec![w.as_raw_fd()]);
    let child = c.spawn().unwrap();
    drop(w);
    let mut got = String::new();
    use std::io::Read;
    fs::File::from(r).read_to_string(&mut got).unwrap();
    assert_eq!(got, "READY=1\nSTATUS=up\n");
    assert_eq!(finish(child).0, 0);
}

#[test]
fn booted_ignores_a_message_as_systemd_notify_does() {
    let rx = Receiver::path();
    let (status, err) = finish(
        notify(&rx, &["--booted", "--ready", "A=1"])
            .spawn()
            .unwrap(),
    );
    let booted = std::path::Path::new("/run/systemd/system").is_dir();
    assert_eq!(status, if booted { 0 } else { 1 }, "{err}");
    assert_eq!(
        err,
        "readyd notify: --booted sends nothing: the message is ignored\n"
    );
    rx.assert_nothing();
}
