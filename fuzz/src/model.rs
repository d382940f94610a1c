//! Reference models, written from the spec (sd-daemon-reference.md §2.1, §3.2, §4.3) and
//! not from readyd's source. readyd hands its digits to libc's strto* functions; the
//! models here scan them one by one, the way glibc documents it, so a disagreement points
//! at a real difference rather than at shared code.
//!
//! Errors are positive errno values (`libc::EINVAL`), as in readyd's `Errno`.

/// A model result: the value, or a positive errno.
pub type Res<T> = Result<T, i32>;

/// What `isspace()` accepts in the C locale: strto* skip these.
const C_SPACE: &[u8] = b" \t\n\x0b\x0c\r";
/// What systemd skips itself before a number (its `WHITESPACE`).
const SD_SPACE: &[u8] = b" \t\n\r";

/// The outcome of glibc's digit scan, before the caller's own checks.
struct Scan {
    /// The magnitude of the digits, capped just above `u64::MAX` on overflow.
    magnitude: u128,
    /// A `-` sign was seen.
    negative: bool,
    /// Where `endptr` points, as an index into the scanned text.
    end: usize,
}

fn digit(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'a'..=b'z' => u32::from(c - b'a') + 10,
        b'A'..=b'Z' => u32::from(c - b'A') + 10,
        _ => u32::MAX,
    }
}

/// glibc's strtol/strtoul/strtoull scan: spaces, a sign, the base prefix (`0x` for base 0
/// or 16, `0` for octal in base 0), then digits. With no digits at all, `endptr` is the
/// start of the text, or the `x` of a bare `0x`.
fn scan(s: &[u8], base: u32) -> Scan {
    let mut i = 0;
    while i < s.len() && C_SPACE.contains(&s[i]) {
        i += 1;
    }
    let mut negative = false;
    match s.get(i) {
        Some(b'-') => {
            negative = true;
            i += 1;
        }
        Some(b'+') => i += 1,
        _ => {}
    }
    let mut base = base;
    if s.get(i) == Some(&b'0') {
        if (base == 0 || base == 16) && s.get(i + 1).is_some_and(|c| c | 0x20 == b'x') {
            i += 2;
            base = 16;
        } else if base == 0 {
            base = 8;
        }
    } else if base == 0 {
        base = 10;
    }
    let first_digit = i;
    let cap = u128::from(u64::MAX) + 1;
    let mut magnitude: u128 = 0;
    while i < s.len() && digit(s[i]) < base {
        magnitude = (magnitude * u128::from(base) + u128::from(digit(s[i]))).min(cap);
        i += 1;
    }
    if i == first_digit {
        // No digits: nothing converted.
        let after_x =
            first_digit >= 2 && s[first_digit - 1] | 0x20 == b'x' && s[first_digit - 2] == b'0';
        return Scan {
            magnitude: 0,
            negative: false,
            end: if after_x { first_digit - 1 } else { 0 },
        };
    }
    Scan {
        magnitude,
        negative,
        end: i,
    }
}

/// systemd's preparation: its own white space, then the `0b`/`0o` prefixes it adds to C's
/// base 0. Returns the rest of the text and the base for strto*.
fn prepare(s: &[u8]) -> (&[u8], u32) {
    let mut i = 0;
    while i < s.len() && SD_SPACE.contains(&s[i]) {
        i += 1;
    }
    let t = &s[i..];
    match t {
        [b'0', b'b' | b'B', ..] => (&t[2..], 2),
        [b'0', b'o' | b'O', ..] => (&t[2..], 8),
        _ => (t, 0),
    }
}

/// Nothing converted, or something left over: `EINVAL`.
fn check_end(t: &[u8], sc: &Scan) -> Res<()> {
    if sc.end == 0 || sc.end != t.len() {
        Err(libc::EINVAL)
    } else {
        Ok(())
    }
}

/// strtoull on 64 bits, then systemd's unsigned checks. Returns the value.
fn unsigned(s: &[u8]) -> Res<u64> {
    let (t, base) = prepare(s);
    let sc = scan(t, base);
    if sc.magnitude > u128::from(u64::MAX) {
        return Err(libc::ERANGE);
    }
    check_end(t, &sc)?;
    let m = sc.magnitude as u64;
    let v = if sc.negative { m.wrapping_neg() } else { m };
    // A non-zero value whose text (after the prefix) starts with a minus sign.
    if v != 0 && t.first() == Some(&b'-') {
        return Err(libc::ERANGE);
    }
    Ok(v)
}

/// systemd's `safe_atoi` (used for `LISTEN_FDS`).
pub fn safe_atoi(s: &[u8]) -> Res<i32> {
    let (t, base) = prepare(s);
    let sc = scan(t, base);
    let limit = if sc.negative {
        u128::from(i64::MAX as u64) + 1
    } else {
        u128::from(i64::MAX as u64)
    };
    if sc.magnitude > limit {
        return Err(libc::ERANGE);
    }
    check_end(t, &sc)?;
    let v: i128 = if sc.negative {
        -(sc.magnitude as i128)
    } else {
        sc.magnitude as i128
    };
    i32::try_from(v).map_err(|_| libc::ERANGE)
}

/// systemd's `safe_atou64` (`WATCHDOG_USEC`, `LISTEN_PIDFDID`).
pub fn safe_atou64(s: &[u8]) -> Res<u64> {
    unsigned(s)
}

/// systemd's `safe_atou` (vsock CID and port): 64-bit strtoul, then it must fit 32 bits.
pub fn safe_atou(s: &[u8]) -> Res<u32> {
    u32::try_from(unsigned(s)?).map_err(|_| libc::ERANGE)
}

