//! Small libc functions written here instead of imported.
//!
//! Every function a shared library imports is bound when a program that links it starts
//! (full RELRO: `-z now`), several hundred instructions each on glibc. The functions here
//! are trivial enough that writing them costs less than that: bit operations on a
//! `sigset_t`, calls that are one system call (through `libc::syscall`, the one import
//! they all share, where tests/fault's shim fails them on demand), and the few parsers and
//! allocators that are a dozen lines over functions we import already. They keep libc's
//! signatures and errno convention, so most call sites change only their `libc::` prefix.
//! Types are the libc crate's for the target: the same code is right on 32- and 64-bit,
//! glibc and musl.
//!
//! libc's `strlen`, `memcpy` and friends stay libc's: they are vectorised, and a byte loop
//! costs far more per call than one import does at load.

use core::ffi::{c_char, c_int, c_long, c_ulong, c_void};
use core::mem::size_of;

/// The size of the kernel's signal set (64 signals on every Linux target we build for):
/// what the `rt_sig*` system calls want as their last argument. libc's `sigset_t` is
/// larger (room for future signals) and starts with the kernel's set.
const KERNEL_SIGSET_BYTES: usize = 8;

/// Sets the calling thread's errno.
fn set_errno(e: c_int) {
    // SAFETY: __errno_location() always returns a valid pointer to this thread's errno.
    unsafe { *libc::__errno_location() = e };
}

/// The words of a signal set: signal `n` is bit `(n - 1) % BITS` of word `(n - 1) / BITS`,
/// on every target (the kernel's layout, which libc's `sigset_t` shares).
fn sigset_words(set: &mut libc::sigset_t) -> &mut [c_ulong] {
    let len = size_of::<libc::sigset_t>() / size_of::<c_ulong>();
    // SAFETY: sigset_t is an array of unsigned longs on Linux (glibc and musl), aligned
    // as one; len words fit in it.
    unsafe { core::slice::from_raw_parts_mut((set as *mut libc::sigset_t).cast::<c_ulong>(), len) }
}

/// The word index and the bit of signal `sig` in a signal set, or None for a number that
/// is not a signal.
fn sigbit(sig: c_int) -> Option<(usize, c_ulong)> {
    let n = usize::try_from(sig).ok()?.checked_sub(1)?;
    let bits = usize::try_from(c_ulong::BITS).ok()?;
    if n >= KERNEL_SIGSET_BYTES * 8 {
        return None;
    }
    Some((n / bits, 1 << (n % bits)))
}

/// `sigemptyset(3)`.
pub fn sigemptyset(set: &mut libc::sigset_t) -> c_int {
    sigset_words(set).fill(0);
    0
}

/// `sigaddset(3)`: -1 and `EINVAL` for a number that is not a signal.
pub fn sigaddset(set: &mut libc::sigset_t, sig: c_int) -> c_int {
    match sigbit(sig) {
        Some((word, bit)) => {
            sigset_words(set)[word] |= bit;
            0
        }
        None => {
            set_errno(libc::EINVAL);
            -1
        }
    }
}

/// `sigismember(3)`: 1 or 0, or -1 and `EINVAL` for a number that is not a signal.
pub fn sigismember(set: &libc::sigset_t, sig: c_int) -> c_int {
    let mut copy = *set;
    match sigbit(sig) {
        Some((word, bit)) => c_int::from(sigset_words(&mut copy)[word] & bit != 0),
        None => {
            set_errno(libc::EINVAL);
            -1
        }
    }
}

/// `pthread_sigmask(3)`: the calling thread's signal mask (`rt_sigprocmask(2)`). Returns
/// 0 or an errno value, as pthread_sigmask does (and leaves errno alone then).
///
/// # Safety
/// `set` and `old` must each be NULL or point to a valid `sigset_t`.
pub unsafe fn pthread_sigmask(
    how: c_int,
    set: *const libc::sigset_t,
    old: *mut libc::sigset_t,
) -> c_int {
    // SAFETY: set and old are NULL or valid signal sets (the caller's contract, as for
    // pthread_sigmask); the kernel reads and writes KERNEL_SIGSET_BYTES of them.
    let r = unsafe { libc::syscall(libc::SYS_rt_sigprocmask, how, set, old, KERNEL_SIGSET_BYTES) };
    if r == 0 {
        0
    } else {
        // SAFETY: as in set_errno.
        unsafe { *libc::__errno_location() }
    }
}

/// `raise(3)`: sends `sig` to the calling thread (`tgkill(2)`).
pub fn raise(sig: c_int) -> c_int {
    // SAFETY: gettid has no preconditions; tgkill signals this thread.
    let r = unsafe {
        let tid = libc::syscall(libc::SYS_gettid);
        libc::syscall(libc::SYS_tgkill, getpid(), tid, sig)
    };
    if r == 0 { 0 } else { -1 }
}

/// `abort(3)` for the panic handler: SIGABRT to the calling thread, and if that returns
/// (the signal is caught or blocked), `_exit(127)`.
#[cfg(all(panic = "abort", not(test), not(feature = "std")))]
pub fn abort() -> ! {
    raise(libc::SIGABRT);
    _exit(127)
}

/// `clock_gettime(2)`.
///
/// # Safety
/// `ts` must be valid for a write of a `timespec`.
pub unsafe fn clock_gettime(clock: libc::clockid_t, ts: *mut libc::timespec) -> c_int {
    // SAFETY: the caller's contract; the libc crate's timespec is the one the target's
    // clock_gettime system call fills.
    let r = unsafe { libc::syscall(libc::SYS_clock_gettime, clock, ts) };
    if r == 0 { 0 } else { -1 }
}

