/*
 * Fault-injection driver (tests/fault/run.sh runs it under LD_PRELOAD=fault-shim.so).
 *
 *   driver LIBRARY        e.g. build/libreadyd.so.0
 *
 * For each scenario (one API call in a known setting) the driver first runs the call
 * without faults, counting how often it calls each wrapped libc function. Then, for each
 * of those functions, each call of it (the 1st, 2nd, ...) and each errno the function can
 * return in practice, it runs the call again with exactly that call failing, and checks:
 *
 *   - the return value is what the spec and readyd's documentation give for that failure
 *     (usually -errno; a failing sendmsg with credentials attached is retried once without
 *     them; EMSGSIZE raises the send buffer and retries once; EINTR is never retried by the
 *     sd_* calls; a failed close or setsockopt is ignored where the call only cleans up or
 *     tunes), and the injected failure was really reached;
 *   - no fd was left open: /proc/self/fd before and after the call are the same (less the
 *     fd the call is documented to consume);
 *   - unset_environment was applied as documented, on the failure path too;
 *   - what reached the receiving socket (nothing after a failed send, one datagram else);
 *   - the process did not crash or hang (each run is a forked child, with an alarm).
 *
 * Prints one ok / not ok line per scenario and function, the failing runs under it, and
 * "N passed, M failed" counted per run. Exit status 0 only if nothing failed.
 *
 *   driver --seccomp LIBRARY     (also under the shim, which then only counts)
 *
 * The same scenarios with the kernel failing the calls instead of the shim: each run makes
 * the API call in a thread of its own that first installs a seccomp filter
 * (SECCOMP_RET_ERRNO) for the system calls behind one function, so every such call of the
 * API fails with one errno, whether the library makes it through a libc wrapper, through
 * syscall(2) or with an instruction of its own. The filter is the thread's alone: the checks
 * after the call run unfiltered in the main thread. The shim, unarmed, still counts the
 * calls (which functions a scenario calls at all, and the call-count checks). Left to the
 * shim: the runs that fail one call only (the 2nd fork of readyd_daemonize, a single EINTR
 * that a write resumes after, the vsock socket types), and a failing close: a close that
 * seccomp refuses keeps its fd, which no close(2) error of the kernel does.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the library under test ------------------------------------------------------- */

static struct {
    int (*notify)(int, const char *);
    int (*notifyf)(int, const char *, ...);
    int (*pid_notify)(pid_t, int, const char *);
    int (*pid_notify_with_fds)(pid_t, int, const char *, const int *, unsigned);
    int (*notify_barrier)(int, uint64_t);
    int (*pid_notify_barrier)(pid_t, int, uint64_t);
    int (*listen_fds)(int);
    int (*listen_fds_with_names)(int, char ***);
    int (*is_fifo)(int, const char *);
    int (*is_special)(int, const char *);
    int (*is_socket)(int, int, int, int);
    int (*is_socket_inet)(int, int, int, int, uint16_t);
    int (*is_socket_sockaddr)(int, int, const struct sockaddr *, unsigned, int);
    int (*is_socket_unix)(int, int, int, const char *, size_t);
    int (*is_mq)(int, const char *);
    int (*pidfd_get_inode_id)(int, uint64_t *);
    int (*notify_fd)(int, const char *);
    int (*ready)(const char *);
    int (*daemonize)(unsigned, const char *);
    int (*failed)(int, const char *);
    int (*reloading)(void);
    int (*stopping)(void);
} api;

/* ---- the shim's controls ---------------------------------------------------------- */

static int (*fault_arm)(const char *, int, unsigned, unsigned);
static void (*fault_reset)(void);
static unsigned (*fault_calls)(const char *);
static unsigned (*fault_injected)(const char *);

static const char *const wrapped[] = {
    "socket", "sendmsg", "pipe2", "fcntl", "ppoll", "setsockopt", "fstat", "fork", "write",
    "writev", "close", "name_to_handle_at",
};
/* Their places in that list. */
enum { W_SENDMSG = 1, W_PPOLL = 4, W_WRITE = 8, W_WRITEV = 9 };
enum { N_WRAPPED = sizeof wrapped / sizeof wrapped[0] };

/* The errnos each function returns in practice (its man page, plus what an LSM or the
 * allocator can add). EMSGSIZE for sendmsg has a scenario of its own. */
struct errno_set {
    const char *fn;
    int errs[8];
};
static const struct errno_set practical[] = {
    { "socket", { EMFILE, ENFILE, ENOBUFS, ENOMEM, EACCES, EPERM } },
    { "sendmsg", { EAGAIN, EINTR, ENOBUFS, ENOMEM, EACCES, EPERM } },
    { "pipe2", { EMFILE, ENFILE, ENOMEM } },
    { "fcntl", { EBADF, EINTR, EAGAIN, EACCES, EPERM } },
    { "ppoll", { EINTR, ENOMEM } },
    { "setsockopt", { EPERM, ENOBUFS, ENOMEM, EACCES } },
    { "fstat", { EACCES, ENOMEM, EOVERFLOW } },
    { "fork", { EAGAIN, ENOMEM } },
    { "write", { EAGAIN, EINTR, EPIPE, ENOSPC, EIO } },
    { "writev", { EAGAIN, EINTR, EPIPE, ENOSPC, EIO } },
    { "close", { EINTR, EIO } },
    { "name_to_handle_at", { EOPNOTSUPP, EPERM, EACCES, EOVERFLOW, EINVAL, ENOMEM } },
};

static const int *errs_of(const char *fn)
{
    for (size_t i = 0; i < sizeof practical / sizeof practical[0]; i++)
        if (strcmp(practical[i].fn, fn) == 0)
            return practical[i].errs;
    return NULL;
}

static const char *errname(int e)
{
    static char b[16];
    switch (e) {
#define N(x) case x: return #x;
    N(EMFILE) N(ENFILE) N(ENOBUFS) N(ENOMEM) N(EAGAIN) N(EINTR) N(EACCES) N(EPERM)
    N(EBADF) N(EMSGSIZE) N(EOVERFLOW) N(EPIPE) N(ENOSPC) N(EIO) N(EBUSY) N(ETIMEDOUT)
    N(EINVAL) N(EOPNOTSUPP) N(ENODEV) N(ENOPROTOOPT) N(EPROTONOSUPPORT) N(ESOCKTNOSUPPORT)
#undef N
    default:
        snprintf(b, sizeof b, "%d", e);
        return b;
    }
}

/* A return value as text: "-EAGAIN", "1". */
static void rname(char *b, size_t cap, int r)
{
    if (r < 0)
        snprintf(b, cap, "-%s", errname(-r));
    else
        snprintf(b, cap, "%d", r);
}

/* ---- one run, in a forked child --------------------------------------------------- */

struct fault {
    const char *fn; /* NULL: none */
    int err;
    unsigned nth, times;
};

/* What the run saw. */
struct seen {
    int r;
    int recv;           /* datagrams that reached the receiver (-1: not watched) */
    pid_t recv_pid;     /* the sender pid the receiver saw on the last one */
    int recv_fds;       /* fds that came with them */
    char cloexec[8];    /* fds 3.. after the call: y/n/- */
    int names_set;      /* sd_listen_fds_with_names stored *names */
    char payload[64];   /* what a notification fd got */
};

/* What the oracle wants; fields left at their "any" value are not checked. */
struct want {
    int r;
    int recv;            /* -1: any */
    int recv_pid_self;   /* 1: own pid, 2: pid 1, 0: any */
    const char *cloexec; /* NULL: any */
    int names_set;       /* -1: any */
    const char *payload; /* NULL: any */
    unsigned sendmsg_calls; /* 0: any */
    unsigned ppoll_calls;   /* 0: any */
    unsigned write_calls;   /* write and writev together; 0: any */
};

