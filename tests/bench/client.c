/*
 * client: the program `make bench` measures. One source, built four ways, so that every
 * variant pays for exactly the same surroundings:
 *
 *   -DVARIANT_LIB    calls the sd-daemon functions through the prototypes below; linked
 *                    once against build/libreadyd.so.0 and once against the system's
 *                    libsystemd.so.0 (by file path: no libsystemd-dev needed).
 *   -DVARIANT_FLOOR  the same calls done by hand with the fewest syscalls the kernel
 *                    allows (socket + sendto/sendmsg + close): the floor no library beats.
 *   (neither)        the baseline: links nothing extra and calls nothing.
 *
 * usage: client MODE [COUNT [WARMUP]]
 *   once       one sd_notify(0, "READY=1") (the start-up measurement; baseline: nothing)
 *   linked     no call at all, with the library loaded (what the loader alone costs)
 *   notify     COUNT x sd_notify(0, "WATCHDOG=1")
 *   notifyf    COUNT x sd_notifyf(0, "STATUS=Processed %ld requests", i)
 *   notifyf4k  COUNT x sd_notifyf(0, "STATUS=%s", s), s 4,000 bytes: a message just under
 *              the 4 KiB that readyd formats on the stack
 *   fds        COUNT x sd_pid_notify_with_fds(0, 0, "FDSTORE=1", fds, 3)
 *   barrier    COUNT x sd_notify_barrier(0, 5 s)
 *   mem        one sd_notify, then Rss and Pss from /proc/self/smaps_rollup (kB)
 * The loop modes make WARMUP untimed calls first, then print key=value lines: wall time per
 * call, the process's CPU time per call, and per call how often it had to wait (voluntary
 * context switches) and was preempted (involuntary ones). A call that does not return 1
 * stops the program with exit status 1: a benchmark of failing calls is no benchmark.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BARRIER_TIMEOUT_USEC (5u * 1000u * 1000u)

#if defined(VARIANT_LIB)
/* libsystemd's prototypes (sd-daemon.h), which readyd shares exactly. */
int sd_notify(int unset_environment, const char *state);
int sd_notifyf(int unset_environment, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
int sd_pid_notify_with_fds(pid_t pid, int unset_environment, const char *state,
                           const int *fds, unsigned n_fds);
int sd_notify_barrier(int unset_environment, uint64_t timeout);

#define NOTIFY(s) sd_notify(0, (s))
#define NOTIFYF(...) sd_notifyf(0, __VA_ARGS__)
#define NOTIFY_FDS(s, fds, n) sd_pid_notify_with_fds(0, 0, (s), (fds), (n))
#define BARRIER() sd_notify_barrier(0, BARRIER_TIMEOUT_USEC)

#elif defined(VARIANT_FLOOR)
/* The floor: what any implementation has to do at the least. Reads the address from the
 * environment on every call (as a library must), handles path and @abstract addresses,
 * then one socket, one send, one close. No credential logic, no buffer tuning. */
static int floor_send(const char *state, size_t len, const int *fds, unsigned n_fds)
{
    const char *e = getenv("NOTIFY_SOCKET");
    if (!e)
        return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(e);
    if (n == 0 || n >= sizeof sa.sun_path)
        return -EINVAL;
    memcpy(sa.sun_path, e, n);
    socklen_t salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n);
    if (e[0] == '@')
        sa.sun_path[0] = '\0';
    else
        salen++; /* the path's NUL */

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    ssize_t r;
    if (n_fds == 0) {
        r = sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *) &sa, salen);
    } else {
        union {
            char buf[CMSG_SPACE(sizeof(int) * 16)];
            struct cmsghdr align;
        } control;
        struct iovec iov = {.iov_base = (void *) state, .iov_len = len};
        struct msghdr msg = {
            .msg_name = &sa,
            .msg_namelen = salen,
            .msg_iov = &iov,
            .msg_iovlen = 1,
            .msg_control = control.buf,
            .msg_controllen = CMSG_SPACE(sizeof(int) * n_fds),
        };
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        r = sendmsg(fd, &msg, MSG_NOSIGNAL);
    }
    int saved = errno;
    close(fd);
    if (r < 0)
        return -saved;
    return (size_t) r == len ? 1 : -EIO;
}

static int floor_notify(const char *state)
{
    return floor_send(state, strlen(state), NULL, 0);
}

static int floor_notifyf(const char *format, ...) __attribute__((format(printf, 1, 2)));
static int floor_notifyf(const char *format, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    if (n < 0 || (size_t) n >= sizeof buf)
        return -ENOMEM;
    return floor_send(buf, (size_t) n, NULL, 0);
}

static int floor_barrier(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    int r = floor_send("BARRIER=1", 9, &p[1], 1);
    close(p[1]);
    if (r > 0) {
        struct pollfd pfd = {.fd = p[0], .events = 0};
        int n = poll(&pfd, 1, BARRIER_TIMEOUT_USEC / 1000);
        r = n < 0 ? -errno : n == 0 ? -ETIMEDOUT : 1;
    }
    close(p[0]);
    return r;
}

