//! Upstart's `expect stop` handshake: the job stops itself with SIGSTOP once it is ready;
//! Upstart records the pid that stopped as the job's main process and resumes it with
//! SIGCONT.

use core::ffi::c_int;

use crate::env;
use crate::errno::{Errno, Result};
use crate::sys;

/// Stops the process if Upstart started it, then forgets that it did.
///
/// Returns 0 when `UPSTART_JOB` is unset (nothing is done), 1 after the stop and the
/// resume. `UPSTART_JOB` and `UPSTART_INSTANCE` are removed afterwards, so a second call
/// and any child started later do not stop again. If the stop itself fails, the
/// variables stay, so the caller may try again.
pub fn ready() -> Result<c_int> {
    if env::get(env::UPSTART_JOB).is_none() {
        return Ok(0);
    }
    // raise returns when SIGCONT resumes us.
    if sys::raise(libc::SIGSTOP) != 0 {
        return Err(Errno::last());
    }
    env::unset(env::UPSTART_JOB);
    env::unset(env::UPSTART_INSTANCE);
    Ok(1)
}
