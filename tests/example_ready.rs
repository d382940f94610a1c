//! `examples/ready.rs` under `readyd run --listen`: the daemon takes the passed socket
//! through the Rust API, becomes ready (the run's verdict says so), answers a connection
//! on that socket, and tells systemd it is stopping.
//!
//! The example is the one a full `cargo test` builds (target/<profile>/examples/ready);
//! `cargo test --test example_ready` alone does not rebuild it: run `cargo build --example
//! ready` first then. The command is `build/readyd`, as `make` builds it (or
//! `$READYD_BIN`), as in command.rs.

#![cfg(feature = "std")]

use std::io::Read;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

fn readyd_command() -> PathBuf {
    let path = std::env::var_os("READYD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/build/readyd")));
    assert!(
        path.is_file(),
        "{} does not exist: run `make` first (or set READYD_BIN to the command to test)",
        path.display()
    );
    path
}

/// target/<profile>/examples/ready, beside this test's own target/<profile>/deps/.
fn example() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>");
    let path = profile_dir.join("examples/ready");
    assert!(
        path.is_file(),
        "{} does not exist: `cargo test` builds it (or `cargo build --example ready`)",
        path.display()
    );
    path
}

#[test]
fn the_example_becomes_ready_and_answers_on_the_passed_socket() {
    let name = format!("readyd-example-{}", std::process::id());
    let run = Command::new(readyd_command())
        .args(["run", "--until", "exit", "--timeout", "20", "--listen"])
        .arg(format!("@{name}=greeting"))
        .arg("--")
        .arg(example())
        .arg("--once")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start readyd run");

    // The run binds the socket before it starts the daemon: connect once it exists.
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("abstract address");
    let give_up = Instant::now() + Duration::from_secs(20);
    let mut conn = loop {
        match UnixStream::connect_addr(&addr) {
            Ok(c) => break c,
            Err(e) if Instant::now() > give_up => panic!("cannot connect to @{name}: {e}"),
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    };
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).expect("read the answer");
    assert_eq!(answer, "hello from readyd's Rust example\n");

    let out = run.wait_with_output().expect("wait for readyd run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(
        stdout.contains(&format!("READY=1 STATUS=\"answering on @{name}\" MAINPID=")),
        "{report}"
    );
    assert!(stdout.contains("ready after"), "{report}");
    assert!(
        stdout.contains("STOPPING=1 STATUS=\"answered once\""),
        "{report}"
    );
    assert!(
        stderr.contains("using the passed socket \"greeting\""),
        "{report}"
    );
    assert!(!stdout.contains("warning:"), "{report}");
}
