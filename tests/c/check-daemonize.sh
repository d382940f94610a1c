#!/usr/bin/env bash
# shellcheck disable=SC2015  # ok and not_ok always succeed: `A && ok || not_ok` is if-then-else
# check-daemonize.sh [EXAMPLES_DIR]
#
# readyd_daemonize() and readyd_notify_fd() as a user meets them: the examples built through
# pkg-config against an installed readyd (tests/c/build-examples.sh into a scratch folder,
# or the programs already built in EXAMPLES_DIR), started from this plain shell.
#
#   daemonize       the parent returns only with the daemon's word; the PID file (always an
#                   absolute path here) holds the daemon's pid and stays locked while it
#                   runs; the daemon sits in a session of its own with no terminal, under
#                   init or a subreaper, in /, with /dev/null for fds 0 and 1 (and 2 once
#                   ready); a second start is refused while the first runs; a killed
#                   daemon leaves a stale, unlocked file and a new start succeeds;
#                   readyd_failed() and a crash before ready give the documented status and
#                   message; with READYD_DAEMONIZE_AUTO under a supervisor (NOTIFY_SOCKET,
#                   READYD_NOTIFY_FD, UPSTART_JOB) it does not fork.
#   ready-anywhere  the ordering, without a clock: its socket is bound just before
#                   readyd_ready(), and must be there (and answer) the moment the parent
#                   returns, run after run; a second instance is refused in plain words;
#                   its failed start is reported once, exactly.
#   notify-fd       readyd_notify_fd(): the exact bytes, one newline added (never two), the fd
#                   closed while the daemon lives on, EPIPE rather than death by SIGPIPE when
#                   the reader is gone, EBADF for an fd that is not open.
#
# Every wait is bounded (timeout(1) or a polling loop); nothing asserts on elapsed time.
# Daemons left by a failed check are killed by pid on the way out, found through a variable
# every process started here inherits (READYD_CHECK_DAEMONIZE). Prints `ok`/`not ok` lines, then
# `N passed, M failed`; exits non-zero on any failure. Needs util-linux's flock(1);
# python3, when present, also connects to the socket (its absence is a SKIP of that part,
# a failure with READYD_REQUIRE_TOOLS=1).
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/readyd-check-daemonize.XXXXXX")
# shellcheck source=tests/tap.sh
. "$repo/tests/tap.sh"
RUN_LIMIT=10   # seconds one start may take, start-up delay included

indent() { sed 's/^/#   /'; }

# Every process this script starts inherits this variable; on the way out, whatever still
# runs with it in its environment is ours and is killed by pid (a daemon that forked when
# it should not have, one stopped by a SIGSTOP nobody answers, one a PID file lost track of).
export READYD_CHECK_DAEMONIZE=$work
# ours: the pids of those processes.
ours() {
  local f
  # grep runs without the variable, so that it does not find itself. (This shell's own
  # /proc environ is the one it started with, without the variable.)
  for f in $(env -u READYD_CHECK_DAEMONIZE grep -lzxF "READYD_CHECK_DAEMONIZE=$work" /proc/[0-9]*/environ 2>/dev/null); do
    f=${f#/proc/}
    echo "${f%/environ}"
  done
}

# shellcheck disable=SC2317,SC2329  # called by the EXIT trap
cleanup() {
  local pid
  for pid in $(ours); do kill -KILL "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP


# stat_field PID N: field N of /proc/PID/stat counted after the command name
# (1 state, 2 ppid, 3 pgrp, 4 session, 5 tty_nr).
stat_field() {
  sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk -v n="$2" '{print $n}'
}

# is_ancestor PID: PID is this shell or one of its ancestors.
is_ancestor() {
  local p=$$
  while [ -n "$p" ] && [ "$p" != 0 ]; do
    [ "$p" = "$1" ] && return 0
    p=$(stat_field "$p" 2)
  done
  return 1
}

# start OUT PROGRAM ARGS...: one start from the shell, as a user types it. The original
# process's pid goes to OUT.starter, its stdout and stderr to OUT.stdout and OUT.stderr, its
# exit status to OUT.rc once it has exited; after RUN_LIMIT seconds it is killed (rc 137).
# Files, not a pipe: a daemon keeps the stderr it inherited until it is ready, so $(...)
# would wait for the daemon, not for the parent.
start() {
  local out=$1 pid; shift
  "$@" </dev/null >"$out.stdout" 2>"$out.stderr" &
  pid=$!
  echo "$pid" > "$out.starter"
  until_true "$RUN_LIMIT" gone "$pid" || { echo "# $1 did not return within $RUN_LIMIT s"; kill -KILL "$pid"; }
  wait "$pid"
  echo $? > "$out.rc"
}
rc_of() { cat "$1.rc"; }
stderr_of() { cat "$1.stderr"; }

# pidfile_pid FILE: the pid FILE holds, if FILE is exactly "<digits>\n".
pidfile_pid() {
  local content
  [ -f "$1" ] || return 1
  content=$(cat "$1"; printf .)
  case $content in
    *[!0-9]*$'\n'. | $'\n'.) return 1 ;;
    *$'\n'.) printf '%s' "${content%$'\n'.}" ;;
    *) return 1 ;;
  esac
}

