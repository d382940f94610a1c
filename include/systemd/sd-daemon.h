/*
 * readyd's drop-in for libsystemd's <systemd/sd-daemon.h>.
 *
 * Source written for libsystemd compiles unchanged against it: the same prototypes (they
 * come from readyd.h), SD_LISTEN_FDS_START and the SD_EMERG ... SD_DEBUG log prefixes.
 * It is installed as $(includedir)/readyd/systemd/sd-daemon.h, never over the system's
 * own, and found through `pkg-config --cflags readyd`.
 */
#ifndef foosddaemonhfoo
#define foosddaemonhfoo

#include <inttypes.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "../readyd.h"

/* The first fd a socket-activated service receives. */
#define SD_LISTEN_FDS_START 3

/* Log-level prefixes for lines a service writes to stderr under systemd, e.g.
 * fprintf(stderr, SD_WARNING "disk almost full\n"). */
#define SD_EMERG   "<0>"
#define SD_ALERT   "<1>"
#define SD_CRIT    "<2>"
#define SD_ERR     "<3>"
#define SD_WARNING "<4>"
#define SD_NOTICE  "<5>"
#define SD_INFO    "<6>"
#define SD_DEBUG   "<7>"

/*
 * sd_notify() with format arguments. Code in the wild (the article "PID tracking in modern
 * init systems" among it) calls sd_notify(0, "MAINPID=%lu", ...) as if it were printf-like.
 * In C, a call with more than two arguments is routed to sd_notifyf(), so such code builds
 * and sends what its author meant. A two-argument call is left alone, and so is every use
 * of the name that is not a call (&sd_notify is still the function). Not in C++, which
 * would rather see the error. Define READYD_NO_SD_NOTIFY_MACRO to opt out.
 */
#if !defined(__cplusplus) && !defined(READYD_NO_SD_NOTIFY_MACRO)
#define READYD_PP_CAT_(a, b) a##b
#define READYD_PP_CAT(a, b) READYD_PP_CAT_(a, b)
/* Expands to F for 3 to 64 arguments and to 2 for one or two (a one-argument call then
 * fails to compile, as it would without this macro). The trailing 0 keeps the variadic
 * part non-empty, as ISO C wants. */
#define READYD_PP_PICK_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, \
    _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32,   \
    _33, _34, _35, _36, _37, _38, _39, _40, _41, _42, _43, _44, _45, _46, _47, _48, _49,   \
    _50, _51, _52, _53, _54, _55, _56, _57, _58, _59, _60, _61, _62, _63, _64, which, ...) \
    which
#define READYD_PP_PICK(...)                                                               \
    READYD_PP_PICK_(__VA_ARGS__, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F,  \
        F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, \
        F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, 2, 2, 0)
#define READYD_SD_NOTIFY_2(...) sd_notify(__VA_ARGS__)
#define READYD_SD_NOTIFY_F(...) sd_notifyf(__VA_ARGS__)
#define sd_notify(...) READYD_PP_CAT(READYD_SD_NOTIFY_, READYD_PP_PICK(__VA_ARGS__))(__VA_ARGS__)
#endif

#endif /* foosddaemonhfoo */
