//! Starting the daemon: listening sockets for `--listen`, the environment, and fork +
//! execve done by hand.
//!
//! Why by hand: `LISTEN_PID` and `WATCHDOG_PID` must hold the daemon's own pid, which is
//! known only after fork(), and std::process::Command builds the environment before it.
//! So everything is prepared before the fork: the program path, argv, and an envp whose
//! pid variables point at buffers with room for any pid. Between fork and execve the
//! child only does async-signal-safe work that allocates nothing: it writes its pid's
//! digits into those buffers, moves fds into place, restores the signal mask, and execs.
//! If execve fails, the child sends its errno to the parent over a close-on-exec pipe, so
//! "cannot execute" is reported by the parent with the real reason.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener};
use std::path::{Path, PathBuf};
use std::ptr;

use crate::args::{Listen, ListenAddr};

/// A listening socket for the daemon.
pub struct Listener {
    pub fd: OwnedFd,
    pub name: String,
    /// The bound address as shown to the user (with the real port when 0 was asked for).
    pub shown: String,
    /// A socket file this run created, removed at the end.
    pub path: Option<PathBuf>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The socket files of path listeners, removed when this is dropped: at the end of the
/// run, not when readyd closes its copies of the sockets, since clients find the daemon
/// by these paths.
pub struct SocketFiles(Vec<PathBuf>);

impl SocketFiles {
    /// Takes over the removal of every listener's socket file.
    pub fn take(listeners: &mut [Listener]) -> SocketFiles {
        SocketFiles(listeners.iter_mut().filter_map(|l| l.path.take()).collect())
    }
}

impl Drop for SocketFiles {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Binds and listens on every `--listen` address, in order.
pub fn listen(specs: &[Listen]) -> Result<Vec<Listener>, String> {
    specs.iter().map(listen_one).collect()
}

fn listen_one(spec: &Listen) -> Result<Listener, String> {
    let cannot = |what: &str, e: io::Error| {
        format!(
            "cannot listen on {what}: {}",
            crate::process::error_text(&e)
        )
    };
    let (fd, shown, path): (OwnedFd, String, Option<PathBuf>) = match &spec.addr {
        ListenAddr::Inet(a) => {
            let l = std::net::TcpListener::bind(a).map_err(|e| cannot(&a.to_string(), e))?;
            let shown = l
                .local_addr()
                .map_or_else(|_| a.to_string(), |b| b.to_string());
            (l.into(), shown, None)
        }
        ListenAddr::Path(p) => {
            // A socket file left by an earlier run is replaced; anything else is not ours
            // to remove.
            if let Ok(m) = std::fs::symlink_metadata(p) {
                if m.file_type().is_socket() {
                    let _ = std::fs::remove_file(p);
                } else {
                    return Err(format!(
                        "cannot listen on {}: the path exists and is not a socket",
                        p.display()
                    ));
                }
            }
            let l = UnixListener::bind(p).map_err(|e| cannot(&p.display().to_string(), e))?;
            (l.into(), p.display().to_string(), Some(p.clone()))
        }
        ListenAddr::Abstract(name) => {
            let shown = format!("@{}", String::from_utf8_lossy(name));
            let l = UnixAddr::from_abstract_name(name)
                .and_then(|a| UnixListener::bind_addr(&a))
                .map_err(|e| cannot(&shown, e))?;
            (l.into(), shown, None)
        }
    };
    Ok(Listener {
        fd,
        name: spec.name.clone(),
        shown,
        path,
    })
}

/// What the child gets besides the inherited environment.
pub struct Plan<'a> {
    pub command: &'a [OsString],
    /// Variables removed from the inherited environment (a supervisor's own, which must
    /// not leak into the daemon).
    pub remove: &'a [&'a str],
    /// Variables set to fixed values.
    pub set: Vec<(String, OsString)>,
    /// Variables set to the child's pid.
    pub pid_vars: Vec<&'static str>,
    /// Fds placed at 3, 4, ... in this order, without close-on-exec.
    pub fds: Vec<RawFd>,
    /// Standard output goes to standard error (keeps `--json` output clean).
    pub stdout_to_stderr: bool,
}

