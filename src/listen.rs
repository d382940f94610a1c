//! Socket activation: `LISTEN_PID`, `LISTEN_PIDFDID`, `LISTEN_FDS`, `LISTEN_FDNAMES`
//! (reference §3). The functions here read the environment only; the caller (ffi.rs)
//! removes the variables when asked, after everything is done.

use core::ffi::{CStr, c_char, c_int};
use core::ptr;

use crate::env;
use crate::errno::{self, Errno, Result};
use crate::pidfd;
use crate::sys;

/// The first fd passed by the service manager.
pub const LISTEN_FDS_START: c_int = 3;

/// The variables `sd_listen_fds(1)` removes.
pub const VARIABLES: env::Names =
    env::Names::new(b"LISTEN_PID\0LISTEN_PIDFDID\0LISTEN_FDS\0LISTEN_FDNAMES\0");

/// How many fds the manager passed to this process (0 when none, or not for us), each
/// marked close-on-exec on the way.
pub fn listen_fds() -> Result<c_int> {
    let Some(value) = env::get(c"LISTEN_PID") else {
        return Ok(0);
    };
    if env::parse_pid(value)? != sys::getpid() {
        return Ok(0);
    }
    if let Some(value) = env::get(c"LISTEN_PIDFDID") {
        let wanted = env::parse_u64(value)?;
        // Where the kernel cannot name our pidfd, there is nothing to compare with.
        if pidfd::own_inode_id().is_ok_and(|own| own != wanted) {
            return Ok(0);
        }
    }
    let Some(value) = env::get(c"LISTEN_FDS") else {
        return Ok(0);
    };
    let n = env::parse_int(value)?;
    if n <= 0 || n > c_int::MAX - LISTEN_FDS_START {
        return Err(Errno(libc::EINVAL));
    }
    for fd in LISTEN_FDS_START..LISTEN_FDS_START + n {
        set_cloexec(fd)?;
    }
    Ok(n)
}

fn set_cloexec(fd: c_int) -> Result<()> {
    // SAFETY: fcntl on any integer is safe; a closed fd gives EBADF.
    let flags = errno::check(unsafe { sys::fcntl(fd, libc::F_GETFD, 0) })?;
    if flags & libc::FD_CLOEXEC == 0 {
        // SAFETY: as above.
        errno::check(unsafe { sys::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) })?;
    }
    Ok(())
}

