//! `readyd_daemonize()`: the classic fork-into-the-background, done so that the shell
//! that started the daemon is released only when the daemon is really ready.
//!
//! The original process forks, the child starts a new session and forks again, and the
//! grandchild (the daemon) returns to the caller. The original process stays in the
//! foreground reading a close-on-exec pipe: the daemon's pid first, then one status
//! record from `readyd_ready()` (exit 0) or `readyd_failed()` (exit non-zero, the text on
//! stderr). It stops at the first complete record, so workers the daemon forked before it
//! was ready (and which inherited the pipe) do not hold the shell. The daemon dying before
//! a record (end of file, or its pidfd turning readable while workers keep the pipe open)
//! means it died first (exit 1).
//!
//! Standard fds 0-2 are made valid (/dev/null) before any pipe or file is opened, so the
//! pipe never lands on them and the later redirects never overwrite it. The daemon has
//! left whatever supervised its starter: it forgets the inherited `NOTIFY_SOCKET`,
//! `UPSTART_JOB`, `UPSTART_INSTANCE` and `READYD_NOTIFY_FD`.
//!
//! Pipe records (native byte order): `pid: i32`, then `code: u8` (0 = ready, else the
//! exit status), `errnum: i32`, `len: u16` and `len` (at most [`MAX_TEXT`]) bytes of
//! status text, all written at once (less than `PIPE_BUF`, so never interleaved).

use core::ffi::{CStr, c_char, c_int};
use core::sync::atomic::{AtomicI32, Ordering};

use crate::env;
use crate::errno::{self, Errno, Result};
use crate::readiness;
use crate::sys;

/// `readyd_daemonize()` flag: do nothing when a supervisor tracks the process.
pub const AUTO: u32 = 1;

/// The most status text sent to the waiting parent.
pub const MAX_TEXT: usize = 1024;

/// The daemon's end of the pipe to the waiting parent; -1 when there is none.
static PARENT: AtomicI32 = AtomicI32::new(-1);
/// The locked PID file, held open for the daemon's life; -1 when none.
static PIDFILE: AtomicI32 = AtomicI32::new(-1);

fn getpid() -> libc::pid_t {
    sys::getpid()
}

fn close(fd: c_int) {
    // SAFETY: closing an fd we own.
    unsafe { sys::close(fd) };
}

/// Whether a supervisor that tracks the process is present.
pub fn supervised() -> bool {
    [env::NOTIFY_SOCKET, env::UPSTART_JOB, readiness::NOTIFY_FD]
        .iter()
        .any(|v| env::get(v).is_some())
}

/// Sends the status record to the waiting parent, once. `failure` is `None` for ready,
/// else the errno and the text. Returns whether there was a parent to tell.
pub fn release_parent(failure: Option<(u32, &[u8])>) -> Result<bool> {
    let fd = PARENT.swap(-1, Ordering::AcqRel);
    if fd < 0 {
        return Ok(false);
    }
    let (code, errnum, text) = match failure {
        None => (0u8, 0i32, &b""[..]),
        Some((e, text)) => {
            let code = if (1..=255).contains(&e) { e as u8 } else { 1 };
            (code, e as i32, &text[..text.len().min(MAX_TEXT)])
        }
    };
    if failure.is_none() {
        // Start-up is over: from now on the daemon's stderr goes nowhere, like its stdin
        // and stdout. Done first, so it holds by the time the parent returns.
        redirect_to_null(&[2]);
    }
    let r = write_record(fd, code, errnum, text);
    close(fd);
    r.map(|()| true)
}

/// One status record (after the pid), in one write.
fn write_record(fd: c_int, code: u8, errnum: i32, text: &[u8]) -> Result<()> {
    let text = &text[..text.len().min(MAX_TEXT)];
    let len = (text.len() as u16).to_ne_bytes();
    readiness::write_all(fd, &[&[code], &errnum.to_ne_bytes(), &len, text])
}

/// Bytes of the pid and of a status record's fixed part.
const PID_LEN: usize = 4;
const HEAD_LEN: usize = 1 + 4 + 2;

/// The first complete status record in `buf` (after the pid): code, errnum, text.
fn record(buf: &[u8]) -> Option<(u8, i32, &[u8])> {
    let head = buf.get(PID_LEN..PID_LEN + HEAD_LEN)?;
    let errnum = i32::from_ne_bytes([head[1], head[2], head[3], head[4]]);
    let len = usize::from(u16::from_ne_bytes([head[5], head[6]]));
    let text = buf.get(PID_LEN + HEAD_LEN..PID_LEN + HEAD_LEN + len)?;
    Some((head[0], errnum, text))
}