/// Whether two byte strings are equal: a plain loop, for the short strings readyd
/// compares (socket paths, prefixes). Slice `==` and `memcmp` become a call to libc's
/// `bcmp`, one more import.
pub fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// `calloc(3)`: `malloc` and zeroes; NULL and `ENOMEM` when the size overflows.
pub fn calloc(n: usize, size: usize) -> *mut c_void {
    let Some(bytes) = n.checked_mul(size) else {
        set_errno(libc::ENOMEM);
        return core::ptr::null_mut();
    };
    // SAFETY: malloc of a checked size; NULL handled. (black_box: LLVM would turn malloc
    // and the zeroing back into a call to calloc.)
    let p = core::hint::black_box(unsafe { libc::malloc(bytes) });
    if !p.is_null() {
        // SAFETY: p holds `bytes` writable bytes.
        unsafe { core::ptr::write_bytes(p.cast::<u8>(), 0, bytes) };
    }
    p
}

/// `mkostemp(3)`: replaces the template's final `XXXXXX` with random letters and digits
/// and creates that file (mode 0600, `O_EXCL`, plus `flags`), trying new names while the
/// name exists. -1 and `EINVAL` when the template does not end in `XXXXXX`.
///
/// # Safety
/// `template` must be a writable, NUL-terminated string.
pub unsafe fn mkostemp(template: *mut c_char, flags: c_int) -> c_int {
    const LETTERS: &[u8; 62] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    // SAFETY: the caller's contract.
    let len = unsafe { core::ffi::CStr::from_ptr(template) }.count_bytes();
    if len < 6 {
        set_errno(libc::EINVAL);
        return -1;
    }
    // SAFETY: the last six bytes before the NUL, inside the caller's string.
    let x = unsafe { core::slice::from_raw_parts_mut(template.add(len - 6).cast::<u8>(), 6) };
    if x != b"XXXXXX" {
        set_errno(libc::EINVAL);
        return -1;
    }
    let mut counter: u64 = 0;
    for _ in 0..100 {
        let mut random = [0u8; 6];
        // SAFETY: getrandom writes at most 6 bytes into `random`.
        let got = unsafe {
            libc::syscall(
                libc::SYS_getrandom,
                random.as_mut_ptr(),
                random.len(),
                libc::GRND_NONBLOCK,
            )
        };
        if got != 6 {
            // No entropy yet (early boot) or no getrandom: a name from the pid and a
            // counter; O_EXCL makes any collision a retry, never a shared file.
            let pid = u64::from(getpid().unsigned_abs());
            let mixed = (pid + counter)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .to_be_bytes();
            random.copy_from_slice(&mixed[..6]);
            counter += 1;
        }
        for (dst, r) in x.iter_mut().zip(random) {
            *dst = LETTERS[usize::from(r) % LETTERS.len()];
        }
        let mode: libc::mode_t = 0o600;
        // SAFETY: template is NUL-terminated (the caller's contract).
        let fd = unsafe {
            open(
                template,
                flags | libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
                mode,
            )
        };
        // SAFETY: as in set_errno.
        if fd >= 0 || unsafe { *libc::__errno_location() } != libc::EEXIST {
            return fd;
        }
    }
    set_errno(libc::EEXIST);
    -1
}

/// A `libc::syscall` result as the C function's `int`: -1 (errno set) or the value.
fn int(r: c_long) -> c_int {
    c_int::try_from(r).unwrap_or(-1)
}

/// A `libc::syscall` result as the C function's `ssize_t`.
fn ssize(r: c_long) -> isize {
    isize::try_from(r).unwrap_or(-1)
}

// The system calls below are what libc's wrappers make, minus the wrapper: they are not
// pthread cancellation points (see readyd(7)), and need no import each. They all go
// through libc's syscall(), which is where tests/fault's shim fails them on demand.

#[cfg(target_arch = "x86")]
const SYS_GETUID: c_long = libc::SYS_getuid32;
#[cfg(not(target_arch = "x86"))]
const SYS_GETUID: c_long = libc::SYS_getuid;
#[cfg(target_arch = "x86")]
const SYS_GETGID: c_long = libc::SYS_getgid32;
#[cfg(not(target_arch = "x86"))]
const SYS_GETGID: c_long = libc::SYS_getgid;

/// `getpid(2)`.
pub fn getpid() -> libc::pid_t {
    // SAFETY: no arguments; getpid cannot fail.
    let r = unsafe { libc::syscall(libc::SYS_getpid) };
    libc::pid_t::try_from(r).unwrap_or(-1)
}

/// `getuid(2)`.
pub fn getuid() -> libc::uid_t {
    // SAFETY: no arguments; getuid cannot fail.
    let r = unsafe { libc::syscall(SYS_GETUID) };
    libc::uid_t::try_from(r).unwrap_or(libc::uid_t::MAX)
}

/// `getgid(2)`.
pub fn getgid() -> libc::gid_t {
    // SAFETY: no arguments; getgid cannot fail.
    let r = unsafe { libc::syscall(SYS_GETGID) };
    libc::gid_t::try_from(r).unwrap_or(libc::gid_t::MAX)
}

/// `_exit(2)`: ends the process (every thread, as libc's does).
pub fn _exit(status: c_int) -> ! {
    loop {
        // SAFETY: exit_group does not return.
        unsafe { libc::syscall(libc::SYS_exit_group, status) };
    }
}

/// `setsid(2)`.
pub fn setsid() -> libc::pid_t {
    // SAFETY: no arguments.
    let r = unsafe { libc::syscall(libc::SYS_setsid) };
    libc::pid_t::try_from(r).unwrap_or(-1)
}

/// `socket(2)`.
pub fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    // SAFETY: no memory is passed.
    int(unsafe { libc::syscall(libc::SYS_socket, domain, ty, protocol) })
}

/// `close(2)`. As with libc's, the fd is gone even when this fails.
///
/// # Safety
/// None beyond libc's: `fd` is the caller's to close.
pub unsafe fn close(fd: c_int) -> c_int {
    // SAFETY: no memory is passed.
    int(unsafe { libc::syscall(libc::SYS_close, fd) })
}

