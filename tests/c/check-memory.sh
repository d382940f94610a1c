#!/usr/bin/env bash
# check-memory.sh: memory safety of the C side, beyond what check-c.sh runs.
#
#   1. The differential harness (tests/diff/harness.c) against build/libreadyd.so.0 under
#      valgrind memcheck, with an error exit code and the definite-leak check, in every
#      process it forks. A representative subset of its cases (VALGRIND_CASES below: every
#      function, every hostile-environment case, the fd-passing and large-message ones):
#      valgrind translates the code of each forked case afresh, about 0.1 s a case, so the
#      whole table would take 40 s. MEMCHECK_ALL=1 runs all of it but the cases valgrind
#      itself cannot run (pidfd_open, unknown to valgrind 3.19; an address-space limit, which
#      valgrind's own mappings exceed). Its results must be the plain build's, case for case.
#   2. The harness built with ASan and UBSan, every case, against build/libreadyd.so.0: no
#      report, and again the plain build's results.
#   3. Every c-examples/*.c and tests/c/supervise.c built with ASan and UBSan, each example
#      run under its supervisor until it is ready and stopped; then the examples check-c.sh
#      does not run under valgrind, under valgrind.
#
# Reports go to files (valgrind --log-file, ASAN_OPTIONS/UBSAN_OPTIONS log_path), one per
# process, so an error in a forked child, or in a daemon stopped by a signal, is seen as
# well as one that changes an exit status. Prints ok/not ok lines, then "N passed,
# M failed"; exits non-zero on any failure. Needs `make` first (build/libreadyd.so.0,
# build/supervise, build/readyd).
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/readyd-check-memory.XXXXXX")
trap 'rm -rf "$work"' EXIT
lib=$repo/build/libreadyd.so.0
CC=${CC:-cc}
STRICT=(-std=c11 -Wall -Wextra -Wpedantic -Werror)
SAN=("-fsanitize=address,undefined" -fno-sanitize-recover=all -fno-omit-frame-pointer)
# shellcheck source=tests/tap.sh
. "$repo/tests/tap.sh"
start=$(date +%s)

show()   { sed 's/^/#   /' | head -n "${2:-30}"; }

for f in "$lib" "$repo/build/supervise" "$repo/build/readyd"; do
  if [ ! -e "$f" ]; then
    not_ok "$f is missing: run make first"
    finish
  fi
done

# The valgrind subset of the harness's cases.
VALGRIND_CASES="
  L1 L3 L5a L6a L8 L9 L13 L16 L17 L25 L29 L30 L31
  N1 N2 N3 N5 N7 N8a N9a N10 N12 N19 N27 N30 N31
  W1 W2 W5 W6 W9a W10a W13a W14
  S1 S2 S3 S6a S8 S9 S10 S15 S16 S17 S18 S23 S24 S27 S28 S29 S32a S32b S33 S34d S39
  S45 S46 S49 S52a S52b S52c S52d
  S60 S60b S61 S62 S63 S64 S64b S65 S66 S67 S68 S69 S70 S70b S71 S71b S71c S72 S72b
  S74 S74b S75 S76 S77 S78 S78b S79 S79b S80 S80b S81 S82 S83 S84 S85
  S86 S86b S87 S88 S89 S90 S91
  V1a V2a V3a P1 P2a P3 P4 P7 B1 B2 B3 B4 B9 B12
  I1a I2 I4a I6b I9 I15a I18a I18e I20 I25a I28 I30 I33a I35a I39a T1b T2a T3a"

