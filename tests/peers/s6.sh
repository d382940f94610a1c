#!/usr/bin/env bash
# shellcheck disable=SC2015  # ok and not_ok always succeed: `A && ok || not_ok` is if-then-else
# s6.sh [EXAMPLES_DIR]
#
# Real-peer check: Debian's own s6 (s6-svscan, s6-supervise) supervises the C examples,
# built through pkg-config against an installed readyd (tests/c/build-examples.sh into a
# scratch folder, or the programs already in EXAMPLES_DIR). s6 learns readiness from a
# line on the notification fd named by the service directory's notification-fd file, and
# exports nothing: the run script says which fd it is.
#
#   ready     notification-fd 3; the run script sets READYD_NOTIFY_FD=3 and execs
#             ready-anywhere, which calls readyd_daemonize(READYD_DAEMONIZE_AUTO) (no fork
#             under a supervisor) and then readyd_ready(). s6-svwait -U must succeed, with
#             the socket the daemon binds before ready already answering, and s6-svstat
#             must report the example's own pid up and ready, its fd 3 closed.
#   fd        notification-fd 3; the run script execs notify-fd -d 3 (readyd_notify_fd on
#             an fd given on the command line, the way s6's documentation has it).
#   failing   notification-fd 3, started once (s6-svc -o); ready-anywhere cannot read its
#             configuration and calls readyd_failed(): s6 must never report it ready
#             (s6-svlisten1 -U and s6-svwait -U time out), it ends down with exit code 1,
#             and its message is in its log, once.
#
# s6-svscan runs on a scratch scan directory and is always taken down on the way out
# (s6-svscanctl -t; then any process of ours still running, found by a variable in its
# environment, is killed by pid). Every wait is bounded.
#
# Prints `ok - ...` / `not ok - ...` lines, `# ...` notes, then `N passed, M failed`; exit 0
# only if every check passed. If s6 is not installed, it is installed when running as root
# (apt-get install -y --no-install-recommends s6); otherwise, or if that fails, it prints
# `ok - <script> # SKIP <why>` and exits 0, unless READYD_REQUIRE_PEERS=1 (then that is a failure).
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
WAIT_READY_MS=5000   # s6-svwait -U for a service that does become ready
WAIT_NEVER_MS=1500   # ... for one that must not
STOP_WAIT=5          # seconds for s6-svscan to go after s6-svscanctl -t

# shellcheck source=tests/tap.sh
. "$repo/tests/tap.sh"
scratch='' svscan='' t0=$(date +%s%N)

note()   { echo "# $*"; }
indent() { sed 's/^/#   /'; }
# expect WHAT SEEN WANTED
expect() {
  if [ "$2" = "$3" ]; then ok "$1: $2"; else not_ok "$1: wanted '$3', saw '$2'"; fi
}


