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
    "usage: readyd run [--type notify|simple|exec|forking|upstart|fd] [--until ready|exit]
                  [--timeout SECS] [--settle SECS] [--notify-access main|exec|all]
                  [--watchdog USEC] [--listen ADDR[=NAME]]... [--pidfile PATH]
                  [--fdstore-max N] [--strict] [--json] -- CMD [ARGS...]";
const USAGE_NOTIFY: &str =
    "usage: readyd notify [--ready] [--reloading] [--stopping] [--status=TEXT]
                     [--pid[=PID|auto|parent|self]] [--uid=USER] [--fd=N [--fdname=NAME]]...
                     [--no-block] [FIELD=VALUE...] [--exec ... ';' CMD [ARGS...]]
       readyd notify --ready [--status=TEXT] --ready-fd=N [FIELD=VALUE...]
       readyd notify --booted";

const HELP_RUN: &str = "
Starts CMD the way a supervisor would and prints a timeline of what it did: one line per
event, with the milliseconds since the start and the sender's pid, then a verdict,
'ready after N ms with MAINPID M' or 'not ready ...'. Protocol mistakes are reported as
'warning:' lines. A readiness test harness: see 'Testing readiness in CI' in the README.

  --type notify        a notify socket in NOTIFY_SOCKET; READY=1 from the main process
                       means ready (default; also 'systemd'). BARRIER=1 is answered.
  --type simple|exec   ready when the daemon still runs after --settle SECS and every
                       --listen socket answers a connect (for daemons that never notify).
  --type forking       the started process exits 0 once the daemon it forked is ready;
                       the daemon's pid is then read from --pidfile PATH (a regular file,
                       not a symbolic link, at most 128 bytes).
  --type upstart       UPSTART_JOB set; the daemon stopping itself with SIGSTOP means
                       ready (it is then resumed with SIGCONT).
  --type fd            a pipe at fd 3 (after any --listen fds), its number in
                       READYD_NOTIFY_FD; a newline on it means ready (s6, dinit).
  --protocol TYPE      the older name of --type.
  --settle SECS        simple/exec: how long the daemon must keep running (default 1).
  --notify-access main|exec|all
                       whose messages count, as systemd's NotifyAccess=: the main pid
                       (default), also the started process of --type forking while it
                       runs (exec), or any process (all). Others are dropped with a
                       warning. Any type but notify gets a notify socket only with
                       it or with --watchdog.
  --fdstore-max N      FDSTORE=1 fds kept, as FileDescriptorStoreMax= (default 0, as in
                       systemd: every stored fd is closed, with a warning).
  --strict             every warning is a failure: before the verdict it is the verdict
                       ('not ready: a warning under --strict: ...'), after it exit 1.
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

SIGINT and SIGTERM are passed on and end the run; SIGHUP, SIGUSR1 and SIGUSR2 are passed
on to the main process; other signals that would end readyd (SIGALRM, SIGQUIT, ...) stop
the daemon and end the run, removing what readyd created.

Exit status: 0 ready (and, with --until exit, exited 0); 1 not ready or failed (or, with
--strict, a warning), with the reason on stderr; 2 a mistake on the command line;
126/127 CMD cannot be executed.";

const HELP_NOTIFY: &str = "
systemd-notify's options, with its defaults: sends one message to the service manager in
NOTIFY_SOCKET on behalf of the calling process (the script), so that NotifyAccess=main
accepts it, then waits (up to 5 s, unless --no-block) until the manager has read it.

  --ready          READY=1               --status=TEXT   STATUS=TEXT
  --reloading      RELOADING=1 and MONOTONIC_USEC=<now>
  --stopping       STOPPING=1            FIELD=VALUE     any other field
  --pid[=PID]      MAINPID=PID, and speak for PID. No value or 'auto': the caller (unless
                   it is pid 1 or $MANAGERPID); 'parent': the caller; 'self': readyd.
  --uid=USER       send with USER as the real uid (root only)
  --fd=N           pass fd N to the fd store (FDSTORE=1); repeatable
  --fdname=NAME    FDNAME=NAME for them
  --exec           after the message (and its confirmation), run the command that
                   follows ';' in place of readyd (quote the ';' in a shell)
  --no-block       do not wait for the manager to read the message
  --booted         exit 0 if systemd booted the system, else 1

readyd's own, not in systemd-notify:
  --ready-fd=N     write the message and a newline to fd N instead, then close it (s6,
                   dinit: a newline means ready). Earlier readyd called this '--fd=N';
                   --fd=N now means what it means to systemd-notify (the fd store).

Exit status: 0 sent (and confirmed); 1 not sent or not confirmed, with the reason on
stderr (also when NOTIFY_SOCKET is not set); 2 a mistake on the command line; with
--exec, the command's, or 126/127 when it cannot be executed.";

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
