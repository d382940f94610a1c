//! A small daemon on readyd's Rust API: it takes the listening socket its supervisor
//! passed (socket activation; or binds 127.0.0.1 on a free port when started by hand),
//! pings the watchdog if one is asked for, says it is ready in whatever protocol its
//! supervisor speaks, and answers every connection with one line.
//!
//! ```sh
//! make        # build/readyd
//! build/readyd run --listen 127.0.0.1:0=greeting -- cargo run --example ready
//! ```
//!
//! (`cargo run` replaces itself with the example, so `LISTEN_PID` names the example.)
//!
//! `--once` answers one connection, then tells systemd it is stopping and exits.

use std::io::{self, Write};
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::UnixListener;
use std::process::ExitCode;
use std::thread;

use readyd::State;

/// A listener of either kind the supervisor may pass.
enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    /// The fd as a TCP listener when it has an IP address, as a Unix one otherwise.
    fn from_fd(fd: OwnedFd) -> Listener {
        let tcp = TcpListener::from(fd);
        if tcp.local_addr().is_ok() {
            Listener::Tcp(tcp)
        } else {
            Listener::Unix(UnixListener::from(OwnedFd::from(tcp)))
        }
    }

    fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map_or_else(|e| format!("? ({e})"), |a| a.to_string()),
            Listener::Unix(l) => match l.local_addr() {
                Ok(a) => match (a.as_pathname(), a.as_abstract_name()) {
                    (Some(path), _) => path.display().to_string(),
                    (None, Some(name)) => format!("@{}", String::from_utf8_lossy(name)),
                    (None, None) => "an unnamed socket".to_owned(),
                },
                Err(e) => format!("? ({e})"),
            },
        }
    }

    /// Accepts one connection and writes the greeting to it.
    fn answer_one(&self) -> io::Result<()> {
        let greeting = b"hello from readyd's Rust example\n";
        match self {
            Listener::Tcp(l) => l.accept()?.0.write_all(greeting),
            Listener::Unix(l) => l.accept()?.0.write_all(greeting),
        }
    }
}

fn run(once: bool) -> io::Result<()> {
    // Socket activation first: the fds are ours from here on (and only here).
    let listener = match readyd::listen_fds()?.next() {
        Some((fd, name)) => {
            eprintln!("ready: using the passed socket {name:?}");
            Listener::from_fd(fd)
        }
        None => Listener::Tcp(TcpListener::bind("127.0.0.1:0")?),
    };
    if let Some(interval) = readyd::watchdog_enabled()? {
        thread::spawn(move || {
            loop {
                thread::sleep(interval / 2);
                if readyd::watchdog().is_err() {
                    break;
                }
            }
        });
    }
    let status = format!("answering on {}", listener.describe());
    match readyd::ready_with_status(&status)? {
        Some(supervisor) => eprintln!("ready: told {supervisor:?}: {status}"),
        None => eprintln!("ready: no supervisor; {status}"),
    }
    loop {
        if let Err(e) = listener.answer_one() {
            eprintln!("ready: a connection failed: {e}");
        }
        if once {
            readyd::notify(&[State::Stopping, State::Status("answered once")])?;
            return Ok(());
        }
    }
}

fn main() -> ExitCode {
    let once = std::env::args().skip(1).any(|a| a == "--once");
    match run(once) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ready: {e}");
            // Tell the supervisor why start-up failed; nothing more to do if that fails.
            let _ = readyd::failed(e.raw_os_error().unwrap_or(0), &e.to_string());
            ExitCode::FAILURE
        }
    }
}
