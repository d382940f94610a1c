//! The `readyd` command, run as a user would: `readyd run` against small daemons written
//! here (shell scripts, or this test binary started again as a daemon that uses the
//! library), under every protocol; the verdict lines and exit statuses exactly; each
//! warning; `--json` output checked by a small JSON parser; `readyd notify`.
//!
//! Every run has a short --timeout and the harness kills a run that outlives its bound,
//! so a broken command fails a test instead of hanging the suite.
//!
//! The command under test is `build/readyd`, as `make` builds it (or the path in
//! `$READYD_BIN`). `make check` rebuilds it first. It is not built by this cargo run: the
//! command (feature `cli`) is built with panic=abort, the tests unwind, and building both
//! flavours of the library in one cargo invocation makes them overwrite each other's files.

use std::ffi::c_int;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::FromRawFd;
use std::thread;
use std::time::{Duration, Instant};

mod run_common;
use run_common::*;

// ---- the four protocols ----

#[test]
fn systemd_ready_with_the_child_as_main_pid() {
    let o = run_sh(
        &["--until", "ready", "--timeout", "5"],
        r#"exec "$READYD" notify --ready --status=up"#,
    );
    assert_eq!(o.status, 0, "{}", o.show());
    let (_, mainpid) = o.ready_verdict();
    assert_eq!(mainpid, o.started_pid(), "{}", o.show());
    assert!(
        o.has_line_containing(&format!("pid {mainpid}  READY=1 STATUS=up")),
        "{}",
        o.show()
    );
    assert!(
        o.has_line_containing("BARRIER=1  [+1 fd]  (barrier answered)")
            || o.has_line_containing("sent SIGTERM")
    );
    assert!(o.warnings().is_empty(), "{}", o.show());
}

#[test]
fn upstart_ready_at_the_first_sigstop() {
    let o = run_sh(
        &[
            "--protocol",
            "upstart",
            "--until",
            "ready",
            "--timeout",
            "5",
        ],
        r#"[ "$UPSTART_JOB" = sh ] && [ "${UPSTART_INSTANCE-unset}" = "" ] || exit 9
           kill -STOP $$; exec sleep 10"#,
    );
    assert_eq!(o.status, 0, "{}", o.show());
    let (_, mainpid) = o.ready_verdict();
    assert_eq!(mainpid, o.started_pid());
    assert!(
        o.has_line_containing("stopped itself with SIGSTOP: ready (sent SIGCONT)"),
        "{}",
        o.show()
    );
    assert!(o.warnings().is_empty(), "{}", o.show());
}

