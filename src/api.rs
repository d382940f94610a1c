//! The safe Rust API: the same core as the C exports (one implementation of every
//! protocol), with Rust types at the edge. Available with the `std` feature, which is on
//! by default; every item is re-exported at the crate root (`readyd::notify`, ...).
//!
//! Nothing here is `unsafe`: the module forbids it. The two steps that need it (taking
//! ownership of socket-activation fds, removing environment variables) are in `take.rs`.

#![forbid(unsafe_code)]

use std::ffi::CString;
use std::fmt;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use crate::errno::Errno;
use crate::readiness::Protocol;
use crate::{daemonize as core_daemonize, notify as core_notify, probe, readiness, take};
use crate::{watchdog as core_watchdog, watchdog::VARIABLES as WATCHDOG_VARIABLES};

/// One field of a notification: a `KEY=VALUE` line of `sd_notify(3)`.
///
/// [`notify`] joins the fields with newlines into one message and checks each first: a
/// value may not hold a newline (it would end the field and start another, so a status
/// text taken from user input could otherwise inject `MAINPID=` or `READY=1`) nor a NUL
/// byte (the C API would cut the message there, and systemd drops such messages).
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// use readyd::State;
///
/// assert_eq!(State::Status("serving").to_string(), "STATUS=serving");
/// assert_eq!(State::Custom("X_GREETING=hello").to_string(), "X_GREETING=hello");
/// assert!(State::Status("up\nMAINPID=1").validate().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum State<'a> {
    /// `READY=1`: start-up is finished.
    Ready,
    /// `RELOADING=1`: reloading the configuration (send [`State::Ready`] when done;
    /// `Type=notify-reload` also wants [`State::MonotonicUsec`], see [`reloading`]).
    Reloading,
    /// `STOPPING=1`: shutting down.
    Stopping,
    /// `STATUS=...`: a one-line status text shown by `systemctl status`.
    Status(&'a str),
    /// `ERRNO=...`: the service failed with this errno value.
    Errno(u32),
    /// `BUSERROR=...`: the service failed with this D-Bus error name.
    BusError(&'a str),
    /// `MAINPID=...`: the service's main process is this pid.
    MainPid(u32),
    /// `MONOTONIC_USEC=...`: `CLOCK_MONOTONIC` in µs, sent along with `RELOADING=1`.
    MonotonicUsec(u64),
    /// `WATCHDOG=1`: the watchdog ping.
    Watchdog,
    /// `WATCHDOG=trigger`: ask for the watchdog action now.
    WatchdogTrigger,
    /// `WATCHDOG_USEC=...`: a new watchdog interval.
    WatchdogUsec(u64),
    /// `EXTEND_TIMEOUT_USEC=...`: ask for more time for the current start, reload or stop.
    ExtendTimeoutUsec(u64),
    /// `FDSTORE=1`: keep the fds sent along (see [`notify_with_fds`]).
    FdStore,
    /// `FDSTOREREMOVE=1`: drop the stored fds named by [`State::FdName`].
    FdStoreRemove,
    /// `FDNAME=...`: the name of the fds sent or removed: at most 255 printable ASCII
    /// characters (space included), no `:`.
    FdName(&'a str),
    /// `FDPOLL=0`: do not watch the stored fds for hang-ups.
    FdPollDisable,
    /// Any other field, given whole as `KEY=VALUE`.
    Custom(&'a str),
}

impl State<'_> {
    /// The key and the value as they go on the wire.
    fn parts(&self) -> (&str, Value<'_>) {
        match *self {
            State::Ready => ("READY=", Value::Text("1")),
            State::Reloading => ("RELOADING=", Value::Text("1")),
            State::Stopping => ("STOPPING=", Value::Text("1")),
            State::Status(s) => ("STATUS=", Value::Text(s)),
            State::Errno(n) => ("ERRNO=", Value::Number(n.into())),
            State::BusError(s) => ("BUSERROR=", Value::Text(s)),
            State::MainPid(n) => ("MAINPID=", Value::Number(n.into())),
            State::MonotonicUsec(n) => ("MONOTONIC_USEC=", Value::Number(n)),
            State::Watchdog => ("WATCHDOG=", Value::Text("1")),
            State::WatchdogTrigger => ("WATCHDOG=", Value::Text("trigger")),
            State::WatchdogUsec(n) => ("WATCHDOG_USEC=", Value::Number(n)),
            State::ExtendTimeoutUsec(n) => ("EXTEND_TIMEOUT_USEC=", Value::Number(n)),
            State::FdStore => ("FDSTORE=", Value::Text("1")),
            State::FdStoreRemove => ("FDSTOREREMOVE=", Value::Text("1")),
            State::FdName(s) => ("FDNAME=", Value::Text(s)),
            State::FdPollDisable => ("FDPOLL=", Value::Text("0")),
            State::Custom(s) => ("", Value::Text(s)),
        }
    }

    /// Checks the field: `Ok` when [`notify`] would send it as it is.
    ///
    /// ```
    /// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
    /// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
    /// # }
    /// use readyd::{InvalidState, State};
    ///
    /// assert!(State::Status("all good").validate().is_ok());
    /// assert_eq!(
    ///     State::Status("a\nb").validate(),
    ///     Err(InvalidState::Newline { key: "STATUS" })
    /// );
    /// assert_eq!(State::Custom("no equals sign").validate(), Err(InvalidState::NotKeyValue));
    /// ```
    pub fn validate(&self) -> Result<(), InvalidState> {
        let (key, value) = self.parts();
        let Value::Text(text) = value else {
            return Ok(());
        };
        let key = match key.strip_suffix('=') {
            Some(k) => k,
            None => match text.split_once('=') {
                Some((k, _)) if !k.is_empty() => k,
                _ => return Err(InvalidState::NotKeyValue),
            },
        };
        let key = known_key(key);
        if text.contains('\n') {
            return Err(InvalidState::Newline { key });
        }
        if text.contains('\0') {
            return Err(InvalidState::Nul { key });
        }
        if let State::FdName(name) = self {
            let printable = |b: u8| (b' '..=b'~').contains(&b) && b != b':';
            let valid = name.len() <= 255 && name.bytes().all(printable);
            if !valid {
                return Err(InvalidState::FdName);
            }
        }
        Ok(())
    }
}

/// The key of a field as a `'static` name for [`InvalidState`] (`Custom` fields give
/// `"custom"`).
fn known_key(key: &str) -> &'static str {
    // The fields whose text comes from the caller.
    const KEYS: [&str; 3] = ["STATUS", "BUSERROR", "FDNAME"];
    KEYS.iter()
        .find(|k| **k == key)
        .copied()
        .unwrap_or("custom")
}

enum Value<'a> {
    Text(&'a str),
    Number(u64),
}

impl fmt::Display for State<'_> {
    /// The field as it goes on the wire, without checking it (see [`State::validate`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.parts() {
            (key, Value::Text(t)) => write!(f, "{key}{t}"),
            (key, Value::Number(n)) => write!(f, "{key}{n}"),
        }
    }
}

