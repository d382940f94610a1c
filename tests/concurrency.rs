//! Concurrency and signals: many threads notifying at once, sd_notify called from a signal
//! handler that interrupts the notifying thread, and a supervisor whose queue is full.
//!
//! What must hold: every message a call reported as sent (1) reaches the receiver exactly
//! once with exactly its bytes; a call that failed sent nothing; no call deadlocks. A full
//! queue makes the call wait, as libsystemd's does; a signal handler installed without
//! SA_RESTART ends the wait with -EINTR (and that message is not sent), one installed with
//! SA_RESTART does not end it.
//!
//! Every test holds the environment lock for its whole run: NOTIFY_SOCKET is process-wide,
//! and the tests install process-wide signal handlers and fork.

mod common;

use std::ffi::{CString, c_int};
use std::fs;
use std::io::Write as _;
use std::mem::{size_of, size_of_val, zeroed};
use std::os::fd::RawFd;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{Receiver, cstring, lock_env, own_pid, sd_notifyf};
use readyd::{sd_notify, sd_pid_notify, sd_pid_notify_with_fds};

/// Large enough for every message these tests send.
const BUF: usize = 4096;

/// One datagram as the receiver saw it: its length in `buf` and the sender's pid and uid.
struct Got {
    len: usize,
    pid: libc::pid_t,
    uid: libc::uid_t,
    fds: usize,
}

/// Receives one datagram into `buf`, waiting at most `timeout_ms`; None on timeout. The
/// buffer is reused from call to call, so the receiving side keeps up with many senders.
#[allow(
    clippy::useless_conversion,
    clippy::unnecessary_fallible_conversions,
    reason = "msg_controllen is a size_t on glibc, a socklen_t on musl"
)]
fn recv_into(fd: RawFd, buf: &mut [u8; BUF], timeout_ms: c_int) -> Option<Got> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
    if n == 0 {
        return None;
    }
    // Room for credentials and a few fds; u64 elements align it for cmsghdr.
    let mut control = [0u64; 64];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of_val(&control).try_into().unwrap();
    // SAFETY: msg describes live buffers of the lengths given.
    let len = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    assert!(len >= 0, "recvmsg: {}", std::io::Error::last_os_error());
    assert_eq!(msg.msg_flags & libc::MSG_TRUNC, 0, "datagram truncated");
    let mut got = Got {
        len: len as usize,
        pid: 0,
        uid: u32::MAX,
        fds: 0,
    };
    // SAFETY: the kernel filled msg_controllen bytes of control with cmsg headers; the
    // CMSG_* macros stay inside it and each payload is read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            let n = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::SOL_SOCKET, libc::SCM_CREDENTIALS) => {
                    let u = ptr::read_unaligned(data.cast::<libc::ucred>());
                    got.pid = u.pid;
                    got.uid = u.uid;
                }
                (libc::SOL_SOCKET, libc::SCM_RIGHTS) => {
                    for i in 0..n / size_of::<c_int>() {
                        libc::close(ptr::read_unaligned(data.cast::<c_int>().add(i)));
                        got.fds += 1;
                    }
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Some(got)
}

fn real_uid() -> libc::uid_t {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() }
}

/// net.unix.max_dgram_qlen: how many datagrams a receiver's queue holds.
fn max_dgram_qlen() -> usize {
    fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
        .expect("read max_dgram_qlen")
        .trim()
        .parse()
        .expect("parse max_dgram_qlen")
}

// ---- many threads ---------------------------------------------------------------------

const THREADS: usize = 16;
const PER_THREAD: usize = 10_000;

/// The message thread `t` sends as its `seq`-th: its id first, then a filler whose length
/// and letters depend on the id, so that a message mixed up with another, cut short or
/// run together is seen as corrupt.
fn threaded_message(t: usize, seq: usize, out: &mut Vec<u8>) {
    out.clear();
    write!(out, "X_THREAD={t:02}\nX_SEQ={seq:05}\nSTATUS=").expect("write to a Vec");
    for i in 0..(t * 7 + seq * 13) % 97 {
        out.push(b'a' + ((t + seq + i) % 26) as u8);
    }
}

