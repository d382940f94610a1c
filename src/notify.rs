//! Sending one notification: a single datagram (or, for vsock streams, one message) with
//! optional SCM_RIGHTS and SCM_CREDENTIALS, and the barrier built on it (reference §4).
//!
//! Nothing here allocates; everything lives on the stack. A plain `sd_notify()` of a
//! message that fits the default send buffer costs three syscalls: `socket`, `sendmsg`,
//! `close`. The send buffer is raised only when the kernel says the message does not fit
//! (EMSGSIZE), to the size libsystemd always asks for.

use core::ffi::c_int;
use core::mem::{size_of, zeroed};
use core::ptr;

use crate::address::{self, Address, VsockType};
use crate::env;
use crate::errno::{self, Errno, Result};
use crate::sys;

/// The most fds one message may carry (the kernel's SCM_MAX_FD).
pub const MAX_FDS: usize = 253;

/// What libsystemd asks SO_SNDBUF for (the kernel doubles it).
const SNDBUF_SIZE: c_int = 8 * 1024 * 1024;

/// The barrier message; exactly these 9 bytes, with one fd.
pub const BARRIER: &[u8] = b"BARRIER=1";

const FDS_SPACE: usize =
    // SAFETY: CMSG_SPACE is pure arithmetic on its argument.
    unsafe { libc::CMSG_SPACE((MAX_FDS * size_of::<c_int>()) as u32) } as usize;
const CRED_SPACE: usize =
    // SAFETY: as above.
    unsafe { libc::CMSG_SPACE(size_of::<libc::ucred>() as u32) } as usize;

/// Control-message buffer with the alignment cmsghdr needs.
#[repr(C)]
union Control {
    bytes: [u8; FDS_SPACE + CRED_SPACE],
    _align: libc::cmsghdr,
}

/// An fd owned by this module, closed when dropped.
pub struct Fd(pub c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the fd was created here and is closed once. A close error leaves
        // nothing to do.
        unsafe { sys::close(self.0) };
    }
}

/// Sends `state` (exactly its bytes, no NUL, no added newline) and `fds` to the address
/// in `$NOTIFY_SOCKET`, on behalf of `pid` (0: this process).
///
/// Returns 0 when `$NOTIFY_SOCKET` is unset, 1 when the message was sent.
pub fn send(pid: libc::pid_t, state: &[u8], fds: &[c_int]) -> Result<c_int> {
    send_parts(pid, &[state], fds)
}

/// As [`send`], for a message given in pieces (at most [`MAX_PARTS`]): they go out as one
/// datagram, without being copied together first.
pub fn send_parts(pid: libc::pid_t, parts: &[&[u8]], fds: &[c_int]) -> Result<c_int> {
    // The control buffer holds MAX_FDS: more would overrun it (ffi.rs refuses them first).
    if fds.len() > MAX_FDS {
        return Err(Errno(libc::E2BIG));
    }
    let Some(value) = env::get(env::NOTIFY_SOCKET) else {
        return Ok(0);
    };
    let address = address::parse(value)?;
    let cred = credentials(pid);
    let sock = Sock::open(&address)?;
    sock.transmit(parts, fds, cred)?;
    sock.finish()?;
    Ok(1)
}

/// The most pieces one message may be given in.
pub const MAX_PARTS: usize = 8;

/// The credentials to attach explicitly, if any: only when the message speaks for another
/// process. For this process they would say nothing new: a receiver with SO_PASSCRED gets
/// this pid and the real uid and gid from the kernel itself, also after setuid() (so since
/// Linux 3.9, the fix for CVE-2013-1979; before it the kernel sent the effective ids, which
/// is why libsystemd attaches its own when real and effective differ). That leaves a plain
/// notification with no id syscalls at all.
fn credentials(pid: libc::pid_t) -> Option<libc::ucred> {
    if pid == 0 || pid == getpid() {
        return None;
    }
    let (uid, gid) = (sys::getuid(), sys::getgid());
    Some(libc::ucred { pid, uid, gid })
}

fn getpid() -> libc::pid_t {
    sys::getpid()
}

/// Errors by which the kernel says "this socket type does not exist here" (or, for other
/// calls, "not supported here").
pub(crate) fn not_supported(e: Errno) -> bool {
    matches!(
        e.0,
        libc::EOPNOTSUPP
            | libc::ENOTTY
            | libc::ENOSYS
            | libc::EAFNOSUPPORT
            | libc::EPFNOSUPPORT
            | libc::EPROTONOSUPPORT
            | libc::ESOCKTNOSUPPORT
            | libc::ENOPROTOOPT
    )
}

