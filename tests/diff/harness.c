/*
 * Differential harness for the sd-daemon API (DESIGN.md, tests layer 4).
 *
 *   harness LIBRARY_PATH [CASE_ID...]
 *
 * Loads one library with dlopen (so libsystemd and readyd never meet in one process), looks
 * up every sd-daemon function by name, and runs each case of the table at the end of this
 * file in a forked child. The child starts from a known state: an empty environment, only
 * fds 0-2 open, umask 022, its own process group. It then builds exactly what the case
 * needs, calls the library, and reports one line:
 *
 *   CASE_ID: r=<return value> [out-parameters] [cloexec=...] [env=...] [recv=... fds=... creds=...]
 *
 * Negative returns are printed as errno names, pids relative to the child ("self", "1",
 * "other"), uids and gids relative to the harness ("self" or the number), payloads escaped; nothing that changes from run to run (pids, paths, temporary
 * names) appears, so two libraries' outputs can be compared line by line (tests/diff/run.sh).
 * A function the library does not export prints "absent(<name>)"; a child that hangs is
 * killed and printed as TIMEOUT. The harness exits 0, or 3 when a case's process printed its
 * line but exited non-zero (under valgrind --error-exitcode: a memory error in that case).
 *
 * The prototypes are declared here from the spec (§1.3); no systemd header is used.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------ */
/* The API under test, as function-pointer types with libsystemd's exact signatures.     */

typedef int (*listen_fds_fn)(int unset_environment);
typedef int (*listen_fds_with_names_fn)(int unset_environment, char ***names);
typedef int (*is_fifo_fn)(int fd, const char *path);
typedef int (*is_special_fn)(int fd, const char *path);
typedef int (*is_socket_fn)(int fd, int family, int type, int listening);
typedef int (*is_socket_inet_fn)(int fd, int family, int type, int listening, uint16_t port);
typedef int (*is_socket_sockaddr_fn)(int fd, int type, const struct sockaddr *addr,
                                     unsigned addr_len, int listening);
typedef int (*is_socket_unix_fn)(int fd, int type, int listening, const char *path,
                                 size_t length);
typedef int (*is_mq_fn)(int fd, const char *path);
typedef int (*notify_fn)(int unset_environment, const char *state);
typedef int (*notifyf_fn)(int unset_environment, const char *format, ...);
typedef int (*pid_notify_fn)(pid_t pid, int unset_environment, const char *state);
typedef int (*pid_notifyf_fn)(pid_t pid, int unset_environment, const char *format, ...);
typedef int (*pid_notify_with_fds_fn)(pid_t pid, int unset_environment, const char *state,
                                      const int *fds, unsigned n_fds);
typedef int (*pid_notifyf_with_fds_fn)(pid_t pid, int unset_environment, const int *fds,
                                       size_t n_fds, const char *format, ...);
typedef int (*notify_barrier_fn)(int unset_environment, uint64_t timeout);
typedef int (*pid_notify_barrier_fn)(pid_t pid, int unset_environment, uint64_t timeout);
typedef int (*pidfd_get_inode_id_fn)(int pidfd, uint64_t *ret);
typedef int (*booted_fn)(void);
typedef int (*watchdog_enabled_fn)(int unset_environment, uint64_t *usec);

struct api {
    listen_fds_fn listen_fds;
    listen_fds_with_names_fn listen_fds_with_names;
    is_fifo_fn is_fifo;
    is_special_fn is_special;
    is_socket_fn is_socket;
    is_socket_inet_fn is_socket_inet;
    is_socket_sockaddr_fn is_socket_sockaddr;
    is_socket_unix_fn is_socket_unix;
    is_mq_fn is_mq;
    notify_fn notify;
    notifyf_fn notifyf;
    pid_notify_fn pid_notify;
    pid_notifyf_fn pid_notifyf;
    pid_notify_with_fds_fn pid_notify_with_fds;
    pid_notifyf_with_fds_fn pid_notifyf_with_fds;
    notify_barrier_fn notify_barrier;
    pid_notify_barrier_fn pid_notify_barrier;
    pidfd_get_inode_id_fn pidfd_get_inode_id;
    booted_fn booted;
    watchdog_enabled_fn watchdog_enabled;
};

static struct api api;

/* Symbol name -> slot in `api`. Every slot is a function pointer, the size of a void*. */
static const struct {
    const char *name;
    size_t offset;
} symbols[] = {
#define SYM(member) { "sd_" #member, offsetof(struct api, member) }
    SYM(listen_fds),          SYM(listen_fds_with_names), SYM(is_fifo),
    SYM(is_special),          SYM(is_socket),             SYM(is_socket_inet),
    SYM(is_socket_sockaddr),  SYM(is_socket_unix),        SYM(is_mq),
    SYM(notify),              SYM(notifyf),               SYM(pid_notify),
    SYM(pid_notifyf),         SYM(pid_notify_with_fds),   SYM(pid_notifyf_with_fds),
    SYM(notify_barrier),      SYM(pid_notify_barrier),    SYM(pidfd_get_inode_id),
    SYM(booted),              SYM(watchdog_enabled),
#undef SYM
};

/* ------------------------------------------------------------------------------------ */
/* Run-wide state shared with the children.                                              */

static char tmpdir[64];     /* private scratch directory, removed at the end */
static pid_t self_pid;      /* the case child's pid, cached once set up */
static uid_t run_uid;       /* the ids the harness runs with: printed as "self" */
static gid_t run_gid;

/* ------------------------------------------------------------------------------------ */
/* The child's result line: fields separated by one space, written once at the end.      */

static char obuf[1 << 16];
static size_t olen;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
    va_list ap;
    if (olen && olen < sizeof obuf - 1)
        obuf[olen++] = ' ';
    va_start(ap, fmt);
    int n = vsnprintf(obuf + olen, sizeof obuf - olen, fmt, ap);
    va_end(ap);
    if (n > 0)
        olen += (size_t) n < sizeof obuf - olen ? (size_t) n : sizeof obuf - olen - 1;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t) w;
    }
}

static _Noreturn void finish(void)
{
    write_all(STDOUT_FILENO, obuf, olen);
    _exit(0);
}

/* A setup step of the harness itself failed: this is not a library result. */
static _Noreturn void setup_failed(const char *what)
{
    olen = 0;
    out("SETUP-FAILED(%s: %s)", what, strerror(errno));
    finish();
}

static _Noreturn void absent(const char *name)
{
    olen = 0;
    out("absent(%s)", name);
    finish();
}

#define NEED(member)                                                                       \
    do {                                                                                   \
        if (!api.member)                                                                   \
            absent("sd_" #member);                                                         \
    } while (0)

/* ------------------------------------------------------------------------------------ */
/* Formatting helpers.                                                                   */

static const struct {
    int no;
    const char *name;
} errnames[] = {
#define E(x) { x, #x }
    E(EPERM),        E(ENOENT),       E(ESRCH),        E(EINTR),         E(EIO),
    E(ENXIO),        E(E2BIG),        E(EBADF),        E(ECHILD),        E(EAGAIN),
    E(ENOMEM),       E(EACCES),       E(EFAULT),       E(EEXIST),        E(ENODEV),
    E(ENOTDIR),      E(EISDIR),       E(EINVAL),       E(ENFILE),        E(EMFILE),
    E(ENOTTY),       E(EPIPE),        E(ERANGE),       E(ENAMETOOLONG),  E(ENOSYS),
    E(ENOTSOCK),     E(EDESTADDRREQ), E(EMSGSIZE),     E(EPROTOTYPE),    E(ENOPROTOOPT),
    E(EPROTONOSUPPORT), E(ESOCKTNOSUPPORT), E(EOPNOTSUPP), E(EPFNOSUPPORT), E(EAFNOSUPPORT),
    E(EADDRINUSE),   E(EADDRNOTAVAIL), E(ENETUNREACH), E(ECONNRESET),    E(ENOBUFS),
    E(EISCONN),      E(ENOTCONN),     E(ETIMEDOUT),    E(ECONNREFUSED),  E(EPROTO),
    E(EOVERFLOW),    E(ELOOP),        E(ENOTEMPTY),
#undef E
};

/* Return value: non-negative as a number, negative as -ENAME. */
static const char *rstr(int r)
{
    static char b[40];
    if (r >= 0) {
        snprintf(b, sizeof b, "%d", r);
        return b;
    }
    for (size_t i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
        if (errnames[i].no == -r) {
            snprintf(b, sizeof b, "-%s", errnames[i].name);
            return b;
        }
    snprintf(b, sizeof b, "-errno%d", -r);
    return b;
}

static void out_r(int r)
{
    out("r=%s", rstr(r));
}

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

/* Quoted, C-style escaped bytes; '|' is escaped too so lines never contain " | ".
 * Long payloads are summarised by length and hash. */
static void quote(char *dst, size_t cap, const unsigned char *s, size_t n)
{
    size_t o = 0;
    if (n > 256) {
        snprintf(dst, cap, "len:%zu,fnv:%08x", n, (unsigned) fnv1a(s, n));
        return;
    }
    dst[o++] = '"';
    for (size_t i = 0; i < n && o + 6 < cap; i++) {
        unsigned char c = s[i];
        if (c == '\n')
            o += (size_t) snprintf(dst + o, cap - o, "\\n");
        else if (c == '\t')
            o += (size_t) snprintf(dst + o, cap - o, "\\t");
        else if (c == '\\' || c == '"')
            o += (size_t) snprintf(dst + o, cap - o, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f || c == '|')
            o += (size_t) snprintf(dst + o, cap - o, "\\x%02x", c);
        else
            dst[o++] = (char) c;
    }
    dst[o++] = '"';
    dst[o] = '\0';
}

/* Which of the given variables are still set: env=A,B or env=-. */
static void out_env(const char *const *names)
{
    char b[256] = "";
    size_t o = 0;
    for (; *names; names++)
        if (getenv(*names))
            o += (size_t) snprintf(b + o, sizeof b - o, "%s%s", o ? "," : "", *names);
    out("env=%s", o ? b : "-");
}

static const char *const listen_vars[] = {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES",
                                          "LISTEN_PIDFDID", NULL};
static const char *const watchdog_vars[] = {"WATCHDOG_USEC", "WATCHDOG_PID", NULL};
static const char *const notify_vars[] = {"NOTIFY_SOCKET", NULL};

/* FD_CLOEXEC state of fds first..first+n-1: cloexec=3:y,4:n (or "closed"). */
static void out_cloexec(int first, int n)
{
    char b[512];
    size_t o = 0;
    for (int fd = first; fd < first + n && o < sizeof b - 32; fd++) {
        int fl = fcntl(fd, F_GETFD);
        o += (size_t) snprintf(b + o, sizeof b - o, "%s%d:%s", o ? "," : "", fd,
                               fl < 0 ? "closed" : (fl & FD_CLOEXEC) ? "y" : "n");
    }
    out("cloexec=%s", n > 0 ? b : "-");
}

/* Kind and access mode of an fd, e.g. "fifo:w", "chr:r", "sock:rw". */
static void fd_kind(int fd, char *dst, size_t cap)
{
    struct stat st;
    const char *k = "other", *m = "?";
    if (fstat(fd, &st) == 0) {
        if (S_ISFIFO(st.st_mode))
            k = "fifo";
        else if (S_ISCHR(st.st_mode))
            k = "chr";
        else if (S_ISREG(st.st_mode))
            k = "reg";
        else if (S_ISSOCK(st.st_mode))
            k = "sock";
        else if (S_ISDIR(st.st_mode))
            k = "dir";
    }
    /* Not O_ACCMODE: musl's includes O_PATH, which would make an O_PATH fd "rw". */
    int fl = fcntl(fd, F_GETFL), acc = fl & (O_RDONLY | O_WRONLY | O_RDWR);
    if (fl >= 0)
        m = acc == O_RDONLY ? "r" : acc == O_WRONLY ? "w" : "rw";
    snprintf(dst, cap, "%s:%s", k, m);
}

/* ------------------------------------------------------------------------------------ */
/* Environment and fd table set-up.                                                      */

/* Sets a variable; "SELF" in the value becomes the child's pid in decimal, "HEXSELF",
 * "OCTSELF", "BINSELF" in hexadecimal, octal, binary digits, "OWNID" the pidfd inode id of
 * the child. NULL leaves it unset. */
static uint64_t own_pidfd_id(void);
static void set_var(const char *name, const char *value)
{
    char b[256];
    const char *p;
    if (!value)
        return;
    if ((p = strstr(value, "HEXSELF")))
        snprintf(b, sizeof b, "%.*s%x%s", (int) (p - value), value, (unsigned) self_pid, p + 7);
    else if ((p = strstr(value, "OCTSELF")))
        snprintf(b, sizeof b, "%.*s%o%s", (int) (p - value), value, (unsigned) self_pid, p + 7);
    else if ((p = strstr(value, "BINSELF"))) {
        char bits[40];
        int n = 0;
        for (int i = 31; i >= 0; i--)
            if (n || ((unsigned) self_pid >> i) & 1u)
                bits[n++] = (char) ('0' + (((unsigned) self_pid >> i) & 1u));
        bits[n] = '\0';
        snprintf(b, sizeof b, "%.*s%s%s", (int) (p - value), value, bits, p + 7);
    }
    else if ((p = strstr(value, "SELF")))
        snprintf(b, sizeof b, "%.*s%d%s", (int) (p - value), value, (int) self_pid, p + 4);
    else if ((p = strstr(value, "OWNID")))
        snprintf(b, sizeof b, "%.*s%llu%s", (int) (p - value), value,
                 (unsigned long long) own_pidfd_id(), p + 5);
    else
        snprintf(b, sizeof b, "%s", value);
    if (setenv(name, b, 1) < 0)
        setup_failed("setenv");
}

/* Moves fd to exactly `target` (closing whatever was there); returns target. */
static int place(int fd, int target)
{
    if (fd < 0)
        setup_failed("open");
    if (fd == target)
        return fd;
    if (dup2(fd, target) < 0)
        setup_failed("dup2");
    close(fd);
    return target;
}

static int open_null(int flags)
{
    int fd = open("/dev/null", flags);
    if (fd < 0)
        setup_failed("open /dev/null");
    return fd;
}

static int pidfd_open_(pid_t pid)
{
    return (int) syscall(SYS_pidfd_open, pid, 0);
}

static uint64_t own_pidfd_id(void)
{
    struct stat st;
    int fd = pidfd_open_(getpid());
    if (fd < 0 || fstat(fd, &st) < 0)
        setup_failed("pidfd_open");
    close(fd);
    return (uint64_t) st.st_ino;
}

static void path_in_tmp(char *dst, size_t cap, const char *leaf)
{
    snprintf(dst, cap, "%s/%s", tmpdir, leaf);
}

/* A symlink `leaf` in the scratch dir pointing at `target` ("" = at itself: a loop). */
static void make_link(const char *target, const char *leaf, char *path, size_t cap)
{
    path_in_tmp(path, cap, leaf);
    unlink(path);
    if (symlink(*target ? target : path, path) < 0)
        setup_failed("symlink");
}

/* fds opened or closed by the library call: snapshot before, compare after. Printed only
 * when something changed ("fd-leak=5" / "fd-closed=3"). */
enum { FD_SCAN = 2048 };
static unsigned char fd_before[FD_SCAN], fd_after[FD_SCAN];

/* Which fds below FD_SCAN are open: read from /proc/self/fd (a few syscalls, which keeps
 * the harness fast under valgrind), or asked of each number when that cannot be listed
 * (no /proc, or no fd left for the listing: the exhaust_fds cases). */
static void open_fd_map(unsigned char *map)
{
    DIR *d = opendir("/proc/self/fd");
    memset(map, 0, FD_SCAN);
    if (!d) {
        for (int fd = 0; fd < FD_SCAN; fd++)
            map[fd] = fcntl(fd, F_GETFD) >= 0;
        return;
    }
    for (struct dirent *e; (e = readdir(d));) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (end != e->d_name && *end == '\0' && fd >= 0 && fd < FD_SCAN && fd != dirfd(d))
            map[fd] = 1;
    }
    closedir(d);
}

static void fd_snapshot(void)
{
    open_fd_map(fd_before);
}

static void out_fd_changes(void)
{
    char leak[256] = "", gone[256] = "";
    size_t lo = 0, go = 0;
    open_fd_map(fd_after);
    for (int fd = 0; fd < FD_SCAN; fd++) {
        int open_now = fd_after[fd];
        if (open_now && !fd_before[fd] && lo < sizeof leak - 16)
            lo += (size_t) snprintf(leak + lo, sizeof leak - lo, "%s%d", lo ? "," : "", fd);
        if (!open_now && fd_before[fd] && go < sizeof gone - 16)
            go += (size_t) snprintf(gone + go, sizeof gone - go, "%s%d", go ? "," : "", fd);
    }
    if (lo)
        out("fd-leak=%s", leak);
    if (go)
        out("fd-closed=%s", gone);
}

/* ------------------------------------------------------------------------------------ */
/* Notify receivers.                                                                     */

/* A datagram receiver with SO_PASSCRED, bound at a path in the scratch dir or at an
 * abstract name; `addr` gets the NOTIFY_SOCKET value that reaches it. */
static int make_receiver_at(const char *path, char *addr, size_t cap);
static int make_receiver(int abstract, char *addr, size_t cap)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    socklen_t len;
    int one = 1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        setup_failed("socket");
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
        setup_failed("SO_PASSCRED");
    if (abstract) {
        int n = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "readyd-diff-%d",
                         (int) self_pid);
        len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + (size_t) n);
        snprintf(addr, cap, "@%s", sa.sun_path + 1);
    } else {
        path_in_tmp(sa.sun_path, sizeof sa.sun_path, "notify.sock");
        unlink(sa.sun_path);
        len = (socklen_t) sizeof sa;
        snprintf(addr, cap, "%s", sa.sun_path);
    }
    if (bind(fd, (struct sockaddr *) &sa, len) < 0)
        setup_failed("bind receiver");
    return fd;
}