/// Reads the id back from a received message: `X_THREAD=tt\nX_SEQ=sssss\n...`.
fn parse_id(bytes: &[u8]) -> Option<(usize, usize)> {
    let num = |s: &[u8]| std::str::from_utf8(s).ok()?.parse::<usize>().ok();
    if bytes.len() < 25 || &bytes[..9] != b"X_THREAD=" || &bytes[11..18] != b"\nX_SEQ=" {
        return None;
    }
    Some((num(&bytes[9..11])?, num(&bytes[18..23])?))
}

/// 16 threads × 10,000 notifications at one receiver, four entry points mixed (sd_notify,
/// sd_pid_notify for the own pid, sd_pid_notify_with_fds without fds, sd_notifyf). The
/// receiver's queue holds only a few datagrams (net.unix.max_dgram_qlen), so the senders
/// keep blocking on it: none may fail, and every message arrives exactly once, intact,
/// with this process's credentials.
#[test]
fn sixteen_threads_each_message_arrives_exactly_once() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let fd = rx.raw_fd();
    let total = THREADS * PER_THREAD;
    let senders_done = AtomicBool::new(false);
    let start = Instant::now();

    let (failures, report) = thread::scope(|s| {
        let receiver = s.spawn(|| {
            let mut seen = vec![0u8; total];
            let (mut received, mut corrupt, mut duplicates, mut foreign) = (0usize, 0, 0, 0);
            let mut first_bad: Option<String> = None;
            let mut buf = [0u8; BUF];
            let mut expected = Vec::with_capacity(BUF);
            let (me, uid) = (own_pid(), real_uid());
            while received < total {
                let Some(got) = recv_into(fd, &mut buf, 200) else {
                    if senders_done.load(Ordering::Acquire) {
                        break; // nothing more will come
                    }
                    continue;
                };
                received += 1;
                let bytes = &buf[..got.len];
                if got.pid != me || got.uid != uid || got.fds != 0 {
                    foreign += 1;
                }
                let ok = parse_id(bytes).filter(|&(t, q)| t < THREADS && q < PER_THREAD);
                let Some((t, q)) = ok else {
                    corrupt += 1;
                    first_bad.get_or_insert_with(|| String::from_utf8_lossy(bytes).into());
                    continue;
                };
                threaded_message(t, q, &mut expected);
                if bytes != expected.as_slice() {
                    corrupt += 1;
                    first_bad.get_or_insert_with(|| String::from_utf8_lossy(bytes).into());
                    continue;
                }
                let slot = &mut seen[t * PER_THREAD + q];
                if *slot != 0 {
                    duplicates += 1;
                }
                *slot = 1;
            }
            let missing = seen.iter().filter(|&&s| s == 0).count();
            (received, corrupt, duplicates, foreign, missing, first_bad)
        });

        let senders: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || {
                    let mut failed = 0usize;
                    let mut msg = Vec::with_capacity(BUF);
                    for seq in 0..PER_THREAD {
                        threaded_message(t, seq, &mut msg);
                        let c = CString::new(msg.as_slice()).expect("no NUL in messages");
                        // SAFETY: c is NUL-terminated and outlives each call; the format
                        // "%s" takes exactly the one string passed.
                        let r = unsafe {
                            match t % 4 {
                                0 => sd_notify(0, c.as_ptr()),
                                1 => sd_pid_notify(own_pid(), 0, c.as_ptr()),
                                2 => sd_pid_notify_with_fds(0, 0, c.as_ptr(), ptr::null(), 0),
                                _ => sd_notifyf(0, c"%s".as_ptr(), c.as_ptr()),
                            }
                        };
                        if r != 1 {
                            failed += 1;
                        }
                    }
                    failed
                })
            })
            .collect();
        let failures: usize = senders
            .into_iter()
            .map(|h| h.join().expect("sender thread"))
            .sum();
        senders_done.store(true, Ordering::Release);
        (failures, receiver.join().expect("receiver thread"))
    });
    let elapsed = start.elapsed();
    let (received, corrupt, duplicates, foreign, missing, first_bad) = report;
    println!(
        "{THREADS} threads x {PER_THREAD} notifications: {received} received in {:.2} s \
         ({failures} failed calls, {missing} missing, {duplicates} duplicated, {corrupt} corrupt)",
        elapsed.as_secs_f64()
    );
    assert_eq!(failures, 0, "calls that did not return 1");
    assert_eq!(corrupt, 0, "corrupt datagrams; the first: {first_bad:?}");
    assert_eq!(duplicates, 0, "datagrams received twice");
    assert_eq!(foreign, 0, "datagrams with other credentials or with fds");
    assert_eq!(missing, 0, "messages never received");
    assert_eq!(received, total);
    rx.assert_nothing();
    assert!(env.notify_socket_set(), "NOTIFY_SOCKET removed");
}