/// Why a [`State`] (or a message for [`notify_str`]) was refused. It reaches the caller
/// inside an [`io::Error`] of kind [`io::ErrorKind::InvalidInput`]; get it back with
/// `err.get_ref().and_then(|e| e.downcast_ref::<InvalidState>())`.
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// use readyd::{InvalidState, State};
///
/// let err = readyd::notify(&[State::Status("two\nlines")]).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// let why = err.get_ref().and_then(|e| e.downcast_ref::<InvalidState>());
/// assert_eq!(why, Some(&InvalidState::Newline { key: "STATUS" }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidState {
    /// The value of `key` holds a newline, which would end the field and start another.
    Newline {
        /// The field's key (`"custom"` for [`State::Custom`]).
        key: &'static str,
    },
    /// The value of `key` holds a NUL byte.
    Nul {
        /// The field's key (`"custom"` for [`State::Custom`]; `"message"` for
        /// [`notify_str`]).
        key: &'static str,
    },
    /// A [`State::Custom`] that is not `KEY=VALUE` with a non-empty key.
    NotKeyValue,
    /// A [`State::FdName`] longer than 255 bytes, or with a `:` or a byte that is not
    /// printable ASCII (what systemd accepts as a name).
    FdName,
}

impl fmt::Display for InvalidState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidState::Newline { key } => write!(
                f,
                "the {key} value holds a newline, which would start another field; \
                 send one line"
            ),
            InvalidState::Nul { key } => write!(f, "the {key} value holds a NUL byte"),
            InvalidState::NotKeyValue => {
                write!(f, "a custom field must be KEY=VALUE with a non-empty key")
            }
            InvalidState::FdName => write!(
                f,
                "an FDNAME must be at most 255 printable ASCII characters, without ':'"
            ),
        }
    }
}

