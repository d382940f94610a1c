//! The environment, and the integer rules systemd applies to its variables.
//!
//! Integers are parsed the way libsystemd does (reference §2.1): leading spaces, tabs and
//! newlines are skipped, a `0b`/`0o` prefix selects base 2/8, otherwise C's base-0 rules
//! apply (`0x` hex, leading `0` octal, optional sign), and nothing may trail the number.
//! The digits themselves go through libc's `strtol` family so that every corner (a sign
//! after a `0b`, `-0`, other white space) comes out exactly as in libsystemd.

use core::ffi::{CStr, c_char, c_int};

use crate::errno::{self, Errno, Result};
use crate::sys;

/// `NOTIFY_SOCKET`: where sd_notify sends.
pub const NOTIFY_SOCKET: &CStr = c"NOTIFY_SOCKET";
/// `UPSTART_JOB`: set by Upstart for the jobs it starts.
pub const UPSTART_JOB: &CStr = c"UPSTART_JOB";
/// `UPSTART_INSTANCE`: set by Upstart for instance jobs.
pub const UPSTART_INSTANCE: &CStr = c"UPSTART_INSTANCE";

/// Names of variables, each NUL-terminated, one after the other. A list with no pointers
/// in it: a `[&CStr; N]` table is N pointers the loader relocates when a program starts.
#[derive(Clone, Copy)]
pub struct Names(&'static [u8]);

impl Names {
    /// `list` is the names, each ending in a NUL.
    pub const fn new(list: &'static [u8]) -> Self {
        assert!(matches!(list.last(), Some(0)));
        Names(list)
    }

    /// Each name, in order.
    pub fn iter(self) -> impl Iterator<Item = &'static CStr> {
        self.0
            .split_inclusive(|&b| b == 0)
            .filter_map(|n| CStr::from_bytes_with_nul(n).ok())
    }
}

/// Reads a variable. The returned bytes live in the environment block: they stay valid
/// until the variable is changed or removed, so callers copy what they need before any
/// `unset`.
pub fn get(name: &CStr) -> Option<&'static CStr> {
    // SAFETY: name is NUL-terminated; getenv returns NULL or a NUL-terminated string.
    let p = unsafe { libc::getenv(name.as_ptr()) };
    if p.is_null() {
        None
    } else {
        // SAFETY: p is non-NULL and NUL-terminated (see above).
        Some(unsafe { CStr::from_ptr(p) })
    }
}

/// Removes a variable. Like libsystemd, this uses `unsetenv()`, which is not thread-safe
/// against a concurrent `getenv()`/`setenv()` in another thread.
pub fn unset(name: &CStr) {
    // SAFETY: name is NUL-terminated. unsetenv fails only for an invalid name, and ours
    // are constants.
    unsafe { libc::unsetenv(name.as_ptr()) };
}

/// Removes each variable in `names` when `unset_environment` is non-zero (the C flag).
pub fn unset_if(unset_environment: c_int, names: Names) {
    if unset_environment != 0 {
        for n in names.iter() {
            unset(n);
        }
    }
}

/// Skips the white space libsystemd skips itself before handing a number to strtol.
fn skip_space(s: &[u8]) -> usize {
    s.iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .count()
}

/// The `0b`/`0o` prefixes libsystemd adds to C's base 0: returns (offset after it, base).
fn python_base(s: &[u8]) -> (usize, c_int) {
    match s {
        [b'0', b'b' | b'B', ..] => (2, 2),
        [b'0', b'o' | b'O', ..] => (2, 8),
        _ => (0, 0),
    }
}

/// Runs one of libc's strto* functions on the first `len` bytes of `s`, with the checks
/// libsystemd applies: errno from the conversion, nothing parsed, or anything between the
/// number and byte `len`. (`len` is the whole string, or the part before a separator: the
/// scan cannot pass a separator, which is neither a digit, a sign nor white space.)
fn strto<T>(
    s: &CStr,
    len: usize,
    conv: impl FnOnce(*const c_char, *mut *mut c_char, c_int) -> T,
) -> Result<(T, bool)> {
    let bytes = &s.to_bytes()[..len];
    let ws = skip_space(bytes);
    let (prefix, base) = python_base(&bytes[ws..]);
    let begin = ws + prefix;
    let negative = bytes.get(begin) == Some(&b'-');
    // SAFETY: begin <= len <= the string's length, so both stay inside it.
    let (start, stop) = unsafe { (s.as_ptr().add(begin), s.as_ptr().add(len)) };
    let mut end: *mut c_char = core::ptr::null_mut();
    errno::clear();
    let value = conv(start, &mut end, base);
    // SAFETY: reading this thread's errno.
    let e = unsafe { *libc::__errno_location() };
    if e > 0 {
        return Err(Errno(e));
    }
    if core::ptr::eq(end, start) || !core::ptr::eq(end, stop) {
        return Err(Errno(libc::EINVAL));
    }
    Ok((value, negative))
}

/// libsystemd's `safe_atoi`: a C int (used for `LISTEN_FDS`).
pub fn parse_int(s: &CStr) -> Result<c_int> {
    let (v, _) = strto(s, s.count_bytes(), |p, e, b| {
        // SAFETY: p is NUL-terminated and e a valid out-pointer (see strto).
        unsafe { sys::strtol(p, e, b) }
    })?;
    c_int::try_from(v).map_err(|_| Errno(libc::ERANGE))
}