/* A datagram receiver at exactly `path` (which may fill sun_path up to its last byte). */
static int make_receiver_at(const char *path, char *addr, size_t cap)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int one = 1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
        setup_failed("socket");
    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        setup_failed("receiver path");
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    unlink(path);
    if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
        setup_failed("bind receiver");
    snprintf(addr, cap, "%s", path);
    return fd;
}

/* A SOCK_STREAM or SOCK_SEQPACKET listener at a path: not a valid notify target. */
static int make_listener_at(int type, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        setup_failed("socket");
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    unlink(path);
    if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 4) < 0)
        setup_failed("bind listener");
    return fd;
}

/* Receives one datagram (blocking or not) and describes it into dst:
 *   recv="..." fds=N[kinds] creds=pid:self,uid:U,gid:G [ctrunc]
 * or recv=none when nothing is queued. Received fds are closed after `hold_ms`. The
 * sender's pid is `sender`; more queued datagrams are counted as more=N (non-blocking
 * mode only). */
static void describe_datagram(int rx, int dontwait, pid_t sender, int hold_ms, char *dst,
                              size_t cap)
{
    static union {
        char buf[CMSG_SPACE(sizeof(int) * 300) + CMSG_SPACE(sizeof(struct ucred)) + 256];
        struct cmsghdr align;
    } control;
    char kinds[64 * 12] = "", q[1200];
    int received[300], nrecv = 0;
    size_t o = 0;
    int flags = dontwait ? MSG_DONTWAIT : 0;

    ssize_t len = recv(rx, NULL, 0, flags | MSG_PEEK | MSG_TRUNC);
    if (len < 0) {
        if (errno == EAGAIN)
            snprintf(dst, cap, "recv=none");
        else
            snprintf(dst, cap, "recv-error=%s", rstr(-errno));
        return;
    }
    unsigned char *data = malloc((size_t) len + 1);
    if (!data)
        setup_failed("malloc");
    struct iovec iov = {.iov_base = data, .iov_len = (size_t) len + 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    ssize_t n = recvmsg(rx, &msg, flags);
    if (n < 0) {
        snprintf(dst, cap, "recv-error=%s", rstr(-errno));
        free(data);
        return;
    }
    quote(q, sizeof q, data, (size_t) n);
    free(data);

    char creds[96] = "none";
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET)
            continue;
        if (c->cmsg_type == SCM_RIGHTS) {
            size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k && nrecv < 300; i++)
                memcpy(&received[nrecv++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        } else if (c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred u;
            memcpy(&u, CMSG_DATA(c), sizeof u);
            const char *who = u.pid == sender ? "self" : u.pid == 1 ? "1" : "other";
            char uid[16] = "self", gid[16] = "self";
            if (u.uid != run_uid)
                snprintf(uid, sizeof uid, "%u", (unsigned) u.uid);
            if (u.gid != run_gid)
                snprintf(gid, sizeof gid, "%u", (unsigned) u.gid);
            snprintf(creds, sizeof creds, "pid:%s,uid:%s,gid:%s", who, uid, gid);
        }
    }
    /* Kinds, run-length compressed: "chr:r*253" rather than 253 entries. */
    size_t ko = 0;
    for (int i = 0; i < nrecv;) {
        char k[16], k2[16];
        int j = i + 1;
        fd_kind(received[i], k, sizeof k);
        while (j < nrecv) {
            fd_kind(received[j], k2, sizeof k2);
            if (strcmp(k, k2) != 0)
                break;
            j++;
        }
        if (ko < sizeof kinds - 32) {
            if (j - i > 1)
                ko += (size_t) snprintf(kinds + ko, sizeof kinds - ko, "%s%s*%d", ko ? "," : "",
                                        k, j - i);
            else
                ko += (size_t) snprintf(kinds + ko, sizeof kinds - ko, "%s%s", ko ? "," : "", k);
        }
        i = j;
    }
    if (hold_ms > 0) {
        struct timespec ts = {.tv_sec = hold_ms / 1000, .tv_nsec = (hold_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < nrecv; i++)
        close(received[i]);

    o += (size_t) snprintf(dst + o, cap - o, "recv=%s fds=%d", q, nrecv);
    if (nrecv)
        o += (size_t) snprintf(dst + o, cap - o, "[%s]", kinds);
    o += (size_t) snprintf(dst + o, cap - o, " creds=%s", creds);
    if (msg.msg_flags & MSG_CTRUNC)
        o += (size_t) snprintf(dst + o, cap - o, " ctrunc");
    if (dontwait) {
        int more = 0;
        char dummy;
        while (recv(rx, &dummy, 1, MSG_DONTWAIT | MSG_TRUNC) >= 0)
            more++;
        if (more)
            snprintf(dst + o, cap - o, " more=%d", more);
    }
}

/* After the call: whatever reached the in-process receiver. */
static void out_received(int rx)
{
    char d[2048];
    describe_datagram(rx, 1, self_pid, 0, d, sizeof d);
    out("%s", d);
}

/* A receiver in a separate process (the barrier waits, so the caller cannot read its own
 * socket): it reads one datagram, keeps the fds `hold_ms`, closes them and writes its
 * description to a pipe read by collect_receiver(). */
struct remote {
    pid_t pid;
    int report;
};

static struct remote start_receiver(int rx, int hold_ms)
{
    int p[2];
    pid_t sender = self_pid;
    if (pipe2(p, O_CLOEXEC) < 0)
        setup_failed("pipe2");
    pid_t pid = fork();
    if (pid < 0)
        setup_failed("fork");
    if (pid == 0) {
        char d[2048];
        close(p[0]);
        close(STDOUT_FILENO);
        alarm(4);
        describe_datagram(rx, 0, sender, hold_ms, d, sizeof d);
        write_all(p[1], d, strlen(d));
        _exit(0);
    }
    close(p[1]);
    close(rx);
    return (struct remote){.pid = pid, .report = p[0]};
}

static void collect_receiver(struct remote r)
{
    char d[2048];
    size_t o = 0;
    ssize_t n;
    while (o < sizeof d - 1 && (n = read(r.report, d + o, sizeof d - 1 - o)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        o += (size_t) n;
    }
    d[o] = '\0';
    close(r.report);
    waitpid(r.pid, NULL, 0);
    out("%s", o ? d : "receiver=nothing");
}

/* ------------------------------------------------------------------------------------ */
/* Case table types.                                                                     */

struct tcase;
typedef void (*case_fn)(const struct tcase *c);

/* sd_listen_fds / sd_listen_fds_with_names */
struct listen_args {
    const char *pid, *fds, *names, *pidfdid; /* values (see set_var); NULL = unset */
    int nopen;                               /* fds 3..3+nopen-1 open, without FD_CLOEXEC */
    int unset;
    int mode;                                /* LF_PLAIN, LF_NAMES or LF_NAMES_NULL */
    int close_fd;                            /* if > 0: this one of them closed again */
};
enum { LF_PLAIN, LF_NAMES, LF_NAMES_NULL };

/* sd_watchdog_enabled */
struct watchdog_args {
    const char *usec, *pid;
    int unset;
    int null_usec;
};

/* The notify family and the barrier */
enum { N_NOTIFY, N_NOTIFYF, N_PID_NOTIFY, N_PID_NOTIFYF, N_WITH_FDS, N_F_WITH_FDS, N_BARRIER,
       N_PID_BARRIER };
enum { TO_UNSET, TO_LITERAL, TO_PATH_RX, TO_ABSTRACT_RX, TO_STREAM, TO_SEQPACKET, TO_LONG,
       TO_LONG_RX, TO_PATH_RX_SLASH };
enum { P_ZERO, P_SELF, P_ONE, P_GONE, P_NEG5 };
enum { F_NULL, F_REAL, F_BAD, F_DUMMY };
enum { ID_KEEP, ID_NOBODY, ID_REAL_UID_ONLY, ID_REAL_GID_ONLY };
enum { RX_INLINE, RX_CLOSE, RX_HOLD };
enum { FA_NONE, FA_INT_STR, FA_STR, FA_BIG, FA_HUGE_WIDTH };

struct notify_args {
    int fn;            /* N_* */
    int to;            /* TO_*: how NOTIFY_SOCKET is set */
    const char *addr;  /* TO_LITERAL: the value; TO_LONG: "/" or "@" */
    int addr_len;      /* TO_LONG: total length of the value */
    const char *state; /* state, or format for the f variants; NULL is passed as NULL */
    int fmt_args;      /* FA_*: arguments after the format */
    int pid;           /* P_* */
    int unset;
    int fds;           /* F_*: what the fds argument points at */
    size_t n_fds;      /* the count passed */
    int ids;           /* ID_*: credentials changes before the call */
    int rx;            /* RX_*: who reads the receiver */
    uint64_t timeout;  /* barrier timeout */
    size_t big;        /* if non-zero: state of this many 'x' bytes */
    int exhaust_fds;   /* lower RLIMIT_NOFILE so no new fd can be created */
    int limit_as;      /* cap RLIMIT_AS near the current size so a big allocation fails */
};

struct tcase {
    const char *id;
    case_fn fn;
    unsigned flags;
    int v; /* variant selector for the hand-written cases */
    struct listen_args ls;
    struct watchdog_args wd;
    struct notify_args nt;
};
#define NEEDS_ROOT 1u

/* ------------------------------------------------------------------------------------ */
/* sd_listen_fds and sd_listen_fds_with_names                                            */

static void t_listen(const struct tcase *c)
{
    const struct listen_args *a = &c->ls;
    static char *untouched_mark;
    char **names = &untouched_mark;
    int r;

    if (a->mode == LF_PLAIN)
        NEED(listen_fds);
    else
        NEED(listen_fds_with_names);

    set_var("LISTEN_PID", a->pid);
    set_var("LISTEN_FDS", a->fds);
    set_var("LISTEN_FDNAMES", a->names);
    set_var("LISTEN_PIDFDID", a->pidfdid);
    for (int i = 0; i < a->nopen; i++)
        place(open_null(O_RDONLY), 3 + i);
    if (a->close_fd > 0)
        close(a->close_fd); /* a gap: an fd closed under the caller */

    fd_snapshot();
    if (a->mode == LF_PLAIN)
        r = api.listen_fds(a->unset);
    else if (a->mode == LF_NAMES)
        r = api.listen_fds_with_names(a->unset, &names);
    else
        r = api.listen_fds_with_names(a->unset, NULL);

    out_r(r);
    out_fd_changes();
    if (a->mode == LF_NAMES) {
        if (names == &untouched_mark) {
            out("names=untouched");
        } else if (!names) {
            out("names=NULL");
        } else {
            char b[1024] = "", q[256];
            size_t o = 0;
            for (char **p = names; *p; p++) {
                quote(q, sizeof q, (const unsigned char *) *p, strlen(*p));
                o += (size_t) snprintf(b + o, sizeof b - o, "%s%s", p == names ? "" : ",", q);
                free(*p);
            }
            free(names);
            out("names=[%s]", b);
        }
    }
    out_cloexec(3, a->nopen);
    out_env(listen_vars);
}

/* ------------------------------------------------------------------------------------ */
/* sd_watchdog_enabled                                                                   */

static void t_watchdog(const struct tcase *c)
{
    const struct watchdog_args *a = &c->wd;
    const uint64_t mark = UINT64_C(0x5eed5eed5eed5eed);
    uint64_t usec = mark;

    NEED(watchdog_enabled);
    set_var("WATCHDOG_USEC", a->usec);
    set_var("WATCHDOG_PID", a->pid);
    out_r(api.watchdog_enabled(a->unset, a->null_usec ? NULL : &usec));
    if (!a->null_usec) {
        if (usec == mark)
            out("usec=untouched");
        else
            out("usec=%llu", (unsigned long long) usec);
    }
    out_env(watchdog_vars);
}

/* ------------------------------------------------------------------------------------ */
/* The notify family and the barrier                                                     */

static pid_t pid_for(int p)
{
    switch (p) {
    case P_SELF: return self_pid;
    case P_ONE: return 1;
    case P_GONE: return 4000000; /* above any pid in use on the test machines */
    case P_NEG5: return -5;
    default: return 0;
    }
}

static void t_notify(const struct tcase *c)
{
    const struct notify_args *a = &c->nt;
    char addr[256] = "";
    int rx = -1;
    static int fdv[300];
    const int *fds = NULL;
    char *state = (char *) a->state;
    pid_t pid = pid_for(a->pid);
    struct remote remote = {.pid = -1, .report = -1};
    struct rlimit saved = {0, 0}, saved_as = {0, 0};
    int r = 0;

    switch (a->fn) {
    case N_NOTIFY: NEED(notify); break;
    case N_NOTIFYF: NEED(notifyf); break;
    case N_PID_NOTIFY: NEED(pid_notify); break;
    case N_PID_NOTIFYF: NEED(pid_notifyf); break;
    case N_WITH_FDS: NEED(pid_notify_with_fds); break;
    case N_F_WITH_FDS: NEED(pid_notifyf_with_fds); break;
    case N_BARRIER: NEED(notify_barrier); break;
    case N_PID_BARRIER: NEED(pid_notify_barrier); break;
    }

    /* Where NOTIFY_SOCKET points. */
    switch (a->to) {
    case TO_LITERAL:
        snprintf(addr, sizeof addr, "%s", a->addr);
        break;
    case TO_PATH_RX:
    case TO_ABSTRACT_RX:
        rx = make_receiver(a->to == TO_ABSTRACT_RX, addr, sizeof addr);
        break;
    case TO_STREAM:
    case TO_SEQPACKET:
        path_in_tmp(addr, sizeof addr, "listener.sock");
        make_listener_at(a->to == TO_STREAM ? SOCK_STREAM : SOCK_SEQPACKET, addr);
        break;
    case TO_LONG:
        /* "/aaa…" (nothing of that name exists) or "@zzz…" (nobody bound), exact length */
        addr[0] = a->addr[0];
        memset(addr + 1, a->addr[0] == '/' ? 'a' : 'z', (size_t) a->addr_len - 1);
        addr[a->addr_len] = '\0';
        break;
    case TO_LONG_RX: {
        /* a real receiver whose path is exactly addr_len characters long */
        char p[256];
        size_t base = strlen(tmpdir) + 1;
        snprintf(p, sizeof p, "%s/", tmpdir);
        memset(p + base, 'r', (size_t) a->addr_len - base);
        p[a->addr_len] = '\0';
        rx = make_receiver_at(p, addr, sizeof addr);
        break;
    }
    case TO_PATH_RX_SLASH:
        /* the receiver's path with a trailing slash */
        rx = make_receiver(0, addr, sizeof addr);
        strcat(addr, "/");
        break;
    }
    if (a->to != TO_UNSET)
        set_var("NOTIFY_SOCKET", addr);

    /* The fds argument. */
    if (a->fds == F_REAL) {
        /* /dev/null read-only first, then the write end of a pipe, then more /dev/null */
        int p[2];
        if (pipe(p) < 0)
            setup_failed("pipe");
        for (size_t i = 0; i < a->n_fds && i < 300; i++)
            fdv[i] = i == 1 ? p[1] : open_null(O_RDONLY);
        if (a->n_fds < 2)
            close(p[1]);
        close(p[0]);
        fds = fdv;
    } else if (a->fds == F_BAD) {
        fdv[0] = 999;
        fds = fdv;
    } else if (a->fds == F_DUMMY) {
        for (int i = 0; i < 300; i++)
            fdv[i] = 900 + i; /* never looked at: the call fails before using them */
        fds = fdv;
    }

    if (a->big) {
        state = malloc(a->big + 1);
        if (!state)
            setup_failed("malloc");
        memset(state, 'x', a->big);
        state[a->big] = '\0';
    }

    if (a->rx == RX_CLOSE || a->rx == RX_HOLD) {
        remote = start_receiver(rx, a->rx == RX_HOLD ? 300 : 0);
        rx = -1;
    }

    if (a->ids == ID_NOBODY) {
        if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
            setresuid(65534, 65534, 65534) < 0)
            setup_failed("drop to nobody");
    } else if (a->ids == ID_REAL_UID_ONLY) {
        if (setresuid(65534, 0, 0) < 0)
            setup_failed("setresuid");
    } else if (a->ids == ID_REAL_GID_ONLY) {
        if (setresgid(65534, 0, 0) < 0)
            setup_failed("setresgid");
    }

    if (a->exhaust_fds) {
        /* the soft limit at the lowest free fd: socket() and pipe2() get EMFILE */
        int lowest = fcntl(0, F_DUPFD, 0);
        if (lowest < 0)
            setup_failed("F_DUPFD");
        close(lowest);
        getrlimit(RLIMIT_NOFILE, &saved);
        struct rlimit lim = {.rlim_cur = (rlim_t) lowest, .rlim_max = saved.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
            setup_failed("setrlimit");
    }

    if (a->limit_as) {
        /* address space: what is mapped now plus 16 MiB, so a 40 MB buffer cannot be had */
        unsigned long pages = 0;
        FILE *f = fopen("/proc/self/statm", "re");
        if (!f || fscanf(f, "%lu", &pages) != 1)
            setup_failed("statm");
        fclose(f);
        getrlimit(RLIMIT_AS, &saved_as);
        struct rlimit lim = {.rlim_cur = (rlim_t) pages * (rlim_t) sysconf(_SC_PAGESIZE) +
                                         ((rlim_t) 16 << 20),
                             .rlim_max = saved_as.rlim_max};
        if (setrlimit(RLIMIT_AS, &lim) < 0)
            setup_failed("setrlimit AS");
        /* qemu-user keeps RLIMIT_AS to itself, its guest can still map 40 MB: the case
         * cannot show what it is about there, and says so for every library alike. */
        void *probe = mmap(NULL, (size_t) 40 << 20, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (probe != MAP_FAILED) {
            munmap(probe, (size_t) 40 << 20);
            setrlimit(RLIMIT_AS, &saved_as);
            if (remote.pid > 0)
                kill(remote.pid, SIGKILL);
            out("skipped (RLIMIT_AS has no effect here, as under qemu-user)");
            return;
        }
    }

    fd_snapshot();
    switch (a->fn) {
    case N_NOTIFY:
        r = api.notify(a->unset, state);
        break;
    case N_PID_NOTIFY:
        r = api.pid_notify(pid, a->unset, state);
        break;
    case N_WITH_FDS:
        r = api.pid_notify_with_fds(pid, a->unset, state, fds, (unsigned) a->n_fds);
        break;
    case N_NOTIFYF:
        switch (a->fmt_args) {
        case FA_INT_STR: r = api.notifyf(a->unset, state, 1, "y"); break;
        case FA_STR: r = api.notifyf(a->unset, state, "foo"); break;
        case FA_BIG: r = api.notifyf(a->unset, "%s", state); break;
        case FA_HUGE_WIDTH: r = api.notifyf(a->unset, "X=%40000000d", 1); break;
        default: r = api.notifyf(a->unset, state); break;
        }
        break;
    case N_PID_NOTIFYF:
        switch (a->fmt_args) {
        case FA_INT_STR: r = api.pid_notifyf(pid, a->unset, state, 1, "y"); break;
        case FA_STR: r = api.pid_notifyf(pid, a->unset, state, "foo"); break;
        case FA_BIG: r = api.pid_notifyf(pid, a->unset, "%s", state); break;
        case FA_HUGE_WIDTH: r = api.pid_notifyf(pid, a->unset, "X=%40000000d", 1); break;
        default: r = api.pid_notifyf(pid, a->unset, state); break;
        }
        break;
    case N_F_WITH_FDS:
        switch (a->fmt_args) {
        case FA_INT_STR:
            r = api.pid_notifyf_with_fds(pid, a->unset, fds, a->n_fds, state, 1, "y");
            break;
        case FA_STR:
            r = api.pid_notifyf_with_fds(pid, a->unset, fds, a->n_fds, state, "foo");
            break;
        case FA_HUGE_WIDTH:
            r = api.pid_notifyf_with_fds(pid, a->unset, fds, a->n_fds, "X=%40000000d", 1);
            break;
        default:
            r = api.pid_notifyf_with_fds(pid, a->unset, fds, a->n_fds, state);
            break;
        }
        break;
    case N_BARRIER:
        r = api.notify_barrier(a->unset, a->timeout);
        break;
    case N_PID_BARRIER:
        r = api.pid_notify_barrier(pid, a->unset, a->timeout);
        break;
    }

    if (a->exhaust_fds)
        setrlimit(RLIMIT_NOFILE, &saved);
    if (a->limit_as)
        setrlimit(RLIMIT_AS, &saved_as);
    if (a->big)
        free(state); /* so that valgrind's leak check sees only the library's leaks */

    out_r(r);
    out_fd_changes();
    out_env(notify_vars);
    if (rx >= 0)
        out_received(rx);
    if (remote.pid > 0)
        collect_receiver(remote);
}

/* S33: the receiver never reads; sends succeed until its queue is full (the count depends
 * on net.unix.max_dgram_qlen, the same for every library), then the call blocks until a
 * signal interrupts it. */
static void on_alarm(int sig)
{
    (void) sig;
}

static void t_full_queue(const struct tcase *c)
{
    char addr[256];
    struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART: the send returns */
    int sent = 0, r = 0, queued = 0;
    (void) c;

    NEED(notify);
    int rx = make_receiver(0, addr, sizeof addr);
    set_var("NOTIFY_SOCKET", addr);
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) < 0)
        setup_failed("sigaction");
    for (int i = 0; i < 5000; i++) {
        struct itimerval t = {.it_value = {.tv_sec = 0, .tv_usec = 150000}};
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &t, NULL);
        r = api.notify(0, "WATCHDOG=1");
        setitimer(ITIMER_REAL, &off, NULL);
        if (r != 1)
            break;
        sent++;
    }
    char dummy;
    while (recv(rx, &dummy, 1, MSG_DONTWAIT | MSG_TRUNC) >= 0)
        queued++;
    out_r(r);
    out("sent-before=%d queued=%d", sent, queued);
    out_env(notify_vars);
}

/* ------------------------------------------------------------------------------------ */
/* A hostile environment (S60 and up): NOTIFY_SOCKET naming what is not a supervisor's    */
/* datagram socket, values of awkward lengths and bytes, sockets the caller may not write */
/* to, and invalid fds with FDSTORE=1. Besides the result, each case prints whether the   */
/* named object was left alone (target=...) and whether anything reached two decoy        */
/* receivers no case names (decoys=none): nothing may be sent anywhere else.              */

enum {
    H_FILE, H_FIFO, H_FIFO_READER, H_DIR, H_LOOP, H_CYCLE, H_LINK_RX, H_DANGLING, H_STALE,
    H_CONNECTED, H_DEVNULL, H_THROUGH_FILE, H_THROUGH_SOCKET, H_PATH108_PREFIX,
    H_ABS108_PREFIX, H_PATH4096, H_ABS4096, H_PATH65536, H_NONUTF8, H_NONUTF8_ABSENT,
    H_ABS_NONUTF8, H_NONUTF8_LEAD, H_CTL, H_ABS_CTL, H_NEWLINE, H_TRAILING_SPACE,
    H_LEADING_SPACE, H_ABS_NEWLINE, H_NOBODY_0600, H_NOBODY_OTHER_0600, H_NOBODY_0666,
    H_NOBODY_DIR_0700, H_NOBODY_FILE, H_ROOT_OTHER_0600, H_FD_NEG, H_FD_MIX, H_FD_INTMAX,
    H_FD_253_LAST_BAD, H_FD_OPATH, H_FD_CLOSED, H_FD_NEG_FIRST,
};

/* A datagram receiver with SO_PASSCRED at the abstract name of exactly these n bytes. */
static int make_abstract_rx(const char *name, size_t n)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int one = 1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
        setup_failed("socket");
    if (n + 1 > sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        setup_failed("abstract name");
    }
    memcpy(sa.sun_path + 1, name, n);
    if (bind(fd, (struct sockaddr *) &sa,
             (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0)
        setup_failed("bind abstract receiver");
    return fd;
}

/* Whether nothing is queued on rx; if something is, `what` describes it. */
static int nothing_queued(int rx, char *what, size_t cap)
{
    describe_datagram(rx, 1, self_pid, 0, what, cap);
    return strcmp(what, "recv=none") == 0;
}

/* Switches to uid and gid 65534, for the cases about permissions. The scratch dir is
 * root's and 0700: it is opened for traversal (and stays so for the rest of the run, still
 * root's and unlistable), so that only the socket's own mode, or its directory's, decides. */
static void become_nobody(void)
{
    if (chmod(tmpdir, 0711) < 0)
        setup_failed("chmod scratch dir");
    if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
        setresuid(65534, 65534, 65534) < 0)
        setup_failed("drop to nobody");
}

static int make_fifo(const char *leaf, char *path, size_t cap);
static int make_regular(const char *leaf, char *path, size_t cap);

static void t_hostile(const struct tcase *c)
{
    static char value[70000];
    static int fdv[260];
    char path[256], other[256], what[2048];
    const char *state = "READY=1";
    int rx = -1, near = -1, witness_fd = -1, nobody = 0, n_fds = -1, keep_fd = -1;
    int decoy_path, decoy_abstract;
    enum { W_NONE, W_FILE, W_FIFO, W_DIR, W_RX } witness = W_NONE; /* checked afterwards */
    char file_before[64] = "";
    struct stat st_before;
    int dir_entries = -1;

    NEED(notify);
    NEED(pid_notify_with_fds);
    path_in_tmp(path, sizeof path, "decoy.sock");
    decoy_path = make_receiver_at(path, other, sizeof other);
    snprintf(other, sizeof other, "readyd-decoy-%d", (int) self_pid);
    decoy_abstract = make_abstract_rx(other, strlen(other));

    switch (c->v) {
    case H_FILE: case H_NOBODY_FILE: { /* a regular file with contents, mode 0644 */
        int fd = make_regular("file", value, sizeof value);
        if (write(fd, "precious\n", 9) != 9 || fchmod(fd, 0644) < 0 || fstat(fd, &st_before) < 0)
            setup_failed("fill file");
        close(fd);
        snprintf(file_before, sizeof file_before, "precious\n");
        witness = W_FILE;
        nobody = c->v == H_NOBODY_FILE;
        break;
    }
    case H_FIFO: /* a FIFO nobody reads: opening it for writing would block */
        close(make_fifo("fifo", value, sizeof value));
        break;
    case H_FIFO_READER: /* a FIFO with a reader, which must see nothing */
        witness_fd = make_fifo("fifo", value, sizeof value);
        close(witness_fd);
        witness_fd = open(value, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (witness_fd < 0)
            setup_failed("open fifo");
        witness = W_FIFO;
        break;
    case H_DIR: { /* a directory holding one file */
        char inner[300];
        path_in_tmp(path, sizeof path, "dir");
        snprintf(value, sizeof value, "%s", path);
        snprintf(inner, sizeof inner, "%s/inside", path);
        if (mkdir(value, 0755) < 0)
            setup_failed("mkdir");
        int fd = open(inner, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0)
            setup_failed("create inside");
        close(fd);
        dir_entries = 1;
        witness = W_DIR;
        break;
    }
    case H_LOOP: make_link("", "loop", value, sizeof value); break;
    case H_CYCLE: {
        char b[256];
        path_in_tmp(b, sizeof b, "cycle-b");
        make_link(b, "cycle-a", value, sizeof value);
        make_link(value, "cycle-b", b, sizeof b);
        break;
    }
    case H_LINK_RX: /* a symlink to a live receiver: followed, delivered */
        path_in_tmp(path, sizeof path, "real.sock");
        rx = make_receiver_at(path, other, sizeof other);
        make_link(path, "link", value, sizeof value);
        break;
    case H_DANGLING:
        path_in_tmp(path, sizeof path, "nowhere");
        make_link(path, "dangling", value, sizeof value);
        break;
    case H_STALE: /* a socket file whose receiver is gone */
        path_in_tmp(path, sizeof path, "stale.sock");
        close(make_receiver_at(path, value, sizeof value));
        break;
    case H_CONNECTED: { /* a datagram socket connected to another: only its peer may send */
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        path_in_tmp(sa.sun_path, sizeof sa.sun_path, "peer.sock");
        near = make_receiver_at(sa.sun_path, other, sizeof other);
        path_in_tmp(path, sizeof path, "connected.sock");
        witness_fd = make_receiver_at(path, value, sizeof value);
        if (connect(witness_fd, (struct sockaddr *) &sa, sizeof sa) < 0)
            setup_failed("connect");
        witness = W_RX;
        break;
    }
    case H_DEVNULL: snprintf(value, sizeof value, "/dev/null"); break;
    case H_THROUGH_FILE:
        close(make_regular("file", path, sizeof path));
        snprintf(value, sizeof value, "%s/sock", path);
        break;
    case H_THROUGH_SOCKET: /* through the decoy, which is a socket, not a directory */
        path_in_tmp(path, sizeof path, "decoy.sock");
        snprintf(value, sizeof value, "%s/sock", path);
        break;
    case H_PATH108_PREFIX: case H_PATH4096: case H_PATH65536: {
        /* a receiver at a path of 107 bytes; the value is longer, and starts with it */
        size_t base = strlen(tmpdir) + 1, len = c->v == H_PATH108_PREFIX ? 108
                                             : c->v == H_PATH4096 ? 4096 : 65536;
        snprintf(path, sizeof path, "%s/", tmpdir);
        memset(path + base, 'r', 107 - base);
        path[107] = '\0';
        near = make_receiver_at(path, other, sizeof other);
        memcpy(value, path, 107);
        memset(value + 107, c->v == H_PATH65536 ? '/' : 'r', len - 107);
        value[len] = '\0';
        break;
    }
    case H_ABS108_PREFIX: case H_ABS4096: { /* the same with an abstract name */
        size_t len = c->v == H_ABS108_PREFIX ? 108 : 4096;
        int n = snprintf(other, sizeof other, "readyd-long-%d", (int) self_pid);
        memset(other + n, 'z', 106 - (size_t) n);
        near = make_abstract_rx(other, 106);
        value[0] = '@';
        memcpy(value + 1, other, 106);
        memset(value + 107, 'z', len - 107);
        value[len] = '\0';
        break;
    }
    case H_NONUTF8: case H_CTL: /* a receiver whose path is not UTF-8 / has control bytes */
        snprintf(path, sizeof path, "%s/%s", tmpdir,
                 c->v == H_NONUTF8 ? "\xff\xfe\x80-not-utf8" : "ctl\x01\x1b[31m\t\r\nend");
        rx = make_receiver_at(path, value, sizeof value);
        break;
    case H_NONUTF8_ABSENT:
        snprintf(value, sizeof value, "%s/\xc3\x28-absent", tmpdir);
        break;
    case H_ABS_NONUTF8: case H_ABS_CTL: {
        int n = snprintf(other, sizeof other, "readyd-%d%s", (int) self_pid,
                         c->v == H_ABS_NONUTF8 ? "\x7f\xff\xfe" : "\x01\n\x1b");
        rx = make_abstract_rx(other, (size_t) n);
        snprintf(value, sizeof value, "@%s", other);
        break;
    }
    case H_NONUTF8_LEAD: /* not '/' or '@' first: an unknown address family */
        path_in_tmp(path, sizeof path, "near.sock");
        near = make_receiver_at(path, other, sizeof other);
        snprintf(value, sizeof value, "\xff%s", path);
        break;
    case H_NEWLINE: case H_TRAILING_SPACE: case H_LEADING_SPACE:
        /* used as is: no trimming reaches the receiver at the trimmed name */
        path_in_tmp(path, sizeof path, "near.sock");
        near = make_receiver_at(path, other, sizeof other);
        snprintf(value, sizeof value, c->v == H_NEWLINE ? "%s\n" : c->v == H_TRAILING_SPACE
                                                                       ? "%s " : " %s", path);
        break;
    case H_ABS_NEWLINE: {
        int n = snprintf(other, sizeof other, "readyd-near-%d", (int) self_pid);
        near = make_abstract_rx(other, (size_t) n);
        snprintf(value, sizeof value, "@%s\n", other);
        break;
    }
    case H_NOBODY_0600: case H_NOBODY_OTHER_0600: case H_NOBODY_0666: case H_ROOT_OTHER_0600:
        path_in_tmp(path, sizeof path, "perm.sock");
        rx = make_receiver_at(path, value, sizeof value);
        if (chmod(path, c->v == H_NOBODY_0666 ? 0666 : 0600) < 0)
            setup_failed("chmod socket");
        if ((c->v == H_NOBODY_OTHER_0600 || c->v == H_ROOT_OTHER_0600) &&
            chown(path, 4321, 4321) < 0)
            setup_failed("chown socket");
        nobody = c->v != H_ROOT_OTHER_0600;
        break;
    case H_NOBODY_DIR_0700: { /* mode 0666 socket in a directory of mode 0700 */
        char d[128];
        path_in_tmp(d, sizeof d, "closed");
        if (mkdir(d, 0700) < 0)
            setup_failed("mkdir");
        snprintf(path, sizeof path, "%s/perm.sock", d);
        rx = make_receiver_at(path, value, sizeof value);
        if (chmod(path, 0666) < 0)
            setup_failed("chmod socket");
        nobody = 1;
        break;
    }
    default: /* the fd cases: a live receiver, FDSTORE=1 with the fds below */
        rx = make_receiver(0, value, sizeof value);
        state = "FDSTORE=1\nFDNAME=bad";
        keep_fd = place(open_null(O_RDONLY), 600);
        switch (c->v) {
        case H_FD_NEG: fdv[0] = -1; n_fds = 1; break;
        case H_FD_NEG_FIRST: fdv[0] = -1; fdv[1] = keep_fd; n_fds = 2; break;
        case H_FD_MIX: fdv[0] = keep_fd; fdv[1] = 999; n_fds = 2; break;
        case H_FD_INTMAX: fdv[0] = INT_MAX; n_fds = 1; break;
        case H_FD_253_LAST_BAD:
            for (int i = 0; i < 252; i++)
                fdv[i] = keep_fd;
            fdv[252] = 999;
            n_fds = 253;
            break;
        case H_FD_OPATH: fdv[0] = place(open_null(O_PATH), 601); n_fds = 1; break;
        case H_FD_CLOSED: /* open once, then closed: the number is stale */
            fdv[0] = place(open_null(O_RDONLY), 602);
            close(fdv[0]);
            n_fds = 1;
            break;
        }
        break;
    }
    if (setenv("NOTIFY_SOCKET", value, 1) < 0)
        setup_failed("setenv");
    if (nobody)
        become_nobody();

    fd_snapshot();
    int r = n_fds < 0 ? api.notify(c->nt.unset, state)
                      : api.pid_notify_with_fds(0, c->nt.unset, state, fdv, (unsigned) n_fds);

    out_r(r);
    out_fd_changes();
    out_env(notify_vars);
    if (rx >= 0)
        out_received(rx);
    if (keep_fd >= 0)
        out("kept-fd=%s", fcntl(keep_fd, F_GETFD) >= 0 ? "open" : "CLOSED");
    if (near >= 0)
        out("near=%s", nothing_queued(near, what, sizeof what) ? "none" : what);
    if (witness == W_FILE) {
        char now[64] = "";
        struct stat st;
        int fd = open(value, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, now, sizeof now - 1);
        if (fd >= 0)
            close(fd);
        int same = n >= 0 && strcmp(now, file_before) == 0 && stat(value, &st) == 0 &&
                   st.st_size == st_before.st_size &&
                   st.st_mtim.tv_sec == st_before.st_mtim.tv_sec &&
                   st.st_mtim.tv_nsec == st_before.st_mtim.tv_nsec;
        out("target=%s", same ? "unchanged" : "CHANGED");
    } else if (witness == W_FIFO) {
        char b;
        out("target=%s", read(witness_fd, &b, 1) <= 0 ? "unchanged" : "WRITTEN");
    } else if (witness == W_DIR) {
        int n = 0;
        DIR *d = opendir(value);
        for (struct dirent *e; d && (e = readdir(d));)
            n += e->d_name[0] != '.';
        if (d)
            closedir(d);
        out("target=%s", n == dir_entries ? "unchanged" : "CHANGED");
    } else if (witness == W_RX) {
        out("target=%s", nothing_queued(witness_fd, what, sizeof what) ? "unchanged" : what);
    }
    int quiet = nothing_queued(decoy_path, what, sizeof what);
    out("decoys=%s", quiet && nothing_queued(decoy_abstract, what, sizeof what) ? "none" : what);
}

/* B8: which of the symbols added after 252 does the library export? */
static void t_symbols(const struct tcase *c)
{
    (void) c;
    out("sd_pid_notify_barrier=%s", api.pid_notify_barrier ? "present" : "absent");
    out("sd_pid_notifyf_with_fds=%s", api.pid_notifyf_with_fds ? "present" : "absent");
    out("sd_pidfd_get_inode_id=%s", api.pidfd_get_inode_id ? "present" : "absent");
}

/* ------------------------------------------------------------------------------------ */
/* sd_is_fifo, sd_is_special                                                             */

static int make_fifo(const char *leaf, char *path, size_t cap)
{
    path_in_tmp(path, cap, leaf);
    unlink(path);
    if (mkfifo(path, 0600) < 0)
        setup_failed("mkfifo");
    int fd = open(path, O_RDWR | O_CLOEXEC); /* O_RDWR: does not wait for a peer */
    if (fd < 0)
        setup_failed("open fifo");
    return fd;
}

static int make_regular(const char *leaf, char *path, size_t cap)
{
    path_in_tmp(path, cap, leaf);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        setup_failed("open regular file");
    return fd;
}

static int make_pipe(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        setup_failed("pipe2");
    close(p[1]);
    return p[0];
}

/* An fd number that is certainly closed. */
enum { CLOSED_FD = 50 };

static void t_is_fifo(const struct tcase *c)
{
    char fifo[128], other[128], reg[128];
    NEED(is_fifo);
    switch (c->v) {
    case 0: out_r(api.is_fifo(-1, NULL)); break;                          /* I1a */
    case 1: out_r(api.is_fifo(CLOSED_FD, NULL)); break;                   /* I1b */
    case 2: out_r(api.is_fifo(make_pipe(), NULL)); break;                 /* I2 */
    case 3: out_r(api.is_fifo(make_regular("f", reg, sizeof reg), NULL)); break; /* I3 */
    case 4: { int fd = make_fifo("fifo", fifo, sizeof fifo);              /* I4a */
              out_r(api.is_fifo(fd, fifo)); break; }
    case 5: { int fd = make_pipe(); make_fifo("fifo", fifo, sizeof fifo); /* I4b */
              out_r(api.is_fifo(fd, fifo)); break; }
    case 6: out_r(api.is_fifo(make_fifo("fifo", fifo, sizeof fifo), "/nonexistent")); break;
    case 7: out_r(api.is_fifo(make_fifo("fifo", fifo, sizeof fifo), "/etc/passwd/x")); break;
    case 8: out_r(api.is_fifo(make_fifo("fifo", fifo, sizeof fifo), "")); break;
    case 9: { int fd = make_fifo("fifo", fifo, sizeof fifo);              /* other fifo */
              make_fifo("fifo2", other, sizeof other);
              out_r(api.is_fifo(fd, other)); break; }
    case 10: out_r(api.is_fifo(make_fifo("fifo", fifo, sizeof fifo), "/etc/passwd")); break;
    case 11: { int fd = make_regular("f", reg, sizeof reg);               /* regular, own path */
               out_r(api.is_fifo(fd, reg)); break; }
    case 12: { int fd = make_fifo("fifo", fifo, sizeof fifo);             /* via a symlink */
               make_link(fifo, "link", other, sizeof other);
               out_r(api.is_fifo(fd, other)); break; }
    case 13: out_r(api.is_fifo(make_fifo("fifo", fifo, sizeof fifo), "/")); break;
    case 14: { int fd = make_fifo("fifo", fifo, sizeof fifo);             /* symlink loop */
               make_link("", "loop", other, sizeof other);
               out_r(api.is_fifo(fd, other)); break; }
    case 16: { int fd = make_fifo("fifo", fifo, sizeof fifo);             /* O_PATH fd */
               int op = open(fifo, O_PATH | O_CLOEXEC);
               if (op < 0) setup_failed("O_PATH");
               close(fd);
               out_r(api.is_fifo(op, fifo)); break; }
    case 15: { static char longp[PATH_MAX + 64];                           /* too long */
               int fd = make_fifo("fifo", fifo, sizeof fifo);
               memset(longp, 'a', sizeof longp - 1);
               longp[0] = '/';
               out_r(api.is_fifo(fd, longp)); break; }
    }
}

static void t_is_special(const struct tcase *c)
{
    char reg[128], other[128];
    int dnull;
    NEED(is_special);
    switch (c->v) {
    case 0: out_r(api.is_special(make_regular("f", reg, sizeof reg), NULL)); break; /* I6a */
    case 1: out_r(api.is_special(open_null(O_RDONLY), NULL)); break;                /* I6b */
    case 2: dnull = open_null(O_RDONLY); out_r(api.is_special(dnull, "/dev/null")); break;
    case 3: dnull = open_null(O_RDONLY); out_r(api.is_special(dnull, "/dev/zero")); break;
    case 4: dnull = open_null(O_RDONLY); out_r(api.is_special(dnull, "/etc/passwd")); break;
    case 5: dnull = open_null(O_RDONLY); out_r(api.is_special(dnull, "/nonexistent")); break;
    case 6: out_r(api.is_special(make_pipe(), NULL)); break;                       /* I8a */
    case 7: { int d = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);               /* I8b */
              if (d < 0) setup_failed("open /");
              out_r(api.is_special(d, NULL)); break; }
    case 8: out_r(api.is_special(-1, NULL)); break;
    case 9: out_r(api.is_special(CLOSED_FD, NULL)); break;
    case 10: { int fd = make_regular("f", reg, sizeof reg);
               out_r(api.is_special(fd, reg)); break; }
    case 11: { int fd = make_regular("f", reg, sizeof reg);
               make_regular("g", other, sizeof other);
               out_r(api.is_special(fd, other)); break; }
    case 12: { int fd = make_regular("f", reg, sizeof reg);                        /* mixed */
               out_r(api.is_special(fd, "/dev/null")); break; }
    case 13: dnull = open_null(O_RDONLY); out_r(api.is_special(dnull, "/etc/passwd/x")); break;
    case 14: { dnull = open_null(O_RDONLY);                                        /* loop */
               make_link("", "loop", other, sizeof other);
               out_r(api.is_special(dnull, other)); break; }
    case 15: { dnull = open_null(O_RDONLY);                                        /* link */
               make_link("/dev/null", "link", other, sizeof other);
               out_r(api.is_special(dnull, other)); break; }
    case 18: out_r(api.is_special(open_null(O_PATH), "/dev/null")); break;        /* O_PATH */
    case 16: dnull = open_null(O_RDONLY); out_r(api.is_special(dnull, "/")); break;
    case 17: { int fd = make_regular("f", reg, sizeof reg);                        /* reg vs dir */
               out_r(api.is_special(fd, "/")); break; }
    }
}

/* ------------------------------------------------------------------------------------ */
/* sd_is_socket, sd_is_socket_unix, sd_is_socket_inet, sd_is_socket_sockaddr             */

static int unix_listener(char *path, size_t cap)
{
    path_in_tmp(path, cap, "is.sock");
    return make_listener_at(SOCK_STREAM, path);
}

static int abstract_listener(char *name, size_t cap, size_t *len)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        setup_failed("socket");
    int n = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "readyd-is-%d", (int) self_pid);
    if (bind(fd, (struct sockaddr *) &sa,
             (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + (size_t) n)) < 0 ||
        listen(fd, 4) < 0)
        setup_failed("bind abstract");
    memcpy(name, sa.sun_path, (size_t) n + 1 < cap ? (size_t) n + 1 : cap);
    *len = (size_t) n + 1;
    return fd;
}