impl std::error::Error for InvalidState {}

impl From<InvalidState> for io::Error {
    fn from(e: InvalidState) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, e)
    }
}

/// An errno from the core as an [`io::Error`] (`raw_os_error()` gives it back).
fn os(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.0)
}

/// Checks every field and joins them with newlines: the exact bytes `sd_notify()` would
/// be given for the same text (no trailing newline).
fn message(states: &[State<'_>]) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(16 * states.len());
    for (i, state) in states.iter().enumerate() {
        state.validate()?;
        if i > 0 {
            out.push(b'\n');
        }
        let (key, value) = state.parts();
        out.extend_from_slice(key.as_bytes());
        match value {
            Value::Text(t) => out.extend_from_slice(t.as_bytes()),
            Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        }
    }
    Ok(out)
}

/// Sends `bytes` and `fds` as one message; `Ok(false)` when `$NOTIFY_SOCKET` is unset.
fn send(bytes: &[u8], fds: &[RawFd]) -> io::Result<bool> {
    if fds.len() > core_notify::MAX_FDS {
        return Err(os(Errno(libc::E2BIG)));
    }
    core_notify::send(0, bytes, fds).map(|n| n > 0).map_err(os)
}

/// Tells the service manager (`$NOTIFY_SOCKET`: systemd, or anything speaking its
/// protocol) about state changes, in one datagram: the fields joined by newlines.
///
/// Returns `Ok(true)` when sent and `Ok(false)` when `$NOTIFY_SOCKET` is unset (nobody
/// listens: not an error). An invalid field is an [`io::ErrorKind::InvalidInput`] error
/// holding an [`InvalidState`], and nothing is sent; a failed send is the OS error
/// (`raw_os_error()` is the errno `sd_notify()` would return, negated there). The
/// environment is left as it is.
///
/// Addresses: a path, `@abstract`, or `vsock:CID:PORT` (and its `vsock-stream:` forms), as
/// in `sd_notify(3)`. No credentials are attached: the kernel's own (this pid, the real
/// uid and gid) are what the manager checks. Unlike the C functions, this allocates (the
/// joined message): not for signal handlers.
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// # use std::os::linux::net::SocketAddrExt;
/// # use std::os::unix::net::{SocketAddr, UnixDatagram};
/// # let name = format!("readyd-doc-notify-{}", std::process::id());
/// # let receiver = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(&name)?)?;
/// # // SAFETY: this doc test is single-threaded.
/// # unsafe { std::env::set_var("NOTIFY_SOCKET", format!("@{name}")) };
/// use readyd::State;
///
/// let sent = readyd::notify(&[State::Ready, State::Status("serving on :8080")])?;
/// # assert!(sent);
/// # let mut buf = [0; 64];
/// # let n = receiver.recv(&mut buf)?;
/// # assert_eq!(&buf[..n], b"READY=1\nSTATUS=serving on :8080");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn notify(states: &[State<'_>]) -> io::Result<bool> {
    send(&message(states)?, &[])
}