# ours: the pids of the processes this script started, whatever became of them: s6-svscan,
# the s6-supervise processes, the run scripts and the daemons all inherit READYD_CHECK_S6
# (set below, once the scratch folder exists), even a daemon that forked by mistake.
ours() {
  local f
  [ -n "$scratch" ] || return 0
  # grep runs without the variable, so that it does not find itself. (This shell's own
  # /proc environ is the one it started with, without the variable.)
  for f in $(env -u READYD_CHECK_S6 grep -lzxF "READYD_CHECK_S6=$scratch" /proc/[0-9]*/environ 2>/dev/null); do
    f=${f#/proc/}
    echo "${f%/environ}"
  done
}

# shellcheck disable=SC2317,SC2329  # called through until_true
svscan_gone() { ! kill -0 "$svscan" 2>/dev/null; }
# shellcheck disable=SC2317,SC2329  # called through until_true
nothing_left() { [ -z "$(ours)" ]; }

# Takes s6 down: asks s6-svscan to stop everything, waits, then kills by pid whatever of
# ours is left. Runs on every exit.
# shellcheck disable=SC2317,SC2329  # called by the EXIT trap (through cleanup)
teardown() {
  local pid
  if [ -n "$svscan" ] && kill -0 "$svscan" 2>/dev/null; then
    s6-svscanctl -t "$scratch/scan" 2>/dev/null
    until_true "$STOP_WAIT" svscan_gone || kill -KILL "$svscan" 2>/dev/null
    wait "$svscan" 2>/dev/null
  fi
  svscan=''
  for pid in $(ours); do kill -KILL "$pid" 2>/dev/null; done
}
# shellcheck disable=SC2317,SC2329  # called by the EXIT trap
cleanup() {
  teardown
  [ -n "$scratch" ] && rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

finish() {
  local ms=$((($(date +%s%N) - t0) / 1000000))
  note "took $((ms / 1000)).$(printf %03d $((ms % 1000))) s"
  tap_summary
  [ "$failed" = 0 ]
  exit
}


# --- s6 itself --------------------------------------------------------------------

S6_TOOLS="s6-svscan s6-svscanctl s6-supervise s6-svok s6-svc s6-svwait s6-svlisten1 s6-svstat"
have_s6() { local t; for t in $S6_TOOLS; do command -v "$t" >/dev/null || return 1; done; }
if ! have_s6; then
  [ "$(id -u)" = 0 ] || skip_peer "s6 is not installed, and installing it needs root (apt-get install -y --no-install-recommends s6)"
  command -v apt-get >/dev/null || skip_peer "s6 is not installed and there is no apt-get"
  note "installing Debian's s6 (apt-get install -y --no-install-recommends s6)"
  log=$(mktemp)
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends s6 >"$log" 2>&1; then
    note "apt-get install failed; running apt-get update once"
    apt-get update -qq >>"$log" 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends s6 >>"$log" 2>&1
  fi
  have_s6 || { tail -n 5 "$log" | indent; rm -f "$log"; skip_peer "could not install s6 (no network or no Debian mirror?)"; }
  rm -f "$log"
fi
command -v timeout >/dev/null || skip_peer "timeout(1) missing"
note "s6: $(dpkg-query -W -f '${Package} ${Version}' s6 2>/dev/null || echo "version unknown") ($(command -v s6-svscan))"

# --- the examples -------------------------------------------------------------------

scratch=$(mktemp -d /tmp/readyd-s6.XXXXXX) || { not_ok "cannot create a scratch folder"; finish; }
export READYD_CHECK_S6=$scratch
if [ $# -ge 1 ]; then
  ex=$(cd "$1" && pwd)
else
  ex=$scratch/ex
  if ! out=$("$repo/tests/c/build-examples.sh" "$ex" 2>&1); then
    not_ok "install readyd and build the examples through pkg-config"; printf '%s\n' "$out" | indent
    finish
  fi
  ok "install readyd into a scratch prefix and build the examples through pkg-config"
fi
for f in ready-anywhere notify-fd; do
  [ -x "$ex/$f" ] || { not_ok "$ex/$f is missing"; finish; }
done

# --- the service directories ---------------------------------------------------------------

scan=$scratch/scan
# service NAME COMMAND-LINE: a service directory whose run script logs stderr to
# $scratch/NAME.log and execs COMMAND-LINE; s6 passes the notification pipe as fd 3.
service() {
  local dir=$scan/$1
  mkdir -p "$dir"
  echo 3 > "$dir/notification-fd"
  cat > "$dir/run" <<EOF
#!/bin/sh
# s6 opened the write end of its notification pipe as fd 3 (see notification-fd).
exec 2>>"$scratch/$1.log"
exec $2
EOF
  chmod +x "$dir/run"
  : > "$scratch/$1.log"
}
echo "hello from s6" > "$scratch/ready.conf"
# The variable tells readyd which fd s6 opened; AUTO then keeps the daemon in the foreground.
service ready "env READYD_NOTIFY_FD=3 $ex/ready-anywhere --config $scratch/ready.conf --socket $scratch/ready.sock --delay 300"
service fd "$ex/notify-fd -d 3"
service failing "env READYD_NOTIFY_FD=3 $ex/ready-anywhere --config $scratch/missing.conf --socket $scratch/failing.sock"
touch "$scan/failing/down"   # started by hand, once

s6-svscan "$scan" </dev/null >"$scratch/svscan.log" 2>&1 &
svscan=$!
# shellcheck disable=SC2317  # called through until_true
supervised() { s6-svok "$scan/ready" && s6-svok "$scan/fd" && s6-svok "$scan/failing"; }
if until_true 5 supervised; then
  ok "s6-svscan (pid $svscan) runs an s6-supervise for each of the 3 services"
else
  not_ok "s6-svscan did not start the supervisors within 5 s"; indent < "$scratch/svscan.log"; finish
fi

# --- 1. ready-anywhere: READYD_NOTIFY_FD=3, readyd_ready() ----------------------------------

W="ready (READYD_NOTIFY_FD=3, ready-anywhere)"
s6-svwait -U -t "$WAIT_READY_MS" "$scan/ready" 2>"$scratch/wait.err"; rc=$?
# First thing after s6 said ready: the socket must be there already.
if [ -S "$scratch/ready.sock" ]; then bound=1; else bound=0; fi
expect "$W: s6-svwait -U -t $WAIT_READY_MS (exit status)" "$rc" 0
[ "$rc" = 0 ] || indent < "$scratch/wait.err"
expect "$W: the socket was bound when s6 saw ready" "$bound" 1
if [ "$bound" = 1 ] && command -v python3 >/dev/null; then
  answer=$(python3 - "$scratch/ready.sock" <<'EOF' 2>&1
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
print(s.makefile().readline().rstrip("\n"))
EOF
  )
  expect "$W: the socket answers with the configured greeting" "$answer" "hello from s6"
fi
read -r up ready pid < <(s6-svstat -o up,ready,pid "$scan/ready")
expect "$W: s6-svstat -o up,ready" "$up $ready" "true true"
expect "$W: pid $pid, the one s6 reports, runs the example itself (no fork under AUTO)" \
  "$(readlink "/proc/$pid/exe" 2>/dev/null)" "$ex/ready-anywhere"
[ -e "/proc/$pid/fd/3" ] && not_ok "$W: the daemon (pid $pid) still holds fd 3" ||
  ok "$W: the daemon (pid $pid) closed fd 3 after the readiness line"
expect "$W: the daemon logged nothing" "$(cat "$scratch/ready.log")" ""

# --- 2. notify-fd -d 3: readyd_notify_fd() -------------------------------------------------

W="fd (notify-fd -d 3)"
s6-svwait -U -t "$WAIT_READY_MS" "$scan/fd" 2>"$scratch/wait.err"; rc=$?
expect "$W: s6-svwait -U -t $WAIT_READY_MS (exit status)" "$rc" 0
read -r up ready pid < <(s6-svstat -o up,ready,pid "$scan/fd")
expect "$W: s6-svstat -o up,ready" "$up $ready" "true true"
expect "$W: pid $pid, the one s6 reports, runs the example" "$(readlink "/proc/$pid/exe" 2>/dev/null)" "$ex/notify-fd"
[ -e "/proc/$pid/fd/3" ] && not_ok "$W: the daemon (pid $pid) still holds fd 3" ||
  ok "$W: the daemon (pid $pid) closed fd 3"
expect "$W: the daemon logged nothing" "$(cat "$scratch/fd.log")" ""

# --- 3. a start that fails: readyd_failed() ----------------------------------------------------

W="failing (readyd_failed before ready)"
# s6-svlisten1 subscribes to the service's events before it runs s6-svc -o, so a
# readiness that came and went could not slip by unseen.
s6-svlisten1 -U -t "$WAIT_NEVER_MS" "$scan/failing" s6-svc -o "$scan/failing" 2>"$scratch/wait.err"; rc=$?
expect "$W: s6-svlisten1 -U -t $WAIT_NEVER_MS around its one start times out (99)" "$rc" 99
s6-svwait -U -t "$WAIT_NEVER_MS" "$scan/failing" 2>"$scratch/wait.err"; rc=$?
expect "$W: s6-svwait -U -t $WAIT_NEVER_MS times out (99)" "$rc" 99
expect "$W: s6-svstat -o up,ready,exitcode" "$(s6-svstat -o up,ready,exitcode "$scan/failing")" "false false 1"
expect "$W: its log holds the reason, once" "$(cat "$scratch/failing.log")" \
  "ready-anywhere: cannot read $scratch/missing.conf: No such file or directory"

# --- teardown ------------------------------------------------------------------------------------

s6-svscanctl -t "$scan"
if until_true "$STOP_WAIT" svscan_gone; then
  wait "$svscan"
  ok "s6-svscanctl -t: s6-svscan exited"
  svscan=''
else
  not_ok "s6-svscanctl -t: s6-svscan still runs after $STOP_WAIT s"
fi
left=$(ours | tr '\n' ' ')
if [ -z "$left" ] || until_true "$STOP_WAIT" nothing_left; then
  ok "no supervisor or daemon of ours is left running"
else
  not_ok "still running after the teardown: $left"
fi

finish