/// `pipe2(2)`.
///
/// # Safety
/// `fds` must be valid for writes of two ints.
pub unsafe fn pipe2(fds: *mut c_int, flags: c_int) -> c_int {
    // SAFETY: the caller's contract.
    int(unsafe { libc::syscall(libc::SYS_pipe2, fds, flags) })
}

/// `fcntl(2)` for the commands that take an int or nothing (pass 0 then).
///
/// # Safety
/// None beyond libc's: `fd` is the caller's.
pub unsafe fn fcntl(fd: c_int, cmd: c_int, arg: c_int) -> c_int {
    // SAFETY: no memory is passed for these commands.
    int(unsafe { libc::syscall(libc::SYS_fcntl, fd, cmd, arg) })
}

/// `sendmsg(2)`.
///
/// # Safety
/// `msg` must be a valid message header, with everything it points to.
pub unsafe fn sendmsg(fd: c_int, msg: *const libc::msghdr, flags: c_int) -> isize {
    // SAFETY: the caller's contract.
    ssize(unsafe { libc::syscall(libc::SYS_sendmsg, fd, msg, flags) })
}

/// `writev(2)`.
///
/// # Safety
/// `iov` must hold `n` valid iovecs.
pub unsafe fn writev(fd: c_int, iov: *const libc::iovec, n: c_int) -> isize {
    // SAFETY: the caller's contract.
    ssize(unsafe { libc::syscall(libc::SYS_writev, fd, iov, n) })
}

/// `setsockopt(2)`.
///
/// # Safety
/// `value` must be valid for reads of `len` bytes.
pub unsafe fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *const c_void,
    len: libc::socklen_t,
) -> c_int {
    // SAFETY: the caller's contract.
    int(unsafe { libc::syscall(libc::SYS_setsockopt, fd, level, name, value, len) })
}

/// `ppoll(2)`.
///
/// # Safety
/// `fds` must hold `n` pollfds; `timeout` and `mask` NULL or valid.
pub unsafe fn ppoll(
    fds: *mut libc::pollfd,
    n: libc::nfds_t,
    timeout: *const libc::timespec,
    mask: *const libc::sigset_t,
) -> c_int {
    // SAFETY: the caller's contract; the libc crate's timespec is the one the target's
    // ppoll system call takes.
    int(unsafe { libc::syscall(libc::SYS_ppoll, fds, n, timeout, mask, KERNEL_SIGSET_BYTES) })
}

/// The kernel's `struct statx_timestamp`.
#[repr(C)]
struct StatxTimestamp {
    sec: i64,
    nsec: u32,
    _reserved: i32,
}

/// The kernel's `struct statx` (the same on every architecture).
#[repr(C)]
struct Statx {
    mask: u32,
    blksize: u32,
    attributes: u64,
    nlink: u32,
    uid: u32,
    gid: u32,
    mode: u16,
    _spare0: u16,
    ino: u64,
    size: u64,
    blocks: u64,
    attributes_mask: u64,
    /// atime, btime, ctime, mtime.
    times: [StatxTimestamp; 4],
    rdev_major: u32,
    rdev_minor: u32,
    dev_major: u32,
    dev_minor: u32,
    _spare: [u64; 14],
}

const _: () = assert!(size_of::<Statx>() == 256);

/// A value in the type the target's `struct stat` has for it, or `EOVERFLOW` (as libc's
/// 32-bit stat reports a 64-bit inode number).
fn fit<T: TryFrom<U>, U>(v: U) -> Result<T, ()> {
    T::try_from(v).map_err(|_| ())
}

/// `statx(2)` into the target's `struct stat` (statx is the one stat call whose structure
/// is the same on every architecture; Linux 4.11 and later). The times are left zero:
/// nothing in readyd reads them.
///
/// # Safety
/// `path` must be NUL-terminated, `st` valid for a write.
unsafe fn statx(dirfd: c_int, path: *const c_char, flags: c_int, st: *mut libc::stat) -> c_int {
    // SAFETY: Statx is plain data.
    let mut x: Statx = unsafe { core::mem::zeroed() };
    let mask = libc::STATX_BASIC_STATS;
    // SAFETY: the caller's contract; x is a valid statx buffer.
    let r = unsafe { libc::syscall(libc::SYS_statx, dirfd, path, flags, mask, &raw mut x) };
    if r != 0 {
        return -1;
    }
    // SAFETY: stat is plain data.
    let mut out: libc::stat = unsafe { core::mem::zeroed() };
    let filled = (|| {
        out.st_dev = libc::makedev(x.dev_major, x.dev_minor);
        out.st_rdev = libc::makedev(x.rdev_major, x.rdev_minor);
        out.st_ino = fit(x.ino)?;
        out.st_mode = fit(x.mode)?;
        out.st_nlink = fit(x.nlink)?;
        out.st_uid = x.uid;
        out.st_gid = x.gid;
        out.st_size = fit(x.size)?;
        out.st_blksize = fit(x.blksize)?;
        out.st_blocks = fit(x.blocks)?;
        Ok::<(), ()>(())
    })();
    if filled.is_err() {
        set_errno(libc::EOVERFLOW);
        return -1;
    }
    // SAFETY: the caller's contract.
    unsafe { st.write(out) };
    0
}

/// `stat(2)`, through statx (see there).
///
/// # Safety
/// `path` must be NUL-terminated, `st` valid for a write.
pub unsafe fn stat(path: *const c_char, st: *mut libc::stat) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { statx(libc::AT_FDCWD, path, 0, st) }
}

/// `lstat(2)`, through statx (see there).
///
/// # Safety
/// As [`stat`].
pub unsafe fn lstat(path: *const c_char, st: *mut libc::stat) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { statx(libc::AT_FDCWD, path, libc::AT_SYMLINK_NOFOLLOW, st) }
}

