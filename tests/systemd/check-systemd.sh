#!/usr/bin/env bash
# check-systemd.sh BUILD_DIR
#
# Runs the C examples (linked with BUILD_DIR/libreadyd.so.0) under real systemd, booted as
# PID 1 of a throw-away systemd-nspawn container by ../shared/tools/systemd-peer, once per
# Debian release: bookworm (systemd 252), trixie (257) and sid (the newest Debian has).
# Each version's `systemctl --version` line is printed, then every check of run_checks
# runs against it:
#   check_article            article-daemon as Type=notify: systemd took its READY=1 /
#                            STATUS= / MAINPID= message from the main pid;
#   lifecycle-checks.sh      socket activation (two .socket units, named fds; where the
#                            manager sets LISTEN_PIDFDID, readyd takes the fds with its own id
#                            and refuses them under another process's id), watchdog
#                            (WatchdogSec=, Result=watchdog), fd store (a memfd kept across a
#                            restart);
#   readiness-checks.sh      ready-anywhere: readyd_ready() under Type=notify, a reload with
#                            readyd_reloading() (MONOTONIC_USEC), a failed start with
#                            readyd_failed() (StatusErrno), and sd_notify_barrier() in a child
#                            (tests/systemd/barrier.c), and readyd_mainpid() naming a forked
#                            worker (tests/systemd/mainpid.c; both built here against the
#                            installed readyd).
#   notify-command-checks.sh `readyd notify --ready` from a shell script beside
#                            systemd-notify (NotifyAccess=main).
# A check added later is one more function called from run_checks, so it runs per version.
#
# Prints one `ok - ...` / `not ok - ...` line per check, then `N passed, M failed`.
# Exit 0 only if every check passed. Without root, systemd-nspawn or debootstrap
# it prints `ok - <script> # SKIP <why>` and exits 0, unless READYD_REQUIRE_PEERS=1 (then exit 1).
#
# Settings: SYSTEMD_SUITES (default "bookworm trixie sid"): the releases, in order;
# PEER_NAME (default readyd): container names are PEER_NAME-SUITE.
# Each Debian tree is debootstrapped once (a minute or two each) and reused: bookworm into
# $PEER_DIR/rootfs, the others into $PEER_DIR/rootfs-SUITE, each under a flock on
# $PEER_DIR/bootstrap-SUITE.lock; PEER_DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/systemd-peer.
# The containers run one at a time and each is stopped on the way out.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
SYSTEMD_PEER=${SYSTEMD_PEER:-$repo/../shared/tools/systemd-peer}

# Settings read by the tool. STATE and SCRATCH are derived from NAME/PEER_DIR by
# the tool; drop any inherited values so they cannot point somewhere else. NAME, ROOTFS
# and SUITE are set per release below.
SYSTEMD_SUITES=${SYSTEMD_SUITES:-bookworm trixie sid}
PEER_NAME=${PEER_NAME:-${NAME:-readyd}}
export NAME=$PEER_NAME
export PEER_DIR=${PEER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/systemd-peer}
export LOG_LEVEL=debug   # systemd only logs "Got notification message" at debug
unset STATE SCRATCH SUITE

UNIT=readyd-article.service
START_WAIT=20            # seconds to wait for the unit to become active
STOP_WAIT=20             # ... and inactive again

# shellcheck source=tests/tap.sh
. "$repo/tests/tap.sh"
# The same checks run once per release: each line names the release it is about.
ok()     { passed=$((passed + 1)); echo "ok - ${SUITE:+$SUITE: }$*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - ${SUITE:+$SUITE: }$*"; }
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
  [ $((passed + failed)) -gt 0 ] || not_ok "no check ran"
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
# The programs of the barrier and mainpid checks, built as the examples are: against the
# installed readyd.
for prog in barrier mainpid; do
  # shellcheck disable=SC2046 # pkg-config output is meant to be split
  if ! ${CC:-cc} -std=c11 -Wall -Wextra -Werror \
      $(PKG_CONFIG_PATH=$build/prefix/lib/pkgconfig pkg-config --cflags readyd) \
      -o "$build/$prog" "$here/$prog.c" \
      $(PKG_CONFIG_PATH=$build/prefix/lib/pkgconfig pkg-config --libs readyd); then
    not_ok "tests/systemd/$prog.c does not build against $build/prefix"; finish
  fi
  EXAMPLES="$EXAMPLES $prog"
done

