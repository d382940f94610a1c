//! Command-line parsing for `readyd run` and `readyd notify`, by hand: options are
//! `--name VALUE` or `--name=VALUE`; the command of `run` follows `--` (or the first
//! argument that is not an option) and is passed on byte for byte.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// What the user asked for.
pub enum Command {
    Run(RunOptions),
    Notify(NotifyOptions),
    /// `--help` of the whole command or of one subcommand (its name, if any).
    Help(Option<&'static str>),
    Version,
}

/// A mistake on the command line: the text says what is wrong; the caller adds the usage
/// line of `subcommand` and exits 2.
#[derive(Debug)]
pub struct UsageError {
    pub subcommand: Option<&'static str>,
    pub text: String,
}

fn usage_error(subcommand: &'static str, text: impl Into<String>) -> UsageError {
    UsageError {
        subcommand: Some(subcommand),
        text: text.into(),
    }
}

/// The readiness protocol `readyd run` speaks with the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Systemd,
    Upstart,
    Fd,
    Forking,
    /// Type=simple: ready when still running after --settle and every --listen socket
    /// answers a connect.
    Simple,
    /// Type=exec: judged as simple (readyd always waits for the execve).
    Exec,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Systemd => "systemd",
            Protocol::Upstart => "upstart",
            Protocol::Fd => "fd",
            Protocol::Forking => "forking",
            Protocol::Simple => "simple",
            Protocol::Exec => "exec",
        }
    }

    /// Judged by "still running after --settle" rather than by a message.
    pub fn settles(self) -> bool {
        matches!(self, Protocol::Simple | Protocol::Exec)
    }
}

/// Whose notification messages count (systemd's NotifyAccess=).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyAccess {
    /// Only the main process (systemd's default for Type=notify).
    Main,
    /// The main process and the process readyd started while it is the control process
    /// (under the forking protocol, until it exits).
    Exec,
    /// Any process.
    All,
}

impl NotifyAccess {
    pub fn name(self) -> &'static str {
        match self {
            NotifyAccess::Main => "main",
            NotifyAccess::Exec => "exec",
            NotifyAccess::All => "all",
        }
    }
}

/// When `readyd run` ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// Stop the daemon as soon as it is ready.
    Ready,
    /// Wait for the daemon to exit.
    Exit,
}

/// Where a `--listen` socket is bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenAddr {
    Inet(SocketAddr),
    /// An AF_UNIX stream socket at a file system path.
    Path(PathBuf),
    /// An AF_UNIX stream socket in the abstract namespace (the name without the `@`).
    Abstract(Vec<u8>),
}

/// One `--listen ADDR[=NAME]`.
#[derive(Clone, Debug)]
pub struct Listen {
    pub addr: ListenAddr,
    /// The name passed in `LISTEN_FDNAMES`; "unknown" when none was given.
    pub name: String,
}

/// `readyd run`.
#[derive(Debug)]
pub struct RunOptions {
    pub protocol: Protocol,
    pub until: Until,
    pub timeout: Duration,
    /// The timeout as the user wrote it, for messages ("not ready within 2.5 s").
    pub timeout_text: String,
    pub watchdog_usec: Option<u64>,
    pub listen: Vec<Listen>,
    pub pidfile: Option<PathBuf>,
    pub json: bool,
    /// `--settle`: how long a simple/exec daemon must stay up.
    pub settle: Duration,
    pub settle_text: String,
    /// `--notify-access`; None: main, and no notify socket for simple/exec.
    pub notify_access: Option<NotifyAccess>,
    /// `--fdstore-max`: systemd's FileDescriptorStoreMax= (default 0).
    pub fdstore_max: usize,
    /// `--strict`: every warning is a failure.
    pub strict: bool,
    /// The command and its arguments; never empty.
    pub command: Vec<OsString>,
}

