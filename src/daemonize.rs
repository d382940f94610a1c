//! `readyd_daemonize()`: the classic fork-into-the-background, done so that the shell
//! that started the daemon is released only when the daemon is really ready.
//!
//! The original process forks, the child starts a new session and forks again, and the
//! grandchild (the daemon) returns to the caller. The original process stays in the
//! foreground reading a close-on-exec pipe: the daemon's pid first, then one status
//! record from `readyd_ready()` (exit 0) or `readyd_failed()` (exit non-zero, the text on
//! stderr). End of file before a record means the daemon died first (exit 1).
//!
//! Pipe records (native byte order): `pid: i32`, then `code: u8` (0 = ready, else the
//! exit status), `errnum: i32`, and up to [`MAX_TEXT`] bytes of status text.

use core::ffi::{CStr, c_char, c_int};
use core::sync::atomic::{AtomicI32, Ordering};

use crate::env;
use crate::errno::{self, Errno, Result};
use crate::readiness;

/// `readyd_daemonize()` flag: do nothing when a supervisor tracks the process.
pub const AUTO: u32 = 1;

/// The most status text sent to the waiting parent.
pub const MAX_TEXT: usize = 1024;

/// The daemon's end of the pipe to the waiting parent; -1 when there is none.
static PARENT: AtomicI32 = AtomicI32::new(-1);
/// The locked PID file, held open for the daemon's life; -1 when none.
static PIDFILE: AtomicI32 = AtomicI32::new(-1);

fn getpid() -> libc::pid_t {
    // SAFETY: no preconditions.
    unsafe { libc::getpid() }
}

fn close(fd: c_int) {
    // SAFETY: closing an fd we own.
    unsafe { libc::close(fd) };
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
    let r = readiness::write_all(fd, &[&[code], &errnum.to_ne_bytes(), text]);
    close(fd);
    r.map(|()| true)
}

fn redirect_to_null(fds: &[c_int]) {
    // SAFETY: a constant path; the fd is closed below.
    let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if null < 0 {
        return;
    }
    for &fd in fds {
        // SAFETY: dup2 onto a standard fd; dup2 clears CLOEXEC on the copy.
        unsafe { libc::dup2(null, fd) };
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
            libc::open(
                path.as_ptr(),
                libc::O_RDWR | libc::O_CREAT | libc::O_CLOEXEC | libc::O_NOFOLLOW,
                0o644,
            )
        })?;
        // SAFETY: a valid fd.
        if let Err(e) = errno::check(unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) }) {
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
        if let Err(e) = errno::check(unsafe { libc::fstat(fd, &mut a) }) {
            close(fd);
            return Err(e);
        }
        // SAFETY: valid path and out-pointer.
        match errno::check(unsafe { libc::lstat(path.as_ptr(), &mut b) }) {
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
    let fd = errno::check(unsafe { libc::mkostemp(tmp, libc::O_CLOEXEC) })?;
    let mut digits = [0u8; 20];
    let pid = readiness::decimal(&mut digits, getpid() as u64);
    // SAFETY: valid fd, template and path.
    let r = errno::check(unsafe { libc::flock(fd, libc::LOCK_EX) })
        .and_then(|_| errno::check(unsafe { libc::fchmod(fd, 0o644) }))
        .and_then(|_| readiness::write_all(fd, &[pid, b"\n"]).map(|()| 0))
        .and_then(|_| errno::check(unsafe { libc::rename(tmp, path.as_ptr()) }));
    if let Err(e) = r {
        // SAFETY: removing our own temporary file.
        unsafe { libc::unlink(tmp) };
        close(fd);
        return Err(e);
    }
    Ok(fd)
}

/// The original process: wait for the daemon's word, then exit with it. Never returns.
fn wait_for_daemon(read_end: c_int, child: libc::pid_t) -> ! {
    let mut status = 0;
    // SAFETY: reaping our own child, which exits as soon as it has forked the daemon.
    unsafe { libc::waitpid(child, &mut status, 0) };
    let mut buf = [0u8; 4 + 1 + 4 + MAX_TEXT];
    let mut len = 0;
    while len < buf.len() {
        // SAFETY: reading into the unused rest of buf.
        let n = unsafe { libc::read(read_end, buf[len..].as_mut_ptr().cast(), buf.len() - len) };
        match n {
            n if n > 0 => len += n as usize,
            0 => break,
            _ if Errno::last().0 == libc::EINTR => {}
            _ => break,
        }
    }
    let pid = (len >= 4).then(|| i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]));
    if len >= 9 && buf[4] == 0 {
        // SAFETY: _exit ends the original process without running the caller's atexit
        // handlers or flushing stdio twice (the daemon owns that state now).
        unsafe { libc::_exit(0) };
    }
    let mut line = Line::default();
    // SAFETY: glibc's name of the running program, set before main.
    line.push(unsafe { CStr::from_ptr(program_invocation_short_name) }.to_bytes());
    line.push(b": ");
    let code = if len >= 9 {
        let errnum = i32::from_ne_bytes([buf[5], buf[6], buf[7], buf[8]]);
        line.push(&buf[9..len]);
        if errnum != 0 {
            line.push(if len > 9 { b": " } else { b"" });
            // SAFETY: strerror returns a NUL-terminated string; this process is about to
            // exit and runs no other threads of ours.
            line.push(unsafe { CStr::from_ptr(libc::strerror(errnum)) }.to_bytes());
        }
        c_int::from(buf[4])
    } else {
        line.push(b"the daemon");
        if let Some(pid) = pid {
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
    // SAFETY: as above.
    unsafe { libc::_exit(code) }
}

unsafe extern "C" {
    /// glibc: the basename of argv[0].
    static program_invocation_short_name: *const c_char;
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
    let lock = pidfile.map(lock_pidfile).transpose()?;
    let mut p = [0 as c_int; 2];
    // SAFETY: room for two fds.
    if let Err(e) = errno::check(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }) {
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
        libc::setsid();
        match libc::fork() {
            0 => {}
            -1 => {
                let e = Errno::last().0;
                let _ = readiness::write_all(
                    write_end,
                    &[
                        &0i32.to_ne_bytes(),
                        &[1],
                        &e.to_ne_bytes(),
                        b"cannot fork the daemon",
                    ],
                );
                libc::_exit(1);
            }
            _ => libc::_exit(0),
        }
    }
    // The daemon.
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
    unsafe { libc::chdir(c"/".as_ptr()) };
    redirect_to_null(&[0, 1]);
    Ok(1)
}