static int inet_socket(int family, int type, int do_listen, struct sockaddr_storage *bound)
{
    socklen_t len = sizeof *bound;
    int fd = socket(family, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        setup_failed("socket inet");
    memset(bound, 0, sizeof *bound);
    if (family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *) bound;
        s->sin_family = AF_INET;
        s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *s;
    } else {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *) bound;
        s->sin6_family = AF_INET6;
        s->sin6_addr = in6addr_loopback;
        len = sizeof *s;
    }
    if (bind(fd, (struct sockaddr *) bound, len) < 0)
        setup_failed("bind inet");
    if (do_listen && listen(fd, 4) < 0)
        setup_failed("listen inet");
    len = sizeof *bound;
    if (getsockname(fd, (struct sockaddr *) bound, &len) < 0)
        setup_failed("getsockname");
    return fd;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *) ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *) ss)->sin6_port);
}

static void t_is_socket(const struct tcase *c)
{
    char path[128];
    NEED(is_socket);
    int fd = c->v < 10 ? unix_listener(path, sizeof path) : c->v < 15 ? make_pipe() : -1;
    switch (c->v) {
    case 0: out_r(api.is_socket(fd, AF_UNIX, SOCK_STREAM, 1)); break;       /* I9 */
    case 1: out_r(api.is_socket(fd, AF_INET, SOCK_STREAM, 1)); break;       /* I10a */
    case 2: out_r(api.is_socket(fd, AF_UNIX, SOCK_DGRAM, 1)); break;        /* I10b */
    case 3: out_r(api.is_socket(fd, AF_UNIX, SOCK_STREAM, 0)); break;       /* I10c */
    case 4: out_r(api.is_socket(fd, AF_UNIX, SOCK_STREAM, 5)); break;       /* I11a */
    case 5: out_r(api.is_socket(fd, AF_UNIX, SOCK_STREAM, -1)); break;      /* I11b */
    case 6: out_r(api.is_socket(fd, -1, SOCK_STREAM, 1)); break;            /* I12a */
    case 7: out_r(api.is_socket(fd, AF_UNIX, -1, 1)); break;                /* I12b */
    case 8: out_r(api.is_socket(fd, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 1)); break; /* I14 */
    case 9: out_r(api.is_socket(fd, 0, 0, -1)); break;                      /* any socket */
    case 10: out_r(api.is_socket(fd, 0, 0, -1)); break;                     /* I13a pipe */
    case 11: out_r(api.is_socket(fd, -1, 0, -1)); break;                    /* I13b */
    case 12: out_r(api.is_socket(-1, 0, 0, -1)); break;
    case 13: out_r(api.is_socket(CLOSED_FD, 0, 0, -1)); break;
    case 14: out_r(api.is_socket(fd, 0, -1, -1)); break;                    /* pipe, type -1 */
    case 15: case 16: case 17: {                                            /* O_PATH socket */
        char sp[128];
        int l = unix_listener(sp, sizeof sp);
        int op = open(sp, O_PATH | O_CLOEXEC);
        if (op < 0) setup_failed("O_PATH");
        close(l);
        if (c->v == 15) out_r(api.is_socket(op, 0, 0, -1));
        else if (c->v == 16) out_r(api.is_socket(op, 0, SOCK_STREAM, -1));
        else out_r(api.is_socket(op, AF_UNIX, 0, -1));
        break;
    }
    }
}

