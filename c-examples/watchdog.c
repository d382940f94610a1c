/*
 * A daemon under systemd's watchdog, built against readyd instead of libsystemd.
 *
 * With WatchdogSec= in its unit, systemd passes the timeout in WATCHDOG_USEC (and the pid it
 * is meant for in WATCHDOG_PID) and expects a "WATCHDOG=1" notification before each timeout
 * runs out; when one is missed it kills the service (SIGABRT by default) and marks it
 * failed with Result=watchdog. This daemon asks sd_watchdog_enabled() for the timeout and
 * pings at half of it, the usual margin.
 *
 * To show the other half of the deal, SIGUSR1 makes it stop pinging while it keeps
 * running, as a hung main loop would: systemd then kills it one timeout later. SIGTERM
 * ends it cleanly.
 *
 * Example unit (tests/systemd/lifecycle-checks.sh uses one like it):
 *
 *   [Service]
 *   Type=notify
 *   WatchdogSec=2
 *   ExecStart=/usr/local/bin/watchdog
 *
 *   systemctl kill --kill-who=main -s SIGUSR1 that.service   # stop pinging
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

static volatile sig_atomic_t stop_pinging;
static volatile sig_atomic_t terminate;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        stop_pinging = 1;
    else
        terminate = 1;
}

/* Adds USEC microseconds to the absolute time T. */
static void add_usec(struct timespec *t, uint64_t usec)
{
    t->tv_sec += (time_t)(usec / 1000000);
    t->tv_nsec += (long)(usec % 1000000) * 1000;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

int main(void)
{
    struct sigaction sa;
    struct timespec next;
    uint64_t timeout_usec = 0, period_usec;
    int said_stopped = 0;
    int r;

    r = sd_watchdog_enabled(0, &timeout_usec);
    if (r < 0) {
        fprintf(stderr, SD_ERR "WATCHDOG_USEC/WATCHDOG_PID are malformed: %s\n", strerror(-r));
        return 1;
    }
    if (r == 0) {
        fprintf(stderr, SD_ERR "no watchdog for this process: set WatchdogSec= in the unit\n");
        return 1;
    }
    period_usec = timeout_usec / 2;
    if (period_usec == 0)
        period_usec = 1;

    /* No SA_RESTART: a signal cuts the sleep short, so SIGTERM is acted on at once. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    sd_notifyf(0, "READY=1\nSTATUS=watchdog timeout %" PRIu64 " us, pinging every %" PRIu64 " us",
               timeout_usec, period_usec);

    /* Absolute deadlines on the monotonic clock: the period does not drift with the time
     * each round takes, and wall-clock changes do not matter. */
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!terminate) {
        add_usec(&next, period_usec);
        while (!terminate &&
               clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ; /* woken by a signal: sleep on unless it asked us to end */
        if (terminate)
            break;

        if (!stop_pinging) {
            sd_notify(0, "WATCHDOG=1");
        } else if (!said_stopped) {
            sd_notify(0, "STATUS=told to stop pinging (SIGUSR1): waiting for the watchdog");
            said_stopped = 1;
        }
    }

    sd_notify(0, "STOPPING=1");
    return 0;
}
