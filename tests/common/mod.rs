//! Shared helpers for the integration tests: a lock around the process environment, a
//! real notification receiver (an AF_UNIX datagram socket with SO_PASSCRED, read with
//! recvmsg), and the declarations of the printf-style functions that live in shim.c.
//!
//! Every test binary includes this module; not every binary uses every helper.
#![allow(dead_code)]

use std::ffi::{CString, OsStr, OsString, c_char, c_int};
use std::fs;
use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

// Links the library (and with it the shim object holding the variadic functions).
use readyd as _;

unsafe extern "C" {
    pub fn sd_notifyf(unset_environment: c_int, format: *const c_char, ...) -> c_int;
    pub fn sd_pid_notifyf(
        pid: libc::pid_t,
        unset_environment: c_int,
        format: *const c_char,
        ...
    ) -> c_int;
    pub fn sd_pid_notifyf_with_fds(
        pid: libc::pid_t,
        unset_environment: c_int,
        fds: *const c_int,
        n_fds: usize,
        format: *const c_char,
        ...
    ) -> c_int;
}

/// The variables the library reads or removes; each test starts and ends without them.
pub const LIBRARY_VARS: [&str; 3] = ["NOTIFY_SOCKET", "UPSTART_JOB", "UPSTART_INSTANCE"];

/// How long a receive waits before the test fails instead of hanging.
pub const RECV_TIMEOUT_MS: c_int = 5_000;

static ENV_LOCK: Mutex<()> = Mutex::new(());

/// Exclusive use of the process environment. Tests run in threads of one process and the
/// library reads the environment with getenv, so every test that calls the library (whose
/// result depends on `NOTIFY_SOCKET`) or changes a variable holds this for its whole run.
pub struct Env {
    _guard: MutexGuard<'static, ()>,
}

/// Takes the environment lock and clears the library's variables (the suite itself may be
/// started under a supervisor that set `NOTIFY_SOCKET`).
pub fn lock_env() -> Env {
    // A test that failed while holding the lock poisons it; the environment is reset
    // below anyway, so the next test can go on.
    let guard = ENV_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let env = Env { _guard: guard };
    for var in LIBRARY_VARS {
        env.remove(var);
    }
    env
}

impl Env {
    /// Sets a variable.
    pub fn set(&self, key: &str, value: impl AsRef<OsStr>) {
        // SAFETY: set_var is unsound only when another thread reads or writes the
        // environment at the same time. Every test touching the environment, directly or
        // through the library, holds ENV_LOCK, which `self` proves we own.
        unsafe { std::env::set_var(key, value) };
    }

    /// Removes a variable.
    pub fn remove(&self, key: &str) {
        // SAFETY: as in `set`: we hold ENV_LOCK.
        unsafe { std::env::remove_var(key) };
    }

    /// Reads a variable.
    pub fn get(&self, key: &str) -> Option<OsString> {
        std::env::var_os(key)
    }

    /// Whether `NOTIFY_SOCKET` is still in the environment.
    pub fn notify_socket_set(&self) -> bool {
        self.get("NOTIFY_SOCKET").is_some()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for var in LIBRARY_VARS {
            self.remove(var);
        }
    }
}

/// A fresh, empty directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

static UNIQUE: AtomicUsize = AtomicUsize::new(0);

/// A name no other test (in this or a concurrent test process) uses.
pub fn unique_name(prefix: &str) -> String {
    let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{n}-{nanos}", std::process::id())
}

