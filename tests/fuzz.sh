#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (DESIGN.md, tests; issue: fuzzing).
#
#   tests/fuzz.sh                     every target for 25 s (CI)
#   tests/fuzz.sh -t 600 TARGET...    the named targets for ten minutes each
#   tests/fuzz.sh -t 600 --grow ...   and keep what they find: new inputs go into
#                                     fuzz/corpus/TARGET, which is then minimized
#                                     (cargo fuzz cmin, by edges: -use_counters=0, which
#                                     keeps it to a few hundred inputs) - the way the
#                                     committed corpus is made
#
# Targets: integers, notify_socket, listen_fdnames, diff_libsystemd (see fuzz/fuzz_targets/).
# Without --grow the committed corpus is only read: new inputs go to a scratch directory.
#
# Toolchain: cargo-fuzz needs nightly flags (-Zsanitizer, sancov passes); on the stable
# toolchain here they are unlocked with RUSTC_BOOTSTRAP=1, and AddressSanitizer works.
# FUZZ_SANITIZER=none builds without it (cargo fuzz run -s none), if ASan ever does not.
# Without cargo-fuzz the run prints SKIP (cargo install cargo-fuzz --locked --version
# 0.13.2), or fails with READYD_REQUIRE_FUZZ=1 (CI).
#
# Prints one ok / not ok line per target with its execs, coverage and corpus size, then
# "N passed, M failed". A target that finds a failing input leaves it in
# fuzz/artifacts/TARGET/ and the run prints how to reproduce it.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
export PATH="$HOME/.cargo/bin:$PATH"

seconds=25
grow=0
targets=()
while [ $# -gt 0 ]; do
    case $1 in
        -t) seconds=$2; shift 2 ;;
        --grow) grow=1; shift ;;
        -h|--help) sed -n '2,/^set -u$/{/^set -u$/d;p}' "$0"; exit 0 ;;
        -*) echo "tests/fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(integers notify_socket listen_fdnames diff_libsystemd)

if ! cargo fuzz --version >/dev/null 2>&1; then
    if [ "${READYD_REQUIRE_FUZZ:-0}" = 1 ]; then
        echo "not ok - cargo-fuzz is not installed: cargo install cargo-fuzz --locked --version 0.13.2"
        echo "0 passed, 1 failed"
        exit 1
    fi
    echo "SKIP: fuzzing: cargo-fuzz is not installed (cargo install cargo-fuzz --locked --version 0.13.2)"
    exit 0
fi

export RUSTC_BOOTSTRAP=1
sanitizer=${FUZZ_SANITIZER:-address}
# Per target: the longest input worth mutating.
max_len() {
    case $1 in
        integers) echo 128 ;;
        notify_socket|listen_fdnames) echo 256 ;;
        *) echo 1024 ;;
    esac
}

cd fuzz || exit 1
build_log=$(mktemp)
if ! cargo fuzz build -s "$sanitizer" >"$build_log" 2>&1; then
    sed 's/^/#   /' "$build_log" | tail -n 30
    echo "not ok - the fuzz targets do not build (cargo fuzz build -s $sanitizer)"
    echo "0 passed, 1 failed"
    rm -f "$build_log"
    exit 1
fi
rm -f "$build_log"

passed=0
failed=0
scratch=$(mktemp -d "${TMPDIR:-/tmp}/readyd-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
    if [ ! -f "fuzz_targets/$t.rs" ]; then
        echo "not ok - $t: no such fuzz target (fuzz/fuzz_targets/)"
        failed=$((failed + 1))
        continue
    fi
    if [ "$t" = diff_libsystemd ] &&
        ! { /sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null; } | grep -q 'libsystemd\.so\.0 '; then
        echo "ok - $t # SKIP libsystemd.so.0 is not installed (apt-get install libsystemd0)"
        passed=$((passed + 1))
        continue
    fi
    mkdir -p "corpus/$t"
    if [ $grow = 1 ]; then
        dirs=("corpus/$t")
    else
        mkdir -p "$scratch/$t"
        dirs=("$scratch/$t" "corpus/$t")
    fi
    dict=()
    [ -f "dict/$t.dict" ] && dict=("-dict=dict/$t.dict")
    log=$scratch/$t.log
    start=$(date +%s)
    cargo fuzz run -s "$sanitizer" "$t" "${dirs[@]}" -- \
        -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 \
        -print_final_stats=1 "${dict[@]}" >"$log" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    stats=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 |
        sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+)\/([0-9]+[a-zA-Z]*).*/cov \1, features \2, corpus \3 inputs (\4)/')
    if [ $rc -eq 0 ]; then
        echo "ok - $t: ${execs:-?} execs in ${took} s; ${stats:-no stats}"
        passed=$((passed + 1))
    else
        echo "not ok - $t: failed after ${took} s (exit $rc); ${stats:-no stats}"
        # The panic message (up to its backtrace), or the sanitizer's report.
        awk '/panicked at/ {p = 1} /stack backtrace:/ {p = 0} p' "$log" | head -n 20 | sed 's/^/#   /'
        grep -E -A8 "ERROR: (AddressSanitizer|LeakSanitizer)|ERROR: libFuzzer: (timeout|out-of-memory)" \
            "$log" | head -n 20 | sed 's/^/#   /'
        grep -E "^\s*cargo fuzz run .*artifacts" "$log" | head -n 1 | sed 's/^\s*/#   reproduce (in fuzz\/): RUSTC_BOOTSTRAP=1 /'
        failed=$((failed + 1))
    fi
    if [ $grow = 1 ] && [ $rc -eq 0 ]; then
        before=$(find "corpus/$t" -type f | wc -l)
        if cargo fuzz cmin -s "$sanitizer" "$t" "corpus/$t" -- -max_len="$(max_len "$t")" \
            -use_counters=0 >"$log.cmin" 2>&1; then
            echo "# $t: corpus minimized from $before to $(find "corpus/$t" -type f | wc -l) inputs"
        else
            echo "# $t: cargo fuzz cmin failed (the corpus is left as it was):"
            tail -n 5 "$log.cmin" | sed 's/^/#   /'
        fi
    fi
done
echo "${passed} passed, ${failed} failed"
[ $failed -eq 0 ]
