//! The process-wide state the targets control around each call: environment variables,
//! the fds from 3 up that socket activation touches, and a datagram receiver that any
//! message the libraries send may go to. Everything the fuzzer's own process needs
//! (libFuzzer's files, its fds) is restored after each call.

use std::ffi::{CStr, CString};
use std::os::raw::c_int;

/// Sets (`Some`) or removes (`None`) an environment variable. Values never hold a NUL:
/// the targets build them from NUL-separated input.
pub fn set_var(name: &CStr, value: Option<&[u8]>) {
    match value {
        Some(v) => {
            let v = CString::new(v).expect("values are NUL-free");
            // SAFETY: both strings are NUL-terminated; the fuzzer runs one thread that
            // reads or writes the environment.
            unsafe { libc::setenv(name.as_ptr(), v.as_ptr(), 1) };
        }
        // SAFETY: as above.
        None => unsafe {
            libc::unsetenv(name.as_ptr());
        },
    }
}

/// The current value of a variable.
pub fn get_var(name: &CStr) -> Option<Vec<u8>> {
    // SAFETY: a NUL-terminated name; the result is NULL or NUL-terminated.
    let p = unsafe { libc::getenv(name.as_ptr()) };
    // SAFETY: non-NULL, NUL-terminated (above).
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes().to_vec())
}

/// The lowest free fd number: a call that leaked an fd moves it (the kernel always hands
/// out the lowest free number).
pub fn lowest_free_fd() -> c_int {
    // SAFETY: dup of stdin; the copy is closed at once.
    let fd = unsafe { libc::fcntl(0, libc::F_DUPFD, 0) };
    assert!(fd >= 0, "cannot probe the fd table");
    // SAFETY: closing the copy made above.
    unsafe { libc::close(fd) };
    fd
}

fn fd_flags(fd: c_int) -> Option<c_int> {
    // SAFETY: fcntl(F_GETFD) on any number.
    let f = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    (f >= 0).then_some(f)
}

fn set_fd_flags(fd: c_int, flags: c_int) {
    // SAFETY: fcntl(F_SETFD) on an open fd.
    unsafe { libc::fcntl(fd, libc::F_SETFD, flags) };
}

/// How many fds above the ones `ListenFds::open` makes sure of are watched too: a margin
/// for whatever the fuzzer itself holds there.
const MARGIN: c_int = 8;

/// The fds 3, 4, ... that `sd_listen_fds` marks close-on-exec. `open(k)` makes sure that
/// 3 .. 3+k are all open (with /dev/null where nothing was); `begin()` records their
/// flags, `reset()` puts them back before each call, `cloexec()` says what a call did.
pub struct ListenFds {
    watch: c_int,
    saved: Vec<Option<c_int>>,
}

impl ListenFds {
    /// Fills the holes in 3 .. 3+k with /dev/null.
    pub fn open(k: c_int) -> ListenFds {
        for fd in 3..3 + k {
            if fd_flags(fd).is_none() {
                // SAFETY: a constant path; the result is moved onto `fd` below.
                let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
                assert!(null >= 0, "cannot open /dev/null");
                if null != fd {
                    // SAFETY: fd is free (checked above); dup2 then closes nothing of ours.
                    assert_eq!(unsafe { libc::dup2(null, fd) }, fd);
                    // SAFETY: the temporary copy.
                    unsafe { libc::close(null) };
                }
            }
        }
        let mut s = ListenFds {
            watch: k + MARGIN,
            saved: Vec::new(),
        };
        s.begin();
        s
    }

    /// Records the flags of the watched fds as they are now.
    pub fn begin(&mut self) {
        self.saved = (3..3 + self.watch).map(fd_flags).collect();
    }

    /// Restores the recorded flags, and clears close-on-exec from every watched fd so
    /// that a call's effect shows.
    pub fn reset(&self) {
        for (i, f) in self.saved.iter().enumerate() {
            if let Some(f) = f {
                set_fd_flags(3 + i as c_int, f & !libc::FD_CLOEXEC);
            }
        }
    }

