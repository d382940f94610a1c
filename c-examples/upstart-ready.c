/*
 * upstart_ready(): Upstart's `expect stop` handshake in one call.
 *
 * When Upstart starts a job with `expect stop`, it waits for the job to stop itself with
 * SIGSTOP, records the pid that stopped as the job's main process, and resumes it with
 * SIGCONT. upstart_ready() does that when UPSTART_JOB is set and nothing otherwise; it then
 * removes UPSTART_JOB and UPSTART_INSTANCE, so the worker this daemon starts afterwards
 * (and any second call) does not stop as well: the classic way to hang a job.
 *
 * Under `readyd`'s test supervisor: `supervise upstart -- ./upstart-ready`.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <readyd.h>

int main(void)
{
    sigset_t stop;
    int sig, status;

    /* Taken by sigwait() at the end: this daemon runs until SIGTERM or SIGINT. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, NULL);

    /* ... the daemon's set-up would go here: configuration, listening sockets ... */

    int r = upstart_ready();
    if (r < 0) {
        fprintf(stderr, "upstart_ready: %s\n", strerror(-r));
        return 1;
    }
    printf("upstart_ready() = %d: %s\n", r,
           r > 0 ? "stopped once, resumed by the supervisor" : "not started by Upstart");
    fflush(stdout); /* before fork(), or the worker would print this line again */

    pid_t worker = fork();
    if (worker < 0) {
        perror("fork");
        return 1;
    }
    if (worker == 0) {
        int again = upstart_ready();
        printf("worker: upstart_ready() = %d, UPSTART_JOB %s\n", again,
               getenv("UPSTART_JOB") ? "still set" : "unset");
        fflush(stdout);
        _exit(again == 0 ? 0 : 1);
    }
    if (waitpid(worker, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "worker failed\n");
        return 1;
    }

    if (sigwait(&stop, &sig) != 0)
        return 1;
    return 0;
}