/// Sends `text` exactly as given (newline-separated `KEY=VALUE` lines), as
/// `sd_notify(0, text)` does. Only a NUL byte is refused (the C function would stop
/// there). Returns as [`notify`].
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// // Without $NOTIFY_SOCKET nothing is sent, and that is not an error.
/// assert_eq!(readyd::notify_str("READY=1\nSTATUS=up")?, false);
/// assert!(readyd::notify_str("READY=1\0").is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn notify_str(text: &str) -> io::Result<bool> {
    if text.contains('\0') {
        return Err(InvalidState::Nul { key: "message" }.into());
    }
    send(text.as_bytes(), &[])
}

/// As [`notify`], passing `fds` along in the same datagram (SCM_RIGHTS), e.g. with
/// [`State::FdStore`] and [`State::FdName`] to keep them in systemd's fd store across a
/// restart. At most 253 fds (`E2BIG`). The fds stay open and owned by the caller.
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// use std::os::fd::AsFd;
/// use readyd::State;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// readyd::notify_with_fds(&[State::FdStore, State::FdName("http")], &[listener.as_fd()])?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn notify_with_fds(states: &[State<'_>], fds: &[BorrowedFd<'_>]) -> io::Result<bool> {
    let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    send(&message(states)?, &raw)
}

/// Waits until the service manager has processed every message sent before (`BARRIER=1`
/// with a pipe it closes), for at most `timeout` (`Duration::MAX`: forever). Useful
/// before exiting right after a notification.
///
/// Returns `Ok(true)` once processed, `Ok(false)` when `$NOTIFY_SOCKET` is unset, an
/// error of kind [`io::ErrorKind::TimedOut`] when the time ran out, or the send's error.
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// use std::time::Duration;
///
/// // Without $NOTIFY_SOCKET there is nobody to wait for.
/// assert_eq!(readyd::barrier(Duration::from_secs(5))?, false);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn barrier(timeout: Duration) -> io::Result<bool> {
    let usec = u64::try_from(timeout.as_micros()).unwrap_or(u64::MAX);
    core_notify::barrier(0, usec).map(|n| n > 0).map_err(os)
}

/// The fds passed by socket activation (`LISTEN_FDS`, from fd 3 on), each with its name
/// (`FileDescriptorName=`, or `"unknown"`), owned by the caller: dropping one closes it.
///
/// Ownership is taken once per process: the first call gets the fds, every later call
/// an empty list. `LISTEN_PID`, `LISTEN_PIDFDID`, `LISTEN_FDS` and `LISTEN_FDNAMES` are
/// removed from the environment whatever the result, so that child processes do not
/// inherit them. Like every change to the environment, call this before starting
/// threads that read it from C (`getenv()`); Rust's `std::env` is synchronised. The
/// environment is trusted as `sd_listen_fds()` trusts it: call this first thing in
/// `main`, before anything could close fds 3 and up and open others in their place.
///
/// Errors: `EINVAL`/`ERANGE` for malformed variables (or names whose count differs from
/// `LISTEN_FDS`), `EBADF` when a passed fd is not open. No fd is wrapped (or closed)
/// then, and later calls return an empty list.
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// use std::os::unix::net::UnixListener;
///
/// for (fd, name) in readyd::listen_fds()? {
///     if name == "control" {
///         let listener = UnixListener::from(fd);
///         # drop(listener);
///     }
/// }
/// // The second call never hands out the same fds again.
/// assert_eq!(readyd::listen_fds()?.len(), 0);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn listen_fds() -> io::Result<ListenFds> {
    let fds = take::listen_fds().map_err(os)?;
    Ok(ListenFds {
        fds: fds.into_iter(),
    })
}

