//! `$NOTIFY_SOCKET` parsing (spec §4.3, newest): `readyd::address::parse` against the
//! model. The input, up to its first NUL, is the variable's value.
#![no_main]

use std::ffi::CString;
use std::mem::offset_of;

use libfuzzer_sys::fuzz_target;
use readyd::address::{self, Address, VsockType};
use readyd_fuzz::model::{self, NotifyAddress, VsockKind};

/// readyd's parsed address in the model's terms.
fn as_model(a: &Address) -> NotifyAddress {
    match a {
        Address::Unix { addr, len } => {
            assert_eq!(i32::from(addr.sun_family), libc::AF_UNIX);
            let n = *len as usize - offset_of!(libc::sockaddr_un, sun_path);
            assert!(
                n <= addr.sun_path.len(),
                "address length {len} past sun_path"
            );
            NotifyAddress::Unix(addr.sun_path[..n].iter().map(|&c| c as u8).collect())
        }
        Address::Vsock { addr, kind } => {
            assert_eq!(i32::from(addr.svm_family), libc::AF_VSOCK);
            NotifyAddress::Vsock {
                kind: match kind {
                    VsockType::Any => VsockKind::Any,
                    VsockType::Dgram => VsockKind::Dgram,
                    VsockType::Seqpacket => VsockKind::Seqpacket,
                    VsockType::Stream => VsockKind::Stream,
                },
                cid: addr.svm_cid,
                port: addr.svm_port,
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = data.split(|&b| b == 0).next().unwrap_or_default();
    let c = CString::new(text).expect("cut at the first NUL");
    let ours = address::parse(&c);
    if let Ok(a) = &ours {
        // The Debug form is what a test failure prints; it must not fail itself.
        let _ = format!("{a:?}");
    }
    let ours = ours.as_ref().map(as_model).map_err(|e| e.0);
    let want = model::notify_address(text);
    assert!(
        ours == want,
        "NOTIFY_SOCKET=\"{}\": readyd {ours:?}, the spec's model {want:?}",
        text.escape_ascii()
    );
});