#[test]
fn fd_ready_at_a_newline() {
    let o = run_sh(
        &["--protocol", "fd", "--until", "ready", "--timeout", "5"],
        // The fd survives an exec: it is not close-on-exec in the daemon.
        r#"[ "$READYD_NOTIFY_FD" = 3 ] || exit 9; exec sh -c 'echo ready >&3; exec sleep 10'"#,
    );
    assert_eq!(o.status, 0, "{}", o.show());
    let (_, mainpid) = o.ready_verdict();
    assert_eq!(mainpid, o.started_pid());
    assert!(o.has_line_containing(r#"fd 3: "ready\n""#), "{}", o.show());
}

#[test]
fn fd_closed_without_a_newline_is_not_ready() {
    let o = run_sh(
        &["--protocol", "fd", "--timeout", "5"],
        "printf almost >&3; exec 3>&-; exec sleep 10",
    );
    assert_eq!(o.status, 1, "{}", o.show());
    let v = o.not_ready_verdict();
    assert!(
        v.starts_with("not ready: fd 3 was closed without a newline after "),
        "{v}"
    );
    assert!(
        o.stderr.contains("fd 3 was closed without a newline"),
        "{}",
        o.show()
    );
    assert!(
        o.elapsed < Duration::from_secs(4),
        "the daemon was stopped at once"
    );
}

#[test]
fn fd_follows_the_listen_fds() {
    let o = run_sh(
        &[
            "--protocol",
            "fd",
            "--listen",
            "127.0.0.1:0",
            "--until",
            "ready",
            "--timeout",
            "5",
        ],
        r#"[ "$READYD_NOTIFY_FD" = 4 ] || exit 9; echo >&4; exec sleep 10"#,
    );
    assert_eq!(o.status, 0, "{}", o.show());
    o.ready_verdict();
}

#[test]
fn forking_reads_the_pid_file_once_the_parent_exits_0() {
    let dir = TempDir::new("forking");
    let pidfile = dir.join("daemon.pid");
    let mut cmd = readyd(&[
        "run",
        "--protocol",
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
        r#"sleep 10 & echo $! > "$PIDFILE"; exit 0"#,
    ]);
    cmd.env("PIDFILE", &pidfile);
    let o = run(cmd);
    assert_eq!(o.status, 0, "{}", o.show());
    let written: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let (_, mainpid) = o.ready_verdict();
    assert_eq!(mainpid, written, "{}", o.show());
    assert_ne!(mainpid, o.started_pid());
    assert!(
        o.has_line_containing(&format!("pid {mainpid}  was killed by SIGTERM")),
        "{}",
        o.show()
    );
}

#[test]
fn forking_parent_failing_is_not_ready() {
    let dir = TempDir::new("forking-fail");
    let pidfile = dir.join("daemon.pid");
    let o = run(readyd(&[
        "run",
        "--protocol",
        "forking",
        "--pidfile",
        &pidfile,
        "--timeout",
        "5",
        "--",
        "sh",
        "-c",
        "exit 3",
    ]));
    assert_eq!(o.status, 1, "{}", o.show());
    let pid = o.started_pid();
    assert!(
        o.not_ready_verdict()
            .starts_with(&format!("not ready: pid {pid} exited with status 3 after ")),
        "{}",
        o.show()
    );
}

#[test]
fn forking_without_a_pid_file_written() {
    let dir = TempDir::new("forking-nofile");
    let pidfile = dir.join("never.pid");
    let o = run(readyd(&[
        "run",
        "--protocol",
        "forking",
        "--pidfile",
        &pidfile,
        "--timeout",
        "0.5",
        "--",
        "true",
    ]));
    assert_eq!(o.status, 1, "{}", o.show());
    assert_eq!(o.not_ready_verdict(), "not ready within 0.5 s");
    assert!(o.has_line_containing("is not there yet"), "{}", o.show());
}

#[test]
fn forking_needs_a_pid_file_option() {
    let o = run(readyd(&["run", "--protocol", "forking", "--", "true"]));
    assert_eq!(o.status, 2, "{}", o.show());
    assert!(
        o.stderr.contains("--protocol forking needs --pidfile PATH"),
        "{}",
        o.show()
    );
    assert!(o.stderr.contains("usage: readyd run"), "{}", o.show());
}

// ---- not ready ----

#[test]
fn never_ready_times_out_under_each_protocol() {
    for protocol in ["systemd", "upstart", "fd"] {
        let o = run(readyd(&[
            "run",
            "--protocol",
            protocol,
            "--timeout",
            "0.5",
            "--",
            "sleep",
            "10",
        ]));
        assert_eq!(o.status, 1, "{protocol}: {}", o.show());
        assert_eq!(
            o.not_ready_verdict(),
            "not ready within 0.5 s",
            "{protocol}"
        );
        assert!(
            o.stderr.contains("readyd run: not ready within 0.5 s"),
            "{}",
            o.show()
        );
        let pid = o.started_pid();
        assert!(
            o.has_line_containing(&format!("sent SIGTERM to pid {pid}")),
            "{}",
            o.show()
        );
        assert!(
            o.elapsed < Duration::from_secs(5),
            "{protocol}: took {:?}",
            o.elapsed
        );
    }
}

#[test]
fn exiting_before_ready_is_not_ready() {
    let o = run_sh(&["--timeout", "5"], "exit 3");
    assert_eq!(o.status, 1, "{}", o.show());
    let pid = o.started_pid();
    let v = o.not_ready_verdict();
    assert!(
        v.starts_with(&format!("not ready: pid {pid} exited with status 3 after ")),
        "{v}"
    );
    assert!(v.ends_with(" ms, without READY=1"), "{v}");
}

#[test]
fn until_exit_needs_a_clean_exit() {
    let ok = run_sh(&["--timeout", "5"], r#"exec "$READYD" notify --ready"#);
    assert_eq!(ok.status, 0, "{}", ok.show());
    let bad = run_sh(
        &["--timeout", "5"],
        r#""$READYD" notify --ready --pid=$$; exit 5"#,
    );
    assert_eq!(bad.status, 1, "{}", bad.show());
    bad.ready_verdict();
    assert!(
        bad.stderr.contains("became ready, then pid"),
        "{}",
        bad.show()
    );
    assert!(
        bad.stderr.contains("exited with status 5"),
        "{}",
        bad.show()
    );
}

#[test]
fn sigterm_is_passed_on_to_the_daemon() {
    let mut r = Streaming::start(readyd(&[
        "run",
        "--timeout",
        "5",
        "--",
        "sh",
        "-c",
        r#""$READYD" notify --ready --pid=$$; exec sleep 20"#,
    ]));
    r.until(|l| l.starts_with("ready after").then_some(()));
    // SAFETY: kill has no memory arguments; the pid is our own child's.
    unsafe { libc::kill(r.child.id() as libc::pid_t, libc::SIGTERM) };
    let start = Instant::now();
    let (status, seen) = r.finish();
    assert!(seen.contains("received SIGTERM: passing it on"), "{seen}");
    assert!(seen.contains("was killed by SIGTERM"), "{seen}");
    assert_eq!(status, 1, "the daemon did not exit 0: {seen}");
    assert!(start.elapsed() < Duration::from_secs(4));
}

// ---- socket activation ----

#[test]
fn listen_pid_is_the_daemons_own_pid() {
    let dir = TempDir::new("listen");
    let path = dir.join("ctl.sock");
    let o = run(readyd(&[
        "run",
        "--listen",
        "127.0.0.1:0=web",
        "--listen",
        &format!("{path}=ctl"),
        "--listen",
        &format!("@readyd-test-{}", std::process::id()),
        "--until",
        "ready",
        "--timeout",
        "5",
        "--",
        "sh",
        "-c",
        r#"echo "check $LISTEN_PID $$ $LISTEN_FDS $LISTEN_FDNAMES"
           [ -S /proc/self/fd/3 ] || [ -e /proc/$$/fd/5 ] || exit 9
           exec "$READYD" notify --ready"#,
    ]));
    assert_eq!(o.status, 0, "{}", o.show());
    let check = o
        .lines()
        .find(|l| l.starts_with("check "))
        .expect("check line");
    let w: Vec<&str> = check.split(' ').collect();
    assert_eq!(w[1], w[2], "LISTEN_PID is the daemon's pid: {check}");
    assert_eq!(w[1], o.started_pid().to_string());
    assert_eq!(&w[3..], ["3", "web:ctl:unknown"]);
    let web = o
        .lines()
        .find(|l| l.contains("listening on 127.0.0.1:"))
        .expect("listen line");
    assert!(
        !web.contains("127.0.0.1:0 "),
        "the bound port is shown: {web}"
    );
    assert!(
        !std::path::Path::new(&path).exists(),
        "the socket file is removed at the end"
    );
}

/// Not a test by itself: when READYD_TEST_ROLE is set, this test binary is the daemon
/// that the tests below start under `readyd run`, using the library.
#[test]
fn daemon_helper() {
    let Ok(role) = std::env::var("READYD_TEST_ROLE") else {
        return;
    };
    match role.as_str() {
        "accept" => {
            let n = readyd::sd_listen_fds(0);
            assert_eq!(n, 1);
            // SAFETY: fd 3 is the listening socket readyd passed (sd_listen_fds said so).
            let listener = unsafe { std::net::TcpListener::from_raw_fd(3) };
            let (mut conn, _) = listener.accept().expect("accept");
            writeln!(conn, "hello from {}", std::process::id()).unwrap();
            drop(conn);
            // SAFETY: a NUL-terminated literal.
            unsafe { readyd::sd_notify(0, c"READY=1".as_ptr()) };
        }
        "fdstore" => {
            let a = std::fs::File::open("/dev/null").unwrap();
            let b = std::fs::File::open("/dev/null").unwrap();
            use std::os::fd::AsRawFd;
            let fds: [c_int; 2] = [a.as_raw_fd(), b.as_raw_fd()];
            // SAFETY: a NUL-terminated literal and two open fds.
            let r = unsafe {
                readyd::sd_pid_notify_with_fds(
                    0,
                    0,
                    c"FDSTORE=1\nFDNAME=db".as_ptr(),
                    fds.as_ptr(),
                    2,
                )
            };
            assert_eq!(r, 1);
            // SAFETY: as above.
            unsafe { readyd::sd_notify(0, c"READY=1".as_ptr()) };
        }
        other => panic!("unknown helper role {other}"),
    }
    thread::sleep(Duration::from_secs(20));
}

#[test]
fn a_listen_socket_the_daemon_accepts_on() {
    let mut r = Streaming::start(helper(
        "accept",
        &[
            "--listen",
            "127.0.0.1:0=web",
            "--until",
            "ready",
            "--timeout",
            "10",
        ],
    ));
    let port = r.until(|l| {
        let rest = l.split("listening on 127.0.0.1:").nth(1)?;
        rest.split(' ').next()?.parse::<u16>().ok()
    });
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect to the daemon");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).expect("the daemon's reply");
    let (status, seen) = r.finish();
    assert_eq!(status, 0, "{seen}");
    let pid = pid_after(&reply, "hello from ");
    assert!(seen.contains(&format!("with MAINPID {pid}")), "{seen}");
    assert!(seen.contains("ready after"), "{seen}");
}

#[test]
fn fd_store_keeps_and_counts_the_fds() {
    let o = run(helper(
        "fdstore",
        &["--fdstore-max", "2", "--until", "ready", "--timeout", "10"],
    ));
    assert_eq!(o.status, 0, "{}", o.show());
    assert!(
        o.has_line_containing(
            "FDSTORE=1 FDNAME=db  [+2 fds]  (kept in the fd store as 'db', 2 in all)"
        ),
        "{}",
        o.show()
    );
    assert!(
        o.has_line_containing("fd store: 2 fd(s): db, db"),
        "{}",
        o.show()
    );
}

// ---- readyd notify ----

#[test]
fn notify_barrier_is_answered_quickly() {
    // The notify command is a child of the main process: its message counts under
    // --notify-access all only.
    let o = run_sh(
        &["--notify-access", "all", "--timeout", "5"],
        r#""$READYD" notify --ready; echo "notify-status=$?""#,
    );
    assert_eq!(o.status, 0, "{}", o.show());
    assert!(o.has_line_containing("notify-status=0"), "{}", o.show());
    assert!(
        o.has_line_containing("BARRIER=1  [+1 fd]  (barrier answered)"),
        "{}",
        o.show()
    );
    // An unanswered barrier waits 5 s.
    assert!(o.elapsed < Duration::from_secs(4), "took {:?}", o.elapsed);
}

#[test]
fn notify_without_a_socket_fails() {
    let o = run(readyd(&["notify", "--ready"]));
    assert_eq!(o.status, 1, "{}", o.show());
    assert!(
        o.stderr.contains("NOTIFY_SOCKET is not set"),
        "{}",
        o.show()
    );
}

#[test]
fn notify_to_an_fd() {
    // The reader stops at the first newline, as s6 does: the whole message must come in
    // one write, or the rest would meet a closed pipe.
    let o = run_sh(
        &["--protocol", "fd", "--timeout", "5"],
        r#""$READYD" notify --ready --status=fine --ready-fd=3; echo "notify-status=$?""#,
    );
    assert_eq!(o.status, 0, "{}", o.show());
    assert!(
        o.has_line_containing(r#"fd 3: "READY=1\nSTATUS=fine\n""#),
        "{}",
        o.show()
    );
    assert!(o.has_line_containing("notify-status=0"), "{}", o.show());
}

#[test]
fn notify_booted_matches_the_system() {
    let o = run(readyd(&["notify", "--booted"]));
    let booted = std::path::Path::new("/run/systemd/system").is_dir();
    assert_eq!(o.status, if booted { 0 } else { 1 }, "{}", o.show());
}

// ---- warnings ----

#[test]
fn warns_about_reloading_without_monotonic_usec() {
    let o = run_sh(
        &["--until", "ready", "--timeout", "5"],
        r#"exec "$READYD" notify --ready RELOADING=1"#,
    );
    assert_eq!(o.status, 0, "{}", o.show());
    assert!(
        o.has_line_containing("warning: RELOADING=1 without MONOTONIC_USEC="),
        "{}",
        o.show()
    );
    let good = run_sh(
        &["--until", "ready", "--timeout", "5"],
        r#"exec "$READYD" notify --reloading --ready"#,
    );
    assert!(
        good.has_line_containing("RELOADING=1 MONOTONIC_USEC="),
        "{}",
        good.show()
    );
    assert!(good.warnings().is_empty(), "{}", good.show());
}

#[test]
fn warns_about_a_mainpid_that_is_not_a_descendant() {
    let o = run_sh(
        &["--until", "ready", "--timeout", "5"],
        r#"exec "$READYD" notify --ready MAINPID=1"#,
    );
    assert_eq!(o.status, 0, "{}", o.show());
    let pid = o.started_pid();
    assert!(
        o.has_line_containing(&format!(
            "warning: MAINPID=1 is pid 1, the init process (systemd refuses it as a main \
             pid): ignored, the main pid stays {pid}"
        )),
        "{}",
        o.show()
    );
    assert_eq!(
        o.ready_verdict().1,
        pid,
        "the main pid is not taken from an untrusted MAINPID"
    );
}

#[test]
fn warns_about_a_message_from_another_pid() {
    // Dropped, as systemd drops it under NotifyAccess=main; --strict fails at once.
    let o = run_sh(
        &["--strict", "--until", "ready", "--timeout", "5"],
        // From a helper shell: readyd speaks for its caller, the helper, not the main
        // process.
        r#"sh -c '"$READYD" notify --ready; true'; exec sleep 10"#,
    );
    assert_eq!(o.status, 1, "{}", o.show());
    let pid = o.started_pid();
    let w = o.warnings();
    assert!(
        w.iter().any(|l| l.contains("warning: message from pid ")
            && l.contains(&format!("not the main pid {pid}: dropped"))),
        "{}",
        o.show()
    );
    assert!(
        o.not_ready_verdict()
            .starts_with("not ready: a warning under --strict: message from pid "),
        "{}",
        o.show()
    );
}

#[test]
fn warns_about_a_stopped_child_outside_upstart() {
    let o = run_sh(
        &["--until", "ready", "--timeout", "5"],
        r#"kill -STOP $$; exec "$READYD" notify --ready"#,
    );
    assert_eq!(o.status, 0, "{}", o.show());
    assert!(
        o.has_line_containing("stopped (SIGSTOP) under the systemd protocol"),
        "{}",
        o.show()
    );
}

#[test]
fn warns_about_an_upstart_descendant_that_stops_too() {
    let o = run_sh(
        &["--protocol", "upstart", "--timeout", "5"],
        r#"kill -STOP $$; sh -c 'kill -STOP $$; true'; echo child-done"#,
    );
    assert_eq!(o.status, 0, "{}", o.show());
    assert!(o.has_line_containing("child-done"), "{}", o.show());
    assert!(
        o.has_line_containing("a descendant of the Upstart daemon, stopped too"),
        "{}",
        o.show()
    );
}

#[test]
fn warns_about_a_second_upstart_stop() {
    let o = run_sh(
        &["--protocol", "upstart", "--timeout", "5"],
        "kill -STOP $$; kill -STOP $$; exit 0",
    );
    assert_eq!(o.status, 0, "{}", o.show());
    assert!(
        o.has_line_containing("stopped itself again"),
        "{}",
        o.show()
    );
}

#[test]
fn watchdog_sets_the_variables_and_reports_late_pings() {
    let o = run_sh(
        &["--watchdog", "100000", "--timeout", "5"],
        r#"echo "wd $WATCHDOG_USEC $WATCHDOG_PID $$"; "$READYD" notify --ready --pid=$$; sleep 0.4"#,
    );
    assert_eq!(o.status, 0, "{}", o.show());
    let pid = o.started_pid();
    assert!(
        o.has_line_containing(&format!("wd 100000 {pid} {pid}")),
        "{}",
        o.show()
    );
    assert!(
        o.has_line_containing("warning: no WATCHDOG=1 within WATCHDOG_USEC=100000"),
        "{}",
        o.show()
    );
}

#[test]
fn watchdog_pings_in_time_are_quiet_and_trigger_is_reported() {
    let o = run_sh(
        &[
            "--watchdog",
            "2000000",
            "--until",
            "ready",
            "--timeout",
            "5",
        ],
        r#"exec "$READYD" notify --ready WATCHDOG=1"#,
    );
    assert!(o.warnings().is_empty(), "{}", o.show());
    let o = run_sh(
        &["--until", "ready", "--timeout", "5"],
        r#"exec "$READYD" notify --ready WATCHDOG=trigger"#,
    );
    assert!(
        o.has_line_containing("warning: WATCHDOG=trigger"),
        "{}",
        o.show()
    );
}

// ---- user mistakes ----

#[test]
fn usage_errors_exit_2_and_say_what_is_wrong() {
    for (args, says) in [
        (
            &["run", "--bogus", "--", "true"][..],
            "unknown option '--bogus'",
        ),
        (
            &["run", "--protocol", "sysv", "--", "true"],
            "unknown protocol 'sysv'",
        ),
        (
            &["run", "--timeout", "never", "--", "true"],
            "--timeout takes a positive number",
        ),
        (
            &["run", "--listen", "nowhere", "--", "true"],
            "cannot read --listen address",
        ),
        (&["run"], "no command given"),
        (&["notify"], "nothing to send"),
        (&["frobnicate"], "unknown subcommand"),
    ] {
        let o = run(readyd(args));
        assert_eq!(o.status, 2, "{args:?}: {}", o.show());
        assert!(o.stderr.contains(says), "{args:?}: {}", o.show());
        assert!(o.stderr.contains("usage: readyd"), "{args:?}: {}", o.show());
        assert!(!o.stderr.contains("panicked"), "{}", o.show());
    }
}

#[test]
fn a_command_that_cannot_run_says_so() {
    let dir = TempDir::new("noexec");
    let plain = dir.join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();
    for (cmd, status, says) in [
        (
            "/nonexistent/daemon",
            127,
            "cannot execute '/nonexistent/daemon': No such file or directory",
        ),
        (
            "readyd-no-such-command",
            127,
            "cannot run 'readyd-no-such-command': command not found",
        ),
        (plain.as_str(), 126, "Permission denied"),
    ] {
        let o = run(readyd(&["run", "--timeout", "5", "--", cmd]));
        assert_eq!(o.status, status, "{cmd}: {}", o.show());
        assert!(o.stderr.contains(says), "{cmd}: {}", o.show());
    }
}

// ---- JSON ----

/// A JSON value, as far as the checks need it.
#[derive(Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Json::Str(s)) => Some(s),
            _ => None,
        }
    }

    fn num(&self, key: &str) -> Option<f64> {
        match self.get(key) {
            Some(Json::Num(n)) => Some(*n),
            _ => None,
        }
    }
}

/// A strict parser of one JSON text (RFC 8259): anything else is an error.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn parse(text: &str) -> Result<Json, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing bytes at {}", p.i));
        }
        Ok(v)
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && b" \t\r\n".contains(&self.s[self.i]) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Result<(), String> {
        self.ws();
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at {}", b as char, self.i))
        }
    }

    fn literal(&mut self, word: &str, v: Json) -> Result<Json, String> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(format!("bad literal at {}", self.i))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut pairs = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(pairs));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.eat(b':')?;
                    pairs.push((k, self.value()?));
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Obj(pairs));
                        }
                        _ => return Err(format!("expected ',' or '}}' at {}", self.i)),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Arr(items));
                        }
                        _ => return Err(format!("expected ',' or ']' at {}", self.i)),
                    }
                }
            }
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                if self.s[self.i] == b'-' {
                    self.i += 1;
                }
                let digits = |p: &mut Self| {
                    let s = p.i;
                    while p.i < p.s.len() && p.s[p.i].is_ascii_digit() {
                        p.i += 1;
                    }
                    p.i > s
                };
                if self.s.get(self.i) == Some(&b'0') {
                    self.i += 1;
                } else if !digits(self) {
                    return Err(format!("bad number at {start}"));
                }
                if self.s.get(self.i) == Some(&b'.') {
                    self.i += 1;
                    if !digits(self) {
                        return Err(format!("bad fraction at {start}"));
                    }
                }
                if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
                    self.i += 1;
                    if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                        self.i += 1;
                    }
                    if !digits(self) {
                        return Err(format!("bad exponent at {start}"));
                    }
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                text.parse().map(Json::Num).map_err(|e| e.to_string())
            }
            _ => Err(format!("unexpected byte at {}", self.i)),
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self.s.get(self.i..self.i + 4).ok_or("short \\u escape")?;
        self.i += 4;
        u32::from_str_radix(std::str::from_utf8(h).map_err(|e| e.to_string())?, 16)
            .map_err(|e| e.to_string())
    }

    fn string(&mut self) -> Result<String, String> {
        if self.s.get(self.i) != Some(&b'"') {
            return Err(format!("expected a string at {}", self.i));
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let b = *self.s.get(self.i).ok_or("unterminated string")?;
            self.i += 1;
            match b {
                b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                b'\\' => {
                    let e = *self.s.get(self.i).ok_or("bad escape")?;
                    self.i += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let mut u = self.hex4()?;
                            if (0xd800..0xdc00).contains(&u) {
                                if !self.s[self.i..].starts_with(b"\\u") {
                                    return Err("lone surrogate".into());
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                            }
                            char::from_u32(u).ok_or("bad \\u escape")?
                        }
                        _ => return Err(format!("bad escape at {}", self.i)),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0..0x20 => return Err(format!("raw control byte in a string at {}", self.i)),
                _ => out.push(b),
            }
        }
    }
}

