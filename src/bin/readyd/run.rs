//! `readyd run`: plays the supervisor of one daemon and prints what it sees.
//!
//! One loop, one thread: poll() over the signalfd (SIGCHLD, SIGINT, SIGTERM), the notify
//! socket (systemd) or the notification pipe (fd), and a pidfd for a main process that is
//! not our child; the poll timeout is the nearest deadline (ready timeout, watchdog,
//! stop grace) or a short tick where something can only be polled (/proc for stopped
//! descendants under Upstart, a PID file that is not there yet).
//!
//! readyd is a child subreaper: a daemon that forks into the background is re-parented
//! to it, so its exit (and a stop) is reported to readyd like that of a direct child.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::args::{Protocol, RunOptions, Until};
use crate::output::{Json, Timeline, Verdict, json_string_array, quote_bytes};
use crate::process::{self, Exit, Waited, signal_name};
use crate::receive::{self, Message, NotifySocket};
use crate::signals::Signals;
use crate::spawn::{self, Plan};

/// How long a daemon has to exit after SIGTERM before it gets SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long readyd waits after SIGKILL before giving up on a process.
const KILL_WAIT: Duration = Duration::from_secs(2);
/// How often what cannot be waited for is looked at.
const TICK: Duration = Duration::from_millis(50);
/// systemd reads notification messages of at most this many bytes.
const SYSTEMD_MESSAGE_MAX: usize = 4096;

/// Variables a supervisor sets: never inherited from readyd's own environment.
const PROTOCOL_VARS: [&str; 11] = [
    "NOTIFY_SOCKET",
    "LISTEN_PID",
    "LISTEN_PIDFDID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
    "UPSTART_JOB",
    "UPSTART_INSTANCE",
    "UPSTART_EVENTS",
    "READYD_NOTIFY_FD",
];

struct Watchdog {
    usec: u64,
    last: Instant,
    /// Already warned about the current silence.
    warned: bool,
}

impl Watchdog {
    fn deadline(&self) -> Instant {
        self.last + Duration::from_micros(self.usec)
    }
}

struct Stopping {
    deadline: Instant,
    killed: bool,
}

struct Supervisor {
    o: RunOptions,
    out: Timeline,
    /// What the timeline counts from.
    start: Instant,
    me: libc::pid_t,
    signals: Signals,
    child: libc::pid_t,
    child_exit: Option<Exit>,
    main: libc::pid_t,
    main_exit: Option<Exit>,
    /// Tells when a main process that is not our child exits.
    main_pidfd: Option<OwnedFd>,
    /// No pidfd could be had: look at the main process every tick.
    main_polled: bool,
    verdict: Option<Verdict>,
    ready_deadline: Instant,
    notify: Option<NotifySocket>,
    pipe: Option<OwnedFd>,
    pipe_fd: libc::c_int,
    watchdog: Option<Watchdog>,
    store: Vec<(OwnedFd, String)>,
    warned_senders: Vec<libc::pid_t>,
    /// forking: the started process exited 0, the PID file is awaited.
    pidfile_wait: bool,
    pidfile_missing_warned: bool,
    last_scan: Instant,
    stopping: Option<Stopping>,
}

