//! `readyd notify`: systemd-notify for shell scripts, on the library's own exports
//! (sd_pid_notify_with_fds, sd_pid_notify_barrier, sd_pidfd_get_inode_id,
//! readyd_notify_fd, sd_booted). It composes one message from the options and sends it
//! as systemd-notify does: on behalf of the calling process by default, so that a
//! `NotifyAccess=main` service whose main process is a shell script accepts it.

use std::ffi::{CString, OsString};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;

use crate::args::{NotifyOptions, PidChoice};
use crate::process;

/// How long the barrier waits for the service manager (microseconds).
const BARRIER_TIMEOUT_USEC: u64 = 5_000_000;

fn error_text(negative_errno: libc::c_int) -> String {
    process::errno_text(-negative_errno)
}

/// The `MONOTONIC_USEC=` stamp, from the library, as `readyd_reloading()` sends it.
fn monotonic_usec() -> u64 {
    // CLOCK_MONOTONIC always exists on Linux; 0 would only mark an impossible failure.
    readyd::readiness::monotonic_usec().unwrap_or(0)
}

/// What `--pid` resolved to: the pid for `MAINPID=`, and its pidfd inode id when the
/// kernel has one (`MAINPIDFDID=`, which systemd 257 and later read).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MainPid {
    pub pid: libc::pid_t,
    pub pidfd_id: Option<u64>,
}

/// The message, in systemd-notify's order: RELOADING=1 and MONOTONIC_USEC=, READY=1,
/// STOPPING=1, STATUS=, MAINPID= and MAINPIDFDID=, FDSTORE=1 and FDNAME=, then the
/// FIELD=VALUE arguments; an argument whose name was already given replaces that line
/// in place.
pub fn compose(o: &NotifyOptions, main: Option<MainPid>) -> String {
    let mut lines: Vec<String> = Vec::new();
    if o.reloading {
        lines.push("RELOADING=1".into());
        lines.push(format!("MONOTONIC_USEC={}", monotonic_usec()));
    }
    if o.ready {
        lines.push("READY=1".into());
    }
    if o.stopping {
        lines.push("STOPPING=1".into());
    }
    if let Some(s) = &o.status {
        lines.push(format!("STATUS={s}"));
    }
    if let Some(m) = main {
        lines.push(format!("MAINPID={}", m.pid));
        if let Some(id) = m.pidfd_id {
            lines.push(format!("MAINPIDFDID={id}"));
        }
    }
    if !o.fds.is_empty() {
        lines.push("FDSTORE=1".into());
        if let Some(name) = &o.fdname {
            lines.push(format!("FDNAME={name}"));
        }
    }
    for field in &o.fields {
        let name = field.split_once('=').map_or(field.as_str(), |(n, _)| n);
        let same = |l: &String| l.split_once('=').is_some_and(|(n, _)| n == name);
        match lines.iter_mut().find(|l| same(l)) {
            Some(line) => line.clone_from(field),
            None => lines.push(field.clone()),
        }
    }
    lines.join("\n")
}

fn getppid() -> libc::pid_t {
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() }
}

/// The pidfd inode id of `pid` (pidfs, Linux 6.9 and later), through the library.
pub fn pidfd_id(pid: libc::pid_t) -> Option<u64> {
    let fd = process::pidfd_open(pid)?;
    let mut id = 0u64;
    // SAFETY: a valid pidfd and out-pointer.
    let r = unsafe { readyd::sd_pidfd_get_inode_id(fd.as_raw_fd(), &mut id) };
    (r >= 0).then_some(id)
}

/// The service manager's pid, when `$MANAGERPID` names it (systemd sets it for the
/// services of a user manager; `readyd run` sets it too). With `$MANAGERPIDFDID`, only
/// while that pid is still the same process.
fn manager_pid() -> Option<libc::pid_t> {
    let pid: libc::pid_t = std::env::var("MANAGERPID").ok()?.parse().ok()?;
    if pid <= 0 {
        return None;
    }
    if let Some(want) = std::env::var("MANAGERPIDFDID")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        if pidfd_id(pid).is_some_and(|id| id != want) {
            return None;
        }
    }
    Some(pid)
}

