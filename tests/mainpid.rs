//! readyd_mainpid(): MAINPID= with the process's pidfd (MAINPIDFD=1) and its pidfs inode id
//! (MAINPIDFDID=), as newer systemd reads them, checked byte for byte at a real receiver.
//!
//! One test in this file: it forks, and it changes the environment.

mod common;

use std::os::fd::AsRawFd;

use common::{Receiver, lock_env};
use readyd::{readyd_mainpid, sd_pidfd_get_inode_id};

/// A child that only waits to be killed: a process that is not the caller.
fn child() -> libc::pid_t {
    // SAFETY: the child calls only async-signal-safe functions (pause, _exit).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        loop {
            // SAFETY: pause has no preconditions.
            unsafe { libc::pause() };
        }
    }
    pid
}

fn reap(pid: libc::pid_t) {
    // SAFETY: pid is our child; status is a valid out-pointer.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
    }
}

/// The pidfs inode id of `pid`'s pidfd, or None without pidfs.
fn id_of(pid: libc::pid_t) -> Option<u64> {
    // SAFETY: no memory arguments.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 {
        return None;
    }
    let mut id = 0u64;
    // SAFETY: fd is ours; id is a valid out-pointer.
    let r = unsafe { sd_pidfd_get_inode_id(fd, &mut id) };
    // SAFETY: fd is ours and closed once.
    unsafe { libc::close(fd) };
    (r == 0).then_some(id)
}

#[test]
fn mainpid_sends_the_pid_its_pidfd_and_its_id() {
    let env = lock_env();
    let rx = Receiver::path();

    // No NOTIFY_SOCKET: nothing to do.
    assert_eq!(readyd_mainpid(1), 0);
    env.set("NOTIFY_SOCKET", &rx.address);
    assert_eq!(readyd_mainpid(0), -libc::EINVAL);
    assert_eq!(readyd_mainpid(-5), -libc::EINVAL);
    rx.assert_nothing();

    let pid = child();
    let r = readyd_mainpid(pid);
    let d = rx.recv();
    d.assert_from_self();
    match id_of(pid) {
        Some(id) => {
            assert_eq!(r, 1);
            d.assert_bytes(format!("MAINPID={pid}\nMAINPIDFDID={id}\nMAINPIDFD=1").as_bytes());
            assert_eq!(d.fds.len(), 1, "one fd: the pidfd");
            // The fd that came is a pidfd of that very process.
            let mut got = 0u64;
            // SAFETY: the fd is owned by the datagram; got is a valid out-pointer.
            let r = unsafe { sd_pidfd_get_inode_id(d.fds[0].as_raw_fd(), &mut got) };
            assert_eq!(r, 0);
            assert_eq!(got, id);
        }
        None => {
            eprintln!("no pidfs here: checking the reduced message only");
            assert_eq!(r, 1);
            assert!(
                d.bytes.starts_with(format!("MAINPID={pid}\n").as_bytes())
                    || d.bytes == format!("MAINPID={pid}").as_bytes()
            );
        }
    }
    reap(pid);

    // The process is gone: no message naming a pid that may be reused already.
    assert_eq!(readyd_mainpid(pid), -libc::ESRCH);
    rx.assert_nothing();
    assert!(
        env.notify_socket_set(),
        "readyd_mainpid never unsets NOTIFY_SOCKET"
    );
}
