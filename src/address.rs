//! `$NOTIFY_SOCKET` to a socket address (reference §4.3, "newest" behaviour).
//!
//! Accepted forms: `/absolute/path`, `@abstract-name`, and `vsock:CID:PORT` with the typed
//! variants `vsock-dgram:`, `vsock-seqpacket:` and `vsock-stream:`. Anything else is
//! `EPROTO` (an address family we do not speak).

use core::ffi::CStr;
use core::mem::{offset_of, size_of, zeroed};

use crate::env;
use crate::errno::{Errno, Result};

/// Which socket type a vsock address asks for. `Any` (plain `vsock:`) tries datagram,
/// then seqpacket, then stream, when the kernel does not support the previous one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VsockType {
    /// `vsock:`
    Any,
    /// `vsock-dgram:`
    Dgram,
    /// `vsock-seqpacket:`
    Seqpacket,
    /// `vsock-stream:`
    Stream,
}

/// A parsed notification address, ready for `sendmsg`.
#[derive(Clone, Copy)]
pub enum Address {
    /// AF_UNIX, always used with SOCK_DGRAM. `len` is the exact address length: a path
    /// counts its NUL, an abstract name does not.
    Unix {
        /// The address.
        addr: libc::sockaddr_un,
        /// Its length for sendmsg.
        len: libc::socklen_t,
    },
    /// AF_VSOCK.
    Vsock {
        /// The address (CID and port).
        addr: libc::sockaddr_vm,
        /// The socket type asked for.
        kind: VsockType,
    },
}

impl core::fmt::Debug for Address {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Address::Unix { addr, len } => {
                let n = *len as usize - offset_of!(libc::sockaddr_un, sun_path);
                let path: &[u8] =
                    // SAFETY: c_char and u8 have the same layout; n <= sun_path.len().
                    unsafe { core::slice::from_raw_parts(addr.sun_path.as_ptr().cast(), n) };
                write!(f, "Unix({path:?})")
            }
            Address::Vsock { addr, kind } => {
                write!(
                    f,
                    "Vsock({kind:?}, cid {}, port {})",
                    addr.svm_cid, addr.svm_port
                )
            }
        }
    }
}

/// Parses a `$NOTIFY_SOCKET` value.
pub fn parse(value: &CStr) -> Result<Address> {
    let s = value.to_bytes();
    match s.first() {
        Some(b'/') | Some(b'@') => parse_unix(s),
        _ => parse_vsock(value),
    }
}

fn parse_unix(s: &[u8]) -> Result<Address> {
    // SAFETY: sockaddr_un is plain data; all-zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    if s.len() < 2 {
        return Err(Errno(libc::EINVAL));
    }
    // The path needs its NUL inside sun_path; the abstract name's '@' becomes the leading
    // NUL, so both forms are limited to sizeof(sun_path) - 1 characters.
    if s.len() >= addr.sun_path.len() {
        let e = if s[0] == b'/' {
            libc::ENAMETOOLONG
        } else {
            libc::EINVAL
        };
        return Err(Errno(e));
    }
    for (dst, src) in addr.sun_path.iter_mut().zip(s) {
        *dst = *src as libc::c_char;
    }
    let base = offset_of!(libc::sockaddr_un, sun_path);
    let len = if s[0] == b'@' {
        addr.sun_path[0] = 0;
        base + s.len()
    } else {
        base + s.len() + 1
    };
    Ok(Address::Unix {
        addr,
        len: len as libc::socklen_t,
    })
}

fn parse_vsock(value: &CStr) -> Result<Address> {
    let s = value.to_bytes();
    let prefixes: [(&[u8], VsockType); 4] = [
        (b"vsock:", VsockType::Any),
        (b"vsock-dgram:", VsockType::Dgram),
        (b"vsock-seqpacket:", VsockType::Seqpacket),
        (b"vsock-stream:", VsockType::Stream),
    ];
    let (skip, kind) = prefixes
        .iter()
        .find(|(p, _)| s.get(..p.len()).is_some_and(|h| crate::sys::bytes_eq(h, p)))
        .map(|(p, k)| (p.len(), *k))
        .ok_or(Errno(libc::EPROTO))?;
    let rest = &s[skip..];
    let colon = rest
        .iter()
        .position(|&b| b == b':')
        .ok_or(Errno(libc::EINVAL))?;
    // The port is everything after the first colon, so "2:5:6" fails on "5:6". The port
    // is checked before the CID, which decides the error when both are wrong.
    // SAFETY: the port text is the tail of a NUL-terminated string.
    let port_text = unsafe { CStr::from_ptr(value.as_ptr().add(skip + colon + 1)) };
    let port = env::parse_u32(port_text)?;
    if port == libc::VMADDR_PORT_ANY {
        return Err(Errno(libc::EINVAL));
    }
    let cid = match &rest[..colon] {
        b"" => libc::VMADDR_CID_ANY,
        b"hypervisor" => libc::VMADDR_CID_HYPERVISOR,
        b"local" => libc::VMADDR_CID_LOCAL,
        b"host" => libc::VMADDR_CID_HOST,
        // Names of VMADDR_CID_ANY in newest libsystemd (measured with 262), refused below.
        b"any" | b"-1" => libc::VMADDR_CID_ANY,
        // SAFETY: the CID text is the tail of a NUL-terminated string.
        _ => env::parse_u32_before(unsafe { CStr::from_ptr(value.as_ptr().add(skip)) }, colon)?,
    };
    if cid == libc::VMADDR_CID_ANY {
        return Err(Errno(libc::EINVAL));
    }
    // SAFETY: sockaddr_vm is plain data; all-zero is a valid value.
    let mut addr: libc::sockaddr_vm = unsafe { zeroed() };
    addr.svm_family = libc::AF_VSOCK as libc::sa_family_t;
    addr.svm_cid = cid;
    addr.svm_port = port;
    Ok(Address::Vsock { addr, kind })
}