/// `readyd notify`.
#[derive(Debug, Default)]
pub struct NotifyOptions {
    pub ready: bool,
    pub reloading: bool,
    pub stopping: bool,
    pub status: Option<String>,
    /// `--pid[=...]`: sends `MAINPID=` and speaks for that process.
    pub pid: Option<PidChoice>,
    /// `--uid=USER`: the user (name or number) to send as.
    pub uid: Option<String>,
    /// `--fd=N`, repeatable: descriptors for the fd store (`FDSTORE=1`).
    pub fds: Vec<libc::c_int>,
    /// `--fdname=NAME`: `FDNAME=` for them.
    pub fdname: Option<String>,
    /// `--ready-fd=N`: readyd's own, write the message to fd N (s6, dinit) instead.
    pub ready_fd: Option<libc::c_int>,
    /// `--exec ... ; CMD...`: the command run once the message is sent (empty: none).
    pub exec: Vec<OsString>,
    pub booted: bool,
    /// Skip the barrier.
    pub no_block: bool,
    /// Extra `FIELD=VALUE` lines, in order.
    pub fields: Vec<String>,
}

/// Whom `--pid` names (systemd-notify's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidChoice {
    /// No value or `auto`: the caller, unless that is pid 1 or `$MANAGERPID`.
    Auto,
    /// `parent`: the caller, always.
    Parent,
    /// `self`: readyd itself.
    Itself,
    /// A number.
    Pid(libc::pid_t),
}

/// The most `--listen` sockets one run passes (fds 3 and up).
pub const MAX_LISTEN: usize = 64;

/// Default for `--timeout`.
pub const DEFAULT_TIMEOUT_SECS: &str = "30";

/// Default for `--settle`.
pub const DEFAULT_SETTLE_SECS: &str = "1";

/// The most `--fdstore-max` takes (systemd's own ceiling is far above what a test needs).
pub const MAX_FDSTORE: usize = 4096;

pub fn parse(args: Vec<OsString>) -> Result<Command, UsageError> {
    let mut args = args.into_iter();
    let Some(first) = args.next() else {
        return Err(UsageError {
            subcommand: None,
            text: "a subcommand is needed: run or notify".into(),
        });
    };
    let rest: Vec<OsString> = args.collect();
    match first.to_str() {
        Some("run") => parse_run(rest),
        Some("notify") => parse_notify(rest),
        Some("-h" | "--help" | "help") => Ok(Command::Help(None)),
        Some("-V" | "--version") => Ok(Command::Version),
        _ => Err(UsageError {
            subcommand: None,
            text: format!(
                "unknown subcommand '{}': use run or notify",
                first.to_string_lossy()
            ),
        }),
    }
}

/// Splits `--name=value` into its two halves; `--name` gives no value.
fn split_option(arg: &str) -> (&str, Option<&str>) {
    match arg.split_once('=') {
        Some((name, value)) if name.starts_with("--") => (name, Some(value)),
        _ => (arg, None),
    }
}

/// The value of an option: after `=`, or the next argument.
fn value_of(
    sub: &'static str,
    name: &str,
    inline: Option<&str>,
    args: &mut impl Iterator<Item = OsString>,
) -> Result<String, UsageError> {
    if let Some(v) = inline {
        return Ok(v.to_owned());
    }
    match args.next() {
        Some(v) => v
            .into_string()
            .map_err(|_| usage_error(sub, format!("the value of {name} is not valid UTF-8"))),
        None => Err(usage_error(sub, format!("{name} needs a value"))),
    }
}