struct ctx {
    int unset;
    char rx_path[108];
    int rx;        /* receiving datagram socket, or -1 */
    int pipe_r, pipe_w;
    int aux;       /* a scenario's extra fd */
    int consumed;  /* the fd the call is documented to close, or -1 */
    pid_t helper;  /* a reading "supervisor", or 0 */
    int helper_used;
    char path[200];
};

struct scenario {
    const char *name;
    const char *fns;        /* the wrapped functions to fail, comma-separated */
    int unset_variants;     /* run with unset_environment 0 and 1 */
    int needs_root;
    int no_baseline;        /* the call without a fault must not run (it would fork) */
    int persistent_only;    /* only failures that persist (a passing retry would fork) */
    const char *env_vars;   /* variables that unset_environment removes (comma list) */
    const char *env_always_gone; /* variables gone after every call */
    struct fault base;      /* a rule armed in every run of the scenario (fn NULL: none) */
    int (*setup)(struct ctx *);  /* 0, or 1 to skip the scenario here */
    int (*call)(struct ctx *, struct seen *);
    void (*oracle)(const struct ctx *, const struct fault *, struct want *);
};

/* ---- seccomp mode ------------------------------------------------------------------ */

static int seccomp_mode;

#if defined(__x86_64__)
#define SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define SECCOMP_ARCH AUDIT_ARCH_I386
#elif defined(__aarch64__)
#define SECCOMP_ARCH AUDIT_ARCH_AARCH64
#endif

/* A system call behind a wrapped function: its number, and optionally a condition on one
 * argument's low 32 bits (op 1: equal to val; op 2: any bit of val set). */
struct sysrule {
    long nr;
    int arg, op;
    unsigned val;
};

/* The system calls a libc wrapper or readyd's sys.rs makes for `fn` on this target. */
static size_t sysrules_of(const char *fn, struct sysrule *r)
{
    size_t n = 0;
#define ANY(x) (r[n++] = (struct sysrule){ (x), 0, 0, 0 })
#define IF_ARG(x, a, o, v) (r[n++] = (struct sysrule){ (x), (a), (o), (v) })
    if (strcmp(fn, "socket") == 0) {
        ANY(SYS_socket);
#ifdef SYS_socketcall
        IF_ARG(SYS_socketcall, 0, 1, 1); /* SYS_SOCKET */
#endif
    } else if (strcmp(fn, "sendmsg") == 0) {
        ANY(SYS_sendmsg);
#ifdef SYS_socketcall
        IF_ARG(SYS_socketcall, 0, 1, 16); /* SYS_SENDMSG */
#endif
    } else if (strcmp(fn, "setsockopt") == 0) {
        ANY(SYS_setsockopt);
#ifdef SYS_socketcall
        IF_ARG(SYS_socketcall, 0, 1, 14); /* SYS_SETSOCKOPT */
#endif
    } else if (strcmp(fn, "pipe2") == 0) {
        ANY(SYS_pipe2);
    } else if (strcmp(fn, "fcntl") == 0) {
        ANY(SYS_fcntl);
#ifdef SYS_fcntl64
        ANY(SYS_fcntl64);
#endif
    } else if (strcmp(fn, "ppoll") == 0) {
        ANY(SYS_ppoll);
#ifdef SYS_ppoll_time64
        ANY(SYS_ppoll_time64);
#endif
    } else if (strcmp(fn, "fstat") == 0) {
        /* on an fd: fstat itself, or the *stat* calls with an empty path */
#ifdef SYS_fstat
        ANY(SYS_fstat);
#endif
#ifdef SYS_fstat64
        ANY(SYS_fstat64);
#endif
#ifdef SYS_newfstatat
        IF_ARG(SYS_newfstatat, 3, 2, AT_EMPTY_PATH);
#endif
#ifdef SYS_fstatat64
        IF_ARG(SYS_fstatat64, 3, 2, AT_EMPTY_PATH);
#endif
        IF_ARG(SYS_statx, 2, 2, AT_EMPTY_PATH);
    } else if (strcmp(fn, "fork") == 0) {
        ANY(SYS_clone);
#ifdef SYS_clone3
        ANY(SYS_clone3);
#endif
#ifdef SYS_fork
        ANY(SYS_fork);
#endif
    } else if (strcmp(fn, "write") == 0) {
        ANY(SYS_write);
    } else if (strcmp(fn, "writev") == 0) {
        ANY(SYS_writev);
    } else if (strcmp(fn, "close") == 0) {
        ANY(SYS_close);
    } else if (strcmp(fn, "name_to_handle_at") == 0) {
        ANY(SYS_name_to_handle_at);
    }
#undef ANY
#undef IF_ARG
    return n;
}

/* Installs, for the calling thread only, a filter that fails every system call behind
 * each fault's function with its errno. -1 and errno on failure. */
static int install_filter(const struct fault *const *faults, size_t nfaults)
{
#ifdef SECCOMP_ARCH
    struct sock_filter prog[128];
    size_t n = 0;
#define EMIT(...) (prog[n++] = (struct sock_filter) __VA_ARGS__)
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    for (size_t i = 0; i < nfaults; i++) {
        if (!faults[i]->fn)
            continue;
        struct sysrule r[8];
        size_t nr = sysrules_of(faults[i]->fn, r);
        unsigned ret = SECCOMP_RET_ERRNO | ((unsigned) faults[i]->err & SECCOMP_RET_DATA);
        for (size_t k = 0; k < nr; k++) {
            if (n + 6 > sizeof prog / sizeof prog[0]) {
                errno = E2BIG;
                return -1;
            }
            EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
            if (r[k].op == 0) {
                EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned) r[k].nr, 0, 1));
            } else {
                EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned) r[k].nr, 0, 3));
                /* the argument's low word (every target here is little-endian) */
                EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                              offsetof(struct seccomp_data, args) + 8 * (unsigned) r[k].arg));
                EMIT(BPF_JUMP(BPF_JMP | (r[k].op == 1 ? BPF_JEQ : BPF_JSET) | BPF_K, r[k].val,
                              0, 1));
            }
            EMIT(BPF_STMT(BPF_RET | BPF_K, ret));
        }
    }
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
#undef EMIT
    struct sock_fprog fprog = { .len = (unsigned short) n, .filter = prog };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    /* no SECCOMP_FILTER_FLAG_TSYNC: this thread alone */
    return (int) syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
#else
    (void) faults;
    (void) nfaults;
    errno = ENOSYS;
    return -1;
#endif
}

static char tmpdir[64];

/* seccomp mode: the API call, in a thread of its own behind the filter. */
struct filtered {
    const struct scenario *sc;
    struct ctx *c;
    struct seen *s;
    const struct fault *f;
    int cr, err;
};

static void *call_filtered(void *p)
{
    struct filtered *t = p;
    const struct fault *faults[] = { &t->sc->base, t->f };
    if (install_filter(faults, 2) < 0) {
        t->err = errno;
        return NULL;
    }
    t->cr = t->sc->call(t->c, t->s);
    return NULL;
}

/* Everything the child writes back: a status line. */
static int report_fd = -1;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
    char b[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    if (n > (int) sizeof b - 1)
        n = sizeof b - 1;
    for (int off = 0; off < n;) {
        ssize_t w = write(report_fd, b + off, (size_t) (n - off));
        if (w <= 0)
            break;
        off += (int) w;
    }
}

/* The open fds of this process, as a bitmap of 0..1023 (the /proc listing's own fd is
 * left out). */
enum { FD_MAX = 1024 };
static void fd_set_now(unsigned char *set)
{
    memset(set, 0, FD_MAX);
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd != self && fd >= 0 && fd < FD_MAX)
            set[fd] = 1;
    }
    closedir(d);
}