/// The size of a vsock address, for sendmsg/connect/bind.
pub const VSOCK_LEN: libc::socklen_t = size_of::<libc::sockaddr_vm>() as libc::socklen_t;

#[cfg(test)]
mod tests {
    use super::*;
    use libc::{EINVAL, ENAMETOOLONG, EPROTO, ERANGE};

    fn p(s: &str) -> Result<Address> {
        parse(&std::ffi::CString::new(s).unwrap())
    }

    fn unix(s: &str) -> (Vec<u8>, usize) {
        match p(s).unwrap() {
            Address::Unix { addr, len } => {
                let n = len as usize - 2;
                (
                    addr.sun_path[..n]
                        .iter()
                        .map(|c| c.to_ne_bytes()[0])
                        .collect(),
                    len as usize,
                )
            }
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn unix_paths_keep_their_nul_abstract_names_do_not() {
        assert_eq!(unix("/run/x"), (b"/run/x\0".to_vec(), 2 + 7));
        assert_eq!(unix("@name"), (b"\0name".to_vec(), 2 + 5));
        assert_eq!(unix("/a").1, 2 + 3);
    }

    #[test]
    fn unix_length_limits() {
        assert_eq!(p("/").unwrap_err(), Errno(EINVAL));
        assert_eq!(p("@").unwrap_err(), Errno(EINVAL));
        let path107 = format!("/{}", "x".repeat(106));
        let path108 = format!("/{}", "x".repeat(107));
        assert_eq!(unix(&path107).1, 2 + 108);
        assert_eq!(p(&path108).unwrap_err(), Errno(ENAMETOOLONG));
        let abs107 = format!("@{}", "x".repeat(106));
        let abs108 = format!("@{}", "x".repeat(107));
        assert_eq!(unix(&abs107).1, 2 + 107);
        assert_eq!(p(&abs108).unwrap_err(), Errno(EINVAL));
    }

    #[test]
    fn unknown_schemes_are_eproto() {
        for s in [
            "",
            "relative/path",
            "x",
            "VSOCK:2:3",
            "vsock-foo:2:3",
            "unix:/x",
        ] {
            assert_eq!(p(s).unwrap_err(), Errno(EPROTO), "{s:?}");
        }
    }

    fn vsock(s: &str) -> (VsockType, u32, u32) {
        match p(s).unwrap() {
            Address::Vsock { addr, kind } => (kind, addr.svm_cid, addr.svm_port),
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn vsock_forms() {
        assert_eq!(vsock("vsock:2:1234"), (VsockType::Any, 2, 1234));
        assert_eq!(vsock("vsock-dgram:3:0"), (VsockType::Dgram, 3, 0));
        assert_eq!(
            vsock("vsock-seqpacket:host:5"),
            (VsockType::Seqpacket, 2, 5)
        );
        assert_eq!(vsock("vsock-stream:local:5"), (VsockType::Stream, 1, 5));
        assert_eq!(vsock("vsock:hypervisor:7"), (VsockType::Any, 0, 7));
        assert_eq!(vsock("vsock:0x10:010"), (VsockType::Any, 16, 8));
    }

    #[test]
    fn vsock_errors_from_the_reference() {
        for s in [
            "vsock:2",
            "vsock:2:",
            "vsock:2:4294967295",
            "vsock:abc:5",
            "vsock::5",
            "vsock:4294967295:5",
            "vsock-dgram::5",
            "vsock:2:5:6",
            "vsock:-1:5",
            "vsock:any:5",
        ] {
            assert_eq!(p(s).unwrap_err(), Errno(EINVAL), "{s:?}");
        }
        for s in [
            "vsock:-2:5",
            "vsock:4294967296:5",
            "vsock:2:-1",
            "vsock:2:4294967296",
        ] {
            assert_eq!(p(s).unwrap_err(), Errno(ERANGE), "{s:?}");
        }
        // The port is judged first.
        assert_eq!(p("vsock:-1:x").unwrap_err(), Errno(EINVAL));
        // A CID of any length is read in place, as one number.
        assert_eq!(
            vsock(&format!("vsock:{}2:5", "0".repeat(70))),
            (VsockType::Any, 2, 5)
        );
        assert_eq!(
            vsock(&format!("vsock:{}2:5", " ".repeat(70))),
            (VsockType::Any, 2, 5)
        );
        let overflow = format!("vsock:{}mmm:0", "9".repeat(70));
        assert_eq!(p(&overflow).unwrap_err(), Errno(ERANGE));
    }
}