// ---- sd_notify from a signal handler --------------------------------------------------

/// The main loop's messages in the child.
const MAIN_MESSAGES: u32 = 5_000;

// State of the forked child, shared between its main loop and its SIGALRM handler. Only
// lock-free atomics: the handler may run at any instruction of the main loop.
static SIG_NEXT: AtomicU32 = AtomicU32::new(0);
static SIG_FAILED: AtomicU32 = AtomicU32::new(0);
static SIG_LAST_ERROR: AtomicI32 = AtomicI32::new(0);
static IN_CALL: AtomicBool = AtomicBool::new(false);
static SIG_DURING_CALL: AtomicU32 = AtomicU32::new(0);

/// Writes `prefix`, the decimal `n` and a NUL into `buf`, without allocating.
fn format_id(buf: &mut [u8; 64], prefix: &[u8], n: u32) {
    buf[..prefix.len()].copy_from_slice(prefix);
    let mut digits = [0u8; 10];
    let (mut i, mut v) = (digits.len(), n);
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let d = &digits[i..];
    buf[prefix.len()..prefix.len() + d.len()].copy_from_slice(d);
    buf[prefix.len() + d.len()] = 0;
}

const SIG_PREFIX: &[u8] = b"WATCHDOG=1\nX_SIG=";
const MAIN_PREFIX: &[u8] = b"STATUS=main loop\nX_MAIN=";