/// Walks `LISTEN_FDNAMES`: names are separated by `:`, empty names count, and a
/// backslash makes the next byte literal. Calls `each` with every name's raw bytes
/// (escapes still in) and returns how many there were. A lone trailing backslash is
/// `EINVAL`.
fn split_names(value: &[u8], mut each: impl FnMut(&[u8]) -> Result<()>) -> Result<usize> {
    let (mut count, mut start, mut i) = (0, 0, 0);
    while i < value.len() {
        match value[i] {
            b'\\' if i + 1 == value.len() => return Err(Errno(libc::EINVAL)),
            b'\\' => i += 2,
            b':' => {
                each(&value[start..i])?;
                count += 1;
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    each(&value[start..])?;
    Ok(count + 1)
}

/// A raw name with its escapes removed, as a malloc'ed C string (the caller frees it).
fn malloc_name(raw: &[u8]) -> Result<*mut c_char> {
    // SAFETY: malloc of a non-zero size; NULL is handled.
    let p = unsafe { libc::malloc(raw.len() + 1) }.cast::<u8>();
    if p.is_null() {
        return Err(Errno(libc::ENOMEM));
    }
    let (mut i, mut n) = (0, 0);
    while i < raw.len() {
        if raw[i] == b'\\' {
            i += 1; // split_names guarantees a byte follows
        }
        // SAFETY: n <= i < raw.len(), inside the raw.len() + 1 bytes allocated.
        unsafe { *p.add(n) = raw[i] };
        n += 1;
        i += 1;
    }
    // SAFETY: n <= raw.len().
    unsafe { *p.add(n) = 0 };
    Ok(p.cast())
}

/// Frees a NULL-terminated array of malloc'ed strings and the array itself.
///
/// # Safety
/// `names` came from [`names_array`] or is a prefix-filled array of it.
unsafe fn free_names(names: *mut *mut c_char) {
    let mut p = names;
    // SAFETY: the array is NULL-terminated (zeroed at allocation).
    unsafe {
        while !(*p).is_null() {
            libc::free((*p).cast());
            p = p.add(1);
        }
        libc::free(names.cast());
    }
}

/// `n` names as a NULL-terminated, malloc'ed array, taken from `LISTEN_FDNAMES` when it
/// is set (it must then hold exactly `n`), or `"unknown"` for each fd.
fn names_array(n: usize, fdnames: Option<&[u8]>) -> Result<*mut *mut c_char> {
    // calloc with an overflow-checked count; NULL handled.
    let array = sys::calloc(n + 1, size_of::<*mut c_char>()).cast::<*mut c_char>();
    if array.is_null() {
        return Err(Errno(libc::ENOMEM));
    }
    let mut i = 0;
    let filled = match fdnames {
        Some(value) => split_names(value, |raw| {
            // SAFETY: i < n: the count was checked before.
            unsafe { *array.add(i) = malloc_name(raw)? };
            i += 1;
            Ok(())
        })
        .map(|_| ()),
        None => (0..n).try_for_each(|j| {
            // SAFETY: j < n.
            unsafe { *array.add(j) = malloc_name(b"unknown")? };
            Ok(())
        }),
    };
    if let Err(e) = filled {
        // SAFETY: the array is NULL-terminated past the names filled so far.
        unsafe { free_names(array) };
        return Err(e);
    }
    Ok(array)
}

/// `sd_listen_fds_with_names()`: as [`listen_fds`], and on success stores the names.
///
/// # Safety
/// `names` is NULL or valid for one write.
pub unsafe fn listen_fds_with_names(names: *mut *mut *mut c_char) -> Result<c_int> {
    if names.is_null() {
        return listen_fds();
    }
    let (n, fdnames) = listen_fds_and_names()?;
    if n <= 0 {
        return Ok(n);
    }
    let array = names_array(n as usize, fdnames)?;
    // SAFETY: names is valid for one write (caller's contract).
    unsafe { ptr::write(names, array) };
    Ok(n)
}

/// [`listen_fds`] and the raw `LISTEN_FDNAMES` (unset: None), whose names must number as
/// many as the fds when there are any. The names are checked before any fd is touched: a
/// malformed list leaves the fds as they are.
fn listen_fds_and_names() -> Result<(c_int, Option<&'static [u8]>)> {
    let fdnames = env::get(c"LISTEN_FDNAMES").map(CStr::to_bytes);
    let count = match fdnames {
        Some(value) => Some(split_names(value, |_| Ok(()))?),
        None => None,
    };
    let n = listen_fds()?;
    if n > 0 && count.is_some_and(|c| c != n as usize) {
        return Err(Errno(libc::EINVAL));
    }
    Ok((n, fdnames))
}

/// `sd_listen_fds_with_names()` without malloc, for the Rust API: the same checks in the
/// same order, then `each` gets every fd's name in fd order, escapes still in (see
/// [`unescape`]), or `unknown` for each when `LISTEN_FDNAMES` is unset. Returns as
/// [`listen_fds`]; `each` is called only when the count is positive.
pub fn listen_fds_named(mut each: impl FnMut(&[u8])) -> Result<c_int> {
    let (n, fdnames) = listen_fds_and_names()?;
    if n <= 0 {
        return Ok(n);
    }
    match fdnames {
        Some(value) => {
            split_names(value, |raw| {
                each(raw);
                Ok(())
            })?;
        }
        None => (0..n).for_each(|_| each(b"unknown")),
    }
    Ok(n)
}

/// Calls `byte` with each byte of a raw name from `LISTEN_FDNAMES`, escapes removed: a
/// backslash makes the byte after it literal (a lone trailing one is dropped).
pub fn unescape(raw: &[u8], mut byte: impl FnMut(u8)) {
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' {
            i += 1;
        }
        if let Some(&b) = raw.get(i) {
            byte(b);
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        split_names(s.as_bytes(), |raw| {
            let p = malloc_name(raw)?;
            // SAFETY: p is a fresh NUL-terminated allocation.
            out.push(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned());
            // SAFETY: allocated by malloc above.
            unsafe { libc::free(p.cast()) };
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn names_split_like_the_reference() {
        let cases: [(&str, &[&str]); 9] = [
            ("a:b", &["a", "b"]),
            ("a", &["a"]),
            ("", &[""]),
            ("a::b", &["a", "", "b"]),
            ("a:", &["a", ""]),
            (":", &["", ""]),
            ("a\\:b", &["a:b"]),
            ("a\\\\b", &["a\\b"]),
            ("\"x y\"", &["\"x y\""]),
        ];
        for (input, want) in cases {
            assert_eq!(split(input).unwrap(), want, "{input:?}");
        }
        assert_eq!(split("a\\"), Err(Errno(libc::EINVAL)));
        assert_eq!(split("a:b\\"), Err(Errno(libc::EINVAL)));
    }
}
