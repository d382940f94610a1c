//! A hostile environment: NOTIFY_SOCKET naming things that are not a supervisor's socket
//! (a regular file, a FIFO, a directory, symlink loops, stream sockets, a socket the
//! caller may not write to), values of awkward lengths and bytes, and fds passed with
//! FDSTORE=1 that are invalid or closed while the call runs.
//!
//! For each: the documented error, nothing sent anywhere else (decoy receivers and the
//! named object itself are checked afterwards), no fd left open, no hang (every call is
//! bounded), NOTIFY_SOCKET kept or removed as asked. The same cases run against the
//! system's libsystemd in tests/diff (S60 and up).
//!
//! Every test holds the environment lock for its whole run, so the fd-table snapshots
//! taken around each call see only that call.

mod common;

use std::ffi::{CString, OsStr, c_int};
use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{Env, TempDir, is_root, listener, lock_env, skip, unique_name};
use libc::{
    EACCES, EBADF, ECONNREFUSED, EINVAL, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, EPERM, EPROTO,
    EPROTOTYPE,
};
use readyd::{sd_notify, sd_pid_notify_with_fds};

/// The uid and gid an unprivileged caller runs as.
const NOBODY: u32 = 65534;
/// Another user, owner of a socket neither root nor nobody owns.
const OTHER_USER: u32 = 4321;

/// A datagram receiver (SO_PASSCRED, non-blocking) at a path or at an abstract name of
/// any bytes: a decoy where nothing may arrive, or the target a delivered case must reach.
struct Rx {
    sock: UnixDatagram,
}

impl Rx {
    fn at(path: &Path) -> Rx {
        let _ = fs::remove_file(path);
        Rx::setup(UnixDatagram::bind(path).expect("bind receiver"))
    }

    fn at_abstract(name: &[u8]) -> Rx {
        let addr = SocketAddr::from_abstract_name(name).expect("abstract address");
        Rx::setup(UnixDatagram::bind_addr(&addr).expect("bind abstract receiver"))
    }

    fn setup(sock: UnixDatagram) -> Rx {
        common::set_int_option(sock.as_raw_fd(), libc::SO_PASSCRED, 1).expect("SO_PASSCRED");
        sock.set_nonblocking(true).expect("non-blocking");
        Rx { sock }
    }

    /// The next queued datagram, if any (the calls are synchronous: whatever they sent is
    /// queued when they return).
    fn take(&self) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; 1 << 16];
        match self.sock.recv(&mut buf) {
            Ok(n) => Some(buf[..n].to_vec()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
            Err(e) => panic!("recv: {e}"),
        }
    }
}

/// The open fds of this process (without the directory listing itself).
fn open_fds() -> Vec<RawFd> {
    let mut fds: Vec<RawFd> = fs::read_dir("/proc/self/fd")
        .expect("list /proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| common::fd_is_open(fd))
        .collect();
    fds.sort_unstable();
    fds
}

/// Runs `call` on another thread and waits at most 5 s: a library that opened a FIFO for
/// writing, or otherwise waited on the named object, would hang here.
fn bounded(what: &str, call: impl FnOnce() -> c_int + Send + 'static) -> c_int {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(call());
    });
    rx.recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| panic!("{what}: the call did not return within 5 s"))
}

/// What must hold about the named object after a call that failed.
enum Witness {
    /// Nothing to check beyond the decoys.
    Nothing,
    /// A file whose bytes and modification time must not change.
    File(PathBuf, Vec<u8>, i64, i64),
    /// The read end of a FIFO (opened non-blocking): no byte may be readable.
    Fifo(OwnedFd),
    /// A directory whose entries must not change.
    Dir(PathBuf, Vec<PathBuf>),
    /// A listening stream or seqpacket socket: no connection may be pending.
    Listener(OwnedFd),
    /// A receiver that a sloppy parser (trimming, truncating) would reach.
    Receiver(Rx),
    /// A path that must still not exist (the target of a dangling symlink).
    Absent(PathBuf),
}

impl Witness {
    fn file(path: &Path, content: &[u8], mode: u32) -> Witness {
        fs::write(path, content).expect("write fixture");
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
        let m = fs::metadata(path).expect("stat fixture");
        Witness::File(path.into(), content.into(), m.mtime(), m.mtime_nsec())
    }

    fn dir(path: &Path) -> Witness {
        fs::create_dir(path).expect("mkdir");
        fs::write(path.join("inside"), b"x").expect("write fixture");
        Witness::Dir(path.into(), entries(path))
    }