/// `--pid=auto` and the default sender: the calling process, unless that is pid 1 or the
/// service manager itself (a command the manager ran directly speaks for itself).
fn parent_if_applicable() -> libc::pid_t {
    let parent = getppid();
    if parent == 1 || manager_pid() == Some(parent) {
        process::own_pid()
    } else {
        parent
    }
}

fn resolve(choice: PidChoice) -> Result<libc::pid_t, String> {
    Ok(match choice {
        PidChoice::Auto => parent_if_applicable(),
        PidChoice::Parent => getppid(),
        PidChoice::Itself => process::own_pid(),
        PidChoice::Pid(pid) => {
            // SAFETY: signal 0 only checks that the process exists.
            if unsafe { libc::kill(pid, 0) } < 0
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
            {
                return Err(format!("--pid={pid}: no such process"));
            }
            pid
        }
    })
}

/// `--uid=USER`: a user name, or a number (with the group of its passwd entry, if any).
fn resolve_user(user: &str) -> Result<(libc::uid_t, Option<libc::gid_t>), String> {
    let mut buf = vec![0u8; 16384];
    // SAFETY: passwd is plain data; getpwnam_r/getpwuid_r fill it.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    let Ok(name) = CString::new(user) else {
        return Err(format!("--uid={user}: not a user name"));
    };
    // SAFETY: valid name, out-pointers and buffer of the given length.
    unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            &mut pw,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut found,
        )
    };
    if !found.is_null() {
        return Ok((pw.pw_uid, Some(pw.pw_gid)));
    }
    let Ok(uid) = user.parse::<libc::uid_t>() else {
        return Err(format!("--uid={user}: no such user"));
    };
    // SAFETY: as above.
    unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr().cast(), buf.len(), &mut found) };
    Ok((uid, (!found.is_null()).then_some(pw.pw_gid)))
}

