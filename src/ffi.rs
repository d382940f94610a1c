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
use crate::notify;
use crate::upstart;

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
    env::unset_if(unset_environment, &[env::NOTIFY_SOCKET]);
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
