//! `sd_booted()` and the `sd_is_*()` fd probes (reference §6, §7).

use core::ffi::{CStr, c_char, c_int, c_uint};
use core::mem::{offset_of, size_of, zeroed};
use core::ptr;

use crate::errno::{self, Errno, Result};
use crate::sys;

/// 1 when the system was booted with systemd (`/run/systemd/system/` is a directory).
pub fn booted() -> Result<c_int> {
    // The trailing slash makes a symlink to a directory count, and anything that is not
    // a directory fail with ENOTDIR.
    let path = c"/run/systemd/system/";
    // SAFETY: a NUL-terminated path.
    let r = unsafe {
        sys::faccessat(
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::F_OK,
            // (The trailing slash resolves the last component, so following symlinks or
            // not makes no difference: the flag faccessat2 would need is left out.)
            0,
        )
    };
    match errno::check(r) {
        Ok(_) => Ok(1),
        Err(Errno(libc::ENOENT)) => Ok(0),
        Err(e) => Err(e),
    }
}

fn fstat(fd: c_int) -> Result<libc::stat> {
    // SAFETY: stat is plain data.
    let mut st: libc::stat = unsafe { zeroed() };
    // SAFETY: a valid out-pointer; any fd value is allowed.
    errno::check(unsafe { sys::fstat(fd, &mut st) })?;
    Ok(st)
}

