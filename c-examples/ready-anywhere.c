/*
 * ready-anywhere: a daemon that tells whoever started it when it is ready, whatever that
 * is, without a command-line switch per init system. readyd reads the environment the
 * supervisor left and speaks its protocol:
 *
 *   from a shell or an init script  readyd_daemonize() moves the daemon into the background;
 *                                   the command returns 0 only once it is ready, or fails
 *                                   with the reason on stderr. --pidfile names a PID file,
 *                                   locked for the daemon's life.
 *   systemd, Type=notify            it stays in the foreground (NOTIFY_SOCKET is set);
 *                                   READY=1, STATUS= and MAINPID= when ready; RELOADING=1
 *                                   then READY=1 around a reload on SIGHUP (from
 *                                   ExecReload=/bin/kill -HUP $MAINPID, or sent by systemd
 *                                   itself under Type=notify-reload, systemd 253 and later);
 *                                   STOPPING=1 on SIGTERM; STATUS= and ERRNO= when start-up
 *                                   fails, which systemd shows as StatusText and StatusErrno.
 *   s6 (notification-fd 3), dinit   the run script sets READYD_NOTIFY_FD=3 (dinit:
 *   (pipevar:READYD_NOTIFY_FD)      ready-notification = pipevar:READYD_NOTIFY_FD); a line
 *                                   goes to that fd when ready, nothing when start-up fails.
 *   Upstart (expect stop)           it stays in the foreground and stops itself once with
 *                                   SIGSTOP when ready.
 *
 *   ready-anywhere [--config PATH] [--socket PATH] [--pidfile PATH]
 *                  [--delay MS] [--reload-ms MS]
 *
 *   --config PATH   the configuration: its first line is the greeting (default "hello").
 *                   Read at start-up, where a missing file is a failed start, and again on
 *                   SIGHUP, where it is not (the old configuration stays).
 *   --socket PATH   a UNIX stream socket, bound and listening before ready is said; each
 *                   connection gets the greeting and a newline.
 *   --pidfile PATH  only when the daemon forks itself (no supervisor); removed at exit.
 *   --delay MS      simulated start-up work (default 0); --reload-ms MS the same for a
 *                   reload (default 0).
 *
 * SIGTERM or SIGINT stop it (exit 0). After a failed start the daemon exits 1; from a
 * shell, the command exits with the error's errno (2, ENOENT, for a missing configuration).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <readyd.h>

/* The program's name in messages: the same one readyd_daemonize()'s parent uses. */
static const char *prog = "ready-anywhere";

/* Set by the signal handlers; acted on in the main loop, never inside a handler. */
static volatile sig_atomic_t reload_requested, stop_requested;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        reload_requested = 1;
    else
        stop_requested = 1;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

/* The first line of PATH, without its newline, into greeting. 0 or an errno value. */
static int read_config(const char *path, char *greeting, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errno;
    if (!fgets(greeting, (int) size, f))
        greeting[0] = '\0';
    greeting[strcspn(greeting, "\n")] = '\0';
    fclose(f);
    return 0;
}

