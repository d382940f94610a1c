//! `readyd run --listen /path`: the socket file stays while the daemon runs, so that
//! clients can connect to it by its path, and is removed when the run ends.
//!
//! The daemon is a shell script: it says READY=1 with `readyd notify`, whose barrier is
//! answered only from the supervisor's loop, that is after readyd has handed the socket
//! over; then it looks for the file. The command under test is `build/readyd` (or
//! `$READYD_BIN`), as in tests/command.rs.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn a_path_listener_stays_until_the_run_ends() {
    let readyd = std::env::var("READYD_BIN")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/build/readyd").to_string());
    assert!(
        std::path::Path::new(&readyd).is_file(),
        "{readyd} does not exist: run `make` first"
    );
    let dir = std::env::temp_dir().join(format!("readyd-listen-path-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).expect("temp dir");
    let sock = dir.join("web.sock");
    let script = r#""$READYD" notify --ready || exit 3
if [ -S "$SOCK" ]; then echo "socket file present"; else echo "socket file missing"; fi"#;
    let mut child = Command::new(&readyd)
        .args(["run", "--until", "exit", "--timeout", "10", "--listen"])
        .arg(&sock)
        .args(["--", "sh", "-c", script])
        .env("READYD", &readyd)
        .env("SOCK", &sock)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start readyd run");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("readyd run outlived its bound");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let gone = !sock.exists();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0), "{all}");
    // A line of its own: the command line in the timeline holds the words too.
    assert!(all.lines().any(|l| l == "socket file present"), "{all}");
    assert!(gone, "the socket file is left behind after the run\n{all}");
}