static int bind_receiver(struct ctx *c)
{
    c->rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(c->rx_path, sizeof c->rx_path, "%s/rx-%d", tmpdir, (int) getpid());
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", c->rx_path);
    int on = 1;
    if (c->rx < 0 || bind(c->rx, (struct sockaddr *) &sa, sizeof sa) < 0 ||
        setsockopt(c->rx, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0)
        return -1;
    setenv("NOTIFY_SOCKET", c->rx_path, 1);
    return 0;
}

/* Reads what is queued on the receiver without waiting. */
static void drain(struct ctx *c, struct seen *s)
{
    s->recv = 0;
    s->recv_fds = 0;
    for (;;) {
        char buf[4096];
        union {
            char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 8)];
            struct cmsghdr align;
        } control;
        struct iovec iov = { buf, sizeof buf };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.b,
                            .msg_controllen = sizeof control.b };
        if (recvmsg(c->rx, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
            break;
        s->recv++;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
            if (h->cmsg_level != SOL_SOCKET)
                continue;
            if (h->cmsg_type == SCM_CREDENTIALS) {
                struct ucred u;
                memcpy(&u, CMSG_DATA(h), sizeof u);
                s->recv_pid = u.pid;
            } else if (h->cmsg_type == SCM_RIGHTS) {
                size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                    int fd;
                    memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
                    close(fd);
                }
                s->recv_fds += (int) n;
            }
        }
    }
}

/* A "supervisor" for the barrier: a process that takes one message off the receiver and
 * closes the fds that came with it. */
static void start_helper(struct ctx *c)
{
    c->helper_used = 1;
    c->helper = fork();
    if (c->helper == 0) {
        struct timeval tv = { 10, 0 };
        setsockopt(c->rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[256];
        union {
            char b[CMSG_SPACE(sizeof(int) * 8)];
            struct cmsghdr align;
        } control;
        struct iovec iov = { buf, sizeof buf };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.b,
                            .msg_controllen = sizeof control.b };
        recvmsg(c->rx, &m, 0);
        _exit(0); /* closes the received write end with everything else */
    }
}

static void stop_helper(struct ctx *c)
{
    if (c->helper > 0) {
        kill(c->helper, SIGKILL);
        waitpid(c->helper, NULL, 0);
        c->helper = 0;
    }
}

static int null_at(int fd)
{
    int n = open("/dev/null", O_RDWR);
    if (n < 0)
        return -1;
    if (n != fd) {
        if (dup2(n, fd) < 0)
            return -1;
        close(n);
    }
    return 0;
}

static void cloexec_now(char *out, int first, int n)
{
    for (int i = 0; i < n; i++) {
        int f = fcntl(first + i, F_GETFD);
        out[i] = f < 0 ? '-' : (f & FD_CLOEXEC) ? 'y' : 'n';
    }
    out[n] = 0;
}

/* ---- scenarios ---------------------------------------------------------------------- */

/* The notify family: one datagram to the receiver. */
static int setup_receiver(struct ctx *c)
{
    return bind_receiver(c) < 0 ? -1 : 0;
}

static int call_notify(struct ctx *c, struct seen *s)
{
    s->r = api.notify(c->unset, "READY=1");
    return 0;
}

static int call_notifyf(struct ctx *c, struct seen *s)
{
    s->r = api.notifyf(c->unset, "READY=%d", 1);
    return 0;
}

static int setup_with_fds(struct ctx *c)
{
    int p[2];
    if (bind_receiver(c) < 0 || pipe2(p, O_CLOEXEC) < 0)
        return -1;
    c->pipe_r = p[0];
    c->pipe_w = p[1];
    return 0;
}

static int call_with_fds(struct ctx *c, struct seen *s)
{
    s->r = api.pid_notify_with_fds(0, c->unset, "FDSTORE=1", &c->pipe_w, 1);
    return 0;
}

static int call_pid_notify(struct ctx *c, struct seen *s)
{
    s->r = api.pid_notify(1, c->unset, "READY=1");
    return 0;
}

/* Send path: socket or sendmsg fails -> -errno and nothing sent; close failures are
 * ignored (the socket is closed all the same). */
static void oracle_send(const struct ctx *c, const struct fault *f, struct want *w)
{
    (void) c;
    w->r = 1;
    w->recv = 1;
    w->sendmsg_calls = 1;
    if (!f->fn)
        return;
    if (strcmp(f->fn, "socket") == 0 || strcmp(f->fn, "sendmsg") == 0) {
        w->r = -f->err;
        w->recv = 0;
        w->sendmsg_calls = strcmp(f->fn, "socket") == 0 ? 0 : 1; /* EINTR too: no retry */
    }
}

/* On behalf of pid 1 (root): the first sendmsg carries credentials; if it fails for any
 * reason it is retried once without them. */
static void oracle_pid_notify(const struct ctx *c, const struct fault *f, struct want *w)
{
    (void) c;
    w->r = 1;
    w->recv = 1;
    w->recv_pid_self = 2;
    w->sendmsg_calls = 1;
    if (!f->fn)
        return;
    if (strcmp(f->fn, "socket") == 0) {
        w->r = -f->err;
        w->recv = 0;
        w->recv_pid_self = 0;
        w->sendmsg_calls = 0;
    } else if (strcmp(f->fn, "sendmsg") == 0) {
        w->sendmsg_calls = 2;
        if (f->times == 1) {
            w->recv_pid_self = 1; /* resent with the kernel's credentials: our own pid */
        } else {
            w->r = -f->err;
            w->recv = 0;
            w->recv_pid_self = 0;
        }
    }
}

/* EMSGSIZE on the first send raises the buffer (setsockopt, best effort: its failures
 * are ignored) and sends again. */
static void oracle_emsgsize(const struct ctx *c, const struct fault *f, struct want *w)
{
    (void) c;
    (void) f;
    w->r = 1;
    w->recv = 1;
    w->sendmsg_calls = 2;
}

/* EMSGSIZE on every send: one retry, then -EMSGSIZE. */
static void oracle_emsgsize_always(const struct ctx *c, const struct fault *f, struct want *w)
{
    (void) c;
    (void) f;
    w->r = -EMSGSIZE;
    w->recv = 0;
    w->sendmsg_calls = 2;
}

/* The barrier, with a helper that reads BARRIER=1 and closes the fd. */
static int setup_barrier(struct ctx *c)
{
    if (bind_receiver(c) < 0)
        return -1;
    start_helper(c);
    return c->helper < 0 ? -1 : 0;
}

static int call_barrier(struct ctx *c, struct seen *s)
{
    s->r = api.notify_barrier(c->unset, 5 * 1000000ull);
    return 0;
}

static void oracle_barrier(const struct ctx *c, const struct fault *f, struct want *w)
{
    (void) c;
    w->r = 1;
    w->recv = -1;
    w->ppoll_calls = 1;
    if (!f->fn)
        return;
    if (strcmp(f->fn, "pipe2") == 0 || strcmp(f->fn, "socket") == 0 ||
        strcmp(f->fn, "sendmsg") == 0) {
        w->r = -f->err;
        w->ppoll_calls = 0;
    } else if (strcmp(f->fn, "ppoll") == 0) {
        w->r = -f->err; /* -EINTR included: the wait is not resumed */
    }
}

/* Socket activation: fds 3 and 4 passed, not yet close-on-exec. */
static int setup_listen(struct ctx *c)
{
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int) getpid());
    setenv("LISTEN_PID", pid, 1);
    setenv("LISTEN_FDS", "2", 1);
    (void) c;
    return null_at(3) < 0 || null_at(4) < 0 ? -1 : 0;
}

static int setup_listen_names(struct ctx *c)
{
    setenv("LISTEN_FDNAMES", "a:b", 1);
    return setup_listen(c);
}

static int call_listen(struct ctx *c, struct seen *s)
{
    s->r = api.listen_fds(c->unset);
    return 0;
}

static int call_listen_names(struct ctx *c, struct seen *s)
{
    char **sentinel = (char **) (uintptr_t) 8; /* must stay untouched on failure */
    char **names = sentinel;
    s->r = api.listen_fds_with_names(c->unset, &names);
    s->names_set = names != sentinel;
    if (s->names_set && names) {
        if (!names[0] || !names[1] || strcmp(names[0], "a") || strcmp(names[1], "b") || names[2])
            s->names_set = 2; /* wrong content */
        for (char **p = names; *p; p++)
            free(*p);
        free(names);
    }
    return 0;
}

