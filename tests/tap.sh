# shellcheck shell=bash
# tests/tap.sh: the reporting every check script shares. Source it, report each check with
# ok/not_ok/expect (or skip), and end with `finish` (or call tap_summary from a finish of
# your own). The output is TAP: one "ok - ..." / "not ok - ..." line per check, a skipped
# check as "ok - WHAT # SKIP WHY", "# ..." comments, and the plan "1..N" at the end, N
# counting every check including the skipped ones. After the plan comes the plain closing
# line "N passed, M failed" (", K skipped" when any was), and `finish` exits non-zero when
# anything failed. `make check` (tests/run-checks.sh) adds up these lines over all targets.
passed=0 failed=0 skipped=0

ok()     { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

# expect DESCRIPTION SEEN WANTED: ok when equal; otherwise both are shown.
expect() {
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; echo "#   wanted: $3"; echo "#   seen:   $2"; fi
}

# skip WHAT WHY: a check that cannot run here, and why (say how to make it run).
skip() { skipped=$((skipped + 1)); echo "ok - $1 # SKIP $2"; }

# skip_tool WHAT WHY: a tool the check needs is missing: a skip, or, when
# READYD_REQUIRE_TOOLS=1 (CI, which installs every tool), a failure.
skip_tool() {
  if [ "${READYD_REQUIRE_TOOLS:-0}" = 1 ]; then not_ok "$1: $2 (READYD_REQUIRE_TOOLS=1)"; else skip "$1" "$2"; fi
}

# tap_summary: the plan, then the closing line.
tap_summary() {
  echo "1..$((passed + failed + skipped))"
  if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
  else
    echo "$passed passed, $failed failed"
  fi
}

# finish: the plan and the closing line, then exit: 0 only if nothing failed.
finish() {
  tap_summary
  [ "$failed" = 0 ]
  exit
}

# skip_peer WHY: a real peer (or what it needs) is missing. The whole script is one skip
# and exits 0, or, when READYD_REQUIRE_PEERS=1 (CI), a failure: then the script's own
# finish (if it has one) ends the run.
skip_peer() {
  if [ "${READYD_REQUIRE_PEERS:-}" = 1 ]; then
    not_ok "$1 (READYD_REQUIRE_PEERS=1, so this is a failure, not a skip)"
    finish
  fi
  skip "${0##*/}" "$1"
  finish
}

# Waiting without a timed assertion: a bound only keeps a broken run from hanging.
# until_true SECS CMD...: runs CMD every 50 ms until it succeeds; fails after SECS seconds.
until_true() {
  local end=$((${EPOCHREALTIME/./} + $1 * 1000000)); shift
  until "$@"; do
    [ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1
    sleep 0.05
  done
}
# alive PID: PID exists and is not a zombie (our own children stay zombies until waited for).
alive() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ]
}
gone() { ! alive "$1"; }
