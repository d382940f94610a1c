//! `readyd run`: plays the supervisor of one daemon and prints what it sees.
//!
//! One loop, one thread: poll() over the signalfd (see `signals`), the notify socket
//! (systemd) or the notification pipe (fd), and a pidfd for a main process that is not
//! our child; the poll timeout is the nearest deadline (ready timeout, settle time,
//! watchdog, stop grace) or a short tick where something can only be polled (/proc for
//! stopped descendants under Upstart, a PID file that is not there yet, a --listen
//! socket that does not answer yet).
//!
//! Whatever a process sent before it exited is read before its exit is acted on: the
//! socket and the pipe are drained after waitpid reports an exit, so a last message
//! (STOPPING=1 just before exit) is never lost.
//!
//! readyd is a child subreaper: a daemon that forks into the background is re-parented
//! to it, so its exit (and a stop) is reported to readyd like that of a direct child.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::args::{ListenAddr, NotifyAccess, Protocol, RunOptions, Until};
use crate::output::{Json, Timeline, Verdict, escape_controls, json_string_array, quote_bytes};
use crate::pidfds;
use crate::process::{self, Exit, Waited, signal_name};
use crate::receive::{self, Message, NotifySocket};
use crate::signals::{self, Signals};
use crate::spawn::{self, Plan, SocketFile};

/// How long a daemon has to exit after SIGTERM before it gets SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long readyd waits after SIGKILL before giving up on a process.
const KILL_WAIT: Duration = Duration::from_secs(2);
/// How often what cannot be waited for is looked at.
const TICK: Duration = Duration::from_millis(50);
/// systemd reads notification messages of at most this many bytes.
const SYSTEMD_MESSAGE_MAX: usize = 4096;
/// The most of a PID file that is read: a pid and a newline need 12 bytes.
const PIDFILE_MAX: usize = 128;

