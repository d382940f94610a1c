//! The pidfd side of systemd's notify protocol, as managers since 257 speak it: who sent
//! a message (SCM_PIDFD), `MAINPIDFD=1` with the main process's pidfd, `MAINPIDFDID=`,
//! and the fields a manager as old as 252 would not understand.

use std::fs;
use std::os::fd::{AsRawFd, RawFd};

/// The pidfs inode id of a pidfd: the name of one process for the whole uptime. None
/// without pidfs (before Linux 6.9) or for an fd that is not a pidfd.
pub fn id(fd: RawFd) -> Option<u64> {
    readyd::pidfd::inode_id(fd).ok()
}

/// The pidfs id of process `pid` now.
pub fn id_of_pid(pid: libc::pid_t) -> Option<u64> {
    crate::process::pidfd_open(pid).and_then(|fd| id(fd.as_raw_fd()))
}

/// The pid a pidfd refers to, from its fdinfo: None when that process has exited (the
/// kernel says -1) or lives in another pid namespace (0), or the fd is no pidfd.
pub fn pid_of(fd: RawFd) -> Option<libc::pid_t> {
    let info = fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).ok()?;
    let line = info.lines().find_map(|l| l.strip_prefix("Pid:"))?;
    line.trim().parse::<libc::pid_t>().ok().filter(|&p| p > 0)
}

/// Fields of a notification that systemd 252 (Debian 12) does not know, with the version
/// that brought each: a daemon that relies on them needs a newer manager. None for the
/// rest.
pub fn newer_than_252(key: &str, value: &str) -> Option<&'static str> {
    Some(match (key, value) {
        ("NOTIFYACCESS", _) => "NOTIFYACCESS= is understood by systemd 254 and later",
        ("EXIT_STATUS", _) => {
            "EXIT_STATUS= is understood by systemd 254 and later (as information)"
        }
        ("VARLINKERROR", _) => "VARLINKERROR= is understood by systemd 257 and later",
        ("MAINPIDFD", "1") => {
            "MAINPIDFD=1 is understood by systemd 257 and later (252 closes the fd)"
        }
        ("MAINPIDFDID", _) => "MAINPIDFDID= is understood by systemd 257 and later",
        ("RESTART_RESET", "1") => "RESTART_RESET=1 is understood by systemd 258 and later",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_pidfd_names_this_process() {
        let fd = crate::process::pidfd_open(std::process::id() as libc::pid_t)
            .expect("pidfd_open (Linux 5.3+)");
        assert_eq!(
            pid_of(fd.as_raw_fd()),
            Some(std::process::id() as libc::pid_t)
        );
        if let Some(id) = id(fd.as_raw_fd()) {
            assert_eq!(id_of_pid(std::process::id() as libc::pid_t), Some(id));
        }
        assert_eq!(pid_of(0), None, "stdin is no pidfd");
    }

    #[test]
    fn fields_252_does_not_know() {
        assert!(newer_than_252("MAINPIDFD", "1").is_some());
        assert!(newer_than_252("MAINPIDFDID", "5").is_some());
        assert!(newer_than_252("READY", "1").is_none());
        assert!(newer_than_252("MAINPID", "5").is_none());
    }
}
