//! The supervisor's end of systemd's notify protocol: an AF_UNIX datagram socket with
//! SO_PASSCRED, bound in a fresh directory of its own, read with recvmsg so that every
//! message comes with its sender's pid, uid and gid (the kernel's word, not the sender's)
//! and the fds it passed.
//!
//! Like systemd's own notify socket, it accepts any sender: the directory is searchable by
//! all (not listable) and the socket writable by all, so that a daemon that dropped its
//! privileges before READY=1 still reaches it.

use std::ffi::OsStr;
use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::ptr;

/// The largest message read whole; longer ones are reported as truncated. systemd itself
/// reads at most 4 KiB.
const MAX_MESSAGE: usize = 64 * 1024;

/// The most fds one message can carry (the kernel's SCM_MAX_FD).
const MAX_FDS: usize = 253;

/// SO_PASSPIDFD and SCM_PIDFD (Linux 6.5): the kernel attaches a pidfd of the sender to
/// every message, which names the process where a pid might have been reused.
const SO_PASSPIDFD: libc::c_int = 76;
const SCM_PIDFD: libc::c_int = 4;

/// One message as received.
pub struct Message {
    pub bytes: Vec<u8>,
    /// The sender's pid from SCM_CREDENTIALS; 0 if the kernel attached none.
    pub pid: libc::pid_t,
    /// The sender's uid and gid from SCM_CREDENTIALS (None if the kernel attached none).
    pub uid_gid: Option<(libc::uid_t, libc::gid_t)>,
    pub fds: Vec<OwnedFd>,
    /// The payload did not fit the buffer.
    pub truncated: bool,
    /// Some fds were dropped by the kernel for lack of room.
    pub fds_truncated: bool,
    /// The sender's pidfd from SCM_PIDFD (the kernel's, with SO_PASSPIDFD); None on
    /// kernels before 6.5.
    pub sender_pidfd: Option<OwnedFd>,
}

/// The socket and the directory holding it; both are removed when dropped.
pub struct NotifySocket {
    fd: OwnedFd,
    dir: PathBuf,
    path: PathBuf,
}

fn last_error(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(
        e.kind(),
        format!("{what}: {}", crate::process::error_text(&e)),
    )
}

