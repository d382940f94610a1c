/*
 * notify-fd: readiness on a file descriptor the supervisor names, with readyd_notify_fd().
 *
 * s6 reads the number from the service directory's notification-fd file and sets no
 * variable: the run script passes it on, e.g. `exec notify-fd -d 3`. dinit
 * (ready-notification = pipefd:3) and OpenRC (notify=fd:3) work the same way. When the
 * supervisor exports the number in READYD_NOTIFY_FD instead, readyd_ready() finds it
 * without any option (see ready-anywhere.c).
 *
 *   notify-fd -d FD [--text TEXT]
 *
 * Once started, it writes TEXT (default "READY=1") and a newline to FD, unless TEXT
 * already ends with one, and FD is closed: the supervisor reads the line, then end of
 * file, while the daemon keeps running until SIGTERM or SIGINT (exit 0). If the write
 * fails, for instance because the supervisor is gone, it says so and exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readyd.h>

int main(int argc, char **argv)
{
    int fd = -1;
    const char *text = "READY=1";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
            fd = atoi(argv[++i]);
        else if (strcmp(argv[i], "--text") == 0 && i + 1 < argc)
            text = argv[++i];
        else {
            fd = -1;
            break;
        }
    }
    if (fd < 0) {
        fprintf(stderr, "usage: %s -d FD [--text TEXT]\n", argv[0]);
        return 2;
    }

    /* A write to a pipe nobody reads raises SIGPIPE, whose default action kills. Many
     * daemons keep that default, and so do we, on purpose: readyd_notify_fd() holds the
     * signal off and returns -EPIPE instead. */
    signal(SIGPIPE, SIG_DFL);

    sigset_t stop;
    int sig;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, NULL);

    /* ... start-up: sockets, configuration ... then: */
    int r = readyd_notify_fd(fd, text);
    if (r < 0) {
        fprintf(stderr, "%s: cannot notify on fd %d: %s\n", argv[0], fd, strerror(-r));
        return 1;
    }
    /* fd is closed now, whatever the result: the supervisor sees end of file. */

    if (sigwait(&stop, &sig) != 0)
        return 1;
    return 0;
}