/// Whether a plain `vsock:` address tries the next socket type after `socket()` failed
/// with `e` for the type at `step` (0: datagram, 1: seqpacket). A hypervisor without
/// vsock datagrams says ENODEV, so datagram falls back on that too; seqpacket falls back
/// to stream only when the type is not supported, as libsystemd does.
fn falls_back(step: usize, e: Errno) -> bool {
    not_supported(e) || (step == 0 && e.0 == libc::ENODEV)
}

/// A socket ready to send to one address.
struct Sock<'a> {
    fd: Fd,
    ty: c_int,
    address: &'a Address,
}

impl<'a> Sock<'a> {
    fn open(address: &'a Address) -> Result<Sock<'a>> {
        let (addr, kind) = match address {
            Address::Unix { .. } => {
                let fd = socket(libc::AF_UNIX, libc::SOCK_DGRAM)?;
                return Ok(Sock {
                    fd,
                    ty: libc::SOCK_DGRAM,
                    address,
                });
            }
            Address::Vsock { addr, kind } => (addr, *kind),
        };
        /// The vsock socket types, in the order a plain `vsock:` tries them.
        const TYPES: [c_int; 3] = [libc::SOCK_DGRAM, libc::SOCK_SEQPACKET, libc::SOCK_STREAM];
        // The types to try, as a range of TYPES: a table of ranges holds no pointers for
        // the loader to relocate at start-up (a table of slices does, one each).
        let (from, to) = match kind {
            VsockType::Any => (0, 3),
            VsockType::Dgram => (0, 1),
            VsockType::Seqpacket => (1, 2),
            VsockType::Stream => (2, 3),
        };
        let mut last = Errno(libc::EAFNOSUPPORT);
        for (i, &ty) in TYPES.iter().take(to).skip(from).enumerate() {
            let fd = match socket(libc::AF_VSOCK, ty) {
                Ok(fd) => fd,
                Err(e) if falls_back(i, e) && from + i + 1 < to => {
                    last = e;
                    continue;
                }
                Err(e) => return Err(e),
            };
            bind_privileged_port(&fd)?;
            if ty != libc::SOCK_DGRAM {
                // SAFETY: addr is a valid sockaddr_vm of the length given.
                let r =
                    unsafe { sys::connect(fd.0, ptr::from_ref(addr).cast(), address::VSOCK_LEN) };
                errno::check(r)?;
            }
            return Ok(Sock { fd, ty, address });
        }
        Err(last)
    }

    /// Sends the message. Two retries, each at most once, as the kernel's answer asks:
    /// EMSGSIZE raises the send buffer; any failure with explicit credentials attached
    /// drops them (an unprivileged sender may not speak for another pid, and a pid that
    /// no longer exists is refused).
    fn transmit(
        &self,
        parts: &[&[u8]],
        fds: &[c_int],
        mut cred: Option<libc::ucred>,
    ) -> Result<()> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let mut raised = false;
        let sent = loop {
            match self.sendmsg(parts, 0, fds, cred.as_ref()) {
                Ok(n) => break n,
                Err(Errno(libc::EMSGSIZE)) if !raised => {
                    raised = true;
                    self.raise_sndbuf();
                }
                Err(_) if cred.is_some() => cred = None,
                Err(e) => return Err(e),
            }
        };
        if self.ty != libc::SOCK_STREAM {
            return if sent == total {
                Ok(())
            } else {
                Err(Errno(libc::EIO))
            };
        }
        // A stream may take the message in pieces; the control data went with the first.
        let mut done = sent;
        while done < total {
            done += self.sendmsg(parts, done, &[], None)?;
        }
        Ok(())
    }

