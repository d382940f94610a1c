//! One readiness call for every supervisor (`readyd_ready`, `readyd_failed`), the
//! notification fd of s6, dinit and OpenRC (`readyd_notify_fd`), and systemd's reload and
//! stop messages. Nothing here allocates.

use core::ffi::{CStr, c_int};
use core::ptr;

use crate::daemonize;
use crate::env;
use crate::errno::{self, Errno, Result};
use crate::notify;
use crate::pidfd;
use crate::sys;
use crate::upstart;

/// `READYD_NOTIFY_FD=N`: the fd an s6 run script or dinit's `pipevar:` names.
pub const NOTIFY_FD: &CStr = c"READYD_NOTIFY_FD";

/// What `readyd_ready()` and `readyd_failed()` spoke (see the C constants in ffi.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `$NOTIFY_SOCKET`
    Systemd = 1,
    /// `$UPSTART_JOB`
    Upstart = 2,
    /// `$READYD_NOTIFY_FD`
    Fd = 3,
    /// The parent waiting in `readyd_daemonize()`.
    Daemonize = 4,
}

/// Decimal digits of `v`, written at the end of `buf`.
/// (20 digits hold any u64; iterators and `get`, not indexes, leave no panic location
/// behind for the loader to relocate.)
pub fn decimal(buf: &mut [u8; 20], mut v: u64) -> &[u8] {
    let mut start = buf.len();
    for (i, digit) in buf.iter_mut().enumerate().rev() {
        *digit = b'0' + (v % 10) as u8;
        v /= 10;
        start = i;
        if v == 0 {
            break;
        }
    }
    buf.get(start..).unwrap_or_default()
}

/// The text of a status up to its first newline: a newline would start a new field.
fn one_line(status: Option<&CStr>) -> Option<&[u8]> {
    status.map(|s| {
        let b = s.to_bytes();
        &b[..b.iter().position(|&c| c == b'\n').unwrap_or(b.len())]
    })
}