#[test]
fn the_json_checker_itself() {
    assert_eq!(
        Parser::parse(r#"{"a":[1,-2.5e3,true,null],"b":"x\"\\\n\u00e9\ud83d\ude00"}"#).unwrap(),
        Json::Obj(vec![
            (
                "a".into(),
                Json::Arr(vec![
                    Json::Num(1.0),
                    Json::Num(-2500.0),
                    Json::Bool(true),
                    Json::Null
                ])
            ),
            ("b".into(), Json::Str("x\"\\\né😀".into())),
        ])
    );
    for bad in [
        "{",
        "{\"a\":}",
        "[1,]",
        "\"\u{1}\"",
        "01",
        "{\"a\":1}x",
        "'a'",
    ] {
        assert!(Parser::parse(bad).is_err(), "{bad:?} should be refused");
    }
}

fn json_events(o: &Output) -> Vec<Json> {
    o.lines()
        .map(|l| {
            let v =
                Parser::parse(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}\n{}", o.show()));
            assert!(matches!(v, Json::Obj(_)), "not an object: {l}");
            assert!(
                v.str("event").is_some() && v.num("t_ms").is_some(),
                "no event or t_ms: {l}"
            );
            v
        })
        .collect()
}

#[test]
fn json_lines_are_objects_with_exact_strings() {
    let status = "say \"hi\" \\ tab\t é ✓";
    let mut cmd = readyd(&[
        "run",
        "--json",
        "--until",
        "ready",
        "--timeout",
        "5",
        "--",
        "sh",
        "-c",
        r#"echo "this goes to stderr"; exec "$READYD" notify --ready --status="$STATUS" RELOADING=1"#,
    ]);
    cmd.env("STATUS", status);
    let o = run(cmd);
    assert_eq!(o.status, 0, "{}", o.show());
    assert!(o.stderr.contains("this goes to stderr"), "{}", o.show());
    let events = json_events(&o);
    let start = events
        .iter()
        .find(|e| e.str("event") == Some("start"))
        .expect("start event");
    let pid = start.num("pid").unwrap();
    let message = events
        .iter()
        .find(|e| e.str("event") == Some("message"))
        .expect("message event");
    let fields = message.get("fields").expect("fields");
    assert_eq!(fields.str("STATUS"), Some(status));
    assert_eq!(fields.str("READY"), Some("1"));
    assert!(events.iter().any(|e| {
        e.str("event") == Some("warning")
            && e.str("text")
                .is_some_and(|t| t.starts_with("RELOADING=1 without"))
    }));
    let verdict = events
        .iter()
        .find(|e| e.str("event") == Some("verdict"))
        .expect("verdict event");
    assert_eq!(verdict.get("ready"), Some(&Json::Bool(true)));
    assert_eq!(verdict.num("mainpid"), Some(pid));
    assert!(verdict.num("after_ms").is_some());

    let o = run(readyd(&[
        "run",
        "--json",
        "--timeout",
        "0.3",
        "--",
        "sleep",
        "5",
    ]));
    assert_eq!(o.status, 1);
    let events = json_events(&o);
    let verdict = events
        .iter()
        .find(|e| e.str("event") == Some("verdict"))
        .expect("verdict event");
    assert_eq!(verdict.get("ready"), Some(&Json::Bool(false)));
    assert_eq!(verdict.str("reason"), Some("not ready within 0.3 s"));
}

#[test]
fn control_characters_stay_escaped_in_text_and_valid_in_json() {
    let script = r#"exec "$READYD" notify --ready "$(printf 'A\033[2K\rB=v')" "STATUS=$(printf 'x\007\ry')""#;
    let o = run_sh(&["--until", "ready", "--timeout", "5"], script);
    assert_eq!(o.status, 0, "{}", o.show());
    for line in o.lines() {
        assert!(
            !line.chars().any(char::is_control),
            "raw control in {line:?}"
        );
    }
    assert!(o.has_line_containing(r"A\x1b[2K\x0dB=v"), "{}", o.show());
    let o = run_sh(&["--json", "--until", "ready", "--timeout", "5"], script);
    assert_eq!(o.status, 0, "{}", o.show());
    let events = json_events(&o);
    let message = events
        .iter()
        .find(|e| e.str("event") == Some("message"))
        .expect("message event");
    let fields = message.get("fields").expect("fields");
    assert_eq!(fields.str("A\u{1b}[2K\rB"), Some("v"));
    assert_eq!(fields.str("STATUS"), Some("x\u{7}\ry"));
}
