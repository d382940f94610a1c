/*
 * Fault injection for the libc calls readyd makes (LD_PRELOAD=fault-shim.so).
 *
 * Wraps socket, sendmsg, pipe2, fcntl (and fcntl64), ppoll, setsockopt, fstat, fork, write,
 * writev, close and name_to_handle_at. A wrapped call either goes through to libc or, when a rule says so, fails
 * with the rule's errno without doing anything (close is the exception: it really closes,
 * then reports the error, as Linux does: the fd is gone even when close fails).
 *
 * It also wraps syscall(2): readyd makes its system calls through it rather than through
 * one libc wrapper each (every import costs start-up time). Those system calls count as
 * the function of the same name and meet the same rules, so a rule for "sendmsg" fails
 * libsystemd's sendmsg() and readyd's syscall(SYS_sendmsg, ...) alike.
 *
 * A rule: function, errno, the first call to fail (counted from 1 since the rule was
 * armed) and how many calls in a row fail (0: every call from there on). Rules come from
 *
 *   READYD_FAULT="fn:ERRNO[:nth[:times]][,fn:ERRNO...]"   read once, at load time, e.g.
 *   READYD_FAULT=sendmsg:EAGAIN LD_PRELOAD=./fault-shim.so ./daemon
 *
 * or from a program that finds these functions with dlsym(RTLD_DEFAULT, ...) (the driver
 * does: it arms a rule right before the call under test and disarms it right after):
 *
 *   int fault_arm(const char *fn, int err, unsigned nth, unsigned times);  0, or -1: unknown fn
 *   void fault_reset(void);             disarm every rule, zero every counter
 *   unsigned fault_calls(const char *fn);     calls of fn since the last reset
 *   unsigned fault_injected(const char *fn);  of which failed by a rule
 *   int fault_errno(const char *name);        "EAGAIN" -> EAGAIN, 0 if unknown
 *
 * Single-threaded use only: the counters are plain globals.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum fn { F_SOCKET, F_SENDMSG, F_PIPE2, F_FCNTL, F_PPOLL, F_SETSOCKOPT, F_FSTAT, F_FORK,
          F_WRITE, F_WRITEV, F_CLOSE, F_NAME_TO_HANDLE_AT, F_COUNT };

static const char *const fn_names[F_COUNT] = {
    "socket", "sendmsg", "pipe2", "fcntl", "ppoll", "setsockopt", "fstat", "fork", "write",
    "writev", "close", "name_to_handle_at",
};

struct rule {
    int armed;
    int err;
    unsigned nth;   /* first failing call, from 1 */
    unsigned times; /* failing calls in a row; 0 = all from nth on */
};

static struct rule rules[F_COUNT];
static unsigned calls[F_COUNT];
static unsigned injected[F_COUNT];

static const struct {
    const char *name;
    int value;
} errnos[] = {
#define E(x) { #x, x }
    E(EMFILE), E(ENFILE), E(ENOBUFS), E(ENOMEM), E(EAGAIN), E(EINTR), E(EACCES), E(EPERM),
    E(EBADF), E(EMSGSIZE), E(EOVERFLOW), E(EPIPE), E(ENOSPC), E(EIO), E(EINVAL),
    E(ECONNREFUSED), E(ENOENT), E(ETIMEDOUT), E(EOPNOTSUPP), E(ENODEV), E(ENOPROTOOPT),
    E(EPROTONOSUPPORT), E(ESOCKTNOSUPPORT),
#undef E
};

int fault_errno(const char *name)
{
    for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
        if (strcmp(errnos[i].name, name) == 0)
            return errnos[i].value;
    return 0;
}

static int fn_id(const char *name)
{
    for (int i = 0; i < F_COUNT; i++)
        if (strcmp(fn_names[i], name) == 0)
            return i;
    return -1;
}

int fault_arm(const char *fn, int err, unsigned nth, unsigned times)
{
    int f = fn_id(fn);
    if (f < 0)
        return -1;
    rules[f] = (struct rule){ .armed = 1, .err = err, .nth = nth ? nth : 1, .times = times };
    calls[f] = 0;
    injected[f] = 0;
    return 0;
}

void fault_reset(void)
{
    memset(rules, 0, sizeof rules);
    memset(calls, 0, sizeof calls);
    memset(injected, 0, sizeof injected);
}

unsigned fault_calls(const char *fn)
{
    int f = fn_id(fn);
    return f < 0 ? 0 : calls[f];
}

unsigned fault_injected(const char *fn)
{
    int f = fn_id(fn);
    return f < 0 ? 0 : injected[f];
}

/* Counts the call; says whether it is to fail (errno then set). */
static int fail_now(enum fn f)
{
    unsigned n = ++calls[f];
    const struct rule *r = &rules[f];
    if (!r->armed || n < r->nth || (r->times && n >= r->nth + r->times))
        return 0;
    injected[f]++;
    errno = r->err;
    return 1;
}

