//! pidfd inode ids (reference §10): on pidfs (Linux 6.9 and later) every process has a
//! pidfd inode whose number identifies it for its whole life, unlike a pid.

use core::ffi::c_int;
use core::mem::zeroed;
use core::ptr;

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
    errno::check(unsafe { crate::sys::fstatfs(fd, &mut st) })?;
    Ok(st.f_type.try_into() == Ok(PID_FS_MAGIC))
}

/// The pidfd's 64-bit id from its file handle: pidfs encodes the inode number, all 64 bits
/// of it, as the handle's first eight bytes, which works where `ino_t` is 32 bits too.
fn handle_id(fd: c_int) -> Result<u64> {
    /// `struct file_handle` with room for the eight bytes asked for.
    #[repr(C)]
    struct Handle {
        bytes: libc::c_uint,
        kind: c_int,
        data: [u8; 8],
    }
    /// `FILEID_KERNFS`: the handle type pidfs and cgroupfs use.
    const FILEID_KERNFS: c_int = 0xfe;
    let mut handle = Handle {
        bytes: 8,
        kind: FILEID_KERNFS,
        data: [0; 8],
    };
    let mut mount_id: c_int = 0;
    // SAFETY: handle is a file_handle header followed by the 8 bytes handle_bytes announces;
    // "" with AT_EMPTY_PATH names fd itself; mount_id is a valid out-pointer.
    let r = unsafe {
        crate::sys::name_to_handle_at(
            fd,
            c"".as_ptr(),
            ptr::from_mut(&mut handle).cast(),
            &mut mount_id,
            libc::AT_EMPTY_PATH,
        )
    };
    errno::check(r)?;
    Ok(u64::from_ne_bytes(handle.data))
}

/// Failures of name_to_handle_at that say "not here" (no file handles in this kernel or
/// file system, the call filtered, an odd handle size) rather than "this fd is bad".
fn handle_unavailable(e: Errno) -> bool {
    crate::notify::not_supported(e)
        || matches!(
            e.0,
            libc::EPERM | libc::EACCES | libc::EOVERFLOW | libc::EINVAL
        )
}

/// The id of a pidfs fd, as libsystemd since v258 takes it: the file handle first; where
/// that is unavailable, the inode number from fstat, but only where `ino_t` has 64 bits (a
/// 32-bit inode number could be another process's).
#[allow(
    clippy::useless_conversion,
    clippy::unnecessary_fallible_conversions,
    reason = "ino_t is 64 bits except on i686 glibc"
)]
fn inode(fd: c_int) -> Result<u64> {
    match handle_id(fd) {
        Ok(id) => return Ok(id),
        Err(e) if !handle_unavailable(e) => return Err(e),
        Err(_) => {}
    }
    if size_of::<libc::ino_t>() < 8 {
        return Err(Errno(libc::EOPNOTSUPP));
    }
    // SAFETY: stat is plain data; fstat writes it.
    let mut st: libc::stat = unsafe { zeroed() };
    // SAFETY: a valid out-pointer.
    errno::check(unsafe { crate::sys::fstat(fd, &mut st) })?;
    Ok(u64::from(st.st_ino))
}

/// A pidfd for this process, or EOPNOTSUPP when pidfds are not on pidfs here.
fn own_pidfd() -> Result<Fd> {
    // SAFETY: pidfd_open(getpid(), 0) has no memory arguments; it returns a CLOEXEC fd.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, crate::sys::getpid(), 0) };
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
/// kernel never reuses.
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
    // A 32-bit ino_t is no obstacle here: the id comes from the file handle first.
    inode(pidfd)
}
