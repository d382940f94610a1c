//! The signals `readyd run` reacts to, blocked and read from a signalfd, so that the one
//! poll loop sees them like any other event: SIGCHLD; SIGINT and SIGTERM (passed on, then
//! the run ends); SIGHUP, SIGUSR1 and SIGUSR2 (passed on to the daemon); and every other
//! signal whose default action would end readyd without its clean-up (the daemon stopped,
//! the notify socket's directory and the --listen socket files removed).
//!
//! SIGPIPE is not among them: it stays ignored (as Rust's runtime set it), so that a
//! reader of the timeline going away never ends the supervision.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;

/// Passed on to the daemon, which goes on running.
pub const FORWARDED: [i32; 3] = [libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2];

/// Would end readyd with no clean-up: the daemon is stopped and the run ends.
pub const FATAL: [i32; 9] = [
    libc::SIGALRM,
    libc::SIGQUIT,
    libc::SIGVTALRM,
    libc::SIGPROF,
    libc::SIGXCPU,
    libc::SIGXFSZ,
    libc::SIGIO,
    libc::SIGPWR,
    libc::SIGSTKFLT,
];

pub struct Signals {
    fd: OwnedFd,
    /// The mask before ours: what the daemon starts with.
    old_mask: libc::sigset_t,
}

impl Signals {
    pub fn new() -> io::Result<Signals> {
        // SAFETY: sigset_t is plain data, initialised by sigemptyset.
        let mut set: libc::sigset_t = unsafe { zeroed() };
        // SAFETY: as above; filled by sigprocmask.
        let mut old_mask: libc::sigset_t = unsafe { zeroed() };
        // SAFETY: valid sigset pointers; the calls cannot fail with valid signals.
        unsafe {
            libc::sigemptyset(&mut set);
            for sig in [libc::SIGCHLD, libc::SIGINT, libc::SIGTERM]
                .into_iter()
                .chain(FORWARDED)
                .chain(FATAL)
            {
                libc::sigaddset(&mut set, sig);
            }
            libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old_mask);
        }
        // SAFETY: a valid set; a new fd is returned.
        let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Signals {
            // SAFETY: the fd was just created and nothing else owns it.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            old_mask,
        })
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub fn old_mask(&self) -> &libc::sigset_t {
        &self.old_mask
    }

    /// The signals that arrived since the last call (SIGCHLD at most once: it says "look
    /// at your children", not how many).
    pub fn take(&self) -> Vec<i32> {
        let mut got = Vec::new();
        loop {
            // SAFETY: signalfd_siginfo is plain data, filled by read.
            let mut info: libc::signalfd_siginfo = unsafe { zeroed() };
            // SAFETY: reads at most one record into info.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    ptr::from_mut(&mut info).cast(),
                    size_of::<libc::signalfd_siginfo>(),
                )
            };
            if n != size_of::<libc::signalfd_siginfo>() as isize {
                return got;
            }
            let sig = info.ssi_signo as i32;
            if !got.contains(&sig) || sig != libc::SIGCHLD {
                got.push(sig);
            }
        }
    }
}