/// Why the daemon could not be started.
pub enum SpawnError {
    /// A name without '/' that is nowhere in PATH.
    NotFound(String),
    /// execve failed with this errno.
    Exec(String, i32),
    /// Anything else: fork, pipe, /dev/null.
    Setup(String),
}

impl SpawnError {
    /// The message for stderr and the exit status, as a shell would choose it: 127 for
    /// "not found", 126 for "found but cannot be executed".
    pub fn report(&self) -> (String, i32) {
        match self {
            SpawnError::NotFound(name) => (
                format!("cannot run '{name}': command not found in PATH"),
                127,
            ),
            SpawnError::Exec(path, errno) => {
                let e = crate::process::errno_text(*errno);
                let hint = if *errno == libc::ENOENT && Path::new(path).exists() {
                    " (is the interpreter in its #! line missing?)"
                } else {
                    ""
                };
                let status = if *errno == libc::ENOENT { 127 } else { 126 };
                (format!("cannot execute '{path}': {e}{hint}"), status)
            }
            SpawnError::Setup(text) => (text.clone(), 1),
        }
    }
}

/// The program `name` would run: itself if it holds a '/', else the first executable
/// file of that name in PATH (or, if none is executable, the first that exists, so that
/// execve reports why).
fn resolve(name: &OsStr) -> Result<PathBuf, SpawnError> {
    if name.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(name));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let mut existing = None;
    for dir in path.as_bytes().split(|&b| b == b':') {
        let dir = if dir.is_empty() { b"." as &[u8] } else { dir };
        let candidate = Path::new(OsStr::from_bytes(dir)).join(name);
        let Ok(meta) = std::fs::metadata(&candidate) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let Ok(c) = CString::new(candidate.as_os_str().as_bytes()) else {
            continue;
        };
        // SAFETY: c is NUL-terminated.
        if unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 {
            return Ok(candidate);
        }
        existing.get_or_insert(candidate);
    }
    existing.ok_or_else(|| SpawnError::NotFound(name.to_string_lossy().into_owned()))
}

fn c_string(bytes: &[u8]) -> Result<CString, SpawnError> {
    CString::new(bytes).map_err(|_| SpawnError::Setup("an argument holds a NUL byte".into()))
}

/// Room for "NAME=" and any pid with its NUL.
const PID_DIGITS: usize = 21;

/// Everything the child needs, as raw pointers and plain numbers, prepared before the
/// fork so that the child allocates nothing.
struct ChildSetup {
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    /// (buffer, offset of the digits) of each pid variable.
    pid_slots: Vec<(*mut u8, usize)>,
    fds: Vec<RawFd>,
    /// One entry per fd: where the child parks it while moving.
    parked: *mut RawFd,
    stdin: RawFd,
    stdout_to_stderr: bool,
    mask: libc::sigset_t,
    error_pipe: RawFd,
    /// The pipe the child waits on (read end, write end) until the parent lets it go.
    go: (RawFd, RawFd),
}

