//! sd_notify_barrier and sd_pid_notify_barrier against a real receiving socket that plays
//! the supervisor: it reads `BARRIER=1`, checks the one fd that comes with it, and closes
//! that fd (or holds it, to make the caller time out). Case ids refer to §12.4.

mod common;

use std::ffi::c_int;
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::{CLAIM_PID_1, Datagram, Receiver, fstat, lock_env, own_pid, skip_unless_root};
use libc::{EPROTO, ETIMEDOUT};
use readyd::{sd_notify, sd_notify_barrier, sd_pid_notify_barrier};

/// Generous: only a broken library waits this long.
const FIVE_SECONDS: u64 = 5_000_000;

/// What the supervisor saw of a barrier message.
#[derive(Debug, PartialEq)]
struct Seen {
    bytes: Vec<u8>,
    fd_count: usize,
    /// The first fd is a pipe (S_IFIFO) opened write-only.
    fifo_write_end: bool,
    pid: libc::pid_t,
}

fn inspect(d: &Datagram) -> Seen {
    let fifo_write_end = d.fds.first().is_some_and(|fd| {
        let is_fifo = fstat(fd.as_raw_fd()).st_mode & libc::S_IFMT == libc::S_IFIFO;
        // SAFETY: F_GETFL only queries the open file's flags.
        let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
        is_fifo && flags >= 0 && flags & libc::O_ACCMODE == libc::O_WRONLY
    });
    Seen {
        bytes: d.bytes.clone(),
        fd_count: d.fds.len(),
        fifo_write_end,
        pid: d.creds().pid,
    }
}

fn barrier_from(pid: libc::pid_t) -> Seen {
    Seen {
        bytes: b"BARRIER=1".to_vec(),
        fd_count: 1,
        fifo_write_end: true,
        pid,
    }
}

/// Whether the reading end of the pipe behind `fd` (a write end) is closed everywhere.
fn reader_gone(fd: c_int) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no wait.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    n == 1 && pfd.revents & libc::POLLERR != 0
}

/// B1: with NOTIFY_SOCKET unset there is nothing to wait for.
#[test]
fn barrier_without_notify_socket_returns_0() {
    let env = lock_env();
    assert_eq!(sd_notify_barrier(0, FIVE_SECONDS), 0, "B1");
    assert_eq!(sd_notify_barrier(1, 0), 0, "B1 unset=1");
    assert_eq!(sd_pid_notify_barrier(0, 0, FIVE_SECONDS), 0);
    assert_eq!(sd_pid_notify_barrier(1, 1, u64::MAX), 0);
    assert!(!env.notify_socket_set());
}

/// B2: the supervisor reads the earlier message, then `BARRIER=1` with exactly one fd,
/// the write end of a pipe, and closes it: the call returns 1.
#[test]
fn barrier_returns_1_once_the_supervisor_closes_the_fd() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    // SAFETY: a NUL-terminated literal.
    assert_eq!(unsafe { sd_notify(0, c"STATUS=before".as_ptr()) }, 1);
    let (r, earlier, seen) = thread::scope(|s| {
        let supervisor = s.spawn(|| {
            let earlier = rx.recv().bytes;
            let d = rx.recv();
            let seen = inspect(&d);
            drop(d); // closes the received fd: the barrier is passed
            (earlier, seen)
        });
        let r = sd_notify_barrier(0, FIVE_SECONDS);
        let (earlier, seen) = supervisor.join().expect("supervisor thread");
        (r, earlier, seen)
    });
    assert_eq!(earlier, b"STATUS=before");
    assert_eq!(seen, barrier_from(own_pid()), "B2 message");
    assert_eq!(r, 1, "B2");
    assert!(env.notify_socket_set());
    rx.assert_nothing();
}

/// B3: the supervisor holds the fd for 300 ms, the caller waits 50 ms: -ETIMEDOUT. The
/// supervisor lets go early once the caller has returned, so the test takes 50 ms; a
/// caller that waits too long sees the close at 300 ms and returns 1 instead.
#[test]
fn barrier_times_out_while_the_supervisor_holds_the_fd() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let (returned, wait_returned) = mpsc::channel::<()>();
    let supervisor_side = &rx;
    let (r, seen) = thread::scope(|s| {
        let supervisor = s.spawn(move || {
            let d = supervisor_side.recv();
            let seen = inspect(&d);
            let _ = wait_returned.recv_timeout(Duration::from_millis(300));
            drop(d);
            seen
        });
        let r = sd_notify_barrier(0, 50_000);
        let _ = returned.send(());
        (r, supervisor.join().expect("supervisor thread"))
    });
    assert_eq!(seen, barrier_from(own_pid()), "B3 message");
    assert_eq!(r, -ETIMEDOUT, "B3");
    rx.assert_nothing();
}