/* fcntl calls: F_GETFD 3, F_SETFD 3, F_GETFD 4, F_SETFD 4; the k-th failing stops there
 * with -errno, the fds before it keep their new flag. */
static void oracle_listen(const struct ctx *c, const struct fault *f, struct want *w)
{
    (void) c;
    w->r = 2;
    w->cloexec = "yy";
    w->names_set = 1;
    if (!f->fn || strcmp(f->fn, "fcntl") != 0)
        return;
    w->r = -f->err;
    w->cloexec = f->nth <= 2 ? "nn" : "yn";
    w->names_set = 0;
}

/* LISTEN_PIDFDID naming another process: 0. If this process's own pidfd id cannot be
 * read (name_to_handle_at fails for a reason other than "not here", or it is not there and
 * fstat fails), the check is skipped (spec §3.1 step 3) and the fd is taken. */
static int setup_listen_pidfdid(struct ctx *c)
{
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int) getpid());
    setenv("LISTEN_PID", pid, 1);
    setenv("LISTEN_FDS", "1", 1);
    setenv("LISTEN_PIDFDID", "12345", 1);
    (void) c;
    return null_at(3);
}

static int call_listen_one(struct ctx *c, struct seen *s)
{
    s->r = api.listen_fds(c->unset);
    return 0;
}

static void oracle_pidfd_handle(const struct ctx *c, const struct fault *f, struct want *w);

static void oracle_listen_pidfdid(const struct ctx *c, const struct fault *f, struct want *w)
{
    (void) c;
    w->r = 0;
    w->cloexec = "n-";
    struct want id;
    oracle_pidfd_handle(c, f, &id);
    if (id.r < 0) {
        w->r = 1;
        w->cloexec = "y-";
    }
}

/* The sd_is_* probes: fstat (or, for sd_is_mq, fcntl) failing is -errno. */
static int setup_pipe(struct ctx *c)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    c->pipe_r = p[0];
    c->pipe_w = p[1];
    return 0;
}

static int setup_null(struct ctx *c)
{
    c->aux = open("/dev/null", O_RDWR | O_CLOEXEC);
    return c->aux < 0 ? -1 : 0;
}

static int setup_unix(struct ctx *c)
{
    if (bind_receiver(c) < 0)
        return -1;
    unsetenv("NOTIFY_SOCKET");
    c->aux = c->rx;
    return 0;
}

static int setup_udp(struct ctx *c)
{
    c->aux = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return c->aux < 0 ? -1 : 0;
}

static int setup_pidfd(struct ctx *c)
{
    if (!api.pidfd_get_inode_id)
        return 1;
    c->aux = (int) syscall(SYS_pidfd_open, getpid(), 0);
    if (c->aux < 0)
        return 1;
    uint64_t id;
    return api.pidfd_get_inode_id(c->aux, &id) == 0 ? 0 : 1; /* no pidfs here: skip */
}

static int call_is_fifo(struct ctx *c, struct seen *s)
{
    s->r = api.is_fifo(c->pipe_r, NULL);
    return 0;
}

static int call_is_special(struct ctx *c, struct seen *s)
{
    s->r = api.is_special(c->aux, NULL);
    return 0;
}

static int call_is_socket(struct ctx *c, struct seen *s)
{
    s->r = api.is_socket(c->aux, AF_UNIX, SOCK_DGRAM, -1);
    return 0;
}

static int call_is_socket_unix(struct ctx *c, struct seen *s)
{
    s->r = api.is_socket_unix(c->aux, SOCK_DGRAM, -1, c->rx_path, 0);
    return 0;
}

static int call_is_socket_inet(struct ctx *c, struct seen *s)
{
    s->r = api.is_socket_inet(c->aux, AF_INET, SOCK_DGRAM, -1, 0);
    return 0;
}

static int call_is_socket_sockaddr(struct ctx *c, struct seen *s)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    s->r = api.is_socket_sockaddr(c->aux, SOCK_DGRAM, (struct sockaddr *) &sin, sizeof sin, -1);
    return 0;
}

static int call_is_mq(struct ctx *c, struct seen *s)
{
    s->r = api.is_mq(c->pipe_r, NULL);
    return 0;
}

static int call_pidfd(struct ctx *c, struct seen *s)
{
    uint64_t id;
    s->r = api.pidfd_get_inode_id(c->aux, &id);
    return 0;
}

static void oracle_probe_true(const struct ctx *c, const struct fault *f, struct want *w)
{
    (void) c;
    w->r = f->fn ? -f->err : 1;
}

static void oracle_probe_zero(const struct ctx *c, const struct fault *f, struct want *w)
{
    (void) c;
    w->r = f->fn ? -f->err : 0;
}

/* sd_pidfd_get_inode_id(): the file handle first; where name_to_handle_at says "not here"
 * (not supported, filtered, an odd size), fstat's inode number (64-bit ino_t); any other
 * failure is the answer. */
static void oracle_pidfd_handle(const struct ctx *c, const struct fault *f, struct want *w)
{
    (void) c;
    int soft = f->fn && (f->err == EOPNOTSUPP || f->err == EPERM || f->err == EACCES ||
                         f->err == EOVERFLOW || f->err == EINVAL);
    w->r = f->fn && !soft ? -f->err : 0;
}

/* readyd_notify_fd(): "READY=1\n" on a pipe, which is closed in every case. A write
 * interrupted by a signal is resumed; other write errors are -errno; a failing close is
 * -errno (the fd is gone all the same). */
static int setup_notify_fd(struct ctx *c)
{
    if (!api.notify_fd || setup_pipe(c) < 0)
        return api.notify_fd ? -1 : 1;
    c->consumed = c->pipe_w;
    return 0;
}

static void read_payload(struct ctx *c, struct seen *s)
{
    int fl = fcntl(c->pipe_r, F_GETFL);
    fcntl(c->pipe_r, F_SETFL, fl | O_NONBLOCK);
    ssize_t n = read(c->pipe_r, s->payload, sizeof s->payload - 1);
    s->payload[n > 0 ? n : 0] = 0;
}

static int call_notify_fd(struct ctx *c, struct seen *s)
{
    s->r = api.notify_fd(c->pipe_w, "READY=1");
    return 0;
}

static void oracle_fd_write(const struct ctx *c, const struct fault *f, struct want *w,
                            int success)
{
    (void) c;
    w->r = success;
    w->payload = "READY=1\n";
    if (!f->fn)
        return;
    if ((strcmp(f->fn, "write") == 0 || strcmp(f->fn, "writev") == 0) && f->err != EINTR) {
        /* Nothing is written after the failure: "READY=1" and the newline may go out in
         * one writev or in two writes. */
        w->r = -f->err;
        w->payload = f->nth == 1 ? "" : "READY=1";
        w->write_calls = f->nth;
    } else if (strcmp(f->fn, "close") == 0) {
        w->r = -f->err;
    }
}

static void oracle_notify_fd(const struct ctx *c, const struct fault *f, struct want *w)
{
    oracle_fd_write(c, f, w, 1);
}

/* readyd_ready() over $NOTIFY_SOCKET: READY=1, STATUS= and MAINPID= in one datagram; the
 * variable stays. */
static int setup_ready_socket(struct ctx *c)
{
    return !api.ready ? 1 : setup_receiver(c);
}

static int call_ready(struct ctx *c, struct seen *s)
{
    (void) c;
    s->r = api.ready("up");
    return 0;
}

static void oracle_ready_socket(const struct ctx *c, const struct fault *f, struct want *w)
{
    oracle_send(c, f, w);
}

/* readyd_ready() over $READYD_NOTIFY_FD: the fd gets READY=1 and is closed, the variable
 * is removed, whatever happens. */
