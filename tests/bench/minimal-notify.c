/*
 * minimal-notify.so: the smallest sd-daemon library `make bench` can think of, as a yardstick
 * for readyd's start-up cost. It exports the four calls client.c makes, each done the plain
 * way (getenv, socket, sendmsg, close; vsnprintf into a stack buffer; a pipe for the
 * barrier), with no libsystemd rules beyond that: no credentials, no unset_environment, no
 * vsock, no buffer tuning. It is linked with the Makefile's SHARED_LDFLAGS, as readyd is, so
 * that the two differ only in what they import and do. Not a library to use.
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
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

int sd_notify(int unset_environment, const char *state);
int sd_notifyf(int unset_environment, const char *format, ...);
int sd_pid_notify_with_fds(pid_t pid, int unset_environment, const char *state,
                           const int *fds, unsigned n_fds);
int sd_notify_barrier(int unset_environment, uint64_t timeout);

#define MAX_FDS 16

static int send_state(const char *state, const int *fds, unsigned n_fds)
{
    const char *e = getenv("NOTIFY_SOCKET");
    if (!e)
        return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(e);
    if (n == 0 || n >= sizeof sa.sun_path || n_fds > MAX_FDS)
        return -EINVAL;
    memcpy(sa.sun_path, e, n);
    socklen_t salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + 1);
    if (e[0] == '@') {
        sa.sun_path[0] = '\0';
        salen--;
    }
    struct iovec iov = {.iov_base = (void *) state, .iov_len = strlen(state)};
    union {
        char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_name = &sa, .msg_namelen = salen, .msg_iov = &iov, .msg_iovlen = 1};
    if (n_fds > 0) {
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int r = sendmsg(fd, &msg, MSG_NOSIGNAL) < 0 ? -errno : 1;
    close(fd);
    return r;
}

int sd_notify(int unset_environment, const char *state)
{
    (void) unset_environment;
    return send_state(state, NULL, 0);
}

int sd_notifyf(int unset_environment, const char *format, ...)
{
    (void) unset_environment;
    char buf[4096];
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    if (n < 0 || (size_t) n >= sizeof buf)
        return -ENOMEM;
    return send_state(buf, NULL, 0);
}

int sd_pid_notify_with_fds(pid_t pid, int unset_environment, const char *state,
                           const int *fds, unsigned n_fds)
{
    (void) pid;
    (void) unset_environment;
    return send_state(state, fds, n_fds);
}

int sd_notify_barrier(int unset_environment, uint64_t timeout)
{
    (void) unset_environment;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    int r = send_state("BARRIER=1", &p[1], 1);
    close(p[1]);
    if (r > 0) {
        struct pollfd pfd = {.fd = p[0], .events = POLLHUP};
        int ms = timeout / 1000 > 60000 ? 60000 : (int) (timeout / 1000);
        int n = poll(&pfd, 1, ms);
        r = n < 0 ? -errno : n == 0 ? -ETIMEDOUT : 1;
    }
    close(p[0]);
    return r;
}
