//! Every function the C library exports. Each one is thin: it checks pointers, calls the
//! module that does the work, applies `unset_environment` on every return path, and turns
//! the result into libsystemd's convention (negative errno, 0 for "nothing to do",
//! positive for success).
//!
//! The printf-style functions (`sd_notifyf`, `sd_pid_notifyf`, `sd_pid_notifyf_with_fds`)
//! are in `shim.c`; they format on the stack and call `readyd__notify_formatted`.

use core::ffi::{CStr, c_char, c_int, c_uint};
use core::ptr;

use crate::env;
use crate::errno::{Errno, Result, to_c};
use crate::{daemonize, listen, notify, pidfd, probe, readiness, upstart, watchdog};

/// Checks the arguments in libsystemd's order (each error wins over the ones after it),
/// then sends.
///
/// # Safety
/// `state` is NULL or NUL-terminated; `fds` is NULL or points at `n_fds` ints.
unsafe fn checked_send(
    pid: libc::pid_t,
    state: *const c_char,
    fds: *const c_int,
    n_fds: usize,
) -> Result<c_int> {
    if state.is_null() || (n_fds > 0 && fds.is_null()) {
        return Err(Errno(libc::EINVAL));
    }
    if n_fds > notify::MAX_FDS {
        return Err(Errno(libc::E2BIG));
    }
    // SAFETY: state is non-NULL and NUL-terminated (caller's contract).
    let state = unsafe { CStr::from_ptr(state) }.to_bytes();
    let fds: &[c_int] = if n_fds == 0 {
        &[]
    } else {
        // SAFETY: fds is non-NULL and holds n_fds ints (caller's contract).
        unsafe { core::slice::from_raw_parts(fds, n_fds) }
    };
    notify::send(pid, state, fds)
}

/// Removes `NOTIFY_SOCKET` when asked to, and converts the result.
fn finish_notify(unset_environment: c_int, r: Result<c_int>) -> c_int {
    if unset_environment != 0 {
        env::unset(env::NOTIFY_SOCKET);
    }
    to_c(r)
}

/// Sends `state` to the service manager (`$NOTIFY_SOCKET`) as one datagram of exactly
/// `strlen(state)` bytes: newline-separated `KEY=VALUE` lines such as `READY=1`,
/// `STATUS=...`, `MAINPID=...`, `WATCHDOG=1`.
///
/// Returns 1 when sent, 0 when `$NOTIFY_SOCKET` is unset, or a negative errno:
/// `-EINVAL` for a NULL `state` or a malformed address, `-ENAMETOOLONG` for a path over
/// 107 bytes, `-EPROTO` for an address that is neither a path, `@abstract` nor vsock,
/// or the error of the failed socket call (`-ENOENT`, `-ECONNREFUSED`, `-EPROTOTYPE`...).
/// If `unset_environment` is non-zero, `NOTIFY_SOCKET` is removed from the environment
/// whatever the result.
///
/// Async-signal-safe when `unset_environment` is 0. Does not allocate. Blocks only if
/// the receiver's queue is full (then a signal interrupts it with `-EINTR`).
///
/// # Safety
/// `state` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sd_notify(unset_environment: c_int, state: *const c_char) -> c_int {
    // SAFETY: forwards the caller's contract; no fds.
    unsafe { sd_pid_notify_with_fds(0, unset_environment, state, ptr::null(), 0) }
}

/// As `sd_notify()`, on behalf of process `pid` (0: the caller). For another pid the
/// message carries explicit credentials naming it; if the kernel refuses them (an
/// unprivileged sender, or a pid that does not exist) the message is sent once more
/// with the caller's own credentials.
///
/// Async-signal-safe when `unset_environment` is 0. Does not allocate.
///
/// # Safety
/// `state` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sd_pid_notify(
    pid: libc::pid_t,
    unset_environment: c_int,
    state: *const c_char,
) -> c_int {
    // SAFETY: forwards the caller's contract; no fds.
    unsafe { sd_pid_notify_with_fds(pid, unset_environment, state, ptr::null(), 0) }
}