/// The SIGALRM handler: one notification with its own sequence number. It uses only what
/// a handler may (atomics, a stack buffer, sd_notify with unset_environment 0), and keeps
/// errno as it found it.
extern "C" fn notify_from_handler(_: c_int) {
    // SAFETY: __errno_location returns this thread's errno, always valid.
    let errno = unsafe { *libc::__errno_location() };
    if IN_CALL.load(Ordering::Relaxed) {
        SIG_DURING_CALL.fetch_add(1, Ordering::Relaxed);
    }
    let n = SIG_NEXT.fetch_add(1, Ordering::Relaxed);
    let mut buf = [0u8; 64];
    format_id(&mut buf, SIG_PREFIX, n);
    // SAFETY: buf holds a NUL-terminated string.
    let r = unsafe { sd_notify(0, buf.as_ptr().cast()) };
    if r != 1 {
        SIG_FAILED.fetch_add(1, Ordering::Relaxed);
        SIG_LAST_ERROR.store(r, Ordering::Relaxed);
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// What the child reports through its pipe.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
struct ChildReport {
    main_sent: u32,
    main_failed: u32,
    main_last_error: i32,
    main_eintr: u32,
    sig_total: u32,
    sig_failed: u32,
    sig_last_error: i32,
    sig_during_call: u32,
}

/// The child's whole life: a timer firing SIGALRM every 50 µs while the main loop sends
/// MAIN_MESSAGES notifications. With `restart` the handler has SA_RESTART and every call
/// must succeed; without it, a call interrupted while the queue is full returns -EINTR and
/// is retried with the same message, so -EINTR must mean "not sent" (else the receiver
/// sees a duplicate). Only async-signal-safe calls: it runs in a fork of a threaded
/// process.
fn signal_child(report_fd: RawFd, restart: bool) -> ! {
    // SAFETY: plain data structures and syscalls; the handler is a valid extern "C" fn.
    unsafe {
        let mut action: libc::sigaction = zeroed();
        action.sa_sigaction = notify_from_handler as *const () as libc::sighandler_t;
        action.sa_flags = if restart { libc::SA_RESTART } else { 0 };
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGALRM, &action, ptr::null_mut());
        let mut unblock: libc::sigset_t = zeroed();
        libc::sigemptyset(&mut unblock);
        libc::sigaddset(&mut unblock, libc::SIGALRM);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &unblock, ptr::null_mut());
        let tick = libc::timeval {
            tv_sec: 0,
            tv_usec: 50,
        };
        let timer = libc::itimerval {
            it_interval: tick,
            it_value: tick,
        };
        libc::setitimer(libc::ITIMER_REAL, &timer, ptr::null_mut());
    }
    let mut report = ChildReport::default();
    let mut buf = [0u8; 64];
    let mut i = 0;
    while i < MAIN_MESSAGES {
        format_id(&mut buf, MAIN_PREFIX, i);
        IN_CALL.store(true, Ordering::Relaxed);
        // SAFETY: buf holds a NUL-terminated string.
        let r = unsafe { sd_notify(0, buf.as_ptr().cast()) };
        IN_CALL.store(false, Ordering::Relaxed);
        match r {
            1 => {
                report.main_sent += 1;
                i += 1;
            }
            r if r == -libc::EINTR && !restart => report.main_eintr += 1,
            r => {
                report.main_failed += 1;
                report.main_last_error = r;
                i += 1;
            }
        }
    }
    let off = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
    };
    // SAFETY: stops the timer; SIGALRM is then blocked so no handler runs while the
    // report is taken.
    unsafe {
        libc::setitimer(libc::ITIMER_REAL, &off, ptr::null_mut());
        let mut block: libc::sigset_t = zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGALRM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &block, ptr::null_mut());
    }
    report.sig_total = SIG_NEXT.load(Ordering::Relaxed);
    report.sig_failed = SIG_FAILED.load(Ordering::Relaxed);
    report.sig_last_error = SIG_LAST_ERROR.load(Ordering::Relaxed);
    report.sig_during_call = SIG_DURING_CALL.load(Ordering::Relaxed);
    // SAFETY: report is plain data of the size written.
    let n = unsafe {
        libc::write(
            report_fd,
            ptr::from_ref(&report).cast(),
            size_of::<ChildReport>(),
        )
    };
    // SAFETY: leaves the child without running anything of the parent's.
    unsafe {
        libc::_exit(if n == size_of::<ChildReport>() as isize {
            0
        } else {
            99
        })
    }
}

/// What the receiver counted of the child's messages.
#[derive(Debug, Default)]
struct SignalCount {
    main: Vec<u8>,
    sig: Vec<u8>,
    corrupt: usize,
    duplicates: usize,
    foreign: usize,
    first_bad: Option<String>,
}

impl SignalCount {
    fn add(&mut self, bytes: &[u8], got: &Got, child: libc::pid_t) {
        if got.pid != child || got.fds != 0 {
            self.foreign += 1;
        }
        let id = |prefix: &[u8]| -> Option<usize> {
            let rest = bytes.strip_prefix(prefix)?;
            if rest.is_empty() || rest.len() > 10 || (rest.len() > 1 && rest[0] == b'0') {
                return None; // the exact form format_id writes
            }
            std::str::from_utf8(rest).ok()?.parse().ok()
        };
        let (table, n) = match (id(MAIN_PREFIX), id(SIG_PREFIX)) {
            (Some(n), None) => (&mut self.main, n),
            (None, Some(n)) => (&mut self.sig, n),
            _ => {
                self.corrupt += 1;
                self.first_bad
                    .get_or_insert_with(|| String::from_utf8_lossy(bytes).into());
                return;
            }
        };
        if table.len() <= n {
            table.resize(n + 1, 0);
        }
        if table[n] != 0 {
            self.duplicates += 1;
        }
        table[n] = 1;
    }
}