/// The fds of [`listen_fds`] in order (fd 3 first), with their names.
///
/// ```
/// let fds = readyd::listen_fds()?;
/// println!("{} sockets passed", fds.len());
/// let by_name: std::collections::HashMap<String, std::os::fd::OwnedFd> =
///     fds.map(|(fd, name)| (name, fd)).collect();
/// # assert!(by_name.is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ListenFds {
    fds: std::vec::IntoIter<(OwnedFd, Vec<u8>)>,
}

impl Iterator for ListenFds {
    type Item = (OwnedFd, String);

    fn next(&mut self) -> Option<(OwnedFd, String)> {
        self.fds
            .next()
            .map(|(fd, name)| (fd, String::from_utf8_lossy(&name).into_owned()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.fds.size_hint()
    }
}

impl ExactSizeIterator for ListenFds {}

/// The watchdog interval when the service manager expects pings ([`State::Watchdog`],
/// or [`watchdog`]) from this process: ping at half of it. `Ok(None)` when there is no
/// watchdog or `WATCHDOG_PID` names another process; an `EINVAL` error for a malformed
/// `WATCHDOG_USEC` (0 and "infinity" included). The environment is left as it is.
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// # // SAFETY: this doc test is single-threaded.
/// # unsafe { std::env::set_var("WATCHDOG_USEC", "4000000") };
/// if let Some(interval) = readyd::watchdog_enabled()? {
///     let ping_every = interval / 2;
///     # assert_eq!(ping_every, std::time::Duration::from_secs(2));
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn watchdog_enabled() -> io::Result<Option<Duration>> {
    Ok(core_watchdog::interval()
        .map_err(os)?
        .map(Duration::from_micros))
}

/// As [`watchdog_enabled`], then removes `WATCHDOG_USEC` and `WATCHDOG_PID` from the
/// environment whatever the result, so child processes do not inherit them (see
/// [`listen_fds`] on threads).
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// assert_eq!(readyd::watchdog_enabled_and_unset()?, None);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn watchdog_enabled_and_unset() -> io::Result<Option<Duration>> {
    let r = watchdog_enabled();
    take::unset(WATCHDOG_VARIABLES);
    r
}

/// Sends the watchdog ping (`WATCHDOG=1`). Returns as [`notify`].
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// readyd::watchdog()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn watchdog() -> io::Result<bool> {
    notify(&[State::Watchdog])
}

/// Whether the system was booted with systemd as init (`/run/systemd/system/` is a
/// directory), as `sd_booted()`.
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// let under_systemd = readyd::booted()?;
/// # let _ = under_systemd;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn booted() -> io::Result<bool> {
    probe::booted().map(|n| n > 0).map_err(os)
}

/// Who heard [`ready`] or [`failed`].
///
/// ```
/// use readyd::Supervisor;
///
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// match readyd::ready()? {
///     Some(Supervisor::Systemd) => eprintln!("told systemd"),
///     Some(other) => eprintln!("told {other:?}"),
///     None => eprintln!("started by hand: nobody to tell"),
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Supervisor {
    /// systemd's protocol (`$NOTIFY_SOCKET`; also OpenRC's `notify=socket`).
    Systemd,
    /// Upstart (`$UPSTART_JOB`, `expect stop`).
    Upstart,
    /// A notification fd (`$READYD_NOTIFY_FD`: s6, dinit `pipevar:`, OpenRC `notify=fd`).
    NotifyFd,
    /// Only the parent waiting in [`daemonize`].
    Daemonize,
}

fn supervisor(n: i32) -> Option<Supervisor> {
    match n {
        x if x == Protocol::Systemd as i32 => Some(Supervisor::Systemd),
        x if x == Protocol::Upstart as i32 => Some(Supervisor::Upstart),
        x if x == Protocol::Fd as i32 => Some(Supervisor::NotifyFd),
        x if x == Protocol::Daemonize as i32 => Some(Supervisor::Daemonize),
        _ => None,
    }
}

/// A status text as the core wants it: one line, no NUL.
fn status_text(status: &str) -> io::Result<CString> {
    State::Status(status).validate()?;
    CString::new(status).map_err(|_| InvalidState::Nul { key: "STATUS" }.into())
}