    fn check(&self, id: &str) {
        match self {
            Witness::Nothing => {}
            Witness::File(path, content, sec, nsec) => {
                assert_eq!(
                    &fs::read(path).expect("read fixture"),
                    content,
                    "{id}: file"
                );
                let m = fs::metadata(path).expect("stat fixture");
                assert_eq!((m.mtime(), m.mtime_nsec()), (*sec, *nsec), "{id}: mtime");
            }
            Witness::Fifo(fd) => {
                let mut byte = 0u8;
                // SAFETY: one writable byte; the fd is non-blocking.
                let n = unsafe { libc::read(fd.as_raw_fd(), ptr::from_mut(&mut byte).cast(), 1) };
                assert!(n <= 0, "{id}: {n} bytes were written into the FIFO");
            }
            Witness::Dir(path, before) => assert_eq!(&entries(path), before, "{id}: dir"),
            Witness::Listener(fd) => {
                let mut pfd = libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd; a zero timeout does not wait. A listener is
                // readable exactly when a connection is pending.
                let n = unsafe { libc::poll(&mut pfd, 1, 0) };
                assert_eq!(n, 0, "{id}: a connection reached the listener");
            }
            Witness::Receiver(rx) => {
                assert_eq!(
                    rx.take(),
                    None,
                    "{id}: a datagram reached the other receiver"
                )
            }
            Witness::Absent(path) => assert!(!path.exists(), "{id}: {path:?} was created"),
        }
    }
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .expect("list dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    v.sort();
    v
}

/// One hostile NOTIFY_SOCKET value: the result expected, and where the message must
/// arrive when it is 1.
struct Case {
    id: String,
    value: Vec<u8>,
    expected: c_int,
    witness: Witness,
    target: Option<Rx>,
    /// Run the call as uid/gid 65534 (a forked child), not as this process.
    unprivileged: bool,
}

/// The decoys: receivers nothing may reach, one beside every path case and one
/// abstract.
struct Decoys {
    path: Rx,
    abstract_: Rx,
}

impl Decoys {
    fn new(dir: &TempDir) -> Decoys {
        Decoys {
            path: Rx::at(&dir.join("decoy")),
            abstract_: Rx::at_abstract(unique_name("readyd-decoy").as_bytes()),
        }
    }