/* READYD_FAULT, parsed once when the shim is loaded. */
__attribute__((constructor)) static void from_environment(void)
{
    const char *spec = getenv("READYD_FAULT");
    if (!spec || !*spec)
        return;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char *fn = strtok(item, ":"), *e = strtok(NULL, ":"), *nth = strtok(NULL, ":"),
             *times = strtok(NULL, ":");
        int err = e ? fault_errno(e) : 0;
        if (!fn || !err || fault_arm(fn, err, nth ? (unsigned) atoi(nth) : 1,
                                     times ? (unsigned) atoi(times) : 0) < 0) {
            static const char msg[] = "fault-shim: READYD_FAULT: bad rule (fn:ERRNO[:nth[:times]])\n";
            ssize_t ignored = write(2, msg, sizeof msg - 1);
            (void) ignored;
            _exit(2);
        }
    }
}

/* The real functions, looked up on first use. */
#define REAL(type, name, params)                                                            \
    static type(*real_##name) params;                                                       \
    if (!real_##name)                                                                       \
        *(void **) &real_##name = dlsym(RTLD_NEXT, #name);

int socket(int domain, int type, int protocol)
{
    REAL(int, socket, (int, int, int));
    if (fail_now(F_SOCKET))
        return -1;
    return real_socket(domain, type, protocol);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    REAL(ssize_t, sendmsg, (int, const struct msghdr *, int));
    if (fail_now(F_SENDMSG))
        return -1;
    return real_sendmsg(fd, msg, flags);
}

int pipe2(int fds[2], int flags)
{
    REAL(int, pipe2, (int[2], int));
    if (fail_now(F_PIPE2))
        return -1;
    return real_pipe2(fds, flags);
}

/* fcntl is variadic; every command readyd uses takes at most one argument, which is
 * passed on as a pointer-sized value (an int argument travels in the same register). */
int fcntl(int fd, int cmd, ...)
{
    REAL(int, fcntl, (int, int, ...));
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (fail_now(F_FCNTL))
        return -1;
    return real_fcntl(fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...)
{
    REAL(int, fcntl64, (int, int, ...));
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (fail_now(F_FCNTL))
        return -1;
    return real_fcntl64(fd, cmd, arg);
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout, const sigset_t *mask)
{
    REAL(int, ppoll, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *));
    if (fail_now(F_PPOLL))
        return -1;
    return real_ppoll(fds, n, timeout, mask);
}

int setsockopt(int fd, int level, int name, const void *value, socklen_t len)
{
    REAL(int, setsockopt, (int, int, int, const void *, socklen_t));
    if (fail_now(F_SETSOCKOPT))
        return -1;
    return real_setsockopt(fd, level, name, value, len);
}

int fstat(int fd, struct stat *st)
{
    REAL(int, fstat, (int, struct stat *));
    if (fail_now(F_FSTAT))
        return -1;
    return real_fstat(fd, st);
}

pid_t fork(void)
{
    REAL(pid_t, fork, (void));
    if (fail_now(F_FORK))
        return -1;
    return real_fork();
}

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(ssize_t, write, (int, const void *, size_t));
    if (fail_now(F_WRITE))
        return -1;
    return real_write(fd, buf, n);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    REAL(ssize_t, writev, (int, const struct iovec *, int));
    if (fail_now(F_WRITEV))
        return -1;
    return real_writev(fd, iov, n);
}

int close(int fd)
{
    REAL(int, close, (int));
    if (fail_now(F_CLOSE)) {
        int e = errno;
        real_close(fd);
        errno = e;
        return -1;
    }
    return real_close(fd);
}

/* The system calls readyd makes through syscall() that correspond to a wrapped function. */
static int syscall_fn(long number)
{
    switch (number) {
    case SYS_socket: return F_SOCKET;
    case SYS_sendmsg: return F_SENDMSG;
    case SYS_pipe2: return F_PIPE2;
    case SYS_fcntl: return F_FCNTL;
#ifdef SYS_fcntl64
    case SYS_fcntl64: return F_FCNTL;
#endif
    case SYS_ppoll: return F_PPOLL;
    case SYS_setsockopt: return F_SETSOCKOPT;
#ifdef SYS_fstat
    case SYS_fstat: return F_FSTAT;
#endif
    case SYS_write: return F_WRITE;
    case SYS_writev: return F_WRITEV;
    case SYS_close: return F_CLOSE;
    case SYS_name_to_handle_at: return F_NAME_TO_HANDLE_AT;
    default: return -1;
    }
}

/* Six arguments are passed on whatever the call takes, as libc's syscall() itself does:
 * the kernel ignores the ones a call does not have. */
long syscall(long number, ...)
{
    REAL(long, syscall, (long, ...));
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    int f = syscall_fn(number);
#ifdef SYS_statx
    /* statx on an fd (an empty path) is readyd's fstat */
    if (number == SYS_statx && (a[2] & AT_EMPTY_PATH) && a[1] && *(const char *) a[1] == '\0')
        f = F_FSTAT;
#endif
    if (f >= 0 && fail_now((enum fn) f)) {
        if (f == F_CLOSE) {
            int e = errno;
            real_syscall(number, a[0]);
            errno = e;
        }
        return -1;
    }
    return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

int name_to_handle_at(int dirfd, const char *path, struct file_handle *handle, int *mount_id,
                      int flags)
{
    REAL(int, name_to_handle_at, (int, const char *, struct file_handle *, int *, int));
    if (fail_now(F_NAME_TO_HANDLE_AT))
        return -1;
    return real_name_to_handle_at(dirfd, path, handle, mount_id, flags);
}