/* A listener bound to a path that fills sun_path to its last byte (108 on Linux), so the
 * kernel stores it without a NUL; `full` (cap: that size + 1) receives it, NUL-terminated. */
static int full_path_listener(char *full, size_t cap)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = sizeof sa.sun_path;
    if (cap != n + 1)
        setup_failed("full_path_listener: buffer size");
    int len = snprintf(full, cap, "%s/", tmpdir);
    if (len < 0 || (size_t) len >= n)
        setup_failed("full_path_listener: scratch dir too long");
    memset(full + len, 'f', n - (size_t) len);
    full[n] = '\0';
    unlink(full);
    memcpy(sa.sun_path, full, n);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        setup_failed("socket");
    if (bind(fd, (struct sockaddr *) &sa, (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n)) < 0 ||
        listen(fd, 4) < 0)
        setup_failed("bind 108-byte path");
    return fd;
}

/* The path full_path_listener bound, from `full` as case `v` left it. */
static const char *path_of_full(char *full, int v)
{
    if (v == 25)
        full[strlen(full) - 1] ^= 1;
    return full;
}

static void t_is_socket_unix(const struct tcase *c)
{
    char path[128], name[108] = ""; /* zeroed: I18e reads name + 1 as a C string */
    size_t nlen = 0;
    int fd;
    NEED(is_socket_unix);
    switch (c->v) {
    case 0: fd = unix_listener(path, sizeof path);                           /* I15a */
            out_r(api.is_socket_unix(fd, SOCK_STREAM, 1, path, 0)); break;
    case 1: fd = unix_listener(path, sizeof path);                           /* I15b */
            out_r(api.is_socket_unix(fd, SOCK_STREAM, 1, path, strlen(path))); break;
    case 2: fd = unix_listener(path, sizeof path);                           /* I16a */
            out_r(api.is_socket_unix(fd, 0, -1, "/tmp/other.sock", 0)); break;
    case 3: fd = unix_listener(path, sizeof path);                           /* I16b prefix */
            path[strlen(path) - 1] = '\0';
            out_r(api.is_socket_unix(fd, 0, -1, path, 0)); break;
    case 4: fd = unix_listener(path, sizeof path);                           /* I17a */
            out_r(api.is_socket_unix(fd, 0, -1, "", 0)); break;
    case 5: { int sp[2];                                                     /* I17b */
              if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                  setup_failed("socketpair");
              out_r(api.is_socket_unix(sp[0], 0, -1, "", 0)); break; }
    case 6: fd = abstract_listener(name, sizeof name, &nlen);                /* I18a */
            out_r(api.is_socket_unix(fd, 0, -1, name, nlen)); break;
    case 7: fd = abstract_listener(name, sizeof name, &nlen);                /* I18b */
            out_r(api.is_socket_unix(fd, 0, -1, name, nlen - 1)); break;
    case 8: fd = abstract_listener(name, sizeof name, &nlen);                /* I18c */
            out_r(api.is_socket_unix(fd, 0, -1, name, 0)); break;
    case 9: out_r(api.is_socket_unix(make_pipe(), 0, -1, NULL, 0)); break;   /* I19a */
    case 10: out_r(api.is_socket_unix(-1, 0, -1, NULL, 0)); break;           /* I19b */
    case 11: fd = unix_listener(path, sizeof path);                          /* path NULL */
             out_r(api.is_socket_unix(fd, 0, -1, NULL, 0)); break;
    case 12: fd = unix_listener(path, sizeof path);                          /* wrong type */
             out_r(api.is_socket_unix(fd, SOCK_DGRAM, -1, path, 0)); break;
    case 13: { struct sockaddr_storage b;                                    /* tcp: not unix */
               fd = inet_socket(AF_INET, SOCK_STREAM, 1, &b);
               out_r(api.is_socket_unix(fd, 0, -1, NULL, 0)); break; }
    case 14: fd = unix_listener(path, sizeof path);                          /* listening=0 */
             out_r(api.is_socket_unix(fd, SOCK_STREAM, 0, path, 0)); break;
    case 15: fd = unix_listener(path, sizeof path);                          /* type -1 */
             out_r(api.is_socket_unix(fd, -1, -1, path, 0)); break;
    case 16: fd = unix_listener(path, sizeof path);                          /* length-1 */
             out_r(api.is_socket_unix(fd, 0, -1, path, strlen(path) - 1)); break;
    case 17: fd = unix_listener(path, sizeof path);                 /* length-1, last differs */
             path[strlen(path) - 1] ^= 1;
             out_r(api.is_socket_unix(fd, 0, -1, path, strlen(path) - 1)); break;
    case 18: fd = unix_listener(path, sizeof path);                          /* length+1 */
             out_r(api.is_socket_unix(fd, 0, -1, path, strlen(path) + 1)); break;
    case 19: { int u = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);        /* unbound */
               if (u < 0) setup_failed("socket");
               out_r(api.is_socket_unix(u, 0, -1, "", 0)); break; }
    case 20: { int u = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);        /* unbound, path */
               if (u < 0) setup_failed("socket");
               out_r(api.is_socket_unix(u, 0, -1, "x", 0)); break; }
    case 21: fd = abstract_listener(name, sizeof name, &nlen);               /* length+1 */
             name[nlen] = '\0';
             out_r(api.is_socket_unix(fd, 0, -1, name, nlen + 1)); break;
    case 22: fd = abstract_listener(name, sizeof name, &nlen);               /* as a path */
             out_r(api.is_socket_unix(fd, 0, -1, name + 1, 0)); break;
    case 23: case 24: case 25: {            /* a path of 108 bytes: sun_path with no NUL */
        char full[sizeof ((struct sockaddr_un *) 0)->sun_path + 1];
        fd = full_path_listener(full, sizeof full);
        if (c->v == 25)
            full[sizeof full - 2] ^= 1; /* the last byte differs */
        out_r(api.is_socket_unix(fd, 0, -1, full, c->v == 24 ? 0 : sizeof full - 1));
        unlink(path_of_full(full, c->v));
        break;
    }
    }
}

