//! `readyd notify`: systemd-notify for shell scripts, on the library's own exports
//! (sd_pid_notify, sd_pid_notify_barrier, readyd_notify_fd, sd_booted). It composes one
//! message from the options and sends it; nothing of the protocol is done here.

use std::ffi::CString;

use crate::args::NotifyOptions;

/// How long the barrier waits for the service manager (microseconds).
const BARRIER_TIMEOUT_USEC: u64 = 5_000_000;

fn error_text(negative_errno: libc::c_int) -> String {
    crate::process::errno_text(-negative_errno)
}

/// The `MONOTONIC_USEC=` stamp, from the library, as `readyd_reloading()` sends it.
fn monotonic_usec() -> u64 {
    // CLOCK_MONOTONIC always exists on Linux; 0 would only mark an impossible failure.
    readyd::readiness::monotonic_usec().unwrap_or(0)
}

/// The message: one `FIELD=VALUE` line per item, in a fixed order, extra fields last.
pub fn compose(o: &NotifyOptions) -> String {
    let mut lines: Vec<String> = Vec::new();
    if o.ready {
        lines.push("READY=1".into());
    }
    if o.reloading {
        lines.push("RELOADING=1".into());
        lines.push(format!("MONOTONIC_USEC={}", monotonic_usec()));
    }
    if o.stopping {
        lines.push("STOPPING=1".into());
    }
    if let Some(s) = &o.status {
        lines.push(format!("STATUS={s}"));
    }
    if let Some(pid) = o.pid {
        lines.push(format!("MAINPID={pid}"));
    }
    lines.extend(o.fields.iter().cloned());
    lines.join("\n")
}

pub fn notify(o: NotifyOptions) -> i32 {
    if o.booted {
        let r = readyd::sd_booted();
        if r < 0 {
            eprintln!(
                "readyd notify: cannot tell whether systemd booted the system: {}",
                error_text(r)
            );
        }
        return if r > 0 { 0 } else { 1 };
    }
    // Arguments come from argv and the options were checked for newlines: no NUL inside.
    let Ok(message) = CString::new(compose(&o)) else {
        eprintln!("readyd notify: the message holds a NUL byte");
        return 2;
    };

    if let Some(fd) = o.fd {
        // The message ends with its newline here, so the library writes it in one piece:
        // a reader such as s6 closes the pipe at the first newline it sees, and a second
        // write after that would fail.
        let Ok(line) = CString::new(compose(&o) + "\n") else {
            eprintln!("readyd notify: the message holds a NUL byte");
            return 2;
        };
        // SAFETY: line is NUL-terminated; fd is the caller's to give away (it is closed
        // after the write, as s6 wants).
        let r = unsafe { readyd::readyd_notify_fd(fd, line.as_ptr()) };
        if r < 0 {
            eprintln!("readyd notify: cannot write to fd {fd}: {}", error_text(r));
            return 1;
        }
        return 0;
    }

    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        eprintln!(
            "readyd notify: NOTIFY_SOCKET is not set: no service manager is listening \
             (run this from a Type=notify service, or under `readyd run`)"
        );
        return 1;
    };
    let socket = socket.to_string_lossy();
    // Sent on behalf of --pid when given: a privileged caller is then credited to that
    // process; otherwise the library sends it as this one.
    let pid = o.pid.unwrap_or(0);
    // SAFETY: message is NUL-terminated.
    let r = unsafe { readyd::sd_pid_notify(pid, 0, message.as_ptr()) };
    if r < 0 {
        eprintln!(
            "readyd notify: cannot send to NOTIFY_SOCKET={socket}: {}",
            error_text(r)
        );
        return 1;
    }
    if r == 0 {
        eprintln!("readyd notify: NOTIFY_SOCKET is not set: nothing was sent");
        return 1;
    }
    if o.no_block {
        return 0;
    }
    // Wait until the manager has read the message, so it is credited to this process
    // (and its cgroup) before the script goes on or exits.
    let r = readyd::sd_pid_notify_barrier(pid, 0, BARRIER_TIMEOUT_USEC);
    if r == -libc::ETIMEDOUT {
        eprintln!(
            "readyd notify: the message was sent, but the service manager did not confirm it \
             within {} s (no answer to BARRIER=1); --no-block skips the wait",
            BARRIER_TIMEOUT_USEC / 1_000_000
        );
        return 1;
    }
    if r < 0 {
        eprintln!(
            "readyd notify: the message was sent, but the barrier failed: {}",
            error_text(r)
        );
        return 1;
    }
    0
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
            pid: Some(42),
            fields: vec!["X_A=1".into()],
            ..Default::default()
        };
        assert_eq!(
            compose(&o),
            "READY=1\nSTOPPING=1\nSTATUS=up\nMAINPID=42\nX_A=1"
        );
    }

    #[test]
    fn reloading_carries_the_monotonic_time() {
        let o = NotifyOptions {
            reloading: true,
            ..Default::default()
        };
        let before = monotonic_usec();
        let m = compose(&o);
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
