//! `readyd run` under real daemons and hostile input (issue 11): a main pid that is
//! readyd itself, pid 1 or a stranger; --listen socket files; hostile PID files; a daemon
//! that drops privileges; the last message before exit; signals; control characters; the
//! fd store's cap; stray inherited fds; --type simple/exec with --settle;
//! --notify-access and --strict.
//!
//! The daemons are this test binary started again (`daemon_helper`, the role in
//! READYD_TEST_ROLE), using the library, or shell scripts. The command under test is
//! build/readyd (or $READYD_BIN), as in tests/command.rs.

mod run_common;

use std::ffi::{CString, c_int};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread;
use std::time::Duration;

use run_common::{Output, Streaming, TempDir, helper, pid_after, readyd, run, run_sh};

// ---- the daemons ----

static GOT_SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn note_signal(sig: c_int) {
    GOT_SIGNAL.store(sig, Ordering::SeqCst);
}

fn catch(sig: c_int) {
    // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
    unsafe { libc::signal(sig, note_signal as *const () as libc::sighandler_t) };
}

/// Waits (at most 20 s) for one of the caught signals; returns it.
fn wait_signal() -> c_int {
    for _ in 0..2000 {
        let sig = GOT_SIGNAL.swap(0, Ordering::SeqCst);
        if sig != 0 {
            return sig;
        }
        thread::sleep(Duration::from_millis(10));
    }
    std::process::exit(3)
}

fn notify(text: &str) -> c_int {
    let c = CString::new(text).unwrap();
    // SAFETY: a NUL-terminated string.
    unsafe { readyd::sd_notify(0, c.as_ptr()) }
}

/// Not a test by itself: when READYD_TEST_ROLE is set, this binary is the daemon that the
/// tests below start under `readyd run`.
#[test]
fn daemon_helper() {
    let Ok(role) = std::env::var("READYD_TEST_ROLE") else {
        return;
    };
    match role.as_str() {
        // Sends READYD_TEST_SEND ("{ppid}" replaced by readyd's pid), then waits.
        "send" => {
            // SAFETY: getppid has no preconditions.
            let ppid = unsafe { libc::getppid() };
            let text = std::env::var("READYD_TEST_SEND")
                .unwrap()
                .replace("{ppid}", &ppid.to_string());
            assert!(notify(&text) > 0);
        }
        // Gives up root, then notifies.
        "drop-privileges" => {
            // SAFETY: plain system calls; the order (groups, gid, uid) is the one that works.
            unsafe {
                assert_eq!(libc::setgroups(0, std::ptr::null()), 0);
                assert_eq!(libc::setgid(65534), 0);
                assert_eq!(libc::setuid(65534), 0);
            }
            assert!(notify("READY=1") > 0);
        }
        // Ready; at SIGTERM sends STOPPING=1 and exits 0 at once, from the handler
        // (the library's sd_notify is async-signal-safe).
        "stopping" => {
            extern "C" fn stop_now(_: c_int) {
                // SAFETY: sd_notify and _exit are async-signal-safe.
                unsafe {
                    readyd::sd_notify(0, c"STOPPING=1".as_ptr());
                    libc::_exit(0);
                }
            }
            // SAFETY: installs a handler that only makes async-signal-safe calls.
            unsafe { libc::signal(libc::SIGTERM, stop_now as *const () as libc::sighandler_t) };
            notify("READY=1");
        }
        // Ready; says which signal came, until SIGTERM.
        "signals" => {
            for sig in [libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2, libc::SIGTERM] {
                catch(sig);
            }
            notify("READY=1");
            loop {
                let sig = wait_signal();
                println!("\ndaemon got signal {sig}");
                if sig == libc::SIGTERM {
                    std::process::exit(0);
                }
            }
        }
        // Ready, and deaf to SIGTERM.
        "ignore-term" => {
            // SAFETY: ignoring a signal has no preconditions.
            unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
            notify("READY=1");
        }
        // Three fds for the fd store, then ready.
        "fdstore" => {
            println!("\nFDSTORE={}", std::env::var("FDSTORE").unwrap_or_default());
            let files: Vec<std::fs::File> = (0..3)
                .map(|_| std::fs::File::open("/dev/null").unwrap())
                .collect();
            use std::os::fd::AsRawFd;
            let fds: Vec<c_int> = files.iter().map(|f| f.as_raw_fd()).collect();
            // SAFETY: a NUL-terminated literal and three open fds.
            let r = unsafe {
                readyd::sd_pid_notify_with_fds(
                    0,
                    0,
                    c"FDSTORE=1\nFDNAME=db".as_ptr(),
                    fds.as_ptr(),
                    3,
                )
            };
            assert_eq!(r, 1);
            notify("READY=1");
        }
        // fcgiwrap-style: socket-activated, never sends READY=1, serves each connection.
        "socket-activated" => {
            assert_eq!(readyd::sd_listen_fds(1), 1, "one socket from readyd");
            loop {
                // SAFETY: fd 3 is the listening socket sd_listen_fds reported.
                let c = unsafe { libc::accept(3, std::ptr::null_mut(), std::ptr::null_mut()) };
                if c >= 0 {
                    // SAFETY: c is the connection just accepted.
                    unsafe { libc::close(c) };
                }
            }
        }
        // A forking daemon that says STATUS=starting from its start process first.
        "forking" => {
            assert!(notify("STATUS=starting") > 0);
            // SAFETY: the child only sleeps and exits, both async-signal-safe.
            let pid = unsafe {
                let pid = libc::fork();
                if pid == 0 {
                    libc::sleep(20);
                    libc::_exit(0);
                }
                pid
            };
            std::fs::write(std::env::var("PIDFILE").unwrap(), format!("{pid}\n")).unwrap();
            std::process::exit(0);
        }
        // READY=1 from a helper process, not from the main process.
        "ready-from-helper" => {
            // SAFETY: the child only calls the library's async-signal-safe sd_notify and
            // _exit.
            unsafe {
                if libc::fork() == 0 {
                    readyd::sd_notify(0, c"READY=1".as_ptr());
                    libc::_exit(0);
                }
            }
        }
        other => panic!("unknown helper role {other}"),
    }
    thread::sleep(Duration::from_secs(20));
}