/// `fstat(2)`, through statx with an empty path (see there).
///
/// # Safety
/// `st` must be valid for a write.
pub unsafe fn fstat(fd: c_int, st: *mut libc::stat) -> c_int {
    // SAFETY: an empty path, and the caller's contract.
    unsafe { statx(fd, c"".as_ptr(), libc::AT_EMPTY_PATH, st) }
}

/// `fstatfs(2)`. (On every target we build for, the libc crate's `statfs` is the
/// structure this system call fills.)
///
/// # Safety
/// `st` must be valid for a write.
pub unsafe fn fstatfs(fd: c_int, st: *mut libc::statfs) -> c_int {
    // SAFETY: the caller's contract.
    int(unsafe { libc::syscall(libc::SYS_fstatfs, fd, st) })
}

/// `name_to_handle_at(2)`.
///
/// # Safety
/// `path` must be NUL-terminated, `handle` a `struct file_handle` with room for the bytes
/// its `handle_bytes` announces, `mount_id` valid for a write.
pub unsafe fn name_to_handle_at(
    dirfd: c_int,
    path: *const c_char,
    handle: *mut c_void,
    mount_id: *mut c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: the caller's contract.
    int(unsafe {
        libc::syscall(
            libc::SYS_name_to_handle_at,
            dirfd,
            path,
            handle,
            mount_id,
            flags,
        )
    })
}

/// `open(2)`, as `openat(AT_FDCWD, ...)` (the only form every architecture has). 32-bit
/// targets get `O_LARGEFILE` as libc adds it.
///
/// # Safety
/// `path` must be NUL-terminated.
pub unsafe fn open(path: *const c_char, flags: c_int, mode: libc::mode_t) -> c_int {
    // SAFETY: the caller's contract.
    int(unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            path,
            flags | libc::O_LARGEFILE,
            mode,
        )
    })
}

/// `read(2)`.
///
/// # Safety
/// `buf` must be valid for writes of `len` bytes.
pub unsafe fn read(fd: c_int, buf: *mut c_void, len: usize) -> isize {
    // SAFETY: the caller's contract.
    ssize(unsafe { libc::syscall(libc::SYS_read, fd, buf, len) })
}

/// `recv(2)`, as `recvfrom` without an address.
///
/// # Safety
/// As [`read`].
pub unsafe fn recv(fd: c_int, buf: *mut c_void, len: usize, flags: c_int) -> isize {
    let none: *mut c_void = core::ptr::null_mut();
    // SAFETY: the caller's contract; no address is asked for.
    ssize(unsafe { libc::syscall(libc::SYS_recvfrom, fd, buf, len, flags, none, none) })
}

/// `dup2(2)`, as `dup3` with no flags (every architecture has it). Unlike dup3, equal
/// fds are not an error: the fd is returned (without checking that it is open).
///
/// # Safety
/// As libc's: `new` is closed and replaced.
pub unsafe fn dup2(old: c_int, new: c_int) -> c_int {
    if old == new {
        return new;
    }
    // SAFETY: the caller's contract.
    int(unsafe { libc::syscall(libc::SYS_dup3, old, new, 0) })
}

/// `flock(2)`.
///
/// # Safety
/// None beyond libc's: `fd` is the caller's.
pub unsafe fn flock(fd: c_int, op: c_int) -> c_int {
    // SAFETY: no memory is passed.
    int(unsafe { libc::syscall(libc::SYS_flock, fd, op) })
}

/// `fchmod(2)`.
///
/// # Safety
/// None beyond libc's: `fd` is the caller's.
pub unsafe fn fchmod(fd: c_int, mode: libc::mode_t) -> c_int {
    // SAFETY: no memory is passed.
    int(unsafe { libc::syscall(libc::SYS_fchmod, fd, mode) })
}

/// `chdir(2)`.
///
/// # Safety
/// `path` must be NUL-terminated.
pub unsafe fn chdir(path: *const c_char) -> c_int {
    // SAFETY: the caller's contract.
    int(unsafe { libc::syscall(libc::SYS_chdir, path) })
}

/// `unlink(2)`, as `unlinkat(AT_FDCWD, ...)`.
///
/// # Safety
/// `path` must be NUL-terminated.
pub unsafe fn unlink(path: *const c_char) -> c_int {
    // SAFETY: the caller's contract.
    int(unsafe { libc::syscall(libc::SYS_unlinkat, libc::AT_FDCWD, path, 0) })
}

/// `rename(2)`: `rename` where the architecture has it, else `renameat2` (aarch64 has
/// neither rename nor renameat).
///
/// # Safety
/// Both paths must be NUL-terminated.
pub unsafe fn rename(old: *const c_char, new: *const c_char) -> c_int {
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    // SAFETY: the caller's contract.
    let r = unsafe { libc::syscall(libc::SYS_rename, old, new) };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
    // SAFETY: the caller's contract.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            old,
            libc::AT_FDCWD,
            new,
            0,
        )
    };
    int(r)
}

/// `faccessat(2)`. With `flags` 0 the original system call (every kernel); with flags,
/// `faccessat2` (Linux 5.8 and later; `ENOSYS` before).
///
/// # Safety
/// `path` must be NUL-terminated.
pub unsafe fn faccessat(dirfd: c_int, path: *const c_char, mode: c_int, flags: c_int) -> c_int {
    // SAFETY: the caller's contract.
    int(unsafe {
        if flags == 0 {
            libc::syscall(libc::SYS_faccessat, dirfd, path, mode)
        } else {
            libc::syscall(libc::SYS_faccessat2, dirfd, path, mode, flags)
        }
    })
}