# locked FILE: another process holds a lock on FILE (flock -n fails with our code 99).
locked() { flock -n -E 99 "$1" true; [ $? = 99 ]; }

# lock_holder FILE: the pid /proc/locks names for the flock on FILE's inode.
lock_holder() {
  local ino
  ino=$(stat -c %i "$1") || return 1
  awk -v ino="$ino" '$2 == "FLOCK" { n = split($6, d, ":"); if (d[n] == ino) print $5 }' /proc/locks | head -n 1
}

# --- the examples, built through pkg-config against an installed readyd ---------------------
if [ $# -ge 1 ]; then
  ex=$(cd "$1" && pwd)
else
  ex=$work/ex
  if ! out=$("$repo/tests/c/build-examples.sh" "$ex" 2>&1); then
    not_ok "install readyd and build the examples through pkg-config"; printf '%s\n' "$out" | indent
    finish
  fi
  ok "install readyd into a scratch prefix and build the examples through pkg-config (-std=c11 -Wall -Wextra -Wpedantic -Werror)"
fi
for f in daemonize ready-anywhere notify-fd; do
  [ -x "$ex/$f" ] || { not_ok "$ex/$f is missing"; finish; }
done
command -v flock >/dev/null || { not_ok "flock(1) missing (apt-get install util-linux)"; finish; }
sup=$repo/build/supervise
ulimit -c 0   # the --crash runs abort(): no core files
# The daemons must not take this shell's supervisor for theirs.
unset NOTIFY_SOCKET UPSTART_JOB UPSTART_INSTANCE READYD_NOTIFY_FD

# === 1. daemonize from a plain shell: ready ======================================================
pf=$work/daemonize.pid
echo "# --- daemonize --pidfile $pf"
start "$work/a" "$ex/daemonize" --pidfile "$pf" --delay 100
starter=$(cat "$work/a.starter")
expect "the parent exits 0 once the daemon is ready" "$(rc_of "$work/a")" 0
expect "the parent printed nothing" "$(cat "$work/a.stdout" "$work/a.stderr")" ""
# The parent has returned: the PID file must be complete already.
if d1=$(pidfile_pid "$pf"); then
  ok "the PID file exists when the parent returns and is exactly '<pid>\\n': $d1"
else
  not_ok "the PID file exists when the parent returns and is exactly '<pid>\\n'"
  printf '#   %s\n' "$(od -c "$pf" 2>&1 | head -n 3)"
  d1=""
fi

if [ -n "$d1" ] && alive "$d1"; then
  ok "the pid in the PID file ($d1) is alive"
  expect "pid $d1 is the daemonize example" "$(readlink "/proc/$d1/exe")" "$ex/daemonize"
  [ "$d1" != "$starter" ] && ok "the daemon ($d1) is not the process the shell started ($starter)" ||
    not_ok "the daemon is the process the shell started ($starter): it did not fork"
  # The double fork: a session of its own (setsid in the first child), led by that first child,
  # which has exited; the daemon is not the leader, so it can never acquire a terminal again.
  sid=$(stat_field "$d1" 4) pgrp=$(stat_field "$d1" 3) tty=$(stat_field "$d1" 5)
  [ "$sid" != "$(stat_field $$ 4)" ] && ok "the daemon is in a new session ($sid; ours is $(stat_field $$ 4))" ||
    not_ok "the daemon is still in our session $sid"
  [ "$sid" != "$d1" ] && gone "$sid" && ok "the daemon does not lead its session: the leader $sid (the first child) has exited (the second fork)" ||
    not_ok "the daemon's session $sid: wanted it led by the first child, which has exited"
  expect "the daemon's process group is its session's" "$pgrp" "$sid"
  expect "the daemon has no controlling terminal (tty_nr)" "$tty" 0
  ppid=$(stat_field "$d1" 2)
  if [ "$ppid" = 1 ] || { [ "$ppid" != "$$" ] && is_ancestor "$ppid"; }; then
    ok "the daemon's parent is init or a subreaper above us: $ppid ($(cat "/proc/$ppid/comm" 2>/dev/null))"
  else
    not_ok "the daemon's parent is init or a subreaper above us: saw $ppid ($(cat "/proc/$ppid/comm" 2>/dev/null))"
  fi
  expect "the daemon's working directory is /" "$(readlink "/proc/$d1/cwd")" /
  expect "the daemon's fds 0 and 1 are /dev/null" "$(readlink "/proc/$d1/fd/0") $(readlink "/proc/$d1/fd/1")" "/dev/null /dev/null"
  # fd 2 is switched just after the parent is released, so give it a moment (bounded).
  fd2_null() { [ "$(readlink "/proc/$1/fd/2")" = /dev/null ]; }
  until_true 5 fd2_null "$d1"
  expect "the daemon's fd 2 is /dev/null once it is ready" "$(readlink "/proc/$d1/fd/2")" /dev/null

  # The lock: flock(1) cannot take it, and /proc/locks names the daemon as its holder.
  locked "$pf" && ok "the PID file is locked while the daemon runs (flock -n fails)" ||
    not_ok "the PID file is locked while the daemon runs: flock -n took it"
  expect "/proc/locks: the flock on the PID file's inode is held by the daemon" "$(lock_holder "$pf")" "$d1"
  expect "no temporary file left beside the PID file" "$(compgen -G "$work/daemonize.pid?*")" ""

  # A second start with the same PID file, while the first runs.
  start "$work/b" "$ex/daemonize" --pidfile "$pf" --delay 100
  expect "a second start while the first runs exits 1" "$(rc_of "$work/b")" 1
  expect "... saying why on stderr" "$(stderr_of "$work/b")" "$ex/daemonize: cannot daemonize: Device or resource busy"
  expect "... and leaves the PID file alone" "$(pidfile_pid "$pf")" "$d1"
  alive "$d1" && ok "... and the first daemon runs on" || not_ok "the first daemon died"

  # Killed: the file stays behind, naming a dead pid, and nobody holds its lock.
  kill -KILL "$d1"
  if until_true 5 gone "$d1"; then ok "the daemon is gone after SIGKILL"; else not_ok "the daemon survived SIGKILL"; fi
  expect "the leftover PID file still names the dead daemon" "$(pidfile_pid "$pf")" "$d1"
  locked "$pf" && not_ok "the leftover PID file is still locked" ||
    ok "the leftover PID file is not locked: stale, and detectably so (flock -n takes it)"

  # A new start replaces it.
  start "$work/c" "$ex/daemonize" --pidfile "$pf" --delay 100
  d2=$(pidfile_pid "$pf")
  expect "a new start over the stale PID file exits 0" "$(rc_of "$work/c")" 0
  if [ -n "$d2" ] && [ "$d2" != "$d1" ] && alive "$d2"; then
    ok "the PID file now names the new daemon $d2"
  else
    not_ok "the PID file names the new daemon: saw '$d2' (old $d1)"
  fi
  locked "$pf" && ok "the new PID file is locked" || not_ok "the new PID file is not locked"
  expect "/proc/locks: held by the new daemon" "$(lock_holder "$pf")" "$d2"
  kill -TERM "$d2" 2>/dev/null
  until_true 5 gone "$d2" && ok "the new daemon exits on SIGTERM" || not_ok "the new daemon ignored SIGTERM"
else
  not_ok "the pid in the PID file is alive (saw '$d1')"
fi

# A symlink planted where the PID file goes is refused, and its target left alone.
echo untouched > "$work/target"
ln -s "$work/target" "$work/link.pid"
start "$work/s" "$ex/daemonize" --pidfile "$work/link.pid" --delay 100
expect "a PID file path that is a symlink: refused, exit 1" "$(rc_of "$work/s")" 1
expect "... with the reason on stderr" "$(stderr_of "$work/s")" "$ex/daemonize: cannot daemonize: Too many levels of symbolic links"
expect "... and its target is untouched" "$(cat "$work/target")" untouched
rm -f "$work/link.pid"

# === 2. the ordering: ready means ready when the parent returns ==================================
# ready-anywhere binds its socket after --delay of start-up work and right before
# readyd_ready(). A parent released any earlier would find no socket.
echo "# --- ready-anywhere: the socket is there the moment the parent returns"
can_connect=0
command -v python3 >/dev/null && can_connect=1
if [ "$can_connect" = 0 ]; then
  if [ "${READYD_REQUIRE_TOOLS:-0}" = 1 ]; then
    not_ok "python3 missing, so the socket's answer cannot be checked (READYD_REQUIRE_TOOLS=1)"
  else
    skip "the socket's answer (its existence is checked)" "python3 missing (apt-get install python3)"
  fi
fi
# greet PATH: the first line a connection to the UNIX socket PATH reads (5 s at most).
greet() {
  python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
print(s.makefile().readline().rstrip("\n"))
EOF
}
printf 'hello from the configuration\nsecond line\n' > "$work/ra.conf"
runs=5 good=0
for i in $(seq 1 $runs); do
  sock=$work/ra.sock rpf=$work/ready-anywhere.pid
  rm -f "$sock"
  start "$work/r$i" "$ex/ready-anywhere" --config "$work/ra.conf" --socket "$sock" --pidfile "$rpf" --delay 200
  # Checked at once, before anything else can happen.
  if [ -S "$sock" ]; then bound=1; else bound=0; fi
  pid=$(pidfile_pid "$rpf")
  answer=""
  [ "$bound" = 1 ] && [ "$can_connect" = 1 ] && answer=$(greet "$sock" 2>&1)
  why="rc $(rc_of "$work/r$i"), socket $([ "$bound" = 1 ] && echo bound || echo missing), pid '$pid'"
  [ "$can_connect" = 1 ] && why="$why, answer '$answer'"
  if [ "$(rc_of "$work/r$i")" = 0 ] && [ "$bound" = 1 ] && [ -n "$pid" ] &&
     { [ "$can_connect" = 0 ] || [ "$answer" = "hello from the configuration" ]; }; then
    good=$((good + 1))
  else
    echo "# run $i: $why"; indent < "$work/r$i.stderr"
  fi
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && until_true 5 gone "$pid"
done
expect "ready-anywhere: in each of $runs runs the parent returned 0 with the socket bound and answering" "$good" "$runs"
# A second instance with the same PID file: ready-anywhere turns -EBUSY into plain words.
rpf=$work/ready-anywhere.pid
start "$work/r-first" "$ex/ready-anywhere" --pidfile "$rpf"
pid=$(pidfile_pid "$rpf")
start "$work/r-second" "$ex/ready-anywhere" --pidfile "$rpf"
expect "ready-anywhere, a second instance: exit 1, and why" "$(rc_of "$work/r-second"):$(stderr_of "$work/r-second")" \
  "1:ready-anywhere: already running: the PID file $rpf is locked"
[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && until_true 5 gone "$pid"
expect "ready-anywhere removes its socket and PID file when stopped" "$(compgen -G "$work/ready-anywhere.pid*"; compgen -G "$work/ra.sock")" ""

# === 3. failures before ready ======================================================================
echo "# --- failures before ready"
pf=$work/fail.pid
start "$work/f" "$ex/daemonize" --pidfile "$pf" --fail --delay 100
expect "readyd_failed(EADDRINUSE, ...): the parent exits with the errno (98)" "$(rc_of "$work/f")" 98
expect "... and prints the daemon's message and the error on stderr" "$(stderr_of "$work/f")" \
  "daemonize: cannot listen on port 8080: Address already in use"
if fp=$(pidfile_pid "$pf"); then
  until_true 5 gone "$fp" && ok "... the daemon ($fp) has exited" || not_ok "... the failed daemon $fp still runs"
  locked "$pf" && not_ok "... its PID file is still locked" || ok "... its leftover PID file is not locked"
else
  not_ok "readyd_failed: the PID file was written before start-up began"
fi

pf=$work/crash.pid
start "$work/k" "$ex/daemonize" --pidfile "$pf" --crash --delay 100
cp_=$(pidfile_pid "$pf") || cp_="?"
expect "a crash before ready: the parent exits 1" "$(rc_of "$work/k")" 1
expect "... saying so, with the daemon's pid (the one in its PID file)" "$(stderr_of "$work/k")" \
  "daemonize: the daemon (pid $cp_) exited before it was ready"

start "$work/m" "$ex/ready-anywhere" --config "$work/missing.conf" --pidfile "$work/ra-fail.pid"
expect "ready-anywhere with a missing configuration: the parent exits with ENOENT (2)" "$(rc_of "$work/m")" 2
expect "... and the message is printed once, by the parent" "$(stderr_of "$work/m")" \
  "ready-anywhere: cannot read $work/missing.conf: No such file or directory"

# === 4. READYD_DAEMONIZE_AUTO under a supervisor: no fork ==========================================
echo "# --- READYD_DAEMONIZE_AUTO under a supervisor"
if [ -x "$sup" ]; then
  # Output to a file, not $(...): a daemon that forked by mistake would hold a pipe open.
  "$sup" notify "$work/notify.sock" -t 10 -- "$ex/daemonize" --pidfile "$work/auto.pid" --delay 50 >"$work/sup.out" 2>&1; rc=$?
  out=$(cat "$work/sup.out")
  pid=$(printf '%s\n' "$out" | sed -n 's/^notify: started pid \([0-9]*\) .*/\1/p')
  payload="READY=1\\nSTATUS=serving\\nMAINPID=$pid"
  expect "NOTIFY_SOCKET: the pid the supervisor started sends READY=1, STATUS=serving, MAINPID=<itself>, exact bytes" \
    "$(printf '%s\n' "$out" | grep '^notify: datagram')" \
    "notify: datagram from pid $pid: $(printf '%b' "$payload" | wc -c) bytes \"$payload\""
  expect "NOTIFY_SOCKET: it ran in the foreground and exited 0 on SIGTERM (supervise rc)" "$rc" 0
  [ "$rc" = 0 ] || printf '%s\n' "$out" | indent
  [ -e "$work/auto.pid" ] && not_ok "NOTIFY_SOCKET: a PID file was written" || ok "NOTIFY_SOCKET: no PID file written (nothing was daemonized)"

  "$sup" upstart -t 10 -- "$ex/daemonize" --delay 50 >"$work/sup.out" 2>&1; rc=$?
  out=$(cat "$work/sup.out")
  pid=$(printf '%s\n' "$out" | sed -n 's/^upstart: started pid \([0-9]*\) .*/\1/p')
  expect "UPSTART_JOB: the pid Upstart started stopped itself once and exited 0" \
    "$rc:$(printf '%s\n' "$out" | grep -c "^upstart: pid $pid stopped itself with signal 19")" "0:1"
  [ "$rc" = 0 ] || printf '%s\n' "$out" | indent
else
  not_ok "$sup is missing (make all builds it)"
fi

# READYD_NOTIFY_FD: the readiness line comes from the process we started, which lives on.
mkfifo "$work/fd.fifo"
READYD_NOTIFY_FD=3 "$ex/daemonize" --pidfile "$work/auto.pid" --delay 50 </dev/null 3>"$work/fd.fifo" 2>"$work/fd.stderr" &
pid=$!
got=$(timeout 10 cat "$work/fd.fifo"; printf .)
expect "READYD_NOTIFY_FD=3: exactly 'READY=1\\n' on fd 3, then end of file" "$(printf %q "${got%.}")" "$(printf %q $'READY=1\n')"
alive "$pid" && ok "READYD_NOTIFY_FD=3: the process we started ($pid) is the daemon, still running after ready (no fork)" ||
  not_ok "READYD_NOTIFY_FD=3: the process we started ($pid) is gone"
[ -e "/proc/$pid/fd/3" ] && not_ok "READYD_NOTIFY_FD=3: fd 3 is still open" || ok "READYD_NOTIFY_FD=3: fd 3 is closed after ready"
[ -e "$work/auto.pid" ] && not_ok "READYD_NOTIFY_FD=3: a PID file was written" || ok "READYD_NOTIFY_FD=3: no PID file written"
kill -TERM "$pid" 2>/dev/null
wait "$pid"; rc=$?
expect "READYD_NOTIFY_FD=3: exits 0 on SIGTERM" "$rc" 0

# === 5. readyd_notify_fd() ==========================================================================
echo "# --- readyd_notify_fd() (notify-fd -d 3)"
# notify_fd_run TEXT...: runs notify-fd -d 3 [--text TEXT] with fd 3 a FIFO we read to its
# end; sets got (the bytes, %q-quoted), alive_after (whether it still ran at end of file), rc.
notify_fd_run() {
  rm -f "$work/n.fifo"; mkfifo "$work/n.fifo"
  "$ex/notify-fd" -d 3 "$@" </dev/null 3>"$work/n.fifo" 2>"$work/n.stderr" &
  local pid=$!
  local raw
  raw=$(timeout 10 cat "$work/n.fifo"; printf .)
  got=$(printf %q "${raw%.}")
  if alive "$pid"; then alive_after=1; else alive_after=0; fi
  kill -TERM "$pid" 2>/dev/null
  wait "$pid"; rc=$?
}
notify_fd_run
expect "READY=1: a newline is added" "$got" "$(printf %q $'READY=1\n')"
expect "READY=1: end of file reached while the daemon still runs: the fd was closed" "$alive_after" 1
expect "READY=1: the daemon exits 0 on SIGTERM" "$rc" 0
notify_fd_run --text $'READY=1\n'
expect "'READY=1\\n': the newline is not doubled" "$got" "$(printf %q $'READY=1\n')"
notify_fd_run --text ""
expect "empty text: a lone newline (what s6 needs)" "$got" "$(printf %q $'\n')"

# The reader is gone: a FIFO opened read-write, then a write end, then the read-write end closed.
rm -f "$work/p.fifo"; mkfifo "$work/p.fifo"
exec {rw}<>"$work/p.fifo"
exec {w}>"$work/p.fifo"
exec {rw}<&-
timeout -k 2 "$RUN_LIMIT" "$ex/notify-fd" -d 3 </dev/null 3>&"$w" 2>"$work/p.stderr"; rc=$?
exec {w}>&-
expect "no reader: exits 1 (not 141, death by SIGPIPE)" "$rc" 1
expect "no reader: readyd_notify_fd() returned -EPIPE" "$(cat "$work/p.stderr")" "$ex/notify-fd: cannot notify on fd 3: Broken pipe"

timeout -k 2 "$RUN_LIMIT" "$ex/notify-fd" -d 7 </dev/null 7>&- 2>"$work/e.stderr"; rc=$?
expect "fd 7 not open: exits 1, readyd_notify_fd() returned -EBADF" "$rc:$(cat "$work/e.stderr")" \
  "1:$ex/notify-fd: cannot notify on fd 7: Bad file descriptor"

finish
