#!/bin/sh
# Fault injection (issue: fault injection): every readyd call, with each libc call it makes
# failing in turn, with each errno that call returns in practice.
#
#   tests/fault/run.sh [LIBRARY...]     default: build/libreadyd.so.0 and the compat
#                                       target/compat/libsystemd.so.0 (run `make` first)
#
# Builds tests/fault/shim.c (an LD_PRELOAD library that makes socket, sendmsg, pipe2, fcntl,
# ppoll, setsockopt, fstat, fork, write, writev and close fail on demand, whether they are
# called as libc functions or through syscall(2), as readyd makes them) and
# tests/fault/driver.c, then runs the driver under the shim against each library. The
# driver checks return values, fd leaks (/proc/self/fd), unset_environment, what reached
# the receiver, and crashes; it prints TAP and "N passed, M failed".
#
# Then the same driver again with --seccomp: the kernel fails the calls (a seccomp filter,
# SECCOMP_RET_ERRNO, in the thread that makes the API call: every call of one system call,
# with each errno in turn), so a library is tested whatever way it reaches the kernel; the
# shim, unarmed, only counts. The totals are of both runs.
#
# The shim also works on its own, on any program linked against readyd:
#   READYD_FAULT=sendmsg:EAGAIN LD_PRELOAD=.../fault-shim.so ./daemon
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -gt 0 ] || set -- "$root/build/libreadyd.so.0" "$root/target/compat/libsystemd.so.0"

work=$(mktemp -d "${TMPDIR:-/tmp}/readyd-fault-run.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

CC=${CC:-cc}
strict="-std=c11 -Wall -Wextra -Wpedantic -Werror -Wformat=2 -O2"
# shellcheck disable=SC2086 # $strict is a list of flags
if ! $CC $strict -shared -fPIC -o "$work/fault-shim.so" "$here/shim.c" -ldl ||
    ! $CC $strict -o "$work/driver" "$here/driver.c" -ldl -pthread; then
    echo "not ok - the fault-injection shim or driver does not build with $CC (errors above)"
    echo "0 passed, 1 failed"
    exit 1
fi

total_passed=0
total_failed=0
total_skipped=0
total_tests=0
for run in "$@" $(for l in "$@"; do echo "--seccomp=$l"; done); do
    mode=
    lib=$run
    case $run in --seccomp=*) mode=--seccomp lib=${run#--seccomp=} ;; esac
    if [ ! -e "$lib" ]; then
        echo "not ok - $lib: library not found (build it first: make)"
        total_failed=$((total_failed + 1))
        total_tests=$((total_tests + 1))
        continue
    fi
    # shellcheck disable=SC2086 # $mode is empty or one word
    LD_PRELOAD="$work/fault-shim.so" "$work/driver" $mode "$lib" >"$work/out" 2>"$work/err"
    rc=$?
    # Per library: everything but its own plan and summary lines.
    grep -v -E '^[0-9]+ passed, [0-9]+ failed|^1\.\.[0-9]+$' "$work/out"
    plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$work/out" | tail -n 1)
    total_tests=$((total_tests + ${plan:-0}))
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$work/out" | tail -n 1)
    if [ -z "$summary" ]; then
        echo "not ok - $lib: the driver did not finish (exit $rc)"
        sed 's/^/#   /' "$work/err" | head -n 20
        total_failed=$((total_failed + 1))
        total_tests=$((total_tests + 1))
        continue
    fi
    p=$(echo "$summary" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$summary" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    s=$(echo "$summary" | sed -n -E 's/.* ([0-9]+) skipped.*/\1/p')
    echo "# $lib${mode:+ ($mode)}: $summary"
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
    total_skipped=$((total_skipped + ${s:-0}))
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "not ok - $lib: the driver exited with status $rc"
        total_failed=$((total_failed + 1))
        total_tests=$((total_tests + 1))
    fi
done
echo "1..$total_tests"
if [ $total_skipped -gt 0 ]; then
    echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
else
    echo "$total_passed passed, $total_failed failed"
fi
[ $total_failed -eq 0 ]