/// `waitpid(2)`, as `wait4` without resource usage.
///
/// # Safety
/// `status` must be NULL or valid for a write.
pub unsafe fn waitpid(pid: libc::pid_t, status: *mut c_int, options: c_int) -> libc::pid_t {
    let none: *mut libc::rusage = core::ptr::null_mut();
    // SAFETY: the caller's contract.
    let r = unsafe { libc::syscall(libc::SYS_wait4, pid, status, options, none) };
    libc::pid_t::try_from(r).unwrap_or(-1)
}

/// `bind(2)`.
///
/// # Safety
/// `addr` must be valid for reads of `len` bytes.
pub unsafe fn bind(fd: c_int, addr: *const libc::sockaddr, len: libc::socklen_t) -> c_int {
    // SAFETY: the caller's contract.
    int(unsafe { libc::syscall(libc::SYS_bind, fd, addr, len) })
}

/// `connect(2)`.
///
/// # Safety
/// As [`bind`].
pub unsafe fn connect(fd: c_int, addr: *const libc::sockaddr, len: libc::socklen_t) -> c_int {
    // SAFETY: the caller's contract.
    int(unsafe { libc::syscall(libc::SYS_connect, fd, addr, len) })
}

/// `shutdown(2)`.
///
/// # Safety
/// None beyond libc's: `fd` is the caller's.
pub unsafe fn shutdown(fd: c_int, how: c_int) -> c_int {
    // SAFETY: no memory is passed.
    int(unsafe { libc::syscall(libc::SYS_shutdown, fd, how) })
}

/// `getsockname(2)`.
///
/// # Safety
/// `len` must be valid, `addr` valid for writes of `*len` bytes.
pub unsafe fn getsockname(
    fd: c_int,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
) -> c_int {
    // SAFETY: the caller's contract.
    int(unsafe { libc::syscall(libc::SYS_getsockname, fd, addr, len) })
}

/// `getsockopt(2)`.
///
/// # Safety
/// `len` must be valid, `value` valid for writes of `*len` bytes.
pub unsafe fn getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *mut c_void,
    len: *mut libc::socklen_t,
) -> c_int {
    // SAFETY: the caller's contract.
    int(unsafe { libc::syscall(libc::SYS_getsockopt, fd, level, name, value, len) })
}

/// `mq_getattr(3)`, as `mq_getsetattr` without a new setting.
///
/// # Safety
/// `attr` must be valid for a write.
pub unsafe fn mq_getattr(fd: libc::mqd_t, attr: *mut libc::mq_attr) -> c_int {
    let none: *const libc::mq_attr = core::ptr::null();
    // SAFETY: the caller's contract.
    int(unsafe { libc::syscall(libc::SYS_mq_getsetattr, fd, none, attr) })
}

/// `sigpending(2)`.
///
/// # Safety
/// `set` must be valid for a write.
pub unsafe fn sigpending(set: *mut libc::sigset_t) -> c_int {
    // SAFETY: the caller's contract; the kernel writes KERNEL_SIGSET_BYTES of it.
    int(unsafe { libc::syscall(libc::SYS_rt_sigpending, set, KERNEL_SIGSET_BYTES) })
}

/// `sigtimedwait(2)`.
///
/// # Safety
/// `set` and `timeout` must be valid (`timeout` may be NULL), `info` NULL or valid for a
/// write.
pub unsafe fn sigtimedwait(
    set: *const libc::sigset_t,
    info: *mut libc::siginfo_t,
    timeout: *const libc::timespec,
) -> c_int {
    // SAFETY: the caller's contract; the libc crate's timespec is the one the target's
    // rt_sigtimedwait takes.
    int(unsafe {
        libc::syscall(
            libc::SYS_rt_sigtimedwait,
            set,
            info,
            timeout,
            KERNEL_SIGSET_BYTES,
        )
    })
}

/// What the strto* functions share: the magnitude of the number at `s` in `base`, whether
/// it had a minus sign, whether it overflowed 64 bits, and where the scan stopped (at `s`
/// itself when there was no number). C locale: the white space is isspace()'s.
///
/// # Safety
/// `s` must be NUL-terminated.
unsafe fn scan(s: *const c_char, base: c_int) -> (u64, bool, bool, *const c_char) {
    // SAFETY: every read below stops at the NUL: a NUL is neither space, sign nor digit.
    let at = |i: usize| unsafe { *s.add(i).cast::<u8>() };
    let mut i = 0;
    while matches!(at(i), b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let negative = at(i) == b'-';
    if matches!(at(i), b'-' | b'+') {
        i += 1;
    }
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(u64::from(b - b'0')),
        b'a'..=b'z' => Some(u64::from(b - b'a') + 10),
        b'A'..=b'Z' => Some(u64::from(b - b'A') + 10),
        _ => None,
    };
    let mut base = match u64::try_from(base) {
        Ok(b) if b == 0 || (2..=36).contains(&b) => b,
        _ => {
            set_errno(libc::EINVAL);
            return (0, false, false, s);
        }
    };
    // A 0x prefix counts only when a hex digit follows it; "0x" alone is the number 0.
    if (base == 0 || base == 16)
        && at(i) == b'0'
        && at(i + 1) | 0x20 == b'x'
        && digit(at(i + 2)).is_some_and(|d| d < 16)
    {
        i += 2;
        base = 16;
    } else if base == 0 {
        base = if at(i) == b'0' { 8 } else { 10 };
    }
    let (mut value, mut overflow, first) = (0u64, false, i);
    while let Some(d) = digit(at(i)).filter(|&d| d < base) {
        match value.checked_mul(base).and_then(|v| v.checked_add(d)) {
            Some(v) => value = v,
            None => overflow = true,
        }
        i += 1;
    }
    if i == first {
        return (0, false, false, s);
    }
    // SAFETY: i is within the string (see above).
    (value, negative, overflow, unsafe { s.add(i) })
}