fn send(text: &str, args: &[&str]) -> Command {
    let mut c = helper("send", args);
    c.env("READYD_TEST_SEND", text);
    c
}

fn signal(pid: u32, sig: c_int) {
    // SAFETY: kill has no memory arguments; the pid is a readyd this test started.
    unsafe { libc::kill(pid as libc::pid_t, sig) };
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

// ---- 1. the main pid: never readyd itself, pid 1 or a stranger ----

#[test]
fn mainpid_naming_readyd_itself_is_refused() {
    let o = run(send(
        "MAINPID={ppid}\nREADY=1",
        &["--until", "ready", "--timeout", "5"],
    ));
    assert_eq!(o.status, 0, "{}", o.show());
    let me = o.lines().find(|l| l.contains("is readyd's own pid"));
    let me = me.unwrap_or_else(|| panic!("no refusal in:\n{}", o.show()));
    assert!(me.contains("warning: MAINPID="), "{me}");
    assert_eq!(o.ready_verdict().1, o.started_pid(), "{}", o.show());
    assert!(!o.has_line_containing("SIGKILL"), "{}", o.show());
}

fn forking_with_pid(pid_text: &str, tag: &str) -> Output {
    let dir = TempDir::new(tag);
    let pidfile = dir.join("daemon.pid");
    let mut cmd = readyd(&[
        "run",
        "--type",
        "forking",
        "--pidfile",
        &pidfile,
        "--until",
        "ready",
        "--timeout",
        "5",
        "--",
        "sh",
        "-c",
        r#"echo "$PID_TEXT" > "$PIDFILE"; exit 0"#,
    ]);
    cmd.env("PIDFILE", &pidfile).env("PID_TEXT", pid_text);
    run(cmd)
}

#[test]
fn a_pid_file_naming_readyd_pid_1_or_a_stranger_is_refused() {
    // $PPID of the started shell is readyd.
    let dir = TempDir::new("pidfile-self");
    let pidfile = dir.join("daemon.pid");
    let mut cmd = readyd(&[
        "run",
        "--type",
        "forking",
        "--pidfile",
        &pidfile,
        "--timeout",
        "5",
        "--",
        "sh",
        "-c",
        r#"echo $PPID > "$PIDFILE"; exit 0"#,
    ]);
    cmd.env("PIDFILE", &pidfile);
    let o = run(cmd);
    assert_eq!(o.status, 1, "{}", o.show());
    assert!(
        o.not_ready_verdict().contains("which is readyd's own pid"),
        "{}",
        o.show()
    );

    let o = forking_with_pid("1", "pidfile-init");
    assert_eq!(o.status, 1, "{}", o.show());
    assert!(
        o.not_ready_verdict()
            .contains("names pid 1, which is pid 1, the init process"),
        "{}",
        o.show()
    );

    // This test process is alive and no descendant of readyd.
    let o = forking_with_pid(&std::process::id().to_string(), "pidfile-stranger");
    assert_eq!(o.status, 1, "{}", o.show());
    assert!(
        o.not_ready_verdict().contains("which is neither pid ")
            && o.not_ready_verdict().contains("nor one of its descendants"),
        "{}",
        o.show()
    );
}

// ---- 2. --listen /path ----

#[test]
fn a_listen_socket_file_stays_until_readyd_exits() {
    let dir = TempDir::new("listen-path");
    let sock = dir.join("app.sock");
    let mut cmd = readyd(&[
        "run",
        "--listen",
        &format!("{sock}=app"),
        "--type",
        "simple",
        "--settle",
        "0.6",
        "--until",
        "ready",
        "--timeout",
        "5",
        "--",
        "sh",
        "-c",
        r#"sleep 0.3; if [ -S "$SOCK" ]; then echo "socket file kept"; else echo "socket file gone"; fi
           exec sleep 10"#,
    ]);
    cmd.env("SOCK", &sock);
    let o = run(cmd);
    assert_eq!(o.status, 0, "{}", o.show());
    assert!(o.lines().any(|l| l == "socket file kept"), "{}", o.show());
    assert!(!Path::new(&sock).exists(), "removed at the end");
}

// ---- 3. hostile PID files ----

fn forking_reads(pidfile: &str) -> Output {
    run(readyd(&[
        "run",
        "--type",
        "forking",
        "--pidfile",
        pidfile,
        "--timeout",
        "3",
        "--",
        "true",
    ]))
}

#[test]
fn a_fifo_as_pid_file_neither_blocks_nor_counts() {
    let dir = TempDir::new("pidfile-fifo");
    let fifo = dir.join("daemon.pid");
    let c = CString::new(fifo.as_str()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let o = forking_reads(&fifo);
    assert_eq!(o.status, 1, "{}", o.show());
    assert_eq!(
        o.not_ready_verdict(),
        format!("not ready: cannot read PID file {fifo}: it is a FIFO, not a regular file")
    );
}

#[test]
fn symbolic_links_and_big_files_as_pid_files_are_refused() {
    let dir = TempDir::new("pidfile-links");
    let zero = dir.join("zero.pid");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let o = forking_reads(&zero);
    assert_eq!(o.status, 1, "{}", o.show());
    assert!(
        o.not_ready_verdict().starts_with(&format!(
            "not ready: cannot read PID file {zero}: it is a symbolic link"
        )),
        "{}",
        o.show()
    );

    // A file only root may read, behind a link: its text never reaches the output.
    let secret = dir.join("secret");
    std::fs::write(&secret, "root-only-secret-text\n").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let link = dir.join("secret.pid");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    let o = forking_reads(&link);
    assert_eq!(o.status, 1, "{}", o.show());
    assert!(
        o.not_ready_verdict().contains("symbolic link"),
        "{}",
        o.show()
    );
    assert!(!o.stdout.contains("root-only-secret"), "{}", o.show());
    assert!(!o.stderr.contains("root-only-secret"), "{}", o.show());

    let big = dir.join("big.pid");
    std::fs::write(&big, "1".repeat(100_000)).unwrap();
    let o = forking_reads(&big);
    assert_eq!(o.status, 1, "{}", o.show());
    assert!(
        o.not_ready_verdict()
            .ends_with("it holds more than 128 bytes, which is no PID file"),
        "{}",
        o.show()
    );
}

// ---- 4. a daemon that drops privileges before READY=1 ----

#[test]
fn a_daemon_that_drops_privileges_still_reaches_the_socket() {
    if !is_root() {
        println!("SKIP: changing uid needs root");
        return;
    }
    let o = run(helper(
        "drop-privileges",
        &["--until", "ready", "--timeout", "5"],
    ));
    assert_eq!(o.status, 0, "{}", o.show());
    assert_eq!(o.ready_verdict().1, o.started_pid(), "{}", o.show());
    let pid = o.started_pid();
    assert!(
        o.has_line_containing(&format!(
            "warning: pid {pid} sent as uid 65534 gid 65534, not as the daemon started (uid 0 gid 0)"
        )),
        "{}",
        o.show()
    );
}

// ---- 5. the last message before exit ----

#[test]
fn stopping_sent_just_before_exit_is_never_lost() {
    // The loss was a race (12 in 40 runs): 25 runs all must show it.
    for round in 0..25 {
        let mut r = Streaming::start(helper("stopping", &["--timeout", "10"]));
        r.until(|l| l.starts_with("ready after").then_some(()));
        signal(r.child.id(), libc::SIGTERM);
        let (status, seen) = r.finish();
        assert_eq!(status, 0, "round {round}: {seen}");
        assert!(
            seen.lines().any(|l| l.ends_with("  STOPPING=1")),
            "round {round}: STOPPING=1 lost:\n{seen}"
        );
    }
}

// ---- 6. signals ----

#[test]
fn sighup_and_sigusr1_are_passed_on_to_the_daemon() {
    let mut r = Streaming::start(helper("signals", &["--timeout", "10"]));
    r.until(|l| l.starts_with("ready after").then_some(()));
    signal(r.child.id(), libc::SIGHUP);
    r.until(|l| {
        l.contains(&format!("daemon got signal {}", libc::SIGHUP))
            .then_some(())
    });
    signal(r.child.id(), libc::SIGUSR1);
    r.until(|l| {
        l.contains(&format!("daemon got signal {}", libc::SIGUSR1))
            .then_some(())
    });
    signal(r.child.id(), libc::SIGTERM);
    let (status, seen) = r.finish();
    assert!(
        seen.contains("received SIGHUP: passed on to pid "),
        "{seen}"
    );
    assert!(
        seen.contains("received SIGUSR1: passed on to pid "),
        "{seen}"
    );
    assert_eq!(status, 0, "the daemon exited 0 at SIGTERM: {seen}");
}

#[test]
fn sigalrm_stops_the_daemon_and_cleans_up() {
    let dir = TempDir::new("sigalrm");
    let sock = dir.join("app.sock");
    let mut r = Streaming::start(send("READY=1", &["--listen", &sock, "--timeout", "10"]));
    let socket = r.until(|l| {
        let rest = l.split("NOTIFY_SOCKET=").nth(1)?;
        Some(rest.split(' ').next()?.trim_end_matches(')').to_owned())
    });
    let daemon = r.until(|l| {
        l.starts_with("ready after")
            .then(|| pid_after(l, "MAINPID "))
    });
    assert!(Path::new(&socket).exists(), "{socket}");
    assert!(Path::new(&sock).exists(), "{sock}");
    signal(r.child.id(), libc::SIGALRM);
    let (status, seen) = r.finish();
    assert_eq!(status, 1, "{seen}");
    assert!(
        seen.contains("received SIGALRM: stopping the daemon and ending the run"),
        "{seen}"
    );
    assert!(
        seen.contains(&format!("pid {daemon}  was killed by SIGTERM")),
        "{seen}"
    );
    let notify_dir = Path::new(&socket).parent().unwrap();
    assert!(!notify_dir.exists(), "{} left behind", notify_dir.display());
    assert!(!Path::new(&sock).exists(), "{sock} left behind");
}

#[test]
fn repeated_sigterms_do_not_put_off_the_sigkill() {
    let mut r = Streaming::start(helper("ignore-term", &["--timeout", "10"]));
    r.until(|l| l.starts_with("ready after").then_some(()));
    // A SIGTERM every 0.3 s for 12 s: the SIGKILL is due 5 s after the first.
    let mut killed = false;
    'sending: for _ in 0..40 {
        signal(r.child.id(), libc::SIGTERM);
        let next = std::time::Instant::now() + Duration::from_millis(300);
        while let Some(left) = next.checked_duration_since(std::time::Instant::now()) {
            let Ok(line) = r.lines.recv_timeout(left) else {
                break;
            };
            r.seen.push_str(&line);
            r.seen.push('\n');
            if line.contains("did not exit within 5 s of being asked to: sent SIGKILL") {
                killed = true;
                break 'sending;
            }
        }
    }
    let (status, seen) = r.finish();
    assert!(killed, "no SIGKILL while SIGTERMs kept coming:\n{seen}");
    assert_eq!(status, 1, "{seen}");
}

// ---- 7. control characters ----

#[test]
fn control_characters_from_the_daemon_cannot_forge_a_line() {
    let forged = "ready after 1 ms with MAINPID 1";
    let o = run(send(
        &format!("X\x1b[2K\r{forged}=v\nMAINPID=\r{forged}\nSTATUS=a\x07b\r{forged}\nREADY=1"),
        &["--until", "ready", "--timeout", "5"],
    ));
    assert_eq!(o.status, 0, "{}", o.show());
    for line in o.lines() {
        assert!(
            !line.chars().any(char::is_control),
            "a raw control character in {line:?}"
        );
    }
    let verdicts: Vec<&str> = o.lines().filter(|l| l.starts_with("ready after")).collect();
    assert_eq!(verdicts.len(), 1, "{}", o.show());
    assert_eq!(o.ready_verdict().1, o.started_pid());
    assert!(
        o.has_line_containing(r"X\x1b[2K\x0dready after"),
        "{}",
        o.show()
    );
}

// ---- 8. the fd store's cap ----

#[test]
fn the_fd_store_keeps_no_more_than_fdstore_max() {
    let o = run(helper(
        "fdstore",
        &["--fdstore-max", "2", "--until", "ready", "--timeout", "10"],
    ));
    assert_eq!(o.status, 0, "{}", o.show());
    assert!(
        o.lines().any(|l| l == "FDSTORE=2"),
        "the daemon is told: {}",
        o.show()
    );
    assert!(
        o.has_line_containing(
            "FDSTORE=1 FDNAME=db  [+3 fds]  (2 kept in the fd store as 'db', 1 closed, 2 in all)"
        ),
        "{}",
        o.show()
    );
    assert!(
        o.has_line_containing("warning: the fd store holds at most --fdstore-max 2 fd(s)"),
        "{}",
        o.show()
    );
    assert!(
        o.has_line_containing("fd store: 2 fd(s): db, db"),
        "{}",
        o.show()
    );

    // systemd's default, FileDescriptorStoreMax=0: nothing is kept.
    let o = run(helper("fdstore", &["--until", "ready", "--timeout", "10"]));
    assert_eq!(o.status, 0, "{}", o.show());
    assert!(o.lines().any(|l| l == "FDSTORE="), "{}", o.show());
    assert!(
        o.has_line_containing("(0 kept in the fd store as 'db', 3 closed, 0 in all)"),
        "{}",
        o.show()
    );
    assert!(!o.has_line_containing("fd store: "), "{}", o.show());
}

// ---- 9. stray fds ----

#[test]
fn fds_readyd_inherited_do_not_reach_the_daemon() {
    let mut cmd = readyd(&[
        "run",
        "--listen",
        "127.0.0.1:0",
        "--type",
        "simple",
        "--settle",
        "0.3",
        "--until",
        "ready",
        "--timeout",
        "5",
        "--",
        "sh",
        "-c",
        r#"for fd in 3 9; do if [ -e /proc/$$/fd/$fd ]; then echo "fd $fd open"; else echo "fd $fd closed"; fi; done
           exec sleep 10"#,
    ]);
    let stray = std::fs::File::open("/dev/null").unwrap();
    use std::os::fd::AsRawFd;
    let raw = stray.as_raw_fd();
    // SAFETY: between fork and exec only dup2 runs, which is async-signal-safe; the copy
    // at 9 is not close-on-exec, so readyd inherits it.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, 9) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = run(cmd);
    drop(stray);
    assert_eq!(o.status, 0, "{}", o.show());
    assert!(
        o.has_line_containing("fd 3 open"),
        "the --listen socket: {}",
        o.show()
    );
    assert!(o.lines().any(|l| l == "fd 9 closed"), "{}", o.show());
}

// ---- 10. --type simple/exec, --notify-access, --strict ----

#[test]
fn a_socket_activated_daemon_without_ready_is_judged_by_settle_and_connect() {
    let dir = TempDir::new("simple");
    let sock = dir.join("fcgi.sock");
    for (kind, listen) in [("simple", "127.0.0.1:0".to_owned()), ("exec", sock.clone())] {
        let o = run(helper(
            "socket-activated",
            &[
                "--type",
                kind,
                "--settle",
                "0.3",
                "--listen",
                &listen,
                "--until",
                "ready",
                "--timeout",
                "10",
            ],
        ));
        assert_eq!(o.status, 0, "{kind}: {}", o.show());
        assert_eq!(o.ready_verdict().1, o.started_pid(), "{}", o.show());
        assert!(
            o.has_line_containing(
                "still running after --settle 0.3 s, and every --listen socket answers a connect"
            ),
            "{}",
            o.show()
        );
        assert!(o.warnings().is_empty(), "{}", o.show());
        assert!(!o.has_line_containing("NOTIFY_SOCKET"), "{}", o.show());
    }
}

#[test]
fn a_simple_daemon_that_exits_or_closes_its_socket_is_not_ready() {
    let o = run_sh(
        &["--type", "simple", "--settle", "2", "--timeout", "5"],
        "exit 0",
    );
    assert_eq!(o.status, 1, "{}", o.show());
    assert!(
        o.not_ready_verdict()
            .ends_with(" ms, without running for --settle 2 s"),
        "{}",
        o.show()
    );

    // Runs, but closed the socket it was given: nothing answers a connect.
    let o = run_sh(
        &[
            "--type",
            "simple",
            "--settle",
            "0.2",
            "--listen",
            "127.0.0.1:0",
            "--timeout",
            "1",
        ],
        "exec 3>&-; exec sleep 10",
    );
    assert_eq!(o.status, 1, "{}", o.show());
    assert_eq!(o.not_ready_verdict(), "not ready within 1 s");
    assert!(
        o.has_line_containing("does not answer a connect yet"),
        "{}",
        o.show()
    );
}

#[test]
fn notify_access_decides_whose_ready_counts() {
    // main (the default): a helper's READY=1 is dropped; --strict fails at once.
    let o = run(helper(
        "ready-from-helper",
        &["--strict", "--notify-access", "main", "--timeout", "10"],
    ));
    assert_eq!(o.status, 1, "{}", o.show());
    assert!(
        o.not_ready_verdict()
            .starts_with("not ready: a warning under --strict: message from pid "),
        "{}",
        o.show()
    );
    assert!(
        o.has_line_containing("READY=1  (dropped: only the main pid"),
        "{}",
        o.show()
    );

    // all: it counts, with no warning.
    let o = run(helper(
        "ready-from-helper",
        &[
            "--strict",
            "--notify-access",
            "all",
            "--until",
            "ready",
            "--timeout",
            "10",
        ],
    ));
    assert_eq!(o.status, 0, "{}", o.show());
    assert_eq!(o.ready_verdict().1, o.started_pid());
    assert!(o.warnings().is_empty(), "{}", o.show());
}

#[test]
fn notify_access_exec_counts_the_forking_parent_until_it_exits() {
    let dir = TempDir::new("forking-exec");
    let pidfile = dir.join("daemon.pid");
    for (access, warned) in [("exec", false), ("main", true)] {
        let mut cmd = helper(
            "forking",
            &[
                "--type",
                "forking",
                "--notify-access",
                access,
                "--pidfile",
                &pidfile,
                "--until",
                "ready",
                "--timeout",
                "5",
            ],
        );
        cmd.env("PIDFILE", &pidfile);
        let o = run(cmd);
        assert_eq!(o.status, 0, "{access}: {}", o.show());
        assert!(o.has_line_containing("STATUS=starting"), "{}", o.show());
        assert_eq!(!o.warnings().is_empty(), warned, "{access}: {}", o.show());
    }
}

#[test]
fn strict_turns_a_warning_after_ready_into_a_failure() {
    let o = run(send(
        "READY=1\nWATCHDOG=trigger",
        &["--strict", "--until", "ready", "--timeout", "5"],
    ));
    assert_eq!(o.status, 1, "{}", o.show());
    o.ready_verdict();
    assert!(
        o.stderr
            .contains("1 warning(s) under --strict, the first: WATCHDOG=trigger"),
        "{}",
        o.show()
    );
    let o = run(send(
        "READY=1",
        &["--strict", "--until", "ready", "--timeout", "5"],
    ));
    assert_eq!(o.status, 0, "{}", o.show());
}

#[test]
fn type_and_its_mistakes() {
    for (args, says) in [
        (
            &["run", "--type", "oneshot", "--", "true"][..],
            "unknown protocol 'oneshot' for --type",
        ),
        (
            &[
                "run",
                "--type",
                "simple",
                "--settle",
                "5",
                "--timeout",
                "2",
                "--",
                "true",
            ],
            "--settle 5 must be shorter than --timeout 2",
        ),
        (
            &["run", "--notify-access", "none", "--", "true"],
            "--notify-access takes main, exec or all",
        ),
        (
            &["run", "--fdstore-max", "-1", "--", "true"],
            "--fdstore-max takes a number",
        ),
    ] {
        let o = run(readyd(args));
        assert_eq!(o.status, 2, "{args:?}: {}", o.show());
        assert!(o.stderr.contains(says), "{args:?}: {}", o.show());
    }
    // --protocol stays an alias of --type.
    let o = run_sh(
        &[
            "--protocol",
            "simple",
            "--settle",
            "0.1",
            "--until",
            "ready",
            "--timeout",
            "5",
        ],
        "exec sleep 10",
    );
    assert_eq!(o.status, 0, "{}", o.show());
}

#[test]
fn a_watchdog_gets_a_notify_socket_under_every_type() {
    // WatchdogSec= makes systemd's NotifyAccess= main by default, whatever the type.
    let o = run_sh(
        &[
            "--type",
            "simple",
            "--settle",
            "0.2",
            "--watchdog",
            "5000000",
            "--until",
            "ready",
            "--timeout",
            "5",
        ],
        r#"if [ -S "$NOTIFY_SOCKET" ]; then echo "notify socket given"; fi; exec sleep 10"#,
    );
    assert_eq!(o.status, 0, "{}", o.show());
    assert!(
        o.lines().any(|l| l == "notify socket given"),
        "{}",
        o.show()
    );
}