fn parse_run(args: Vec<OsString>) -> Result<Command, UsageError> {
    const SUB: &str = "run";
    let mut protocol = Protocol::Systemd;
    let mut until = Until::Exit;
    let mut timeout_text = DEFAULT_TIMEOUT_SECS.to_owned();
    let mut watchdog_usec = None;
    let mut listen = Vec::new();
    let mut pidfile = None;
    let mut json = false;
    let mut settle_text = DEFAULT_SETTLE_SECS.to_owned();
    let mut notify_access = None;
    let mut fdstore_max = 0;
    let mut strict = false;
    let mut command = Vec::new();

    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else {
            return Err(usage_error(
                SUB,
                format!("unknown argument '{}'", arg.to_string_lossy()),
            ));
        };
        if text == "--" {
            command.extend(args.by_ref());
            break;
        }
        if !text.starts_with('-') || text == "-" {
            // The command starts here (no `--` needed when it does not look like an option).
            command.push(arg);
            command.extend(args.by_ref());
            break;
        }
        let (name, inline) = split_option(text);
        let flag = |inline: Option<&str>| match inline {
            Some(_) => Err(usage_error(SUB, format!("{name} takes no value"))),
            None => Ok(()),
        };
        match name {
            "-h" | "--help" => return Ok(Command::Help(Some(SUB))),
            "--json" => {
                flag(inline)?;
                json = true;
            }
            "--strict" => {
                flag(inline)?;
                strict = true;
            }
            // --protocol is the older name of --type.
            "--type" | "--protocol" => {
                protocol = match value_of(SUB, name, inline, &mut args)?.as_str() {
                    "systemd" | "notify" => Protocol::Systemd,
                    "upstart" => Protocol::Upstart,
                    "fd" | "s6" => Protocol::Fd,
                    "forking" => Protocol::Forking,
                    "simple" => Protocol::Simple,
                    "exec" => Protocol::Exec,
                    other => {
                        return Err(usage_error(
                            SUB,
                            format!(
                                "unknown protocol '{other}' for --type: use notify, simple, exec, \
                                 forking, upstart or fd"
                            ),
                        ));
                    }
                }
            }
            "--notify-access" => {
                notify_access = Some(match value_of(SUB, name, inline, &mut args)?.as_str() {
                    "main" => NotifyAccess::Main,
                    "exec" => NotifyAccess::Exec,
                    "all" => NotifyAccess::All,
                    other => {
                        return Err(usage_error(
                            SUB,
                            format!("--notify-access takes main, exec or all, not '{other}'"),
                        ));
                    }
                })
            }
            "--settle" => settle_text = value_of(SUB, name, inline, &mut args)?,
            "--fdstore-max" => {
                let v = value_of(SUB, name, inline, &mut args)?;
                match v.parse::<usize>() {
                    Ok(n) if n <= MAX_FDSTORE => fdstore_max = n,
                    _ => {
                        return Err(usage_error(
                            SUB,
                            format!(
                                "--fdstore-max takes a number from 0 to {MAX_FDSTORE}, not '{v}'"
                            ),
                        ));
                    }
                }
            }
            "--until" => {
                until = match value_of(SUB, name, inline, &mut args)?.as_str() {
                    "ready" => Until::Ready,
                    "exit" => Until::Exit,
                    other => {
                        return Err(usage_error(
                            SUB,
                            format!("--until takes ready or exit, not '{other}'"),
                        ));
                    }
                }
            }
            "--timeout" => timeout_text = value_of(SUB, name, inline, &mut args)?,
            "--watchdog" => {
                let v = value_of(SUB, name, inline, &mut args)?;
                match v.parse::<u64>() {
                    Ok(n) if n > 0 && n < u64::MAX => watchdog_usec = Some(n),
                    _ => {
                        return Err(usage_error(
                            SUB,
                            format!(
                                "--watchdog takes a positive number of microseconds, not '{v}'"
                            ),
                        ));
                    }
                }
            }
            "--listen" => {
                let v = value_of(SUB, name, inline, &mut args)?;
                listen.push(parse_listen(&v)?);
            }
            "--pidfile" => {
                let v = value_of(SUB, name, inline, &mut args)?;
                if v.is_empty() {
                    return Err(usage_error(SUB, "--pidfile needs a path"));
                }
                pidfile = Some(PathBuf::from(v));
            }
            _ => return Err(usage_error(SUB, format!("unknown option '{name}'"))),
        }
    }

    let timeout = parse_seconds(&timeout_text).ok_or_else(|| {
        usage_error(
            SUB,
            format!("--timeout takes a positive number of seconds, not '{timeout_text}'"),
        )
    })?;
    let settle = parse_seconds(&settle_text).ok_or_else(|| {
        usage_error(
            SUB,
            format!("--settle takes a positive number of seconds, not '{settle_text}'"),
        )
    })?;
    if protocol.settles() && settle >= timeout {
        return Err(usage_error(
            SUB,
            format!(
                "--settle {settle_text} must be shorter than --timeout {timeout_text}: a \
                 {} daemon is ready once it has run for --settle seconds",
                protocol.name()
            ),
        ));
    }
    if command.is_empty() {
        return Err(usage_error(SUB, "no command given: add -- CMD [ARGS...]"));
    }
    if protocol == Protocol::Forking && pidfile.is_none() {
        return Err(usage_error(
            SUB,
            "--protocol forking needs --pidfile PATH: the daemon's pid is read from it once \
             the started process has exited",
        ));
    }
    if protocol != Protocol::Forking && pidfile.is_some() {
        return Err(usage_error(
            SUB,
            "--pidfile is only used with --type forking",
        ));
    }
    if listen.len() > MAX_LISTEN {
        return Err(usage_error(
            SUB,
            format!("at most {MAX_LISTEN} --listen sockets"),
        ));
    }
    Ok(Command::Run(RunOptions {
        protocol,
        until,
        timeout,
        timeout_text,
        watchdog_usec,
        listen,
        pidfile,
        json,
        settle,
        settle_text,
        notify_access,
        fdstore_max,
        strict,
        command,
    }))
}