# valgrind_errors DIR: the error reports in DIR's logs (with -q, a log holds nothing else
# but "--pid-- WARNING" lines about syscalls valgrind does not know).
valgrind_errors() { cat "$1"/*.log 2>/dev/null | grep '^==[0-9]*== ' || true; }
VALGRIND="valgrind -q --vgdb=no --error-exitcode=99 --leak-check=full
  --errors-for-leak-kinds=definite --show-leak-kinds=definite --trace-children=yes
  --suppressions=$repo/tests/c/valgrind.supp"

# --- the harness: plain, then under valgrind (in the background), then ASan+UBSan ---------
h=$work/harness
if ! $CC "${STRICT[@]}" -O2 -g -o "$h" "$repo/tests/diff/harness.c" -ldl 2>"$work/cc.log" ||
   ! $CC "${STRICT[@]}" -O1 -g "${SAN[@]}" -o "$h-asan" "$repo/tests/diff/harness.c" -ldl \
       2>>"$work/cc.log"; then
  not_ok "the harness builds (plain and ASan+UBSan)"; show <"$work/cc.log"
  finish
fi
ok "the harness builds plain and with ASan+UBSan (${STRICT[*]} ${SAN[*]})"
"$h" "$lib" >"$work/plain.out" 2>&1
if [ "${MEMCHECK_ALL:-0}" = 1 ]; then
  VALGRIND_CASES=$(sed -n 's/^\([A-Z][0-9a-z]*\): .*/\1/p' "$work/plain.out" |
    grep -Ev '^(L1[89]|L2[01]|T3[b-d]|T4|S50|P6)')
fi
# shellcheck disable=SC2086 # the case list is meant to be split
"$h" "$lib" $VALGRIND_CASES >"$work/plain-subset.out" 2>&1

have_valgrind=0
if command -v valgrind >/dev/null; then
  have_valgrind=1
  mkdir "$work/vg-harness"
  # shellcheck disable=SC2086
  $VALGRIND --log-file="$work/vg-harness/%p.log" "$h" "$lib" $VALGRIND_CASES \
    >"$work/vg.out" 2>"$work/vg.err" &
  vg_pid=$!
else
  skip_tool "valgrind runs" "valgrind not installed (apt-get install valgrind)"
fi

mkdir "$work/asan"
asan_env=(ASAN_OPTIONS="log_path=$work/asan/report:allocator_may_return_null=1:detect_leaks=1"
          UBSAN_OPTIONS="log_path=$work/asan/report:print_stacktrace=1:halt_on_error=1")
env "${asan_env[@]}" "$h-asan" "$lib" >"$work/asan.out" 2>"$work/asan.err"; rc=$?
n=$(grep -c '^[A-Z][0-9]' "$work/plain.out")
if [ $rc -eq 0 ] && [ -z "$(ls -A "$work/asan")" ] && cmp -s "$work/plain.out" "$work/asan.out"; then
  ok "harness built with ASan+UBSan: all $n cases, no report, the same results as the plain build"
else
  not_ok "harness built with ASan+UBSan (exit $rc)"
  { cat "$work/asan.err"; cat "$work/asan"/* 2>/dev/null; diff "$work/plain.out" "$work/asan.out"; } | show
fi

# --- the examples and supervise, built with ASan+UBSan (and plain, for valgrind) -----------
examples=()
for f in "$repo"/c-examples/*.c; do examples+=("$(basename "$f" .c)"); done
mkdir "$work/bin" "$work/bin-asan"
# build OUT LOG CFLAGS... -- SOURCE [LDFLAGS...], in the background; `builds` keeps the jobs.
builds=()
build() {
  local out=$1 log=$2; shift 2
  $CC "${STRICT[@]}" -O1 -g "$@" -o "$out" >"$log" 2>&1 &
  builds+=("$!:$out:$log")
}
for ex in "${examples[@]}"; do
  link=(-I"$repo/include" "$repo/c-examples/$ex.c" -L"$repo/build" -lreadyd "-Wl,-rpath,$repo/build")
  build "$work/bin/$ex" "$work/cc-$ex.log" "${link[@]}"
  build "$work/bin-asan/$ex" "$work/cc-asan-$ex.log" "${SAN[@]}" "${link[@]}"
done
build "$work/bin-asan/supervise" "$work/cc-supervise.log" "${SAN[@]}" -D_GNU_SOURCE \
  "$repo/tests/c/supervise.c"
built=1
for b in "${builds[@]}"; do
  IFS=: read -r pid out log <<<"$b"
  if ! wait "$pid"; then
    not_ok "${out#"$work/"} builds"; show <"$log"; built=0
  fi
done
[ $built = 1 ] && ok "c-examples/*.c (${#examples[@]}) and tests/c/supervise.c build with ASan+UBSan"

# scenario EXAMPLE BINDIR SUPERVISE [WRAPPER...]: runs one example the way its supervisor
# would, until it is ready, then stops it; prints the supervisor's output, returns its
# status. Each example has its own socket paths, so that several can run at once.
scenario() {
  local ex=$1 bin=$2 sup=$3 sock; shift 3
  sock=$work/$ex-${bin##*/}.sock
  case $ex in
    upstart-ready) "$sup" upstart -- "$@" "$bin/$ex" ;;
    watchdog) WATCHDOG_USEC=200000 "$sup" notify "$sock" -- "$@" "$bin/$ex" ;;
    daemonize) "$sup" notify "$sock" -- "$@" "$bin/$ex" --delay 0 ;;
    socket-activated)
      rm -f "$sock.greet"
      "$repo/build/readyd" run --until ready --timeout 20 --listen "$sock.greet=greeting" \
        -- "$@" "$bin/$ex" ;;
    notify-fd) "$repo/build/readyd" run --until ready --timeout 20 --protocol fd -- "$@" "$bin/$ex" -d 3 ;;
    *) "$sup" notify "$sock" -- "$@" "$bin/$ex" ;;
  esac
}