/// Runs the command under the chosen protocol; returns readyd's exit status.
pub fn run(o: RunOptions) -> i32 {
    let start = Instant::now();
    let out = Timeline::new(o.json, start);
    let fatal = |text: String| {
        eprintln!("readyd run: {text}");
        1
    };
    let signals = match Signals::new() {
        Ok(s) => s,
        Err(e) => {
            return fatal(format!(
                "cannot set up signal handling: {}",
                process::error_text(&e)
            ));
        }
    };
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };

    let mut listeners = match spawn::listen(&o.listen) {
        Ok(l) => l,
        Err(e) => return fatal(e),
    };
    for (i, l) in listeners.iter().enumerate() {
        let fd = 3 + i as i64;
        out.event(
            None,
            "listen",
            &format!("listening on {} (fd {fd}, name {})", l.shown, l.name),
            vec![
                ("fd", Json::Num(fd)),
                ("name", Json::Str(&l.name)),
                ("address", Json::Str(&l.shown)),
            ],
        );
    }

    let mut set: Vec<(String, OsString)> = Vec::new();
    let mut pid_vars = Vec::new();
    let mut fds: Vec<libc::c_int> = listeners.iter().map(|l| l.fd.as_raw_fd()).collect();
    if !listeners.is_empty() {
        set.push(("LISTEN_FDS".into(), listeners.len().to_string().into()));
        let names: Vec<&str> = listeners.iter().map(|l| l.name.as_str()).collect();
        set.push(("LISTEN_FDNAMES".into(), names.join(":").into()));
        pid_vars.push("LISTEN_PID");
    }
    if let Some(usec) = o.watchdog_usec {
        set.push(("WATCHDOG_USEC".into(), usec.to_string().into()));
        pid_vars.push("WATCHDOG_PID");
    }
    let mut notify = None;
    let mut pipe = None;
    let mut pipe_write = None;
    let pipe_fd = 3 + listeners.len() as libc::c_int;
    match o.protocol {
        Protocol::Systemd => match NotifySocket::new() {
            Ok(s) => {
                set.push(("NOTIFY_SOCKET".into(), s.path().as_os_str().to_owned()));
                notify = Some(s);
            }
            Err(e) => return fatal(process::error_text(&e)),
        },
        Protocol::Upstart => {
            let job = Path::new(&o.command[0])
                .file_name()
                .map_or_else(|| "readyd".into(), |n| n.to_os_string());
            set.push(("UPSTART_JOB".into(), job));
            set.push(("UPSTART_INSTANCE".into(), OsString::new()));
        }
        Protocol::Fd => match spawn::notify_pipe() {
            Ok((r, w)) => {
                set.push(("READYD_NOTIFY_FD".into(), pipe_fd.to_string().into()));
                fds.push(w.as_raw_fd());
                pipe = Some(r);
                pipe_write = Some(w);
            }
            Err(e) => {
                return fatal(format!(
                    "cannot create the notification pipe: {}",
                    process::error_text(&e)
                ));
            }
        },
        Protocol::Forking => {}
    }
    if let Some(p) = &o.pidfile {
        if p.exists() {
            out.warning(&format!(
                "PID file {} exists before the start (left over from an earlier run?); it is \
                 read once the started process has exited",
                p.display()
            ));
        }
    }

    let plan = Plan {
        command: &o.command,
        remove: &PROTOCOL_VARS,
        set,
        pid_vars,
        fds,
        stdout_to_stderr: o.json,
    };
    let command_text: Vec<String> = o
        .command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let announce = |child: libc::pid_t| {
        let env_text: Vec<String> = plan
            .set
            .iter()
            .map(|(k, v)| format!("{k}={}", v.to_string_lossy()))
            .chain(plan.pid_vars.iter().map(|k| format!("{k}={child}")))
            .collect();
        out.event(
            Some(child),
            "start",
            &format!(
                "started: {}  ({} protocol{}{})",
                shell_words(&command_text),
                o.protocol.name(),
                if env_text.is_empty() { "" } else { "; " },
                env_text.join(" ")
            ),
            vec![
                ("protocol", Json::Str(o.protocol.name())),
                ("command", Json::Raw(json_string_array(&command_text))),
                ("env", Json::Raw(json_string_array(&env_text))),
            ],
        );
    };
    let child = match spawn::spawn(&plan, signals.old_mask(), announce) {
        Ok(pid) => pid,
        Err(e) => {
            let (text, status) = e.report();
            out.verdict(&Verdict::NotReady(format!("not ready: {text}")));
            eprintln!("readyd run: {text}");
            return status;
        }
    };
    // The daemon has its copies now; ours would keep the pipe from reaching end of file.
    drop(pipe_write);
    let _socket_files = spawn::SocketFiles::take(&mut listeners);
    drop(listeners);

    let now = Instant::now();
    let mut s = Supervisor {
        ready_deadline: now + o.timeout,
        watchdog: o.watchdog_usec.map(|usec| Watchdog {
            usec,
            last: now,
            warned: false,
        }),
        o,
        out,
        start,
        me: process::own_pid(),
        signals,
        child,
        child_exit: None,
        main: child,
        main_exit: None,
        main_pidfd: None,
        main_polled: false,
        verdict: None,
        notify,
        pipe,
        pipe_fd,
        store: Vec::new(),
        warned_senders: Vec::new(),
        pidfile_wait: false,
        pidfile_missing_warned: false,
        last_scan: now,
        stopping: None,
    };
    s.run_loop();
    s.finish()
}