/// systemd's `parse_pid` (`LISTEN_PID`, `WATCHDOG_PID`): 1 ..= INT_MAX.
pub fn parse_pid(s: &[u8]) -> Res<i32> {
    match i32::try_from(unsigned(s)?) {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(libc::ERANGE),
    }
}

/// The socket type a vsock address names (`vsock:` leaves it open).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VsockKind {
    /// `vsock:`
    Any,
    /// `vsock-dgram:`
    Dgram,
    /// `vsock-seqpacket:`
    Seqpacket,
    /// `vsock-stream:`
    Stream,
}

/// A `$NOTIFY_SOCKET` value as the newest libsystemd reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyAddress {
    /// AF_UNIX: the bytes of `sun_path` that count (a path with its NUL, an abstract name
    /// with its leading NUL and no trailing one).
    Unix(Vec<u8>),
    /// AF_VSOCK.
    Vsock {
        /// The type asked for.
        kind: VsockKind,
        /// The context id.
        cid: u32,
        /// The port.
        port: u32,
    },
}

/// `sizeof(((struct sockaddr_un *) 0)->sun_path)`.
const SUN_PATH: usize = 108;

/// `$NOTIFY_SOCKET` (spec §4.3, newest).
pub fn notify_address(v: &[u8]) -> Res<NotifyAddress> {
    if let Some(&first @ (b'/' | b'@')) = v.first() {
        if v.len() < 2 {
            return Err(libc::EINVAL);
        }
        if v.len() + 1 > SUN_PATH {
            return Err(if first == b'/' {
                libc::ENAMETOOLONG
            } else {
                libc::EINVAL
            });
        }
        let mut path = v.to_vec();
        if first == b'@' {
            path[0] = 0;
        } else {
            path.push(0);
        }
        return Ok(NotifyAddress::Unix(path));
    }
    let forms: [(&[u8], VsockKind); 4] = [
        (b"vsock:", VsockKind::Any),
        (b"vsock-dgram:", VsockKind::Dgram),
        (b"vsock-seqpacket:", VsockKind::Seqpacket),
        (b"vsock-stream:", VsockKind::Stream),
    ];
    let Some((rest, kind)) = forms
        .iter()
        .find_map(|(p, k)| v.strip_prefix(*p).map(|r| (r, *k)))
    else {
        return Err(libc::EPROTO);
    };
    let Some(colon) = rest.iter().position(|&c| c == b':') else {
        return Err(libc::EINVAL);
    };
    let port = safe_atou(&rest[colon + 1..])?;
    if port == u32::MAX {
        return Err(libc::EINVAL);
    }
    let cid = match &rest[..colon] {
        b"" => u32::MAX,
        b"hypervisor" => 0,
        b"local" => 1,
        b"host" => 2,
        // newest (measured with 262) names VMADDR_CID_ANY "any" or "-1"
        b"any" | b"-1" => u32::MAX,
        text => safe_atou(text)?,
    };
    if cid == u32::MAX {
        return Err(libc::EINVAL);
    }
    Ok(NotifyAddress::Vsock { kind, cid, port })
}

/// `LISTEN_FDNAMES` split (spec §3.2): every `:` separates, empty names count, a
/// backslash takes the next byte literally, a lone trailing backslash is `EINVAL`.
pub fn split_fdnames(v: &[u8]) -> Res<Vec<Vec<u8>>> {
    let mut names = Vec::new();
    let mut current = Vec::new();
    let mut bytes = v.iter().copied();
    while let Some(c) = bytes.next() {
        match c {
            b'\\' => match bytes.next() {
                Some(next) => current.push(next),
                None => return Err(libc::EINVAL),
            },
            b':' => names.push(core::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    names.push(current);
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use libc::{EINVAL, ERANGE};

    #[test]
    fn integers_from_the_spec() {
        for (s, v) in [
            ("2", 2),
            (" 2", 2),
            ("+2", 2),
            ("0x2", 2),
            ("0b10", 2),
            ("02", 2),
        ] {
            assert_eq!(safe_atoi(s.as_bytes()), Ok(v), "{s}");
        }
        assert_eq!(safe_atoi(b"010"), Ok(8));
        assert_eq!(safe_atoi(b"-1"), Ok(-1));
        for s in ["2 ", "", "abc", "0x", "1.5"] {
            assert_eq!(safe_atoi(s.as_bytes()), Err(EINVAL), "{s}");
        }
        for s in ["99999999999", "99999999999999999999", "2147483648"] {
            assert_eq!(safe_atoi(s.as_bytes()), Err(ERANGE), "{s}");
        }
        assert_eq!(safe_atou64(b"-0"), Ok(0));
        assert_eq!(safe_atou64(b"-1"), Err(ERANGE));
        assert_eq!(safe_atou64(b"18446744073709551616"), Err(ERANGE));
        assert_eq!(safe_atou64(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(safe_atou64(b"0o17"), Ok(15));
        assert_eq!(parse_pid(b"0"), Err(ERANGE));
        assert_eq!(parse_pid(b"2147483648"), Err(ERANGE));
        assert_eq!(parse_pid(b" 0x2a"), Ok(42));
        assert_eq!(parse_pid(b"42 "), Err(EINVAL));
        assert_eq!(safe_atou(b"4294967296"), Err(ERANGE));
    }

    #[test]
    fn names_from_the_spec() {
        let s = |v: &str| {
            split_fdnames(v.as_bytes()).map(|n| {
                n.into_iter()
                    .map(|b| String::from_utf8(b).unwrap())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(s("a::b").unwrap(), ["a", "", "b"]);
        assert_eq!(s("").unwrap(), [""]);
        assert_eq!(s("a\\:b").unwrap(), ["a:b"]);
        assert_eq!(s("a\\"), Err(EINVAL));
    }
}
