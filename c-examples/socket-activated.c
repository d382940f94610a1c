/*
 * A socket-activated greeter, built against readyd instead of libsystemd.
 *
 * systemd owns the listening sockets of one or more .socket units and starts this service
 * when the first connection arrives. The sockets come as fds 3, 4, ... (LISTEN_FDS), each
 * with the name its unit gave it in FileDescriptorName= (LISTEN_FDNAMES);
 * sd_listen_fds_with_names() returns both. The greeter answers every connection on a
 * socket with "hello from <that socket's name>\n" and closes it, and serves until SIGTERM.
 *
 * Example units (tests/systemd/lifecycle-checks.sh uses two sockets like these):
 *
 *   greeting.socket    [Socket]  ListenStream=127.0.0.1:7777
 *                                FileDescriptorName=greeting
 *                                Service=greeter.service
 *   greeter.service    [Service] Type=notify
 *                                ExecStart=/usr/local/bin/socket-activated
 *
 * Started by hand, without sockets, it says so and exits 1. To try it without systemd:
 * systemd-socket-activate -l 7777 --fdname=greeting ./socket-activated
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

/* More sockets than one service usually gets; the rest would be ignored with a warning. */
#define MAX_SOCKETS 16

/* Writes all of TEXT to the connection FD; a peer that went away is not our problem. */
static void send_all(int fd, const char *text)
{
    size_t left = strlen(text);

    while (left > 0) {
        ssize_t sent = send(fd, text, left, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        text += sent;
        left -= (size_t)sent;
    }
}

/* The local port of an inet socket, or 0 when it has none. */
static unsigned local_port(int fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;

    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return 0;
    if (sa.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&sa)->sin_port);
    if (sa.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
    return 0;
}

static void free_names(char **names)
{
    if (names == NULL)
        return;
    for (char **p = names; *p != NULL; p++)
        free(*p);
    free(names);
}

int main(void)
{
    char **names = NULL;
    struct pollfd polled[MAX_SOCKETS];
    char status[1024];
    size_t used = 0;
    int n, r;

    /* 1: drop LISTEN_* from our environment, so no child of ours mistakes them for its own. */
    n = sd_listen_fds_with_names(1, &names);
    if (n < 0) {
        fprintf(stderr, SD_ERR "sd_listen_fds_with_names: %s\n", strerror(-n));
        return 1;
    }
    if (n == 0) {
        fprintf(stderr, SD_ERR "no sockets were passed: start me from a .socket unit\n");
        return 1;
    }
    if (n > MAX_SOCKETS) {
        fprintf(stderr, SD_WARNING "%d sockets passed, serving the first %d\n", n, MAX_SOCKETS);
        n = MAX_SOCKETS;
    }

    status[0] = '\0';
    for (int i = 0; i < n; i++) {
        int fd = SD_LISTEN_FDS_START + i;
        unsigned port = 0;

        /* We accept() on every fd, so each must be a stream socket in the listening state
         * (a .socket unit with Accept=no and ListenStream=). */
        r = sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1);
        if (r <= 0) {
            fprintf(stderr, SD_ERR "fd %d (%s) is not a listening stream socket%s%s\n", fd,
                    names[i], r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
            free_names(names);
            return 1;
        }
        /* Port 0 means "any port": this only asks whether it is an IPv4/IPv6 socket. */
        if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) > 0)
            port = local_port(fd);

        r = port != 0 ? snprintf(status + used, sizeof status - used, "%s%s (tcp port %u)",
                                 i > 0 ? ", " : "", names[i], port)
                      : snprintf(status + used, sizeof status - used, "%s%s (stream)",
                                 i > 0 ? ", " : "", names[i]);
        if (r > 0 && (size_t)r < sizeof status - used)
            used += (size_t)r;

        polled[i].fd = fd;
        polled[i].events = POLLIN;
    }

    sd_notifyf(0, "READY=1\nSTATUS=serving %s", status);

    for (;;) {
        if (poll(polled, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            break;
        }
        for (int i = 0; i < n; i++) {
            char reply[300];
            int conn;

            if (!(polled[i].revents & POLLIN))
                continue;
            conn = accept(polled[i].fd, NULL, NULL);
            if (conn < 0)
                continue; /* the client may have given up already; keep serving */
            snprintf(reply, sizeof reply, "hello from %s\n", names[i]);
            send_all(conn, reply);
            close(conn);
        }
    }

    free_names(names);
    return 1;
}