/// stat(path); `None` when it does not exist (ENOENT, ENOTDIR).
fn stat_path(path: &CStr) -> Result<Option<libc::stat>> {
    // SAFETY: stat is plain data.
    let mut st: libc::stat = unsafe { zeroed() };
    // SAFETY: a NUL-terminated path and a valid out-pointer.
    match errno::check(unsafe { sys::stat(path.as_ptr(), &mut st) }) {
        Ok(_) => Ok(Some(st)),
        Err(Errno(libc::ENOENT | libc::ENOTDIR)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn file_type(st: &libc::stat) -> libc::mode_t {
    st.st_mode & libc::S_IFMT
}

fn same_inode(a: &libc::stat, b: &libc::stat) -> bool {
    file_type(a) == file_type(b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino
}

/// # Safety
/// `path` is NULL or NUL-terminated.
unsafe fn opt_cstr<'a>(path: *const c_char) -> Option<&'a CStr> {
    // SAFETY: caller's contract.
    (!path.is_null()).then(|| unsafe { CStr::from_ptr(path) })
}

/// `sd_is_fifo()`: is `fd` a FIFO (a pipe counts), and the one at `path` if given?
///
/// # Safety
/// `path` is NULL or NUL-terminated.
pub unsafe fn is_fifo(fd: c_int, path: *const c_char) -> Result<c_int> {
    if fd < 0 {
        return Err(Errno(libc::EBADF));
    }
    let st = fstat(fd)?;
    if file_type(&st) != libc::S_IFIFO {
        return Ok(0);
    }
    // SAFETY: caller's contract.
    match unsafe { opt_cstr(path) } {
        None => Ok(1),
        Some(path) => Ok(stat_path(path)?.is_some_and(|other| same_inode(&st, &other)) as c_int),
    }
}

/// `sd_is_special()`: is `fd` a regular file or a character device, and the same one as
/// `path` if given (character devices compare by device number)?
///
/// # Safety
/// `path` is NULL or NUL-terminated.
pub unsafe fn is_special(fd: c_int, path: *const c_char) -> Result<c_int> {
    if fd < 0 {
        return Err(Errno(libc::EBADF));
    }
    let st = fstat(fd)?;
    let t = file_type(&st);
    if t != libc::S_IFREG && t != libc::S_IFCHR {
        return Ok(0);
    }
    // SAFETY: caller's contract.
    let Some(path) = (unsafe { opt_cstr(path) }) else {
        return Ok(1);
    };
    let Some(other) = stat_path(path)? else {
        return Ok(0);
    };
    let same = match (t, file_type(&other)) {
        (libc::S_IFREG, libc::S_IFREG) => same_inode(&st, &other),
        (libc::S_IFCHR, libc::S_IFCHR) => st.st_rdev == other.st_rdev,
        _ => false,
    };
    Ok(same as c_int)
}

fn sockopt_int(fd: c_int, opt: c_int) -> Result<c_int> {
    let mut value: c_int = 0;
    let mut len = size_of::<c_int>() as libc::socklen_t;
    // SAFETY: valid out-pointers of the stated length.
    errno::check(unsafe {
        sys::getsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            ptr::from_mut(&mut value).cast(),
            &mut len,
        )
    })?;
    if len as usize != size_of::<c_int>() {
        return Err(Errno(libc::EINVAL));
    }
    Ok(value)
}

/// The checks all socket probes share: a socket, of `ty` unless 0, listening or not as
/// `listening` says unless it is negative.
fn is_socket_of(fd: c_int, ty: c_int, listening: c_int) -> Result<bool> {
    if fd < 0 {
        return Err(Errno(libc::EBADF));
    }
    if ty < 0 {
        return Err(Errno(libc::EINVAL));
    }
    if file_type(&fstat(fd)?) != libc::S_IFSOCK {
        return Ok(false);
    }
    if ty != 0 && sockopt_int(fd, libc::SO_TYPE)? != ty {
        return Ok(false);
    }
    if listening >= 0 && (sockopt_int(fd, libc::SO_ACCEPTCONN)? != 0) != (listening != 0) {
        return Ok(false);
    }
    Ok(true)
}

/// The socket's own address and its length.
fn local_address(fd: c_int) -> Result<(libc::sockaddr_storage, usize)> {
    // SAFETY: sockaddr_storage is plain data.
    let mut sa: libc::sockaddr_storage = unsafe { zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: a buffer of the stated length.
    errno::check(unsafe { sys::getsockname(fd, ptr::from_mut(&mut sa).cast(), &mut len) })?;
    if (len as usize) < size_of::<libc::sa_family_t>() {
        return Err(Errno(libc::EINVAL));
    }
    Ok((sa, len as usize))
}

/// `sd_is_socket()`.
pub fn is_socket(fd: c_int, family: c_int, ty: c_int, listening: c_int) -> Result<c_int> {
    if fd < 0 {
        return Err(Errno(libc::EBADF));
    }
    if family < 0 {
        return Err(Errno(libc::EINVAL));
    }
    if !is_socket_of(fd, ty, listening)? {
        return Ok(0);
    }
    if family > 0 {
        let (sa, _) = local_address(fd)?;
        return Ok((c_int::from(sa.ss_family) == family) as c_int);
    }
    Ok(1)
}

fn as_in(sa: &libc::sockaddr_storage) -> &libc::sockaddr_in {
    // SAFETY: sockaddr_storage is large and aligned enough for any address type.
    unsafe { &*ptr::from_ref(sa).cast() }
}

fn as_in6(sa: &libc::sockaddr_storage) -> &libc::sockaddr_in6 {
    // SAFETY: as in as_in.
    unsafe { &*ptr::from_ref(sa).cast() }
}

/// `sd_is_socket_inet()`.
pub fn is_socket_inet(
    fd: c_int,
    family: c_int,
    ty: c_int,
    listening: c_int,
    port: u16,
) -> Result<c_int> {
    if fd < 0 {
        return Err(Errno(libc::EBADF));
    }
    if !matches!(family, 0 | libc::AF_INET | libc::AF_INET6) {
        return Err(Errno(libc::EINVAL));
    }
    if !is_socket_of(fd, ty, listening)? {
        return Ok(0);
    }
    let (sa, len) = local_address(fd)?;
    let actual = c_int::from(sa.ss_family);
    if !matches!(actual, libc::AF_INET | libc::AF_INET6) || (family != 0 && actual != family) {
        return Ok(0);
    }
    if port == 0 {
        return Ok(1);
    }
    let bound = if actual == libc::AF_INET {
        if len < size_of::<libc::sockaddr_in>() {
            return Err(Errno(libc::EINVAL));
        }
        as_in(&sa).sin_port
    } else {
        if len < size_of::<libc::sockaddr_in6>() {
            return Err(Errno(libc::EINVAL));
        }
        as_in6(&sa).sin6_port
    };
    Ok((u16::from_be(bound) == port) as c_int)
}

/// `sd_is_socket_sockaddr()`: a socket bound to `addr` (IPv4 or IPv6); a zero port,
/// flow info or scope id in `addr` matches any.
///
/// # Safety
/// `addr` is NULL or points at `addr_len` readable bytes.
pub unsafe fn is_socket_sockaddr(
    fd: c_int,
    ty: c_int,
    addr: *const libc::sockaddr,
    addr_len: c_uint,
    listening: c_int,
) -> Result<c_int> {
    if fd < 0 {
        return Err(Errno(libc::EBADF));
    }
    if addr.is_null() {
        return Err(Errno(libc::EINVAL));
    }
    let addr_len = addr_len as usize;
    if addr_len < size_of::<libc::sa_family_t>() {
        return Err(Errno(libc::ENOBUFS));
    }
    // SAFETY: at least the family is readable (checked above); read unaligned since C
    // callers may pass any buffer.
    let family = c_int::from(unsafe { ptr::read_unaligned(ptr::addr_of!((*addr).sa_family)) });
    if !matches!(family, libc::AF_INET | libc::AF_INET6) {
        return Err(Errno(libc::EPFNOSUPPORT));
    }
    if !is_socket_of(fd, ty, listening)? {
        return Ok(0);
    }
    let (sa, len) = local_address(fd)?;
    if c_int::from(sa.ss_family) != family {
        return Ok(0);
    }
    if family == libc::AF_INET {
        if len < size_of::<libc::sockaddr_in>() || addr_len < size_of::<libc::sockaddr_in>() {
            return Err(Errno(libc::EINVAL));
        }
        // SAFETY: addr_len covers a sockaddr_in (checked above).
        let want: libc::sockaddr_in = unsafe { ptr::read_unaligned(addr.cast()) };
        let have = as_in(&sa);
        if want.sin_port != 0 && want.sin_port != have.sin_port {
            return Ok(0);
        }
        return Ok((want.sin_addr.s_addr == have.sin_addr.s_addr) as c_int);
    }
    if len < size_of::<libc::sockaddr_in6>() || addr_len < size_of::<libc::sockaddr_in6>() {
        return Err(Errno(libc::EINVAL));
    }
    // SAFETY: addr_len covers a sockaddr_in6 (checked above).
    let want: libc::sockaddr_in6 = unsafe { ptr::read_unaligned(addr.cast()) };
    let have = as_in6(&sa);
    if (want.sin6_port != 0 && want.sin6_port != have.sin6_port)
        || (want.sin6_flowinfo != 0 && want.sin6_flowinfo != have.sin6_flowinfo)
        || (want.sin6_scope_id != 0 && want.sin6_scope_id != have.sin6_scope_id)
    {
        return Ok(0);
    }
    Ok((want.sin6_addr.s6_addr == have.sin6_addr.s6_addr) as c_int)
}

/// `sd_is_socket_unix()`. With `path`: a path socket matches when its path equals
/// `path` (`length` 0 means `strlen(path)`); an abstract one (`path[0] == 0`) when its
/// name is exactly the `length` bytes given; an empty `path` matches an unnamed socket.
///
/// # Safety
/// `path` is NULL, or readable for `length` bytes and NUL-terminated after them when
/// `path[0]` is not NUL (or NUL-terminated when `length` is 0).
pub unsafe fn is_socket_unix(
    fd: c_int,
    ty: c_int,
    listening: c_int,
    path: *const c_char,
    length: usize,
) -> Result<c_int> {
    if fd < 0 {
        return Err(Errno(libc::EBADF));
    }
    if !is_socket_of(fd, ty, listening)? {
        return Ok(0);
    }
    let (sa, len) = local_address(fd)?;
    if c_int::from(sa.ss_family) != libc::AF_UNIX {
        return Ok(0);
    }
    if path.is_null() {
        return Ok(1);
    }
    let length = if length == 0 {
        // SAFETY: path is non-NULL and NUL-terminated when length is 0 (caller's contract).
        unsafe { libc::strlen(path) }
    } else {
        length
    };
    let base = offset_of!(libc::sockaddr_un, sun_path);
    if length == 0 {
        return Ok((len == base) as c_int);
    }
    // SAFETY: path is readable for length (+1 for a path socket) bytes (caller's contract).
    let first = unsafe { *path };
    let (compare, fits) = if first != 0 {
        // A path socket: compare the NUL after the path too, so a prefix does not match.
        (length + 1, len > base + length)
    } else {
        (length, len == base + length)
    };
    // The name is read from the whole sockaddr_storage, not only sun_path: a path of the
    // full 108 bytes is stored without a NUL, and getsockname() then reports one more byte
    // than sockaddr_un holds, writing that NUL into the larger buffer it was given.
    if !fits || base + compare > size_of::<libc::sockaddr_storage>() {
        return Ok(0);
    }
    // SAFETY: compare bytes are readable at path (caller's contract), and base + compare
    // bytes are inside sa.
    let (ours, theirs) = unsafe {
        (
            core::slice::from_raw_parts(path.cast::<u8>(), compare),
            core::slice::from_raw_parts(ptr::from_ref(&sa).cast::<u8>().add(base), compare),
        )
    };
    let same = sys::bytes_eq(ours, theirs);
    Ok(same as c_int)
}

/// `sd_is_mq()`: is `fd` a POSIX message queue, and the one named `path` if given?
///
/// # Safety
/// `path` is NULL or NUL-terminated.
pub unsafe fn is_mq(fd: c_int, path: *const c_char) -> Result<c_int> {
    if fd < 0 {
        return Err(Errno(libc::EBADF));
    }
    // SAFETY: fcntl on any integer.
    errno::check(unsafe { sys::fcntl(fd, libc::F_GETFD, 0) })?;
    // SAFETY: mq_attr is plain data.
    let mut attr: libc::mq_attr = unsafe { zeroed() };
    // SAFETY: a valid out-pointer.
    match errno::check(unsafe { sys::mq_getattr(fd, &mut attr) }) {
        Ok(_) => {}
        Err(Errno(libc::EBADF)) => return Ok(0),
        Err(e) => return Err(e),
    }
    // SAFETY: caller's contract.
    let Some(name) = (unsafe { opt_cstr(path) }) else {
        return Ok(1);
    };
    let name = name.to_bytes();
    if name.first() != Some(&b'/') {
        return Err(Errno(libc::EINVAL));
    }
    let st = fstat(fd)?;
    // "/dev/mqueue" + the absolute name, NUL-terminated, on the stack.
    let mut buf = [0u8; libc::PATH_MAX as usize];
    let dir = b"/dev/mqueue";
    if dir.len() + name.len() >= buf.len() {
        return Err(Errno(libc::ENAMETOOLONG));
    }
    buf[..dir.len()].copy_from_slice(dir);
    buf[dir.len()..dir.len() + name.len()].copy_from_slice(name);
    let full = CStr::from_bytes_until_nul(&buf).map_err(|_| Errno(libc::EINVAL))?;
    // SAFETY: stat is plain data.
    let mut other: libc::stat = unsafe { zeroed() };
    // SAFETY: NUL-terminated path, valid out-pointer.
    errno::check(unsafe { sys::stat(full.as_ptr(), &mut other) })?;
    Ok(same_inode(&st, &other) as c_int)
}