/// Runs `signal_child` in a fork while this process receives; the receiver pauses briefly
/// every 500 datagrams so that the queue fills and the child's calls block, which is when
/// a signal can interrupt them. Bounded: a child still running after 60 s is a deadlock.
fn run_signal_child(restart: bool) -> (ChildReport, SignalCount, Duration) {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let mut p = [0 as c_int; 2];
    // SAFETY: room for two fds.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let start = Instant::now();
    // SAFETY: the child makes only async-signal-safe calls (see signal_child). The
    // environment lock is held, so no test thread is inside setenv at the fork.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork");
    if child == 0 {
        signal_child(p[1], restart);
    }
    // SAFETY: the parent's copy of the write end, not used here.
    unsafe { libc::close(p[1]) };

    let mut count = SignalCount::default();
    let mut buf = [0u8; BUF];
    let mut status = 0;
    let mut received = 0usize;
    let mut exited = false;
    loop {
        match recv_into(rx.raw_fd(), &mut buf, 100) {
            Some(got) => {
                received += 1;
                count.add(&buf[..got.len], &got, child);
                if received % 500 == 0 {
                    thread::sleep(Duration::from_millis(1));
                }
            }
            None if exited => break, // the child is gone and the queue is empty
            None => {}
        }
        if !exited {
            // SAFETY: a valid out-pointer; the child is ours.
            let r = unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) };
            exited = r == child;
        }
        if !exited && start.elapsed() > Duration::from_secs(60) {
            // SAFETY: our own child, stuck.
            unsafe {
                libc::kill(child, libc::SIGKILL);
                libc::waitpid(child, &mut status, 0);
            }
            panic!("deadlock: the child still runs after 60 s ({received} received)");
        }
    }
    let elapsed = start.elapsed();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child ended with status {status:#x} (99: could not report)"
    );
    let mut report = ChildReport::default();
    // SAFETY: reads at most size_of::<ChildReport>() bytes into report.
    let n = unsafe {
        libc::read(
            p[0],
            ptr::from_mut(&mut report).cast(),
            size_of::<ChildReport>(),
        )
    };
    // SAFETY: our read end, closed once.
    unsafe { libc::close(p[0]) };
    assert_eq!(n, size_of::<ChildReport>() as isize, "child report");
    drop(env);
    (report, count, elapsed)
}

/// Checks the counts against the child's report: every message sent arrived once.
fn check_signal_run(restart: bool) {
    let (report, count, elapsed) = run_signal_child(restart);
    let main_seen = count.main.iter().filter(|&&s| s != 0).count();
    let sig_seen = count.sig.iter().filter(|&&s| s != 0).count();
    println!(
        "SIGALRM every 50 us, SA_RESTART {restart}: {} main-loop and {} handler notifications \
         in {:.2} s; {} signals landed inside sd_notify; {} main-loop calls ended with -EINTR \
         and were sent again; {} corrupt, {} duplicated",
        report.main_sent,
        report.sig_total,
        elapsed.as_secs_f64(),
        report.sig_during_call,
        report.main_eintr,
        count.corrupt,
        count.duplicates,
    );
    assert_eq!(
        (report.main_failed, report.main_last_error),
        (0, 0),
        "main-loop calls that failed"
    );
    assert_eq!(
        (report.sig_failed, report.sig_last_error),
        (0, 0),
        "handler calls that failed"
    );
    if restart {
        assert_eq!(report.main_eintr, 0, "-EINTR although SA_RESTART is set");
    }
    assert_eq!(count.corrupt, 0, "corrupt datagrams: {:?}", count.first_bad);
    assert_eq!(
        count.duplicates, 0,
        "datagrams received twice (an -EINTR that had sent?)"
    );
    assert_eq!(count.foreign, 0, "datagrams from another pid or with fds");
    assert_eq!(report.main_sent, MAIN_MESSAGES);
    assert_eq!(main_seen, MAIN_MESSAGES as usize, "main-loop messages lost");
    assert_eq!(sig_seen, report.sig_total as usize, "handler messages lost");
    assert!(
        report.sig_total >= 100,
        "the timer hardly fired ({} signals): the test proves little",
        report.sig_total
    );
    assert!(
        report.sig_during_call >= 10,
        "only {} signals interrupted a call in progress",
        report.sig_during_call
    );
}