/* A listening UNIX stream socket at path, or -1 with errno set. */
static int listen_unix(const char *path)
{
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    /* A socket file left by an instance that was killed would make bind() fail. Only one
     * instance runs at a time (the supervisor, or the PID file lock, sees to that), so a
     * file found here is stale. */
    unlink(path);
    if (bind(fd, (struct sockaddr *) &addr, sizeof addr) != 0 || listen(fd, 16) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/*
 * Start-up failed: tell the supervisor (or the shell waiting in readyd_daemonize(), which
 * then prints "<prog>: <what>: <strerror(err)>" and exits with a non-zero status). Under
 * a supervisor nobody prints for us, so the message goes to our stderr (the journal, the
 * s6 log) as well.
 */
static int start_failed(int err, const char *what)
{
    if (readyd_failed(err, what) != READYD_PROTOCOL_DAEMONIZE)
        fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(err));
    return EXIT_FAILURE;
}

int main(int argc, char **argv)
{
    const char *config = NULL, *socket_path = NULL, *pidfile = NULL;
    long delay_ms = 0, reload_ms = 0;
    if (argc > 0 && argv[0][0]) {
        const char *slash = strrchr(argv[0], '/');
        prog = slash ? slash + 1 : argv[0];
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[++i];
        else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
            socket_path = argv[++i];
        else if (strcmp(argv[i], "--pidfile") == 0 && i + 1 < argc)
            pidfile = argv[++i];
        else if (strcmp(argv[i], "--delay") == 0 && i + 1 < argc)
            delay_ms = atol(argv[++i]);
        else if (strcmp(argv[i], "--reload-ms") == 0 && i + 1 < argc)
            reload_ms = atol(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s [--config PATH] [--socket PATH] [--pidfile PATH] "
                    "[--delay MS] [--reload-ms MS]\n",
                    prog);
            return 2;
        }
    }

    /* The signals we act on stay blocked except while the main loop waits in pselect():
     * one that arrives during start-up or a reload is handled afterwards, not lost. */
    sigset_t handled, waiting;
    sigemptyset(&handled);
    sigaddset(&handled, SIGHUP);
    sigaddset(&handled, SIGTERM);
    sigaddset(&handled, SIGINT);
    sigprocmask(SIG_BLOCK, &handled, &waiting);
    sigdelset(&waiting, SIGHUP);
    sigdelset(&waiting, SIGTERM);
    sigdelset(&waiting, SIGINT);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    /* First thing, before any thread or open resource: from a shell this forks, and only
     * the daemon comes back (1); under a supervisor it does nothing (0). Its stderr is
     * still the terminal's, so start-up errors can be seen. */
    int r = readyd_daemonize(READYD_DAEMONIZE_AUTO, pidfile);
    if (r == -EBUSY) {
        fprintf(stderr, "%s: already running: the PID file %s is locked\n", prog, pidfile);
        return EXIT_FAILURE;
    }
    if (r < 0) {
        fprintf(stderr, "%s: cannot go into the background: %s\n", prog, strerror(-r));
        return EXIT_FAILURE;
    }
    int own_pidfile = r == 1 && pidfile;

    /* Start-up: everything that can fail happens before ready is said. */
    char greeting[256] = "hello";
    char what[512];
    if (config) {
        int err = read_config(config, greeting, sizeof greeting);
        if (err) {
            snprintf(what, sizeof what, "cannot read %s", config);
            return start_failed(err, what);
        }
    }
    sleep_ms(delay_ms);
    int listener = -1;
    if (socket_path) {
        listener = listen_unix(socket_path);
        if (listener < 0) {
            snprintf(what, sizeof what, "cannot listen on %s", socket_path);
            return start_failed(errno, what);
        }
    }

    /* Ready: the socket accepts connections now. The shell that started us returns 0. */
    r = readyd_ready("serving");
    if (r < 0)
        fprintf(stderr, "%s: cannot report readiness: %s\n", prog, strerror(-r));

    while (!stop_requested) {
        fd_set readable;
        FD_ZERO(&readable);
        if (listener >= 0)
            FD_SET(listener, &readable);
        /* Sleeps with the handled signals unblocked, atomically: no wake-up is missed. */
        int n = pselect(listener + 1, &readable, NULL, NULL, NULL, &waiting);
        if (n > 0 && FD_ISSET(listener, &readable)) {
            int client = accept(listener, NULL, NULL);
            if (client >= 0) {
                char line[sizeof greeting + 1];
                int len = snprintf(line, sizeof line, "%s\n", greeting);
                if (send(client, line, (size_t) len, MSG_NOSIGNAL) < 0) {
                    /* the client went away: nothing to do */
                }
                close(client);
            }
        }
        if (reload_requested && !stop_requested) {
            reload_requested = 0;
            /* systemd shows the unit as "reloading" until the next READY=1. */
            readyd_reloading();
            char fresh[sizeof greeting] = "hello";
            int err = config ? read_config(config, fresh, sizeof fresh) : 0;
            sleep_ms(reload_ms);
            if (err == 0) {
                memcpy(greeting, fresh, sizeof greeting);
                readyd_ready("reloaded");
            } else {
                fprintf(stderr, "%s: reload: cannot read %s: %s; keeping the old configuration\n",
                        prog, config, strerror(err));
                readyd_ready("reload failed, still serving the old configuration");
            }
        }
    }

    readyd_stopping();
    if (socket_path)
        unlink(socket_path);
    /* The PID file is ours (we still hold its lock): nobody else can have replaced it. */
    if (own_pidfile)
        unlink(pidfile);
    return EXIT_SUCCESS;
}