    fn check(&self, id: &str) {
        assert_eq!(
            self.path.take(),
            None,
            "{id}: a datagram reached the path decoy"
        );
        assert_eq!(
            self.abstract_.take(),
            None,
            "{id}: a datagram reached the abstract decoy"
        );
    }
}

/// A path of exactly `len` bytes inside `dir`, filled with `fill`.
fn path_of_len(dir: &TempDir, len: usize, fill: u8) -> Vec<u8> {
    let mut p = dir.path().as_os_str().as_bytes().to_vec();
    p.push(b'/');
    assert!(p.len() < len, "temp dir path too long");
    p.resize(len, fill);
    p
}

fn os(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

fn case(id: &str, value: &[u8], expected: c_int, witness: Witness) -> Case {
    Case {
        id: id.into(),
        value: value.into(),
        expected,
        witness,
        target: None,
        unprivileged: false,
    }
}

/// A case whose message must arrive, exactly, at `target`.
fn delivered(id: &str, value: &[u8], target: Rx) -> Case {
    Case {
        id: id.into(),
        value: value.into(),
        expected: 1,
        witness: Witness::Nothing,
        target: Some(target),
        unprivileged: false,
    }
}

/// The cases run as this process (root or not). Fixtures live in `dir`.
fn cases(dir: &TempDir) -> Vec<Case> {
    let d = |name: &str| dir.join(name);
    let bytes = |p: &Path| p.as_os_str().as_bytes().to_vec();
    let mut v = Vec::new();

    // Objects that are not datagram sockets.
    let file = d("regular");
    v.push(case(
        "S60 regular file",
        &bytes(&file),
        -ECONNREFUSED,
        Witness::file(&file, b"precious contents\n", 0o644),
    ));
    let empty = d("empty-0666");
    v.push(case(
        "regular file, mode 0666",
        &bytes(&empty),
        -ECONNREFUSED,
        Witness::file(&empty, b"", 0o666),
    ));
    let fifo = d("fifo-no-reader");
    mkfifo(&fifo);
    v.push(case(
        "S61 FIFO without a reader (must not block)",
        &bytes(&fifo),
        -ECONNREFUSED,
        Witness::Absent(d("never-created")),
    ));
    let fifo = d("fifo-reader");
    mkfifo(&fifo);
    let reader = open_raw(&fifo, libc::O_RDONLY | libc::O_NONBLOCK);
    v.push(case(
        "S62 FIFO with a reader",
        &bytes(&fifo),
        -ECONNREFUSED,
        Witness::Fifo(reader),
    ));
    let sub = d("directory");
    v.push(case(
        "S63 directory",
        &bytes(&sub),
        -ECONNREFUSED,
        Witness::dir(&sub),
    ));
    v.push(case(
        "S69 /dev/null",
        b"/dev/null",
        -ECONNREFUSED,
        Witness::Nothing,
    ));

    // Symlinks.
    let lp = d("loop");
    symlink(&lp, &lp).expect("symlink");
    v.push(case(
        "S64 symlink to itself",
        &bytes(&lp),
        -ELOOP,
        Witness::Nothing,
    ));
    let (a, b) = (d("cycle-a"), d("cycle-b"));
    symlink(&b, &a).expect("symlink");
    symlink(&a, &b).expect("symlink");
    v.push(case(
        "S64b symlink cycle a->b->a",
        &bytes(&a),
        -ELOOP,
        Witness::Nothing,
    ));
    let dangling = d("dangling");
    symlink(d("nowhere"), &dangling).expect("symlink");
    v.push(case(
        "S66 dangling symlink",
        &bytes(&dangling),
        -ENOENT,
        Witness::Absent(d("nowhere")),
    ));
    let real = d("real-receiver");
    let link = d("link-to-receiver");
    let rx = Rx::at(&real);
    symlink(&real, &link).expect("symlink");
    v.push(delivered("S65 symlink to a receiver", &bytes(&link), rx));

    // Sockets of the wrong kind.
    let stale = d("stale");
    drop(UnixDatagram::bind(&stale).expect("bind"));
    v.push(case(
        "S67 stale socket file",
        &bytes(&stale),
        -ECONNREFUSED,
        Witness::Nothing,
    ));
    let stream = d("stream");
    v.push(case(
        "S14 stream listener",
        &bytes(&stream),
        -EPROTOTYPE,
        Witness::Listener(listener(&stream, libc::SOCK_STREAM)),
    ));
    let seq = d("seqpacket");
    v.push(case(
        "S14 seqpacket listener",
        &bytes(&seq),
        -EPROTOTYPE,
        Witness::Listener(listener(&seq, libc::SOCK_SEQPACKET)),
    ));
    // A datagram socket connected to another one accepts datagrams from its peer only.
    let peer = d("peer");
    let connected = d("connected");
    let peer_rx = Rx::at(&peer);
    let conn_rx = Rx::at(&connected);
    conn_rx.sock.connect(&peer).expect("connect");
    v.push(case(
        "S68 datagram socket connected to another",
        &bytes(&connected),
        -EPERM,
        Witness::Receiver(conn_rx),
    ));
    v.push(case(
        "S68 ... and its peer",
        &bytes(&connected),
        -EPERM,
        Witness::Receiver(peer_rx),
    ));

    // Paths through things that are not directories.
    v.push(case(
        "S70 path through a regular file",
        &bytes(&file.join("sock")),
        -ENOTDIR,
        Witness::Nothing,
    ));
    v.push(case(
        "S70b path through a socket",
        &bytes(&d("decoy").join("sock")),
        -ENOTDIR,
        Witness::Nothing,
    ));

    // Lengths: 107 is the longest accepted; anything longer fails before any socket is
    // made, even when its first 107 bytes name a live receiver (no truncation).
    let p107 = path_of_len(dir, 107, b'r');
    v.push(delivered("S47 path of 107 bytes", &p107, Rx::at(os(&p107))));
    let p107b = path_of_len(dir, 107, b's');
    let mut p108 = p107b.clone();
    p108.push(b's');
    v.push(case(
        "S71 path of 108 bytes, a receiver at its first 107",
        &p108,
        -ENAMETOOLONG,
        Witness::Receiver(Rx::at(os(&p107b))),
    ));
    let p107c = path_of_len(dir, 107, b't');
    let mut p4096 = p107c.clone();
    p4096.resize(4096, b't');
    v.push(case(
        "S71b path of 4096 bytes, a receiver at its first 107",
        &p4096,
        -ENAMETOOLONG,
        Witness::Receiver(Rx::at(os(&p107c))),
    ));
    let mut p65536 = p107c.clone();
    p65536.resize(65536, b'/');
    v.push(case(
        "S71c path of 65536 bytes",
        &p65536,
        -ENAMETOOLONG,
        Witness::Nothing,
    ));
    let name = unique_name("readyd-long");
    let mut a107 = name.as_bytes().to_vec();
    a107.resize(106, b'z');
    let mut v107 = b"@".to_vec();
    v107.extend_from_slice(&a107);
    v.push(delivered(
        "S11 abstract name of 107 bytes",
        &v107,
        Rx::at_abstract(&a107),
    ));
    let mut v4096 = b"@".to_vec();
    let mut stem = unique_name("readyd-stem").into_bytes();
    stem.resize(106, b'y');
    v4096.extend_from_slice(&stem);
    let mut v108 = v4096.clone();
    v108.push(b'y');
    v.push(case(
        "S72 abstract name of 108 bytes, a receiver at its first 107",
        &v108,
        -EINVAL,
        Witness::Receiver(Rx::at_abstract(&stem)),
    ));
    v4096.resize(4096, b'y');
    v.push(case(
        "S72b abstract name of 4096 bytes",
        &v4096,
        -EINVAL,
        Witness::Nothing,
    ));

    // Bytes that are not UTF-8, and control characters, are just bytes of the name.
    let mut raw = bytes(dir.path());
    raw.extend_from_slice(b"/\xff\xfe\x80-not-utf8");
    v.push(delivered(
        "S74 path that is not UTF-8",
        &raw,
        Rx::at(os(&raw)),
    ));
    let mut raw_absent = bytes(dir.path());
    raw_absent.extend_from_slice(b"/\xc3\x28-absent");
    v.push(case(
        "S74b path that is not UTF-8, absent",
        &raw_absent,
        -ENOENT,
        Witness::Nothing,
    ));
    let mut an = unique_name("readyd-\u{7f}").into_bytes();
    an.extend_from_slice(b"\xff\xfe");
    let mut av = b"@".to_vec();
    av.extend_from_slice(&an);
    v.push(delivered(
        "S75 abstract name that is not UTF-8",
        &av,
        Rx::at_abstract(&an),
    ));
    let mut ctl = bytes(dir.path());
    ctl.extend_from_slice(b"/ctl\x01\x1b[31m\t\r\nend");
    v.push(delivered(
        "S76 path with control characters",
        &ctl,
        Rx::at(os(&ctl)),
    ));
    let mut cn = unique_name("readyd-ctl").into_bytes();
    cn.extend_from_slice(b"\x01\n\x1b");
    let mut cv = b"@".to_vec();
    cv.extend_from_slice(&cn);
    v.push(delivered(
        "S77 abstract name with control characters",
        &cv,
        Rx::at_abstract(&cn),
    ));

    // A value is used as it is: no trimming, no stripping of a trailing newline. Each
    // case has its own receiver at the name a sloppy parser would reach.
    let near = |name: &str| {
        let path = d(name);
        (bytes(&path), Witness::Receiver(Rx::at(&path)))
    };
    let (mut nl, w) = near("near-newline");
    nl.push(b'\n');
    v.push(case("S78 path and a trailing newline", &nl, -ENOENT, w));
    let (mut sp, w) = near("near-space");
    sp.push(b' ');
    v.push(case("S78b path and a trailing space", &sp, -ENOENT, w));
    let (path, w) = near("near-lead");
    let mut lead = b" ".to_vec();
    lead.extend_from_slice(&path);
    v.push(case("S79 a leading space", &lead, -EPROTO, w));
    let (mut slash, w) = near("near-slash");
    slash.push(b'/');
    v.push(case("S51 path and a trailing slash", &slash, -ENOTDIR, w));
    let an2 = unique_name("readyd-near");
    let mut anl = format!("@{an2}").into_bytes();
    anl.push(b'\n');
    v.push(case(
        "S85 abstract name and a trailing newline",
        &anl,
        -ECONNREFUSED,
        Witness::Receiver(Rx::at_abstract(an2.as_bytes())),
    ));
    v
}

/// The cases run as uid/gid 65534 in a forked child (this process must be root).
fn unprivileged_cases(dir: &TempDir) -> Vec<Case> {
    let d = |name: &str| dir.join(name);
    let bytes = |p: &Path| p.as_os_str().as_bytes().to_vec();
    let mut v = Vec::new();
    let mut nobody = |mut c: Case| {
        c.unprivileged = true;
        v.push(c);
    };

    let own = d("root-0600");
    let rx = Rx::at(&own);
    chmod(&own, 0o600);
    nobody(case(
        "S80 root's socket, mode 0600",
        &bytes(&own),
        -EACCES,
        Witness::Receiver(rx),
    ));
    let other = d("other-0600");
    let rx = Rx::at(&other);
    chmod(&other, 0o600);
    chown(&other, OTHER_USER);
    nobody(case(
        "S80b another user's socket, mode 0600",
        &bytes(&other),
        -EACCES,
        Witness::Receiver(rx),
    ));
    let open = d("open-0666");
    let rx = Rx::at(&open);
    chmod(&open, 0o666);
    nobody(delivered("S81 a socket of mode 0666", &bytes(&open), rx));
    let closed_dir = d("closed-dir");
    fs::create_dir(&closed_dir).expect("mkdir");
    let inside = closed_dir.join("sock");
    let rx = Rx::at(&inside);
    chmod(&inside, 0o666);
    chmod(&closed_dir, 0o700);
    nobody(case(
        "S82 a socket of mode 0666 in a directory of mode 0700",
        &bytes(&inside),
        -EACCES,
        Witness::Receiver(rx),
    ));
    let file = d("passwd-like");
    nobody(case(
        "S83 a regular file of mode 0644 (as /etc/passwd)",
        &bytes(&file),
        -EACCES,
        Witness::file(&file, b"root:x:0:0\n", 0o644),
    ));
    v
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn chown(path: &Path, id: u32) {
    std::os::unix::fs::chown(path, Some(id), Some(id)).expect("chown");
}

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).expect("path without NUL");
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0, "mkfifo");
}