/// Tells whoever started this process that it is ready, in the protocol it speaks
/// (`readyd_ready()`): systemd (`READY=1` and `MAINPID=`), Upstart (the `expect stop`
/// handshake), or the notification fd of s6, dinit or OpenRC (`$READYD_NOTIFY_FD`); a
/// parent waiting in [`daemonize`] is released too.
///
/// Returns who heard it, or `Ok(None)` when nobody was listening. The variables of the
/// fd and Upstart protocols are removed once used (see [`listen_fds`] on threads).
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// // Started from a shell: nobody to tell.
/// assert_eq!(readyd::ready()?, None);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn ready() -> io::Result<Option<Supervisor>> {
    readiness::ready(None).map(supervisor).map_err(os)
}

/// As [`ready`], with a status text (`STATUS=` for systemd). A newline or NUL in it is an
/// [`InvalidState`] error, and nothing is sent.
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// assert_eq!(readyd::ready_with_status("accepting connections")?, None);
/// assert!(readyd::ready_with_status("two\nlines").is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn ready_with_status(status: &str) -> io::Result<Option<Supervisor>> {
    let status = status_text(status)?;
    readiness::ready(Some(&status)).map(supervisor).map_err(os)
}

/// Tells whoever started this process that start-up failed (`readyd_failed()`): to
/// systemd `STATUS=<status>` and `ERRNO=<errno>`; on a notification fd, the fd is closed
/// without a newline; a parent waiting in [`daemonize`] prints `status` and exits with
/// `errno` as its status. Exit afterwards. `errno` is an errno value (its sign is
/// ignored), e.g. from [`io::Error::raw_os_error`].
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// let err = std::fs::read("/nonexistent/readyd.conf").unwrap_err();
/// let errno = err.raw_os_error().unwrap_or(0);
/// assert_eq!(readyd::failed(errno, "cannot read the configuration")?, None);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn failed(errno: i32, status: &str) -> io::Result<Option<Supervisor>> {
    let status = status_text(status)?;
    readiness::failed(errno, Some(&status))
        .map(supervisor)
        .map_err(os)
}

/// Tells systemd the service is reloading: `RELOADING=1` and `MONOTONIC_USEC=<now>` in one
/// datagram, as `Type=notify-reload` requires. Call [`ready`] when done. Returns as
/// [`notify`].
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// readyd::reloading()?;
/// // ... read the configuration again ...
/// readyd::ready()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn reloading() -> io::Result<bool> {
    readiness::reloading().map(|n| n > 0).map_err(os)
}

/// Tells systemd the service is stopping (`STOPPING=1`). Returns as [`notify`].
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// readyd::stopping()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn stopping() -> io::Result<bool> {
    readiness::stopping().map(|n| n > 0).map_err(os)
}

/// Tells systemd that `pid` is the service's main process (`MAINPID=<pid>`), e.g. after
/// a re-exec. Returns as [`notify`].
///
/// As `readyd_mainpid()`: where the kernel has pidfds, the process's pidfd goes with the
/// message (`MAINPIDFD=1`) and, on pidfs, its id (`MAINPIDFDID=`), so that systemd 257
/// and later cannot mistake a later process that reuses the pid for it; elsewhere
/// `MAINPID=` alone. A pid that does not exist is an `ESRCH` error.
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// readyd::mainpid(std::process::id())?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn mainpid(pid: u32) -> io::Result<bool> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    readiness::mainpid(pid).map(|n| n > 0).map_err(os)
}