impl TempDir {
    pub fn new() -> TempDir {
        let path = std::env::temp_dir().join(unique_name("readyd-test"));
        fs::create_dir(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// What the receiving end saw of one datagram.
#[derive(Debug)]
pub struct Datagram {
    /// The payload, exactly as long as the datagram.
    pub bytes: Vec<u8>,
    /// The sender's credentials, as the kernel reports them with SO_PASSCRED.
    pub creds: Option<libc::ucred>,
    /// The fds that came with SCM_RIGHTS, in order, now owned by the receiver.
    pub fds: Vec<OwnedFd>,
}

impl Datagram {
    /// Asserts the payload, comparing as text when possible for readable failures.
    pub fn assert_bytes(&self, expected: &[u8]) {
        if self.bytes != expected {
            panic!(
                "datagram differs:\n  got      {} bytes: {:?}\n  expected {} bytes: {:?}",
                self.bytes.len(),
                String::from_utf8_lossy(&self.bytes[..self.bytes.len().min(200)]),
                expected.len(),
                String::from_utf8_lossy(&expected[..expected.len().min(200)]),
            );
        }
    }

    /// The credentials; SO_PASSCRED guarantees the kernel attaches them.
    pub fn creds(&self) -> libc::ucred {
        self.creds
            .expect("no SCM_CREDENTIALS although SO_PASSCRED is set")
    }

    /// Asserts the message came from this process with its real ids.
    pub fn assert_from_self(&self) {
        self.assert_from_pid(own_pid());
    }

    /// Asserts the credentials name `pid` and this process's real uid and gid.
    pub fn assert_from_pid(&self, pid: libc::pid_t) {
        let c = self.creds();
        // SAFETY: getuid and getgid have no preconditions.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        assert_eq!((c.pid, c.uid, c.gid), (pid, uid, gid), "sender credentials");
    }

    /// Identities (device, inode) of the received fds, in order.
    pub fn fd_ids(&self) -> Vec<(u64, u64)> {
        self.fds.iter().map(|f| file_id(f.as_raw_fd())).collect()
    }
}

/// A bound AF_UNIX SOCK_DGRAM socket with SO_PASSCRED: what a supervisor listens on.
pub struct Receiver {
    sock: UnixDatagram,
    /// The value to put in `NOTIFY_SOCKET`.
    pub address: String,
    _dir: Option<TempDir>,
}

/// Largest datagram a test receives (the big-message tests send about 300 KB).
const RECV_BUFFER: usize = 1 << 20;

impl Receiver {
    /// A receiver bound at `notify` in a fresh temp dir.
    pub fn path() -> Receiver {
        let dir = TempDir::new();
        let path = dir.join("notify");
        let sock = UnixDatagram::bind(&path).expect("bind receiver");
        Receiver::setup(
            sock,
            path.to_str().expect("utf-8 temp path").to_owned(),
            Some(dir),
        )
    }

    /// A receiver bound at exactly `path` (the caller owns the directory).
    pub fn at_path(path: &Path) -> Receiver {
        let sock = UnixDatagram::bind(path).expect("bind receiver");
        Receiver::setup(sock, path.to_str().expect("utf-8 path").to_owned(), None)
    }

    /// A receiver bound at a fresh abstract name.
    pub fn abstract_name() -> Receiver {
        Receiver::at_abstract(&unique_name("readyd-test"))
    }

    /// A receiver bound at the abstract name `name` (without the leading '@'; the address
    /// holds exactly these bytes, no trailing NUL).
    pub fn at_abstract(name: &str) -> Receiver {
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("abstract address");
        let sock = UnixDatagram::bind_addr(&addr).expect("bind abstract receiver");
        Receiver::setup(sock, format!("@{name}"), None)
    }

    fn setup(sock: UnixDatagram, address: String, dir: Option<TempDir>) -> Receiver {
        let fd = sock.as_raw_fd();
        set_int_option(fd, libc::SO_PASSCRED, 1).expect("SO_PASSCRED");
        // Room for the large messages; forced when privileged, best effort otherwise.
        let big = 8 << 20;
        if set_int_option(fd, libc::SO_RCVBUFFORCE, big).is_err() {
            let _ = set_int_option(fd, libc::SO_RCVBUF, big);
        }
        Receiver {
            sock,
            address,
            _dir: dir,
        }
    }

    pub fn raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// Waits (bounded) for one datagram and returns what arrived with it.
    pub fn recv(&self) -> Datagram {
        self.try_recv(RECV_TIMEOUT_MS)
            .unwrap_or_else(|| panic!("no datagram within {RECV_TIMEOUT_MS} ms"))
    }

    /// Waits up to `timeout_ms` for one datagram; None if none came.
    pub fn try_recv(&self, timeout_ms: c_int) -> Option<Datagram> {
        let mut pfd = libc::pollfd {
            fd: self.raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        assert!(n >= 0, "poll: {}", io::Error::last_os_error());
        if n == 0 {
            return None;
        }
        Some(self.recvmsg(0).expect("recvmsg after POLLIN"))
    }

    /// Asserts that no datagram is queued (a non-blocking receive fails with EAGAIN).
    pub fn assert_nothing(&self) {
        let mut byte = 0u8;
        // SAFETY: one writable byte; MSG_DONTWAIT never blocks.
        let n = unsafe {
            libc::recv(
                self.raw_fd(),
                ptr::from_mut(&mut byte).cast(),
                1,
                libc::MSG_DONTWAIT,
            )
        };
        let err = io::Error::last_os_error();
        assert_eq!(
            n, -1,
            "a datagram was queued although nothing should be sent"
        );
        assert_eq!(err.raw_os_error(), Some(libc::EAGAIN), "recv: {err}");
    }

    #[allow(
        clippy::useless_conversion,
        clippy::unnecessary_fallible_conversions,
        reason = "msg_controllen is a size_t on glibc, a socklen_t on musl"
    )]
    fn recvmsg(&self, flags: c_int) -> io::Result<Datagram> {
        let mut data = vec![0u8; RECV_BUFFER];
        // Enough control space for the most fds one message may carry plus credentials;
        // u64 elements keep it aligned for cmsghdr.
        // SAFETY: CMSG_SPACE is arithmetic.
        let space = unsafe {
            libc::CMSG_SPACE((253 * size_of::<c_int>()) as u32)
                + libc::CMSG_SPACE(size_of::<libc::ucred>() as u32)
        } as usize;
        let mut control = vec![0u64; space.div_ceil(8)];
        let mut iov = libc::iovec {
            iov_base: data.as_mut_ptr().cast(),
            iov_len: data.len(),
        };
        // SAFETY: msghdr is plain data; all-zero is valid.
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = (control.len() * 8).try_into().unwrap();
        // SAFETY: msg describes live buffers of the lengths given.
        let n = unsafe {
            libc::recvmsg(
                self.raw_fd(),
                &mut msg,
                flags | libc::MSG_CMSG_CLOEXEC | libc::MSG_TRUNC,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        let mut creds = None;
        let mut fds = Vec::new();
        // SAFETY: the kernel filled msg_controllen bytes of control with cmsg headers;
        // the CMSG_* macros stay inside it, and each payload is read unaligned.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                let len = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                match ((*c).cmsg_level, (*c).cmsg_type) {
                    (libc::SOL_SOCKET, libc::SCM_RIGHTS) => {
                        let p = libc::CMSG_DATA(c).cast::<c_int>();
                        for i in 0..len / size_of::<c_int>() {
                            fds.push(OwnedFd::from_raw_fd(ptr::read_unaligned(p.add(i))));
                        }
                    }
                    (libc::SOL_SOCKET, libc::SCM_CREDENTIALS) => {
                        creds = Some(ptr::read_unaligned(
                            libc::CMSG_DATA(c).cast::<libc::ucred>(),
                        ));
                    }
                    other => panic!("unexpected control message {other:?}"),
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        assert_eq!(
            msg.msg_flags & libc::MSG_CTRUNC,
            0,
            "control data truncated"
        );
        assert!(
            n <= data.len(),
            "datagram of {n} bytes exceeds the test buffer"
        );
        data.truncate(n);
        Ok(Datagram {
            bytes: data,
            creds,
            fds,
        })
    }
}

/// Sets an int-valued SOL_SOCKET option.
pub fn set_int_option(fd: RawFd, option: c_int, value: c_int) -> io::Result<()> {
    // SAFETY: a c_int option value of the right length.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            ptr::from_ref(&value).cast(),
            size_of::<c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// An AF_UNIX socket of type `ty` (SOCK_STREAM or SOCK_SEQPACKET) listening at `path`.
pub fn listener(path: &Path, ty: c_int) -> OwnedFd {
    // SAFETY: plain syscall.
    let fd = unsafe { libc::socket(libc::AF_UNIX, ty | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", io::Error::last_os_error());
    // SAFETY: fd was just created and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_un is plain data.
    let mut addr: libc::sockaddr_un = unsafe { zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_encoded_bytes();
    assert!(bytes.len() < addr.sun_path.len(), "path too long");
    for (dst, &src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = src as c_char;
    }
    // SAFETY: a valid address of the size given.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            ptr::from_ref(&addr).cast(),
            size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "bind: {}", io::Error::last_os_error());
    // SAFETY: a bound socket.
    let r = unsafe { libc::listen(fd.as_raw_fd(), 1) };
    assert_eq!(r, 0, "listen: {}", io::Error::last_os_error());
    fd
}

/// (st_dev, st_ino) of an open fd: two fds with equal ids refer to the same file.
#[allow(
    clippy::useless_conversion,
    clippy::unnecessary_fallible_conversions,
    reason = "ino_t is 32 bits on i686 glibc, 64 elsewhere"
)]
pub fn file_id(fd: RawFd) -> (u64, u64) {
    let st = fstat(fd);
    (st.st_dev, u64::from(st.st_ino))
}

pub fn fstat(fd: RawFd) -> libc::stat {
    // SAFETY: stat is plain data.
    let mut st: libc::stat = unsafe { zeroed() };
    // SAFETY: a valid out-pointer.
    let r = unsafe { libc::fstat(fd, &mut st) };
    assert_eq!(r, 0, "fstat({fd}): {}", io::Error::last_os_error());
    st
}

/// Whether `fd` is open in this process.
pub fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only queries the descriptor table.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

pub fn own_pid() -> libc::pid_t {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }
}

/// The privileged cases (claiming pid 1 in the credentials) need root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Says that a case is skipped, and why, where the person running the tests sees it:
/// "SKIP: WHY" on stderr, written past the test harness's capture (which hides what a
/// passing test prints), so that a skipped case never shows as a silent "ok".
/// `make check` counts each such line as a skipped test (tests/run-checks.sh).
pub fn skip(why: &str) {
    use std::io::Write as _;
    // One write of the whole line, so that lines of parallel tests do not mix.
    let _ = io::stderr().write_all(format!("SKIP: {why}\n").as_bytes());
}

/// Prints why a privileged case is skipped and returns true, or returns false as root.
/// Most of them claim pid 1 in SCM_CREDENTIALS, which needs CAP_SYS_ADMIN.
pub fn skip_unless_root(case: &str, why: &str) -> bool {
    if is_root() {
        return false;
    }
    skip(&format!("{case} needs root ({why})"));
    true
}

/// Why most privileged cases need root.
pub const CLAIM_PID_1: &str = "claiming pid 1 in SCM_CREDENTIALS";

/// A C string for the library.
pub fn cstring(s: impl Into<Vec<u8>>) -> CString {
    CString::new(s).expect("no NUL inside test strings")
}

/// A pid no process has: above the kernel's pid_max.
pub fn nonexistent_pid() -> libc::pid_t {
    let max: libc::pid_t = fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4_194_304);
    let pid = 4_000_000.max(max + 1);
    // SAFETY: signal 0 only checks for existence.
    let r = unsafe { libc::kill(pid, 0) };
    assert_eq!(r, -1, "pid {pid} unexpectedly exists");
    pid
}

/// Two different files to pass as fds, kept open by the returned handles.
pub fn two_files(dir: &TempDir) -> [fs::File; 2] {
    let a = dir.join("first");
    let b = dir.join("second");
    fs::write(&a, b"first").expect("write fixture");
    fs::write(&b, b"second").expect("write fixture");
    [
        fs::File::open(a).expect("open fixture"),
        fs::File::open(b).expect("open fixture"),
    ]
}