/// The timeout is in microseconds: a supervisor that closes the fd after 100 ms is well
/// within a timeout of 800 000 µs (all of it below one second, so a wrong scale for the
/// fraction of a second shows).
#[test]
fn barrier_waits_for_a_slow_supervisor_within_the_timeout() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let (r, seen) = thread::scope(|s| {
        let supervisor = s.spawn(|| {
            let d = rx.recv();
            thread::sleep(Duration::from_millis(100));
            inspect(&d)
        });
        let r = sd_notify_barrier(0, 800_000);
        (r, supervisor.join().expect("supervisor thread"))
    });
    assert_eq!(seen, barrier_from(own_pid()));
    assert_eq!(r, 1);
}

/// B4: nobody reads, timeout 0: -ETIMEDOUT at once. The message stays queued with its
/// fd, whose reading end the library has closed on its way out.
#[test]
fn barrier_with_zero_timeout_and_no_reader_times_out() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    assert_eq!(sd_notify_barrier(0, 0), -ETIMEDOUT, "B4");
    assert!(env.notify_socket_set());
    let d = rx.recv();
    assert_eq!(inspect(&d), barrier_from(own_pid()), "B4 queued message");
    assert!(
        reader_gone(d.fds[0].as_raw_fd()),
        "the library kept the pipe's reading end open"
    );
    rx.assert_nothing();

    // The same with unset=1: removed on the timeout path too.
    assert_eq!(sd_notify_barrier(1, 0), -ETIMEDOUT);
    assert!(
        !env.notify_socket_set(),
        "kept after a timeout with unset=1"
    );
    drop(rx.recv());
}

/// B5: an infinite timeout with unset=1 returns 1 when the supervisor closes the fd, and
/// the variable is gone. Run in a child with an alarm so a library that never returns
/// kills the child, not the suite.
#[test]
fn barrier_without_timeout_and_unset() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    // SAFETY: the child only makes async-signal-safe calls (alarm, the barrier, which does
    // not allocate or lock, getenv, _exit). The environment lock is held, so no test thread
    // is changing the environment at the fork.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork");
    if child == 0 {
        // SAFETY: in the child, as above.
        unsafe {
            libc::alarm(10);
            let r = sd_notify_barrier(1, u64::MAX);
            let still_set = !libc::getenv(c"NOTIFY_SOCKET".as_ptr()).is_null();
            // Exit code: the result plus 64 in the low bits, bit 7 if the variable stayed.
            let code = (r.clamp(-64, 63) + 64) | if still_set { 128 } else { 0 };
            libc::_exit(code);
        }
    }
    let d = rx.recv();
    let seen = inspect(&d);
    drop(d);
    let mut status = 0;
    // SAFETY: a valid out-pointer; the child is ours.
    assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
    assert!(
        libc::WIFEXITED(status),
        "child did not exit (alarm: the barrier never returned): {status:#x}"
    );
    let code = libc::WEXITSTATUS(status);
    assert_eq!(seen, barrier_from(child), "B5 message");
    assert_eq!((code & 127) - 64, 1, "B5 result");
    assert_eq!(code & 128, 0, "B5: NOTIFY_SOCKET kept in the child");
    // The parent's environment is its own.
    assert!(env.notify_socket_set());
}

/// B6: a bad address fails the barrier with the notify error, removed when asked.
#[test]
fn barrier_with_bad_address_fails_like_notify() {
    let env = lock_env();
    let cases = [
        ("relative", -EPROTO),
        ("", -EPROTO),
        ("/", -libc::EINVAL),
        ("/nonexistent-readyd-dir/sock", -libc::ENOENT),
        ("vsock:-2:5", -libc::ERANGE),
    ];
    for (address, expected) in cases {
        for unset in [0, 1] {
            env.set("NOTIFY_SOCKET", address);
            assert_eq!(
                sd_notify_barrier(unset, FIVE_SECONDS),
                expected,
                "B6 {address:?}"
            );
            assert_eq!(env.notify_socket_set(), unset == 0, "B6 {address:?}");
        }
    }
}

/// sd_pid_notify_barrier: a pid the kernel refuses falls back to the caller's own
/// credentials; as root (B7) the supervisor sees pid 1.
#[test]
fn pid_barrier_credentials() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let mut cases = vec![(0, own_pid()), (own_pid(), own_pid()), (-5, own_pid())];
    if !skip_unless_root("B7", CLAIM_PID_1) {
        cases.push((1, 1));
    }
    for (pid, seen_pid) in cases {
        let (r, seen) = thread::scope(|s| {
            let supervisor = s.spawn(|| inspect(&rx.recv()));
            let r = sd_pid_notify_barrier(pid, 0, FIVE_SECONDS);
            (r, supervisor.join().expect("supervisor thread"))
        });
        assert_eq!(seen, barrier_from(seen_pid), "pid {pid}");
        assert_eq!(r, 1, "pid {pid}");
    }
    rx.assert_nothing();
}
