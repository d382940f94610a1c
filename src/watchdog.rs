//! `WATCHDOG_USEC` / `WATCHDOG_PID` (reference §5).

use core::ffi::c_int;

use crate::env;
use crate::errno::{Errno, Result};
use crate::sys;

/// The variables `sd_watchdog_enabled(1)` removes.
pub const VARIABLES: env::Names = env::Names::new(b"WATCHDOG_USEC\0WATCHDOG_PID\0");

/// The watchdog interval in µs when the manager expects this process to ping, `None`
/// when there is no watchdog or it is meant for another process.
pub fn interval() -> Result<Option<u64>> {
    let Some(value) = env::get(c"WATCHDOG_USEC") else {
        return Ok(None);
    };
    let usec = env::parse_u64(value)?;
    // 0 and "infinity" (all ones) are not intervals.
    if usec == 0 || usec == u64::MAX {
        return Err(Errno(libc::EINVAL));
    }
    if let Some(value) = env::get(c"WATCHDOG_PID") {
        if env::parse_pid(value)? != sys::getpid() {
            return Ok(None);
        }
    }
    Ok(Some(usec))
}

/// Convenience for the C function: 1 and the interval, or 0.
pub fn enabled(usec: Option<&mut u64>) -> Result<c_int> {
    match interval()? {
        None => Ok(0),
        Some(u) => {
            if let Some(out) = usec {
                *out = u;
            }
            Ok(1)
        }
    }
}