#define NOTIFY(s) floor_notify(s)
#define NOTIFYF(...) floor_notifyf(__VA_ARGS__)
#define NOTIFY_FDS(s, fds, n) floor_send((s), strlen(s), (fds), (n))
#define BARRIER() floor_barrier()

#else
/* The baseline calls nothing: every call "succeeds" without doing anything. */
#define BASELINE 1
#define NOTIFY(s) ((void) (s), 1)
#define NOTIFYF(...) 1
#define NOTIFY_FDS(s, fds, n) ((void) (s), (void) (fds), 1)
#define BARRIER() 1
#endif

enum mode { ONCE, LINKED, NOTIFY_LOOP, NOTIFYF_LOOP, NOTIFYF4K_LOOP, FDS_LOOP, BARRIER_LOOP, MEM };

static char big[4001]; /* 4,000 x 'x', filled in main() */

static int call(enum mode mode, long i, const int *fds)
{
    (void) i;
    (void) fds;
    switch (mode) {
    case NOTIFY_LOOP:
        return NOTIFY("WATCHDOG=1");
    case NOTIFYF_LOOP:
        return NOTIFYF("STATUS=Processed %ld requests", i);
    case NOTIFYF4K_LOOP:
        return NOTIFYF("STATUS=%s", big);
    case FDS_LOOP:
        return NOTIFY_FDS("FDSTORE=1", fds, 3);
    case BARRIER_LOOP:
        return BARRIER();
    default:
        return NOTIFY("READY=1");
    }
}

static void check(int r, const char *what)
{
    if (r != 1) {
        fprintf(stderr, "client: %s returned %d (%s)\n", what, r, r < 0 ? strerror(-r) : "");
        exit(1);
    }
}

/* Rss and Pss of the whole process, in kB, read with plain syscalls. */
static void print_memory(void)
{
    char buf[4096];
    int fd = open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror("client: /proc/self/smaps_rollup");
        exit(1);
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        exit(1);
    buf[n] = '\0';
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        long kb;
        if (sscanf(line, "Rss: %ld kB", &kb) == 1)
            printf("rss_kb=%ld\n", kb);
        else if (sscanf(line, "Pss: %ld kB", &kb) == 1)
            printf("pss_kb=%ld\n", kb);
    }
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        enum mode mode;
    } modes[] = {
        {"once", ONCE},
        {"linked", LINKED},
        {"notify", NOTIFY_LOOP},
        {"notifyf", NOTIFYF_LOOP},
        {"notifyf4k", NOTIFYF4K_LOOP},
        {"fds", FDS_LOOP},
        {"barrier", BARRIER_LOOP},
        {"mem", MEM},
    };
    if (argc < 2) {
        fprintf(stderr, "usage: client once|linked|notify|notifyf|notifyf4k|fds|barrier|mem "
                        "[COUNT [WARMUP]]\n");
        return 2;
    }
    enum mode mode = ONCE;
    size_t m;
    for (m = 0; m < sizeof modes / sizeof modes[0]; m++)
        if (strcmp(argv[1], modes[m].name) == 0)
            break;
    if (m == sizeof modes / sizeof modes[0]) {
        fprintf(stderr, "client: unknown mode %s\n", argv[1]);
        return 2;
    }
    mode = modes[m].mode;

    switch (mode) {
    case LINKED:
#ifndef BASELINE
        /* Keeps the library linked (a reference the linker cannot drop) without calling. */
        if (argc > 99)
            return NOTIFY("never");
#endif
        return 0;
    case ONCE:
        check(call(ONCE, 0, NULL), "sd_notify");
        return 0;
    case MEM:
        check(call(ONCE, 0, NULL), "sd_notify");
        print_memory();
        return 0;
    default:
        break;
    }

    long count = argc > 2 ? atol(argv[2]) : 1000;
    long warmup = argc > 3 ? atol(argv[3]) : 0;
    memset(big, 'x', sizeof big - 1);
    int fds[3] = {-1, -1, -1};
    if (mode == FDS_LOOP)
        for (int k = 0; k < 3; k++)
            if ((fds[k] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
                perror("client: /dev/null");
                return 1;
            }
    for (long i = 0; i < warmup; i++)
        check(call(mode, i, fds), argv[1]);
    struct timespec t0, t1;
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < count; i++)
        check(call(mode, i, fds), argv[1]);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    getrusage(RUSAGE_SELF, &r1);
    double n = count > 0 ? (double) count : 1.0;
    double wall = (double) (t1.tv_sec - t0.tv_sec) * 1e9 + (double) (t1.tv_nsec - t0.tv_nsec);
    double cpu = ((double) (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) +
                  (double) (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec)) * 1e9 +
                 ((double) (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) +
                  (double) (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec)) * 1e3;
    /* Wall time is the result; CPU time and the context switches (waits for the
     * receiver, preemptions by other work) tell how clean the run was. */
    printf("ns_per_call=%.1f\ncpu_ns_per_call=%.1f\nwaits_per_call=%.3f\npreempts_per_call=%.3f\n",
           wall / n, cpu / n, (double) (r1.ru_nvcsw - r0.ru_nvcsw) / n,
           (double) (r1.ru_nivcsw - r0.ru_nivcsw) / n);
    return 0;
}
