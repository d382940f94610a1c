/*
 * State that outlives a restart, in systemd's file descriptor store, built against readyd
 * instead of libsystemd.
 *
 * A service whose unit sets FileDescriptorStoreMax= may hand fds to systemd with
 * "FDSTORE=1" (and a name, "FDNAME=..."); systemd keeps them while the unit is restarted
 * and passes them to the next instance like socket-activation fds, named in
 * LISTEN_FDNAMES. Here the state is a memory file (memfd_create): the first instance writes
 * "state of pid <its pid>" into it and stores it as "mystate"; a later instance finds it by
 * that name, reads it back and reports "restored <what it read>" in its status.
 *
 * Example unit (tests/systemd/lifecycle-checks.sh uses one like it):
 *
 *   [Service]
 *   Type=notify
 *   FileDescriptorStoreMax=1
 *   ExecStart=/usr/local/bin/fdstore
 *
 *   systemctl start that.service     # Status: "stored state of pid 57"
 *   systemctl restart that.service   # Status: "restored state of pid 57"
 */
#define _GNU_SOURCE /* memfd_create() */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#define STATE_NAME "mystate"

/* The fd named NAME among the N passed ones, or -1. */
static int find_fd(char **names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return SD_LISTEN_FDS_START + i;
    return -1;
}

static void free_names(char **names)
{
    if (names == NULL)
        return;
    for (char **p = names; *p != NULL; p++)
        free(*p);
    free(names);
}

/* First start: create the state, give it to systemd to keep, and report it. */
static int store_state(void)
{
    char text[64];
    int fd, len, r;

    fd = memfd_create(STATE_NAME, MFD_CLOEXEC);
    if (fd < 0) {
        perror("memfd_create");
        return -1;
    }
    len = snprintf(text, sizeof text, "state of pid %ld", (long)getpid());
    if (write(fd, text, (size_t)len) != len) {
        perror("write to the memfd");
        close(fd);
        return -1;
    }

    /* systemd receives its own copy of the fd with the message; ours can go afterwards.
     * A store that is full or disabled (FileDescriptorStoreMax=0) is logged by systemd
     * and not reported back here: the send itself still succeeds. */
    r = sd_pid_notify_with_fds(0, 0, "FDSTORE=1\nFDNAME=" STATE_NAME, &fd, 1);
    close(fd);
    if (r < 0) {
        fprintf(stderr, SD_ERR "could not store the state: %s\n", strerror(-r));
        return -1;
    }
    if (r == 0)
        fprintf(stderr, SD_WARNING "NOTIFY_SOCKET is not set: the state dies with us\n");

    sd_notifyf(0, "READY=1\nSTATUS=stored %s", text);
    return 0;
}

/* Later start: read back what the earlier instance left. */
static int restore_state(int fd)
{
    char text[256];
    ssize_t got;

    /* pread: the offset of the shared file is wherever the writer left it. */
    got = pread(fd, text, sizeof text - 1, 0);
    if (got < 0) {
        perror("read from the stored memfd");
        return -1;
    }
    text[got] = '\0';

    sd_notifyf(0, "READY=1\nSTATUS=restored %s", text);
    return 0;
}

int main(void)
{
    char **names = NULL;
    sigset_t stop;
    int n, fd, sig, r;

    /* Taken by sigwait() at the end: the service runs until SIGTERM or SIGINT. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, NULL);

    n = sd_listen_fds_with_names(1, &names);
    if (n < 0) {
        fprintf(stderr, SD_ERR "sd_listen_fds_with_names: %s\n", strerror(-n));
        return 1;
    }

    fd = n > 0 ? find_fd(names, n, STATE_NAME) : -1;
    r = fd >= 0 ? restore_state(fd) : store_state();
    free_names(names);
    if (r < 0)
        return 1;

    if (sigwait(&stop, &sig) != 0)
        return 1;
    sd_notify(0, "STOPPING=1");
    return 0;
}