/// Makes fds 0, 1 and 2 valid: each closed one becomes /dev/null. Done before any pipe or
/// file is opened, so none of those can take a standard fd's number.
fn fill_standard_fds() {
    for fd in 0..3 {
        // SAFETY: F_GETFD only queries the fd.
        if unsafe { sys::fcntl(fd, libc::F_GETFD, 0) } >= 0 {
            continue;
        }
        // SAFETY: a constant path. Not CLOEXEC: it is a standard fd from now on.
        let null = unsafe { sys::open(c"/dev/null".as_ptr(), libc::O_RDWR, 0) };
        if null >= 0 && null != fd {
            // Only if something else took the lowest number meanwhile (another thread).
            // SAFETY: duplicating onto a closed standard fd, then closing our copy.
            unsafe { sys::dup2(null, fd) };
            close(null);
        }
    }
}

/// The variables of the supervisor that started the original process. The daemon has
/// left that supervisor (it is no longer its child, or its main process): speaking to it
/// would fail or mislead it, and must not delay the waiting parent.
fn forget_supervisor() {
    env::unset(env::NOTIFY_SOCKET);
    env::unset(env::UPSTART_JOB);
    env::unset(env::UPSTART_INSTANCE);
    env::unset(readiness::NOTIFY_FD);
}

fn redirect_to_null(fds: &[c_int]) {
    // SAFETY: a constant path; the fd is closed below.
    let null = unsafe { sys::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC, 0) };
    if null < 0 {
        return;
    }
    for &fd in fds {
        // SAFETY: dup2 onto a standard fd; dup2 clears CLOEXEC on the copy.
        unsafe { sys::dup2(null, fd) };
    }
    close(null);
}

/// Opens and locks the PID file in the original process, before any fork, so that
/// "already running" is reported on the terminal. The lock is retried when the path was
/// replaced between open and lock (another starter renamed its file over it).
fn lock_pidfile(path: &CStr) -> Result<c_int> {
    for _ in 0..16 {
        // SAFETY: a NUL-terminated path; O_NOFOLLOW refuses a symlink planted there.
        let fd = errno::check(unsafe {
            sys::open(
                path.as_ptr(),
                libc::O_RDWR | libc::O_CREAT | libc::O_CLOEXEC | libc::O_NOFOLLOW,
                0o644,
            )
        })?;
        // SAFETY: a valid fd.
        if let Err(e) = errno::check(unsafe { sys::flock(fd, libc::LOCK_EX | libc::LOCK_NB) }) {
            close(fd);
            // Someone holds it: the daemon is running.
            return Err(if e.0 == libc::EWOULDBLOCK {
                Errno(libc::EBUSY)
            } else {
                e
            });
        }
        // SAFETY: stat is plain data.
        let (mut a, mut b): (libc::stat, libc::stat) = unsafe { core::mem::zeroed() };
        // SAFETY: valid fd and out-pointer.
        if let Err(e) = errno::check(unsafe { sys::fstat(fd, &mut a) }) {
            close(fd);
            return Err(e);
        }
        // SAFETY: valid path and out-pointer.
        match errno::check(unsafe { sys::lstat(path.as_ptr(), &mut b) }) {
            Ok(_) if a.st_dev == b.st_dev && a.st_ino == b.st_ino => return Ok(fd),
            // Replaced or removed since we opened it: try the new one.
            Ok(_) | Err(Errno(libc::ENOENT)) => {}
            Err(e) => {
                close(fd);
                return Err(e);
            }
        }
        close(fd);
    }
    Err(Errno(libc::EBUSY))
}

/// Writes the daemon's pid to a new, locked file beside `path` and renames it over
/// `path`: readers see the old file or the complete new one, never a partial one. The
/// new file's lock is held for the daemon's life.
fn write_pidfile(path: &CStr) -> Result<c_int> {
    let bytes = path.to_bytes();
    let suffix = b".XXXXXX\0";
    let mut template = [0u8; libc::PATH_MAX as usize];
    if bytes.len() + suffix.len() > template.len() {
        return Err(Errno(libc::ENAMETOOLONG));
    }
    template[..bytes.len()].copy_from_slice(bytes);
    template[bytes.len()..bytes.len() + suffix.len()].copy_from_slice(suffix);
    let tmp = template.as_mut_ptr().cast::<c_char>();
    // SAFETY: a writable, NUL-terminated template ending in XXXXXX.
    let fd = errno::check(unsafe { sys::mkostemp(tmp, libc::O_CLOEXEC) })?;
    let mut digits = [0u8; 20];
    let pid = readiness::decimal(&mut digits, getpid() as u64);
    // SAFETY: valid fd, template and path.
    let r = errno::check(unsafe { sys::flock(fd, libc::LOCK_EX) })
        .and_then(|_| errno::check(unsafe { sys::fchmod(fd, 0o644) }))
        .and_then(|_| readiness::write_all(fd, &[pid, b"\n"]).map(|()| 0))
        .and_then(|_| errno::check(unsafe { sys::rename(tmp, path.as_ptr()) }));
    if let Err(e) = r {
        // SAFETY: removing our own temporary file.
        unsafe { sys::unlink(tmp) };
        close(fd);
        return Err(e);
    }
    Ok(fd)
}

