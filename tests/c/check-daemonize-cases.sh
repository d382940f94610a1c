#!/usr/bin/env bash
# shellcheck disable=SC2015  # ok and not_ok always succeed: `A && ok || not_ok` is if-then-else
# check-daemonize-cases.sh: readyd_daemonize() where real daemons broke it (issue 11), with
# tests/c/daemonize-cases.c built against build/ (run `make all` first):
#
#   prefork     a daemon that forks its workers before it is ready: the shell is released
#               at ready (and a failure or a crash reported when it happens) while a worker,
#               which inherited everything, provably still runs (it waits on a FIFO we hold).
#   stdio       started with standard fds closed (stdout; stdin+stdout; stdout+stderr; all
#               three): the parent returns 0, the daemon's fds 0-2 are /dev/null, a file it
#               opens never becomes its stdout, a warning on stderr is not read as a status.
#   stale       NOTIFY_SOCKET, READYD_NOTIFY_FD or UPSTART_JOB inherited from a supervisor the
#               daemon has left: readyd_ready() releases the parent (and returns 4, the
#               parent), the daemon is not stopped, and no longer sees the variable.
#
# No clock: a start that does not return within RUN_LIMIT seconds is killed and reported.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/readyd-daemonize-cases.XXXXXX")
# shellcheck source=tests/tap.sh
. "$repo/tests/tap.sh"
RUN_LIMIT=10

# Every process started here inherits this variable; whatever still runs with it is killed
# by pid on the way out (as in check-daemonize.sh).
export READYD_CHECK_DAEMONIZE_CASES=$work
# shellcheck disable=SC2317,SC2329  # called by the EXIT trap
cleanup() {
  local f pid
  for f in $(env -u READYD_CHECK_DAEMONIZE_CASES grep -lzxF "READYD_CHECK_DAEMONIZE_CASES=$work" /proc/[0-9]*/environ 2>/dev/null); do
    pid=${f#/proc/}; kill -KILL "${pid%/environ}" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

state_of() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }

lib=$repo/build/libreadyd.so.0
[ -e "$lib" ] || { not_ok "$lib is missing (make all)"; finish; }
prog=$work/daemonize-cases
if ! out=$(${CC:-cc} -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$repo/include" -o "$prog" \
     "$repo/tests/c/daemonize-cases.c" "$repo/build/libreadyd.so" -Wl,-rpath,"$repo/build" 2>&1); then
  not_ok "build tests/c/daemonize-cases.c"; printf '%s\n' "$out" | sed 's/^/#   /'; finish
fi
unset NOTIFY_SOCKET UPSTART_JOB UPSTART_INSTANCE READYD_NOTIFY_FD

# run D REDIRECTS... -- ENV...: starts `daemonize-cases MODE D` in directory D as a shell
# would, with the given redirections applied by a wrapper shell; D/rc gets the exit status
# (137 when it had to be killed after RUN_LIMIT s), D/stderr its stderr (when open).
run() {
  local d=$1 mode=$2 redirect=$3 pid; shift 3
  mkdir -p "$d"
  # shellcheck disable=SC2016
  env "$@" bash -c "exec $redirect \"\$0\" \"\$1\" \"\$2\"" "$prog" "$mode" "$d" </dev/null 2>"$d/stderr" &
  pid=$!
  until_true "$RUN_LIMIT" gone "$pid" || { echo "# $mode ($redirect) did not return within $RUN_LIMIT s"; kill -KILL "$pid"; }
  wait "$pid"
  echo $? > "$d/rc"
}
stop_daemon() {
  local pid
  pid=$(cat "$1/daemon.pid" 2>/dev/null) && [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && until_true 5 gone "$pid"
}
release_worker() {
  timeout 5 sh -c 'echo go > "$1"' sh "$1/release" 2>/dev/null
  local w
  w=$(cat "$1/worker.pid" 2>/dev/null) && [ -n "$w" ] && until_true 5 gone "$w"
}

# === prefork: workers forked before ready hold the status pipe =================================
echo "# --- a daemon that forks workers before it is ready"
for mode in prefork prefork-fail prefork-crash; do
  d=$work/$mode
  mkdir -p "$d"; mkfifo "$d/release"
  run "$d" "$mode" ""
  rc=$(cat "$d/rc") w=$(cat "$d/worker.pid" 2>/dev/null)
  case $mode in
    prefork) want_rc=0 want_err="" what="ready" ;;
    prefork-fail) want_rc=5 want_err="daemonize-cases: workers could not start: Input/output error" what="readyd_failed(EIO)" ;;
    prefork-crash) want_rc=1 want_err="daemonize-cases: the daemon (pid $(cat "$d/daemon.pid" 2>/dev/null)) exited before it was ready" what="a crash before ready" ;;
  esac
  expect "$mode: $what is reported by the parent (exit $want_rc)" "$rc" "$want_rc"
  expect "$mode: ... with the right words on stderr" "$(cat "$d/stderr")" "$want_err"
  [ -n "$w" ] && alive "$w" && ok "$mode: ... while the worker ($w), which inherited the pipe, still runs" ||
    not_ok "$mode: the parent returned only after the worker ('$w') was gone"
  release_worker "$d"
  stop_daemon "$d"