/// Switches the real uid (and gid) only: the effective ids keep the privilege to speak for
/// another pid, and the kernel reports the real ones to the receiver.
fn switch_real_ids(uid: libc::uid_t, gid: Option<libc::gid_t>) -> Result<(), String> {
    if let Some(gid) = gid {
        // SAFETY: plain id syscalls.
        if unsafe { libc::setregid(gid, libc::gid_t::MAX) } < 0 {
            return Err(format!(
                "cannot change the group to {gid}: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    // SAFETY: as above.
    if unsafe { libc::setreuid(uid, libc::uid_t::MAX) } < 0 {
        return Err(format!(
            "cannot change the user to {uid}: {} (--uid needs root)",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

fn fail(text: impl std::fmt::Display) -> i32 {
    eprintln!("readyd notify: {text}");
    1
}

pub fn notify(o: NotifyOptions) -> i32 {
    if o.booted {
        let message = o.ready
            || o.reloading
            || o.stopping
            || o.status.is_some()
            || o.pid.is_some()
            || !o.fds.is_empty()
            || !o.fields.is_empty()
            || o.ready_fd.is_some()
            || !o.exec.is_empty();
        if message {
            eprintln!("readyd notify: --booted sends nothing: the message is ignored");
        }
        let r = readyd::sd_booted();
        if r < 0 {
            eprintln!(
                "readyd notify: cannot tell whether systemd booted the system: {}",
                error_text(r)
            );
        }
        return if r > 0 { 0 } else { 1 };
    }

    if let Some(fd) = o.ready_fd {
        // The message ends with its newline here, so the library writes it in one piece:
        // a reader such as s6 closes the pipe at the first newline it sees, and a second
        // write after that would fail.
        let Ok(line) = CString::new(compose(&o, None) + "\n") else {
            return fail("the message holds a NUL byte");
        };
        // SAFETY: line is NUL-terminated; fd is the caller's to give away (it is closed
        // after the write, as s6 wants).
        let r = unsafe { readyd::readyd_notify_fd(fd, line.as_ptr()) };
        if r < 0 {
            return fail(format!("cannot write to fd {fd}: {}", error_text(r)));
        }
        return 0;
    }

    let main = match o.pid.map(resolve).transpose() {
        Ok(pid) => pid.map(|pid| MainPid {
            pid,
            pidfd_id: pidfd_id(pid),
        }),
        Err(e) => return fail(e),
    };
    // Arguments come from argv and the options were checked for newlines: no NUL inside.
    let Ok(message) = CString::new(compose(&o, main)) else {
        return fail("the message holds a NUL byte");
    };
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return fail(
            "NOTIFY_SOCKET is not set: no service manager is listening \
             (run this from a Type=notify service, or under `readyd run`)",
        );
    };
    let socket = socket.to_string_lossy();
    if let Some(user) = &o.uid {
        if let Err(e) = resolve_user(user).and_then(|(uid, gid)| switch_real_ids(uid, gid)) {
            return fail(e);
        }
    }
    // Sent on behalf of the --pid process, else of the caller (--pid=auto): the kernel
    // accepts that from a privileged sender; otherwise the library sends as this process.
    let sender = main.map_or_else(parent_if_applicable, |m| m.pid);
    // SAFETY: message is NUL-terminated; fds points at fds.len() ints.
    let r = unsafe {
        readyd::sd_pid_notify_with_fds(
            sender,
            0,
            message.as_ptr(),
            o.fds.as_ptr(),
            o.fds.len() as libc::c_uint,
        )
    };
    if r == -libc::E2BIG {
        return fail(format!(
            "too many descriptors: {} given with --fd",
            o.fds.len()
        ));
    }
    if r < 0 {
        return fail(format!(
            "cannot send to NOTIFY_SOCKET={socket}: {}",
            error_text(r)
        ));
    }
    if r == 0 {
        return fail("NOTIFY_SOCKET is not set: nothing was sent");
    }
    // The descriptors belong to the fd store now; the command run by --exec does not get
    // them (standard fds stay, as they are the caller's own too).
    for &fd in o.fds.iter().filter(|&&fd| fd > 2) {
        // SAFETY: closing a descriptor the caller handed over with --fd.
        unsafe { libc::close(fd) };
    }
    if !o.no_block {
        // Wait until the manager has read the message, so that it is credited before
        // the sender goes on or exits.
        let r = readyd::sd_pid_notify_barrier(sender, 0, BARRIER_TIMEOUT_USEC);
        if r == -libc::ETIMEDOUT {
            return fail(format!(
                "the message was sent, but the service manager did not confirm it within \
                 {} s (no answer to BARRIER=1); --no-block skips the wait",
                BARRIER_TIMEOUT_USEC / 1_000_000
            ));
        }
        if r < 0 {
            return fail(format!(
                "the message was sent, but the barrier failed: {}",
                error_text(r)
            ));
        }
    }
    if let Some((program, args)) = o.exec.split_first() {
        return exec(program, args);
    }
    0
}

/// `--exec`: replaces this process with the command; 127 when it is not found, 126 when
/// it cannot be run, as a shell says.
fn exec(program: &OsString, args: &[OsString]) -> i32 {
    let e = std::process::Command::new(program).args(args).exec();
    let code = if e.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    eprintln!(
        "readyd notify: cannot execute {}: {}",
        program.to_string_lossy(),
        process::error_text(&e)
    );
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_order() {
        let o = NotifyOptions {
            ready: true,
            stopping: true,
            status: Some("up".into()),
            fields: vec!["X_A=1".into()],
            ..Default::default()
        };
        let main = MainPid {
            pid: 42,
            pidfd_id: Some(7),
        };
        assert_eq!(
            compose(&o, Some(main)),
            "READY=1\nSTOPPING=1\nSTATUS=up\nMAINPID=42\nMAINPIDFDID=7\nX_A=1"
        );
    }

    #[test]
    fn fd_store_fields_and_replaced_fields() {
        let o = NotifyOptions {
            ready: true,
            fds: vec![4],
            fdname: Some("db".into()),
            fields: vec!["STATUS=b".into(), "READY=0".into(), "STATUS=c".into()],
            status: Some("a".into()),
            ..Default::default()
        };
        assert_eq!(compose(&o, None), "READY=0\nSTATUS=c\nFDSTORE=1\nFDNAME=db");
    }

    #[test]
    fn reloading_carries_the_monotonic_time() {
        let o = NotifyOptions {
            reloading: true,
            ..Default::default()
        };
        let before = monotonic_usec();
        let m = compose(&o, None);
        let (first, stamp) = m.split_once('\n').unwrap();
        assert_eq!(first, "RELOADING=1");
        let usec: u64 = stamp
            .strip_prefix("MONOTONIC_USEC=")
            .unwrap()
            .parse()
            .unwrap();
        assert!(usec >= before && usec <= monotonic_usec());
    }
}