/// Reads what the daemon sent until the first complete record, end of file, or the
/// daemon's exit (seen through a pidfd while its workers may still hold the pipe open).
/// Returns the number of bytes in `buf`.
fn read_status(read_end: c_int, buf: &mut [u8]) -> usize {
    let mut len = 0;
    let mut pidfd: c_int = -1;
    let mut daemon_gone = false;
    while len < buf.len() && record(&buf[..len]).is_none() {
        if pidfd < 0 && !daemon_gone && len >= PID_LEN {
            let pid = i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
            if pid > 0 {
                // SAFETY: pidfd_open takes a pid and flags; it returns a CLOEXEC fd.
                let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as c_int;
                if fd >= 0 {
                    pidfd = fd;
                } else if Errno::last().0 == libc::ESRCH {
                    daemon_gone = true;
                }
            }
        }
        if daemon_gone {
            // Everything the daemon wrote is in the pipe by now: take it, without waiting
            // for the workers to close their copies.
            // SAFETY: flags of our own read end.
            unsafe { sys::fcntl(read_end, libc::F_SETFL, libc::O_NONBLOCK) };
        } else {
            let mut fds = [
                libc::pollfd {
                    fd: read_end,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: pidfd,
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: two valid pollfd entries (a negative fd is ignored by poll).
            if unsafe { sys::ppoll(fds.as_mut_ptr(), 2, core::ptr::null(), core::ptr::null()) } < 0
            {
                if Errno::last().0 == libc::EINTR {
                    continue;
                }
                break;
            }
            if fds[0].revents == 0 {
                if fds[1].revents != 0 {
                    daemon_gone = true;
                }
                continue;
            }
        }
        // SAFETY: reading into the unused rest of buf.
        let n = unsafe { sys::read(read_end, buf[len..].as_mut_ptr().cast(), buf.len() - len) };
        match n {
            n if n > 0 => len += n as usize,
            _ if n < 0 && Errno::last().0 == libc::EINTR => {}
            _ => break,
        }
    }
    if pidfd >= 0 {
        close(pidfd);
    }
    len
}

/// The original process: wait for the daemon's word, then exit with it. Never returns.
fn wait_for_daemon(read_end: c_int, child: libc::pid_t) -> ! {
    let mut status = 0;
    // SAFETY: reaping our own child, which exits as soon as it has forked the daemon.
    unsafe { sys::waitpid(child, &mut status, 0) };
    let mut buf = [0u8; PID_LEN + HEAD_LEN + MAX_TEXT];
    let len = read_status(read_end, &mut buf);
    let pid = (len >= PID_LEN).then(|| i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]));
    let record = record(&buf[..len]);
    if let Some((0, _, _)) = record {
        // _exit ends the original process without running the caller's atexit handlers
        // or flushing stdio twice (the daemon owns that state now).
        sys::_exit(0);
    }
    let mut line = Line::default();
    let mut name = [0u8; 256];
    line.push(program_name(&mut name));
    line.push(b": ");
    let code = if let Some((code, errnum, text)) = record {
        line.push(text);
        if errnum != 0 {
            line.push(if text.is_empty() { b"" } else { b": " });
            // SAFETY: strerror returns a NUL-terminated string; this process is about to
            // exit and runs no other threads of ours.
            line.push(unsafe { CStr::from_ptr(libc::strerror(errnum)) }.to_bytes());
        }
        c_int::from(code)
    } else {
        line.push(b"the daemon");
        if let Some(pid) = pid.filter(|&p| p > 0) {
            let mut digits = [0u8; 20];
            line.push(b" (pid ");
            line.push(readiness::decimal(&mut digits, pid as u64));
            line.push(b")");
        }
        line.push(b" exited before it was ready");
        1
    };
    line.push(b"\n");
    let _ = readiness::write_all(2, &[line.as_bytes()]);
    sys::_exit(code)
}

