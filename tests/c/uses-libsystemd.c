/*
 * A program built against the system's real libsystemd.so.0, the way an existing binary
 * was: it declares the prototypes itself (no headers needed) and is linked against the
 * libsystemd.so.0 file, so it records libsystemd's version nodes. check-c.sh then runs it
 * with readyd's compat directory first on LD_LIBRARY_PATH.
 *
 * It sends READY=1, reports the listen fds it was given, tells which libsystemd.so.0 and
 * whether liblzma are mapped into it, then waits for SIGTERM and exits 0. Built with
 * -DUSE_SD_BUS it also calls a libsystemd function readyd does not provide.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sd_notify(int unset_environment, const char *state);
int sd_listen_fds_with_names(int unset_environment, char ***names);
#ifdef USE_SD_BUS
int sd_bus_default(void **bus);
#endif

int main(void)
{
    sigset_t stop;
    int sig;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, NULL);

#ifdef USE_SD_BUS
    void *bus = NULL;
    printf("sd_bus_default = %d\n", sd_bus_default(&bus));
#endif
    char **names = NULL;
    printf("sd_listen_fds_with_names = %d\n", sd_listen_fds_with_names(1, &names));

    FILE *maps = fopen("/proc/self/maps", "r");
    char line[4096], systemd[4096] = "none";
    int lzma = 0;
    while (maps && fgets(line, sizeof line, maps)) {
        char *path = strchr(line, '/');
        if (!path)
            continue;
        path[strcspn(path, "\n")] = '\0';
        if (strstr(path, "/libsystemd.so.0"))
            snprintf(systemd, sizeof systemd, "%s", path);
        if (strstr(path, "/liblzma.so"))
            lzma = 1;
    }
    if (maps)
        fclose(maps);
    printf("maps: libsystemd.so.0 from %s\nmaps: liblzma %s\n", systemd, lzma ? "mapped" : "absent");
    fflush(stdout);

    if (sd_notify(0, "READY=1") != 1)
        return 1;
    return sigwait(&stop, &sig) == 0 ? 0 : 1;
}
