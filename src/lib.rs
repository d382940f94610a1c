//! readyd: tell your supervisor "I am ready, this is my PID" without linking libsystemd.
//!
//! # For Rust programs
//!
//! The functions and types at the crate root ([`notify()`], [`State`], [`ready`],
//! [`listen_fds`], [`watchdog_enabled`], [`barrier`], ...) are a safe API over the same
//! core the C library exports: systemd's `sd_notify` protocol (path, abstract and vsock
//! addresses, fds, the barrier), Upstart, the notification fd of s6, dinit and OpenRC,
//! and a daemonize that waits for ready. Errors are [`std::io::Error`]s.
// The example only where the API exists (`cargo test --no-default-features` too).
#![cfg_attr(
    feature = "std",
    doc = r#"
```
# for v in ["NOTIFY_SOCKET", "UPSTART_JOB", "READYD_NOTIFY_FD", "WATCHDOG_USEC", "WATCHDOG_PID"] {
#     unsafe { std::env::remove_var(v) }; // a test runner under a supervisor: not ours
# }
use readyd::State;

// Outside a service manager nothing is sent: Ok(false).
readyd::notify(&[State::Ready, State::Status("serving")])?;
# Ok::<(), std::io::Error>(())
```
"#
)]
//!
//! The API needs the `std` feature, which is on by default. Without it
//! (`default-features = false`) the crate is the C library's `no_std` core, and with
//! `panic = "abort"` it defines a panic handler: that is for building the C library, not
//! for a Rust program.
//!
//! # The C library
//!
//! The crate is a C library first. Its exports (see `ffi`) carry libsystemd's sd-daemon
//! prototypes and behaviour, plus `upstart_ready()`. The shipped library is `no_std`, built
//! with `panic = "abort"` and without default features, and depends on libc alone; the
//! tests, the Rust API and the `readyd` command (feature `cli`) build it with std.
//!
//! The modules are the core's internals, public for the `readyd` command and the fuzz
//! targets: not an API to build on (it may change in any release); the crate-root
//! functions and types are.
//!
//! Layout: `errno` (error type), `env` (environment access and systemd's integer rules),
//! `address` (NOTIFY_SOCKET parsing), `notify` (sending one datagram, the barrier),
//! `upstart` (the `expect stop` handshake), `listen` (socket activation), `watchdog`,
//! `probe` (`sd_booted`, `sd_is_*`), `pidfd` (pidfd inode ids), `readiness` (one ready
//! call for every supervisor), `daemonize` (a fork that waits for ready), `sys` (libc
//! functions written here rather than imported: each import costs start-up time), and
//! `ffi` (every `extern "C"` function, thin); with std, `api` (the safe Rust API) and
//! `take` (its two unsafe steps: owning passed fds, removing variables).
//! The printf-style functions live in `shim.c`: stable Rust cannot define C variadics.

#![cfg_attr(all(panic = "abort", not(test), not(feature = "std")), no_std)]

pub mod address;
pub mod daemonize;
pub mod env;
pub mod errno;
pub mod ffi;
pub mod listen;
pub mod notify;
pub mod pidfd;
pub mod probe;
pub mod readiness;
pub mod sys;
pub mod upstart;
pub mod watchdog;

#[cfg(feature = "std")]
mod api;
#[cfg(feature = "std")]
mod take;

#[cfg(feature = "std")]
pub use api::*;
pub use ffi::*;

/// With `panic = "abort"` and no std, a panic can only abort: unwinding into a C caller
/// would be undefined behaviour. The library has no panicking paths by design; this is the
/// backstop.
#[cfg(all(panic = "abort", not(test), not(feature = "std")))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    sys::abort()
}
