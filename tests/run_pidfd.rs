//! `readyd run` and the pidfd side of the notify protocol (systemd 257 and later): the
//! sender named by the pidfd the kernel attaches, `MAINPIDFD=1` with a passed pidfd,
//! `MAINPIDFDID=`, `LISTEN_PIDFDID` for `--listen`, `$FDSTORE`, and the warnings for what
//! systemd 252 would not understand. The daemons are small python3 scripts (python3 can
//! open pidfds and pass fds); without python3 or pidfs the tests say so and pass.

use std::process::Command;

fn readyd() -> String {
    let path = std::env::var("READYD_BIN")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/build/readyd").to_string());
    assert!(
        std::path::Path::new(&path).is_file(),
        "{path} does not exist: run `make` first (or set READYD_BIN)"
    );
    path
}

/// Whether this machine can run the tests: python3, and pidfs (Linux 6.9 and later).
fn usable() -> bool {
    let python = Command::new("python3")
        .arg("-c")
        .arg("")
        .status()
        .is_ok_and(|s| s.success());
    if !python {
        eprintln!("SKIP: python3 not found");
    }
    let pidfs = readyd::pidfd::own_inode_id().is_ok();
    if !pidfs {
        eprintln!("SKIP: no pidfs here (Linux 6.9 and later)");
    }
    python && pidfs
}

/// The daemon: prints "ENV <FDSTORE> <LISTEN_PIDFDID> <own pidfd id> <pid>" on stdout,
/// then sends MAINPID=<pid>, MAINPIDFDID=<id + skew>, MAINPIDFD=1 with its pidfd, READY=1.
const DAEMON: &str = r#"
import array, os, socket, sys
skew = int(sys.argv[1])
pid = os.getpid()
fd = os.pidfd_open(pid)
ino = os.fstat(fd).st_ino
print("ENV", os.environ.get("FDSTORE", "-"), os.environ.get("LISTEN_PIDFDID", "-"), ino, pid,
      flush=True)
msg = f"MAINPID={pid}\nMAINPIDFDID={ino + skew}\nMAINPIDFD=1\nREADY=1".encode()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))], 0,
          os.environ["NOTIFY_SOCKET"])
"#;

struct Seen {
    status: i32,
    events: String,
    fdstore: String,
    listen_pidfdid: String,
    id: u64,
    pid: i32,
}

fn run(extra: &[&str], skew: u64) -> Seen {
    let mut args = vec!["run", "--json", "--until", "ready", "--timeout", "10"];
    args.extend_from_slice(extra);
    let skew = skew.to_string();
    args.extend_from_slice(&["--", "python3", "-c", DAEMON, &skew]);
    let out = Command::new(readyd())
        .args(&args)
        .output()
        .expect("readyd runs");
    let events = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let env: Vec<&str> = stderr
        .lines()
        .find_map(|l| l.strip_prefix("ENV "))
        .unwrap_or_else(|| {
            panic!("the daemon printed no ENV line; stderr: {stderr}\nstdout: {events}")
        })
        .split(' ')
        .collect();
    Seen {
        status: out.status.code().unwrap_or(-1),
        events,
        fdstore: env[0].to_owned(),
        listen_pidfdid: env[1].to_owned(),
        id: env[2].parse().unwrap(),
        pid: env[3].parse().unwrap(),
    }
}

fn has_event(s: &Seen, text: &str) -> bool {
    s.events.lines().any(|l| l.contains(text))
}

#[test]
fn mainpidfd_and_the_sender_by_pidfd() {
    if !usable() {
        return;
    }
    let s = run(&[], 0);
    assert_eq!(s.status, 0, "{}", s.events);
    // systemd's FileDescriptorStoreMax= is 0 unless the unit sets it, and then $FDSTORE is
    // not set; --fdstore-max N sets it to N.
    assert_eq!(s.fdstore, "-", "no --fdstore-max, no FDSTORE");
    let stored = run(&["--fdstore-max", "4"], 0);
    assert_eq!(stored.fdstore, "4", "FDSTORE is --fdstore-max");
    assert_eq!(s.listen_pidfdid, "-", "no --listen, no LISTEN_PIDFDID");
    let (pid, id) = (s.pid, s.id);
    for want in [
        format!(r#""pid":{pid},"event":"sender","pidfd_id":{id}}}"#),
        format!(r#""pid":{pid},"event":"mainpidfd","mainpid":{pid},"pidfd_id":{id}}}"#),
        format!(r#""pid":{pid},"event":"mainpidfdid","mainpid":{pid},"pidfd_id":{id}}}"#),
        r#""event":"verdict","ready":true,"#.to_owned(),
        "MAINPIDFD=1 is understood by systemd 257 and later".to_owned(),
        "MAINPIDFDID= is understood by systemd 257 and later".to_owned(),
    ] {
        assert!(
            has_event(&s, &want),
            "no event with {want}; events:\n{}",
            s.events
        );
    }
    // The pidfd was the main process's, not an fd for the store.
    assert!(!has_event(&s, "came without FDSTORE=1"), "{}", s.events);
}

#[test]
fn a_wrong_mainpidfdid_is_reported() {
    if !usable() {
        return;
    }
    let s = run(&[], 1);
    let want = format!(
        "MAINPIDFDID={}, but pid {} is pidfs id {}",
        s.id + 1,
        s.pid,
        s.id
    );
    assert!(
        has_event(&s, &want),
        "no warning {want}; events:\n{}",
        s.events
    );
}

#[test]
fn listen_pidfdid_is_the_daemons_own_id() {
    if !usable() {
        return;
    }
    let s = run(&["--listen", "127.0.0.1:0"], 0);
    assert_eq!(s.status, 0, "{}", s.events);
    assert_eq!(
        s.listen_pidfdid,
        s.id.to_string(),
        "LISTEN_PIDFDID names the daemon itself"
    );
    assert!(
        has_event(&s, &format!("LISTEN_PIDFDID={}", s.id)),
        "the start event shows it: {}",
        s.events
    );
}
