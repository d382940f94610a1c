/*
 * The daemon of the article "PID tracking in modern init systems" (2014), built against
 * readyd instead of libsystemd. It is the article's code, as close as a program that
 * compiles with -std=c11 -Wall -Wextra -Wpedantic -Werror allows; every deviation has a
 * one-line comment saying why.
 *
 * Under Upstart (UPSTART_JOB set) it stops itself so that `expect stop` records its pid;
 * under systemd (NOTIFY_SOCKET set) it sends READY=1, its status and its pid; otherwise it
 * daemonizes the classic way. Then it does its work: here, wait for SIGTERM or SIGINT and
 * exit 0.
 */
#define _DEFAULT_SOURCE /* deviation: -std=c11 hides fork(), setsid() and err() otherwise */

#include <err.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

int main(void)
{
  const char    *upstart_job = getenv("UPSTART_JOB");
  const char    *systemd_socket = getenv("NOTIFY_SOCKET");
  pid_t          pid; /* deviation: the article's excerpt uses pid without declaring it */
  sigset_t       stop; /* deviation: the article leaves out the daemon's work and its end */
  int            sig;

  /* deviation: SIGTERM and SIGINT are blocked now and taken by sigwait() below */
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigprocmask(SIG_BLOCK, &stop, NULL);

  if (upstart_job != NULL)
    raise(SIGSTOP); /* wait for upstart to start us up again */
  else if (systemd_socket != NULL) /* deviation: the article tests notify_socket, a name it never declared */
    sd_notify(0, "READY=1\nSTATUS=ready\nMAINPID=%lu\n",
              (unsigned long) getpid()); /* deviation: %lu needs the cast (pid_t is an int); the article also lacks this ';' */
  else {

    switch ((pid = fork())) {
    case -1:
      /* handle error */
      exit(1);
    case 0:
      break; /* deviation: the article swaps the two branches, but fork() returns 0 in the child */
    default:
      /* we're in the parent */
      return 0;
    }

    setsid();
    close(2);
    close(1);
    close(0);

    if (open("/dev/null", O_RDWR) != 0)
      err(1, "cannot open /dev/null as stdin");
    if (dup(0) != 1)
      err(1, "cannot open /dev/null as stdout");
    if (dup(0) != 2)
      err(1, "cannot open /dev/null as stderr");
  }

  /* deviation: the article stops here; this daemon's work is to wait until told to stop */
  if (sigwait(&stop, &sig) != 0)
    return 1;
  return 0;
}