/// sd_notify from a SIGALRM handler (SA_RESTART) that keeps interrupting a main loop
/// which is itself inside sd_notify: no deadlock, no failure, nothing lost or mixed up.
#[test]
fn notify_from_a_signal_handler_interrupting_notify() {
    check_signal_run(true);
}

/// The same without SA_RESTART: a main-loop call interrupted while the queue is full
/// returns -EINTR; sending it again never makes a duplicate (it had not been sent).
#[test]
fn notify_interrupted_without_sa_restart_never_sent_twice() {
    check_signal_run(false);
}

// ---- a full queue ---------------------------------------------------------------------

static USR_HANDLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_signal(_: c_int) {
    USR_HANDLED.fetch_add(1, Ordering::SeqCst);
}

/// Installs `count_signal` for `sig`, with or without SA_RESTART; returns the old action.
fn install(sig: c_int, restart: bool) -> libc::sigaction {
    // SAFETY: plain data structures; the handler is a valid extern "C" fn that only
    // touches an atomic.
    unsafe {
        let mut action: libc::sigaction = zeroed();
        action.sa_sigaction = count_signal as *const () as libc::sighandler_t;
        action.sa_flags = if restart { libc::SA_RESTART } else { 0 };
        libc::sigemptyset(&mut action.sa_mask);
        let mut old: libc::sigaction = zeroed();
        assert_eq!(libc::sigaction(sig, &action, &mut old), 0, "sigaction");
        old
    }
}

fn restore(sig: c_int, old: &libc::sigaction) {
    // SAFETY: puts back the action sigaction returned earlier.
    unsafe { libc::sigaction(sig, old, ptr::null_mut()) };
}

/// The scheduler state of one of this process's threads ('R', 'S', ...).
fn thread_state(tid: libc::pid_t) -> char {
    let stat = fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default();
    // The state follows the command name, which is in parentheses.
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
        .unwrap_or('?')
}

/// A thread that notifies until told to stop, recording each result.
struct Sender {
    sent: AtomicUsize,
    tid: AtomicI32,
    stop: AtomicBool,
}

impl Sender {
    fn new() -> Sender {
        Sender {
            sent: AtomicUsize::new(0),
            tid: AtomicI32::new(0),
            stop: AtomicBool::new(false),
        }
    }

    /// Sends `QUEUE=<n>` for n = 0, 1, ... until a call fails or `stop` is set; returns
    /// the failing call's result, or 1.
    fn run(&self) -> c_int {
        // SAFETY: gettid has no preconditions.
        self.tid.store(unsafe { libc::gettid() }, Ordering::SeqCst);
        let mut n = 0;
        while !self.stop.load(Ordering::SeqCst) {
            let msg = cstring(format!("QUEUE={n}"));
            // SAFETY: msg is NUL-terminated.
            let r = unsafe { sd_notify(0, msg.as_ptr()) };
            if r != 1 {
                return r;
            }
            n += 1;
            self.sent.store(n, Ordering::SeqCst);
        }
        1
    }

    /// Sends `sig` to the sender thread alone (tgkill), which is blocked in its call.
    fn signal(&self, sig: c_int) {
        let tid = self.tid.load(Ordering::SeqCst);
        // SAFETY: tgkill only sends a signal; the thread is alive (its scope has not
        // ended) and `sig` has a handler installed.
        let r = unsafe { libc::syscall(libc::SYS_tgkill, own_pid(), tid, sig) };
        assert_eq!(r, 0, "tgkill: {}", std::io::Error::last_os_error());
    }

