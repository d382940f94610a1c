//! Errors as errno values, and helpers for libc calls that report failure with -1.

use core::ffi::c_int;

/// A positive errno value (`EINVAL`, not `-EINVAL`). The C boundary negates it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub c_int);

/// Result of an internal operation.
pub type Result<T> = core::result::Result<T, Errno>;

impl Errno {
    /// The calling thread's current `errno`.
    pub fn last() -> Errno {
        // SAFETY: __errno_location() always returns a valid pointer to this thread's errno.
        let e = unsafe { *libc::__errno_location() };
        // A libc call that failed without setting errno would be a libc bug; never report
        // success (0) for a failure.
        Errno(if e > 0 { e } else { libc::EIO })
    }

    /// The value returned to C: the negated errno.
    pub fn to_c(self) -> c_int {
        -self.0
    }
}

/// Maps a libc return value that signals failure with -1 (and sets errno) to a Result.
pub fn check(ret: c_int) -> Result<c_int> {
    if ret < 0 { Err(Errno::last()) } else { Ok(ret) }
}

/// Like [`check`], for calls returning `ssize_t`.
pub fn check_size(ret: isize) -> Result<usize> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret as usize)
    }
}

/// Sets the calling thread's errno to zero (before strtol and friends).
pub fn clear() {
    // SAFETY: as in Errno::last.
    unsafe { *libc::__errno_location() = 0 };
}

/// Converts a Result holding a non-negative count into libsystemd's return convention.
pub fn to_c(r: Result<c_int>) -> c_int {
    match r {
        Ok(n) => n,
        Err(e) => e.to_c(),
    }
}