    /// One sendmsg of `parts` minus their first `skip` bytes.
    #[allow(
        clippy::useless_conversion,
        clippy::unnecessary_fallible_conversions,
        reason = "the msghdr and cmsghdr length fields are size_t on glibc, int or socklen_t on musl"
    )]
    fn sendmsg(
        &self,
        parts: &[&[u8]],
        skip: usize,
        fds: &[c_int],
        cred: Option<&libc::ucred>,
    ) -> Result<usize> {
        let mut iov = [libc::iovec {
            iov_base: ptr::null_mut(),
            iov_len: 0,
        }; MAX_PARTS];
        let (mut n, mut skip) = (0, skip);
        for part in parts.iter().take(MAX_PARTS) {
            if skip >= part.len() {
                skip -= part.len();
                continue;
            }
            let rest = &part[skip..];
            skip = 0;
            // Always a slot (at most MAX_PARTS parts are taken); get_mut, not an index,
            // leaves no panic location behind for the loader to relocate.
            if let Some(slot) = iov.get_mut(n) {
                *slot = libc::iovec {
                    iov_base: rest.as_ptr().cast_mut().cast(),
                    iov_len: rest.len(),
                };
                n += 1;
            }
        }
        // SAFETY: msghdr is plain data; all-zero is valid.
        let mut msg: libc::msghdr = unsafe { zeroed() };
        // Zeroed below only as far as this message uses it (1 KiB for MAX_FDS otherwise).
        let mut control = core::mem::MaybeUninit::<Control>::uninit();
        msg.msg_iov = iov.as_mut_ptr();
        // The field is a size_t on glibc, an int on musl; n is at most MAX_PARTS. An empty
        // message still goes with one (empty) iovec, as libsystemd's: qemu-user reports
        // success for a sendmsg without any and sends nothing.
        msg.msg_iovlen = n.max(1).try_into().map_err(|_| Errno(libc::EINVAL))?;
        if self.ty == libc::SOCK_DGRAM {
            match self.address {
                Address::Unix { addr, len } => {
                    msg.msg_name = ptr::from_ref(addr).cast_mut().cast();
                    msg.msg_namelen = *len;
                }
                Address::Vsock { addr, .. } => {
                    msg.msg_name = ptr::from_ref(addr).cast_mut().cast();
                    msg.msg_namelen = address::VSOCK_LEN;
                }
            }
        }
        // The CMSG_* macros take and give a c_uint; the callers bound fds by MAX_FDS.
        let fds_len = u32::try_from(size_of_val(fds)).map_err(|_| Errno(libc::E2BIG))?;
        let cred_len = u32::try_from(size_of::<libc::ucred>()).map_err(|_| Errno(libc::E2BIG))?;
        // SAFETY: CMSG_SPACE is arithmetic; the sizes are bounded by MAX_FDS and ucred.
        let space = unsafe {
            (if fds.is_empty() {
                0
            } else {
                usize::try_from(libc::CMSG_SPACE(fds_len)).map_err(|_| Errno(libc::E2BIG))?
            }) + (if cred.is_some() { CRED_SPACE } else { 0 })
        };
        if space > 0 {
            // SAFETY: control is large enough for MAX_FDS fds and one ucred, and is
            // aligned for cmsghdr; its first `space` bytes are zeroed before the CMSG_*
            // macros walk headers inside them (msg_controllen), and each header is
            // filled before the next is asked for.
            unsafe {
                ptr::write_bytes(control.as_mut_ptr().cast::<u8>(), 0, space);
                msg.msg_control = control.as_mut_ptr().cast();
                // A size_t on glibc, a socklen_t on musl; space fits the control buffer.
                msg.msg_controllen = space.try_into().map_err(|_| Errno(libc::E2BIG))?;
                let mut c = libc::CMSG_FIRSTHDR(&msg);
                if !fds.is_empty() {
                    (*c).cmsg_level = libc::SOL_SOCKET;
                    (*c).cmsg_type = libc::SCM_RIGHTS;
                    (*c).cmsg_len = libc::CMSG_LEN(fds_len)
                        .try_into()
                        .map_err(|_| Errno(libc::E2BIG))?;
                    ptr::copy_nonoverlapping(
                        fds.as_ptr().cast::<u8>(),
                        libc::CMSG_DATA(c),
                        size_of_val(fds),
                    );
                    c = libc::CMSG_NXTHDR(&msg, c);
                }
                if let Some(cred) = cred {
                    (*c).cmsg_level = libc::SOL_SOCKET;
                    (*c).cmsg_type = libc::SCM_CREDENTIALS;
                    (*c).cmsg_len = libc::CMSG_LEN(cred_len)
                        .try_into()
                        .map_err(|_| Errno(libc::E2BIG))?;
                    ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::ucred>(), *cred);
                }
            }
        }
        // SAFETY: msg points at live buffers described by their lengths.
        errno::check_size(unsafe { sys::sendmsg(self.fd.0, &msg, libc::MSG_NOSIGNAL) })
    }

    /// Best effort, as in libsystemd: ask for 8 MiB, forcing it when privileged.
    fn raise_sndbuf(&self) {
        for opt in [libc::SO_SNDBUFFORCE, libc::SO_SNDBUF] {
            let size = SNDBUF_SIZE;
            // SAFETY: a valid fd and a c_int option value of the right length.
            let r = unsafe {
                sys::setsockopt(
                    self.fd.0,
                    libc::SOL_SOCKET,
                    opt,
                    ptr::from_ref(&size).cast(),
                    size_of::<c_int>() as libc::socklen_t,
                )
            };
            if r == 0 {
                return;
            }
        }
    }

    /// For connected vsock types: close our direction and wait for the peer to close
    /// its own, so the message is known to be consumed. The peer must not answer.
    fn finish(&self) -> Result<()> {
        if self.ty == libc::SOCK_DGRAM {
            return Ok(());
        }
        // SAFETY: a valid fd.
        errno::check(unsafe { sys::shutdown(self.fd.0, libc::SHUT_WR) })?;
        let mut byte = 0u8;
        // SAFETY: one byte of writable buffer.
        let n = unsafe {
            sys::recv(
                self.fd.0,
                ptr::from_mut(&mut byte).cast(),
                1,
                libc::MSG_NOSIGNAL,
            )
        };
        match errno::check_size(n)? {
            0 => Ok(()),
            _ => Err(Errno(libc::EPROTO)),
        }
    }
}

