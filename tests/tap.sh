# shellcheck shell=bash
# tests/tap.sh: the reporting every check script shares. Source it, report each check with
# ok/not_ok/expect, and end with the line "N passed, M failed" (the plain closing line CI
# reads), exiting non-zero when anything failed.
passed=0 failed=0

ok()     { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

# expect DESCRIPTION SEEN WANTED: ok when equal; otherwise both are shown.
expect() {
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; echo "#   wanted: $3"; echo "#   seen:   $2"; fi
}

# skip_peer WHY: a real peer (or what it needs) is missing. A SKIP that exits 0, or, when
# READYD_REQUIRE_PEERS=1 (CI), a failure: then the script's own finish() ends the run.
skip_peer() {
  if [ "${READYD_REQUIRE_PEERS:-}" = 1 ]; then
    not_ok "$1 (READYD_REQUIRE_PEERS=1, so this is a failure, not a skip)"
    finish
  fi
  echo "SKIP: $1"
  exit 0
}
