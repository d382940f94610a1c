/*
 * mainpid.c: readyd_mainpid() under real systemd, for check-systemd.sh (built there against
 * the installed readyd, installed as /opt/test/mainpid).
 *
 * The started process forks a worker, names it with readyd_mainpid() (MAINPID=, and where
 * the kernel has pidfds MAINPIDFD=1 with the worker's pidfd and MAINPIDFDID=), then says
 * READY=1 and exits; the worker runs on until it is stopped. systemd must then track the
 * worker as the unit's main process.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <readyd.h>
#include <systemd/sd-daemon.h>

int main(void)
{
    pid_t worker = fork();
    if (worker < 0)
        return 1;
    if (worker == 0) {
        for (;;)
            pause();
    }
    int r = readyd_mainpid(worker);
    if (r < 0) {
        fprintf(stderr, "readyd_mainpid: %d\n", r);
        kill(worker, SIGKILL);
        return 1;
    }
    sd_notifyf(0, "READY=1\nSTATUS=worker %d named by readyd_mainpid", (int) worker);
    return 0;
}