/// Forks and executes the plan; returns the child's pid once execve has succeeded.
/// `mask` is the signal mask the daemon starts with. `announce` is called with the pid
/// while the child still waits before its execve, so that what it says comes first.
pub fn spawn(
    plan: &Plan<'_>,
    mask: &libc::sigset_t,
    announce: impl FnOnce(libc::pid_t),
) -> Result<libc::pid_t, SpawnError> {
    let program = resolve(&plan.command[0])?;
    let path = c_string(program.as_os_str().as_bytes())?;
    let argv: Vec<CString> = plan
        .command
        .iter()
        .map(|a| c_string(a.as_bytes()))
        .collect::<Result<_, _>>()?;
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(ptr::null());

    let ours = |k: &OsStr| {
        plan.remove.iter().any(|r| OsStr::new(r) == k)
            || plan.set.iter().any(|(s, _)| OsStr::new(s) == k)
            || plan.pid_vars.iter().any(|s| OsStr::new(s) == k)
    };
    let mut env: Vec<CString> = Vec::new();
    for (k, v) in std::env::vars_os() {
        if !ours(&k) {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            env.push(c_string(&kv)?);
        }
    }
    for (k, v) in &plan.set {
        let mut kv = k.as_bytes().to_vec();
        kv.push(b'=');
        kv.extend_from_slice(v.as_bytes());
        env.push(c_string(&kv)?);
    }
    // The pid buffers: "NAME=" then room for the digits; "0" until the child fills it.
    let mut pid_buffers: Vec<Vec<u8>> = plan
        .pid_vars
        .iter()
        .map(|name| {
            let mut b = format!("{name}=0").into_bytes();
            b.resize(name.len() + 1 + PID_DIGITS, 0);
            b
        })
        .collect();
    let pid_slots: Vec<(*mut u8, usize)> = pid_buffers
        .iter_mut()
        .zip(&plan.pid_vars)
        .map(|(b, name)| (b.as_mut_ptr(), name.len() + 1))
        .collect();
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    envp.extend(pid_slots.iter().map(|&(p, _)| p.cast_const().cast()));
    envp.push(ptr::null());

    let mut parked = vec![-1 as RawFd; plan.fds.len()];
    let stdin = std::fs::File::open("/dev/null")
        .map(OwnedFd::from)
        .map_err(|e| SpawnError::Setup(format!("cannot open /dev/null: {e}")))?;
    let pipe =
        || cloexec_pipe().map_err(|e| SpawnError::Setup(format!("cannot create a pipe: {e}")));
    let (error_read, error_write) = pipe()?;
    let (go_read, go_write) = pipe()?;

    let setup = ChildSetup {
        path: path.as_ptr(),
        argv: argv_ptrs.as_ptr(),
        envp: envp.as_ptr(),
        pid_slots,
        fds: plan.fds.clone(),
        parked: parked.as_mut_ptr(),
        stdin: stdin.as_raw_fd(),
        stdout_to_stderr: plan.stdout_to_stderr,
        mask: *mask,
        error_pipe: error_write.as_raw_fd(),
        go: (go_read.as_raw_fd(), go_write.as_raw_fd()),
    };

    // SAFETY: readyd is single-threaded, so the child is a faithful copy; it runs only
    // `exec_child`, which is async-signal-safe and does not return.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(SpawnError::Setup(format!(
            "cannot fork: {}",
            io::Error::last_os_error()
        )));
    }
    if pid == 0 {
        // SAFETY: we are the child of a single-threaded process; setup points at live
        // buffers prepared above.
        unsafe { exec_child(&setup) }
    }
    drop(error_write);
    announce(pid);
    // End of file on the go pipe lets the child go on to its execve.
    drop((go_read, go_write));
    // The buffers must live until the child has exec'd or failed, which the error pipe
    // tells: it reaches end of file at the execve, or carries the errno.
    let mut errno = [0u8; size_of::<i32>()];
    let mut got = 0;
    while got < errno.len() {
        // SAFETY: reads into the unfilled rest of errno.
        let n = unsafe {
            libc::read(
                error_read.as_raw_fd(),
                errno[got..].as_mut_ptr().cast(),
                errno.len() - got,
            )
        };
        if n > 0 {
            got += n as usize;
        } else if n == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break;
        }
    }
    drop((argv, env, pid_buffers, parked, stdin));
    if got == errno.len() {
        let mut status = 0;
        // SAFETY: reaps the child that failed to exec; status is a valid out-pointer.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        return Err(SpawnError::Exec(
            program.to_string_lossy().into_owned(),
            i32::from_ne_bytes(errno),
        ));
    }
    Ok(pid)
}

fn cloexec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut p = [0 as RawFd; 2];
    // SAFETY: p has room for two fds.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds are new and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) })
}