/// The basename of argv[0] (what glibc calls program_invocation_short_name), read from
/// /proc/self/cmdline: one import fewer to bind at every program's start-up, for a name
/// only this error path needs. Without /proc, "readyd_daemonize".
fn program_name(buf: &mut [u8; 256]) -> &[u8] {
    // SAFETY: a constant path; the fd is closed below.
    let fd = unsafe {
        sys::open(
            c"/proc/self/cmdline".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return b"readyd_daemonize";
    }
    // SAFETY: reading into buf, of its length.
    let n = unsafe { sys::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    close(fd);
    let read = usize::try_from(n).unwrap_or(0);
    let argv0 = buf[..read].split(|&b| b == 0).next().unwrap_or(b"");
    let base = argv0.rsplit(|&b| b == b'/').next().unwrap_or(b"");
    if base.is_empty() {
        b"readyd_daemonize"
    } else {
        base
    }
}

/// A fixed buffer for one line of text; what does not fit is dropped.
struct Line {
    buf: [u8; 2 * MAX_TEXT],
    len: usize,
}

impl Default for Line {
    fn default() -> Self {
        Line {
            buf: [0; 2 * MAX_TEXT],
            len: 0,
        }
    }
}

impl Line {
    fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// `readyd_daemonize()`: 0 when nothing was done (AUTO under a supervisor), 1 in the
/// daemon; the original process never returns.
pub fn daemonize(flags: u32, pidfile: Option<&CStr>) -> Result<c_int> {
    if flags & AUTO != 0 && supervised() {
        return Ok(0);
    }
    if PARENT.load(Ordering::Acquire) >= 0 {
        return Err(Errno(libc::EALREADY));
    }
    fill_standard_fds();
    let lock = pidfile.map(lock_pidfile).transpose()?;
    let mut p = [0 as c_int; 2];
    // SAFETY: room for two fds.
    if let Err(e) = errno::check(unsafe { sys::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }) {
        if let Some(fd) = lock {
            close(fd);
        }
        return Err(e);
    }
    let (read_end, write_end) = (p[0], p[1]);
    // Output buffered so far belongs to the original process: write it once, now.
    // SAFETY: fflush(NULL) flushes every stdio stream.
    unsafe { libc::fflush(core::ptr::null_mut()) };
    // SAFETY: fork has no memory preconditions; the child only makes async-signal-safe
    // calls until it returns to the caller as the daemon.
    let child = unsafe { libc::fork() };
    if child < 0 {
        let e = Errno::last();
        close(read_end);
        close(write_end);
        if let Some(fd) = lock {
            close(fd);
        }
        return Err(e);
    }
    if child > 0 {
        close(write_end);
        wait_for_daemon(read_end, child);
    }
    close(read_end);
    // SAFETY: as for the first fork.
    unsafe {
        sys::setsid();
        match libc::fork() {
            0 => {}
            -1 => {
                let e = Errno::last().0;
                let _ = readiness::write_all(write_end, &[&0i32.to_ne_bytes()]);
                let _ = write_record(write_end, 1, e, b"cannot fork the daemon");
                sys::_exit(1);
            }
            _ => sys::_exit(0),
        }
    }
    // The daemon.
    forget_supervisor();
    let _ = readiness::write_all(write_end, &[&getpid().to_ne_bytes()]);
    PARENT.store(write_end, Ordering::Release);
    if let (Some(path), Some(old)) = (pidfile, lock) {
        match write_pidfile(path) {
            Ok(fd) => {
                PIDFILE.store(fd, Ordering::Release);
                close(old);
            }
            Err(e) => {
                let _ = release_parent(Some((e.0 as u32, b"cannot write the PID file")));
                close(old);
                return Err(e);
            }
        }
    }
    // SAFETY: a constant path.
    unsafe { sys::chdir(c"/".as_ptr()) };
    redirect_to_null(&[0, 1]);
    Ok(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes a daemon with pid 7 sends: its pid, then one record.
    fn sent(code: u8, errnum: i32, text: &[u8]) -> ([u8; PID_LEN + HEAD_LEN + MAX_TEXT], usize) {
        let mut buf = [0u8; PID_LEN + HEAD_LEN + MAX_TEXT];
        buf[..4].copy_from_slice(&7i32.to_ne_bytes());
        buf[4] = code;
        buf[5..9].copy_from_slice(&errnum.to_ne_bytes());
        buf[9..11].copy_from_slice(&(text.len() as u16).to_ne_bytes());
        buf[11..11 + text.len()].copy_from_slice(text);
        (buf, 11 + text.len())
    }

    #[test]
    fn a_record_is_complete_only_with_all_its_text() {
        let (buf, len) = sent(98, 98, b"cannot listen");
        for cut in 0..len {
            assert_eq!(record(&buf[..cut]), None, "{cut} of {len} bytes");
        }
        assert_eq!(record(&buf[..len]), Some((98, 98, &b"cannot listen"[..])));
        // Whatever follows the first record (a worker's late write) is not read as part
        // of it.
        assert_eq!(
            record(&buf[..len + 5]),
            Some((98, 98, &b"cannot listen"[..]))
        );
        let (buf, len) = sent(0, 0, b"");
        assert_eq!(len, PID_LEN + HEAD_LEN);
        assert_eq!(record(&buf[..len]), Some((0, 0, &b""[..])));
    }
}
