/*
 * receiver: the supervisor's side of the benchmark. Binds a datagram socket at PATH with
 * SO_PASSCRED (as systemd does, so the kernel attaches credentials to every message) and
 * drains it as fast as it can: each message is read and every fd it carries is closed at
 * once, which is also what completes a sd_notify_barrier(). Prints "ready" when bound.
 *
 * usage: receiver PATH SECONDS
 * It exits on SIGTERM or after SECONDS, whichever comes first, so it can never outlive
 * the benchmark for long. It prints the number of messages it read to stderr at the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void) sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: receiver PATH SECONDS\n");
        return 2;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof sa.sun_path) {
        fprintf(stderr, "receiver: path too long: %s\n", argv[1]);
        return 2;
    }
    strcpy(sa.sun_path, argv[1]);

    /* No SA_RESTART: SIGTERM and SIGALRM must break the blocking recvmsg. */
    struct sigaction act = {.sa_handler = on_signal};
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGALRM, &act, NULL);
    alarm((unsigned) atoi(argv[2]));

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
        fprintf(stderr, "receiver: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    printf("ready\n");
    fflush(stdout);

    static char data[65536];
    union {
        char buf[CMSG_SPACE(sizeof(int) * 253) + CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } control;
    unsigned long messages = 0;
    while (!stop) {
        struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
        struct msghdr msg = {
            .msg_iov = &iov,
            .msg_iovlen = 1,
            .msg_control = control.buf,
            .msg_controllen = sizeof control.buf,
        };
        ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "receiver: recvmsg: %s\n", strerror(errno));
            return 1;
        }
        messages++;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            int passed[253];
            memcpy(passed, CMSG_DATA(c), nfds * sizeof(int));
            for (size_t k = 0; k < nfds; k++)
                close(passed[k]);
        }
    }
    close(fd);
    unlink(argv[1]);
    fprintf(stderr, "receiver: %lu messages\n", messages);
    return 0;
}
