//! pidfd inode ids (reference §10): on pidfs (Linux 6.9 and later) every process has a
//! pidfd inode whose number identifies it for its whole life, unlike a pid.

use core::ffi::c_int;
use core::mem::zeroed;

use crate::errno::{self, Errno, Result};
use crate::notify::Fd;

/// `f_type` of the pidfs file system (the field is a signed long on glibc, an unsigned
/// one on musl, 32 bits wide on i686).
const PID_FS_MAGIC: i64 = 0x5049_4446;

#[allow(
    clippy::useless_conversion,
    clippy::unnecessary_fallible_conversions,
    reason = "f_type is a long on glibc, an unsigned long on musl"
)]
fn is_pidfs(fd: c_int) -> Result<bool> {
    // SAFETY: statfs is plain data; fstatfs writes it.
    let mut st: libc::statfs = unsafe { zeroed() };
    // SAFETY: a valid out-pointer.
    errno::check(unsafe { libc::fstatfs(fd, &mut st) })?;
    Ok(st.f_type.try_into() == Ok(PID_FS_MAGIC))
}

#[allow(
    clippy::useless_conversion,
    clippy::unnecessary_fallible_conversions,
    reason = "ino_t is 64 bits except on i686 glibc"
)]
fn inode(fd: c_int) -> Result<u64> {
    // SAFETY: stat is plain data; fstat writes it.
    let mut st: libc::stat = unsafe { zeroed() };
    // SAFETY: a valid out-pointer.
    errno::check(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(u64::from(st.st_ino))
}

/// A pidfd for this process, or EOPNOTSUPP when pidfds are not on pidfs here.
fn own_pidfd() -> Result<Fd> {
    // SAFETY: pidfd_open(getpid(), 0) has no memory arguments; it returns a CLOEXEC fd.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    // A syscall returns a long; an fd always fits an int.
    let fd = Fd(errno::check(
        c_int::try_from(r).map_err(|_| Errno(libc::EBADF))?,
    )?);
    if is_pidfs(fd.0)? {
        Ok(fd)
    } else {
        Err(Errno(libc::EOPNOTSUPP))
    }
}

/// The inode id of this process's pidfd.
pub fn own_inode_id() -> Result<u64> {
    inode(own_pidfd()?.0)
}

/// `sd_pidfd_get_inode_id()`: the inode id of `pidfd`, the pidfs inode number, which the
/// kernel never reuses. Where `ino_t` is 32 bits (i686 glibc: the libc crate's `stat` is
/// the one without large-file support) it cannot hold the 64-bit id: EOPNOTSUPP, as
/// upstream libsystemd's pidfd_get_inode_id_impl() answers when built that way.
pub fn inode_id(pidfd: c_int) -> Result<u64> {
    if pidfd < 0 {
        return Err(Errno(libc::EBADF));
    }
    if own_pidfd().is_err() {
        return Err(Errno(libc::EOPNOTSUPP));
    }
    if !is_pidfs(pidfd)? {
        return Err(Errno(libc::EBADF));
    }
    if size_of::<libc::ino_t>() < 8 {
        return Err(Errno(libc::EOPNOTSUPP));
    }
    inode(pidfd)
}