    /// Puts the flags back as recorded by `begin`.
    pub fn restore(&self) {
        for (i, f) in self.saved.iter().enumerate() {
            if let Some(f) = f {
                set_fd_flags(3 + i as c_int, *f);
            }
        }
    }

    /// Which watched fds are close-on-exec now: one byte per fd, `y`, `n`, or `-` for a
    /// closed one.
    pub fn cloexec(&self) -> String {
        (3..3 + self.watch)
            .map(|fd| match fd_flags(fd) {
                None => '-',
                Some(f) if f & libc::FD_CLOEXEC != 0 => 'y',
                Some(_) => 'n',
            })
            .collect()
    }
}

/// Moves the process into a network namespace of its own, so that abstract socket names
/// (`@name`) reach only sockets made here. Needs root (CAP_SYS_ADMIN); returns whether it
/// worked.
pub fn private_network() -> bool {
    // SAFETY: unshare with a single flag; on failure nothing changes.
    unsafe { libc::unshare(libc::CLONE_NEWNET) == 0 }
}

/// One datagram received: its bytes and how many fds came with it (already closed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// The payload.
    pub bytes: Vec<u8>,
    /// The number of SCM_RIGHTS fds.
    pub fds: usize,
}

/// Two bound datagram sockets that notifications may be aimed at: a path in a private
/// directory and an abstract name.
pub struct Receiver {
    path_fd: c_int,
    abstract_fd: c_int,
    /// The socket's path (what `$NOTIFY_SOCKET` holds to reach it).
    pub path: Vec<u8>,
    /// The abstract name without its `@`.
    pub name: Vec<u8>,
    dir: CString,
    buf: std::cell::RefCell<Vec<u8>>,
}

fn bind_dgram(addr: &[u8], abstract_name: bool) -> c_int {
    // SAFETY: plain socket call.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket");
    // SAFETY: sockaddr_un is plain data.
    let mut sa: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sa.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let off = usize::from(abstract_name);
    for (d, s) in sa.sun_path[off..].iter_mut().zip(addr) {
        *d = *s as libc::c_char;
    }
    let base = std::mem::offset_of!(libc::sockaddr_un, sun_path);
    let len = base + off + addr.len() + usize::from(!abstract_name);
    // SAFETY: a valid address of that length.
    let r = unsafe { libc::bind(fd, (&raw const sa).cast(), len as libc::socklen_t) };
    assert_eq!(r, 0, "bind {:?}", String::from_utf8_lossy(addr));
    let on: c_int = 1;
    // SAFETY: an int option. Large messages from a fuzzed state fit the receive queue.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PASSCRED,
            (&raw const on).cast(),
            size_of::<c_int>() as libc::socklen_t,
        );
        let big: c_int = 1 << 20;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&raw const big).cast(),
            size_of::<c_int>() as libc::socklen_t,
        );
    }
    fd
}

impl Receiver {
    /// Binds both sockets (the abstract one in the current network namespace).
    pub fn new(tag: &str) -> Receiver {
        let template = CString::new(format!("/tmp/readyd-fuzz-{tag}.XXXXXX")).unwrap();
        let mut t = template.into_bytes_with_nul();
        // SAFETY: a writable NUL-terminated template.
        let p = unsafe { libc::mkdtemp(t.as_mut_ptr().cast()) };
        assert!(!p.is_null(), "mkdtemp");
        t.pop();
        let dir = CString::new(t.clone()).unwrap();
        let mut path = t;
        path.extend_from_slice(b"/rx");
        // SAFETY: getpid has no preconditions.
        let name = format!("readyd-fuzz-{tag}-{}", unsafe { libc::getpid() }).into_bytes();
        let path_fd = bind_dgram(&path, false);
        remove_at_exit(CString::new(path.clone()).unwrap(), dir.clone());
        Receiver {
            path_fd,
            abstract_fd: bind_dgram(&name, true),
            path,
            name,
            dir,
            buf: std::cell::RefCell::new(vec![0; 1 << 16]),
        }
    }

