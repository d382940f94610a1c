/*
 * supervise: a minimal supervisor for tests and the demo. It starts a command the way a
 * supervisor would and prints what it saw.
 *
 *   supervise notify ADDRESS [-t SECS] -- CMD [ARGS...]
 *       Binds a datagram socket at ADDRESS (a path, or @name for an abstract socket) with
 *       SO_PASSCRED, starts CMD with NOTIFY_SOCKET=ADDRESS, and prints every datagram with
 *       the sender's pid (from the kernel's credentials) and its exact bytes, until one
 *       holds READY=1. Then it stops CMD with SIGTERM and reports how it exited.
 *       Exit 0 when READY=1 came and CMD exited 0.
 *
 *   supervise upstart [-t SECS] -- CMD [ARGS...]
 *       Emulates Upstart's `expect stop`: starts CMD with UPSTART_JOB set, waits for it to
 *       stop itself (waitpid with WUNTRACED), records that pid and resumes it with SIGCONT.
 *       Then it stops CMD with SIGTERM, counting any further stop (each is resumed).
 *       Exit 0 when CMD stopped exactly once and exited 0.
 *
 * SECS (default 10) bounds each wait; a command that does not answer in time is killed.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int timeout_ms = 10000;

static void die(const char *what)
{
    fprintf(stderr, "supervise: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void usage(void)
{
    fprintf(stderr, "usage: supervise notify ADDRESS [-t SECS] -- CMD [ARGS...]\n"
                    "       supervise upstart [-t SECS] -- CMD [ARGS...]\n");
    exit(2);
}

static pid_t start(char **argv)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "supervise: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Prints bytes as a C string literal: what was sent, exactly. */
static void print_escaped(const unsigned char *p, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n')
            fputs("\\n", stdout);
        else if (p[i] == '"' || p[i] == '\\')
            printf("\\%c", p[i]);
        else if (p[i] < 0x20 || p[i] >= 0x7f)
            printf("\\x%02x", p[i]);
        else
            putchar(p[i]);
    }
    putchar('"');
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Waits for pid to exit, resuming and counting stops; kills it when time runs out.
 * Returns the wait status. */
static int reap(pid_t pid, const char *who, int *stops)
{
    long deadline = now_ms() + timeout_ms;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG | WUNTRACED);
        if (r < 0)
            die("waitpid");
        if (r == pid && WIFSTOPPED(status)) {
            (*stops)++;
            printf("%s: pid %d stopped again (signal %d); resuming it\n", who, (int) pid,
                   WSTOPSIG(status));
            kill(pid, SIGCONT);
            continue;
        }
        if (r == pid)
            break;
        if (now_ms() > deadline) {
            printf("%s: pid %d did not exit within %d s; killing it\n", who, (int) pid,
                   timeout_ms / 1000);
            kill(pid, SIGKILL);
            kill(pid, SIGCONT);
            deadline = now_ms() + 60000;
        }
        poll(NULL, 0, 10);
    }
    if (WIFEXITED(status))
        printf("%s: pid %d exited with status %d\n", who, (int) pid, WEXITSTATUS(status));
    else
        printf("%s: pid %d killed by signal %d\n", who, (int) pid, WTERMSIG(status));
    return status;
}