/// Writes every byte of `parts` to `fd` with one `writev` (more only if the kernel takes
/// less), so that a pipe reader sees the whole text at once. The reader may be gone:
/// SIGPIPE is held off for the write and a SIGPIPE it raised is discarded, so the caller
/// gets `EPIPE` instead of dying.
pub fn write_all(fd: c_int, parts: &[&[u8]]) -> Result<()> {
    // SAFETY: sigset_t is plain data, filled by the calls below.
    let (mut pipe_only, mut old, mut pending): (libc::sigset_t, libc::sigset_t, libc::sigset_t) = unsafe {
        (
            core::mem::zeroed(),
            core::mem::zeroed(),
            core::mem::zeroed(),
        )
    };
    // SAFETY: valid sigset pointers; these calls cannot fail with valid arguments.
    let was_pending = unsafe {
        sys::sigemptyset(&mut pipe_only);
        sys::sigaddset(&mut pipe_only, libc::SIGPIPE);
        sys::sigpending(&mut pending);
        sys::pthread_sigmask(libc::SIG_BLOCK, &pipe_only, &mut old);
        sys::sigismember(&pending, libc::SIGPIPE) == 1
    };
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut done = 0;
    let mut result = Ok(());
    while done < total {
        let mut iov = [libc::iovec {
            iov_base: ptr::null_mut(),
            iov_len: 0,
        }; 4];
        let (mut n, mut skip) = (0, done);
        for part in parts.iter().take(iov.len()) {
            if skip >= part.len() {
                skip -= part.len();
                continue;
            }
            // Always a slot (at most iov.len() parts are taken).
            if let Some(slot) = iov.get_mut(n) {
                *slot = libc::iovec {
                    iov_base: part[skip..].as_ptr().cast_mut().cast(),
                    iov_len: part.len() - skip,
                };
                n += 1;
            }
            skip = 0;
        }
        // SAFETY: n iovecs describing live parts of the caller's slices.
        match errno::check_size(unsafe { sys::writev(fd, iov.as_ptr(), n as c_int) }) {
            Ok(written) => done += written,
            Err(Errno(libc::EINTR)) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result == Err(Errno(libc::EPIPE)) && !was_pending {
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: valid set and timeout; consumes the SIGPIPE our write raised.
        unsafe { sys::sigtimedwait(&pipe_only, ptr::null_mut(), &zero) };
    }
    // SAFETY: restores the mask saved above.
    unsafe { sys::pthread_sigmask(libc::SIG_SETMASK, &old, ptr::null_mut()) };
    result
}

/// `readyd_notify_fd()`: `state` and a newline (unless it ends with one) to `fd`, then
/// `fd` is closed.
pub fn notify_fd(fd: c_int, state: &[u8]) -> Result<c_int> {
    if fd < 0 {
        return Err(Errno(libc::EBADF));
    }
    let newline: &[u8] = if state.last() == Some(&b'\n') {
        b""
    } else {
        b"\n"
    };
    let r = write_all(fd, &[state, newline]);
    // SAFETY: the caller handed fd over to be closed.
    let closed = errno::check(unsafe { sys::close(fd) });
    r?;
    closed?;
    Ok(1)
}

/// The fd in `$READYD_NOTIFY_FD`, which is then removed so nobody uses it twice.
fn take_notify_fd() -> Option<Result<c_int>> {
    let value = env::get(NOTIFY_FD)?;
    let fd = env::parse_int(value).and_then(|fd| {
        if fd < 0 {
            Err(Errno(libc::EBADF))
        } else {
            Ok(fd)
        }
    });
    env::unset(NOTIFY_FD);
    Some(fd)
}

/// `readyd_ready()`.
pub fn ready(status: Option<&CStr>) -> Result<c_int> {
    // The parent waiting in readyd_daemonize() first: nothing below may delay it.
    let released = daemonize::release_parent(None);
    let mut spoke = None;
    if env::get(env::NOTIFY_SOCKET).is_some() {
        let mut digits = [0u8; 20];
        let pid = decimal(&mut digits, sys::getpid() as u64);
        let sent = match one_line(status) {
            Some(text) => {
                notify::send_parts(0, &[b"READY=1\nSTATUS=", text, b"\nMAINPID=", pid], &[])
            }
            None => notify::send_parts(0, &[b"READY=1\nMAINPID=", pid], &[]),
        };
        sent?;
        spoke = Some(Protocol::Systemd);
    } else if upstart::ready()? > 0 {
        spoke = Some(Protocol::Upstart);
    } else if let Some(fd) = take_notify_fd() {
        notify_fd(fd?, b"READY=1\n")?;
        spoke = Some(Protocol::Fd);
    }
    if released? {
        spoke = spoke.or(Some(Protocol::Daemonize));
    }
    Ok(spoke.map_or(0, |p| p as c_int))
}

/// `readyd_failed()`.
pub fn failed(errnum: c_int, status: Option<&CStr>) -> Result<c_int> {
    let errnum = errnum.unsigned_abs();
    // The parent waiting in readyd_daemonize() first, as in ready().
    let released = daemonize::release_parent(Some((errnum, one_line(status).unwrap_or(b""))));
    let mut spoke = None;
    if env::get(env::NOTIFY_SOCKET).is_some() {
        let mut digits = [0u8; 20];
        let num = decimal(&mut digits, u64::from(errnum));
        match one_line(status) {
            Some(text) => notify::send_parts(0, &[b"STATUS=", text, b"\nERRNO=", num], &[]),
            None => notify::send_parts(0, &[b"ERRNO=", num], &[]),
        }?;
        spoke = Some(Protocol::Systemd);
    } else if env::get(env::UPSTART_JOB).is_some() {
        // Upstart learns of a failed start from the exit without a stop: nothing to send.
        spoke = Some(Protocol::Upstart);
    } else if let Some(fd) = take_notify_fd() {
        // End of file without a newline: dinit and OpenRC call that a failed start, s6
        // never marks the service ready.
        // SAFETY: the fd was handed to us to signal on.
        errno::check(unsafe { sys::close(fd?) })?;
        spoke = Some(Protocol::Fd);
    }
    if released? {
        spoke = spoke.or(Some(Protocol::Daemonize));
    }
    Ok(spoke.map_or(0, |p| p as c_int))
}

/// CLOCK_MONOTONIC in microseconds: the `MONOTONIC_USEC=` that goes with `RELOADING=1`.
pub fn monotonic_usec() -> Result<u64> {
    // SAFETY: timespec is plain data; clock_gettime writes it.
    let mut ts: libc::timespec = unsafe { core::mem::zeroed() };
    // SAFETY: a valid out-pointer.
    errno::check(unsafe { sys::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) })?;
    Ok((ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1000)
}

/// `readyd_reloading()`: `RELOADING=1` with the `MONOTONIC_USEC=` stamp that
/// `Type=notify-reload` needs, in one datagram.
pub fn reloading() -> Result<c_int> {
    let mut digits = [0u8; 20];
    let text = decimal(&mut digits, monotonic_usec()?);
    notify::send_parts(0, &[b"RELOADING=1\nMONOTONIC_USEC=", text], &[])
}

/// `readyd_mainpid()`: names `pid` as the service's main process. Where the kernel gives
/// pidfds, the pidfd goes with the message (`MAINPIDFD=1`, one SCM_RIGHTS fd) and, on
/// pidfs, its inode id (`MAINPIDFDID=`), so the manager cannot mistake a later process
/// that reuses the pid for it; without pidfds, `MAINPID=` alone.
pub fn mainpid(pid: libc::pid_t) -> Result<c_int> {
    if pid <= 0 {
        return Err(Errno(libc::EINVAL));
    }
    if env::get(env::NOTIFY_SOCKET).is_none() {
        return Ok(0);
    }
    let mut pid_digits = [0u8; 20];
    let pid_text = decimal(&mut pid_digits, pid as u64);
    // SAFETY: pidfd_open(pid, 0) has no memory arguments; the fd it returns is CLOEXEC.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if r < 0 {
        return match Errno::last() {
            // No pidfds before Linux 5.3, or the call is filtered: the pid alone.
            Errno(libc::ENOSYS | libc::EPERM | libc::EACCES) => {
                notify::send_parts(0, &[b"MAINPID=", pid_text], &[])
            }
            // ESRCH: no such process; EINVAL: a thread, not a process.
            e => Err(e),
        };
    }
    let fd = notify::Fd(r as c_int);
    let mut id_digits = [0u8; 20];
    match pidfd::inode_id(fd.0) {
        Ok(id) => notify::send_parts(
            0,
            &[
                b"MAINPID=",
                pid_text,
                b"\nMAINPIDFDID=",
                decimal(&mut id_digits, id),
                b"\nMAINPIDFD=1",
            ],
            &[fd.0],
        ),
        // A pidfd without pidfs (Linux 5.3 to 6.8) has no id worth sending.
        Err(_) => notify::send_parts(0, &[b"MAINPID=", pid_text, b"\nMAINPIDFD=1"], &[fd.0]),
    }
}

/// `readyd_stopping()`.
pub fn stopping() -> Result<c_int> {
    notify::send(0, b"STOPPING=1", &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_digits() {
        let mut b = [0u8; 20];
        assert_eq!(decimal(&mut b, 0), b"0");
        assert_eq!(decimal(&mut b, 42), b"42");
        assert_eq!(decimal(&mut b, u64::MAX), b"18446744073709551615");
    }

    #[test]
    fn status_stops_at_a_newline() {
        assert_eq!(one_line(Some(c"up\nREADY=0")), Some(&b"up"[..]));
        assert_eq!(one_line(Some(c"serving")), Some(&b"serving"[..]));
        assert_eq!(one_line(None), None);
    }
}
