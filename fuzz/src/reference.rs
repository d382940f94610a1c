//! The system's libsystemd.so.0, loaded with dlopen: the reference the differential target
//! compares readyd with.
//!
//! libsystemd calls its own exported functions through its PLT (sd_listen_fds_with_names
//! calls sd_listen_fds, for one), so if the fuzz binary exported readyd's functions of the
//! same names, the reference would quietly run readyd's code. `load` refuses to go on in
//! that case.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};

type ListenFds = unsafe extern "C" fn(c_int) -> c_int;
type ListenFdsWithNames = unsafe extern "C" fn(c_int, *mut *mut *mut c_char) -> c_int;
type WatchdogEnabled = unsafe extern "C" fn(c_int, *mut u64) -> c_int;
type Notify = unsafe extern "C" fn(c_int, *const c_char) -> c_int;
type NotifyBarrier = unsafe extern "C" fn(c_int, u64) -> c_int;

/// The functions the differential target calls, with libsystemd's C signatures.
pub struct Libsystemd {
    /// `sd_listen_fds`
    pub listen_fds: ListenFds,
    /// `sd_listen_fds_with_names`
    pub listen_fds_with_names: ListenFdsWithNames,
    /// `sd_watchdog_enabled`
    pub watchdog_enabled: WatchdogEnabled,
    /// `sd_notify`
    pub notify: Notify,
    /// `sd_notify_barrier`
    pub notify_barrier: NotifyBarrier,
}

fn sym(handle: *mut c_void, name: &CStr) -> *mut c_void {
    // SAFETY: a live handle and a NUL-terminated name.
    let p = unsafe { libc::dlsym(handle, name.as_ptr()) };
    assert!(!p.is_null(), "libsystemd.so.0 has no {name:?}");
    // SAFETY: the global scope: what a PLT call from libsystemd would bind to.
    let global = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    assert!(
        global.is_null() || global == p,
        "{name:?} is exported by the fuzz binary itself: libsystemd's internal calls would \
         run readyd's code (link without --export-dynamic)"
    );
    p
}

/// Loads `libsystemd.so.0` (or `$READYD_FUZZ_LIBSYSTEMD`) once; `None` when it is not
/// installed.
pub fn load() -> Option<Libsystemd> {
    let path = std::env::var("READYD_FUZZ_LIBSYSTEMD").unwrap_or("libsystemd.so.0".into());
    let path = std::ffi::CString::new(path).ok()?;
    // SAFETY: a NUL-terminated name; the handle is never closed.
    let h = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if h.is_null() {
        return None;
    }
    // SAFETY: each symbol has exactly this C signature in libsystemd (spec §1.3).
    unsafe {
        Some(Libsystemd {
            listen_fds: std::mem::transmute::<*mut c_void, ListenFds>(sym(h, c"sd_listen_fds")),
            listen_fds_with_names: std::mem::transmute::<*mut c_void, ListenFdsWithNames>(sym(
                h,
                c"sd_listen_fds_with_names",
            )),
            watchdog_enabled: std::mem::transmute::<*mut c_void, WatchdogEnabled>(sym(
                h,
                c"sd_watchdog_enabled",
            )),
            notify: std::mem::transmute::<*mut c_void, Notify>(sym(h, c"sd_notify")),
            notify_barrier: std::mem::transmute::<*mut c_void, NotifyBarrier>(sym(
                h,
                c"sd_notify_barrier",
            )),
        })
    }
}