/// A positive number of seconds, possibly with a fraction ("2", "0.5").
fn parse_seconds(text: &str) -> Option<Duration> {
    let secs: f64 = text.parse().ok()?;
    if secs.is_finite() && secs > 0.0 && secs < 1e9 {
        Some(Duration::from_secs_f64(secs))
    } else {
        None
    }
}

/// `ADDR[=NAME]`: `127.0.0.1:PORT`, `[::1]:PORT`, `/path` or `@abstract`. A path may not
/// contain `=` (it would be read as the start of the name).
pub fn parse_listen(text: &str) -> Result<Listen, UsageError> {
    const SUB: &str = "run";
    let (addr_text, name) = match text.split_once('=') {
        Some((a, n)) => (a, Some(n)),
        None => (text, None),
    };
    let addr = if let Some(path) = addr_text.strip_prefix('@') {
        if path.is_empty() {
            return Err(usage_error(SUB, "--listen @NAME needs a name after '@'"));
        }
        ListenAddr::Abstract(path.as_bytes().to_vec())
    } else if addr_text.starts_with('/') {
        ListenAddr::Path(PathBuf::from(addr_text))
    } else {
        match addr_text.parse::<SocketAddr>() {
            Ok(a) => ListenAddr::Inet(a),
            Err(_) => {
                return Err(usage_error(
                    SUB,
                    format!(
                        "cannot read --listen address '{addr_text}': use 127.0.0.1:PORT, \
                         [::1]:PORT, /path or @name (PORT may be 0)"
                    ),
                ));
            }
        }
    };
    let name = match name {
        None => "unknown".to_owned(),
        Some(n) => {
            let valid = !n.is_empty()
                && n.len() <= 255
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b':');
            if !valid {
                return Err(usage_error(
                    SUB,
                    format!(
                        "bad --listen name '{n}': 1 to 255 printable ASCII characters, \
                         no spaces and no ':'"
                    ),
                ));
            }
            n.to_owned()
        }
    };
    Ok(Listen { addr, name })
}