static int setup_ready_fd(struct ctx *c)
{
    if (!api.ready || setup_pipe(c) < 0)
        return api.ready ? -1 : 1;
    char n[16];
    snprintf(n, sizeof n, "%d", c->pipe_w);
    setenv("READYD_NOTIFY_FD", n, 1);
    c->consumed = c->pipe_w;
    return 0;
}

static void oracle_ready_fd(const struct ctx *c, const struct fault *f, struct want *w)
{
    oracle_fd_write(c, f, w, 3); /* READYD_PROTOCOL_FD */
}

/* readyd_daemonize() failing before it forks: -errno, no child, nothing left open. */
static int setup_daemonize(struct ctx *c)
{
    (void) c;
    return api.daemonize ? 0 : 1;
}

static int no_children(void)
{
    return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

static int call_daemonize(struct ctx *c, struct seen *s)
{
    s->r = api.daemonize(0, c->path[0] ? c->path : NULL);
    if (!no_children())
        return -1;
    return 0;
}

static void oracle_errno(const struct ctx *c, const struct fault *f, struct want *w)
{
    (void) c;
    w->r = f->fn ? -f->err : 1;
}

/* With a PID file, whose lock is checked with fstat: a failing fstat is that error, not
 * "already running" (-EBUSY). Only persistent failures are injected here: after a single
 * one a retry would succeed and fork. */
static int setup_daemonize_pidfile(struct ctx *c)
{
    snprintf(c->path, sizeof c->path, "%s/pid-%d", tmpdir, (int) getpid());
    return setup_daemonize(c);
}

/* sd_pid_notify_barrier(1, ...) as root: the barrier's message carries credentials, so a
 * failed send is retried once without them. */
static int setup_pid_barrier(struct ctx *c)
{
    return api.pid_notify_barrier ? setup_barrier(c) : 1;
}

static int call_pid_barrier(struct ctx *c, struct seen *s)
{
    s->r = api.pid_notify_barrier(1, c->unset, 5 * 1000000ull);
    return 0;
}

static void oracle_pid_barrier(const struct ctx *c, const struct fault *f, struct want *w)
{
    oracle_barrier(c, f, w);
    if (f->fn && strcmp(f->fn, "sendmsg") == 0) {
        w->sendmsg_calls = 2;
        if (f->times == 1) {
            w->r = 1;
            w->ppoll_calls = 1;
        }
    }
}

/* readyd_failed(), readyd_reloading(), readyd_stopping() over $NOTIFY_SOCKET: the plain
 * send path; readyd_failed's result is the protocol spoken (1). */
static int setup_extra(struct ctx *c)
{
    return api.failed && api.reloading && api.stopping ? setup_receiver(c) : 1;
}

static int call_failed(struct ctx *c, struct seen *s)
{
    (void) c;
    s->r = api.failed(EIO, "broken");
    return 0;
}

static int call_reloading(struct ctx *c, struct seen *s)
{
    (void) c;
    s->r = api.reloading();
    return 0;
}

static int call_stopping(struct ctx *c, struct seen *s)
{
    (void) c;
    s->r = api.stopping();
    return 0;
}

#define NOTIFY_VARS "NOTIFY_SOCKET"
#define LISTEN_VARS "LISTEN_PID,LISTEN_FDS,LISTEN_FDNAMES,LISTEN_PIDFDID"
static const struct scenario scenarios[] = {
    { .name = "sd_notify", .fns = "socket,sendmsg,close", .unset_variants = 1,
      .env_vars = NOTIFY_VARS, .setup = setup_receiver, .call = call_notify,
      .oracle = oracle_send },
    { .name = "sd_notifyf", .fns = "socket,sendmsg,close", .unset_variants = 1,
      .env_vars = NOTIFY_VARS, .setup = setup_receiver, .call = call_notifyf,
      .oracle = oracle_send },
    { .name = "sd_pid_notify_with_fds (1 fd)", .fns = "socket,sendmsg,close",
      .unset_variants = 1, .env_vars = NOTIFY_VARS, .setup = setup_with_fds,
      .call = call_with_fds, .oracle = oracle_send },
    { .name = "sd_pid_notify(1, ...) with credentials", .fns = "socket,sendmsg,close",
      .unset_variants = 1, .needs_root = 1, .env_vars = NOTIFY_VARS, .setup = setup_receiver,
      .call = call_pid_notify, .oracle = oracle_pid_notify },
    { .name = "sd_notify after EMSGSIZE (raising SO_SNDBUF)", .fns = "setsockopt",
      .unset_variants = 1, .env_vars = NOTIFY_VARS, .base = { "sendmsg", EMSGSIZE, 1, 1 },
      .setup = setup_receiver, .call = call_notify, .oracle = oracle_emsgsize },
    { .name = "sd_notify with EMSGSIZE on every send", .fns = "", .unset_variants = 1,
      .env_vars = NOTIFY_VARS, .base = { "sendmsg", EMSGSIZE, 1, 0 },
      .setup = setup_receiver, .call = call_notify, .oracle = oracle_emsgsize_always },
    { .name = "sd_notify_barrier", .fns = "pipe2,socket,sendmsg,ppoll,close",
      .unset_variants = 1, .env_vars = NOTIFY_VARS, .setup = setup_barrier,
      .call = call_barrier, .oracle = oracle_barrier },
    { .name = "sd_pid_notify_barrier(1, ...) with credentials",
      .fns = "pipe2,socket,sendmsg,ppoll,close", .unset_variants = 1, .needs_root = 1,
      .env_vars = NOTIFY_VARS, .setup = setup_pid_barrier, .call = call_pid_barrier,
      .oracle = oracle_pid_barrier },
    { .name = "sd_listen_fds (2 fds)", .fns = "fcntl", .unset_variants = 1,
      .env_vars = LISTEN_VARS, .setup = setup_listen, .call = call_listen,
      .oracle = oracle_listen },
    { .name = "sd_listen_fds_with_names (a:b)", .fns = "fcntl", .unset_variants = 1,
      .env_vars = LISTEN_VARS, .setup = setup_listen_names, .call = call_listen_names,
      .oracle = oracle_listen },
    { .name = "sd_listen_fds with a foreign LISTEN_PIDFDID", .fns = "name_to_handle_at,fstat",
      .unset_variants = 1, .env_vars = LISTEN_VARS, .setup = setup_listen_pidfdid,
      .call = call_listen_one, .oracle = oracle_listen_pidfdid },
    { .name = "sd_is_fifo (pipe)", .fns = "fstat", .setup = setup_pipe, .call = call_is_fifo,
      .oracle = oracle_probe_true },
    { .name = "sd_is_special (/dev/null)", .fns = "fstat", .setup = setup_null,
      .call = call_is_special, .oracle = oracle_probe_true },
    { .name = "sd_is_socket (AF_UNIX datagram)", .fns = "fstat", .setup = setup_unix,
      .call = call_is_socket, .oracle = oracle_probe_true },
    { .name = "sd_is_socket_unix (bound path)", .fns = "fstat", .setup = setup_unix,
      .call = call_is_socket_unix, .oracle = oracle_probe_true },
    { .name = "sd_is_socket_inet (UDP)", .fns = "fstat", .setup = setup_udp,
      .call = call_is_socket_inet, .oracle = oracle_probe_true },
    { .name = "sd_is_socket_sockaddr (UDP, 0.0.0.0:0)", .fns = "fstat", .setup = setup_udp,
      .call = call_is_socket_sockaddr, .oracle = oracle_probe_true },
    { .name = "sd_is_mq (pipe)", .fns = "fcntl", .setup = setup_pipe, .call = call_is_mq,
      .oracle = oracle_probe_zero },
    { .name = "sd_pidfd_get_inode_id (own pidfd)", .fns = "name_to_handle_at,fstat",
      .setup = setup_pidfd, .call = call_pidfd, .oracle = oracle_pidfd_handle },
    { .name = "sd_pidfd_get_inode_id without file handles (fstat's inode number)",
      .fns = "fstat", .base = { "name_to_handle_at", EOPNOTSUPP, 1, 0 }, .setup = setup_pidfd,
      .call = call_pidfd, .oracle = oracle_probe_zero },
    { .name = "sd_pidfd_get_inode_id with fstat failing (the file handle answers)", .fns = "",
      .base = { "fstat", EIO, 1, 0 }, .setup = setup_pidfd, .call = call_pidfd,
      .oracle = oracle_probe_zero },
    { .name = "readyd_notify_fd (pipe)", .fns = "write,writev,close", .setup = setup_notify_fd,
      .call = call_notify_fd, .oracle = oracle_notify_fd },
    { .name = "readyd_ready via NOTIFY_SOCKET", .fns = "socket,sendmsg,close",
      .setup = setup_ready_socket, .call = call_ready, .oracle = oracle_ready_socket },
    { .name = "readyd_failed via NOTIFY_SOCKET", .fns = "socket,sendmsg,close",
      .setup = setup_extra, .call = call_failed, .oracle = oracle_send },
    { .name = "readyd_reloading", .fns = "socket,sendmsg,close", .setup = setup_extra,
      .call = call_reloading, .oracle = oracle_send },
    { .name = "readyd_stopping", .fns = "socket,sendmsg,close", .setup = setup_extra,
      .call = call_stopping, .oracle = oracle_send },
    { .name = "readyd_ready via READYD_NOTIFY_FD", .fns = "write,writev,close",
      .env_always_gone = "READYD_NOTIFY_FD", .setup = setup_ready_fd, .call = call_ready,
      .oracle = oracle_ready_fd },
    { .name = "readyd_daemonize (before the fork)", .fns = "pipe2,fork", .no_baseline = 1,
      .setup = setup_daemonize, .call = call_daemonize, .oracle = oracle_errno },
    { .name = "readyd_daemonize with a PID file", .fns = "fstat", .no_baseline = 1,
      .persistent_only = 1, .setup = setup_daemonize_pidfile,
      .call = call_daemonize, .oracle = oracle_errno },
};
enum { N_SCENARIOS = sizeof scenarios / sizeof scenarios[0] };

static int listed(const char *list, const char *name)
{
    if (!list)
        return 0;
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
            return 1;
    return 0;
}

/* Puts the result pipe out of the way and closes every other fd above 2, so that the
 * scenario starts from 0, 1, 2 alone. */
static void clean_fds(int keep)
{
    if (dup2(keep, 900) < 0)
        _exit(99);
    report_fd = 900;
    for (int fd = 3; fd < FD_MAX; fd++)
        if (fd != 900)
            close(fd);
}

/* The child: set up, arm, call, disarm, check; reports "ok ..." or "FAIL ...", and the
 * call counts "calls fn=n ...". */
static void child(const struct scenario *sc, int unset, const struct fault *f, int out)
{
    alarm(20);
    clean_fds(out);
    clearenv();
    struct ctx c = { .unset = unset, .rx = -1, .pipe_r = -1, .pipe_w = -1,
                     .aux = -1, .consumed = -1 };
    int sr = sc->setup(&c);
    if (sr != 0) {
        report(sr > 0 ? "SKIP\n" : "FAIL setup: %s\n", strerror(errno));
        _exit(0);
    }
    /* Variables the call may remove: remember which were set. */
    const char *vars[] = { "NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES",
                           "LISTEN_PIDFDID", "READYD_NOTIFY_FD" };
    int was_set[6];
    for (int i = 0; i < 6; i++)
        was_set[i] = getenv(vars[i]) != NULL;

    unsigned char before[FD_MAX], after[FD_MAX];
    fd_set_now(before);
    struct seen s = { .recv = -1, .names_set = -1 };
    int cr;
    unsigned hit = 0;
    unsigned counts[N_WRAPPED] = { 0 };
    if (seccomp_mode) {
        fault_reset(); /* unarmed: it counts */
        struct filtered t = { .sc = sc, .c = &c, .s = &s, .f = f };
        pthread_t th;
        int e = pthread_create(&th, NULL, call_filtered, &t);
        if (e == 0)
            e = pthread_join(th, NULL);
        if (e != 0 || t.err != 0) {
            report("FAIL the filtered call did not run: %s\n", strerror(e ? e : t.err));
            _exit(0);
        }
        cr = t.cr;
        for (int i = 0; i < N_WRAPPED; i++) {
            counts[i] = fault_calls(wrapped[i]);
            if (f->fn && strcmp(f->fn, wrapped[i]) == 0)
                hit = counts[i];
        }
        fault_reset();
    } else {
        fault_reset();
        if (sc->base.fn)
            fault_arm(sc->base.fn, sc->base.err, sc->base.nth, sc->base.times);
        if (f->fn)
            fault_arm(f->fn, f->err, f->nth, f->times);
        cr = sc->call(&c, &s);
        hit = f->fn ? fault_injected(f->fn) : 0;
        for (int i = 0; i < N_WRAPPED; i++)
            counts[i] = fault_calls(wrapped[i]);
        fault_reset();
    }
    /* What the call did, looked at with the shim disarmed. */
    stop_helper(&c);
    if (c.rx >= 0)
        drain(&c, &s);
    if (c.pipe_r >= 0)
        read_payload(&c, &s);
    cloexec_now(s.cloexec, 3, 2);
    fd_set_now(after);

    struct want w = { .recv = -1, .names_set = -1 };
    sc->oracle(&c, f, &w);

    char why[1024] = "";
    size_t wl = 0;
#define WHY(...)                                                                            \
    do {                                                                                    \
        if (wl < sizeof why)                                                                \
            wl += (size_t) snprintf(why + wl, sizeof why - wl, __VA_ARGS__);                \
    } while (0)
    if (cr < 0)
        WHY(" a child process was left behind;");
    if (s.r != w.r) {
        char got[32], want_r[32];
        rname(got, sizeof got, s.r);
        rname(want_r, sizeof want_r, w.r);
        WHY(" returned %s, expected %s;", got, want_r);
    }
    if (f->fn && hit == 0)
        WHY(" the injected %s failure was never reached;", f->fn);
    if (c.helper_used)
        s.recv = -1; /* the helper took the message */
    if (w.recv >= 0 && s.recv != w.recv)
        WHY(" %d datagram(s) received, expected %d;", s.recv, w.recv);
    if (w.recv_pid_self && s.recv > 0) {
        pid_t want_pid = w.recv_pid_self == 1 ? getpid() : 1;
        if (s.recv_pid != want_pid)
            WHY(" the receiver saw pid %d, expected %d;", (int) s.recv_pid, (int) want_pid);
    }
    if (w.cloexec && strcmp(s.cloexec, w.cloexec) != 0)
        WHY(" close-on-exec of fds 3.. is %s, expected %s;", s.cloexec, w.cloexec);
    if (w.names_set >= 0 && s.names_set >= 0 && s.names_set != w.names_set)
        WHY(" *names %s;", s.names_set == 2 ? "has the wrong names"
                           : s.names_set ? "was written on failure" : "was not set");
    if (w.payload && strcmp(s.payload, w.payload) != 0)
        WHY(" the fd got \"%s\", expected \"%s\";", s.payload, w.payload);
    if (w.sendmsg_calls && counts[W_SENDMSG] != w.sendmsg_calls)
        WHY(" sendmsg called %u times, expected %u;", counts[W_SENDMSG], w.sendmsg_calls);
    if (w.ppoll_calls && counts[W_PPOLL] != w.ppoll_calls)
        WHY(" ppoll called %u times, expected %u;", counts[W_PPOLL], w.ppoll_calls);
    if (w.write_calls && counts[W_WRITE] + counts[W_WRITEV] != w.write_calls)
        WHY(" write/writev called %u times, expected %u;", counts[W_WRITE] + counts[W_WRITEV],
            w.write_calls);
    for (int fd = 0; fd < FD_MAX; fd++) {
        int expect = before[fd] && fd != c.consumed;
        if (after[fd] && !expect)
            WHY(" fd %d %s;", fd, before[fd] ? "was not closed" : "leaked");
        else if (!after[fd] && expect)
            WHY(" fd %d was closed;", fd);
    }
    for (int i = 0; i < 6; i++) {
        int gone = was_set[i] && !getenv(vars[i]);
        int want_gone = (unset && listed(sc->env_vars, vars[i])) ||
                        listed(sc->env_always_gone, vars[i]);
        if (was_set[i] && gone != want_gone)
            WHY(" %s was %s;", vars[i], gone ? "removed" : "kept");
    }
#undef WHY
    report("%s%s\ncalls", why[0] ? "FAIL" : "ok", why);
    for (int i = 0; i < N_WRAPPED; i++)
        report(" %s=%u", wrapped[i], counts[i]);
    report("\n");
    if (c.rx_path[0])
        unlink(c.rx_path);
    if (c.path[0])
        unlink(c.path);
    _exit(0);
}

/* Runs one child; its report goes to `buf`. Returns 0, or -1 if it crashed or hung
 * (then `buf` says how). */
static int run(const struct scenario *sc, int unset, const struct fault *f, char *buf,
               size_t cap)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return snprintf(buf, cap, "pipe2: %s", strerror(errno)), -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return snprintf(buf, cap, "fork: %s", strerror(errno)), -1;
    if (pid == 0) {
        close(p[0]);
        child(sc, unset, f, p[1]);
    }
    close(p[1]);
    size_t len = 0;
    ssize_t n;
    while (len < cap - 1 && (n = read(p[0], buf + len, cap - 1 - len)) > 0)
        len += (size_t) n;
    buf[len] = 0;
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) {
        snprintf(buf, cap, "FAIL %s (signal %d)\n",
                 WTERMSIG(status) == SIGALRM ? "hung" : "crashed", WTERMSIG(status));
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || len == 0) {
        snprintf(buf, cap, "FAIL the child exited with status %d without a report\n",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    return 0;
}

static unsigned count_of(const char *report_text, const char *fn)
{
    const char *c = strstr(report_text, "\ncalls");
    if (!c)
        return 0;
    char key[32];
    snprintf(key, sizeof key, " %s=", fn);
    const char *p = strstr(c, key);
    return p ? (unsigned) atoi(p + strlen(key)) : 0;
}

static int passed, failed, skipped, groups;

static const struct scenario *current;

/* One TAP line per (scenario, function); the failing runs follow it. */
struct group {
    int runs, bad;
    char notes[8192];
    size_t nl;
};

static void note(struct group *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct group *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (g->nl < sizeof g->notes)
        g->nl += (size_t) vsnprintf(g->notes + g->nl, sizeof g->notes - g->nl, fmt, ap);
    va_end(ap);
}

static void one(struct group *g, const struct scenario *sc, int unset, const struct fault *f)
{
    char buf[4096];
    run(sc, unset, f, buf, sizeof buf);
    if (strncmp(buf, "SKIP", 4) == 0)
        return;
    g->runs++;
    if (strncmp(buf, "ok", 2) == 0) {
        passed++;
        return;
    }
    failed++;
    g->bad++;
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = 0;
    if (f->fn)
        note(g, "#   unset=%d, %s call %u%s fails with %s:%s\n", unset, f->fn, f->nth,
             f->times == 0 ? " and every later one" : "", errname(f->err), buf + 4);
    else
        note(g, "#   unset=%d, no fault:%s\n", unset, buf + 4);
}

static void close_group(struct group *g, const char *what)
{
    if (g->runs == 0)
        return;
    groups++;
    if (g->bad == 0)
        printf("ok - %s (%d runs)\n", what, g->runs);
    else
        printf("not ok - %s: %d of %d runs fail\n%s", what, g->bad, g->runs, g->notes);
}

static void scenario_runs(const struct scenario *sc)
{
    char title[256];
    current = sc;
    if (sc->needs_root && geteuid() != 0) {
        printf("ok - %s # SKIP needs root\n", sc->name);
        skipped++;
        groups++;
        return;
    }
    if (seccomp_mode && sc->base.fn && sc->base.times != 0) {
        printf("# %s: left to the shim (its scenario fails one call only)\n", sc->name);
        return;
    }
    /* The call without a fault: it must pass, and it tells how often each function is
     * called. */
    unsigned calls[N_WRAPPED] = { 0 };
    const struct fault none = { 0 };
    if (!sc->no_baseline) {
        struct group g = { 0 };
        char buf[4096];
        for (int unset = 0; unset <= sc->unset_variants; unset++) {
            run(sc, unset, &none, buf, sizeof buf);
            if (strncmp(buf, "SKIP", 4) == 0) {
                printf("ok - %s # SKIP not available here\n", sc->name);
                skipped++;
                groups++;
                return;
            }
            g.runs++;
            if (strncmp(buf, "ok", 2) == 0) {
                passed++;
            } else {
                failed++;
                g.bad++;
                char *nl = strchr(buf, '\n');
                if (nl)
                    *nl = 0;
                note(&g, "#   unset=%d:%s\n", unset, buf + 4);
            }
            for (int i = 0; i < N_WRAPPED; i++)
                calls[i] = count_of(buf, wrapped[i]);
        }
        snprintf(title, sizeof title, "%s: no fault%s", sc->name,
                 sc->base.fn ? " besides the scenario's" : "");
        close_group(&g, title);
    }
    if (sc->no_baseline) {
        for (int i = 0; i < N_WRAPPED; i++)
            calls[i] = 1; /* fail the first call of each listed function */
    }
    for (int i = 0; i < N_WRAPPED; i++) {
        if (!listed(sc->fns, wrapped[i]))
            continue;
        const char *fn = wrapped[i];
        struct group g = { 0 };
        if (calls[i] == 0) {
            /* write or writev: either may do the job. Only if none of the functions the
             * scenario lists is called does it test nothing. */
            int any = 0;
            for (int j = 0; j < N_WRAPPED; j++)
                any |= listed(sc->fns, wrapped[j]) && calls[j] > 0;
            if (!any) {
                printf("not ok - %s: none of %s is called, the scenario tests nothing\n",
                       sc->name, sc->fns);
                failed++;
                return;
            }
            printf("# %s: %s is not called\n", sc->name, fn);
            continue;
        }
        const int *errs = errs_of(fn);
        if (!errs)
            continue;
        if (seccomp_mode) {
            /* every call of the function fails, with each errno in turn (not close, and
             * not EINTR for a write, which is resumed: see the top of the file) */
            if (strcmp(fn, "close") == 0)
                continue;
            for (int unset = 0; unset <= sc->unset_variants; unset++)
                for (int k = 0; errs[k]; k++) {
                    if (errs[k] == EINTR && strncmp(fn, "write", 5) == 0)
                        continue;
                    struct fault f = { fn, errs[k], 1, 0 };
                    one(&g, sc, unset, &f);
                }
            snprintf(title, sizeof title, "%s: %s fails (seccomp, every call)", sc->name, fn);
            close_group(&g, title);
            continue;
        }
        for (int unset = 0; unset <= sc->unset_variants; unset++)
            for (unsigned nth = 1; nth <= calls[i]; nth++)
                for (int k = 0; errs[k]; k++) {
                    struct fault f = { fn, errs[k], nth, 1 };
                    /* A failure that persists: what a retry (if any) meets again. */
                    if (!sc->persistent_only)
                        one(&g, sc, unset, &f);
                    if (sc->persistent_only ||
                        (nth == 1 && (strcmp(fn, "sendmsg") == 0 || strcmp(fn, "fstat") == 0))) {
                        f.times = 0;
                        one(&g, sc, unset, &f);
                    }
                }
        snprintf(title, sizeof title, "%s: %s fails (%u call%s)", sc->name, fn, calls[i],
                 calls[i] == 1 ? "" : "s");
        close_group(&g, title);
    }
}

/* readyd_daemonize's second fork fails in the intermediate child: the original process
 * (our child here) must exit non-zero, saying why, and leave no process behind. */
static void daemonize_second_fork(void)
{
    if (!api.daemonize)
        return;
    static const int errs[] = { EAGAIN, ENOMEM };
    struct group g = { 0 };
    for (size_t k = 0; k < 2; k++) {
        char errpath[128];
        snprintf(errpath, sizeof errpath, "%s/stderr-%zu", tmpdir, k);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            alarm(20);
            int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(e, 2);
            close(e);
            fault_reset();
            fault_arm("fork", errs[k], 2, 1);
            int r = api.daemonize(0, NULL);
            dprintf(2, "readyd_daemonize returned %d\n", r);
            _exit(100);
        }
        int status;
        waitpid(pid, &status, 0);
        char text[512] = "";
        int fd = open(errpath, O_RDONLY);
        if (fd >= 0) {
            ssize_t n = read(fd, text, sizeof text - 1);
            text[n > 0 ? n : 0] = 0;
            close(fd);
        }
        unlink(errpath);
        char *nl = strchr(text, '\n');
        if (nl)
            *nl = 0;
        g.runs++;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 1 &&
            strstr(text, "cannot fork the daemon") && strstr(text, strerror(errs[k]))) {
            passed++;
        } else {
            failed++;
            g.bad++;
            note(&g, "#   fork 2 fails with %s: status %d, stderr \"%s\"\n", errname(errs[k]),
                 WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status), text);
        }
    }
    close_group(&g, "readyd_daemonize: the second fork fails (the caller exits 1 and says why)");
}