/// Arguments as a shell would need them: quoted when they hold anything special.
fn shell_words(words: &[String]) -> String {
    let quote = |w: &String| {
        let plain = !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
        if plain {
            w.clone()
        } else {
            format!("'{}'", w.replace('\'', "'\\''"))
        }
    };
    words.iter().map(quote).collect::<Vec<_>>().join(" ")
}

impl Supervisor {
    fn run_loop(&mut self) {
        while !self.finished() {
            let mut pfds = vec![libc::pollfd {
                fd: self.signals.raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            for fd in [
                self.notify.as_ref().map(|n| n.raw_fd()),
                self.pipe.as_ref().map(|p| p.as_raw_fd()),
                self.main_pidfd.as_ref().map(|p| p.as_raw_fd()),
            ]
            .into_iter()
            .flatten()
            {
                pfds.push(libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
            let timeout = match self.next_wakeup() {
                None => -1,
                Some(t) => {
                    let left = t.saturating_duration_since(Instant::now());
                    // Rounded up, so that the deadline has passed when poll returns.
                    left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int
                }
            };
            // SAFETY: pfds is a valid array of pollfd of the given length.
            unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout) };

            // Messages first: whatever the daemon sent before it exited is in the queue
            // by the time its SIGCHLD is seen.
            self.read_notify();
            self.read_pipe();
            for sig in self.signals.take() {
                if sig != libc::SIGCHLD {
                    self.on_interrupt(sig);
                }
            }
            self.reap();
            self.check_main_gone();
            self.on_timers();
            self.advance();
        }
    }

    fn ms(&self) -> u64 {
        self.out.ms()
    }

    fn next_wakeup(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut at = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        let now = Instant::now();
        if self.verdict.is_none() {
            at(self.ready_deadline);
        }
        if let Some(w) = &self.watchdog {
            if !w.warned && self.main_exit.is_none() {
                at(w.deadline());
            }
        }
        if let Some(st) = &self.stopping {
            at(st.deadline);
        }
        let scanning = self.o.protocol == Protocol::Upstart && self.alive();
        if scanning || self.pidfile_wait || (self.main_polled && self.main_exit.is_none()) {
            at(now + TICK);
        }
        next
    }

    fn alive(&self) -> bool {
        self.main_exit.is_none() || self.child_exit.is_none()
    }

    fn finished(&self) -> bool {
        let Some(verdict) = &self.verdict else {
            return false;
        };
        let over = matches!(verdict, Verdict::NotReady(_))
            || self.o.until == Until::Ready
            || self.main_exit.is_some();
        if !over {
            return false;
        }
        match &self.stopping {
            Some(st) if st.killed && Instant::now() >= st.deadline => true,
            _ => !self.alive(),
        }
    }

    fn decide(&mut self, verdict: Verdict) {
        if self.verdict.is_none() {
            self.out.verdict(&verdict);
            self.verdict = Some(verdict);
        }
    }

    fn ready(&mut self, mainpid: libc::pid_t) {
        let after_ms = self.ms();
        self.decide(Verdict::Ready { after_ms, mainpid });
    }

    fn not_ready(&mut self, reason: String) {
        self.decide(Verdict::NotReady(reason));
    }

    /// After the verdict: stop the daemon when the run is over.
    fn advance(&mut self) {
        let Some(verdict) = &self.verdict else {
            return;
        };
        let over = matches!(verdict, Verdict::NotReady(_))
            || self.o.until == Until::Ready
            || self.main_exit.is_some();
        if over && self.stopping.is_none() && self.alive() {
            // Whatever already exited is not sent a signal.
            self.reap();
            if self.alive() {
                self.stop(libc::SIGTERM);
            }
        }
    }

    /// Sends `sig` (then SIGCONT, so that a stopped process can act on it) to the main
    /// process and the started one, and gives them STOP_GRACE to exit.
    fn stop(&mut self, sig: i32) {
        for pid in self.living() {
            if process::kill(pid, sig) {
                self.out.event(
                    None,
                    "signal",
                    &format!("sent {} to pid {pid}", signal_name(sig)),
                    vec![
                        ("signal", Json::Str(&signal_name(sig))),
                        ("to", Json::Num(i64::from(pid))),
                    ],
                );
                process::kill(pid, libc::SIGCONT);
            }
        }
        self.stopping = Some(Stopping {
            deadline: Instant::now() + STOP_GRACE,
            killed: false,
        });
    }

    fn living(&self) -> Vec<libc::pid_t> {
        let mut pids = Vec::new();
        if self.main_exit.is_none() {
            pids.push(self.main);
        }
        if self.child_exit.is_none() && self.child != self.main {
            pids.push(self.child);
        }
        pids
    }

    fn on_interrupt(&mut self, sig: i32) {
        let name = signal_name(sig);
        self.out.event(
            None,
            "signal",
            &format!("received {name}: passing it on"),
            vec![("received", Json::Str(&name))],
        );
        if self.verdict.is_none() {
            let ms = self.ms();
            self.not_ready(format!("not ready: interrupted by {name} after {ms} ms"));
        }
        self.stop(sig);
    }

    fn on_timers(&mut self) {
        let now = Instant::now();
        if self.verdict.is_none() && now >= self.ready_deadline {
            let text = format!("not ready within {} s", self.o.timeout_text);
            self.not_ready(text);
        }
        let late = match &mut self.watchdog {
            Some(w) if !w.warned && self.main_exit.is_none() && now >= w.deadline() => {
                w.warned = true;
                Some((w.usec, w.last))
            }
            _ => None,
        };
        if let Some((usec, last)) = late {
            let since = last.saturating_duration_since(self.start).as_millis();
            self.out.warning(&format!(
                "no WATCHDOG=1 within WATCHDOG_USEC={usec} (the last at {since} ms): systemd \
                 would now kill the daemon with SIGABRT"
            ));
        }
        let kill_now = matches!(&self.stopping, Some(st) if !st.killed && now >= st.deadline);
        if kill_now {
            for pid in self.living() {
                if process::kill(pid, libc::SIGKILL) {
                    self.out.warning(&format!(
                        "pid {pid} did not exit within {} s of being asked to: sent SIGKILL",
                        STOP_GRACE.as_secs()
                    ));
                }
            }
            self.stopping = Some(Stopping {
                deadline: now + KILL_WAIT,
                killed: true,
            });
        } else if matches!(&self.stopping, Some(st) if st.killed && now >= st.deadline) {
            for pid in self.living() {
                self.out.warning(&format!(
                    "pid {pid} is still there after SIGKILL: giving up"
                ));
            }
        }
        if self.o.protocol == Protocol::Upstart
            && self.alive()
            && now >= self.last_scan + Duration::from_millis(100)
        {
            self.last_scan = now;
            self.scan_stopped_descendants();
        }
        if self.pidfile_wait {
            self.read_pidfile();
        }
    }

    // ---- children ----

    fn reap(&mut self) {
        while let Some(w) = process::wait_any(-1) {
            match w {
                Waited::Ended(pid, exit) => self.on_exit(pid, exit),
                Waited::Stopped(pid, sig) => self.on_stop(pid, sig),
            }
        }
    }

    fn on_exit(&mut self, pid: libc::pid_t, exit: Exit) {
        self.out
            .event(Some(pid), "exit", &exit.to_string(), exit_json(exit));
        if pid == self.child {
            self.child_exit = Some(exit);
            if self.o.protocol == Protocol::Forking && self.verdict.is_none() {
                // Until the PID file names the daemon there is no main process.
                self.main_exit = Some(exit);
                if exit == Exit::Code(0) {
                    self.pidfile_wait = true;
                    self.read_pidfile();
                } else {
                    let ms = self.ms();
                    self.not_ready(format!(
                        "not ready: pid {pid} {exit} after {ms} ms (the parent of a forking \
                         daemon exits 0 once the daemon is ready)"
                    ));
                }
                return;
            }
        }
        if pid == self.main && self.main_exit.is_none() {
            self.main_gone(exit);
        }
    }

    fn main_gone(&mut self, exit: Exit) {
        self.main_exit = Some(exit);
        self.main_pidfd = None;
        if self.verdict.is_none() {
            let ms = self.ms();
            let pid = self.main;
            let missing = match self.o.protocol {
                Protocol::Systemd => "READY=1".to_owned(),
                Protocol::Upstart => "stopping itself with SIGSTOP".to_owned(),
                Protocol::Fd => format!("a newline on fd {}", self.pipe_fd),
                Protocol::Forking => "a PID file naming a running process".to_owned(),
            };
            self.not_ready(format!(
                "not ready: pid {pid} {exit} after {ms} ms, without {missing}"
            ));
        }
    }

    /// A main process that is not our child: its pidfd became readable, or (without
    /// pidfds) it no longer exists.
    fn check_main_gone(&mut self) {
        if self.main_exit.is_some() {
            return;
        }
        let gone = if let Some(fd) = &self.main_pidfd {
            let mut p = libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, no waiting.
            unsafe { libc::poll(&mut p, 1, 0) == 1 }
        } else {
            self.main_polled && !process::exists(self.main)
        };
        if gone {
            // It may have become our child meanwhile (its parent died): then the status
            // can be had.
            let exit = match process::wait_any(self.main) {
                Some(Waited::Ended(_, exit)) => exit,
                _ => Exit::Unknown,
            };
            let pid = self.main;
            self.out
                .event(Some(pid), "exit", &exit.to_string(), exit_json(exit));
            self.main_gone(exit);
        }
    }

    /// Makes `pid` the main process. If it is not our child, a pidfd tells when it exits.
    fn set_main(&mut self, pid: libc::pid_t) {
        if pid == self.main {
            return;
        }
        self.main = pid;
        self.main_exit = None;
        self.main_pidfd = None;
        self.main_polled = false;
        if pid != self.child {
            match process::pidfd_open(pid) {
                Some(fd) => self.main_pidfd = Some(fd),
                None => self.main_polled = true,
            }
        }
    }

    fn on_stop(&mut self, pid: libc::pid_t, sig: i32) {
        let name = signal_name(sig);
        let upstart = self.o.protocol == Protocol::Upstart;
        if upstart && pid == self.child && sig == libc::SIGSTOP && self.verdict.is_none() {
            process::kill(pid, libc::SIGCONT);
            self.out.event(
                Some(pid),
                "stop",
                "stopped itself with SIGSTOP: ready (sent SIGCONT)",
                vec![
                    ("signal", Json::Str(&name)),
                    ("continued", Json::Bool(true)),
                ],
            );
            self.ready(pid);
            return;
        }
        self.out.event(
            Some(pid),
            "stop",
            &format!("stopped by {name}"),
            vec![
                ("signal", Json::Str(&name)),
                ("continued", Json::Bool(true)),
            ],
        );
        let why = if !upstart {
            format!(
                "pid {pid} stopped ({name}) under the {} protocol: only Upstart's `expect stop` \
                 resumes a daemon that stops itself, any other supervisor leaves it stopped",
                self.o.protocol.name()
            )
        } else if pid != self.child {
            format!(
                "pid {pid}, a child of the Upstart daemon, stopped too ({name}): Upstart never \
                 resumes it (did it inherit UPSTART_JOB? unset it after the stop)"
            )
        } else if sig != libc::SIGSTOP {
            format!("pid {pid} stopped by {name}: Upstart takes only SIGSTOP as ready")
        } else {
            format!(
                "pid {pid} stopped itself again: Upstart resumes only the first SIGSTOP, this \
                 one would leave it stopped"
            )
        };
        self.out.warning(&format!("{why} (readyd resumed it)"));
        process::kill(pid, libc::SIGCONT);
    }

    /// Under Upstart: descendants of the daemon that stopped (its own children are not
    /// readyd's, so waitpid does not report them).
    fn scan_stopped_descendants(&mut self) {
        let mut roots = vec![self.child];
        if self.main != self.child {
            roots.push(self.main);
        }
        for (pid, state, ppid) in process::descendants(&roots) {
            if state == 'T' && ppid != self.me {
                self.out.event(
                    Some(pid),
                    "stop",
                    "stopped",
                    vec![("continued", Json::Bool(true))],
                );
                self.out.warning(&format!(
                    "pid {pid}, a descendant of the Upstart daemon, stopped too: Upstart never \
                     resumes it (did it inherit UPSTART_JOB? unset it after the stop) (readyd \
                     resumed it)"
                ));
                process::kill(pid, libc::SIGCONT);
            }
        }
    }

    // ---- forking ----

    fn read_pidfile(&mut self) {
        let Some(path) = self.o.pidfile.clone() else {
            return;
        };
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !self.pidfile_missing_warned {
                    self.pidfile_missing_warned = true;
                    self.out.warning(&format!(
                        "the started process exited 0 but PID file {shown} is not there yet: \
                         a forking daemon should write it before its parent exits"
                    ));
                }
                return;
            }
            Err(e) => {
                self.pidfile_wait = false;
                self.not_ready(format!(
                    "not ready: cannot read PID file {shown}: {}",
                    process::error_text(&e)
                ));
                return;
            }
        };
        self.pidfile_wait = false;
        let pid = match text.trim().parse::<libc::pid_t>() {
            Ok(p) if p > 0 => p,
            _ => {
                self.not_ready(format!(
                    "not ready: PID file {shown} holds {}, not a pid",
                    quote_bytes(text.as_bytes())
                ));
                return;
            }
        };
        self.out.event(
            Some(pid),
            "pidfile",
            &format!("read from PID file {shown}"),
            vec![("path", Json::Str(&shown))],
        );
        if !process::exists(pid) {
            self.not_ready(format!(
                "not ready: PID file {shown} names pid {pid}, which is not running"
            ));
        } else if !process::descends_from(pid, &[self.child, self.me]) {
            self.not_ready(format!(
                "not ready: PID file {shown} names pid {pid}, which pid {} did not start: a \
                 supervisor cannot trust it",
                self.child
            ));
        } else {
            self.set_main(pid);
            self.ready(pid);
        }
    }

