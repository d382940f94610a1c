#!/usr/bin/env bash
# make demo: the article's daemon, built against an installed readyd through pkg-config,
# run under a notify receiver (the systemd protocol, at a path and at an abstract socket)
# and under an Upstart emulation, each printing what it saw; then upstart_ready(); then
# the same daemons under `readyd run`, which prints a timeline of every protocol; and
# readyd_daemonize() started from a plain shell, returning only once its daemon is ready.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$repo/build/demo
sup=$repo/build/supervise
readyd=$repo/build/readyd
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

section() { printf '\n== %s\n' "$*"; }

"$repo/tests/c/build-examples.sh" "$out"
# daemonize.c is built by build-examples.sh; older copies of that script did not list it.
if [ ! -x "$out/daemonize" ]; then
  export PKG_CONFIG_PATH=$out/prefix/lib/pkgconfig
  # shellcheck disable=SC2046 # pkg-config output is meant to be split
  ${CC:-cc} -std=c11 -Wall -Wextra -Wpedantic -Werror -Wformat=2 $(pkg-config --cflags readyd) \
    -o "$out/daemonize" "$repo/c-examples/daemonize.c" $(pkg-config --libs readyd) \
    -Wl,-rpath,"$(pkg-config --variable=libdir readyd)"
fi

section "What the article's daemon loads, linked with readyd (ldd)"
ldd "$out/article-daemon"
if [ -e /usr/lib/x86_64-linux-gnu/libsystemd.so.0 ]; then
  section "...and what libsystemd.so.0 would have brought along (ldd)"
  ldd /usr/lib/x86_64-linux-gnu/libsystemd.so.0
fi

section "systemd's protocol: NOTIFY_SOCKET at a path"
"$sup" notify "$out/notify.sock" -- "$out/article-daemon"

section "systemd's protocol: NOTIFY_SOCKET at an abstract socket"
"$sup" notify "@readyd-demo-$$" -- "$out/article-daemon"

section "Upstart's expect stop: the article's raise(SIGSTOP)"
"$sup" upstart -- "$out/article-daemon"

section "Upstart's expect stop with upstart_ready(): one stop, and its worker does not stop"
"$sup" upstart -- "$out/upstart-ready"

# The daemons must not see a supervisor of this shell's own (CI may run under one).
unset NOTIFY_SOCKET UPSTART_JOB UPSTART_INSTANCE READYD_NOTIFY_FD

section "readyd run: the article's daemon under systemd's protocol (stopped once ready)"
"$readyd" run --until ready --timeout 10 -- "$out/article-daemon"

section "readyd run: the article's daemon under Upstart's expect stop"
"$readyd" run --protocol upstart --until ready --timeout 10 -- "$out/article-daemon"

section "readyd run: readyd_ready() on a notification fd, as under s6 or dinit"
"$readyd" run --protocol fd --until ready --timeout 10 -- "$out/daemonize" --delay 100

section "readyd run: readyd_daemonize() as a forking daemon with a PID file"
"$readyd" run --protocol forking --pidfile "$work/forking.pid" --until ready --timeout 10 \
  -- "$out/daemonize" --pidfile "$work/forking.pid" --delay 100

section "readyd_daemonize() from a plain shell: the command returns once its daemon is ready"
pidfile=$work/daemonize.pid
echo "\$ daemonize --pidfile $pidfile --delay 300    # 300 ms of start-up before readyd_ready()"
TIMEFORMAT='returned after %3R s (real time)'
start=$(date +%s%N)
time "$out/daemonize" --pidfile "$pidfile" --delay 300
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
pid=$(cat "$pidfile")
echo "exit status 0 after ${elapsed_ms} ms; PID file $pidfile holds $pid"
if [ "$elapsed_ms" -lt 300 ]; then
  echo "demo: daemonize returned before its daemon was ready" >&2
  exit 1
fi
ps -o pid,ppid,sid,stat,args -p "$pid"
kill "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
  echo "demo: pid $pid did not stop on SIGTERM" >&2
  exit 1
fi
echo "sent SIGTERM to $pid: it is gone"

section "readyd_daemonize() with a start-up failure: the shell gets the reason and a non-zero status"
echo "\$ daemonize --fail"
status=0
"$out/daemonize" --fail || status=$?
echo "exit status $status"
[ "$status" -ne 0 ]

printf '\nAll runs ended as they should.\n'