static void t_is_socket_inet(const struct tcase *c)
{
    struct sockaddr_storage b;
    int fd;
    NEED(is_socket_inet);
    switch (c->v) {
    case 0: fd = inet_socket(AF_INET, SOCK_STREAM, 1, &b);                  /* I20 */
            out_r(api.is_socket_inet(fd, AF_INET, SOCK_STREAM, 1, port_of(&b))); break;
    case 1: fd = inet_socket(AF_INET, SOCK_STREAM, 1, &b);                  /* I21a */
            out_r(api.is_socket_inet(fd, AF_INET6, SOCK_STREAM, 1, port_of(&b))); break;
    case 2: fd = inet_socket(AF_INET, SOCK_STREAM, 1, &b);                  /* I21b */
            out_r(api.is_socket_inet(fd, AF_INET, SOCK_STREAM, 1,
                                     (uint16_t) (port_of(&b) + 1))); break;
    case 3: fd = inet_socket(AF_INET, SOCK_STREAM, 1, &b);                  /* I21c */
            out_r(api.is_socket_inet(fd, AF_INET, SOCK_DGRAM, 1, port_of(&b))); break;
    case 4: fd = inet_socket(AF_INET, SOCK_STREAM, 1, &b);                  /* I22a */
            out_r(api.is_socket_inet(fd, AF_UNIX, SOCK_STREAM, 1, 0)); break;
    case 5: out_r(api.is_socket_inet(make_pipe(), AF_UNIX, 0, -1, 0)); break; /* I22b */
    case 6: { char path[128];                                                /* I23 */
              fd = unix_listener(path, sizeof path);
              out_r(api.is_socket_inet(fd, 0, 0, -1, 0)); break; }
    case 7: fd = inet_socket(AF_INET6, SOCK_DGRAM, 0, &b);                  /* I24a */
            out_r(api.is_socket_inet(fd, AF_INET6, SOCK_DGRAM, 0, 0)); break;
    case 8: fd = inet_socket(AF_INET6, SOCK_DGRAM, 0, &b);                  /* I24b */
            out_r(api.is_socket_inet(fd, AF_INET6, SOCK_DGRAM, 1, 0)); break;
    case 9: fd = inet_socket(AF_INET, SOCK_STREAM, 1, &b);                  /* family 0 */
            out_r(api.is_socket_inet(fd, 0, 0, -1, 0)); break;
    case 10: out_r(api.is_socket_inet(-1, AF_INET, 0, -1, 0)); break;
    case 11: out_r(api.is_socket_inet(make_pipe(), AF_INET, 0, -1, 0)); break;
    case 12: fd = inet_socket(AF_INET6, SOCK_DGRAM, 0, &b);                  /* udp6 port */
             out_r(api.is_socket_inet(fd, AF_INET6, SOCK_DGRAM, -1, port_of(&b))); break;
    case 13: fd = inet_socket(AF_INET, SOCK_STREAM, 1, &b);                  /* family -1 */
             out_r(api.is_socket_inet(fd, -1, 0, -1, 0)); break;
    case 14: fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);             /* unbound */
             if (fd < 0) setup_failed("socket");
             out_r(api.is_socket_inet(fd, AF_INET, SOCK_STREAM, 0, 0)); break;
    case 15: fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);             /* unbound, port */
             if (fd < 0) setup_failed("socket");
             out_r(api.is_socket_inet(fd, AF_INET, SOCK_STREAM, 0, 80)); break;
    }
}

static void t_is_socket_sockaddr(const struct tcase *c)
{
    struct sockaddr_storage b, a;
    int fd;
    NEED(is_socket_sockaddr);
    if (c->v <= 9 || c->v == 16 || (c->v >= 17 && c->v <= 20))
        fd = inet_socket(AF_INET, SOCK_STREAM, 1, &b);
    else if (c->v <= 14 || c->v == 21)
        fd = inet_socket(AF_INET6, SOCK_DGRAM, 0, &b);
    else
        fd = make_pipe();
    a = b;
    struct sockaddr_in *a4 = (struct sockaddr_in *) &a;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) &a;
    switch (c->v) {
    case 0: out_r(api.is_socket_sockaddr(fd, SOCK_STREAM, (struct sockaddr *) &a,   /* I25a */
                                         sizeof(struct sockaddr_in), 1)); break;
    case 1: a4->sin_port = 0;                                                         /* I25b */
            out_r(api.is_socket_sockaddr(fd, SOCK_STREAM, (struct sockaddr *) &a,
                                         sizeof(struct sockaddr_in), 1)); break;
    case 2: a4->sin_port = htons((uint16_t) (port_of(&b) + 1));                       /* I26a */
            out_r(api.is_socket_sockaddr(fd, SOCK_STREAM, (struct sockaddr *) &a,
                                         sizeof(struct sockaddr_in), 1)); break;
    case 3: a4->sin_addr.s_addr = htonl(0x7f000002);                                  /* I26b */
            out_r(api.is_socket_sockaddr(fd, SOCK_STREAM, (struct sockaddr *) &a,
                                         sizeof(struct sockaddr_in), 1)); break;
    case 4: out_r(api.is_socket_sockaddr(fd, SOCK_STREAM, NULL, 0, 1)); break;       /* I27 */
    case 5: out_r(api.is_socket_sockaddr(fd, SOCK_STREAM, (struct sockaddr *) &a, 1, 1));
            break;                                                                    /* I28 */
    case 6: out_r(api.is_socket_sockaddr(fd, SOCK_STREAM, (struct sockaddr *) &a, 4, 1));
            break;                                                                    /* I29 */
    case 7: { struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "/x"};      /* I30 */
              out_r(api.is_socket_sockaddr(fd, SOCK_STREAM, (struct sockaddr *) &un,
                                           sizeof un, 1)); break; }
    case 8: { struct sockaddr_in6 s6 = {.sin6_family = AF_INET6,                      /* I32 */
                                        .sin6_port = a4->sin_port,
                                        .sin6_addr = IN6ADDR_LOOPBACK_INIT};
              out_r(api.is_socket_sockaddr(fd, SOCK_STREAM, (struct sockaddr *) &s6,
                                           sizeof s6, 1)); break; }
    case 9: out_r(api.is_socket_sockaddr(fd, SOCK_DGRAM, (struct sockaddr *) &a,      /* type */
                                         sizeof(struct sockaddr_in), -1)); break;
    case 10: out_r(api.is_socket_sockaddr(fd, SOCK_DGRAM, (struct sockaddr *) &a,     /* I33a */
                                          sizeof(struct sockaddr_in6), 0)); break;
    case 11: a6->sin6_scope_id = 5;                                                   /* I33b */
             out_r(api.is_socket_sockaddr(fd, SOCK_DGRAM, (struct sockaddr *) &a,
                                          sizeof(struct sockaddr_in6), 0)); break;
    case 12: a6->sin6_flowinfo = htonl(7);                                            /* I33c */
             out_r(api.is_socket_sockaddr(fd, SOCK_DGRAM, (struct sockaddr *) &a,
                                          sizeof(struct sockaddr_in6), 0)); break;
    case 13: out_r(api.is_socket_sockaddr(fd, SOCK_DGRAM, (struct sockaddr *) &a, 16, 0));
             break;                                                                   /* I33d */
    case 14: a6->sin6_port = 0;                                                       /* port 0 */
             out_r(api.is_socket_sockaddr(fd, SOCK_DGRAM, (struct sockaddr *) &a,
                                          sizeof(struct sockaddr_in6), -1)); break;
    case 15: { struct sockaddr_in s4 = {.sin_family = AF_INET,                        /* I34 */
                                        .sin_port = htons(80),
                                        .sin_addr = {htonl(INADDR_LOOPBACK)}};
               out_r(api.is_socket_sockaddr(fd, 0, (struct sockaddr *) &s4, sizeof s4, -1));
               break; }
    case 16: out_r(api.is_socket_sockaddr(-1, 0, NULL, 0, -1)); break;              /* I31 */
    case 17: out_r(api.is_socket_sockaddr(fd, SOCK_STREAM, (struct sockaddr *) &a,     /* big */
                                          sizeof a, 1)); break;
    case 18: out_r(api.is_socket_sockaddr(fd, SOCK_STREAM, (struct sockaddr *) &a,
                                          sizeof(struct sockaddr_in), 0)); break;     /* listen 0 */
    case 19: out_r(api.is_socket_sockaddr(fd, SOCK_STREAM, (struct sockaddr *) &a, 0, 1));
             break;                                                                   /* len 0 */
    case 20: out_r(api.is_socket_sockaddr(fd, SOCK_STREAM, NULL, 1, 1)); break;       /* NULL */
    case 21: { struct sockaddr_in s4 = {.sin_family = AF_INET,                        /* v4 on v6 */
                                        .sin_addr = {htonl(INADDR_LOOPBACK)}};
               out_r(api.is_socket_sockaddr(fd, SOCK_DGRAM, (struct sockaddr *) &s4,
                                            sizeof s4, -1)); break; }
    }
}

/* ------------------------------------------------------------------------------------ */
/* sd_is_mq: a private mount and IPC namespace with its own mqueue at /dev/mqueue.        */

