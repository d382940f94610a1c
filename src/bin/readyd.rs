//! The `readyd` command.
//!
//! - `readyd run` plays a supervisor: it starts a daemon under systemd's notify protocol,
//!   Upstart's `expect stop`, a notification fd (s6, dinit) or the classic forking one,
//!   and prints a timeline of what the daemon did and whether (and when) it became ready.
//! - `readyd notify` is systemd-notify for shell scripts, built on the library's exports.
//!
//! Modules: `args` (the command line), `spawn` (sockets, environment, fork and exec),
//! `receive` (the notify socket), `signals` (the signalfd), `process` (exit statuses,
//! /proc, pidfds), `output` (the timeline, text or JSON), `run` and `notify` (the two
//! subcommands).

// A binary's root file finds its modules beside it (src/bin/), so each one is named by
// its path in src/bin/readyd/.
#[path = "readyd/args.rs"]
mod args;
#[path = "readyd/notify.rs"]
mod notify;
#[path = "readyd/output.rs"]
mod output;
#[path = "readyd/pidfds.rs"]
mod pidfds;
#[path = "readyd/process.rs"]
mod process;
#[path = "readyd/receive.rs"]
mod receive;
#[path = "readyd/run.rs"]
mod run;
#[path = "readyd/signals.rs"]
mod signals;
#[path = "readyd/spawn.rs"]
mod spawn;

use args::{Command, UsageError};

const USAGE_RUN: &str =
    "usage: readyd run [--protocol systemd|upstart|fd|forking] [--until ready|exit]
                  [--timeout SECS] [--watchdog USEC] [--listen ADDR[=NAME]]...
                  [--pidfile PATH] [--json] -- CMD [ARGS...]";
const USAGE_NOTIFY: &str =
    "usage: readyd notify [--ready] [--reloading] [--stopping] [--status=TEXT]
                     [--pid[=PID]] [--fd=N] [--no-block] [FIELD=VALUE...]
       readyd notify --booted";

const HELP_RUN: &str = "
Starts CMD the way a supervisor would and prints a timeline of what it did: one line per
event, with the milliseconds since the start and the sender's pid, then a verdict,
'ready after N ms with MAINPID M' or 'not ready ...'. Protocol mistakes are reported as
'warning:' lines.

  --protocol systemd   a notify socket in NOTIFY_SOCKET; READY=1 means ready (default).
                       BARRIER=1 is answered, FDSTORE=1 fds are kept and counted.
  --protocol upstart   UPSTART_JOB set; the daemon stopping itself with SIGSTOP means
                       ready (it is then resumed with SIGCONT).
  --protocol fd        a pipe at fd 3 (after any --listen fds), its number in
                       READYD_NOTIFY_FD; a newline on it means ready (s6, dinit).
  --protocol forking   the started process exits 0 once the daemon it forked is ready;
                       the daemon's pid is then read from --pidfile PATH.
  --until exit         wait for the daemon to exit, passing SIGINT and SIGTERM on to it
                       (default); exit status 0 when it was ready and exited 0.
  --until ready        stop the daemon (SIGTERM, SIGKILL 5 s later) once it is ready;
                       exit status 0 when it was ready.
  --timeout SECS       how long to wait for ready (default 30).
  --watchdog USEC      set WATCHDOG_USEC and WATCHDOG_PID; warn when WATCHDOG=1 is late.
  --listen ADDR[=NAME] a listening socket passed from fd 3 on, with LISTEN_FDS, LISTEN_PID
                       and LISTEN_FDNAMES (NAME, or 'unknown'). ADDR: 127.0.0.1:PORT,
                       [::1]:PORT, /path or @abstract; PORT 0 picks a free port. Repeatable.
  --json               one JSON object per event on stdout (the daemon's own output then
                       goes to stderr).

Exit status: 0 ready (and, with --until exit, exited 0); 1 not ready or failed, with the
reason on stderr; 2 a mistake on the command line; 126/127 CMD cannot be executed.";

const HELP_NOTIFY: &str = "
Sends one notification to the service manager in NOTIFY_SOCKET, then waits (up to 5 s,
unless --no-block) until the manager has read it, so that it is credited to the script
before it goes on. With --fd=N the message goes to fd N instead (s6, dinit), which is
then closed.

  --ready          READY=1               --status=TEXT   STATUS=TEXT
  --reloading      RELOADING=1 and MONOTONIC_USEC=<now>
  --stopping       STOPPING=1            FIELD=VALUE     any other field
  --pid[=PID]      MAINPID=PID (no value or 'parent': the calling shell), sent on its
                   behalf when privileged
  --booted         exit 0 if systemd booted the system, else 1

Exit status: 0 sent (and confirmed); 1 not sent or not confirmed, with the reason on
stderr (also when NOTIFY_SOCKET is not set); 2 a mistake on the command line.";

fn usage_for(sub: Option<&str>) -> String {
    match sub {
        Some("run") => USAGE_RUN.to_owned(),
        Some("notify") => USAGE_NOTIFY.to_owned(),
        _ => format!(
            "{}\n{}",
            USAGE_RUN,
            USAGE_NOTIFY.replacen("usage:", "      ", 1)
        ),
    }
}

fn main() {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let status = match args::parse(args) {
        Ok(Command::Run(o)) => run::run(o),
        Ok(Command::Notify(o)) => notify::notify(o),
        Ok(Command::Help(sub)) => {
            let text = match sub {
                Some("run") => format!("{USAGE_RUN}\n{HELP_RUN}"),
                Some("notify") => format!("{USAGE_NOTIFY}\n{HELP_NOTIFY}"),
                _ => format!(
                    "readyd: tell a supervisor \"I am ready, this is my PID\", and test that a \
                     daemon does.\n\n{}\n\n'readyd run --help' and 'readyd notify --help' say more.",
                    usage_for(None)
                ),
            };
            println!("{text}");
            0
        }
        Ok(Command::Version) => {
            println!("readyd {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Err(UsageError { subcommand, text }) => {
            let name = subcommand.map_or("readyd".to_owned(), |s| format!("readyd {s}"));
            eprintln!("{name}: {text}\n{}", usage_for(subcommand));
            2
        }
    };
    std::process::exit(status);
}
