//! Processes as a supervisor sees them: how one ended, signal names, the parent chain in
//! /proc, and pidfds to learn when a process that is not our child exits.

use std::fmt;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// The text of an error, without std's " (os error N)" suffix.
pub fn error_text(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// The text of an errno value.
pub fn errno_text(errno: i32) -> String {
    error_text(&io::Error::from_raw_os_error(errno))
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// It was not our child: its parent collected the status, we only saw it go.
    Unknown,
}

impl Exit {
    /// From a `waitpid` status of an exited or killed process.
    pub fn from_wait_status(status: libc::c_int) -> Exit {
        if libc::WIFSIGNALED(status) {
            Exit::Signal(libc::WTERMSIG(status))
        } else {
            Exit::Code(libc::WEXITSTATUS(status))
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exited with status {c}"),
            Exit::Signal(s) => write!(f, "was killed by {}", signal_name(*s)),
            Exit::Unknown => write!(f, "exited (status unknown: not a child of readyd)"),
        }
    }
}

/// `SIGTERM` for 15, `signal 40` for what has no common name.
pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGCONT => "SIGCONT",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGTSTP => "SIGTSTP",
        libc::SIGTTIN => "SIGTTIN",
        libc::SIGTTOU => "SIGTTOU",
        _ => return format!("signal {sig}"),
    };
    name.to_owned()
}

/// Sends `sig` to `pid`; false when the process is gone (or was never ours to signal).
pub fn kill(pid: libc::pid_t, sig: i32) -> bool {
    // SAFETY: kill has no memory arguments; pid is always positive or an explicit
    // negative process group chosen by the caller.
    unsafe { libc::kill(pid, sig) == 0 }
}

/// Whether a process (or, for a negative pid, a process group) exists.
pub fn exists(pid: libc::pid_t) -> bool {
    kill(pid, 0) || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The state letter and the parent pid of `pid`, from /proc/PID/stat.
pub fn stat(pid: libc::pid_t) -> Option<(char, libc::pid_t)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself hold ") ": the fields we want
    // follow the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Whether `pid` is one of `roots` or descends from one of them (its parent chain in
/// /proc reaches one).
pub fn descends_from(pid: libc::pid_t, roots: &[libc::pid_t]) -> bool {
    let mut p = pid;
    // A bound on the walk, in case the chain changes under us.
    for _ in 0..4096 {
        if roots.contains(&p) {
            return true;
        }
        match stat(p) {
            Some((_, ppid)) if ppid > 0 && ppid != p => p = ppid,
            _ => return false,
        }
    }
    false
}

/// Every process in /proc that descends from one of `roots` (not the roots themselves),
/// with its state letter and parent.
pub fn descendants(roots: &[libc::pid_t]) -> Vec<(libc::pid_t, char, libc::pid_t)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut table = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        if let Some((state, ppid)) = stat(pid) {
            table.push((pid, state, ppid));
        }
    }
    let parent_of = |p: libc::pid_t| table.iter().find(|e| e.0 == p).map(|e| e.2);
    table
        .iter()
        .copied()
        .filter(|&(pid, _, _)| {
            if roots.contains(&pid) {
                return false;
            }
            let mut p = pid;
            for _ in 0..4096 {
                match parent_of(p) {
                    Some(pp) if roots.contains(&pp) => return true,
                    Some(pp) if pp > 0 && pp != p => p = pp,
                    _ => return false,
                }
            }
            false
        })
        .collect()
}

/// A pidfd for `pid`: readable once the process has exited. None where the kernel has no
/// pidfd_open (before Linux 5.3) or the process is gone.
pub fn pidfd_open(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags, no memory; it returns a new CLOEXEC fd.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the fd was just created and nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// What `waitpid` reported.
pub enum Waited {
    Ended(libc::pid_t, Exit),
    Stopped(libc::pid_t, i32),
}

/// The next child that ended or stopped, without blocking (`pid` -1: any child).
pub fn wait_any(pid: libc::pid_t) -> Option<Waited> {
    let mut status = 0;
    // SAFETY: status is a valid out-pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG | libc::WUNTRACED) };
    if r <= 0 {
        return None;
    }
    if libc::WIFSTOPPED(status) {
        Some(Waited::Stopped(r, libc::WSTOPSIG(status)))
    } else {
        Some(Waited::Ended(r, Exit::from_wait_status(status)))
    }
}

/// This process's pid.
pub fn own_pid() -> libc::pid_t {
    std::process::id() as libc::pid_t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_stat_and_ancestry() {
        let me = own_pid();
        let (state, ppid) = stat(me).expect("own /proc stat");
        assert!(state == 'R' || state == 'S');
        assert!(descends_from(me, &[ppid]));
        assert!(descends_from(me, &[me]));
        assert!(!descends_from(1, &[me]));
    }

    #[test]
    fn exit_texts() {
        assert_eq!(Exit::Code(3).to_string(), "exited with status 3");
        assert_eq!(
            Exit::Signal(libc::SIGTERM).to_string(),
            "was killed by SIGTERM"
        );
        assert_eq!(signal_name(99), "signal 99");
    }
}