/// As `sd_pid_notify()`, passing `n_fds` file descriptors along (SCM_RIGHTS), e.g. with
/// `FDSTORE=1`. At most 253 fds (`-E2BIG` beyond); `fds` may be NULL only when `n_fds` is 0
/// (`-EINVAL`); an invalid fd makes the send fail with `-EBADF` and nothing is sent.
/// The fds stay open in the caller.
///
/// Async-signal-safe when `unset_environment` is 0. Does not allocate.
///
/// # Safety
/// `state` is NULL or NUL-terminated; `fds` is NULL or points at `n_fds` ints.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sd_pid_notify_with_fds(
    pid: libc::pid_t,
    unset_environment: c_int,
    state: *const c_char,
    fds: *const c_int,
    n_fds: c_uint,
) -> c_int {
    // SAFETY: forwards the caller's contract.
    let r = unsafe { checked_send(pid, state, fds, n_fds as usize) };
    finish_notify(unset_environment, r)
}

/// Waits until the service manager has processed every message sent before: sends
/// `BARRIER=1` with the write end of a new pipe and waits up to `timeout` microseconds
/// (`UINT64_MAX`: forever) for the manager to close it.
///
/// Returns 1 once the manager closed it, 0 when `$NOTIFY_SOCKET` is unset, `-ETIMEDOUT`
/// when the time ran out, `-EINTR` when a signal interrupted the wait, or the error of
/// the send. `NOTIFY_SOCKET` is removed afterwards if `unset_environment` is non-zero.
///
/// Does not allocate. Not for signal handlers (it may wait).
#[unsafe(no_mangle)]
pub extern "C" fn sd_notify_barrier(unset_environment: c_int, timeout: u64) -> c_int {
    sd_pid_notify_barrier(0, unset_environment, timeout)
}

/// As `sd_notify_barrier()`, on behalf of process `pid` (0: the caller).
#[unsafe(no_mangle)]
pub extern "C" fn sd_pid_notify_barrier(
    pid: libc::pid_t,
    unset_environment: c_int,
    timeout: u64,
) -> c_int {
    finish_notify(unset_environment, notify::barrier(pid, timeout))
}

/// Upstart's `expect stop` handshake. If `UPSTART_JOB` is set, the process stops itself
/// with SIGSTOP; Upstart records this pid as the job's main process and resumes it with
/// SIGCONT. Then `UPSTART_JOB` and `UPSTART_INSTANCE` are removed, so that later calls
/// and child processes do not stop again.
///
/// Returns 1 after the stop, 0 (doing nothing) when `UPSTART_JOB` is unset, or a negative
/// errno if the stop failed (the variables are then kept).
///
/// Hazard: the process stays stopped until someone sends SIGCONT. Under a job without
/// `expect stop`, or anything else that sets `UPSTART_JOB` without resuming stopped
/// children, the daemon hangs stopped.
///
/// Async-signal-safe, provided the handler does not interrupt `setenv()`, `putenv()`
/// or `unsetenv()` (it removes two variables). Does not allocate.
#[unsafe(no_mangle)]
pub extern "C" fn upstart_ready() -> c_int {
    to_c(upstart::ready())
}

/// For `shim.c` only (not exported from the shared library): the checks and the send of
/// the printf-style functions, once formatted. `state` NULL means "format was NULL"
/// (`-EINVAL`); `format_error` non-zero means formatting failed (`-ENOMEM`). The fd count
/// is a `size_t` as in `sd_pid_notifyf_with_fds`.
///
/// # Safety
/// As `sd_pid_notify_with_fds()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn readyd__notify_formatted(
    pid: libc::pid_t,
    unset_environment: c_int,
    state: *const c_char,
    fds: *const c_int,
    n_fds: usize,
    format_error: c_int,
) -> c_int {
    let r = if format_error != 0 {
        Err(Errno(libc::ENOMEM))
    } else {
        // SAFETY: forwards the caller's contract.
        unsafe { checked_send(pid, state, fds, n_fds) }
    };
    finish_notify(unset_environment, r)
}

