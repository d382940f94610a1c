//! The harness of tests/command.rs and tests/run_*.rs: `readyd run` started as a user
//! would, every wait bounded, its output split into lines.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

pub static READYD: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let path = std::env::var("READYD_BIN")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/build/readyd").to_string());
    assert!(
        std::path::Path::new(&path).is_file(),
        "{path} does not exist: run `make` first (or set READYD_BIN to the command to test)"
    );
    path
});

/// The longest any one run may take before the harness kills it.
pub const RUN_BOUND: Duration = Duration::from_secs(20);

pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.stdout.lines()
    }

    pub fn has_line_containing(&self, text: &str) -> bool {
        self.lines().any(|l| l.contains(text))
    }

    pub fn warnings(&self) -> Vec<&str> {
        self.lines().filter(|l| l.contains("warning: ")).collect()
    }

    /// The pid in the `started:` line.
    pub fn started_pid(&self) -> i32 {
        let line = self
            .lines()
            .find(|l| l.contains("  started: "))
            .unwrap_or_else(|| panic!("no start line in:\n{}", self.stdout));
        pid_after(line, "pid ")
    }

    /// The verdict line `ready after N ms with MAINPID M`, checked word by word: (N, M).
    pub fn ready_verdict(&self) -> (u64, i32) {
        let line = self
            .lines()
            .find(|l| l.starts_with("ready after "))
            .unwrap_or_else(|| {
                panic!(
                    "no ready verdict in:\n{}\nstderr:\n{}",
                    self.stdout, self.stderr
                )
            });
        let w: Vec<&str> = line.split(' ').collect();
        assert_eq!(w.len(), 7, "verdict line {line:?}");
        assert_eq!(
            (w[0], w[1], w[3], w[4], w[5]),
            ("ready", "after", "ms", "with", "MAINPID")
        );
        (
            w[2].parse().expect("ms in the verdict"),
            w[6].parse().expect("pid in the verdict"),
        )
    }

    /// The one line starting with "not ready".
    pub fn not_ready_verdict(&self) -> &str {
        let found: Vec<&str> = self
            .lines()
            .filter(|l| l.starts_with("not ready"))
            .collect();
        assert_eq!(found.len(), 1, "one not-ready verdict in:\n{}", self.stdout);
        assert!(
            !self.stdout.lines().any(|l| l.starts_with("ready after")),
            "both verdicts in:\n{}",
            self.stdout
        );
        found[0]
    }

    pub fn show(&self) -> String {
        format!(
            "status {}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// The number after `prefix` in `line`.
pub fn pid_after(line: &str, prefix: &str) -> i32 {
    let rest = &line[line
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} in {line:?}"))
        + prefix.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("a number after {prefix:?} in {line:?}"))
}

/// A `readyd` command with READYD in its environment, for the scripts.
pub fn readyd(args: &[&str]) -> Command {
    let mut c = Command::new(&*READYD);
    c.args(args).env("READYD", &*READYD);
    for v in [
        "NOTIFY_SOCKET",
        "UPSTART_JOB",
        "READYD_NOTIFY_FD",
        "LISTEN_FDS",
        "LISTEN_PID",
    ] {
        c.env_remove(v);
    }
    c
}

pub fn collect(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        let _ = tx.send(s);
    });
    rx
}

/// Waits for `child` at most RUN_BOUND; kills it and fails the test beyond.
pub fn wait_bounded(child: &mut Child, start: Instant) -> i32 {
    loop {
        if let Some(status) = child.try_wait().expect("wait for readyd") {
            return status.code().unwrap_or(-1);
        }
        if start.elapsed() > RUN_BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("readyd did not finish within {RUN_BOUND:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

pub fn run(mut cmd: Command) -> Output {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start readyd");
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let status = wait_bounded(&mut child, start);
    let elapsed = start.elapsed();
    Output {
        status,
        stdout: out.recv_timeout(RUN_BOUND).unwrap_or_default(),
        stderr: err.recv_timeout(RUN_BOUND).unwrap_or_default(),
        elapsed,
    }
}

/// A running `readyd` whose stdout is read line by line, with every wait bounded.
pub struct Streaming {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub seen: String,
    pub start: Instant,
}

impl Streaming {
    pub fn start(mut cmd: Command) -> Streaming {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start readyd");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Streaming {
            child,
            lines,
            seen: String::new(),
            start: Instant::now(),
        }
    }

    /// The first line (from now on) that `pick` accepts; fails the test when none comes
    /// within the bound.
    pub fn until<T>(&mut self, mut pick: impl FnMut(&str) -> Option<T>) -> T {
        loop {
            let left = RUN_BOUND.saturating_sub(self.start.elapsed());
            let Ok(line) = self.lines.recv_timeout(left) else {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the line looked for did not come; got:\n{}", self.seen);
            };
            self.seen.push_str(&line);
            self.seen.push('\n');
            if let Some(found) = pick(&line) {
                return found;
            }
        }
    }

    /// Waits (bounded) for readyd to exit; returns its status and everything it printed.
    pub fn finish(mut self) -> (i32, String) {
        let status = wait_bounded(&mut self.child, self.start);
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push_str(&line);
            self.seen.push('\n');
        }
        (status, self.seen)
    }
}

/// `readyd run ARGS -- sh -c SCRIPT`.
/// `readyd run ARGS -- <this test binary as the daemon ROLE>`: the test binary's own
/// `daemon_helper` test plays the daemon named by `READYD_TEST_ROLE`.
pub fn helper(role: &str, args: &[&str]) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.push("--");
    let mut c = readyd(&all);
    c.arg(exe)
        .args([
            "--exact",
            "daemon_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("READYD_TEST_ROLE", role);
    c
}

pub fn run_sh(args: &[&str], script: &str) -> Output {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--", "sh", "-c", script]);
    run(readyd(&all))
}

pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p =
            std::env::temp_dir().join(format!("readyd-command-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir(&p).expect("temp dir");
        TempDir(p)
    }

    pub fn join(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