/// A pipe for the fd protocol: the read end (close-on-exec, non-blocking) stays with
/// readyd, the write end goes to the daemon.
pub fn notify_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = cloexec_pipe()?;
    // SAFETY: fcntl on an fd we own.
    unsafe {
        let flags = libc::fcntl(r.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(r.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    Ok((r, w))
}

/// The child's side, between fork and execve. Only async-signal-safe calls, no
/// allocation, no locks, and no return.
///
/// # Safety
/// Called once, in the child of a fork of a single-threaded process, with `s` prepared
/// by `spawn`.
unsafe fn exec_child(s: &ChildSetup) -> ! {
    // SAFETY: every call below is async-signal-safe; the pointers come from buffers that
    // were alive at the fork and are this process's own copies now. Slot buffers have
    // room for PID_DIGITS bytes after their offset, and `parked` one entry per fd.
    unsafe {
        // The pid variables: digits and a NUL into the buffers envp points at.
        let mut digits = [0u8; 20];
        let pid = readyd::readiness::decimal(&mut digits, libc::getpid() as u64);
        for &(buf, offset) in &s.pid_slots {
            ptr::copy_nonoverlapping(pid.as_ptr(), buf.add(offset), pid.len());
            *buf.add(offset + pid.len()) = 0;
        }

        // Wait until the parent has announced us: end of file once its write end is
        // closed (ours first).
        libc::close(s.go.1);
        let mut byte = 0u8;
        while libc::read(s.go.0, ptr::from_mut(&mut byte).cast(), 1) < 0
            && *libc::__errno_location() == libc::EINTR
        {}
        libc::close(s.go.0);

        // A process group of its own: readyd forwards SIGINT and SIGTERM itself, so a
        // Ctrl-C in the terminal reaches the daemon once, not twice.
        libc::setpgid(0, 0);
        // An ignored signal stays ignored across execve (Rust's runtime ignores SIGPIPE;
        // a shell's background job ignores SIGINT): the daemon starts with every signal
        // at its default, as under a service manager. SIGKILL and SIGSTOP just refuse.
        for sig in 1..=64 {
            libc::signal(sig, libc::SIG_DFL);
        }

        // Move the error pipe and the fds out of the way of their targets (3, 4, ...),
        // then put each in place; dup2 leaves the copy without close-on-exec.
        let first_free = 3 + s.fds.len() as libc::c_int;
        let error_pipe = libc::fcntl(s.error_pipe, libc::F_DUPFD_CLOEXEC, first_free);
        if error_pipe < 0 {
            fail(s.error_pipe);
        }
        for (i, &fd) in s.fds.iter().enumerate() {
            let high = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, first_free);
            if high < 0 {
                fail(error_pipe);
            }
            *s.parked.add(i) = high;
        }
        if libc::dup2(s.stdin, 0) < 0 {
            fail(error_pipe);
        }
        if s.stdout_to_stderr && libc::dup2(2, 1) < 0 {
            fail(error_pipe);
        }
        for i in 0..s.fds.len() {
            if libc::dup2(*s.parked.add(i), 3 + i as libc::c_int) < 0 {
                fail(error_pipe);
            }
        }

        // Signals readyd blocks (to read them from a signalfd) are unblocked for the
        // daemon.
        libc::sigprocmask(libc::SIG_SETMASK, &s.mask, ptr::null_mut());
        libc::execve(s.path, s.argv, s.envp);
        fail(error_pipe)
    }
}

/// Reports errno to the parent and exits as a shell does for a command it cannot run.
///
/// # Safety
/// Only in the forked child.
unsafe fn fail(error_pipe: RawFd) -> ! {
    // SAFETY: __errno_location, write and _exit are async-signal-safe; the buffer is on
    // the stack.
    unsafe {
        let e = (*libc::__errno_location()).to_ne_bytes();
        libc::write(error_pipe, e.as_ptr().cast(), e.len());
        libc::_exit(127)
    }
}