/// Variables a supervisor sets: never inherited from readyd's own environment.
const PROTOCOL_VARS: [&str; 12] = [
    "NOTIFY_SOCKET",
    "FDSTORE",
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
    /// Whose messages count.
    access: NotifyAccess,
    /// The uid and gid readyd started the daemon with, and the other ones already warned
    /// about.
    start_ids: (libc::uid_t, libc::gid_t),
    warned_ids: Vec<(libc::uid_t, libc::gid_t)>,
    /// simple/exec: when the daemon has run long enough.
    settle_deadline: Instant,
    /// The --listen addresses (as bound) and how they are shown, for the simple/exec check.
    probes: Vec<(ListenAddr, String)>,
    /// The --listen socket files, removed when the run ends.
    _socket_files: Vec<SocketFile>,
    probe_failure_shown: bool,
    /// A signal other than SIGINT/SIGTERM ended the run.
    fatal: Option<i32>,
    /// What the pidfd side of the protocol has seen (senders by pidfd, warnings given).
    pidfd_seen: PidfdSeen,
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

    let listeners = match spawn::listen(&o.listen) {
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
    let mut id_vars = Vec::new();
    let mut fds: Vec<libc::c_int> = listeners.iter().map(|l| l.fd.as_raw_fd()).collect();
    if !listeners.is_empty() {
        set.push(("LISTEN_FDS".into(), listeners.len().to_string().into()));
        let names: Vec<&str> = listeners.iter().map(|l| l.name.as_str()).collect();
        set.push(("LISTEN_FDNAMES".into(), names.join(":").into()));
        pid_vars.push("LISTEN_PID");
        // As newer systemd (262 does, 257 does not): the daemon's pidfd id, on pidfs.
        if readyd::pidfd::own_inode_id().is_ok() {
            id_vars.push("LISTEN_PIDFDID");
        }
    }
    if let Some(usec) = o.watchdog_usec {
        set.push(("WATCHDOG_USEC".into(), usec.to_string().into()));
        pid_vars.push("WATCHDOG_PID");
    }
    let mut notify = None;
    let mut pipe = None;
    let mut pipe_write = None;
    let pipe_fd = 3 + listeners.len() as libc::c_int;
    // As systemd: a notify socket for Type=notify, and for any other type when
    // NotifyAccess= is set, or WatchdogSec= (which makes NotifyAccess= main by default).
    if o.protocol == Protocol::Systemd || o.notify_access.is_some() || o.watchdog_usec.is_some() {
        match NotifySocket::new() {
            Ok(s) => {
                set.push(("NOTIFY_SOCKET".into(), s.path().as_os_str().to_owned()));
                // As a user manager does: `exec readyd notify` (or systemd-notify) then
                // speaks for itself, not for its parent, the manager.
                set.push(("MANAGERPID".into(), process::own_pid().to_string().into()));
                if let Some(id) = crate::notify::pidfd_id(process::own_pid()) {
                    set.push(("MANAGERPIDFDID".into(), id.to_string().into()));
                }
                notify = Some(s);
            }
            Err(e) => return fatal(process::error_text(&e)),
        }
    }
    if o.fdstore_max > 0 && notify.is_some() {
        // systemd (254 and later) tells the daemon how many fds it may store.
        set.push(("FDSTORE".into(), o.fdstore_max.to_string().into()));
    }
    match o.protocol {
        Protocol::Systemd | Protocol::Simple | Protocol::Exec => {}
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
        id_vars,
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
            .chain(plan.id_vars.iter().map(|k| {
                let id = pidfds::id_of_pid(child).map_or_else(|| "?".into(), |i| i.to_string());
                format!("{k}={id}")
            }))
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
    // The daemon has its copies now; ours would keep the pipe from reaching end of file,
    // and a --listen socket answering connects after the daemon closed it. The socket
    // files stay until the run ends.
    drop(pipe_write);
    let mut probes = Vec::new();
    let mut socket_files = Vec::new();
    for l in listeners {
        probes.push((l.bound, l.shown));
        socket_files.extend(l.path);
    }

    let now = Instant::now();
    let mut s = Supervisor {
        ready_deadline: now + o.timeout,
        settle_deadline: now + o.settle,
        access: o.notify_access.unwrap_or(NotifyAccess::Main),
        // SAFETY: getuid and getgid have no preconditions.
        start_ids: unsafe { (libc::getuid(), libc::getgid()) },
        warned_ids: Vec::new(),
        probes,
        _socket_files: socket_files,
        probe_failure_shown: false,
        fatal: None,
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
        pidfd_seen: PidfdSeen::default(),
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
                if sig == libc::SIGINT || sig == libc::SIGTERM {
                    self.on_interrupt(sig);
                } else if signals::FORWARDED.contains(&sig) {
                    self.forward(sig);
                } else if sig != libc::SIGCHLD {
                    self.on_fatal(sig);
                }
            }
            self.reap();
            self.check_main_gone();
            self.on_timers();
            self.strict_check();
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
        let settling = self.o.protocol.settles() && self.verdict.is_none();
        if settling {
            at(self.settle_deadline.max(now + TICK));
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
            || self.main_exit.is_some()
            || self.fatal.is_some();
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
            || self.main_exit.is_some()
            || self.fatal.is_some();
        if over && self.stopping.is_none() && self.alive() {
            // Whatever already exited is not sent a signal.
            self.reap();
            if self.alive() {
                self.stop(libc::SIGTERM);
            }
        }
    }

    /// Sends `sig` (then SIGCONT, so that a stopped process can act on it) to the main
    /// process and the started one, and gives them STOP_GRACE to exit, counted from the
    /// first stop: a repeated SIGINT/SIGTERM is passed on, but does not put the SIGKILL
    /// off.
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
        if self.stopping.is_none() {
            self.stopping = Some(Stopping {
                deadline: Instant::now() + STOP_GRACE,
                killed: false,
            });
        }
    }

    /// The processes readyd may signal: never itself, never pid 1 (set_main refuses
    /// both; this is the last guard).
    fn living(&self) -> Vec<libc::pid_t> {
        let mut pids = Vec::new();
        if self.main_exit.is_none() {
            pids.push(self.main);
        }
        if self.child_exit.is_none() && self.child != self.main {
            pids.push(self.child);
        }
        pids.retain(|&p| p > 1 && p != self.me);
        pids
    }

    /// SIGHUP, SIGUSR1, SIGUSR2: passed on to the main process, which goes on running.
    fn forward(&mut self, sig: i32) {
        let name = signal_name(sig);
        let to = self.living().first().copied();
        match to {
            Some(pid) if process::kill(pid, sig) => self.out.event(
                None,
                "signal",
                &format!("received {name}: passed on to pid {pid}"),
                vec![
                    ("received", Json::Str(&name)),
                    ("to", Json::Num(i64::from(pid))),
                ],
            ),
            _ => self.out.event(
                None,
                "signal",
                &format!("received {name}: no daemon to pass it on to"),
                vec![("received", Json::Str(&name))],
            ),
        }
    }

    /// Any other signal that would end readyd: the daemon is stopped (SIGTERM, then
    /// SIGKILL) and the run ends, with its clean-up.
    fn on_fatal(&mut self, sig: i32) {
        let name = signal_name(sig);
        self.out.event(
            None,
            "signal",
            &format!("received {name}: stopping the daemon and ending the run"),
            vec![("received", Json::Str(&name))],
        );
        if self.verdict.is_none() {
            let ms = self.ms();
            self.not_ready(format!("not ready: interrupted by {name} after {ms} ms"));
        }
        self.fatal.get_or_insert(sig);
        self.stop(libc::SIGTERM);
    }

    /// --strict: the first warning before a verdict decides it.
    fn strict_check(&mut self) {
        if !self.o.strict || self.verdict.is_some() {
            return;
        }
        if let (n, Some(first)) = self.out.warnings() {
            if n > 0 {
                self.not_ready(format!("not ready: a warning under --strict: {first}"));
            }
        }
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
        if self.o.protocol.settles()
            && self.verdict.is_none()
            && self.main_exit.is_none()
            && now >= self.settle_deadline
        {
            self.settled();
        }
    }

    /// simple/exec: the daemon ran for --settle; ready once every --listen socket
    /// answers a connect (tried again every tick until --timeout).
    fn settled(&mut self) {
        for (addr, shown) in &self.probes {
            if let Err(e) = spawn::probe(addr) {
                if !self.probe_failure_shown {
                    self.probe_failure_shown = true;
                    let text = format!(
                        "still running after --settle {} s, but {shown} does not answer a \
                         connect yet ({}): waiting until --timeout",
                        self.o.settle_text,
                        process::error_text(&e)
                    );
                    self.out.event(
                        Some(self.main),
                        "probe",
                        &text,
                        vec![
                            ("address", Json::Str(shown)),
                            ("answered", Json::Bool(false)),
                        ],
                    );
                }
                return;
            }
        }
        let text = if self.probes.is_empty() {
            format!("still running after --settle {} s", self.o.settle_text)
        } else {
            format!(
                "still running after --settle {} s, and every --listen socket answers a connect",
                self.o.settle_text
            )
        };
        self.out.event(
            Some(self.main),
            "settled",
            &text,
            vec![("sockets", Json::Num(self.probes.len() as i64))],
        );
        self.ready(self.main);
    }

    // ---- children ----

    fn reap(&mut self) {
        let mut waited = Vec::new();
        while let Some(w) = process::wait_any(-1) {
            waited.push(w);
        }
        if waited.iter().any(|w| matches!(w, Waited::Ended(..))) {
            // What an exited process sent is queued by now: read it before its exit
            // decides anything.
            self.read_notify();
            self.read_pipe();
        }
        for w in waited {
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
                Protocol::Simple | Protocol::Exec => {
                    format!("running for --settle {} s", self.o.settle_text)
                }
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
            self.read_notify();
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
        let text = match read_pidfile(&path) {
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
                let why = match e.raw_os_error() {
                    Some(libc::ELOOP) => "it is a symbolic link (readyd opens PID files with \
                                          O_NOFOLLOW: write the file itself there)"
                        .to_owned(),
                    _ => process::error_text(&e),
                };
                self.not_ready(format!("not ready: cannot read PID file {shown}: {why}"));
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
        match self.unsuitable_main(pid) {
            Some(why) => self.not_ready(format!(
                "not ready: PID file {shown} names pid {pid}, which is {why}: refused"
            )),
            None => {
                self.set_main(pid);
                self.ready(pid);
            }
        }
    }

    /// Why `pid` cannot be the main process, as systemd judges it: never the supervisor
    /// itself or pid 1, never a process that is gone, and (readyd having no cgroup) never
    /// one that does not descend from the process it started or from readyd.
    fn unsuitable_main(&self, pid: libc::pid_t) -> Option<String> {
        if pid == self.me {
            Some("readyd's own pid (systemd refuses its own pid as a main pid)".into())
        } else if pid == 1 {
            Some("pid 1, the init process (systemd refuses it as a main pid)".into())
        } else if !process::exists(pid) {
            Some("not running".into())
        } else if !process::descends_from(pid, &[self.child, self.me]) {
            Some(format!(
                "neither pid {} nor one of its descendants (systemd takes a main pid from \
                 outside the service only in a message from root or a PID file owned by \
                 its own uid; readyd never does)",
                self.child
            ))
        } else {
            None
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

    fn on_message(&mut self, mut m: Message) {
        let (fields, bad) = receive::fields(&m.bytes);
        self.on_pidfd_fields(&mut m, &fields);
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

        if let Some(why) = self.unauthorized(&m) {
            self.out
                .message(m.pid, &fields, nfds, &format!("dropped: {why}"));
            if !self.warned_senders.contains(&m.pid) {
                self.warned_senders.push(m.pid);
                self.out.warning(&format!(
                    "message from pid {}, not the main pid {}: dropped, as systemd drops it \
                     under NotifyAccess={} ({why}); send it from the main process, send \
                     MAINPID= from it first, or test with --notify-access all",
                    m.pid,
                    self.main,
                    self.access.name()
                ));
            }
            // Its fds are closed with it.
            return;
        }
        self.check_ids(&m);

        let mut note = String::new();
        let mut keep = 0;
        if has("FDSTORE", "1") && nfds > 0 {
            let name = value("FDNAME").unwrap_or_else(|| "stored".into());
            keep = nfds.min(self.o.fdstore_max.saturating_sub(self.store.len()));
            let count = self.store.len() + keep;
            note = if keep == nfds {
                format!("kept in the fd store as '{name}', {count} in all")
            } else {
                format!(
                    "{keep} kept in the fd store as '{name}', {} closed, {count} in all",
                    nfds - keep
                )
            };
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
        if has("FDSTORE", "1") && nfds > 0 {
            let name = value("FDNAME").unwrap_or_else(|| "stored".into());
            if keep < nfds {
                self.out.warning(&format!(
                    "the fd store holds at most --fdstore-max {} fd(s) (systemd's \
                     FileDescriptorStoreMax=, 0 unless the unit sets it): {} fd(s) closed",
                    self.o.fdstore_max,
                    nfds - keep
                ));
            }
            // The rest are closed as they are dropped.
            self.store
                .extend(m.fds.into_iter().take(keep).map(|fd| (fd, name.clone())));
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
        // Only Type=notify is judged by READY=1 (systemd notes it under the other types).
        if has("READY", "1") && self.verdict.is_none() && self.o.protocol == Protocol::Systemd {
            self.ready(self.main);
        }
    }

    /// Why a message from `pid` does not count under --notify-access, or None when it
    /// does. Under exec the process readyd started counts while it is the control process
    /// of the forking protocol (systemd's start process of a Type=forking service).
    fn unauthorized(&self, m: &Message) -> Option<String> {
        let pid = m.pid;
        // Under the forking protocol the main pid is known from the PID file only.
        let main = self.sent_by_main(m)
            && (self.o.protocol != Protocol::Forking || self.main != self.child);
        match self.access {
            NotifyAccess::All => None,
            NotifyAccess::Main if main => None,
            NotifyAccess::Exec if main => None,
            NotifyAccess::Exec
                if self.o.protocol == Protocol::Forking
                    && pid == self.child
                    && self.verdict.is_none() =>
            {
                None
            }
            NotifyAccess::Main => Some(format!("only the main pid {} counts", self.main)),
            NotifyAccess::Exec => Some(format!(
                "only the main pid {} and the started process while it runs count",
                self.main
            )),
        }
    }

    /// Warns (once per uid/gid pair) when a message comes with other credentials than the
    /// daemon started with: it changed its uid or gid before it notified. The notify
    /// socket accepts it, as systemd's does.
    fn check_ids(&mut self, m: &Message) {
        let Some(ids) = m.uid_gid else {
            return;
        };
        if ids == self.start_ids || self.warned_ids.contains(&ids) {
            return;
        }
        self.warned_ids.push(ids);
        self.out.warning(&format!(
            "pid {} sent as uid {} gid {}, not as the daemon started (uid {} gid {}): it \
             changed its credentials before notifying. The notify socket accepts it, as \
             systemd's does; keep NOTIFY_SOCKET reachable after dropping privileges (no \
             chroot or private /run in between)",
            m.pid, ids.0, ids.1, self.start_ids.0, self.start_ids.1
        ));
    }

    fn on_mainpid(&mut self, value: &str) {
        let pid = match value.parse::<libc::pid_t>() {
            Ok(p) if p > 0 => p,
            _ => {
                self.out.warning(&format!(
                    "MAINPID={} is not a pid: ignored",
                    quote_bytes(value.as_bytes())
                ));
                return;
            }
        };
        if pid == self.main {
            return;
        }
        match self.unsuitable_main(pid) {
            Some(why) => self.out.warning(&format!(
                "MAINPID={pid} is {why}: ignored, the main pid stays {}",
                self.main
            )),
            None => self.set_main(pid),
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
        let status = match &self.verdict {
            Some(Verdict::NotReady(reason)) => {
                eprintln!("readyd run: {}", escape_controls(reason));
                1
            }
            Some(Verdict::Ready { mainpid, .. }) => match (self.fatal, self.main_exit) {
                (Some(sig), _) => {
                    eprintln!(
                        "readyd run: ended by {}: the daemon was stopped",
                        signal_name(sig)
                    );
                    1
                }
                _ if self.o.until == Until::Ready => 0,
                (None, Some(Exit::Code(0))) => 0,
                (None, Some(exit)) => {
                    eprintln!(
                        "readyd run: the daemon became ready, then pid {} {exit}",
                        self.main
                    );
                    1
                }
                (None, None) => {
                    eprintln!("readyd run: pid {mainpid} did not exit");
                    1
                }
            },
            None => {
                eprintln!("readyd run: ended without a verdict");
                1
            }
        };
        match self.out.warnings() {
            (n, Some(first)) if self.o.strict && n > 0 && status == 0 => {
                eprintln!("readyd run: {n} warning(s) under --strict, the first: {first}");
                1
            }
            _ => status,
        }
    }
}

/// A PID file's text, read as a supervisor must: the last component not followed if it
/// is a symbolic link (ELOOP), never blocking (a FIFO), a regular file only, and at most
/// PIDFILE_MAX bytes of it.
fn read_pidfile(path: &Path) -> io::Result<String> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        let what = if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_dir() {
            "a directory"
        } else {
            "something else"
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is {what}, not a regular file"),
        ));
    }
    let mut bytes = Vec::new();
    (&mut file)
        .take(PIDFILE_MAX as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > PIDFILE_MAX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it holds more than {PIDFILE_MAX} bytes, which is no PID file"),
        ));
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The pidfd side of the notify protocol (systemd 257 and later): senders named by the
/// pidfd the kernel attaches (SO_PASSPIDFD), `MAINPIDFD=1` with the main process's pidfd,
/// `MAINPIDFDID=`, and warnings for what systemd 252 would not understand.
#[derive(Default)]
struct PidfdSeen {
    /// (pid, pidfs id) of every sender seen so far.
    senders: Vec<(libc::pid_t, u64)>,
    /// Fields already warned about as newer than 252.
    warned: Vec<String>,
}

impl Supervisor {
    /// Whether a message came from the main process: by pidfd where the kernel named the
    /// sender that way (a pid can have been reused, a pidfd id never is), else by pid.
    fn sent_by_main(&self, m: &Message) -> bool {
        let sender = m
            .sender_pidfd
            .as_ref()
            .and_then(|fd| pidfds::id(fd.as_raw_fd()));
        match (sender, pidfds::id_of_pid(self.main)) {
            (Some(s), Some(main)) => s == main,
            _ => m.pid == self.main,
        }
    }

    fn on_pidfd_fields(&mut self, m: &mut Message, fields: &[(String, String)]) {
        let value = |k: &str| {
            fields
                .iter()
                .rev()
                .find(|(fk, _)| fk == k)
                .map(|(_, v)| v.as_str())
        };
        if let Some(id) = m
            .sender_pidfd
            .as_ref()
            .and_then(|fd| pidfds::id(fd.as_raw_fd()))
        {
            if !self.pidfd_seen.senders.contains(&(m.pid, id)) {
                if let Some(&(_, old)) = self.pidfd_seen.senders.iter().find(|(p, _)| *p == m.pid) {
                    self.out.warning(&format!(
                        "pid {} is another process now (pidfs id {id}, was {old}): the pid was reused",
                        m.pid
                    ));
                }
                self.pidfd_seen.senders.push((m.pid, id));
                self.out.event(
                    Some(m.pid),
                    "sender",
                    &format!(
                        "sender pid {} identified by its pidfd: pidfs id {id}",
                        m.pid
                    ),
                    vec![("pidfd_id", Json::Num(id as i64))],
                );
            }
        }
        for (k, v) in fields {
            if let Some(why) = pidfds::newer_than_252(k, v) {
                if !self.pidfd_seen.warned.contains(k) {
                    self.pidfd_seen.warned.push(k.clone());
                    self.out.warning(&format!(
                        "{why}: a daemon that relies on it needs a newer manager than Debian 12's 252"
                    ));
                }
            }
        }

        // MAINPIDFD=1: the one fd is the main process's pidfd, not one for the fd store.
        let mut named: Option<(libc::pid_t, Option<u64>)> = None;
        if value("MAINPIDFD") == Some("1") {
            if m.fds.len() == 1 {
                let fd = m.fds.remove(0);
                match pidfds::pid_of(fd.as_raw_fd()) {
                    Some(pid) => {
                        let id = pidfds::id(fd.as_raw_fd());
                        let id_text = id.map_or_else(String::new, |i| format!(" (pidfs id {i})"));
                        self.out.event(
                            Some(m.pid),
                            "mainpidfd",
                            &format!("MAINPIDFD=1: the pidfd passed names pid {pid}{id_text}"),
                            vec![
                                ("mainpid", Json::Num(i64::from(pid))),
                                ("pidfd_id", id.map_or(Json::Raw("null".into()), |i| Json::Num(i as i64))),
                            ],
                        );
                        named = Some((pid, id));
                    }
                    None => self.out.warning(
                        "MAINPIDFD=1, but the fd passed is not the pidfd of a running process: ignored",
                    ),
                }
            } else {
                self.out.warning(&format!(
                    "MAINPIDFD=1 must come with exactly one fd, the main process's pidfd (got {})",
                    m.fds.len()
                ));
            }
        }
        let mainpid = value("MAINPID").and_then(|v| v.parse::<libc::pid_t>().ok());
        if let (Some((p, _)), Some(q)) = (named, mainpid) {
            if p != q {
                self.out.warning(&format!(
                    "MAINPID={q}, but the pidfd passed with MAINPIDFD=1 names pid {p}: systemd \
                     takes the pidfd"
                ));
            }
        }
        if let Some(text) = value("MAINPIDFDID") {
            let pid = named.map(|(p, _)| p).or(mainpid);
            match (text.parse::<u64>(), pid) {
                (Ok(want), Some(pid)) => match named
                    .and_then(|(_, id)| id)
                    .or_else(|| pidfds::id_of_pid(pid))
                {
                    Some(id) if id == want => self.out.event(
                        Some(m.pid),
                        "mainpidfdid",
                        &format!("MAINPIDFDID={want} is pid {pid}'s pidfs id"),
                        vec![
                            ("mainpid", Json::Num(i64::from(pid))),
                            ("pidfd_id", Json::Num(id as i64)),
                        ],
                    ),
                    Some(id) => self.out.warning(&format!(
                        "MAINPIDFDID={want}, but pid {pid} is pidfs id {id} (another process): \
                         systemd 257 and later ignore the main pid"
                    )),
                    None => self.out.warning(&format!(
                        "MAINPIDFDID={want}: pid {pid} has no pidfs id here to compare with"
                    )),
                },
                (Err(_), _) => self
                    .out
                    .warning(&format!("MAINPIDFDID={text} is not a number: ignored")),
                (Ok(_), None) => self
                    .out
                    .warning("MAINPIDFDID= without MAINPID= or MAINPIDFD=1: ignored"),
            }
        }
        if let (Some((pid, _)), None) = (named, mainpid) {
            self.on_mainpid(&pid.to_string());
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