fn open_raw(path: &Path, flags: c_int) -> OwnedFd {
    let c = CString::new(path.as_os_str().as_bytes()).expect("path without NUL");
    // SAFETY: a NUL-terminated path.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    assert!(
        fd >= 0,
        "open {path:?}: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: just opened, owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// sd_notify(unset, "READY=1") as uid/gid 65534 in a forked child: its result, and
/// whether NOTIFY_SOCKET was still set in the child afterwards.
fn notify_as_nobody(unset: c_int) -> (c_int, bool) {
    let mut p = [0 as c_int; 2];
    // SAFETY: room for two fds.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: the child makes only async-signal-safe calls (setgroups, setresgid,
    // setresuid, the library's notify, write, _exit). The environment lock is held.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork");
    if child == 0 {
        // SAFETY: in the child, as above.
        unsafe {
            if libc::setgroups(0, ptr::null()) != 0
                || libc::setresgid(NOBODY, NOBODY, NOBODY) != 0
                || libc::setresuid(NOBODY, NOBODY, NOBODY) != 0
            {
                libc::_exit(100);
            }
            let r = [
                sd_notify(unset, c"READY=1".as_ptr()),
                c_int::from(!libc::getenv(c"NOTIFY_SOCKET".as_ptr()).is_null()),
            ];
            let n = libc::write(p[1], r.as_ptr().cast(), size_of_val(&r));
            libc::_exit(if n == size_of_val(&r) as isize {
                0
            } else {
                101
            });
        }
    }
    // SAFETY: the parent's copy of the write end.
    unsafe { libc::close(p[1]) };
    let mut status = 0;
    // SAFETY: our child; a valid out-pointer.
    assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child status {status:#x} (100: could not drop privileges)"
    );
    let mut r = [0 as c_int; 2];
    // SAFETY: reads at most the size of r.
    let n = unsafe { libc::read(p[0], r.as_mut_ptr().cast(), size_of_val(&r)) };
    // SAFETY: our read end, closed once.
    unsafe { libc::close(p[0]) };
    assert_eq!(n, size_of_val(&r) as isize, "child report");
    (r[0], r[1] != 0)
}

/// Runs every case twice (unset_environment 0, then 1) and checks each promise.
fn run(env: &Env, decoys: &Decoys, cases: &[Case]) {
    for c in cases {
        for unset in [0, 1] {
            let id = format!("{} (unset={unset})", c.id);
            env.set("NOTIFY_SOCKET", OsStr::from_bytes(&c.value));
            let before = open_fds();
            let (r, still_set) = if c.unprivileged {
                notify_as_nobody(unset)
            } else {
                // SAFETY: a NUL-terminated literal.
                let r = bounded(&id, move || unsafe {
                    sd_notify(unset, c"READY=1".as_ptr())
                });
                (r, env.notify_socket_set())
            };
            assert_eq!(r, c.expected, "{id}");
            assert_eq!(open_fds(), before, "{id}: fds opened or closed");
            assert_eq!(still_set, unset == 0, "{id}: NOTIFY_SOCKET");
            if let Some(target) = &c.target {
                assert_eq!(target.take().as_deref(), Some(&b"READY=1"[..]), "{id}");
                assert_eq!(target.take(), None, "{id}: more than one datagram");
            }
            c.witness.check(&id);
            decoys.check(&id);
        }
    }
}

/// NOTIFY_SOCKET naming non-sockets, wrong sockets, symlink loops, awkward lengths and
/// bytes: each gives its error (or delivers, where the name is valid), and nothing
/// reaches anything else.
#[test]
fn hostile_notify_socket_values() {
    let env = lock_env();
    let dir = TempDir::new();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let decoys = Decoys::new(&dir);
    let cases = cases(&dir);
    run(&env, &decoys, &cases);
    println!(
        "{} NOTIFY_SOCKET values, each with unset 0 and 1",
        cases.len()
    );
}

/// As an unprivileged caller: a socket it may not write to gives -EACCES and nothing is
/// sent; one it may write to receives the message. As root the same mode-0600 socket of
/// another user receives it (root bypasses the mode), so the mode is what refused it.
#[test]
fn sockets_the_caller_may_not_write_to() {
    if !is_root() {
        skip("the -EACCES cases need root, to run a child as uid 65534");
        return;
    }
    let env = lock_env();
    let dir = TempDir::new();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let decoys = Decoys::new(&dir);
    let cases = unprivileged_cases(&dir);
    run(&env, &decoys, &cases);
    let other = dir.join("other-0600-root");
    let rx = Rx::at(&other);
    chmod(&other, 0o600);
    chown(&other, OTHER_USER);
    let as_root = [delivered(
        "S84 another user's socket, mode 0600, as root",
        other.as_os_str().as_bytes(),
        rx,
    )];
    run(&env, &decoys, &as_root);
}

// ---- invalid fds with FDSTORE=1 ---------------------------------------------------------

/// An fd number that is not open, and high enough that no socket() or open() of the
/// library or of this test takes it meanwhile (a low closed number would be the lowest
/// free one, and the library's own socket would get it).
fn closed_fd() -> RawFd {
    let fd = 899;
    assert!(!common::fd_is_open(fd), "fd {fd} unexpectedly open");
    fd
}

/// Invalid fds in the array (negative, closed, huge, mixed with valid ones, the 253rd):
/// -EBADF, nothing sent, and the caller's valid fds are still open and unchanged.
#[test]
fn fdstore_with_invalid_fds_sends_nothing() {
    let env = lock_env();
    let dir = TempDir::new();
    let rx = Rx::at(&dir.join("notify"));
    let decoys = Decoys::new(&dir);
    env.set("NOTIFY_SOCKET", dir.join("notify"));
    let valid = fs::File::open("/dev/null").expect("open /dev/null");
    let v = valid.as_raw_fd();
    let closed = closed_fd();
    let mut many = vec![v; 253];
    many[252] = closed;
    let rows: Vec<(&str, Vec<c_int>)> = vec![
        ("S86 fd -1", vec![-1]),
        ("S91 an fd closed before the call", vec![closed]),
        ("S88 fd INT_MAX", vec![c_int::MAX]),
        ("fd INT_MIN", vec![c_int::MIN]),
        ("a valid fd, then -1", vec![v, -1]),
        ("S87 a valid fd, then a closed one", vec![v, closed]),
        ("S86b -1, then a valid fd", vec![-1, v]),
        ("S89 253 fds, the last one closed", many),
    ];
    let id_before = common::file_id(v);
    for (id, fds) in &rows {
        let before = open_fds();
        // SAFETY: fds holds fds.len() ints; the state is a literal.
        let r = unsafe {
            sd_pid_notify_with_fds(
                0,
                0,
                c"FDSTORE=1\nFDNAME=bad".as_ptr(),
                fds.as_ptr(),
                fds.len() as u32,
            )
        };
        assert_eq!(r, -EBADF, "{id}");
        assert_eq!(open_fds(), before, "{id}: fds opened or closed");
        assert_eq!(rx.take(), None, "{id}: something was sent");
        assert_eq!(common::file_id(v), id_before, "{id}: the valid fd changed");
        decoys.check(id);
    }
    // An O_PATH fd is a valid fd, and is passed like any other.
    let opath = open_raw(Path::new("/dev/null"), libc::O_PATH);
    let fds = [opath.as_raw_fd()];
    // SAFETY: fds holds one int; the state is a literal.
    let r = unsafe { sd_pid_notify_with_fds(0, 0, c"FDSTORE=1".as_ptr(), fds.as_ptr(), 1) };
    assert_eq!(r, 1, "S90 an O_PATH fd");
    assert_eq!(rx.take().as_deref(), Some(&b"FDSTORE=1"[..]));
    decoys.check("S90");
}

/// Fds closed under the caller: while one thread sends fd 900 with FDSTORE=1 over and
/// over, another keeps closing it and reopening it on another file. Each call either sends
/// (1, and the receiver gets exactly one fd, one of the two files) or fails with -EBADF
/// (and nothing arrives): no other result, no message without its fd.
#[test]
fn fdstore_fd_closed_under_the_caller() {
    const MAX_CALLS: usize = 50_000;
    const ENOUGH: usize = 1_000;
    const RACED: RawFd = 900;
    let env = lock_env();
    let dir = TempDir::new();
    let path = dir.join("notify");
    let rx = Rx::at(&path);
    env.set("NOTIFY_SOCKET", &path);
    let null = fs::File::open("/dev/null").expect("open /dev/null");
    fs::write(dir.join("other"), b"x").expect("write fixture");
    let other = fs::File::open(dir.join("other")).expect("open fixture");
    let allowed = [
        common::file_id(null.as_raw_fd()),
        common::file_id(other.as_raw_fd()),
    ];
    let done = AtomicBool::new(false);
    let (ones, ebadf, others) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let start = Instant::now();
    let (received, bad) = thread::scope(|s| {
        // The closer: never leaves the number to anyone else (it is far above the fds the
        // library's own socket() gets), so only our fd comes and goes.
        s.spawn(|| {
            // Open for about as long as a call takes, then closed as long, so that both
            // outcomes keep happening whatever the scheduler does.
            let sources = [null.as_raw_fd(), other.as_raw_fd()];
            let hold = |d: Duration| {
                let t = Instant::now();
                while t.elapsed() < d {
                    thread::yield_now();
                }
            };
            let mut i = 0usize;
            while !done.load(Ordering::Relaxed) {
                // SAFETY: RACED is ours alone; dup2 and close only change that number.
                unsafe { libc::dup2(sources[i % 2], RACED) };
                hold(Duration::from_micros(20 + (i % 7) as u64 * 10));
                // SAFETY: as above.
                unsafe { libc::close(RACED) };
                hold(Duration::from_micros(20 + (i % 5) as u64 * 10));
                i += 1;
            }
        });
        let receiver = s.spawn(|| {
            let (mut received, mut bad) = (0usize, Vec::new());
            rx.sock.set_nonblocking(false).expect("blocking");
            rx.sock
                .set_read_timeout(Some(Duration::from_millis(200)))
                .expect("timeout");
            loop {
                match recv_with_fds(&rx.sock) {
                    Some((bytes, fds)) => {
                        received += 1;
                        let ids: Vec<_> =
                            fds.iter().map(|f| common::file_id(f.as_raw_fd())).collect();
                        if bytes != b"FDSTORE=1\nFDNAME=raced"
                            || ids.len() != 1
                            || !allowed.contains(&ids[0])
                        {
                            bad.push(format!(
                                "{:?} with {ids:?}",
                                String::from_utf8_lossy(&bytes)
                            ));
                        }
                    }
                    None if done.load(Ordering::Acquire) => break,
                    None => {}
                }
            }
            (received, bad)
        });
        // Until both outcomes were seen often enough (bounded).
        for _ in 0..MAX_CALLS {
            if ones.load(Ordering::Relaxed) >= ENOUGH && ebadf.load(Ordering::Relaxed) >= ENOUGH {
                break;
            }
            let fds = [RACED];
            // SAFETY: fds holds one int; the state is a literal.
            let r = unsafe {
                sd_pid_notify_with_fds(0, 0, c"FDSTORE=1\nFDNAME=raced".as_ptr(), fds.as_ptr(), 1)
            };
            match r {
                1 => &ones,
                r if r == -EBADF => &ebadf,
                _ => &others,
            }
            .fetch_add(1, Ordering::Relaxed);
        }
        done.store(true, Ordering::Release);
        receiver.join().expect("receiver thread")
    });
    // SAFETY: the closer has stopped; RACED may be open, and is ours.
    unsafe { libc::close(RACED) };
    let (ones, ebadf, others) = (ones.into_inner(), ebadf.into_inner(), others.into_inner());
    println!(
        "fd closed under the caller: {} calls in {:.2} s: {ones} sent, {ebadf} -EBADF, \
         {others} other; {received} received",
        ones + ebadf + others,
        start.elapsed().as_secs_f64()
    );
    assert_eq!(others, 0, "results other than 1 and -EBADF");
    assert!(ones > 0 && ebadf > 0, "the race never went both ways");
    assert!(
        bad.is_empty(),
        "messages without their fd, or with a foreign one: {bad:?}"
    );
    assert_eq!(
        received, ones,
        "datagrams received vs calls that returned 1"
    );
}

/// One datagram and the fds that came with it; None when the read timed out.
#[allow(
    clippy::useless_conversion,
    clippy::unnecessary_fallible_conversions,
    reason = "msg_controllen is a size_t on glibc, a socklen_t on musl"
)]
fn recv_with_fds(sock: &UnixDatagram) -> Option<(Vec<u8>, Vec<OwnedFd>)> {
    let mut buf = [0u8; 256];
    let mut control = [0u64; 16];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of_val(&control).try_into().unwrap();
    // SAFETY: msg describes live buffers of the lengths given.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "recvmsg: {e}");
        return None;
    }
    let mut fds = Vec::new();
    // SAFETY: the kernel filled msg_controllen bytes with cmsg headers; the CMSG_* macros
    // stay inside them; each fd received is new and ours.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if ((*c).cmsg_level, (*c).cmsg_type) == (libc::SOL_SOCKET, libc::SCM_RIGHTS) {
                let k = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / size_of::<c_int>();
                for i in 0..k {
                    let fd = ptr::read_unaligned(libc::CMSG_DATA(c).cast::<c_int>().add(i));
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Some((buf[..n as usize].to_vec(), fds))
}