/// Socket activation: how many fds the service manager passed, starting at fd 3
/// (`SD_LISTEN_FDS_START`). Each is marked close-on-exec.
///
/// Returns the count, 0 when none were passed or `LISTEN_PID` names another process (or
/// `LISTEN_PIDFDID` another process's pidfd), or a negative errno: `-EINVAL`/`-ERANGE`
/// for malformed variables, `-EBADF` when a passed fd is not open. With
/// `unset_environment` non-zero, `LISTEN_PID`, `LISTEN_PIDFDID`, `LISTEN_FDS` and
/// `LISTEN_FDNAMES` are removed whatever the result.
#[unsafe(no_mangle)]
pub extern "C" fn sd_listen_fds(unset_environment: c_int) -> c_int {
    let r = listen::listen_fds();
    env::unset_if(unset_environment, listen::VARIABLES);
    to_c(r)
}

/// As `sd_listen_fds()`, and on success stores in `*names` a NULL-terminated array of
/// the fds' names (`FileDescriptorName=`, from `LISTEN_FDNAMES`; `"unknown"` for each
/// when unset). The array and each string are allocated with `malloc()`: free each
/// string, then the array. `*names` is left untouched unless the return value is
/// positive. `names` may be NULL. A malformed `LISTEN_FDNAMES` (or one whose count
/// differs from `LISTEN_FDS`) is `-EINVAL`.
///
/// # Safety
/// `names` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sd_listen_fds_with_names(
    unset_environment: c_int,
    names: *mut *mut *mut c_char,
) -> c_int {
    // SAFETY: forwards the caller's contract.
    let r = unsafe { listen::listen_fds_with_names(names) };
    env::unset_if(unset_environment, listen::VARIABLES);
    to_c(r)
}

/// Whether the service manager expects watchdog pings (`WATCHDOG=1`) from this process.
/// Returns 1 and stores the interval in µs in `*usec` (if not NULL), 0 when not (no
/// `WATCHDOG_USEC`, or `WATCHDOG_PID` names another process), or a negative errno for
/// malformed values (`WATCHDOG_USEC` of 0 or all ones is `-EINVAL`). Ping at half the
/// interval. With `unset_environment` non-zero, `WATCHDOG_USEC` and `WATCHDOG_PID` are
/// removed whatever the result.
///
/// # Safety
/// `usec` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sd_watchdog_enabled(unset_environment: c_int, usec: *mut u64) -> c_int {
    // SAFETY: usec is NULL or valid for one write (caller's contract).
    let r = watchdog::enabled(unsafe { usec.as_mut() });
    env::unset_if(unset_environment, watchdog::VARIABLES);
    to_c(r)
}

/// 1 when the system was booted with systemd as init (`/run/systemd/system/` is a
/// directory), 0 when not, a negative errno when that cannot be told.
#[unsafe(no_mangle)]
pub extern "C" fn sd_booted() -> c_int {
    to_c(probe::booted())
}

/// 1 when `fd` is a FIFO or pipe (and, if `path` is not NULL, the FIFO at `path`), 0 when
/// not, a negative errno (`-EBADF`) on error.
///
/// # Safety
/// `path` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sd_is_fifo(fd: c_int, path: *const c_char) -> c_int {
    // SAFETY: forwards the caller's contract.
    to_c(unsafe { probe::is_fifo(fd, path) })
}

/// 1 when `fd` is a regular file or a character device (and, if `path` is not NULL, the
/// same file or device as `path`), 0 when not, a negative errno on error.
///
/// # Safety
/// `path` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sd_is_special(fd: c_int, path: *const c_char) -> c_int {
    // SAFETY: forwards the caller's contract.
    to_c(unsafe { probe::is_special(fd, path) })
}