done

# === stdio: closed standard fds ===================================================================
echo "# --- started with standard fds closed"
i=0
for redirect in ">&-" "<&- >&-" ">&- 2>&-" "<&- >&- 2>&-"; do
  i=$((i + 1)); d=$work/stdio$i
  run "$d" stdio "$redirect"
  expect "'$redirect': the parent exits 0 at ready" "$(cat "$d/rc")" 0
  case $redirect in
    *"2>&-"*) ;;
    *) expect "'$redirect': the warning went to the terminal's stderr, nothing else" "$(cat "$d/stderr")" "warning: starting with defaults" ;;
  esac
  until_true 5 test -e "$d/report"
  expect "'$redirect': the daemon's fds 0-2 are /dev/null, its log file is not a standard fd" \
    "$(cat "$d/report" 2>/dev/null)" "ready 4 log-fd-is-standard 0 fds /dev/null /dev/null /dev/null"
  expect "'$redirect': the log file holds only what the daemon wrote to it" "$(cat "$d/log" 2>/dev/null)" "log line"
  stop_daemon "$d"
done

# === stale supervisor variables ===================================================================
echo "# --- supervisor variables inherited by a process that daemonizes"
i=0
for var in NOTIFY_SOCKET=/nonexistent/notify.sock NOTIFY_SOCKET=@readyd-no-such-socket READYD_NOTIFY_FD=9 UPSTART_JOB=stale; do
  i=$((i + 1)); d=$work/stale$i
  run "$d" ready "" "$var"
  expect "$var: the parent exits 0 at readyd_ready()" "$(cat "$d/rc")" 0
  until_true 5 test -e "$d/report"
  expect "$var: readyd_ready() told the parent (4) and the daemon no longer sees the variable" \
    "$(cat "$d/report" 2>/dev/null)" "ready 4 NOTIFY_SOCKET=(unset) UPSTART_JOB=(unset) READYD_NOTIFY_FD=(unset)"
  p=$(cat "$d/daemon.pid" 2>/dev/null)
  [ -n "$p" ] && alive "$p" && [ "$(state_of "$p")" != T ] && ok "$var: the daemon runs on (not stopped)" ||
    not_ok "$var: the daemon ('$p') is gone or stopped (state $(state_of "$p"))"
  stop_daemon "$d"
done
d=$work/stale-failed
run "$d" failed "" NOTIFY_SOCKET=/nonexistent/notify.sock
expect "stale NOTIFY_SOCKET, readyd_failed(EIO): the parent exits 5 with the message" \
  "$(cat "$d/rc"):$(cat "$d/stderr")" "5:daemonize-cases: cannot start: Input/output error"

finish