/// Writes `state` and a newline (unless it ends with one) to a readiness notification fd
/// and closes it (`readyd_notify_fd()`): s6's `notification-fd`, dinit's `pipefd:`,
/// OpenRC's `notify=fd:N`. A reader that went away is an `EPIPE` error, never SIGPIPE.
/// A NUL in `state` is an [`InvalidState`] error (the fd is then closed unwritten).
///
/// ```
/// # for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
/// #     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
/// # }
/// use std::io::Read;
/// use std::os::unix::net::UnixStream;
///
/// let (mut reader, writer) = UnixStream::pair()?;
/// readyd::notify_fd(writer.into(), "READY=1")?;
/// let mut got = String::new();
/// reader.read_to_string(&mut got)?;
/// assert_eq!(got, "READY=1\n");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn notify_fd(fd: OwnedFd, state: &str) -> io::Result<()> {
    if state.contains('\0') {
        return Err(InvalidState::Nul { key: "message" }.into());
    }
    readiness::notify_fd(fd.into_raw_fd(), state.as_bytes())
        .map(drop)
        .map_err(os)
}

/// Options of [`daemonize`] (`readyd_daemonize()`): a builder.
///
/// ```
/// # // SAFETY: this doc test is single-threaded.
/// # unsafe { std::env::set_var("NOTIFY_SOCKET", "/run/systemd/notify") };
/// // Under systemd (NOTIFY_SOCKET set) this does nothing and returns Ok(false); from a
/// // shell it forks and returns Ok(true) in the daemon.
/// let in_daemon = readyd::Daemonize::new()
///     .when_unsupervised()
///     .pidfile("/run/mydaemon.pid")
///     .start()?;
/// # assert!(!in_daemon);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Daemonize<'a> {
    auto: bool,
    pidfile: Option<&'a Path>,
}

impl<'a> Daemonize<'a> {
    /// Always daemonize, no PID file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Do nothing (and return `Ok(false)`) when a supervisor already tracks the process:
    /// `NOTIFY_SOCKET`, `UPSTART_JOB` or `READYD_NOTIFY_FD` is set.
    pub fn when_unsupervised(mut self) -> Self {
        self.auto = true;
        self
    }

    /// Lock `path` before forking (`EBUSY` if another process holds it) and write the
    /// daemon's pid to it, held locked for the daemon's life.
    pub fn pidfile(mut self, path: &'a (impl AsRef<Path> + ?Sized)) -> Self {
        self.pidfile = Some(path.as_ref());
        self
    }

    /// Moves the process into the background, as described at [`daemonize`].
    pub fn start(&self) -> io::Result<bool> {
        let pidfile = match self.pidfile {
            Some(p) => Some(CString::new(p.as_os_str().as_bytes()).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the PID file path holds a NUL byte",
                )
            })?),
            None => None,
        };
        if self.auto && core_daemonize::supervised() {
            return Ok(false);
        }
        if threads() > 1 {
            return Err(io::Error::other(
                "daemonize() forks: call it before any other thread is started",
            ));
        }
        // What std buffered belongs to the original process, which never returns: write
        // it now (the core flushes C's stdio the same way).
        let _ = io::stdout().flush();
        let flags = if self.auto { core_daemonize::AUTO } else { 0 };
        core_daemonize::daemonize(flags, pidfile.as_deref())
            .map(|n| n > 0)
            .map_err(os)
    }
}

/// How many threads this process has (1 when `/proc` cannot tell).
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(1, Iterator::count)
}

/// Moves the daemon into the background so that the shell that started it is released
/// only once it is [`ready`]: fork, new session, fork again; `/` as working directory,
/// /dev/null as stdin and stdout, stderr kept until [`ready`] (start-up errors reach the
/// terminal). The original process exits 0 when the daemon calls [`ready`], non-zero with
/// the message when it calls [`failed`] or dies first.
///
/// Returns `Ok(true)` in the daemon. It forks, so it refuses to run (an error) once the
/// process has more than one thread: call it first thing in `main`. See [`Daemonize`]
/// for a PID file and for doing nothing under a supervisor.
///
/// ```no_run
/// readyd::daemonize()?;
/// // ... open sockets, read the configuration ...
/// readyd::ready()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn daemonize() -> io::Result<bool> {
    Daemonize::new().start()
}
