/* The printf-style notify functions. Stable Rust cannot define C variadic functions yet,
 * so these three live here: each formats its message into a 4 KiB stack buffer (the heap
 * is used only for longer messages) and hands the text to the Rust side, which does the
 * argument checks, the send and the unsetting exactly as sd_pid_notify_with_fds does. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "../include/readyd.h"

/* Implemented in src/ffi.rs; local to the shared library. */
int readyd__notify_formatted(pid_t pid, int unset_environment, const char *state,
                             const int *fds, size_t n_fds, int format_error);

enum { STACK_MESSAGE = 4096 };

static int vnotify(pid_t pid, int unset_environment, const int *fds, size_t n_fds,
                   const char *format, va_list ap)
{
    char stack[STACK_MESSAGE];
    char *heap = NULL;
    const char *state = NULL; /* stays NULL for a NULL format: -EINVAL */
    int failed = 0;

    if (format) {
        va_list again;
        va_copy(again, ap);
        int n = vsnprintf(stack, sizeof stack, format, ap);
        if (n < 0)
            failed = 1;
        else if ((size_t) n < sizeof stack)
            state = stack;
        else if ((heap = malloc((size_t) n + 1)) != NULL &&
                 vsnprintf(heap, (size_t) n + 1, format, again) == n)
            state = heap;
        else
            failed = 1;
        va_end(again);
    }
    int r = readyd__notify_formatted(pid, unset_environment, state, fds, n_fds, failed);
    free(heap);
    return r;
}

int sd_notifyf(int unset_environment, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int r = vnotify(0, unset_environment, NULL, 0, format, ap);
    va_end(ap);
    return r;
}

int sd_pid_notifyf(pid_t pid, int unset_environment, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int r = vnotify(pid, unset_environment, NULL, 0, format, ap);
    va_end(ap);
    return r;
}

int sd_pid_notifyf_with_fds(pid_t pid, int unset_environment, const int *fds, size_t n_fds,
                            const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int r = vnotify(pid, unset_environment, fds, n_fds, format, ap);
    va_end(ap);
    return r;
}