static void private_mqueue(void)
{
    struct stat st;
    if (unshare(CLONE_NEWNS | CLONE_NEWIPC) < 0)
        setup_failed("unshare");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        setup_failed("make / private");
    if (stat("/dev/mqueue", &st) < 0) {
        /* no mount point: a private tmpfs /dev holds one (never visible outside) */
        if (mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755") < 0 || mkdir("/dev/mqueue", 0755) < 0)
            setup_failed("private /dev");
    }
    if (mount("mqueue", "/dev/mqueue", "mqueue", 0, NULL) < 0)
        setup_failed("mount mqueue");
}

static void t_is_mq(const struct tcase *c)
{
    NEED(is_mq);
    int mq = -1;
    if (c->v <= 4 || c->v == 10 || c->v == 11) {
        private_mqueue();
        struct mq_attr at = {.mq_maxmsg = 4, .mq_msgsize = 64};
        mq = mq_open("/readyd-diff", O_RDWR | O_CREAT | O_CLOEXEC, 0600, &at);
        if (mq < 0)
            setup_failed("mq_open");
        mqd_t other = mq_open("/readyd-diff-2", O_RDWR | O_CREAT | O_CLOEXEC, 0600, &at);
        if (other < 0)
            setup_failed("mq_open");
        if (c->v == 4)
            mq_unlink("/readyd-diff-2");
    }
    switch (c->v) {
    case 0: out_r(api.is_mq(mq, NULL)); break;                     /* I35a */
    case 1: out_r(api.is_mq(mq, "/readyd-diff")); break;           /* I35b */
    case 2: out_r(api.is_mq(mq, "readyd-diff")); break;            /* I36 */
    case 3: out_r(api.is_mq(mq, "/readyd-diff-2")); break;         /* other queue: 0 */
    case 4: out_r(api.is_mq(mq, "/readyd-diff-2")); break;         /* I37 (removed) */
    case 5: out_r(api.is_mq(make_pipe(), NULL)); break;            /* I38a */
    case 6: out_r(api.is_mq(make_pipe(), "relative")); break;      /* I38b */
    case 7: out_r(api.is_mq(-1, NULL)); break;                     /* I39a */
    case 8: out_r(api.is_mq(CLOSED_FD, NULL)); break;              /* I39b */
    case 9: out_r(api.is_mq(-1, "relative")); break;               /* fd checked first */
    case 10: out_r(api.is_mq(mq, "")); break;                      /* empty: not absolute */
    case 11: out_r(api.is_mq(mq, "/")); break;                     /* the mqueue root */
    case 12: { char reg[128];                                       /* regular file */
               out_r(api.is_mq(make_regular("f", reg, sizeof reg), NULL)); break; }
    case 13: out_r(api.is_mq(make_pipe(), "")); break;
    case 14: out_r(api.is_mq(open_null(O_PATH), NULL)); break;
    }
}

/* ------------------------------------------------------------------------------------ */
/* sd_booted: a private mount namespace with a tmpfs on /run.                            */

static void t_booted(const struct tcase *c)
{
    NEED(booted);
    if (unshare(CLONE_NEWNS) < 0)
        setup_failed("unshare");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        setup_failed("make / private");
    if (mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") < 0)
        setup_failed("tmpfs /run");
    int ok = 0;
    switch (c->v) {
    case 0: ok = 1; break;                                                          /* empty */
    case 1: ok = mkdir("/run/systemd", 0755) == 0; break;                           /* absent */
    case 2: ok = mkdir("/run/systemd", 0755) == 0 &&
                 mkdir("/run/systemd/system", 0755) == 0; break;                    /* dir */
    case 3: ok = mkdir("/run/systemd", 0755) == 0 && mkdir("/run/real", 0755) == 0 &&
                 symlink("/run/real", "/run/systemd/system") == 0; break;          /* link */
    case 4: ok = mkdir("/run/systemd", 0755) == 0 &&
                 symlink("/run/nowhere", "/run/systemd/system") == 0; break;       /* dangling */
    case 5: { ok = mkdir("/run/systemd", 0755) == 0;                               /* file */
              int fd = open("/run/systemd/system", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
              ok = ok && fd >= 0; break; }
    case 6: { int fd = open("/run/systemd", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);  /* file */
              ok = fd >= 0; break; }
    case 7: ok = mkdir("/run/systemd", 0755) == 0 && mkdir("/run/real", 0755) == 0 &&
                 symlink("/run/real", "/run/systemd/system") == 0 &&
                 rmdir("/run/real") == 0 && open("/run/real", O_CREAT | O_WRONLY | O_CLOEXEC,
                                                  0644) >= 0; break;               /* link->file */
    case 8: ok = mkdir("/run/systemd", 0755) == 0 &&
                 symlink("/run/systemd/system", "/run/systemd/system") == 0; break; /* loop */
    }
    if (!ok)
        setup_failed("populate /run");
    out_r(api.booted());
}

/* ------------------------------------------------------------------------------------ */
/* sd_pidfd_get_inode_id                                                                 */

static void t_pidfd(const struct tcase *c)
{
    uint64_t id = 0;
    struct stat st;
    NEED(pidfd_get_inode_id);
    switch (c->v) {
    case 0: out_r(api.pidfd_get_inode_id(-1, &id)); break;                       /* T3a */
    case 1: { int fd = eventfd(0, EFD_CLOEXEC);                                  /* T3b */
              if (fd < 0) setup_failed("eventfd");
              out_r(api.pidfd_get_inode_id(fd, &id)); break; }
    case 2: out_r(api.pidfd_get_inode_id(CLOSED_FD, &id)); break;                /* T3c */
    case 3: case 4: case 5: {
        pid_t target = self_pid, kid = -1;
        if (c->v == 5) {
            kid = fork();
            if (kid == 0) {
                pause();
                _exit(0);
            }
            target = kid;
        }
        int fd = pidfd_open_(target);
        if (fd < 0 || fstat(fd, &st) < 0)
            setup_failed("pidfd_open");
        fd_snapshot();
        int r = api.pidfd_get_inode_id(fd, c->v == 4 ? NULL : &id);
        out_r(r);
        out_fd_changes();
        if (c->v != 4)
            out("id=%s", id == (uint64_t) st.st_ino ? "st_ino" : "other");
        if (kid > 0)
            kill(kid, SIGKILL);
        break;
    }
    case 6: { int fd = open_null(O_RDONLY);                                      /* /dev/null */
              out_r(api.pidfd_get_inode_id(fd, &id)); break; }
    }
}

/* ------------------------------------------------------------------------------------ */
/* The cases. Ids follow the spec's §12 tables; letters are the variants of one row,
 * numbers past the spec's last row are additional cases of the same function.            */

#define LS(...) .fn = t_listen, .ls = {__VA_ARGS__}
#define LN(...) .fn = t_listen, .ls = {.mode = LF_NAMES, __VA_ARGS__}
#define WD(...) .fn = t_watchdog, .wd = {__VA_ARGS__}
#define NT(...) .fn = t_notify, .nt = {__VA_ARGS__}
#define RXP .to = TO_PATH_RX
#define LIT(s) .to = TO_LITERAL, .addr = (s)
#define ROOT .flags = NEEDS_ROOT

static const struct tcase cases[] = {
    /* ---- sd_listen_fds (§3, §12.1) ---- */
    {"L1", LS(.fds = "1", .names = "a", .nopen = 1)},
    {"L1b", LS(.fds = "1", .names = "a", .nopen = 1, .unset = 1)},
    {"L2", LS(.pid = "1", .fds = "1", .nopen = 1)},
    {"L3", LS(.pid = "1", .fds = "1", .names = "a", .nopen = 1, .unset = 1)},
    {"L4", LS(.pid = "SELF", .nopen = 1)},
    {"L5a", LS(.pid = "abc", .fds = "1", .nopen = 1)},
    {"L5b", LS(.pid = "", .fds = "1", .nopen = 1)},
    {"L5c", LS(.pid = "SELF ", .fds = "1", .nopen = 1)},
    {"L5d", LS(.pid = " SELF", .fds = "1", .nopen = 1)},
    {"L5e", LS(.pid = "0xHEXSELF", .fds = "1", .nopen = 1)},
    {"L5f", LS(.pid = "0OCTSELF", .fds = "1", .nopen = 1)},
    {"L5g", LS(.pid = "0oOCTSELF", .fds = "1", .nopen = 1)},
    {"L5h", LS(.pid = "0bBINSELF", .fds = "1", .nopen = 1)},
    {"L5i", LS(.pid = "+SELF", .fds = "1", .nopen = 1)},
    {"L5j", LS(.pid = "-0", .fds = "1", .nopen = 1)},
    {"L5k", LS(.pid = "\vSELF", .fds = "1", .nopen = 1)},
    {"L5l", LS(.pid = "\n\t\r SELF", .fds = "1", .nopen = 1)},
    {"L5m", LS(.pid = "SELF\n", .fds = "1", .nopen = 1)},
    {"L5n", LS(.pid = "0x0", .fds = "1", .nopen = 1)},
    {"L5o", LS(.pid = " 0bBINSELF", .fds = "1", .nopen = 1)},
    {"L5p", LS(.pid = "0b", .fds = "1", .nopen = 1)},
    {"L5q", LS(.pid = "0x", .fds = "1", .nopen = 1)},
    {"L5r", LS(.pid = "+0bBINSELF", .fds = "1", .nopen = 1)},
    {"L5s", LS(.pid = "0b+BINSELF", .fds = "1", .nopen = 1)},
    {"L5t", LS(.pid = "0b-1", .fds = "1", .nopen = 1)},
    {"L5u", LS(.pid = "0B BINSELF", .fds = "1", .nopen = 1)},
    {"L6a", LS(.pid = "0", .fds = "1", .nopen = 1)},
    {"L6b", LS(.pid = "-1", .fds = "1", .nopen = 1)},
    {"L6c", LS(.pid = "2147483648", .fds = "1", .nopen = 1)},
    {"L6d", LS(.pid = "4294967296", .fds = "1", .nopen = 1)},
    {"L6e", LS(.pid = "99999999999999999999", .fds = "1", .nopen = 1)},
    {"L7", LS(.pid = "abc", .fds = "1", .names = "a", .nopen = 1, .unset = 1)},
    {"L8", LS(.pid = "SELF", .fds = "1", .nopen = 1)},
    {"L9", LS(.pid = "SELF", .fds = "2", .names = "a:b", .nopen = 2, .unset = 1)},
    {"L10a", LS(.pid = "SELF", .fds = "0", .nopen = 1)},
    {"L10b", LS(.pid = "SELF", .fds = "-1", .nopen = 1)},
    {"L11a", LS(.pid = "SELF", .fds = "", .nopen = 1)},
    {"L11b", LS(.pid = "SELF", .fds = "abc", .nopen = 1)},
    {"L11c", LS(.pid = "SELF", .fds = "2 ", .nopen = 2)},
    {"L12a", LS(.pid = "SELF", .fds = " 2", .nopen = 2)},
    {"L12b", LS(.pid = "SELF", .fds = "+2", .nopen = 2)},
    {"L12c", LS(.pid = "SELF", .fds = "0x2", .nopen = 2)},
    {"L12d", LS(.pid = "SELF", .fds = "0b10", .nopen = 2)},
    {"L12e", LS(.pid = "SELF", .fds = "02", .nopen = 2)},
    {"L12f", LS(.pid = "SELF", .fds = " 0b10", .nopen = 2)},
    {"L12g", LS(.pid = "SELF", .fds = "+0b10", .nopen = 2)},
    {"L12h", LS(.pid = "SELF", .fds = "0b 10", .nopen = 2)},
    {"L12i", LS(.pid = "SELF", .fds = "0b+10", .nopen = 2)},
    {"L12j", LS(.pid = "SELF", .fds = "\v2", .nopen = 2)},
    {"L12k", LS(.pid = "SELF", .fds = "2\n", .nopen = 2)},
    {"L12l", LS(.pid = "SELF", .fds = "0B10", .nopen = 2)},
    {"L12m", LS(.pid = "SELF", .fds = "0O2", .nopen = 2)},
    {"L12n", LS(.pid = "SELF", .fds = "0X2", .nopen = 2)},
    {"L12o", LS(.pid = "SELF", .fds = "0o2", .nopen = 2)},
    {"L12p", LS(.pid = "SELF", .fds = "08", .nopen = 2)},
    {"L12q", LS(.pid = "SELF", .fds = "0b2", .nopen = 2)},
    {"L12r", LS(.pid = "SELF", .fds = "0b", .nopen = 2)},
    {"L12s", LS(.pid = "SELF", .fds = "0x", .nopen = 2)},
    {"L12t", LS(.pid = "SELF", .fds = "00002", .nopen = 2)},
    {"L12u", LS(.pid = "SELF", .fds = "\t\n\r 2", .nopen = 2)},
    {"L12v", LS(.pid = "SELF", .fds = "0b-10", .nopen = 2)},
    {"L12w", LS(.pid = "SELF", .fds = "-0", .nopen = 2)},
    {"L12x", LS(.pid = "SELF", .fds = " +2", .nopen = 2)},
    {"L12y", LS(.pid = "SELF", .fds = "+ 2", .nopen = 2)},
    {"L13", LS(.pid = "SELF", .fds = "010", .nopen = 2)},
    {"L14a", LS(.pid = "SELF", .fds = "99999999999", .nopen = 1)},
    {"L14b", LS(.pid = "SELF", .fds = "99999999999999999999", .nopen = 1)},
    {"L14c", LS(.pid = "SELF", .fds = "2147483647", .nopen = 1)},
    {"L14d", LS(.pid = "SELF", .fds = "-2147483649", .nopen = 1)},
    {"L14e", LS(.pid = "SELF", .fds = "4294967298", .nopen = 1)},
    {"L14f", LS(.pid = "SELF", .fds = "-99999999999999999999", .nopen = 1)},
    {"L15", LS(.pid = "SELF", .fds = "2147483645", .nopen = 2)},
    {"L16", LS(.pid = "SELF", .fds = "2147483644", .nopen = 2)},
    {"L17", LS(.pid = "SELF", .fds = "2", .names = "a:b", .nopen = 1, .unset = 1)},
    {"L18", LS(.pid = "SELF", .fds = "1", .pidfdid = "OWNID", .nopen = 1)},
    {"L18b", LS(.pid = "SELF", .fds = "1", .pidfdid = "OWNID", .nopen = 1, .unset = 1)},
    {"L19", LS(.pid = "SELF", .fds = "1", .pidfdid = "12345", .nopen = 1)},
    {"L19b", LS(.pid = "SELF", .fds = "1", .pidfdid = "12345", .nopen = 1, .unset = 1)},
    {"L20a", LS(.pid = "SELF", .fds = "1", .pidfdid = "abc", .nopen = 1)},
    {"L20b", LS(.pid = "SELF", .fds = "1", .pidfdid = "", .nopen = 1)},
    {"L21", LS(.pid = "SELF", .fds = "1", .pidfdid = "-1", .nopen = 1)},
    {"L21b", LS(.pid = "SELF", .fds = "1", .pidfdid = "0", .nopen = 1)},
    {"L21c", LS(.pid = "SELF", .fds = "1", .pidfdid = " OWNID", .nopen = 1)},
    {"L21d", LS(.pid = "SELF", .fds = "1", .pidfdid = "OWNID ", .nopen = 1)},
    {"L21e", LS(.fds = "1", .pidfdid = "OWNID", .nopen = 1, .unset = 1)},
    {"L21f", LS(.mode = LF_NAMES, .pid = "SELF", .fds = "1", .names = "a", .pidfdid = "12345",
                .nopen = 1)},
    {"L22", LS(.pid = "1", .fds = "1", .pidfdid = "abc", .nopen = 1)},
    {"L23", LS(.pid = "0", .fds = "abc", .nopen = 1)},
    {"L24", LS(.pid = "1", .fds = "abc", .nopen = 1)},
    {"L25", LS(.pid = "SELF", .fds = "3", .nopen = 3)},
    {"L26", LS(.pid = "SELF", .fds = "1", .nopen = 0)},
    {"L27", LS(.pid = "SELF", .fds = "1", .names = "a", .nopen = 1, .unset = 2)},
    {"L28", LS(.pid = "SELF", .fds = "1", .names = "a", .nopen = 1, .unset = -1)},
    /* LISTEN_FDS far beyond the open fds, and an fd closed under the caller (a gap) */
    {"L29", LS(.pid = "SELF", .fds = "3", .nopen = 3, .close_fd = 4)},
    {"L30", LS(.pid = "SELF", .fds = "1000000", .nopen = 8, .unset = 1)},
    {"L31", LS(.pid = "SELF", .fds = "65536", .nopen = 3, .close_fd = 3)},

    /* ---- sd_listen_fds_with_names (§3.2, §12.1) ---- */
    {"N1", LN(.pid = "SELF", .fds = "2", .nopen = 2)},
    {"N2", LN(.pid = "SELF", .fds = "2", .names = "a:b", .nopen = 2)},
    {"N3", LN(.pid = "SELF", .fds = "2", .names = "a", .nopen = 2)},
    {"N4", LN(.pid = "SELF", .fds = "2", .names = "a", .nopen = 2, .unset = 1)},
    {"N5", LN(.pid = "SELF", .fds = "1", .names = "", .nopen = 1)},
    {"N6", LN(.pid = "SELF", .fds = "2", .names = "", .nopen = 2)},
    {"N7", LN(.pid = "SELF", .fds = "3", .names = "a::b", .nopen = 3)},
    {"N8a", LN(.pid = "SELF", .fds = "2", .names = "a:", .nopen = 2)},
    {"N8b", LN(.pid = "SELF", .fds = "2", .names = ":", .nopen = 2)},
    {"N9a", LN(.pid = "SELF", .fds = "1", .names = "a\\:b", .nopen = 1)},
    {"N9b", LN(.pid = "SELF", .fds = "1", .names = "a\\\\b", .nopen = 1)},
    {"N10", LN(.pid = "SELF", .fds = "1", .names = "a\\", .nopen = 1)},
    {"N11", LN(.pid = "SELF", .fds = "1", .names = "a\\", .nopen = 1, .unset = 1)},
    {"N12", LN(.pid = "SELF", .fds = "1", .names = "\"x y\"", .nopen = 1)},
    {"N13", LN(.pid = "1", .fds = "1", .names = "a", .nopen = 1)},
    {"N14", LS(.mode = LF_NAMES_NULL, .pid = "SELF", .fds = "2", .names = "a:b", .nopen = 2)},
    {"N14b", LS(.mode = LF_NAMES_NULL, .pid = "SELF", .fds = "1", .names = "a\\", .nopen = 1)},
    {"N15", LN(.fds = "1", .names = "a", .nopen = 1)},
    {"N16", LN(.pid = "SELF", .fds = "2", .names = "a:b:c", .nopen = 2)},
    {"N17", LN(.pid = "abc", .fds = "1", .names = "a", .nopen = 1)},
    {"N18", LN(.pid = "SELF", .fds = "1", .names = "stored", .nopen = 1, .unset = 1)},
    {"N19", LN(.pid = "SELF", .fds = "1", .names = "'q'\\n", .nopen = 1)},
    {"N20", LN(.pid = "SELF", .fds = "2", .names = " a : b ", .nopen = 2)},
    {"N21", LN(.pid = "SELF", .fds = "3", .names = "::", .nopen = 3)},
    {"N22", LN(.pid = "SELF", .fds = "1", .names = "a\\\\", .nopen = 1)},
    {"N23", LN(.pid = "SELF", .fds = "3", .names = "a:b", .nopen = 3)},
    {"N24", LN(.pid = "SELF", .fds = "1", .names = "x\\y\\:", .nopen = 1)},
    {"N25", LN(.pid = "SELF", .fds = "2", .names = "\\::\\", .nopen = 2)},
    {"N26", LN(.pid = "SELF", .fds = "1", .names = "a\\", .nopen = 1, .unset = 0)},
    {"N27", LN(.pid = "SELF", .fds = "2", .names = "\tx\n:\x01", .nopen = 2)},
    {"N28", LN(.pid = "SELF", .fds = "abc", .names = "a", .nopen = 1)},
    {"N29", LN(.pid = "SELF", .names = "a", .nopen = 1)},
    {"N30", LN(.pid = "SELF", .fds = "1000000", .names = "a:b", .nopen = 2)},
    {"N31", LN(.pid = "SELF", .fds = "3", .names = "a:b:c", .nopen = 3, .close_fd = 5)},

    /* ---- sd_watchdog_enabled (§5, §12.2) ---- */
    {"W1", WD(0)},
    {"W1b", WD(.unset = 1)},
    {"W2", WD(.usec = "1000000")},
    {"W3", WD(.usec = "1000000", .null_usec = 1)},
    {"W4", WD(.usec = "1000000", .pid = "SELF")},
    {"W5", WD(.usec = "1000000", .pid = "1")},
    {"W6", WD(.usec = "1000000", .pid = "1", .unset = 1)},
    {"W7a", WD(.usec = "1000000", .pid = "abc")},
    {"W7b", WD(.usec = "1000000", .pid = "")},
    {"W8", WD(.usec = "1000000", .pid = "0")},
    {"W8b", WD(.usec = "1000000", .pid = "-1")},
    {"W9a", WD(.usec = "0")},
    {"W9b", WD(.usec = "-0")},
    {"W9c", WD(.usec = "")},
    {"W9d", WD(.usec = "abc")},
    {"W9e", WD(.usec = "1.5")},
    {"W9f", WD(.usec = "5s")},
    {"W9g", WD(.usec = "5 ")},
    {"W10a", WD(.usec = "-1")},
    {"W10b", WD(.usec = "18446744073709551616")},
    {"W11", WD(.usec = "18446744073709551615")},
    {"W12", WD(.usec = "18446744073709551614")},
    {"W13a", WD(.usec = " 5")},
    {"W13b", WD(.usec = "0x10")},
    {"W13c", WD(.usec = "010")},
    {"W13d", WD(.usec = "0b101")},
    {"W13e", WD(.usec = "+5")},
    {"W13f", WD(.usec = "0o17")},
    {"W13g", WD(.usec = " 0b101")},
    {"W13h", WD(.usec = "+0b101")},
    {"W13i", WD(.usec = "0b 101")},
    {"W13j", WD(.usec = "0b+101")},
    {"W13k", WD(.usec = "0b-1")},
    {"W13l", WD(.usec = "\v5")},
    {"W13m", WD(.usec = "5\n")},
    {"W13n", WD(.usec = " -5")},
    {"W13o", WD(.usec = "- 5")},
    {"W13p", WD(.usec = "0x")},
    {"W13q", WD(.usec = "0b")},
    {"W13r", WD(.usec = "0o")},
    {"W13s", WD(.usec = "08")},
    {"W13t", WD(.usec = "0xffffffffffffffff")},
    {"W13u", WD(.usec = "0xfffffffffffffffe")},
    {"W13v", WD(.usec = "-0x0")},
    {"W13w", WD(.usec = "0o8")},
    {"W13x", WD(.usec = "+-5")},
    {"W13y", WD(.usec = "0B101")},
    {"W13z", WD(.usec = "0O17")},
    {"W13za", WD(.usec = "-0b0")},
    {"W13zb", WD(.usec = "0b-0")},
    {"W13zc", WD(.usec = "0x-5")},
    {"W14", WD(.usec = "abc", .pid = "SELF", .unset = 1)},
    {"W15", WD(.pid = "SELF", .unset = 1)},
    {"W16", WD(.usec = "abc", .pid = "1")},
    {"W17", WD(.usec = "7", .pid = " SELF")},
    {"W18", WD(.usec = "7", .pid = "SELF ")},
    {"W19", WD(.usec = "7", .pid = "SELF", .unset = 1)},
    {"W20", WD(.usec = "7", .pid = "0xHEXSELF")},
    {"W21", WD(.usec = "7", .pid = "+SELF")},
    {"W22", WD(.usec = "7", .pid = "0bBINSELF")},
    {"W23", WD(.usec = "7", .pid = "\vSELF")},
    {"W24", WD(.usec = "7", .pid = "-0")},
    {"W25", WD(.usec = "7", .pid = "SELF", .unset = -1)},
    {"W26", WD(.usec = "7", .pid = "0OCTSELF")},
    {"W27", WD(.usec = "7", .pid = "4294967296")},

    /* ---- the notify family (§4, §12.3) ---- */
    {"S1", NT(.fn = N_NOTIFY, .state = "READY=1")},
    {"S2", NT(.fn = N_NOTIFY, .state = NULL)},
    {"S3", NT(.fn = N_WITH_FDS, .state = "X=1", .fds = F_NULL, .n_fds = 1)},
    {"S4", NT(.fn = N_WITH_FDS, .state = "X=1", .fds = F_DUMMY, .n_fds = 254)},
    {"S5", NT(.fn = N_NOTIFYF, .state = NULL)},
    {"S6a", NT(.fn = N_NOTIFY, LIT(""), .state = "READY=1")},
    {"S6b", NT(.fn = N_NOTIFY, LIT("relative/path"), .state = "READY=1")},
    {"S6c", NT(.fn = N_NOTIFY, LIT("x"), .state = "READY=1")},
    {"S7a", NT(.fn = N_NOTIFY, LIT("/"), .state = "READY=1")},
    {"S7b", NT(.fn = N_NOTIFY, LIT("@"), .state = "READY=1")},
    {"S8", NT(.fn = N_NOTIFY, .to = TO_LONG, .addr = "/", .addr_len = 108, .state = "READY=1")},
    {"S9", NT(.fn = N_NOTIFY, .to = TO_LONG, .addr = "@", .addr_len = 108, .state = "READY=1")},
    {"S10", NT(.fn = N_NOTIFY, .to = TO_LONG, .addr = "/", .addr_len = 107, .state = "READY=1")},
    {"S11", NT(.fn = N_NOTIFY, .to = TO_LONG, .addr = "@", .addr_len = 107, .state = "READY=1")},
    {"S12", NT(.fn = N_NOTIFY, LIT("/nonexistent-dir/sock"), .state = "READY=1")},
    {"S13", NT(.fn = N_NOTIFY, LIT("/etc/passwd"), .state = "READY=1")},
    {"S14a", NT(.fn = N_NOTIFY, .to = TO_STREAM, .state = "READY=1")},
    {"S14b", NT(.fn = N_NOTIFY, .to = TO_SEQPACKET, .state = "READY=1")},
    {"S15", NT(.fn = N_NOTIFY, RXP, .state = "READY=1\nSTATUS=x")},
    {"S16", NT(.fn = N_NOTIFY, RXP, .state = "")},
    {"S17", NT(.fn = N_NOTIFYF, RXP, .state = "READY=%d\nX=%s", .fmt_args = FA_INT_STR)},
    {"S18", NT(.fn = N_NOTIFY, .to = TO_ABSTRACT_RX, .state = "READY=1")},
    {"S19", NT(.fn = N_PID_NOTIFY, RXP, .pid = P_SELF, .state = "READY=1")},
    {"S20", NT(.fn = N_PID_NOTIFY, RXP, .pid = P_ONE, .state = "MAINPID=1"), ROOT},
    {"S21", NT(.fn = N_PID_NOTIFY, RXP, .pid = P_GONE, .state = "READY=1"), ROOT},
    {"S22", NT(.fn = N_PID_NOTIFY, .to = TO_ABSTRACT_RX, .pid = P_ONE, .state = "READY=1",
               .ids = ID_NOBODY), ROOT},
    {"S23", NT(.fn = N_PID_NOTIFY, RXP, .pid = P_NEG5, .state = "READY=1")},
    {"S24", NT(.fn = N_WITH_FDS, RXP, .state = "FDSTORE=1", .fds = F_REAL, .n_fds = 2)},
    {"S25", NT(.fn = N_WITH_FDS, RXP, .pid = P_ONE, .state = "FDSTORE=1", .fds = F_REAL,
               .n_fds = 2), ROOT},
    {"S26", NT(.fn = N_WITH_FDS, RXP, .state = "READY=1", .fds = F_NULL, .n_fds = 0)},
    {"S27", NT(.fn = N_WITH_FDS, RXP, .state = "FDSTORE=1", .fds = F_BAD, .n_fds = 1)},
    {"S28", NT(.fn = N_WITH_FDS, RXP, .state = "FDSTORE=1", .fds = F_REAL, .n_fds = 253)},
    {"S29", NT(.fn = N_WITH_FDS, RXP, .state = "FDSTORE=1", .fds = F_REAL, .n_fds = 254)},
    {"S30", NT(.fn = N_NOTIFY, RXP, .state = "READY=1", .unset = 1)},
    {"S31", NT(.fn = N_NOTIFY, LIT("relative"), .state = "READY=1", .unset = 1)},
    {"S32a", NT(.fn = N_NOTIFY, RXP, .state = NULL, .unset = 1)},
    {"S32b", NT(.fn = N_NOTIFYF, RXP, .state = NULL, .unset = 1)},
    {"S33", .fn = t_full_queue},
    {"S34a", NT(.fn = N_NOTIFY, RXP, .big = 17u << 20), ROOT},
    {"S34b", NT(.fn = N_NOTIFY, RXP, .big = 9u << 20), ROOT},
    {"S34c", NT(.fn = N_NOTIFYF, RXP, .big = 1u << 20, .fmt_args = FA_BIG)},
    {"S34d", NT(.fn = N_NOTIFY, RXP, .big = 300000)},
    {"S35", NT(.fn = N_PID_NOTIFY, RXP, .pid = P_NEG5, .state = "")},
    {"S36", NT(.fn = N_PID_NOTIFYF, RXP, .pid = P_ONE, .state = "READY=%d\nX=%s",
               .fmt_args = FA_INT_STR), ROOT},
    {"S37", NT(.fn = N_NOTIFY, .to = TO_ABSTRACT_RX, .state = "READY=1",
               .ids = ID_REAL_UID_ONLY), ROOT},
    {"S38", NT(.fn = N_NOTIFY, .to = TO_ABSTRACT_RX, .state = "READY=1",
               .ids = ID_REAL_GID_ONLY), ROOT},
    {"S39", NT(.fn = N_NOTIFY, RXP, .state = "X=\x01\xff\t\"\\|")},
    {"S40", NT(.fn = N_NOTIFY, RXP, .state = "READY=1", .unset = 1, .exhaust_fds = 1)},
    {"S41", NT(.fn = N_PID_NOTIFYF, RXP, .pid = P_SELF, .state = NULL, .unset = 1)},
    {"S42", NT(.fn = N_PID_NOTIFYF, RXP, .pid = P_SELF, .state = "STATUS=%s", .fmt_args = FA_STR,
               .unset = 1)},
    {"S43", NT(.fn = N_WITH_FDS, .state = NULL, .fds = F_REAL, .n_fds = 1)},
    {"S44", NT(.fn = N_WITH_FDS, .state = "X=1", .fds = F_NULL, .n_fds = 1, .unset = 1, RXP)},
    {"S45", NT(.fn = N_NOTIFY, .to = TO_PATH_RX, .state = "READY=1\n")},
    {"S46", NT(.fn = N_WITH_FDS, RXP, .state = "", .fds = F_REAL, .n_fds = 1)},
    {"S47", NT(.fn = N_NOTIFY, .to = TO_LONG_RX, .addr_len = 107, .state = "READY=1")},
    {"S48", NT(.fn = N_WITH_FDS, RXP, .state = "READY=1", .fds = F_BAD, .n_fds = 0)},
    {"S49", NT(.fn = N_NOTIFY, RXP, .state = "READY=1", .unset = -1)},
    {"S50a", NT(.fn = N_NOTIFYF, RXP, .fmt_args = FA_HUGE_WIDTH, .state = "", .unset = 1,
                .limit_as = 1)},
    {"S50b", NT(.fn = N_PID_NOTIFYF, RXP, .fmt_args = FA_HUGE_WIDTH, .state = "", .unset = 1,
                .limit_as = 1)},
    {"S50c", NT(.fn = N_NOTIFYF, RXP, .fmt_args = FA_HUGE_WIDTH, .state = "", .limit_as = 1)},
    {"S51", NT(.fn = N_NOTIFY, .to = TO_PATH_RX_SLASH, .state = "READY=1")},
    {"S52a", NT(.fn = N_NOTIFYF, RXP, .big = 4095, .fmt_args = FA_BIG)},
    {"S52b", NT(.fn = N_NOTIFYF, RXP, .big = 4096, .fmt_args = FA_BIG)},
    {"S52c", NT(.fn = N_NOTIFYF, RXP, .big = 4097, .fmt_args = FA_BIG)},
    {"S52d", NT(.fn = N_PID_NOTIFYF, RXP, .big = 70000, .fmt_args = FA_BIG, .pid = P_SELF)},
    {"S53", NT(.fn = N_NOTIFY, LIT("@"), .state = "READY=1", .unset = 1)},
    {"S54", NT(.fn = N_PID_NOTIFY, .to = TO_ABSTRACT_RX, .pid = P_NEG5, .state = "",
               .ids = ID_NOBODY), ROOT},
    {"S55", NT(.fn = N_WITH_FDS, .to = TO_ABSTRACT_RX, .pid = P_ONE, .state = "FDSTORE=1",
               .fds = F_REAL, .n_fds = 2, .ids = ID_NOBODY), ROOT},
    {"S56", NT(.fn = N_WITH_FDS, RXP, .pid = P_ONE, .state = "FDSTORE=1", .fds = F_REAL,
               .n_fds = 253), ROOT},
    {"S57", NT(.fn = N_WITH_FDS, RXP, .pid = P_GONE, .state = "FDSTORE=1", .fds = F_REAL,
               .n_fds = 2), ROOT},

    /* ---- a hostile environment (t_hostile): each also checks the named object and two
     * decoys; the fd cases send FDSTORE=1 to a live receiver ---- */
#define HO(variant) .fn = t_hostile, .v = (variant)
#define HOU(variant) HO(variant), .nt = {.unset = 1}
    {"S60", HO(H_FILE)},
    {"S60b", HOU(H_FILE)},
    {"S61", HO(H_FIFO)},
    {"S62", HO(H_FIFO_READER)},
    {"S63", HO(H_DIR)},
    {"S64", HO(H_LOOP)},
    {"S64b", HO(H_CYCLE)},
    {"S65", HO(H_LINK_RX)},
    {"S66", HO(H_DANGLING)},
    {"S67", HO(H_STALE)},
    {"S68", HO(H_CONNECTED)},
    {"S69", HO(H_DEVNULL)},
    {"S70", HO(H_THROUGH_FILE)},
    {"S70b", HO(H_THROUGH_SOCKET)},
    {"S71", HO(H_PATH108_PREFIX)},
    {"S71b", HO(H_PATH4096)},
    {"S71c", HOU(H_PATH65536)},
    {"S72", HO(H_ABS108_PREFIX)},
    {"S72b", HO(H_ABS4096)},
    {"S74", HO(H_NONUTF8)},
    {"S74b", HO(H_NONUTF8_ABSENT)},
    {"S75", HO(H_ABS_NONUTF8)},
    {"S76", HO(H_CTL)},
    {"S77", HO(H_ABS_CTL)},
    {"S78", HO(H_NEWLINE)},
    {"S78b", HO(H_TRAILING_SPACE)},
    {"S79", HO(H_LEADING_SPACE)},
    {"S79b", HO(H_NONUTF8_LEAD)},
    {"S80", HO(H_NOBODY_0600), ROOT},
    {"S80b", HOU(H_NOBODY_OTHER_0600), ROOT},
    {"S81", HO(H_NOBODY_0666), ROOT},
    {"S82", HO(H_NOBODY_DIR_0700), ROOT},
    {"S83", HO(H_NOBODY_FILE), ROOT},
    {"S84", HO(H_ROOT_OTHER_0600), ROOT},
    {"S85", HO(H_ABS_NEWLINE)},
    {"S86", HO(H_FD_NEG)},
    {"S86b", HO(H_FD_NEG_FIRST)},
    {"S87", HOU(H_FD_MIX)},
    {"S88", HO(H_FD_INTMAX)},
    {"S89", HO(H_FD_253_LAST_BAD)},
    {"S90", HO(H_FD_OPATH)},
    {"S91", HO(H_FD_CLOSED)},
#undef HO
#undef HOU

    /* ---- vsock forms of NOTIFY_SOCKET (§4.3) ---- */
    {"V1a", NT(.fn = N_NOTIFY, LIT("vsock:2"), .state = "READY=1")},
    {"V1b", NT(.fn = N_NOTIFY, LIT("vsock:2:"), .state = "READY=1")},
    {"V1c", NT(.fn = N_NOTIFY, LIT("vsock:2:4294967295"), .state = "READY=1")},
    {"V1d", NT(.fn = N_NOTIFY, LIT("vsock:abc:5"), .state = "READY=1")},
    {"V1e", NT(.fn = N_NOTIFY, LIT("vsock::5"), .state = "READY=1")},
    {"V1f", NT(.fn = N_NOTIFY, LIT("vsock:4294967295:5"), .state = "READY=1")},
    {"V1g", NT(.fn = N_NOTIFY, LIT("vsock-dgram::5"), .state = "READY=1")},
    {"V1h", NT(.fn = N_NOTIFY, LIT("vsock:2:5:6"), .state = "READY=1")},
    {"V2a", NT(.fn = N_NOTIFY, LIT("vsock:-1:5"), .state = "READY=1")},
    {"V2b", NT(.fn = N_NOTIFY, LIT("vsock:4294967296:5"), .state = "READY=1")},
    {"V3a", NT(.fn = N_NOTIFY, LIT("VSOCK:2:3"), .state = "READY=1")},
    {"V3b", NT(.fn = N_NOTIFY, LIT("vsock-foo:2:3"), .state = "READY=1")},
    {"V1i", NT(.fn = N_NOTIFY, LIT("vsock:"), .state = "READY=1")},
    {"V1j", NT(.fn = N_NOTIFY, LIT("vsock-stream:"), .state = "READY=1")},
    {"V1k", NT(.fn = N_NOTIFY, LIT("vsock:2:-1"), .state = "READY=1")},
    {"V3c", NT(.fn = N_NOTIFY, LIT("vsock"), .state = "READY=1")},

    /* ---- sd_pid_notifyf_with_fds (newest only, §4.1, §12.3) ---- */
    {"P1", NT(.fn = N_F_WITH_FDS, .fds = F_NULL, .n_fds = 1, .state = "X=%d",
              .fmt_args = FA_INT_STR)},
    /* 2^32 fds, or SIZE_MAX where size_t has 32 bits: either must not wrap to a small count. */
    {"P2a", NT(.fn = N_F_WITH_FDS, .fds = F_DUMMY,
               .n_fds = (size_t) (SIZE_MAX > UINT32_MAX ? (uint64_t) 1 << 32 : SIZE_MAX), .state = "X=1")},
    {"P2b", NT(.fn = N_F_WITH_FDS, .fds = F_DUMMY, .n_fds = 254, .state = "X=1")},
    {"P3", NT(.fn = N_F_WITH_FDS, .fds = F_NULL, .n_fds = 0, .state = NULL)},
    {"P4", NT(.fn = N_F_WITH_FDS, RXP, .fds = F_REAL, .n_fds = 2,
              .state = "FDSTORE=1\nFDNAME=%s", .fmt_args = FA_STR)},
    {"P5", NT(.fn = N_F_WITH_FDS, RXP, .pid = P_ONE, .fds = F_NULL, .n_fds = 0,
              .state = "READY=%d\nX=%s", .fmt_args = FA_INT_STR, .unset = 1), ROOT},
    {"P6", NT(.fn = N_F_WITH_FDS, RXP, .fds = F_NULL, .n_fds = 0, .state = "",
              .fmt_args = FA_HUGE_WIDTH, .unset = 1, .limit_as = 1)},
    {"P7", NT(.fn = N_F_WITH_FDS, .fds = F_DUMMY, .n_fds = 253, .state = "X=1")},

    /* ---- the barrier (§4.7, §12.4) ---- */
    {"B1", NT(.fn = N_BARRIER, .timeout = 1000000)},
    {"B2", NT(.fn = N_BARRIER, RXP, .rx = RX_CLOSE, .timeout = 2000000)},
    {"B3", NT(.fn = N_BARRIER, RXP, .rx = RX_HOLD, .timeout = 50000)},
    {"B4", NT(.fn = N_BARRIER, RXP, .timeout = 0)},
    {"B4b", NT(.fn = N_BARRIER, RXP, .timeout = 0, .unset = 1)},
    {"B5", NT(.fn = N_BARRIER, RXP, .rx = RX_CLOSE, .timeout = UINT64_MAX, .unset = 1)},
    {"B6", NT(.fn = N_BARRIER, LIT("relative"), .timeout = 1000000)},
    {"B7", NT(.fn = N_PID_BARRIER, RXP, .pid = P_ONE, .rx = RX_CLOSE, .timeout = 1000000), ROOT},
    {"B8", .fn = t_symbols},
    {"B9", NT(.fn = N_BARRIER, RXP, .timeout = 1000000, .unset = 1, .exhaust_fds = 1)},
    {"B9b", NT(.fn = N_BARRIER, RXP, .timeout = 1000000, .exhaust_fds = 1)},
    {"B10", NT(.fn = N_BARRIER, LIT("/nonexistent-dir/sock"), .timeout = 1000000, .unset = 1)},
    {"B11", NT(.fn = N_BARRIER, .to = TO_ABSTRACT_RX, .rx = RX_CLOSE, .timeout = 2000000)},
    {"B12", NT(.fn = N_PID_BARRIER, RXP, .pid = P_ZERO, .rx = RX_CLOSE, .timeout = 2000000)},
    {"B13", NT(.fn = N_BARRIER, RXP, .rx = RX_CLOSE, .timeout = UINT64_MAX - 1)},
    {"B14", NT(.fn = N_BARRIER, RXP, .timeout = 1)},
    {"B15", NT(.fn = N_BARRIER, .timeout = 0, .unset = 1)},
    {"B16", NT(.fn = N_BARRIER, RXP, .rx = RX_CLOSE, .timeout = (uint64_t) 1 << 63)},
    {"B17", NT(.fn = N_BARRIER, RXP, .rx = RX_HOLD, .timeout = 999)},

    /* ---- sd_is_fifo, sd_is_special (§7.1, §7.2, §12.5) ---- */
    {"I1a", .fn = t_is_fifo, .v = 0},
    {"I1b", .fn = t_is_fifo, .v = 1},
    {"I2", .fn = t_is_fifo, .v = 2},
    {"I3", .fn = t_is_fifo, .v = 3},
    {"I4a", .fn = t_is_fifo, .v = 4},
    {"I4b", .fn = t_is_fifo, .v = 5},
    {"I5a", .fn = t_is_fifo, .v = 6},
    {"I5b", .fn = t_is_fifo, .v = 7},
    {"I5c", .fn = t_is_fifo, .v = 8},
    {"I5d", .fn = t_is_fifo, .v = 9},
    {"I5e", .fn = t_is_fifo, .v = 10},
    {"I5f", .fn = t_is_fifo, .v = 11},
    {"I5g", .fn = t_is_fifo, .v = 12},
    {"I5k", .fn = t_is_fifo, .v = 16},
    {"I5h", .fn = t_is_fifo, .v = 13},
    {"I5i", .fn = t_is_fifo, .v = 14},
    {"I5j", .fn = t_is_fifo, .v = 15},
    {"I6a", .fn = t_is_special, .v = 0},
    {"I6b", .fn = t_is_special, .v = 1},
    {"I7a", .fn = t_is_special, .v = 2},
    {"I7b", .fn = t_is_special, .v = 3},
    {"I7c", .fn = t_is_special, .v = 4},
    {"I7d", .fn = t_is_special, .v = 5},
    {"I7e", .fn = t_is_special, .v = 10},
    {"I7f", .fn = t_is_special, .v = 11},
    {"I7g", .fn = t_is_special, .v = 12},
    {"I7h", .fn = t_is_special, .v = 13},
    {"I7i", .fn = t_is_special, .v = 14},
    {"I7j", .fn = t_is_special, .v = 15},
    {"I7k", .fn = t_is_special, .v = 16},
    {"I7l", .fn = t_is_special, .v = 17},
    {"I7m", .fn = t_is_special, .v = 18},
    {"I8a", .fn = t_is_special, .v = 6},
    {"I8b", .fn = t_is_special, .v = 7},
    {"I8c", .fn = t_is_special, .v = 8},
    {"I8d", .fn = t_is_special, .v = 9},

    /* ---- sd_is_socket (§7.3, §7.4) ---- */
    {"I9", .fn = t_is_socket, .v = 0},
    {"I10a", .fn = t_is_socket, .v = 1},
    {"I10b", .fn = t_is_socket, .v = 2},
    {"I10c", .fn = t_is_socket, .v = 3},
    {"I11a", .fn = t_is_socket, .v = 4},
    {"I11b", .fn = t_is_socket, .v = 5},
    {"I12a", .fn = t_is_socket, .v = 6},
    {"I12b", .fn = t_is_socket, .v = 7},
    {"I13a", .fn = t_is_socket, .v = 10},
    {"I13b", .fn = t_is_socket, .v = 11},
    {"I13c", .fn = t_is_socket, .v = 14},
    {"I14", .fn = t_is_socket, .v = 8},
    {"I14b", .fn = t_is_socket, .v = 9},
    {"I14c", .fn = t_is_socket, .v = 12},
    {"I14d", .fn = t_is_socket, .v = 13},
    {"I14e", .fn = t_is_socket, .v = 15},
    {"I14f", .fn = t_is_socket, .v = 16},
    {"I14g", .fn = t_is_socket, .v = 17},

    /* ---- sd_is_socket_unix (§7.7) ---- */
    {"I15a", .fn = t_is_socket_unix, .v = 0},
    {"I15b", .fn = t_is_socket_unix, .v = 1},
    {"I15c", .fn = t_is_socket_unix, .v = 16},
    {"I15d", .fn = t_is_socket_unix, .v = 17},
    {"I15e", .fn = t_is_socket_unix, .v = 18},
    {"I16a", .fn = t_is_socket_unix, .v = 2},
    {"I16b", .fn = t_is_socket_unix, .v = 3},
    {"I17a", .fn = t_is_socket_unix, .v = 4},
    {"I17b", .fn = t_is_socket_unix, .v = 5},
    {"I17c", .fn = t_is_socket_unix, .v = 19},
    {"I17d", .fn = t_is_socket_unix, .v = 20},
    {"I18a", .fn = t_is_socket_unix, .v = 6},
    {"I18b", .fn = t_is_socket_unix, .v = 7},
    {"I18c", .fn = t_is_socket_unix, .v = 8},
    {"I18d", .fn = t_is_socket_unix, .v = 21},
    {"I18e", .fn = t_is_socket_unix, .v = 22},
    {"I18f", .fn = t_is_socket_unix, .v = 23},
    {"I18g", .fn = t_is_socket_unix, .v = 24},
    {"I18h", .fn = t_is_socket_unix, .v = 25},
    {"I19a", .fn = t_is_socket_unix, .v = 9},
    {"I19b", .fn = t_is_socket_unix, .v = 10},
    {"I19c", .fn = t_is_socket_unix, .v = 11},
    {"I19d", .fn = t_is_socket_unix, .v = 12},
    {"I19e", .fn = t_is_socket_unix, .v = 13},
    {"I19f", .fn = t_is_socket_unix, .v = 14},
    {"I19g", .fn = t_is_socket_unix, .v = 15},

    /* ---- sd_is_socket_inet (§7.5) ---- */
    {"I20", .fn = t_is_socket_inet, .v = 0},
    {"I21a", .fn = t_is_socket_inet, .v = 1},
    {"I21b", .fn = t_is_socket_inet, .v = 2},
    {"I21c", .fn = t_is_socket_inet, .v = 3},
    {"I22a", .fn = t_is_socket_inet, .v = 4},
    {"I22b", .fn = t_is_socket_inet, .v = 5},
    {"I22c", .fn = t_is_socket_inet, .v = 13},
    {"I23", .fn = t_is_socket_inet, .v = 6},
    {"I24a", .fn = t_is_socket_inet, .v = 7},
    {"I24b", .fn = t_is_socket_inet, .v = 8},
    {"I24c", .fn = t_is_socket_inet, .v = 9},
    {"I24d", .fn = t_is_socket_inet, .v = 10},
    {"I24e", .fn = t_is_socket_inet, .v = 11},
    {"I24f", .fn = t_is_socket_inet, .v = 12},
    {"I24g", .fn = t_is_socket_inet, .v = 14},
    {"I24h", .fn = t_is_socket_inet, .v = 15},

    /* ---- sd_is_socket_sockaddr (§7.6) ---- */
    {"I25a", .fn = t_is_socket_sockaddr, .v = 0},
    {"I25b", .fn = t_is_socket_sockaddr, .v = 1},
    {"I25c", .fn = t_is_socket_sockaddr, .v = 17},
    {"I25d", .fn = t_is_socket_sockaddr, .v = 18},
    {"I26a", .fn = t_is_socket_sockaddr, .v = 2},
    {"I26b", .fn = t_is_socket_sockaddr, .v = 3},
    {"I26c", .fn = t_is_socket_sockaddr, .v = 9},
    {"I27", .fn = t_is_socket_sockaddr, .v = 4},
    {"I28", .fn = t_is_socket_sockaddr, .v = 5},
    {"I28b", .fn = t_is_socket_sockaddr, .v = 19},
    {"I28c", .fn = t_is_socket_sockaddr, .v = 20},
    {"I29", .fn = t_is_socket_sockaddr, .v = 6},
    {"I30", .fn = t_is_socket_sockaddr, .v = 7},
    {"I31", .fn = t_is_socket_sockaddr, .v = 16},
    {"I32", .fn = t_is_socket_sockaddr, .v = 8},
    {"I32b", .fn = t_is_socket_sockaddr, .v = 21},
    {"I33a", .fn = t_is_socket_sockaddr, .v = 10},
    {"I33b", .fn = t_is_socket_sockaddr, .v = 11},
    {"I33c", .fn = t_is_socket_sockaddr, .v = 12},
    {"I33d", .fn = t_is_socket_sockaddr, .v = 13},
    {"I33e", .fn = t_is_socket_sockaddr, .v = 14},
    {"I34", .fn = t_is_socket_sockaddr, .v = 15},

    /* ---- sd_is_mq (§7.8): private mount + IPC namespace, root ---- */
    {"I35a", .fn = t_is_mq, .v = 0, ROOT},
    {"I35b", .fn = t_is_mq, .v = 1, ROOT},
    {"I36", .fn = t_is_mq, .v = 2, ROOT},
    {"I36b", .fn = t_is_mq, .v = 10, ROOT},
    {"I36c", .fn = t_is_mq, .v = 13},
    {"I37", .fn = t_is_mq, .v = 4, ROOT},
    {"I37b", .fn = t_is_mq, .v = 3, ROOT},
    {"I37c", .fn = t_is_mq, .v = 11, ROOT},
    {"I38a", .fn = t_is_mq, .v = 5},
    {"I38b", .fn = t_is_mq, .v = 6},
    {"I38c", .fn = t_is_mq, .v = 12},
    {"I38d", .fn = t_is_mq, .v = 14},
    {"I39a", .fn = t_is_mq, .v = 7},
    {"I39b", .fn = t_is_mq, .v = 8},
    {"I39c", .fn = t_is_mq, .v = 9},

    /* ---- sd_booted (§6, §12.6): private mount namespace, tmpfs /run, root ---- */
    {"T1a", .fn = t_booted, .v = 1, ROOT},
    {"T1b", .fn = t_booted, .v = 2, ROOT},
    {"T1c", .fn = t_booted, .v = 3, ROOT},
    {"T1d", .fn = t_booted, .v = 4, ROOT},
    {"T1e", .fn = t_booted, .v = 0, ROOT},
    {"T2a", .fn = t_booted, .v = 5, ROOT},
    {"T2b", .fn = t_booted, .v = 6, ROOT},
    {"T2c", .fn = t_booted, .v = 7, ROOT},
    {"T2d", .fn = t_booted, .v = 8, ROOT},

    /* ---- sd_pidfd_get_inode_id (§10, newest only) ---- */
    {"T3a", .fn = t_pidfd, .v = 0},
    {"T3b", .fn = t_pidfd, .v = 1},
    {"T3c", .fn = t_pidfd, .v = 2},
    {"T3d", .fn = t_pidfd, .v = 6},
    {"T4a", .fn = t_pidfd, .v = 3},
    {"T4b", .fn = t_pidfd, .v = 4},
    {"T4c", .fn = t_pidfd, .v = 5},
};

/* ------------------------------------------------------------------------------------ */
/* Running one case.                                                                     */

enum { CHILD_ALARM_S = 2, PARENT_DEADLINE_MS = 4000 };

static void close_from(int first)
{
    if (syscall(SYS_close_range, (unsigned) first, ~0u, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = first; fd < (max > 0 ? max : 65536); fd++)
        close((int) fd);
}

static _Noreturn void child(const struct tcase *c, int result_fd)
{
    setpgid(0, 0);
    if (dup2(result_fd, STDOUT_FILENO) < 0)
        _exit(120);
    /* 0 and 2 must be open so the case's own fds land at 3, 4, ... */
    for (int fd = 0; fd <= 2; fd += 2)
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
            _exit(121);
    close_from(3);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGALRM, SIG_DFL);
    alarm(CHILD_ALARM_S);
    clearenv();
    umask(022);
    self_pid = getpid();
    c->fn(c);
    finish();
}

static const char *signame(int sig)
{
    static char b[24];
    switch (sig) {
    case SIGALRM: return "TIMEOUT";
    case SIGSEGV: return "CRASH(SIGSEGV)";
    case SIGABRT: return "CRASH(SIGABRT)";
    case SIGBUS: return "CRASH(SIGBUS)";
    case SIGFPE: return "CRASH(SIGFPE)";
    case SIGILL: return "CRASH(SIGILL)";
    case SIGPIPE: return "CRASH(SIGPIPE)";
    default:
        snprintf(b, sizeof b, "CRASH(signal %d)", sig);
        return b;
    }
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Case processes that exited with a non-zero status although they printed their line:
 * under valgrind --error-exitcode, that is how a memory error in the case shows. */
static int children_failed;

static void run_case(const struct tcase *c)
{
    char buf[sizeof obuf];
    size_t len = 0;
    int p[2], status = 0, timed_out = 0;

    if ((c->flags & NEEDS_ROOT) && geteuid() != 0) {
        printf("%s: skipped (needs root)\n", c->id);
        return;
    }
    fflush(stdout);
    if (pipe2(p, O_CLOEXEC) < 0) {
        perror("harness: pipe2");
        exit(2);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("harness: fork");
        exit(2);
    }
    if (pid == 0)
        child(c, p[1]);
    setpgid(pid, pid); /* also done by the child: whichever runs first */
    close(p[1]);

    long deadline = now_ms() + PARENT_DEADLINE_MS;
    for (;;) {
        long left = deadline - now_ms();
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        int n = poll(&pf, 1, (int) left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            timed_out = 1;
            break;
        }
        ssize_t got = read(p[0], buf + len, sizeof buf - 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        len += (size_t) got;
        if (len >= sizeof buf - 1)
            break;
    }
    close(p[0]);
    kill(-pid, SIGKILL); /* the case's helpers, if any are left */
    if (timed_out)
        kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    buf[len] = '\0';
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        buf[--len] = '\0';

    if (timed_out)
        printf("%s: TIMEOUT\n", c->id);
    else if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
        printf("%s: %s\n", c->id, signame(WTERMSIG(status)));
    else if (len == 0)
        printf("%s: NO-OUTPUT(exit %d)\n", c->id, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    else
        printf("%s: %s\n", c->id, buf);
    if (!timed_out && len > 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        fprintf(stderr, "harness: %s: the case's process exited with status %d\n", c->id,
                WEXITSTATUS(status));
        children_failed++;
    }
}

/* Removes dir and what is in it; the cases make files, and directories one level deep. */
static void remove_tree(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    if (!d)
        return;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (unlink(p) < 0 && errno == EISDIR && depth > 0)
                remove_tree(p, depth - 1);
        }
    closedir(d);
    rmdir(dir);
}

static void remove_tmpdir(void)
{
    remove_tree(tmpdir, 1);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s LIBRARY_PATH [CASE_ID...]\n", argv[0]);
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "harness: cannot load %s: %s\n", argv[1], dlerror());
        return 2;
    }
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *sym = dlsym(h, symbols[i].name);
        memcpy((char *) &api + symbols[i].offset, &sym, sizeof sym);
    }

    run_uid = getuid();
    run_gid = getgid();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/readyd-diff.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("harness: mkdtemp");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    size_t ran = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int selected = argc == 2;
        for (int a = 2; a < argc && !selected; a++)
            selected = strcmp(argv[a], cases[i].id) == 0;
        if (!selected)
            continue;
        run_case(&cases[i]);
        ran++;
    }
    remove_tmpdir();
    printf("# end: %zu cases\n", ran);
    return children_failed ? 3 : 0;
}