/// Stores the end of the scan for the strto* functions.
fn set_end(end: *mut *mut c_char, at: *const c_char) {
    if !end.is_null() {
        // SAFETY: a non-NULL end is a valid out-pointer (strto*'s contract).
        unsafe { *end = at.cast_mut() };
    }
}

/// `strtoull(3)` in the C locale.
///
/// # Safety
/// `s` must be NUL-terminated, `end` NULL or valid for a write.
pub unsafe fn strtoull(s: *const c_char, end: *mut *mut c_char, base: c_int) -> u64 {
    // SAFETY: the caller's contract.
    let (v, negative, overflow, stop) = unsafe { scan(s, base) };
    set_end(end, stop);
    if overflow {
        set_errno(libc::ERANGE);
        return u64::MAX;
    }
    if negative { v.wrapping_neg() } else { v }
}

/// `strtoul(3)` in the C locale.
///
/// # Safety
/// As [`strtoull`].
pub unsafe fn strtoul(s: *const c_char, end: *mut *mut c_char, base: c_int) -> c_ulong {
    // SAFETY: the caller's contract.
    let (v, negative, overflow, stop) = unsafe { scan(s, base) };
    set_end(end, stop);
    match c_ulong::try_from(v) {
        Ok(v) if !overflow => {
            if negative {
                v.wrapping_neg()
            } else {
                v
            }
        }
        _ => {
            set_errno(libc::ERANGE);
            c_ulong::MAX
        }
    }
}

