/*
 * barrier.c: sd_notify_barrier() under real systemd, for check-systemd.sh (built there
 * against the installed readyd, installed as /opt/test/barrier).
 *
 * A child process (not the main one; the unit has NotifyAccess=all) sends
 * STATUS=from the child, then waits in sd_notify_barrier() until systemd has read it, and
 * exits with 0 if the barrier returned 1. Only then does the main process say READY=1 with
 * a status naming the barrier's result, so the unit's StatusText proves that the barrier
 * was answered, and the order in the journal that the child's status came first.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

int main(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        if (sd_notify(0, "STATUS=from the child") <= 0)
            _exit(2);
        int r = sd_notify_barrier(0, 5 * 1000000ULL);
        _exit(r == 1 ? 0 : 3);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return 1;
    sd_notifyf(0, "READY=1\nSTATUS=barrier answered: child exit %d",
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    pause();
    return 0;
}