/// 1 when `fd` is a socket of address family `family` (0: any), type `type` (0: any),
/// listening if `listening` > 0, not listening if 0, either if negative; 0 when not;
/// a negative errno on error (`-EINVAL` for a negative family or type).
#[unsafe(no_mangle)]
pub extern "C" fn sd_is_socket(fd: c_int, family: c_int, r#type: c_int, listening: c_int) -> c_int {
    to_c(probe::is_socket(fd, family, r#type, listening))
}

/// As `sd_is_socket()` for `AF_INET`/`AF_INET6` (`family` 0 accepts both; anything else
/// is `-EINVAL`), bound to `port` unless it is 0.
#[unsafe(no_mangle)]
pub extern "C" fn sd_is_socket_inet(
    fd: c_int,
    family: c_int,
    r#type: c_int,
    listening: c_int,
    port: u16,
) -> c_int {
    to_c(probe::is_socket_inet(fd, family, r#type, listening, port))
}

/// As `sd_is_socket()`, bound to the IPv4 or IPv6 address `addr` (`addr_len` bytes); a
/// zero port, flow info or scope id matches any. `-EPFNOSUPPORT` for other families,
/// `-ENOBUFS` when `addr_len` cannot hold a family.
///
/// # Safety
/// `addr` is NULL or points at `addr_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sd_is_socket_sockaddr(
    fd: c_int,
    r#type: c_int,
    addr: *const libc::sockaddr,
    addr_len: c_uint,
    listening: c_int,
) -> c_int {
    // SAFETY: forwards the caller's contract.
    to_c(unsafe { probe::is_socket_sockaddr(fd, r#type, addr, addr_len, listening) })
}

/// As `sd_is_socket()` for `AF_UNIX`, bound to `path` unless it is NULL: a file system
/// path (`length` 0 means `strlen(path)`), an abstract name (`path[0]` is NUL, `length`
/// counts it), or an unnamed socket (`path` empty).
///
/// # Safety
/// `path` is NULL or readable as described.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sd_is_socket_unix(
    fd: c_int,
    r#type: c_int,
    listening: c_int,
    path: *const c_char,
    length: usize,
) -> c_int {
    // SAFETY: forwards the caller's contract.
    to_c(unsafe { probe::is_socket_unix(fd, r#type, listening, path, length) })
}

/// 1 when `fd` is a POSIX message queue (and, if `path` is not NULL, the queue named
/// `path`, which must be absolute: `-EINVAL` otherwise), 0 when not, a negative errno on
/// error.
///
/// # Safety
/// `path` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sd_is_mq(fd: c_int, path: *const c_char) -> c_int {
    // SAFETY: forwards the caller's contract.
    to_c(unsafe { probe::is_mq(fd, path) })
}

/// The inode id of the pidfd `pidfd`, which names a process for its whole life (unlike
/// its pid), stored in `*ret` if not NULL. Returns 0, `-EBADF` when `pidfd` is not a
/// pidfd, or `-EOPNOTSUPP` when the kernel has no pidfs (before Linux 6.9) or `ino_t` is
/// 32 bits wide (i686 glibc), where the id cannot be represented: libsystemd built with
/// a 32-bit `ino_t` refuses the same way.
///
/// # Safety
/// `ret` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sd_pidfd_get_inode_id(pidfd: c_int, ret: *mut u64) -> c_int {
    match pidfd::inode_id(pidfd) {
        Ok(id) => {
            // SAFETY: ret is NULL or valid for one write (caller's contract).
            if let Some(out) = unsafe { ret.as_mut() } {
                *out = id;
            }
            0
        }
        Err(e) => e.to_c(),
    }
}

/// `readyd_ready()` and `readyd_failed()` spoke systemd's protocol (`$NOTIFY_SOCKET`).
pub const READYD_PROTOCOL_SYSTEMD: c_int = 1;
/// ... Upstart's (`$UPSTART_JOB`).
pub const READYD_PROTOCOL_UPSTART: c_int = 2;
/// ... the notification fd of s6, dinit or OpenRC (`$READYD_NOTIFY_FD`).
pub const READYD_PROTOCOL_FD: c_int = 3;
/// ... only the parent waiting in `readyd_daemonize()`.
pub const READYD_PROTOCOL_DAEMONIZE: c_int = 4;
/// `readyd_daemonize()` flag: do nothing (return 0) when a supervisor already tracks the
/// process (`NOTIFY_SOCKET`, `UPSTART_JOB` or `READYD_NOTIFY_FD` is set).
pub const READYD_DAEMONIZE_AUTO: c_uint = 1;

/// Writes `state` and a newline (unless `state` ends with one) to `fd`, then closes `fd`:
/// the readiness notification of s6 (`notification-fd`), dinit (`pipefd:`/`pipevar:`)
/// and OpenRC (`notify=fd:N`). A reader that went away gives `-EPIPE`, never SIGPIPE.
///
/// Returns 1, or a negative errno: `-EBADF` for a negative fd, `-EINVAL` for a NULL
/// `state` (then `fd` is left open), or the error of the write or close.
///
/// Async-signal-safe. Does not allocate.
///
/// # Safety
/// `state` is NULL or NUL-terminated; `fd` is the caller's to give away.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn readyd_notify_fd(fd: c_int, state: *const c_char) -> c_int {
    if state.is_null() {
        return -libc::EINVAL;
    }
    // SAFETY: state is non-NULL and NUL-terminated (caller's contract).
    to_c(readiness::notify_fd(
        fd,
        unsafe { CStr::from_ptr(state) }.to_bytes(),
    ))
}

/// Tells whoever started this process that it is ready, in the protocol it speaks, the
/// first found of: `$NOTIFY_SOCKET` (systemd, OpenRC `notify=socket`: one datagram
/// `READY=1`, `STATUS=<status>`, `MAINPID=<pid>`), `$UPSTART_JOB` (`upstart_ready()`),
/// `$READYD_NOTIFY_FD` (s6, dinit `pipevar:`: `READY=1` and a newline on that fd, which
/// is then closed and the variable removed). A parent waiting in `readyd_daemonize()` is
/// released as well (it exits 0), and the daemon's stderr then goes to /dev/null.
///
/// `status` may be NULL; only its first line is used. Returns the protocol spoken
/// (`READYD_PROTOCOL_*`), 0 when nobody was listening, or a negative errno.
///
/// Does not allocate. Not async-signal-safe (it may remove environment variables).
///
/// # Safety
/// `status` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn readyd_ready(status: *const c_char) -> c_int {
    // SAFETY: status is NULL or NUL-terminated (caller's contract).
    let status = (!status.is_null()).then(|| unsafe { CStr::from_ptr(status) });
    to_c(readiness::ready(status))
}

/// Tells whoever started this process that start-up failed, for the reason `errnum` (an
/// errno value, positive or negative) and `status` (may be NULL; first line only): to
/// systemd `STATUS=<status>` and `ERRNO=<errnum>` (recorded as the unit's StatusErrno); to
/// Upstart nothing (exiting without the stop says it); on `$READYD_NOTIFY_FD` the fd is
/// closed without a newline (dinit and OpenRC: a failed start; s6: never ready); a parent
/// waiting in `readyd_daemonize()` prints `status` and the error on its stderr and exits
/// with `errnum` as its status (1 when `errnum` is not in 1..255). The caller then exits.
///
/// Returns the protocol spoken (`READYD_PROTOCOL_*`), 0 when nobody was listening, or a
/// negative errno. Does not allocate.
///
/// # Safety
/// `status` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn readyd_failed(errnum: c_int, status: *const c_char) -> c_int {
    // SAFETY: status is NULL or NUL-terminated (caller's contract).
    let status = (!status.is_null()).then(|| unsafe { CStr::from_ptr(status) });
    to_c(readiness::failed(errnum, status))
}

/// Moves the daemon into the background so that the shell that started it is released
/// only when it is ready. With `READYD_DAEMONIZE_AUTO` in `flags`, does nothing and
/// returns 0 when a supervisor already tracks the process.
///
/// Otherwise: fork, a new session, a second fork; the daemon gets `/` as its working
/// directory and /dev/null as stdin and stdout, keeps stderr (so start-up errors reach
/// the terminal) until `readyd_ready()`, and this function returns 1 in it. The original
/// process stays in the foreground and exits only when the daemon calls `readyd_ready()`
/// (status 0), or `readyd_failed()` or dies first (non-zero, with a message on stderr).
/// No other fd is closed or changed: a supervisor's fds stay the caller's business.
/// Closed fds 0-2 are first opened on /dev/null, so that nothing else takes their
/// numbers. The parent acts on the daemon's first report, even while workers the daemon
/// forked still hold the channel. The daemon forgets the `NOTIFY_SOCKET`, `UPSTART_JOB`,
/// `UPSTART_INSTANCE` and `READYD_NOTIFY_FD` it inherited: it has left that supervisor.
///
/// `pidfile` (may be NULL) is locked before the fork (`-EBUSY` if another process holds
/// it: the daemon is running; a symlink is refused), then replaced atomically by a file
/// holding the daemon's pid, written before the parent is released and locked (flock)
/// for the daemon's life, so a leftover file is recognisably stale: nobody holds its
/// lock. Remove it at exit if you like.
///
/// Returns 1 in the daemon, 0 when nothing was done, or a negative errno (in the calling
/// process before any fork, or in the daemon when the PID file could not be written; the
/// parent has then been told). Call it once, before starting threads.
///
/// # Safety
/// `pidfile` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn readyd_daemonize(flags: c_uint, pidfile: *const c_char) -> c_int {
    // SAFETY: pidfile is NULL or NUL-terminated (caller's contract).
    let pidfile = (!pidfile.is_null()).then(|| unsafe { CStr::from_ptr(pidfile) });
    to_c(daemonize::daemonize(flags, pidfile))
}

/// Tells systemd the service is reloading its configuration: `RELOADING=1` and
/// `MONOTONIC_USEC=<now>` in one datagram, as `Type=notify-reload` requires. Call
/// `readyd_ready()` when the reload is done. Returns as `sd_notify()`.
#[unsafe(no_mangle)]
pub extern "C" fn readyd_reloading() -> c_int {
    to_c(readiness::reloading())
}

/// Tells systemd that `pid` is the service's main process (a daemon that forked its
/// worker, or a wrapper that started it): `MAINPID=<pid>` and, where the kernel has pidfds,
/// the process's pidfd with `MAINPIDFD=1` and, on pidfs (Linux 6.9 and later),
/// `MAINPIDFDID=<its inode id>`, so that a manager that knows them (systemd 257 and later)
/// tracks that very process even if its pid is reused; older managers read `MAINPID=` and
/// close the fd. Without pidfds (before Linux 5.3), `MAINPID=` alone.
///
/// Returns 1 when sent, 0 when `$NOTIFY_SOCKET` is unset, or a negative errno: `-EINVAL`
/// for a `pid` not above 0, `-ESRCH` when no such process exists, or as `sd_notify()`.
/// Does not allocate.
#[unsafe(no_mangle)]
pub extern "C" fn readyd_mainpid(pid: libc::pid_t) -> c_int {
    to_c(readiness::mainpid(pid))
}

/// Tells systemd the service is stopping (`STOPPING=1`). Returns as `sd_notify()`.
#[unsafe(no_mangle)]
pub extern "C" fn readyd_stopping() -> c_int {
    to_c(readiness::stopping())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_constants_match_the_rust_ones() {
        use readiness::Protocol;
        assert_eq!(READYD_PROTOCOL_SYSTEMD, Protocol::Systemd as c_int);
        assert_eq!(READYD_PROTOCOL_UPSTART, Protocol::Upstart as c_int);
        assert_eq!(READYD_PROTOCOL_FD, Protocol::Fd as c_int);
        assert_eq!(READYD_PROTOCOL_DAEMONIZE, Protocol::Daemonize as c_int);
        assert_eq!(READYD_DAEMONIZE_AUTO, daemonize::AUTO);
    }
}
