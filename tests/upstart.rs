//! upstart_ready(): the `expect stop` handshake, played out with a forked child as the
//! daemon and this process as Upstart (waitpid with WUNTRACED, then SIGCONT).
//!
//! One test in this file, so no other test thread runs while a child is forked.

mod common;

use std::ffi::c_int;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};

use common::lock_env;
use readyd::upstart_ready;

/// What the child reports back through a pipe, after its calls.
#[derive(Debug, PartialEq)]
struct Report {
    first: c_int,
    second: c_int,
    job_left: bool,
    instance_left: bool,
}

/// How the child ended, and the stops seen on the way.
#[derive(Debug, PartialEq)]
struct Outcome {
    stops: usize,
    exit_code: c_int,
    report: Report,
}

/// Forks a child that calls upstart_ready() twice and reports the results and which
/// variables remain. This process resumes each stop (a SIGSTOP, as Upstart would) and
/// counts them; a second stop is resumed too, but counted, so a bug cannot hang the test.
fn run_child() -> Outcome {
    let mut p = [0 as c_int; 2];
    // SAFETY: room for two fds.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both fds are new and owned here only.
    let (read_end, write_end) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
    // SAFETY: the child makes only async-signal-safe calls: upstart_ready (raise, getenv,
    // unsetenv; no other thread of this binary touches the environment), getenv, write and
    // _exit. It never returns into the test harness.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork");
    if child == 0 {
        let first = upstart_ready();
        let second = upstart_ready();
        // SAFETY: NUL-terminated names; getenv does not allocate.
        let (job, instance) = unsafe {
            (
                !libc::getenv(c"UPSTART_JOB".as_ptr()).is_null(),
                !libc::getenv(c"UPSTART_INSTANCE".as_ptr()).is_null(),
            )
        };
        let msg = [first, second, job as c_int, instance as c_int];
        // SAFETY: writes the 16 bytes of msg to the pipe, then leaves without running any
        // of the parent's cleanup.
        unsafe {
            let n = libc::write(
                std::os::fd::AsRawFd::as_raw_fd(&write_end),
                msg.as_ptr().cast(),
                size_of_val(&msg),
            );
            libc::_exit(if n == size_of_val(&msg) as isize {
                0
            } else {
                99
            });
        }
    }
    drop(write_end);
    let mut stops = 0;
    let exit_code = loop {
        let mut status = 0;
        // SAFETY: a valid out-pointer; the child is ours.
        let r = unsafe { libc::waitpid(child, &mut status, libc::WUNTRACED) };
        assert_eq!(r, child, "waitpid");
        if libc::WIFSTOPPED(status) {
            assert_eq!(
                libc::WSTOPSIG(status),
                libc::SIGSTOP,
                "stopped by another signal"
            );
            stops += 1;
            // SAFETY: resumes our own child.
            assert_eq!(unsafe { libc::kill(child, libc::SIGCONT) }, 0);
            continue;
        }
        assert!(libc::WIFEXITED(status), "child killed: {status:#x}");
        break libc::WEXITSTATUS(status);
    };
    let mut bytes = Vec::new();
    std::fs::File::from(read_end)
        .read_to_end(&mut bytes)
        .expect("read report");
    assert_eq!(bytes.len(), 16, "child report");
    let word = |i: usize| c_int::from_ne_bytes(bytes[i * 4..i * 4 + 4].try_into().unwrap());
    Outcome {
        stops,
        exit_code,
        report: Report {
            first: word(0),
            second: word(1),
            job_left: word(2) != 0,
            instance_left: word(3) != 0,
        },
    }
}

#[test]
fn upstart_handshake() {
    let env = lock_env();

    // Not started by Upstart: nothing happens, no stop; an UPSTART_INSTANCE alone is left
    // alone.
    env.set("UPSTART_INSTANCE", "inst");
    assert_eq!(
        run_child(),
        Outcome {
            stops: 0,
            exit_code: 0,
            report: Report {
                first: 0,
                second: 0,
                job_left: false,
                instance_left: true,
            },
        },
        "UPSTART_JOB unset"
    );

    // Started by Upstart: exactly one stop, then 1, and both variables are gone, so the
    // second call is a no-op.
    env.set("UPSTART_JOB", "readyd-test");
    env.set("UPSTART_INSTANCE", "");
    assert_eq!(
        run_child(),
        Outcome {
            stops: 1,
            exit_code: 0,
            report: Report {
                first: 1,
                second: 0,
                job_left: false,
                instance_left: false,
            },
        },
        "UPSTART_JOB set"
    );

    // The same without UPSTART_INSTANCE.
    env.remove("UPSTART_INSTANCE");
    assert_eq!(
        run_child(),
        Outcome {
            stops: 1,
            exit_code: 0,
            report: Report {
                first: 1,
                second: 0,
                job_left: false,
                instance_left: false,
            },
        },
        "UPSTART_JOB set, no instance"
    );

    // The parent itself, with the variable unset: 0 at once (had it stopped, the suite
    // would hang here, which is why the cases above run in children).
    env.remove("UPSTART_JOB");
    assert_eq!(upstart_ready(), 0);
}
