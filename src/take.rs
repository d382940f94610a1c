//! The two steps of the safe Rust API ([`crate::api`]) that need `unsafe`, kept here so
//! that `api` itself can forbid it: taking ownership of the fds the service manager
//! passed (once per process), and removing the variables that described them.

use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::errno::Result;
use crate::listen;

/// Set by the first [`listen_fds`]: the passed fds have an owner from then on.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// The fds passed by socket activation, each with its raw name (escapes removed), owned
/// by the caller; empty for every call after the first. The variables are removed
/// whatever the result, as `sd_listen_fds(1)` does.
pub fn listen_fds() -> Result<Vec<(OwnedFd, Vec<u8>)>> {
    if TAKEN.swap(true, Ordering::SeqCst) {
        unset(listen::VARIABLES);
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    let n = listen::listen_fds_named(|raw| {
        let mut name = Vec::with_capacity(raw.len());
        listen::unescape(raw, |b| name.push(b));
        names.push(name);
    });
    unset(listen::VARIABLES);
    n?;
    Ok(names
        .into_iter()
        .zip(listen::LISTEN_FDS_START..)
        // SAFETY: listen_fds_named() checked that each of these fds is open (fcntl), and
        // the environment hands them to this process: nothing in it owns them yet. TAKEN
        // makes this the only place that ever wraps them, once.
        .map(|(name, fd)| (unsafe { OwnedFd::from_raw_fd(fd) }, name))
        .collect())
}

/// Removes environment variables through std, so that Rust code reading the environment
/// in other threads (`std::env::var`) is synchronised with the removal.
pub fn unset(names: crate::env::Names) {
    for name in names.iter() {
        if let Ok(name) = name.to_str() {
            // SAFETY: std's lock orders this against std's own environment access in
            // other threads. Foreign code calling getenv() concurrently is not covered; the
            // public functions that reach here say so (call them before starting threads
            // that read the environment, as with `sd_listen_fds(1)`).
            unsafe { std::env::remove_var(name) };
        }
    }
}