/* A plain "vsock:" NOTIFY_SOCKET tries datagram, then seqpacket, then stream: datagram
 * falls back when socket() says the type is not supported or ENODEV (a hypervisor without
 * vsock datagrams), seqpacket only when the type is not supported. A typed form never falls
 * back. socket() fails every time here, so the number of calls tells which types were
 * tried, whatever vsock support this machine has. */
static void vsock_fallback(void)
{
    static const struct {
        const char *address;
        int err;
        unsigned calls; /* socket() calls made, each failing with err */
    } cases[] = {
        { "vsock:2:1234", ENODEV, 2 },          /* datagram, seqpacket; not stream */
        { "vsock:2:1234", ESOCKTNOSUPPORT, 3 }, /* all three */
        { "vsock:2:1234", EPROTONOSUPPORT, 3 },
        { "vsock:2:1234", ENOPROTOOPT, 3 },     /* "not supported" in newest libsystemd */
        { "vsock:2:1234", EACCES, 1 },          /* not a reason to try another type */
        { "vsock:2:1234", EMFILE, 1 },
        { "vsock-seqpacket:2:1234", ENODEV, 1 },
        { "vsock-dgram:2:1234", ESOCKTNOSUPPORT, 1 },
    };
    struct group g = { 0 };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
            return;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            alarm(20);
            close(p[0]);
            setenv("NOTIFY_SOCKET", cases[k].address, 1);
            fault_reset();
            fault_arm("socket", cases[k].err, 1, 0);
            int r = api.notify(0, "READY=1");
            unsigned n = fault_calls("socket");
            fault_reset();
            dprintf(p[1], "%d %u", r, n);
            _exit(0);
        }
        close(p[1]);
        char text[64] = "";
        ssize_t n = read(p[0], text, sizeof text - 1);
        text[n > 0 ? n : 0] = 0;
        close(p[0]);
        int status;
        waitpid(pid, &status, 0);
        int r = 0;
        unsigned calls = 0;
        g.runs++;
        if (sscanf(text, "%d %u", &r, &calls) == 2 && r == -cases[k].err &&
            calls == cases[k].calls) {
            passed++;
        } else {
            failed++;
            g.bad++;
            note(&g, "#   NOTIFY_SOCKET=%s, socket() fails with %s: wanted -%s after %u call(s),"
                     " saw \"%s\" (return value, calls)\n",
                 cases[k].address, errname(cases[k].err), errname(cases[k].err), cases[k].calls,
                 text);
        }
    }
    close_group(&g, "vsock socket types: which socket() failures fall back to the next type");
}