for ex in "${examples[@]}"; do
  [ -x "$work/bin-asan/$ex" ] || continue
  rm -rf "$work/asan"; mkdir "$work/asan"
  out=$(export "${asan_env[@]}"; scenario "$ex" "$work/bin-asan" "$work/bin-asan/supervise" 2>&1); rc=$?
  if [ $rc -eq 0 ] && [ -z "$(ls -A "$work/asan")" ]; then
    ok "$ex (ASan+UBSan) under its supervisor (supervise built with ASan+UBSan, or readyd run): ready, stopped, no report"
  else
    not_ok "$ex (ASan+UBSan): exit $rc"
    { printf '%s\n' "$out"; cat "$work/asan"/* 2>/dev/null; } | show
  fi
done

# --- the examples under valgrind (at once), then the harness's valgrind run ----------------
if [ $have_valgrind = 1 ]; then
  # Those check-c.sh runs under valgrind already are left out.
  runs=()
  for ex in "${examples[@]}"; do
    case $ex in article-daemon|upstart-ready) continue ;; esac
    [ -x "$work/bin/$ex" ] || continue
    mkdir "$work/vg-$ex"
    # shellcheck disable=SC2086
    scenario "$ex" "$work/bin" "$repo/build/supervise" $VALGRIND --log-file="$work/vg-$ex/%p.log" \
      >"$work/vg-$ex.out" 2>&1 &
    runs+=("$!:$ex")
  done
  for run in "${runs[@]}"; do
    IFS=: read -r pid ex <<<"$run"
    wait "$pid"; rc=$?
    errors=$(valgrind_errors "$work/vg-$ex")
    if [ $rc -eq 0 ] && [ -z "$errors" ]; then
      ok "$ex under valgrind memcheck: ready, stopped, no error, no definite leak"
    else
      not_ok "$ex under valgrind memcheck: exit $rc"
      { cat "$work/vg-$ex.out"; printf '%s\n' "$errors"; } | show
    fi
  done

  wait "$vg_pid"; rc=$?
  errors=$(valgrind_errors "$work/vg-harness")
  m=$(grep -c '^[A-Z][0-9]' "$work/plain-subset.out")
  if [ $rc -eq 0 ] && [ -z "$errors" ] && cmp -s "$work/plain-subset.out" "$work/vg.out"; then
    ok "harness under valgrind memcheck (every forked case too): $m cases, no error, no definite leak, the same results"
  else
    not_ok "harness under valgrind memcheck: exit $rc (3: a case's process reported errors)"
    { cat "$work/vg.err"; printf '%s\n' "$errors"; diff "$work/plain-subset.out" "$work/vg.out"; } | show 60
  fi
fi

echo "# $(( $(date +%s) - start )) s"
finish
