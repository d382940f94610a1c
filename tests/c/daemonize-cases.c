/*
 * daemonize-cases MODE DIR: readyd_daemonize() in the situations real daemons create,
 * for tests/c/check-daemonize-cases.sh. Everything the test needs to see is written to
 * files in DIR (the daemon has no terminal); every daemon waits for SIGTERM at the end.
 *
 *   prefork        forks a worker before ready (DIR/worker.pid), then readyd_ready(); the
 *                  worker blocks until DIR/release (a FIFO) is written to.
 *   prefork-fail   the same, then readyd_failed(EIO, "workers could not start").
 *   prefork-crash  the same, then the daemon exits without a word (_exit(3)).
 *   stdio          start-up as a daemon with closed standard fds does it: a warning on
 *                  stderr, opens DIR/log and writes one line to it, prints to stdout, then
 *                  readyd_ready(); DIR/report holds the log fd and what fds 0-2 are.
 *   ready          readyd_ready("up"); DIR/report holds its return value and the
 *                  supervisor variables the daemon still sees (for stale variables).
 *   failed         readyd_failed(EIO, "cannot start"), then exits 1.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <readyd.h>

static const char *dir;

/* Writes TEXT to DIR/NAME through a temporary file and rename(): readers see all or none. */
static void put(const char *name, const char *text)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/.%s.%d", dir, name, (int)getpid());
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(tmp, "w");
    if (!f)
        _exit(90);
    fputs(text, f);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        _exit(91);
}

/* The worker: records its pid, then blocks until the test writes to DIR/release. */
static pid_t fork_worker(void)
{
    pid_t pid = fork();
    if (pid < 0)
        _exit(92);
    if (pid == 0) {
        char text[32], path[PATH_MAX];
        snprintf(text, sizeof text, "%d\n", (int)getpid());
        put("worker.pid", text);
        snprintf(path, sizeof path, "%s/release", dir);
        int fd = open(path, O_RDONLY);
        char c;
        if (fd >= 0)
            while (read(fd, &c, 1) > 0) {
            }
        _exit(0);
    }
    /* Ready only once the worker exists and holds everything the daemon held. */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/worker.pid", dir);
    while (access(path, F_OK) != 0)
        usleep(1000);
    return pid;
}

static void fd_name(char *out, size_t size, int fd)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, size - 1);
    if (n < 0)
        snprintf(out, size, "closed");
    else
        out[n] = '\0';
}

static void wait_for_sigterm(void)
{
    sigset_t set;
    int sig;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigwait(&set, &sig);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODE DIR\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    dir = argv[2];
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);

    int r = readyd_daemonize(0, NULL);
    if (r != 1) {
        fprintf(stderr, "%s: readyd_daemonize returned %d\n", argv[0], r);
        return 1;
    }
    char text[PATH_MAX * 4];
    snprintf(text, sizeof text, "%d\n", (int)getpid());
    put("daemon.pid", text);

    if (strncmp(mode, "prefork", 7) == 0) {
        pid_t worker = fork_worker();
        if (strcmp(mode, "prefork") == 0)
            readyd_ready(NULL);
        else if (strcmp(mode, "prefork-fail") == 0)
            readyd_failed(EIO, "workers could not start");
        else
            _exit(3);
        waitpid(worker, NULL, 0);
        wait_for_sigterm();
        return 0;
    }
    if (strcmp(mode, "stdio") == 0) {
        fprintf(stderr, "warning: starting with defaults\n");
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/log", dir);
        int log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log < 0)
            _exit(93);
        if (write(log, "log line\n", 9) != 9)
            _exit(94);
        printf("printed to stdout\n");
        fflush(stdout);
        r = readyd_ready(NULL);
        char f0[PATH_MAX], f1[PATH_MAX], f2[PATH_MAX];
        fd_name(f0, sizeof f0, 0);
        fd_name(f1, sizeof f1, 1);
        fd_name(f2, sizeof f2, 2);
        snprintf(text, sizeof text, "ready %d log-fd-is-standard %d fds %s %s %s\n", r, log <= 2, f0,
                 f1, f2);
        put("report", text);
        wait_for_sigterm();
        return 0;
    }
    if (strcmp(mode, "ready") == 0) {
        r = readyd_ready("up");
        const char *ns = getenv("NOTIFY_SOCKET"), *job = getenv("UPSTART_JOB"),
                   *fd = getenv("READYD_NOTIFY_FD");
        snprintf(text, sizeof text, "ready %d NOTIFY_SOCKET=%s UPSTART_JOB=%s READYD_NOTIFY_FD=%s\n", r,
                 ns ? ns : "(unset)", job ? job : "(unset)", fd ? fd : "(unset)");
        put("report", text);
        wait_for_sigterm();
        return 0;
    }
    if (strcmp(mode, "failed") == 0) {
        r = readyd_failed(EIO, "cannot start");
        snprintf(text, sizeof text, "failed %d\n", r);
        put("report", text);
        return 1;
    }
    fprintf(stderr, "%s: unknown mode %s\n", argv[0], mode);
    return 2;
}
