#!/usr/bin/env bash
# run-checks.sh TARGET...: what `make check` runs. Each make TARGET in turn, all of them even
# when one fails, with its output shown as it comes; then one line per target and, last,
# one line for the whole run:
#
#   total: N passed, M failed, K skipped
#
# What is counted, from the output itself (so a new check script is counted without
# registering anything, and so is cargo test):
#   - TAP test points: "ok ..." passed, "not ok ..." failed, "ok ... # SKIP why" skipped;
#   - a "SKIP: why" line: one skipped test (a test that printed no TAP line for it);
#   - cargo test's "test result: ... N passed; M failed; K ignored" lines; ignored tests
#     are skipped, and a Rust test that printed "SKIP: why" and returned counts as
#     skipped, not passed.
# A target that fails without any failing test in its output (a build error, clippy) counts
# as one failure. Each TAP section must carry its plan "1..N" (tests/tap.sh prints it last),
# N counting its test points: a missing or wrong plan is reported on a "# TAP:" line.
#
# Exit status: 0 only if no target failed and nothing failed.
set -u
make=${MAKE:-make}
[ $# -gt 0 ] || { echo "usage: $0 TARGET..." >&2; exit 2; }
counts=$(mktemp "${TMPDIR:-/tmp}/readyd-run-checks.XXXXXX")
trap 'rm -f "$counts"' EXIT

# Reads one target's output, echoes it line by line, writes "passed failed skipped" to
# the file $counts. A plan either closes the test points before it (tests/tap.sh's way) or,
# with none before it, announces the ones after it.
count='
function plan_check(n, want) {
  if (want != n) printf "# TAP: a plan of 1..%d, but %d test points\n", want, n
}
{ print; fflush() }
/^ok( |$)/ {
  if ($0 ~ /# *[Ss][Kk][Ii][Pp]/) skipped++; else passed++
  points++; next
}
/^not ok( |$)/ { failed++; points++; next }
/^SKIP: / { skipped++; rust_skips++; next }
/^1\.\.[0-9]+/ {
  n = substr($1, 4) + 0
  if (pending) { plan_check(points, announced); points = 0; pending = 0 }
  if (points > 0) { plan_check(points, n); points = 0 }
  else { announced = n; pending = 1 }
  next
}
/^test result: / {
  # "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; ..."
  p = $0; sub(/.*: (ok|FAILED)\. /, "", p)
  split(p, f, /; /)
  for (i in f) {
    split(f[i], w, " ")
    if (w[2] == "passed") passed += w[1] - rust_skips
    else if (w[2] == "failed") failed += w[1]
    else if (w[2] == "ignored") skipped += w[1]
  }
  rust_skips = 0
  next
}
END {
  if (pending) plan_check(points, announced)
  else if (points > 0) printf "# TAP: %d test points without a plan (end the script with tests/tap.sh'"'"'s finish)\n", points
  print passed + 0, failed + 0, skipped + 0 > counts
}'

total_p=0 total_f=0 total_s=0 status=0 lines=()
for target in "$@"; do
  echo "# make $target"
  # shellcheck disable=SC2086 # MAKE may carry options
  $make --no-print-directory "$target" 2>&1 | awk -v counts="$counts" "$count"
  rc=${PIPESTATUS[0]}
  read -r p f s <"$counts"
  if [ "$rc" != 0 ]; then
    status=1
    if [ "$f" = 0 ]; then
      f=1
      echo "# make $target failed (exit $rc) without a failing test above: counted as one failure"
    fi
  fi
  [ "$f" = 0 ] || status=1
  total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
  lines+=("# make $target: $p passed, $f failed, $s skipped")
done
printf '%s\n' "${lines[@]}"
echo "total: $total_p passed, $total_f failed, $total_s skipped"
exit $status
