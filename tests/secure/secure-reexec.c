/*
 * secure-reexec: a daemon that re-executes itself through a setuid copy, the way a
 * setuid-ish helper of a daemon does, and then says READY=1 through <systemd/sd-daemon.h>.
 *
 *   secure-reexec SETUID_COPY   prints what it sees, then execs SETUID_COPY (no arguments)
 *   secure-reexec               prints what it sees, then sd_notifyf(0, "READY=1\nSTATUS=...")
 *
 * "What it sees" is one line: AT_SECURE from the auxiliary vector, its real and effective
 * uid, the libsystemd the loader mapped into it (from /proc/self/maps), whether liblzma
 * came along, and LD_LIBRARY_PATH as the process has it (the loader removes it from the
 * environment of an AT_SECURE process). The STATUS= of READY=1 carries the same facts, so
 * the supervisor sees which library sent it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

/* The path of the first mapped file whose name holds `what`, or "none". */
static void mapped(const char *what, char *out, size_t size) {
  char line[1024];
  FILE *maps = fopen("/proc/self/maps", "re");
  snprintf(out, size, "none");
  if (maps == NULL)
    return;
  while (fgets(line, sizeof line, maps) != NULL) {
    char *path = strchr(line, '/');
    if (path != NULL && strstr(path, what) != NULL) {
      path[strcspn(path, "\n")] = '\0';
      snprintf(out, size, "%s", path);
      break;
    }
  }
  fclose(maps);
}

int main(int argc, char **argv) {
  char lib[512], lzma[512];
  const char *llp = getenv("LD_LIBRARY_PATH");
  unsigned long secure = getauxval(AT_SECURE);

  mapped("/libsystemd.so", lib, sizeof lib);
  mapped("/liblzma.so", lzma, sizeof lzma);
  printf("%s: AT_SECURE=%lu uid=%d euid=%d libsystemd=%s liblzma=%s LD_LIBRARY_PATH=%s\n",
         argc > 1 ? "before re-exec" : "after re-exec", secure, (int)getuid(), (int)geteuid(), lib,
         lzma, llp != NULL ? llp : "(unset)");
  fflush(stdout);
  if (argc > 1) {
    char *const args[] = {argv[1], NULL};
    execv(argv[1], args);
    perror("secure-reexec: execv");
    return 127;
  }
  if (sd_notifyf(0, "READY=1\nSTATUS=AT_SECURE=%lu euid=%d libsystemd=%s", secure, (int)geteuid(), lib) <= 0)
    return 1;
  pause(); /* until the supervisor stops it */
  return 0;
}