    /// Whether `value` (a `/path`) names the receiver's socket.
    pub fn is_path(&self, value: &[u8]) -> bool {
        value == self.path.as_slice()
    }

    /// Everything queued on both sockets, in arrival order per socket (the path socket
    /// first). Passed fds are closed.
    pub fn drain(&self) -> Vec<Datagram> {
        let mut out = Vec::new();
        let mut buf = self.buf.borrow_mut();
        for fd in [self.path_fd, self.abstract_fd] {
            while let Some(d) = recv_one(fd, &mut buf) {
                out.push(d);
            }
        }
        out
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let path = CString::new(self.path.clone()).unwrap();
        // SAFETY: our own sockets, file and directory.
        unsafe {
            libc::close(self.path_fd);
            libc::close(self.abstract_fd);
            libc::unlink(path.as_ptr());
            libc::rmdir(self.dir.as_ptr());
        }
    }
}

/// The receivers' socket files and directories, removed when the process exits (the
/// targets keep theirs in a static, which is never dropped; libFuzzer ends with exit()).
static AT_EXIT: std::sync::Mutex<Vec<(CString, CString)>> = std::sync::Mutex::new(Vec::new());

extern "C" fn remove_receivers() {
    if let Ok(list) = AT_EXIT.lock() {
        for (path, dir) in list.iter() {
            // SAFETY: NUL-terminated paths of our own.
            unsafe {
                libc::unlink(path.as_ptr());
                libc::rmdir(dir.as_ptr());
            }
        }
    }
}

fn remove_at_exit(path: CString, dir: CString) {
    let mut list = AT_EXIT.lock().unwrap();
    if list.is_empty() {
        // SAFETY: registers a function that only unlinks and removes our own files.
        unsafe { libc::atexit(remove_receivers) };
    }
    list.push((path, dir));
}

fn recv_one(fd: c_int, buf: &mut [u8]) -> Option<Datagram> {
    #[repr(C)]
    union Control {
        bytes: [u8; 8192],
        _align: libc::cmsghdr,
    }
    // SAFETY: plain data.
    let mut control: Control = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: plain data.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    // SAFETY: union field access of plain bytes.
    msg.msg_control = unsafe { control.bytes.as_mut_ptr() }.cast();
    msg.msg_controllen = size_of::<Control>();
    // SAFETY: all buffers live for the call.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return None;
    }
    let mut fds = 0;
    // SAFETY: walking the control data the kernel filled in.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c).cast::<c_int>();
                let count = ((*c).cmsg_len - libc::CMSG_LEN(0) as usize) / size_of::<c_int>();
                for i in 0..count {
                    libc::close(std::ptr::read_unaligned(data.add(i)));
                }
                fds += count;
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Some(Datagram {
        bytes: buf[..n as usize].to_vec(),
        fds,
    })
}

/// Whether sending to `value` (a `$NOTIFY_SOCKET` value) can reach nothing but the
/// receiver: an abstract name when the process has its own network namespace (or the
/// receiver's name), a path that is not a socket (or the receiver's). Values that are
/// not `/` or `@` addresses say nothing here; the caller decides about vsock.
pub fn harmless_unix_target(value: &[u8], rx: &Receiver, private_net: bool) -> bool {
    match value.first() {
        Some(b'@') => private_net || value[1..] == rx.name[..],
        Some(b'/') => {
            if rx.is_path(value) {
                return true;
            }
            let Ok(path) = CString::new(value) else {
                return false;
            };
            // SAFETY: plain data.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: a NUL-terminated path and a valid out-pointer.
            let r = unsafe { libc::stat(path.as_ptr(), &mut st) };
            // A socket elsewhere (a symlink to ours included) is never sent to.
            r != 0 || st.st_mode & libc::S_IFMT != libc::S_IFSOCK
        }
        _ => true,
    }
}