impl NotifySocket {
    /// Creates `$TMPDIR/readyd-run.XXXXXX/notify`: the directory mode 0711, the socket
    /// 0777.
    pub fn new() -> io::Result<NotifySocket> {
        let base = std::env::temp_dir();
        let mut template = base.join("readyd-run.XXXXXX").into_os_string().into_vec();
        template.push(0);
        // SAFETY: template is a writable NUL-terminated buffer ending in XXXXXX.
        let r = unsafe { libc::mkdtemp(template.as_mut_ptr().cast()) };
        if r.is_null() {
            return Err(last_error(&format!(
                "cannot create a private directory in {}",
                base.display()
            )));
        }
        template.pop();
        let dir = PathBuf::from(OsStr::from_bytes(&template));
        let path = dir.join("notify");
        // Searchable by every uid (so a daemon that changed its uid can reach the socket
        // inside), listable by readyd alone.
        if let Err(e) = std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o711)) {
            let _ = std::fs::remove_dir(&dir);
            return Err(e);
        }
        match Self::bind(&path) {
            Ok(fd) => Ok(NotifySocket { fd, dir, path }),
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                Err(e)
            }
        }
    }

    fn bind(path: &Path) -> io::Result<OwnedFd> {
        // SAFETY: plain socket call.
        let raw = unsafe {
            libc::socket(
                libc::AF_UNIX,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        };
        if raw < 0 {
            return Err(last_error("cannot create the notify socket"));
        }
        // SAFETY: raw is a fresh fd owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_un is plain data.
        let mut addr: libc::sockaddr_un = unsafe { zeroed() };
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let bytes = path.as_os_str().as_bytes();
        if bytes.len() >= addr.sun_path.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the notify socket path {} is too long: set TMPDIR to a shorter directory",
                    path.display()
                ),
            ));
        }
        for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
            *d = *s as libc::c_char;
        }
        let len = (size_of::<libc::sa_family_t>() + bytes.len() + 1) as libc::socklen_t;
        // SAFETY: addr is a valid sockaddr_un of at least len bytes.
        if unsafe { libc::bind(fd.as_raw_fd(), ptr::from_ref(&addr).cast(), len) } < 0 {
            return Err(last_error(&format!("cannot bind {}", path.display())));
        }
        // Sending needs write permission on the socket file; bind gave it the umask's mode.
        std::fs::set_permissions(path, PermissionsExt::from_mode(0o777))?;
        let one: libc::c_int = 1;
        // SAFETY: a valid fd and an int option of the right size.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PASSCRED,
                ptr::from_ref(&one).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(last_error("cannot set SO_PASSCRED on the notify socket"));
        }
        // Best effort: before Linux 6.5 the option does not exist, and senders are known
        // by pid alone.
        // SAFETY: as above.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                SO_PASSPIDFD,
                ptr::from_ref(&one).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        Ok(fd)
    }

    /// The value for `NOTIFY_SOCKET`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// The next queued message, or None when the queue is empty.
    #[allow(
        clippy::useless_conversion,
        clippy::unnecessary_fallible_conversions,
        reason = "msg_controllen is a size_t on glibc, a socklen_t on musl"
    )]
    pub fn receive(&self) -> io::Result<Option<Message>> {
        let mut buf = vec![0u8; MAX_MESSAGE];
        // Room for the credentials and the most fds a message can carry, aligned for
        // cmsghdr.
        // SAFETY: CMSG_SPACE is arithmetic.
        let space = unsafe {
            libc::CMSG_SPACE(size_of::<libc::ucred>() as u32)
                + libc::CMSG_SPACE((MAX_FDS * size_of::<libc::c_int>()) as u32)
                + libc::CMSG_SPACE(size_of::<libc::c_int>() as u32)
        } as usize;
        let mut control = vec![0u64; space.div_ceil(size_of::<u64>())];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: msghdr is plain data.
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = (control.len() * size_of::<u64>())
            .try_into()
            .map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?;
        let n = loop {
            // SAFETY: msg describes live buffers of the lengths given.
            let n = unsafe {
                libc::recvmsg(
                    self.fd.as_raw_fd(),
                    &mut msg,
                    libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC | libc::MSG_TRUNC,
                )
            };
            if n >= 0 {
                break n as usize;
            }
            match io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) => return Ok(None),
                _ => return Err(last_error("cannot read the notify socket")),
            }
        };
        let mut m = Message {
            bytes: Vec::new(),
            pid: 0,
            uid_gid: None,
            fds: Vec::new(),
            truncated: n > buf.len(),
            fds_truncated: msg.msg_flags & libc::MSG_CTRUNC != 0,
            sender_pidfd: None,
        };
        buf.truncate(n.min(MAX_MESSAGE));
        m.bytes = buf;
        // SAFETY: the kernel filled msg_controllen bytes of control with cmsghdrs; the
        // CMSG_* macros stay inside them. Every fd in SCM_RIGHTS is new to this process
        // and taken into an OwnedFd exactly once.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                let data = libc::CMSG_DATA(c);
                let len = (*c).cmsg_len as usize - (data as usize - c as usize);
                if (*c).cmsg_level == libc::SOL_SOCKET {
                    if (*c).cmsg_type == libc::SCM_CREDENTIALS && len >= size_of::<libc::ucred>() {
                        let cred: libc::ucred = ptr::read_unaligned(data.cast());
                        m.pid = cred.pid;
                        m.uid_gid = Some((cred.uid, cred.gid));
                    } else if (*c).cmsg_type == SCM_PIDFD && len >= size_of::<libc::c_int>() {
                        let fd: libc::c_int = ptr::read_unaligned(data.cast());
                        m.sender_pidfd = Some(OwnedFd::from_raw_fd(fd));
                    } else if (*c).cmsg_type == libc::SCM_RIGHTS {
                        for i in 0..len / size_of::<libc::c_int>() {
                            let fd: libc::c_int =
                                ptr::read_unaligned(data.cast::<libc::c_int>().add(i));
                            m.fds.push(OwnedFd::from_raw_fd(fd));
                        }
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        Ok(Some(m))
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// A message's `KEY=VALUE` lines, in order. Empty lines are skipped; a line without `=`
/// is returned as an error so the caller can warn about it.
pub fn fields(bytes: &[u8]) -> (Vec<(String, String)>, Vec<String>) {
    let mut fields = Vec::new();
    let mut bad = Vec::new();
    for line in bytes.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let line = String::from_utf8_lossy(line);
        match line.split_once('=') {
            Some((k, v)) if !k.is_empty() => fields.push((k.to_owned(), v.to_owned())),
            _ => bad.push(line.into_owned()),
        }
    }
    (fields, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_in_order() {
        let (f, bad) = fields(b"READY=1\nSTATUS=a=b\n\nnonsense\nMAINPID=7");
        assert_eq!(
            f,
            vec![
                ("READY".into(), "1".into()),
                ("STATUS".into(), "a=b".into()),
                ("MAINPID".into(), "7".into())
            ]
        );
        assert_eq!(bad, vec!["nonsense".to_owned()]);
    }

    #[test]
    fn receives_with_credentials_and_fds() {
        let sock = NotifySocket::new().expect("notify socket");
        assert!(sock.receive().unwrap().is_none());
        let tx = std::os::unix::net::UnixDatagram::unbound().unwrap();
        tx.send_to(b"READY=1", sock.path()).unwrap();
        let m = sock.receive().unwrap().expect("a message");
        assert_eq!(m.bytes, b"READY=1");
        assert_eq!(m.pid, std::process::id() as libc::pid_t);
        // SAFETY: getuid and getgid have no preconditions.
        assert_eq!(m.uid_gid, Some(unsafe { (libc::getuid(), libc::getgid()) }));
        assert!(m.fds.is_empty() && !m.truncated);
        let dir = sock.dir.clone();
        drop(sock);
        assert!(!dir.exists());
    }
}
