#!/usr/bin/env bash
# check-systemd.sh BUILD_DIR
#
# Runs BUILD_DIR/article-daemon (linked with BUILD_DIR/libreadyd.so.0) as a
# Type=notify service under Debian 12's real systemd 252, booted as PID 1 of a
# throw-away systemd-nspawn container by ../shared/tools/systemd-peer, and
# checks that systemd took the daemon's READY=1 / STATUS= / MAINPID= message.
# In the same boot, lifecycle-checks.sh (sourced) runs the examples socket-activated
# (two .socket units, named fds), watchdog (WatchdogSec=, Result=watchdog) and fdstore
# (FileDescriptorStoreMax=, a memfd kept across a restart), and readiness-checks.sh runs
# ready-anywhere: readyd_ready() under Type=notify, a reload with readyd_reloading(), and a
# failed start with readyd_failed() (StatusErrno).
#
# Prints one `ok - ...` / `not ok - ...` line per check, then `N passed, M failed`.
# Exit 0 only if every check passed. Without root, systemd-nspawn or debootstrap
# it prints `ok - <script> # SKIP <why>` and exits 0, unless READYD_REQUIRE_PEERS=1 (then exit 1).
#
# The Debian tree is debootstrapped once into $PEER_DIR/rootfs (a few minutes)
# and reused; PEER_DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/systemd-peer.
# The container is always stopped on the way out.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
SYSTEMD_PEER=${SYSTEMD_PEER:-$repo/../shared/tools/systemd-peer}

# Settings read by the tool. STATE and SCRATCH are derived from NAME/PEER_DIR by
# the tool; drop any inherited values so they cannot point somewhere else.
export NAME=readyd
export PEER_DIR=${PEER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/systemd-peer}
export LOG_LEVEL=debug   # systemd only logs "Got notification message" at debug
unset STATE SCRATCH

UNIT=readyd-article.service
START_WAIT=20            # seconds to wait for the unit to become active
STOP_WAIT=20             # ... and inactive again

# shellcheck source=tests/tap.sh
. "$repo/tests/tap.sh"
booted=0

note()   { sed -u 's/^/# /'; }                    # tool chatter, as TAP comments
peer()   { "$SYSTEMD_PEER" "$@"; }
noted()  { peer "$@" 2>&1 | note; return "${PIPESTATUS[0]}"; }

# expect WHAT SEEN WANTED
expect() {
  if [ "$2" = "$3" ]; then ok "$1: $2"; else not_ok "$1: wanted '$3', saw '$2'"; fi
}

stop_container() {
  [ "$booted" = 1 ] || return 0
  booted=0
  noted stop
}

# Stops the container (if we booted it), prints the summary and exits.
finish() {
  stop_container
  tap_summary
  [ "$failed" = 0 ]
  exit
}