    // ---- fd ----

    fn read_pipe(&mut self) {
        let Some(pipe) = &self.pipe else {
            return;
        };
        let mut buf = [0u8; 512];
        // SAFETY: reads into buf, within its length.
        let n = unsafe { libc::read(pipe.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return; // EAGAIN: nothing yet.
        }
        let fd = self.pipe_fd;
        let ms = self.ms();
        if n == 0 {
            self.pipe = None;
            self.out.event(
                Some(self.child),
                "fd",
                &format!("fd {fd}: end of file"),
                vec![("fd", Json::Num(i64::from(fd))), ("eof", Json::Bool(true))],
            );
            self.not_ready(format!(
                "not ready: fd {fd} was closed without a newline after {ms} ms"
            ));
            return;
        }
        let data = &buf[..n as usize];
        let text = String::from_utf8_lossy(data);
        self.out.event(
            Some(self.child),
            "fd",
            &format!("fd {fd}: {}", quote_bytes(data)),
            vec![("fd", Json::Num(i64::from(fd))), ("data", Json::Str(&text))],
        );
        if data.contains(&b'\n') {
            // As s6 does: the newline is the whole message, the pipe is done with.
            self.pipe = None;
            self.ready(self.child);
        }
    }

    // ---- systemd ----

    fn read_notify(&mut self) {
        loop {
            let Some(sock) = &self.notify else {
                return;
            };
            match sock.receive() {
                Ok(Some(m)) => self.on_message(m),
                Ok(None) => return,
                Err(e) => {
                    self.out.warning(&e.to_string());
                    return;
                }
            }
        }
    }

    fn on_message(&mut self, m: Message) {
        let (fields, bad) = receive::fields(&m.bytes);
        let has = |k: &str, v: &str| fields.iter().any(|(fk, fv)| fk == k && fv == v);
        let value = |k: &str| {
            fields
                .iter()
                .rev()
                .find(|(fk, _)| fk == k)
                .map(|(_, v)| v.clone())
        };
        let nfds = m.fds.len();

        if has("BARRIER", "1") {
            // Messages are handled in the order they came, so closing the fd now tells
            // the sender that everything it sent before has been seen.
            self.out.message(m.pid, &fields, nfds, "barrier answered");
            if fields.len() != 1 || nfds != 1 {
                self.out.warning(&format!(
                    "BARRIER=1 must come alone, with exactly one fd (got {} field(s), {nfds} fd(s))",
                    fields.len()
                ));
            }
            drop(m.fds);
            return;
        }

        let mut note = String::new();
        if has("FDSTORE", "1") && nfds > 0 {
            let name = value("FDNAME").unwrap_or_else(|| "stored".into());
            let count = self.store.len() + nfds;
            note = format!("kept in the fd store as '{name}', {count} in all");
        } else if has("FDSTOREREMOVE", "1") {
            let name = value("FDNAME").unwrap_or_default();
            let before = self.store.len();
            self.store.retain(|(_, n)| *n != name);
            note = format!("removed {} from the fd store", before - self.store.len());
        }
        self.out.message(m.pid, &fields, nfds, &note);

        if m.truncated || m.bytes.len() > SYSTEMD_MESSAGE_MAX {
            self.out.warning(&format!(
                "a message of more than {SYSTEMD_MESSAGE_MAX} bytes: systemd ignores it"
            ));
        }
        if m.fds_truncated {
            self.out
                .warning("the kernel dropped some of the fds passed with a message");
        }
        for line in &bad {
            self.out.warning(&format!(
                "line {} is not FIELD=VALUE: ignored",
                quote_bytes(line.as_bytes())
            ));
        }
        if m.pid != self.main && !self.warned_senders.contains(&m.pid) {
            self.warned_senders.push(m.pid);
            self.out.warning(&format!(
                "message from pid {}, not the main pid {}: systemd's default \
                 (NotifyAccess=main) ignores it; send it from the main process, or with \
                 MAINPID= first",
                m.pid, self.main
            ));
        }
        if has("FDSTORE", "1") && nfds > 0 {
            let name = value("FDNAME").unwrap_or_else(|| "stored".into());
            self.store
                .extend(m.fds.into_iter().map(|fd| (fd, name.clone())));
        } else if nfds > 0 {
            self.out.warning(&format!(
                "{nfds} fd(s) came without FDSTORE=1 (or BARRIER=1): closed"
            ));
        }
        if has("RELOADING", "1") && value("MONOTONIC_USEC").is_none() {
            self.out.warning(
                "RELOADING=1 without MONOTONIC_USEC=: Type=notify-reload needs the \
                 CLOCK_MONOTONIC time of the reload with it (readyd_reloading() sends both)",
            );
        }
        if has("WATCHDOG", "trigger") {
            self.out.warning(
                "WATCHDOG=trigger: the daemon asks to be treated as hung; systemd would kill \
                 it with SIGABRT",
            );
        }
        if has("WATCHDOG", "1") {
            if let Some(w) = &mut self.watchdog {
                w.last = Instant::now();
                w.warned = false;
            }
        }
        if let Some(v) = value("WATCHDOG_USEC") {
            match (v.parse::<u64>(), &mut self.watchdog) {
                (Ok(usec), Some(w)) if usec > 0 => w.usec = usec,
                _ => {}
            }
        }
        if let Some(v) = value("MAINPID") {
            self.on_mainpid(&v);
        }
        if has("READY", "1") && self.verdict.is_none() {
            self.ready(self.main);
        }
    }

    fn on_mainpid(&mut self, value: &str) {
        let pid = match value.parse::<libc::pid_t>() {
            Ok(p) if p > 0 => p,
            _ => {
                self.out
                    .warning(&format!("MAINPID={value} is not a pid: ignored"));
                return;
            }
        };
        if pid == self.main {
            return;
        }
        if !process::exists(pid) {
            self.out
                .warning(&format!("MAINPID={pid}: no such process; ignored"));
        } else if !process::descends_from(pid, &[self.child, self.me]) {
            self.out.warning(&format!(
                "MAINPID={pid} is neither pid {} nor one of its descendants: ignored, the main \
                 pid stays {}",
                self.child, self.main
            ));
        } else {
            self.set_main(pid);
        }
    }

    /// The end: what is left of the daemon's process group, the fd store, and the exit
    /// status with its reason on stderr.
    fn finish(self) -> i32 {
        // Processes the daemon left behind in its process group (systemd stops a unit's
        // whole cgroup).
        if process::exists(-self.child) && process::kill(-self.child, libc::SIGKILL) {
            self.out.event(
                None,
                "signal",
                &format!(
                    "sent SIGKILL to what was left in process group {}",
                    self.child
                ),
                vec![
                    ("signal", Json::Str("SIGKILL")),
                    ("group", Json::Num(i64::from(self.child))),
                ],
            );
        }
        if !self.store.is_empty() {
            let names: Vec<&str> = self.store.iter().map(|(_, n)| n.as_str()).collect();
            self.out.event(
                None,
                "fdstore",
                &format!("fd store: {} fd(s): {}", names.len(), names.join(", ")),
                vec![
                    ("count", Json::Num(names.len() as i64)),
                    ("names", Json::Raw(json_string_array(&names))),
                ],
            );
        }
        match &self.verdict {
            Some(Verdict::NotReady(reason)) => {
                eprintln!("readyd run: {reason}");
                1
            }
            Some(Verdict::Ready { mainpid, .. }) => {
                if self.o.until == Until::Ready {
                    return 0;
                }
                match self.main_exit {
                    Some(Exit::Code(0)) => 0,
                    Some(exit) => {
                        eprintln!(
                            "readyd run: the daemon became ready, then pid {} {exit}",
                            self.main
                        );
                        1
                    }
                    None => {
                        eprintln!("readyd run: pid {mainpid} did not exit");
                        1
                    }
                }
            }
            None => {
                eprintln!("readyd run: ended without a verdict");
                1
            }
        }
    }
}

fn exit_json(exit: Exit) -> Vec<(&'static str, Json<'static>)> {
    match exit {
        Exit::Code(c) => vec![("status", Json::Num(i64::from(c)))],
        Exit::Signal(s) => vec![("signal", Json::Raw(format!("\"{}\"", signal_name(s))))],
        Exit::Unknown => vec![("status", Json::Raw("null".into()))],
    }
}