fn socket(family: c_int, ty: c_int) -> Result<Fd> {
    let fd = errno::check(sys::socket(family, ty | libc::SOCK_CLOEXEC, 0))?;
    Ok(Fd(fd))
}

/// vsock peers may trust only privileged source ports: take the highest free one below
/// 1024. Without the privilege to bind one, send from an ephemeral port.
fn bind_privileged_port(fd: &Fd) -> Result<()> {
    // SAFETY: sockaddr_vm is plain data.
    let mut local: libc::sockaddr_vm = unsafe { zeroed() };
    local.svm_family = libc::AF_VSOCK as libc::sa_family_t;
    local.svm_cid = libc::VMADDR_CID_ANY;
    let mut last = Errno(libc::EADDRINUSE);
    for port in (1..1024).rev() {
        local.svm_port = port;
        // SAFETY: a valid address of the given length.
        let r = unsafe { sys::bind(fd.0, ptr::from_ref(&local).cast(), address::VSOCK_LEN) };
        match errno::check(r) {
            Ok(_) => return Ok(()),
            Err(Errno(libc::EPERM | libc::EACCES)) => return Ok(()),
            Err(e @ Errno(libc::EADDRINUSE)) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// The barrier (reference §4.7): send `BARRIER=1` with the write end of a fresh pipe,
/// drop our copy, and wait until the supervisor closes its copy, which it does after it
/// has processed every earlier message. `timeout_usec == u64::MAX` waits forever.
pub fn barrier(pid: libc::pid_t, timeout_usec: u64) -> Result<c_int> {
    let mut p = [0 as c_int; 2];
    // SAFETY: p has room for two fds.
    errno::check(unsafe { sys::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) })?;
    let (read_end, write_end) = (Fd(p[0]), Fd(p[1]));
    let sent = send(pid, BARRIER, &[write_end.0])?;
    drop(write_end);
    if sent == 0 {
        return Ok(0);
    }
    wait_for_hangup(&read_end, timeout_usec)
}

fn wait_for_hangup(fd: &Fd, timeout_usec: u64) -> Result<c_int> {
    let mut pfd = libc::pollfd {
        fd: fd.0,
        events: 0,
        revents: 0,
    };
    // SAFETY: timespec is plain data; all-zero is valid.
    let mut ts: libc::timespec = unsafe { zeroed() };
    let tsp = if timeout_usec == u64::MAX {
        ptr::null()
    } else {
        // time_t is 32 bits on i686 glibc. As libsystemd, refuse with EINVAL (after the
        // barrier was sent) a timeout whose seconds reach time_t's maximum: checking that
        // one more second still fits keeps exactly its bound.
        let secs = timeout_usec / 1_000_000;
        ts.tv_sec = (secs + 1).try_into().map_err(|_| Errno(libc::EINVAL))?;
        ts.tv_sec -= 1;
        ts.tv_nsec = ((timeout_usec % 1_000_000) * 1000)
            .try_into()
            .map_err(|_| Errno(libc::EINVAL))?;
        &raw const ts
    };
    // SAFETY: one valid pollfd; tsp is NULL or points at ts, alive until return.
    let n = errno::check(unsafe { sys::ppoll(&mut pfd, 1, tsp, ptr::null()) })?;
    if n == 0 {
        return Err(Errno(libc::ETIMEDOUT));
    }
    if pfd.revents & libc::POLLNVAL != 0 {
        return Err(Errno(libc::EBADF));
    }
    Ok(1)
}