static int run_notify(const char *address, char **argv)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(address);
    if (n < 2 || n >= sizeof sa.sun_path || (address[0] != '/' && address[0] != '@')) {
        fprintf(stderr, "supervise: ADDRESS must be /path or @name, under %zu bytes\n",
                sizeof sa.sun_path);
        exit(2);
    }
    memcpy(sa.sun_path, address, n);
    socklen_t len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + 1);
    if (address[0] == '@') {
        sa.sun_path[0] = '\0';
        len--; /* an abstract name has no NUL */
    } else {
        unlink(address);
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    if (bind(fd, (struct sockaddr *) &sa, len) < 0)
        die("bind");
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
        die("SO_PASSCRED");
    if (setenv("NOTIFY_SOCKET", address, 1) < 0)
        die("setenv");

    pid_t pid = start(argv);
    printf("notify: started pid %d with NOTIFY_SOCKET=%s\n", (int) pid, address);

    int ready = 0;
    long deadline = now_ms() + timeout_ms;
    while (!ready) {
        long left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = left > 0 ? poll(&p, 1, (int) left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die("poll");
        if (r == 0) {
            printf("notify: no READY=1 within %d s\n", timeout_ms / 1000);
            break;
        }
        static unsigned char buf[65536];
        union {
            struct cmsghdr align;
            unsigned char space[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(253 * sizeof(int))];
        } control;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof control};
        ssize_t got = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
        if (got < 0)
            die("recvmsg");
        struct ucred cred = {0, 0, 0};
        int nfds = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET)
                continue;
            if (c->cmsg_type == SCM_CREDENTIALS)
                memcpy(&cred, CMSG_DATA(c), sizeof cred);
            if (c->cmsg_type == SCM_RIGHTS) {
                nfds = (int) ((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                for (int i = 0; i < nfds; i++) {
                    int passed;
                    memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
                    close(passed);
                }
            }
        }
        printf("notify: datagram from pid %d: %zd bytes ", (int) cred.pid, got);
        print_escaped(buf, (size_t) got);
        if (nfds)
            printf(" with %d fd(s)", nfds);
        if (msg.msg_flags & MSG_TRUNC)
            printf(" (truncated)");
        putchar('\n');
        for (ssize_t i = 0; i < got;) {
            const unsigned char *line = buf + i;
            const unsigned char *end = memchr(line, '\n', (size_t) (got - i));
            size_t l = end ? (size_t) (end - line) : (size_t) (got - i);
            if (l == 7 && memcmp(line, "READY=1", 7) == 0)
                ready = 1;
            i += (ssize_t) l + 1;
        }
    }
    if (ready)
        printf("notify: ready\n");
    printf("notify: sending SIGTERM to pid %d\n", (int) pid);
    kill(pid, SIGTERM);
    int stops = 0;
    int status = reap(pid, "notify", &stops);
    if (address[0] == '/')
        unlink(address);
    return ready && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

static int run_upstart(char **argv)
{
    if (setenv("UPSTART_JOB", "readyd-test", 1) < 0)
        die("setenv");
    pid_t pid = start(argv);
    printf("upstart: started pid %d with UPSTART_JOB=readyd-test\n", (int) pid);

    int status, stops = 0;
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG | WUNTRACED);
        if (r < 0)
            die("waitpid");
        if (r == pid)
            break;
        if (now_ms() > deadline) {
            printf("upstart: pid %d did not stop within %d s\n", (int) pid, timeout_ms / 1000);
            kill(pid, SIGKILL);
            reap(pid, "upstart", &stops);
            return 1;
        }
        poll(NULL, 0, 5);
    }
    if (!WIFSTOPPED(status)) {
        printf("upstart: pid %d ended before it stopped itself\n", (int) pid);
        return 1;
    }
    stops = 1;
    printf("upstart: pid %d stopped itself with signal %d: ready; sending SIGCONT\n", (int) pid,
           WSTOPSIG(status));
    kill(pid, SIGCONT);
    printf("upstart: sending SIGTERM to pid %d\n", (int) pid);
    kill(pid, SIGTERM);
    status = reap(pid, "upstart", &stops);
    printf("upstart: pid %d stopped %d time(s)\n", (int) pid, stops);
    return stops == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *mode = argv[1];
    const char *address = NULL;
    int i = 2;
    if (strcmp(mode, "notify") == 0) {
        if (argc < 3)
            usage();
        address = argv[i++];
    } else if (strcmp(mode, "upstart") != 0) {
        usage();
    }
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
            timeout_ms = atoi(argv[++i]) * 1000;
        else
            usage();
    }
    if (i + 1 >= argc || timeout_ms <= 0)
        usage();
    setvbuf(stdout, NULL, _IOLBF, 0);
    return address ? run_notify(address, argv + i + 1) : run_upstart(argv + i + 1);
}