[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$1

[ "$(id -u)" = 0 ] || skip_peer "needs root (systemd-nspawn, cgroups, nsenter)"
command -v systemd-nspawn >/dev/null ||
  skip_peer "systemd-nspawn missing (apt-get install -y --no-install-recommends systemd-container)"
command -v debootstrap >/dev/null ||
  skip_peer "debootstrap missing (apt-get install -y --no-install-recommends debootstrap)"

# From here on, anything missing is a real failure.
[ -x "$SYSTEMD_PEER" ] || { not_ok "systemd-peer tool not found at $SYSTEMD_PEER (set SYSTEMD_PEER)"; finish; }
EXAMPLES="article-daemon socket-activated watchdog fdstore ready-anywhere"
for f in $EXAMPLES libreadyd.so.0; do
  [ -f "$build/$f" ] || { not_ok "$build/$f is missing"; finish; }
done

# Whatever happens from here (error, Ctrl-C), take the container down.
trap stop_container EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

if [ ! -e "$PEER_DIR/rootfs/usr/lib/systemd/systemd" ]; then
  echo "# first run: debootstrapping Debian 12 into $PEER_DIR/rootfs (a few minutes)"
fi
noted bootstrap || { not_ok "bootstrap of $PEER_DIR/rootfs failed"; finish; }

# A container of ours still running means a concurrent (or killed) run: do not
# touch it, say how to clear it.
if peer status >/dev/null 2>&1; then
  not_ok "container '$NAME' is already running; if no other run is active: NAME=$NAME PEER_DIR=$PEER_DIR $SYSTEMD_PEER stop"
  finish
fi

# The scratch folder is bound read-only at /opt/test when the container boots.
for f in $EXAMPLES libreadyd.so.0; do
  noted install-bin "$build/$f" "$f" ||
    { not_ok "copying $build/$f into the scratch folder failed"; finish; }
done

booted=1
if noted boot; then
  ok "container booted"
else
  not_ok "container did not boot"; finish
fi
peer exec systemctl --version | head -n 1 | sed 's/^/# inside: /'

noted unit "$UNIT" \
  Type=notify \
  NotifyAccess=main \
  Environment=LD_LIBRARY_PATH=/opt/test \
  ExecStart=/opt/test/article-daemon ||
  { not_ok "writing unit $UNIT failed"; finish; }

# --no-block: a daemon that never says READY=1 must not hang us for systemd's
# 90 s start timeout; wait-state bounds the wait instead.
peer ctl start --no-block "$UNIT" 2>&1 | note
state=$(peer wait-state "$UNIT" active "$START_WAIT")
echo "# after start: $state"

prop() { peer show "$UNIT" "$1" --value; }

expect "ActiveState" "$(prop ActiveState)" active
expect "SubState" "$(prop SubState)" running
expect "StatusText" "$(prop StatusText)" ready

main=$(prop MainPID)
exec_main=$(prop ExecMainPID)
if [ -n "$main" ] && [ "$main" != 0 ]; then
  ok "MainPID is set: $main"
else
  not_ok "MainPID is set: saw '$main'"
fi
# The daemon must not fork under NOTIFY_SOCKET: the pid systemd started is the
# one it reports as main.
expect "MainPID equals ExecMainPID ($exec_main)" "$main" "$exec_main"

# The main pid, seen from inside the container, is our program.
comm=$(peer exec cat "/proc/$main/comm" 2>/dev/null)
exe=$(peer exec readlink "/proc/$main/exe" 2>/dev/null)
if [ "$comm" = article-daemon ]; then
  ok "pid $main is article-daemon (exe $exe)"
else
  not_ok "pid $main is article-daemon: saw comm '$comm', exe '$exe'"
fi

# systemd 252 logs each accepted datagram at debug level as
#   <unit>: Got notification message from PID <pid> (READY=1, STATUS=..., ...)
# A datagram from another pid under NotifyAccess=main is logged differently
# ("... but reception only permitted for main PID ..."), so this line is the
# evidence that READY=1 came from the main pid, and that the MAINPID it named is
# that same pid. The journal may lag a little.
line=""
for _ in $(seq 1 50); do
  line=$(peer journal "$UNIT" -o cat 2>/dev/null |
    grep -F "Got notification message from PID $main (READY=1, STATUS=ready, MAINPID=$main)" | tail -n 1)
  [ -n "$line" ] && break
  sleep 0.1
done
if [ -n "$line" ]; then
  ok "journal: $line"
else
  not_ok "journal has no 'Got notification message from PID $main (READY=1, STATUS=ready, MAINPID=$main)'; its notification lines:"
  peer journal "$UNIT" -o cat 2>/dev/null | grep -F "notification" | note
fi

peer ctl stop --no-block "$UNIT" 2>&1 | note
state=$(peer wait-state "$UNIT" inactive "$STOP_WAIT")
echo "# after stop: $state"
expect "ActiveState after stop" "$(prop ActiveState)" inactive

if [ "$failed" != 0 ]; then
  echo "# last lines of the unit's journal:"
  peer journal "$UNIT" 2>/dev/null | tail -n 25 | note
fi

# shellcheck source=tests/systemd/lifecycle-checks.sh
. "$here/lifecycle-checks.sh"
check_socket_activation
check_watchdog
check_fdstore

# shellcheck source=tests/systemd/readiness-checks.sh
. "$here/readiness-checks.sh"
check_ready_reload
check_failed_start

finish