/// libsystemd's `safe_atou64`: an unsigned 64-bit value; a non-zero value written with a
/// minus sign is out of range (strtoull would wrap it).
pub fn parse_u64(s: &CStr) -> Result<u64> {
    let (v, negative) = strto(s, s.count_bytes(), |p, e, b| {
        // SAFETY: p is NUL-terminated and e a valid out-pointer (see strto).
        unsafe { sys::strtoull(p, e, b) }
    })?;
    if v != 0 && negative {
        return Err(Errno(libc::ERANGE));
    }
    Ok(v)
}

/// libsystemd's `safe_atou`: as [`parse_u64`], then it must fit 32 bits.
pub fn parse_u32(s: &CStr) -> Result<u32> {
    parse_u32_before(s, s.count_bytes())
}

/// [`parse_u32`] of the first `len` bytes of `s`, which must end at a separator that is
/// not part of a number (a vsock CID before its `:`).
#[allow(
    clippy::useless_conversion,
    clippy::unnecessary_fallible_conversions,
    reason = "strtoul returns a 32-bit unsigned long on 32-bit targets"
)]
pub fn parse_u32_before(s: &CStr, len: usize) -> Result<u32> {
    let (v, negative) = strto(s, len, |p, e, b| {
        // SAFETY: p is NUL-terminated and e a valid out-pointer (see strto).
        unsafe { sys::strtoul(p, e, b) }
    })?;
    if v != 0 && negative {
        return Err(Errno(libc::ERANGE));
    }
    u32::try_from(v).map_err(|_| Errno(libc::ERANGE))
}

/// libsystemd's `parse_pid`: an unsigned value that must be a valid, positive pid_t.
pub fn parse_pid(s: &CStr) -> Result<libc::pid_t> {
    let v = parse_u64(s)?;
    match libc::pid_t::try_from(v) {
        Ok(pid) if pid > 0 => Ok(pid),
        _ => Err(Errno(libc::ERANGE)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libc::{EINVAL, ERANGE};

    fn c(s: &str) -> std::ffi::CString {
        std::ffi::CString::new(s).unwrap()
    }

    #[test]
    fn int_rules_from_the_reference() {
        let ok = [
            ("2", 2),
            (" 2", 2),
            ("+2", 2),
            ("0x2", 2),
            ("0b10", 2),
            ("02", 2),
            ("010", 8),
        ];
        for (s, v) in ok {
            assert_eq!(parse_int(&c(s)), Ok(v), "{s:?}");
        }
        assert_eq!(parse_int(&c("-1")), Ok(-1));
        for s in ["2 ", "", "abc", "0x", "1.5"] {
            assert_eq!(parse_int(&c(s)), Err(Errno(EINVAL)), "{s:?}");
        }
        for s in ["99999999999", "99999999999999999999", "2147483648"] {
            assert_eq!(parse_int(&c(s)), Err(Errno(ERANGE)), "{s:?}");
        }
        assert_eq!(parse_int(&c("2147483647")), Ok(i32::MAX));
    }

    #[test]
    fn u64_rules_from_the_reference() {
        let ok = [
            ("1000000", 1_000_000u64),
            (" 5", 5),
            ("0x10", 16),
            ("010", 8),
            ("-0", 0),
            ("0o17", 15),
            ("0B11", 3),
            ("18446744073709551615", u64::MAX),
        ];
        for (s, v) in ok {
            assert_eq!(parse_u64(&c(s)), Ok(v), "{s:?}");
        }
        for s in ["-1", "18446744073709551616", "0b-1"] {
            assert_eq!(parse_u64(&c(s)), Err(Errno(ERANGE)), "{s:?}");
        }
        for s in ["", "abc", "1.5", "5s", "5 "] {
            assert_eq!(parse_u64(&c(s)), Err(Errno(EINVAL)), "{s:?}");
        }
    }

    #[test]
    fn u32_before_a_separator() {
        let t = c("  42:5");
        assert_eq!(parse_u32_before(&t, 4), Ok(42));
        assert_eq!(parse_u32_before(&c("42 :5"), 3), Err(Errno(EINVAL)));
        assert_eq!(parse_u32_before(&c("0x:5"), 2), Err(Errno(EINVAL)));
        assert_eq!(parse_u32_before(&c("  :5"), 2), Err(Errno(EINVAL)));
        let long = format!("{}2:5", "0".repeat(100));
        assert_eq!(parse_u32_before(&c(&long), 101), Ok(2));
        let over = format!("{}x:5", "9".repeat(100));
        assert_eq!(parse_u32_before(&c(&over), 101), Err(Errno(ERANGE)));
    }

    #[test]
    fn u32_rules() {
        assert_eq!(parse_u32(&c("4294967295")), Ok(u32::MAX));
        assert_eq!(parse_u32(&c("4294967296")), Err(Errno(ERANGE)));
        assert_eq!(parse_u32(&c("-1")), Err(Errno(ERANGE)));
        assert_eq!(parse_u32(&c("abc")), Err(Errno(EINVAL)));
    }

    #[test]
    fn pid_rules_from_the_reference() {
        assert_eq!(parse_pid(&c("1")), Ok(1));
        assert_eq!(parse_pid(&c(" 42")), Ok(42));
        assert_eq!(parse_pid(&c("0x2a")), Ok(42));
        for s in [
            "0",
            "-1",
            "2147483648",
            "4294967296",
            "99999999999999999999",
        ] {
            assert_eq!(parse_pid(&c(s)), Err(Errno(ERANGE)), "{s:?}");
        }
        for s in ["abc", "", "42 "] {
            assert_eq!(parse_pid(&c(s)), Err(Errno(EINVAL)), "{s:?}");
        }
    }
}