/// `strtol(3)` in the C locale.
///
/// # Safety
/// As [`strtoull`].
pub unsafe fn strtol(s: *const c_char, end: *mut *mut c_char, base: c_int) -> c_long {
    // SAFETY: the caller's contract.
    let (v, negative, overflow, stop) = unsafe { scan(s, base) };
    set_end(end, stop);
    if negative {
        // c_ulong is u64 on 64-bit targets and u32 on 32-bit ones.
        #[allow(clippy::useless_conversion)]
        let min = u64::from(c_long::MIN.unsigned_abs());
        if !overflow && v == min {
            return c_long::MIN;
        }
        match c_long::try_from(v) {
            Ok(v) if !overflow => -v,
            _ => {
                set_errno(libc::ERANGE);
                c_long::MIN
            }
        }
    } else {
        match c_long::try_from(v) {
            Ok(v) if !overflow => v,
            _ => {
                set_errno(libc::ERANGE);
                c_long::MAX
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::CStr;

    /// The same input through ours and libc's: value, errno and end must match.
    fn same<T: PartialEq + core::fmt::Debug>(
        s: &CStr,
        base: c_int,
        ours: unsafe fn(*const c_char, *mut *mut c_char, c_int) -> T,
        theirs: unsafe extern "C" fn(*const c_char, *mut *mut c_char, c_int) -> T,
    ) {
        let run = |f: &dyn Fn(*const c_char, *mut *mut c_char) -> T| {
            let mut end = core::ptr::null_mut();
            set_errno(0);
            let v = f(s.as_ptr(), &mut end);
            // SAFETY: reading this thread's errno.
            let e = unsafe { *libc::__errno_location() };
            // SAFETY: end points into s.
            (v, e, unsafe { end.offset_from(s.as_ptr()) })
        };
        // SAFETY: s is NUL-terminated, end a valid out-pointer.
        let a = run(&|p, e| unsafe { ours(p, e, base) });
        // SAFETY: as above.
        let mut b = run(&|p, e| unsafe { theirs(p, e, base) });
        // musl sets EINVAL when there is no number at all, glibc (and we) leave errno
        // alone; the end pointer at the start says the same either way.
        if b.2 == 0 && b.1 == libc::EINVAL {
            b.1 = 0;
        }
        assert_eq!(a, b, "{s:?} in base {base}");
    }

    #[test]
    fn strto_matches_libc() {
        let cases: &[&CStr] = &[
            c"0",
            c"1",
            c"-1",
            c"+1",
            c"-0",
            c"  42",
            c"\t\n\x0b\x0c\r 7",
            c"",
            c" ",
            c"-",
            c"+",
            c"x",
            c"0x",
            c"0x1f",
            c"0X1F",
            c"0xg",
            c"017",
            c"08",
            c"09",
            c"0b101",
            c"101",
            c"12abc",
            c"2147483647",
            c"2147483648",
            c"-2147483648",
            c"-2147483649",
            c"4294967295",
            c"4294967296",
            c"-4294967295",
            c"-4294967296",
            c"9223372036854775807",
            c"9223372036854775808",
            c"-9223372036854775808",
            c"-9223372036854775809",
            c"18446744073709551615",
            c"18446744073709551616",
            c"-18446744073709551615",
            c"-18446744073709551616",
            c"99999999999999999999999999",
            c"0xffffffffffffffff",
            c"0x10000000000000000",
            c"0777777777777777777777",
            c"02000000000000000000000",
            c"- 1",
            c"--1",
            c"0o7",
        ];
        for s in cases {
            for base in [0, 2, 8, 10, 16] {
                same(s, base, strtoull, libc::strtoull);
                same(s, base, strtoul, libc::strtoul);
                same(s, base, strtol, libc::strtol);
            }
        }
    }

    #[test]
    fn sigsets_match_libc() {
        // SAFETY: sigset_t is plain data.
        let (mut ours, mut theirs): (libc::sigset_t, libc::sigset_t) =
            unsafe { (core::mem::zeroed(), core::mem::zeroed()) };
        // SAFETY: valid sets.
        unsafe { libc::sigfillset(&mut ours) };
        assert_eq!(sigemptyset(&mut ours), 0);
        // SAFETY: valid set.
        unsafe { libc::sigemptyset(&mut theirs) };
        for sig in [1, libc::SIGPIPE, libc::SIGSTOP, 31, 32, 33, 64] {
            assert_eq!(sigaddset(&mut ours, sig), 0);
            // SAFETY: valid set. (glibc refuses its two internal signals, 32 and 33.)
            if unsafe { libc::sigaddset(&mut theirs, sig) } != 0 {
                // SAFETY: as above; set the bit the way we do, for the comparison below.
                unsafe { *(&mut theirs as *mut libc::sigset_t).cast::<u64>() |= 1 << (sig - 1) };
            }
        }
        for sig in 1..=64 {
            // SAFETY: valid set.
            let theirs = unsafe { libc::sigismember(&theirs, sig) };
            assert_eq!(sigismember(&ours, sig), theirs, "{sig}");
        }
        assert_eq!(sigaddset(&mut ours, 0), -1);
        assert_eq!(sigaddset(&mut ours, 65), -1);
        assert_eq!(sigismember(&ours, 0), -1);
    }

    #[test]
    fn sigmask_blocks_and_restores() {
        // SAFETY: sigset_t is plain data.
        let (mut pipe, mut old, mut now): (libc::sigset_t, libc::sigset_t, libc::sigset_t) = unsafe {
            (
                core::mem::zeroed(),
                core::mem::zeroed(),
                core::mem::zeroed(),
            )
        };
        sigemptyset(&mut pipe);
        sigaddset(&mut pipe, libc::SIGPIPE);
        // SAFETY: valid sets.
        let blocked = unsafe { pthread_sigmask(libc::SIG_BLOCK, &pipe, &mut old) };
        assert_eq!(blocked, 0);
        // SAFETY: valid sets.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, core::ptr::null(), &mut now) };
        // SAFETY: valid set.
        assert_eq!(unsafe { libc::sigismember(&now, libc::SIGPIPE) }, 1);
        // SAFETY: valid sets.
        unsafe {
            assert_eq!(
                pthread_sigmask(libc::SIG_SETMASK, &old, core::ptr::null_mut()),
                0
            );
            assert_eq!(
                pthread_sigmask(12345, &pipe, core::ptr::null_mut()),
                libc::EINVAL
            );
        }
    }

    #[test]
    fn calloc_zeroes_and_refuses_overflow() {
        let p = calloc(3, 8).cast::<u8>();
        assert!(!p.is_null());
        // SAFETY: 24 bytes were allocated.
        let bytes = unsafe { core::slice::from_raw_parts(p, 24) };
        assert!(bytes.iter().all(|&b| b == 0));
        // SAFETY: allocated by malloc.
        unsafe { libc::free(p.cast()) };
        assert!(calloc(usize::MAX, 2).is_null());
    }

    #[test]
    fn clock_matches_libc() {
        // SAFETY: timespec is plain data, written by both calls.
        let (mut a, mut b): (libc::timespec, libc::timespec) =
            unsafe { (core::mem::zeroed(), core::mem::zeroed()) };
        // SAFETY: valid out-pointers.
        unsafe {
            assert_eq!(libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut a), 0);
            assert_eq!(clock_gettime(libc::CLOCK_MONOTONIC, &mut b), 0);
        }
        assert!((b.tv_sec, b.tv_nsec) >= (a.tv_sec, a.tv_nsec));
        // SAFETY: as above; an invalid clock fails.
        assert_eq!(unsafe { clock_gettime(-100, &mut b) }, -1);
    }

    #[test]
    fn mkostemp_creates_a_new_file() {
        let mut t = *b"/tmp/readyd-sys-test.XXXXXX\0";
        let p = t.as_mut_ptr().cast::<c_char>();
        // SAFETY: a writable, NUL-terminated template.
        let fd = unsafe { mkostemp(p, libc::O_CLOEXEC) };
        assert!(fd >= 0);
        assert!(!t.ends_with(b"XXXXXX\0"));
        // SAFETY: a valid fd, and the file we made.
        unsafe {
            assert_eq!(
                libc::fcntl(fd, libc::F_GETFD) & libc::FD_CLOEXEC,
                libc::FD_CLOEXEC
            );
            libc::close(fd);
            libc::unlink(p);
        }
        let mut bad = *b"/tmp/readyd-sys-test.XXXXX\0";
        // SAFETY: as above.
        assert_eq!(unsafe { mkostemp(bad.as_mut_ptr().cast(), 0) }, -1);
    }

    #[test]
    fn ids_match_libc() {
        // SAFETY: no preconditions.
        unsafe {
            assert_eq!(getpid(), libc::getpid());
            assert_eq!(getuid(), libc::getuid());
            assert_eq!(getgid(), libc::getgid());
        }
    }

    #[test]
    fn files_round_trip() {
        let a = c"/tmp/readyd-sys-files.a";
        let b = c"/tmp/readyd-sys-files.b";
        // SAFETY: NUL-terminated paths, valid buffers and fds throughout.
        unsafe {
            unlink(a.as_ptr());
            let fd = open(
                a.as_ptr(),
                libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
                0o600,
            );
            assert!(fd >= 0);
            assert_eq!(libc::write(fd, b"xyz".as_ptr().cast(), 3), 3);
            assert_eq!(flock(fd, libc::LOCK_EX), 0);
            assert_eq!(fchmod(fd, 0o644), 0);
            assert_eq!(rename(a.as_ptr(), b.as_ptr()), 0);
            assert_eq!(faccessat(libc::AT_FDCWD, a.as_ptr(), libc::F_OK, 0), -1);
            assert_eq!(*libc::__errno_location(), libc::ENOENT);
            assert_eq!(faccessat(libc::AT_FDCWD, b.as_ptr(), libc::F_OK, 0), 0);
            let copy = libc::dup(fd);
            assert_eq!(dup2(fd, copy), copy);
            libc::lseek(fd, 0, libc::SEEK_SET);
            let mut buf = [0u8; 8];
            assert_eq!(read(fd, buf.as_mut_ptr().cast(), buf.len()), 3);
            assert_eq!(&buf[..3], b"xyz");
            libc::close(copy);
            libc::close(fd);
            assert_eq!(unlink(b.as_ptr()), 0);
            assert_eq!(unlink(b.as_ptr()), -1);
            assert_eq!(*libc::__errno_location(), libc::ENOENT);
            assert_eq!(open(a.as_ptr(), libc::O_RDONLY, 0), -1);
        }
    }

    #[test]
    fn sockets_and_children() {
        let mut sv = [0; 2];
        // SAFETY: valid buffers and fds; the child only exits.
        unsafe {
            assert_eq!(
                libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, sv.as_mut_ptr()),
                0
            );
            let mut sa: libc::sockaddr_un = core::mem::zeroed();
            let mut len = libc::socklen_t::try_from(size_of::<libc::sockaddr_un>()).unwrap();
            assert_eq!(getsockname(sv[0], (&raw mut sa).cast(), &mut len), 0);
            assert_eq!(c_int::from(sa.sun_family), libc::AF_UNIX);
            let (mut ty, mut tlen) = (0i32, libc::socklen_t::try_from(size_of::<c_int>()).unwrap());
            assert_eq!(
                getsockopt(
                    sv[0],
                    libc::SOL_SOCKET,
                    libc::SO_TYPE,
                    (&raw mut ty).cast(),
                    &mut tlen
                ),
                0
            );
            assert_eq!(ty, libc::SOCK_STREAM);
            assert_eq!(shutdown(sv[1], libc::SHUT_WR), 0);
            let mut byte = 0u8;
            assert_eq!(recv(sv[0], (&raw mut byte).cast(), 1, 0), 0);
            libc::close(sv[0]);
            libc::close(sv[1]);
            let child = libc::fork();
            if child == 0 {
                _exit(7);
            }
            let mut status = 0;
            assert_eq!(waitpid(child, &mut status, 0), child);
            assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 7);
        }
    }

    #[test]
    fn pending_signal_is_consumed() {
        // SAFETY: sigset_t is plain data; valid sets and timeout below.
        unsafe {
            let (mut usr1, mut old, mut pending): (libc::sigset_t, libc::sigset_t, libc::sigset_t) = (
                core::mem::zeroed(),
                core::mem::zeroed(),
                core::mem::zeroed(),
            );
            sigemptyset(&mut usr1);
            sigaddset(&mut usr1, libc::SIGUSR2);
            assert_eq!(pthread_sigmask(libc::SIG_BLOCK, &usr1, &mut old), 0);
            assert_eq!(raise(libc::SIGUSR2), 0);
            assert_eq!(sigpending(&mut pending), 0);
            assert_eq!(sigismember(&pending, libc::SIGUSR2), 1);
            let zero = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            assert_eq!(
                sigtimedwait(&usr1, core::ptr::null_mut(), &zero),
                libc::SIGUSR2
            );
            assert_eq!(sigtimedwait(&usr1, core::ptr::null_mut(), &zero), -1);
            assert_eq!(*libc::__errno_location(), libc::EAGAIN);
            pthread_sigmask(libc::SIG_SETMASK, &old, core::ptr::null_mut());
        }
    }

    #[test]
    fn stats_match_libc() {
        let fields = |st: &libc::stat| {
            (
                st.st_dev,
                st.st_ino,
                st.st_mode,
                st.st_nlink,
                st.st_uid,
                st.st_gid,
                st.st_rdev,
                st.st_size,
            )
        };
        for path in [c"/dev/null", c"/proc/self", c"/tmp", c"/proc/self/exe"] {
            // SAFETY: stat is plain data; valid paths, fds and out-pointers.
            unsafe {
                let (mut ours, mut theirs): (libc::stat, libc::stat) =
                    (core::mem::zeroed(), core::mem::zeroed());
                assert_eq!(stat(path.as_ptr(), &mut ours), 0);
                assert_eq!(libc::stat(path.as_ptr(), &mut theirs), 0);
                assert_eq!(fields(&ours), fields(&theirs), "stat {path:?}");
                assert_eq!(lstat(path.as_ptr(), &mut ours), 0);
                assert_eq!(libc::lstat(path.as_ptr(), &mut theirs), 0);
                assert_eq!(fields(&ours), fields(&theirs), "lstat {path:?}");
                let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
                assert!(fd >= 0);
                assert_eq!(fstat(fd, &mut ours), 0);
                assert_eq!(libc::fstat(fd, &mut theirs), 0);
                assert_eq!(fields(&ours), fields(&theirs), "fstat {path:?}");
                let (mut a, mut b): (libc::statfs, libc::statfs) =
                    (core::mem::zeroed(), core::mem::zeroed());
                assert_eq!(fstatfs(fd, &mut a), 0);
                assert_eq!(libc::fstatfs(fd, &mut b), 0);
                assert_eq!(
                    (a.f_type, a.f_bsize, a.f_blocks),
                    (b.f_type, b.f_bsize, b.f_blocks)
                );
                libc::close(fd);
                assert_eq!(fstat(-1, &mut ours), -1);
                assert_eq!(*libc::__errno_location(), libc::EBADF);
            }
        }
        // SAFETY: as above.
        unsafe {
            let mut st: libc::stat = core::mem::zeroed();
            assert_eq!(stat(c"/nonexistent/readyd".as_ptr(), &mut st), -1);
            assert_eq!(*libc::__errno_location(), libc::ENOENT);
        }
    }

    #[test]
    fn bytes_eq_compares() {
        assert!(bytes_eq(b"", b""));
        assert!(bytes_eq(b"vsock:", b"vsock:"));
        assert!(!bytes_eq(b"vsock:", b"vsock-"));
        assert!(!bytes_eq(b"vsock", b"vsock:"));
    }
}