static void *need(void *h, const char *name, int optional)
{
    void *p = dlsym(h, name);
    if (!p && !optional) {
        fprintf(stderr, "driver: %s has no %s\n", "the library", name);
        exit(2);
    }
    return p;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--seccomp") == 0) {
        seccomp_mode = 1;
        argv++;
        argc--;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s [--seccomp] LIBRARY (run under LD_PRELOAD=fault-shim.so)\n",
                argv[0]);
        return 2;
    }
    if (seccomp_mode) {
        const struct fault none = { 0 };
        const struct fault *faults[] = { &none };
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0)
            _exit(install_filter(faults, 1) < 0 ? 1 : 0);
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            printf("ok - %s: seccomp # SKIP no seccomp filters here\n1..1\n"
                   "0 passed, 0 failed, 1 skipped\n", argv[1]);
            return 0;
        }
    }
    *(void **) &fault_arm = dlsym(RTLD_DEFAULT, "fault_arm");
    *(void **) &fault_reset = dlsym(RTLD_DEFAULT, "fault_reset");
    *(void **) &fault_calls = dlsym(RTLD_DEFAULT, "fault_calls");
    *(void **) &fault_injected = dlsym(RTLD_DEFAULT, "fault_injected");
    if (!fault_arm || !fault_reset || !fault_calls || !fault_injected) {
        fprintf(stderr, "driver: the fault shim is not loaded (LD_PRELOAD=.../fault-shim.so;"
                        " with --seccomp it counts the calls)\n");
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "driver: %s\n", dlerror());
        return 2;
    }
    *(void **) &api.notify = need(h, "sd_notify", 0);
    *(void **) &api.notifyf = need(h, "sd_notifyf", 0);
    *(void **) &api.pid_notify = need(h, "sd_pid_notify", 0);
    *(void **) &api.pid_notify_with_fds = need(h, "sd_pid_notify_with_fds", 0);
    *(void **) &api.notify_barrier = need(h, "sd_notify_barrier", 0);
    *(void **) &api.listen_fds = need(h, "sd_listen_fds", 0);
    *(void **) &api.listen_fds_with_names = need(h, "sd_listen_fds_with_names", 0);
    *(void **) &api.is_fifo = need(h, "sd_is_fifo", 0);
    *(void **) &api.is_special = need(h, "sd_is_special", 0);
    *(void **) &api.is_socket = need(h, "sd_is_socket", 0);
    *(void **) &api.is_socket_inet = need(h, "sd_is_socket_inet", 0);
    *(void **) &api.is_socket_sockaddr = need(h, "sd_is_socket_sockaddr", 0);
    *(void **) &api.is_socket_unix = need(h, "sd_is_socket_unix", 0);
    *(void **) &api.is_mq = need(h, "sd_is_mq", 0);
    *(void **) &api.pidfd_get_inode_id = need(h, "sd_pidfd_get_inode_id", 1);
    *(void **) &api.notify_fd = need(h, "readyd_notify_fd", 1);
    *(void **) &api.ready = need(h, "readyd_ready", 1);
    *(void **) &api.daemonize = need(h, "readyd_daemonize", 1);
    *(void **) &api.pid_notify_barrier = need(h, "sd_pid_notify_barrier", 1);
    *(void **) &api.failed = need(h, "readyd_failed", 1);
    *(void **) &api.reloading = need(h, "readyd_reloading", 1);
    *(void **) &api.stopping = need(h, "readyd_stopping", 1);

    snprintf(tmpdir, sizeof tmpdir, "/tmp/readyd-fault.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    printf("# fault injection%s: %s\n", seccomp_mode ? " (seccomp)" : "", argv[1]);
    for (int i = 0; i < N_SCENARIOS; i++)
        scenario_runs(&scenarios[i]);
    current = NULL;
    if (!seccomp_mode) {
        /* these count calls: the shim's */
        daemonize_second_fork();
        vsock_fallback();
    }
    rmdir(tmpdir);
    printf("1..%d\n", groups);
    if (skipped)
        printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else
        printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
