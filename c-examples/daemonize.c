/*
 * readyd_daemonize(): the article's fork branch done right. Started from a plain shell,
 * the command returns only once the daemon is ready (exit 0), or has failed to start
 * (non-zero, with the reason on stderr). Under a supervisor (NOTIFY_SOCKET, UPSTART_JOB or
 * READYD_NOTIFY_FD set) it stays in the foreground and readyd_ready() speaks that
 * supervisor's protocol instead.
 *
 *   daemonize [--pidfile PATH] [--fail | --crash] [--delay MS]
 *
 * --fail reports a start-up failure, --crash dies before being ready, --delay simulates a
 * slow start (default 300 ms). Once ready, the daemon runs until SIGTERM.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <readyd.h>

int main(int argc, char **argv)
{
    const char *pidfile = NULL;
    int fail = 0, crash = 0;
    long delay_ms = 300;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--pidfile") == 0 && i + 1 < argc)
            pidfile = argv[++i];
        else if (strcmp(argv[i], "--fail") == 0)
            fail = 1;
        else if (strcmp(argv[i], "--crash") == 0)
            crash = 1;
        else if (strcmp(argv[i], "--delay") == 0 && i + 1 < argc)
            delay_ms = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--pidfile PATH] [--fail | --crash] [--delay MS]\n", argv[0]);
            return 2;
        }
    }

    sigset_t stop;
    int sig;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, NULL);

    int r = readyd_daemonize(READYD_DAEMONIZE_AUTO, pidfile);
    if (r < 0) {
        fprintf(stderr, "%s: cannot daemonize: %s\n", argv[0], strerror(-r));
        return 1;
    }

    /* Start-up: open sockets, read configuration... Errors still reach the terminal. */
    struct timespec t = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
    if (crash)
        abort();
    if (fail) {
        readyd_failed(EADDRINUSE, "cannot listen on port 8080");
        return 1;
    }

    r = readyd_ready("serving");
    if (r < 0)
        fprintf(stderr, "%s: readyd_ready: %s\n", argv[0], strerror(-r));

    if (sigwait(&stop, &sig) != 0)
        return 1;
    return 0;
}