    /// Waits until the sender has made no progress for 300 ms and sleeps in the kernel:
    /// its call is blocked on the full queue. Returns how many calls returned before.
    fn wait_blocked(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut last = usize::MAX;
        let mut since = Instant::now();
        loop {
            assert!(Instant::now() < deadline, "the sender never blocked");
            let now = self.sent.load(Ordering::SeqCst);
            let tid = self.tid.load(Ordering::SeqCst);
            if now != last {
                (last, since) = (now, Instant::now());
            } else if tid != 0
                && since.elapsed() >= Duration::from_millis(300)
                && thread_state(tid) == 'S'
            {
                return now;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Receives and checks the sender's messages `from..to`, in order, then nothing more.
fn expect_queue_messages(rx: &Receiver, from: usize, to: usize) {
    for n in from..to {
        rx.recv().assert_bytes(format!("QUEUE={n}").as_bytes());
    }
}

/// A full queue blocks the call (it does not fail, it does not return); a signal whose
/// handler lacks SA_RESTART then makes it return -EINTR, with nothing sent. The number
/// sent before is what the kernel's queue holds (max_dgram_qlen, plus one).
#[test]
fn full_queue_blocks_and_a_signal_without_sa_restart_gives_eintr() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let old = install(libc::SIGUSR1, false);
    let sender = Sender::new();
    let (queued, r) = thread::scope(|s| {
        let h = s.spawn(|| sender.run());
        let queued = sender.wait_blocked();
        let before = USR_HANDLED.load(Ordering::SeqCst);
        sender.signal(libc::SIGUSR1);
        let r = h.join().expect("sender thread");
        assert!(USR_HANDLED.load(Ordering::SeqCst) > before, "handler ran");
        (queued, r)
    });
    restore(libc::SIGUSR1, &old);
    println!("full queue: {queued} datagrams queued, then the call blocked; SIGUSR1 -> {r}");
    assert_eq!(r, -libc::EINTR, "a blocked call interrupted by a signal");
    let qlen = max_dgram_qlen();
    assert!(
        queued == qlen || queued == qlen + 1,
        "{queued} queued with max_dgram_qlen {qlen}"
    );
    expect_queue_messages(&rx, 0, queued);
    rx.assert_nothing();
    assert!(env.notify_socket_set(), "NOTIFY_SOCKET removed");
}

/// With SA_RESTART the signal does not end the wait: the call stays blocked, and returns
/// 1 once the receiver makes room; that message arrives exactly once.
#[test]
fn full_queue_with_sa_restart_keeps_waiting_then_sends_once() {
    let env = lock_env();
    let rx = Receiver::path();
    env.set("NOTIFY_SOCKET", &rx.address);
    let old = install(libc::SIGUSR2, true);
    let sender = Sender::new();
    let (queued, r) = thread::scope(|s| {
        let h = s.spawn(|| sender.run());
        let queued = sender.wait_blocked();
        sender.stop.store(true, Ordering::SeqCst);
        let before = USR_HANDLED.load(Ordering::SeqCst);
        sender.signal(libc::SIGUSR2);
        let deadline = Instant::now() + Duration::from_secs(5);
        while USR_HANDLED.load(Ordering::SeqCst) == before {
            assert!(Instant::now() < deadline, "the handler never ran");
            thread::sleep(Duration::from_millis(1));
        }
        // Still blocked a while after the handler ran: the call was restarted.
        thread::sleep(Duration::from_millis(300));
        assert!(
            !h.is_finished(),
            "the call returned although SA_RESTART is set"
        );
        assert_eq!(sender.sent.load(Ordering::SeqCst), queued);
        // Make room: the blocked call completes.
        expect_queue_messages(&rx, 0, 1);
        let r = h.join().expect("sender thread");
        (queued, r)
    });
    restore(libc::SIGUSR2, &old);
    println!("full queue, SA_RESTART: still blocked 300 ms after the signal; then {r}");
    assert_eq!(r, 1, "the restarted call, once there was room");
    assert_eq!(sender.sent.load(Ordering::SeqCst), queued + 1);
    expect_queue_messages(&rx, 1, queued + 1);
    rx.assert_nothing();
    assert!(env.notify_socket_set(), "NOTIFY_SOCKET removed");
}