fn parse_notify(args: Vec<OsString>) -> Result<Command, UsageError> {
    const SUB: &str = "notify";
    let mut o = NotifyOptions::default();
    let mut args = args.into_iter();
    let mut options_done = false;
    let mut exec = false;
    while let Some(arg) = args.next() {
        if exec && arg == ";" {
            // The rest is the command, as given (a leading `--` is dropped, as
            // systemd-notify's option parser does).
            let mut rest: Vec<OsString> = args.by_ref().collect();
            if rest.first().is_some_and(|a| a == "--") {
                rest.remove(0);
            }
            if rest.is_empty() {
                return Err(usage_error(SUB, "--exec: no command after ';'"));
            }
            o.exec = rest;
            break;
        }
        let Some(text) = arg.to_str() else {
            return Err(usage_error(SUB, "arguments must be valid UTF-8"));
        };
        if text == "-h" && !options_done {
            return Ok(Command::Help(Some(SUB)));
        }
        if options_done || !text.starts_with("--") {
            o.fields.push(check_field(text)?);
            continue;
        }
        if text == "--" {
            options_done = true;
            continue;
        }
        let (name, inline) = split_option(text);
        let flag = |inline: Option<&str>| match inline {
            Some(_) => Err(usage_error(SUB, format!("{name} takes no value"))),
            None => Ok(true),
        };
        let fd_number = |v: &str| match v.parse::<libc::c_int>() {
            Ok(fd) if fd >= 0 => Ok(fd),
            _ => Err(usage_error(
                SUB,
                format!("{name} takes a file descriptor number, not '{v}'"),
            )),
        };
        match name {
            "--help" => return Ok(Command::Help(Some(SUB))),
            "--version" => return Ok(Command::Version),
            "--ready" => o.ready = flag(inline)?,
            "--reloading" => o.reloading = flag(inline)?,
            "--stopping" => o.stopping = flag(inline)?,
            "--booted" => o.booted = flag(inline)?,
            "--no-block" => o.no_block = flag(inline)?,
            "--exec" => exec = flag(inline)?,
            "--status" => {
                let v = value_of(SUB, name, inline, &mut args)?;
                if v.contains('\n') {
                    return Err(usage_error(SUB, "--status must be one line"));
                }
                o.status = Some(v);
            }
            "--pid" => {
                // The value is optional, so it must be attached: `--pid=N`.
                o.pid = Some(match inline {
                    None | Some("" | "auto") => PidChoice::Auto,
                    Some("parent") => PidChoice::Parent,
                    Some("self") => PidChoice::Itself,
                    Some(v) => match v.parse::<libc::pid_t>() {
                        Ok(p) if p > 0 => PidChoice::Pid(p),
                        _ => {
                            return Err(usage_error(
                                SUB,
                                format!(
                                    "--pid takes a positive pid, 'auto', 'parent' or 'self', \
                                     not '{v}'"
                                ),
                            ));
                        }
                    },
                });
            }
            "--uid" => {
                let v = value_of(SUB, name, inline, &mut args)?;
                if v.is_empty() {
                    return Err(usage_error(SUB, "--uid takes a user name or number"));
                }
                o.uid = Some(v);
            }
            "--fd" => {
                let fd = fd_number(&value_of(SUB, name, inline, &mut args)?)?;
                if o.fds.contains(&fd) {
                    return Err(usage_error(SUB, format!("--fd={fd} is given twice")));
                }
                o.fds.push(fd);
            }
            "--fdname" => {
                let v = value_of(SUB, name, inline, &mut args)?;
                // systemd's rule for fd names: printable ASCII without ':', at most 255.
                let valid = !v.is_empty()
                    && v.len() <= 255
                    && v.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b':');
                if !valid {
                    return Err(usage_error(
                        SUB,
                        format!(
                            "--fdname '{v}': a name is 1 to 255 printable ASCII characters, \
                             without ':'"
                        ),
                    ));
                }
                o.fdname = Some(v);
            }
            "--ready-fd" => {
                o.ready_fd = Some(fd_number(&value_of(SUB, name, inline, &mut args)?)?);
            }
            "--fork" => {
                return Err(usage_error(
                    SUB,
                    "--fork (systemd-notify 258, the receiving side) is not supported: \
                     'readyd run -- CMD' starts a command and waits for its READY=1",
                ));
            }
            _ => return Err(usage_error(SUB, format!("unknown option '{name}'"))),
        }
    }
    if exec && o.exec.is_empty() {
        return Err(usage_error(
            SUB,
            "--exec needs ';' and a command after the message: \
             readyd notify --exec --ready ';' CMD [ARGS...]",
        ));
    }
    if o.fdname.is_some() && o.fds.is_empty() {
        return Err(usage_error(SUB, "--fdname needs --fd=N"));
    }
    let message = o.ready
        || o.reloading
        || o.stopping
        || o.status.is_some()
        || o.pid.is_some()
        || !o.fds.is_empty()
        || !o.fields.is_empty();
    if o.booted {
        // As systemd-notify: the message is ignored (with a warning, by notify()).
        return Ok(Command::Notify(o));
    }
    if !message {
        return Err(usage_error(
            SUB,
            "nothing to send: give --ready, --reloading, --stopping, --status=TEXT, --pid, \
             --fd=N or FIELD=VALUE",
        ));
    }
    if o.ready_fd.is_some() {
        if !o.ready {
            return Err(usage_error(
                SUB,
                "--ready-fd=N writes a readiness line (any newline on that fd means ready): \
                 use it with --ready",
            ));
        }
        if !o.fds.is_empty() || o.uid.is_some() || exec {
            return Err(usage_error(
                SUB,
                "--ready-fd=N writes to a descriptor, not to NOTIFY_SOCKET: --fd, --uid and \
                 --exec do not apply",
            ));
        }
    }
    Ok(Command::Notify(o))
}