// ---- LISTEN_FDS --------------------------------------------------------------------------

/// In a forked child with a known fd table (3, 4, 5 open; nothing else below 1000):
/// LISTEN_FDS far beyond the open fds gives -EBADF quickly, having marked the open ones
/// close-on-exec; and with fd 4 closed and reopened by another thread during 20,000
/// calls, every call returns 3 or -EBADF, nothing else.
#[test]
fn listen_fds_beyond_and_closed_under_the_caller() {
    let env = lock_env();
    let mut p = [0 as c_int; 2];
    // SAFETY: room for two fds.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), 0) }, 0);
    // SAFETY: the child uses raw syscalls, the library, and one helper thread (glibc's
    // fork leaves malloc usable in the child). The environment lock is held, so no other
    // test thread is changing the environment at the fork.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork");
    if child == 0 {
        listen_child(p[1]);
    }
    // SAFETY: the parent's copy of the write end.
    unsafe { libc::close(p[1]) };
    let mut report = [0i64; 8];
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut status = 0;
    loop {
        // SAFETY: our child; a valid out-pointer.
        let r = unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) };
        if r == child {
            break;
        }
        if Instant::now() > deadline {
            // SAFETY: our own child, stuck.
            unsafe {
                libc::kill(child, libc::SIGKILL);
                libc::waitpid(child, &mut status, 0);
            }
            panic!("the sd_listen_fds child still runs after 30 s");
        }
        thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: reads at most the size of report.
    let n = unsafe { libc::read(p[0], report.as_mut_ptr().cast(), size_of_val(&report)) };
    // SAFETY: our read end.
    unsafe { libc::close(p[0]) };
    drop(env);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child status {status:#x}"
    );
    assert_eq!(n, size_of_val(&report) as isize, "child report");
    let [
        far,
        far_cloexec,
        max,
        max_cloexec,
        threes,
        ebadf,
        others,
        micros,
    ] = report;
    println!(
        "LISTEN_FDS: 1000000 -> {far}, 2147483644 -> {max}; raced: {threes} x 3, \
         {ebadf} x -EBADF, {others} other in {:.2} s",
        micros as f64 / 1e6
    );
    assert_eq!(far, -EBADF as i64, "LISTEN_FDS=1000000 with fds 3-5 open");
    assert_eq!(far_cloexec, 0b111, "fds 3, 4, 5 close-on-exec after it");
    assert_eq!(max, -EBADF as i64, "LISTEN_FDS=2147483644");
    assert_eq!(max_cloexec, 0b111, "fds 3, 4, 5 close-on-exec after it");
    assert_eq!(others, 0, "results other than 3 and -EBADF");
    assert_eq!(threes + ebadf, 20_000);
}