# Whatever happens from here (error, Ctrl-C), take the container down.
trap stop_container EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The article's daemon as Type=notify: READY=1, STATUS=ready and MAINPID=<itself>.
check_article() {
  local state main exec_main comm exe line failed_before=$failed
  echo "# --- article-daemon: $UNIT (Type=notify)"
  noted unit "$UNIT" \
    Type=notify \
    NotifyAccess=main \
    Environment=LD_LIBRARY_PATH=/opt/test \
    ExecStart=/opt/test/article-daemon ||
    { not_ok "writing unit $UNIT failed"; return; }

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
  # (257 and later: "...from PID <pid>: READY=1, STATUS=..., ..."; see notify_text)
  # A datagram from another pid under NotifyAccess=main is logged differently
  # ("... but reception only permitted for main PID ..."), so this line is the
  # evidence that READY=1 came from the main pid, and that the MAINPID it named is
  # that same pid. The journal may lag a little.
  line=""
  for _ in $(seq 1 50); do
    line=$(peer journal "$UNIT" -o cat 2>/dev/null |
      grep -F "$(notify_text "$main" "READY=1, STATUS=ready, MAINPID=$main")" | tail -n 1)
    [ -n "$line" ] && break
    sleep 0.1
  done
  if [ -n "$line" ]; then
    ok "journal: $line"
  else
    not_ok "journal has no '$(notify_text "$main" "READY=1, STATUS=ready, MAINPID=$main")'; its notification lines:"
    peer journal "$UNIT" -o cat 2>/dev/null | grep -F "notification" | note
  fi

  peer ctl stop --no-block "$UNIT" 2>&1 | note
  state=$(peer wait-state "$UNIT" inactive "$STOP_WAIT")
  echo "# after stop: $state"
  expect "ActiveState after stop" "$(prop ActiveState)" inactive

  if [ "$failed" != "$failed_before" ]; then
    echo "# last lines of the unit's journal:"
    peer journal "$UNIT" 2>/dev/null | tail -n 25 | note
  fi
}

# shellcheck source=tests/systemd/lifecycle-checks.sh
. "$here/lifecycle-checks.sh"
# shellcheck source=tests/systemd/readiness-checks.sh
. "$here/readiness-checks.sh"
# shellcheck source=tests/systemd/notify-command-checks.sh
. "$here/notify-command-checks.sh"

# Every check, against the systemd booted now. A new check is one more line here.
run_checks() {
  check_article
  check_socket_activation
  check_listen_pidfdid
  check_watchdog
  check_fdstore
  check_ready_reload
  check_failed_start
  check_barrier
  check_mainpid
  check_notify_command
}

# tree_of SUITE: where that release's tree lives.
tree_of() {
  case $1 in
    bookworm) echo "$PEER_DIR/rootfs" ;;
    *) echo "$PEER_DIR/rootfs-$1" ;;
  esac
}

# One release: bootstrap its tree (once, under a lock another run may hold), boot it, print
# its version line, run the checks, stop it. SD_VERSION (the number, e.g. 257) is set for
# checks whose expectations differ between versions.
run_suite() {
  local suite=$1 t0 t1 t2 line
  export SUITE=$suite NAME=$PEER_NAME-$suite ROOTFS
  ROOTFS=$(tree_of "$suite")
  echo "# ====== $suite: $ROOTFS, container $NAME"
  t0=$(date +%s)
  if [ ! -e "$ROOTFS/usr/lib/systemd/systemd" ]; then
    echo "# first run: debootstrapping Debian $suite into $ROOTFS (a minute or two)"
  fi
  mkdir -p "$PEER_DIR"
  flock "$PEER_DIR/bootstrap-$suite.lock" "$SYSTEMD_PEER" bootstrap 2>&1 | tail -n 3 | note
  [ "${PIPESTATUS[0]}" = 0 ] || { not_ok "bootstrap of $ROOTFS failed"; return; }
  t1=$(date +%s)

  # A container of ours still running means a concurrent (or killed) run: do not
  # touch it, say how to clear it.
  if peer status >/dev/null 2>&1; then
    not_ok "container '$NAME' is already running; if no other run is active: NAME=$NAME ROOTFS=$ROOTFS PEER_DIR=$PEER_DIR $SYSTEMD_PEER stop"
    return
  fi

  # The scratch folder is bound read-only at /opt/test when the container boots.
  for f in $EXAMPLES libreadyd.so.0 "$here/foreign-listen.sh"; do
    case $f in /*) ;; *) f=$build/$f ;; esac
    noted install-bin "$f" "${f##*/}" ||
      { not_ok "copying $f into the scratch folder failed"; return; }
  done
  install_notify_command || return

  # systemd 258 and later refuse the legacy and hybrid cgroup layouts a host like this one
  # (systemd 252, hybrid) gives a container by default: the newer releases get the unified
  # hierarchy. 252 keeps what it has always been tested with.
  if [ "$suite" = bookworm ]; then
    unset SYSTEMD_NSPAWN_UNIFIED_HIERARCHY
  else
    export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
  fi
  booted=1
  if noted boot; then
    ok "container booted"
  else
    not_ok "container did not boot"; stop_container; return
  fi
  line=$(peer exec systemctl --version | head -n 1)
  echo "# $suite: $line"
  SD_VERSION=$(echo "$line" | sed -n 's/^systemd \([0-9]*\).*/\1/p')
  run_checks
  stop_container
  t2=$(date +%s)
  echo "# $suite: bootstrap $((t1 - t0)) s, boot and checks $((t2 - t1)) s"
}

for suite in $SYSTEMD_SUITES; do
  run_suite "$suite"
done
finish