/// A `FIELD=VALUE` argument: a non-empty name, and no newline anywhere (a newline would
/// start another field).
fn check_field(text: &str) -> Result<String, UsageError> {
    match text.split_once('=') {
        Some((name, _)) if !name.is_empty() && !text.contains('\n') => Ok(text.to_owned()),
        _ => Err(usage_error(
            "notify",
            format!("'{text}' is neither an option nor a FIELD=VALUE assignment on one line"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn run(args: &[&str]) -> Result<RunOptions, UsageError> {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        match parse(os(&all))? {
            Command::Run(o) => Ok(o),
            _ => panic!("not a run command"),
        }
    }

    #[test]
    fn run_defaults() {
        let o = run(&["--", "sleep", "1"]).unwrap();
        assert_eq!(o.protocol, Protocol::Systemd);
        assert_eq!(o.until, Until::Exit);
        assert_eq!(o.timeout, Duration::from_secs(30));
        assert_eq!(o.command, os(&["sleep", "1"]));
    }

    #[test]
    fn run_options_in_both_forms() {
        let o = run(&[
            "--protocol=upstart",
            "--until",
            "ready",
            "--timeout=0.5",
            "--watchdog",
            "2000",
            "--json",
            "cmd",
            "--not-ours",
        ])
        .unwrap();
        assert_eq!(o.protocol, Protocol::Upstart);
        assert_eq!(o.until, Until::Ready);
        assert_eq!(o.timeout, Duration::from_millis(500));
        assert_eq!(o.timeout_text, "0.5");
        assert_eq!(o.watchdog_usec, Some(2000));
        assert!(o.json);
        assert_eq!(o.command, os(&["cmd", "--not-ours"]));
    }

    #[test]
    fn run_mistakes_are_usage_errors() {
        for bad in [
            &["--protocol", "sysv", "--", "x"][..],
            &["--until", "later", "--", "x"],
            &["--timeout", "0", "--", "x"],
            &["--timeout", "soon", "--", "x"],
            &["--watchdog", "-5", "--", "x"],
            &["--listen", "localhost", "--", "x"],
            &["--listen", "127.0.0.1:0=a:b", "--", "x"],
            &["--protocol", "forking", "--", "x"],
            &["--pidfile", "/x", "--", "x"],
            &["--bogus", "--", "x"],
            &["--json=yes", "--", "x"],
            &["--timeout"],
            &[],
        ] {
            assert!(run(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn run_types_and_their_options() {
        let o = run(&["--type", "simple", "--settle=0.5", "--", "x"]).unwrap();
        assert_eq!(o.protocol, Protocol::Simple);
        assert_eq!(o.settle, Duration::from_millis(500));
        assert_eq!(o.notify_access, None);
        assert_eq!(o.fdstore_max, 0);
        assert!(!o.strict);
        for (name, protocol) in [
            ("notify", Protocol::Systemd),
            ("systemd", Protocol::Systemd),
            ("exec", Protocol::Exec),
            ("fd", Protocol::Fd),
        ] {
            assert_eq!(run(&["--protocol", name, "x"]).unwrap().protocol, protocol);
            assert_eq!(run(&["--type", name, "x"]).unwrap().protocol, protocol);
        }
        let o = run(&[
            "--notify-access=exec",
            "--fdstore-max",
            "7",
            "--strict",
            "--",
            "x",
        ])
        .unwrap();
        assert_eq!(o.notify_access, Some(NotifyAccess::Exec));
        assert_eq!(o.fdstore_max, 7);
        assert!(o.strict);
        for bad in [
            &["--type", "oneshot", "x"][..],
            &["--notify-access", "none", "x"],
            &["--fdstore-max", "4097", "x"],
            &["--settle", "0", "x"],
            &["--type", "exec", "--settle", "30", "x"],
            &["--strict=yes", "x"],
        ] {
            assert!(run(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn listen_addresses() {
        let l = parse_listen("127.0.0.1:0=web").unwrap();
        assert_eq!(l.addr, ListenAddr::Inet("127.0.0.1:0".parse().unwrap()));
        assert_eq!(l.name, "web");
        let l = parse_listen("[::1]:8080").unwrap();
        assert_eq!(l.addr, ListenAddr::Inet("[::1]:8080".parse().unwrap()));
        assert_eq!(l.name, "unknown");
        let l = parse_listen("/run/x.sock=ctl").unwrap();
        assert_eq!(l.addr, ListenAddr::Path("/run/x.sock".into()));
        let l = parse_listen("@abs").unwrap();
        assert_eq!(l.addr, ListenAddr::Abstract(b"abs".to_vec()));
        assert!(parse_listen("@").is_err());
        assert!(parse_listen("/x=").is_err());
    }

    fn notify(args: &[&str]) -> Result<NotifyOptions, UsageError> {
        let mut all = vec!["notify"];
        all.extend_from_slice(args);
        match parse(os(&all))? {
            Command::Notify(o) => Ok(o),
            _ => panic!("not a notify command"),
        }
    }

    #[test]
    fn notify_options() {
        let o = notify(&["--ready", "--status=up and running", "--pid=42", "X_A=1"]).unwrap();
        assert!(o.ready);
        assert_eq!(o.status.as_deref(), Some("up and running"));
        assert_eq!(o.pid, Some(PidChoice::Pid(42)));
        assert_eq!(o.fields, vec!["X_A=1".to_owned()]);
        assert!(notify(&["--booted"]).unwrap().booted);
        assert!(notify(&["--booted", "--ready", "A=1"]).unwrap().booted);
        assert_eq!(
            notify(&["--ready", "--ready-fd", "3"]).unwrap().ready_fd,
            Some(3)
        );
    }

    #[test]
    fn notify_pid_values_as_systemd_notify() {
        for (arg, want) in [
            ("--pid", PidChoice::Auto),
            ("--pid=", PidChoice::Auto),
            ("--pid=auto", PidChoice::Auto),
            ("--pid=parent", PidChoice::Parent),
            ("--pid=self", PidChoice::Itself),
            ("--pid=7", PidChoice::Pid(7)),
        ] {
            assert_eq!(notify(&[arg]).unwrap().pid, Some(want), "{arg}");
        }
        assert_eq!(notify(&["--ready"]).unwrap().pid, None);
    }

    #[test]
    fn notify_fd_store_and_exec() {
        let o = notify(&["--fd=4", "--fd", "5", "--fdname=db", "--uid=nobody"]).unwrap();
        assert_eq!(o.fds, vec![4, 5]);
        assert_eq!(o.fdname.as_deref(), Some("db"));
        assert_eq!(o.uid.as_deref(), Some("nobody"));
        let o = notify(&["--exec", "--ready", "A=1", ";", "--", "ls", "-l", ";"]).unwrap();
        assert!(o.ready);
        assert_eq!(o.fields, vec!["A=1".to_owned()]);
        assert_eq!(o.exec, os(&["ls", "-l", ";"]));
        // Without --exec, ';' is not special (and not a field).
        assert!(notify(&["--ready", ";", "ls"]).is_err());
    }

    #[test]
    fn notify_mistakes_are_usage_errors() {
        for bad in [
            &[][..],
            &["--ready-fd=3", "--status=x"],
            &["--ready-fd=3", "--ready", "--fd=4"],
            &["--pid=0"],
            &["--pid=abc"],
            &["--ready", "noequals"],
            &["--ready", "=value"],
            &["--status"],
            &["--frobnicate"],
            &["--fdname=x", "--ready"],
            &["--fd=3", "--fdname=a:b"],
            &["--fd=3", "--fdname="],
            &["--fd=3", "--fd=3"],
            &["--fd=-1"],
            &["--exec", "--ready"],
            &["--exec", "--ready", ";"],
            &["--exec", ";", "ls"],
            &["--fork", "--", "ls"],
            &["--uid="],
        ] {
            assert!(notify(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