fn listen_child(report_fd: RawFd) -> ! {
    const REPORT: RawFd = 1000;
    // SAFETY: raw syscalls on the child's own fd table.
    unsafe {
        if libc::dup2(report_fd, REPORT) != REPORT {
            libc::_exit(90);
        }
        // The raw syscall: musl has no close_range() wrapper.
        libc::syscall(libc::SYS_close_range, 3, REPORT - 1, 0);
        for fd in 3..6 {
            let n = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
            if n != fd {
                libc::_exit(91);
            }
        }
        let mut pid = [0u8; 24];
        let s = format!("{}\0", libc::getpid());
        pid[..s.len()].copy_from_slice(s.as_bytes());
        libc::setenv(c"LISTEN_PID".as_ptr(), pid.as_ptr().cast(), 1);
    }
    let cloexec_mask = || {
        (3..6).fold(0i64, |m, fd| {
            // SAFETY: F_GETFD only queries.
            let fl = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            m | (i64::from(fl >= 0 && fl & libc::FD_CLOEXEC != 0) << (fd - 3))
        })
    };
    let clear_cloexec = || {
        for fd in 3..6 {
            // SAFETY: changes only the flag of our own fd.
            unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
        }
    };
    let mut report = [0i64; 8];
    // SAFETY: literals; the child is single-threaded here.
    unsafe { libc::setenv(c"LISTEN_FDS".as_ptr(), c"1000000".as_ptr(), 1) };
    report[0] = i64::from(readyd::sd_listen_fds(0));
    report[1] = cloexec_mask();
    clear_cloexec();
    // SAFETY: as above.
    unsafe { libc::setenv(c"LISTEN_FDS".as_ptr(), c"2147483644".as_ptr(), 1) };
    report[2] = i64::from(readyd::sd_listen_fds(0));
    report[3] = cloexec_mask();
    // SAFETY: as above.
    unsafe { libc::setenv(c"LISTEN_FDS".as_ptr(), c"3".as_ptr(), 1) };
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: fd 4 is ours; close it, then put /dev/null back on it.
                unsafe {
                    libc::close(4);
                    libc::dup2(3, 4);
                }
            }
        });
        for _ in 0..20_000 {
            let r = readyd::sd_listen_fds(0);
            let slot = match r {
                3 => 4,
                r if r == -EBADF => 5,
                _ => 6,
            };
            report[slot] += 1;
        }
        stop.store(true, Ordering::Relaxed);
    });
    report[7] = start.elapsed().as_micros() as i64;
    // SAFETY: report is plain data of the size written.
    let n = unsafe { libc::write(REPORT, report.as_ptr().cast(), size_of_val(&report)) };
    // SAFETY: ends the child.
    unsafe {
        libc::_exit(if n == size_of_val(&report) as isize {
            0
        } else {
            92
        })
    }
}
