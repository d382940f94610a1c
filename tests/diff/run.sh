#!/bin/sh
# Differential test (DESIGN.md, "Tests, from fast to real", layer 4).
#
#   tests/diff/run.sh REFERENCE_LIB CANDIDATE_LIB...
#
# Builds tests/diff/harness.c, runs every case against the reference (the system's
# libsystemd.so.0) and against each candidate (build/libreadyd.so.0, the compat
# libsystemd.so.0), and compares the outputs case by case. A difference is accepted only
# where tests/diff/expected-differences.txt lists it (a 252-vs-newest change of the spec's
# §13) and only with exactly the result listed there; a listed difference that does not
# occur is a failure too. Prints TAP: one ok/not ok line per case group and candidate, the
# failing cases under it, then "N passed, M failed" counted per case and candidate.
# Exit status 0 only if nothing failed. DIFF_VERBOSE=1 also lists the accepted differences.
#
# If the reference library is missing the test is one SKIP ("ok - ... # SKIP why"), exit 0.
set -u

usage() {
    echo "usage: $0 REFERENCE_LIB CANDIDATE_LIB..." >&2
    exit 2
}
[ $# -ge 2 ] || usage

here=$(cd "$(dirname "$0")" && pwd)
expected=$here/expected-differences.txt
ref=$1
shift

if [ ! -e "$ref" ]; then
    echo "ok - differential test # SKIP reference library $ref not found" \
        "(it is the system's libsystemd.so.0: apt-get install libsystemd0)"
    echo "1..1"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/readyd-diff-run.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

CC=${CC:-cc}
if ! $CC -std=c11 -Wall -Wextra -Wpedantic -Werror -O2 -o "$work/harness" \
    "$here/harness.c" -ldl; then
    echo "not ok - the differential harness does not build with $CC (errors above)"
    echo "1..1"
    echo "0 passed, 1 failed"
    exit 1
fi

# Runs the harness against one library into $2; says what went wrong if it did not finish.
run_harness() {
    if [ ! -e "$1" ]; then
        echo "not ok - $1: library not found (build it first: make, make compat)"
        return 1
    fi
    "$work/harness" "$1" >"$2" 2>"$2.err"
    rc=$?
    if [ $rc -ne 0 ] || ! tail -n 1 "$2" | grep -q '^# end: [0-9]* cases$'; then
        echo "not ok - $1: the harness did not finish (exit $rc)"
        sed 's/^/#   /' "$2.err" | head -n 20
        return 1
    fi
    return 0
}

broken=0
run_harness "$ref" "$work/ref.out" || broken=$((broken + 1))

outs=
names=
i=0
for cand in "$@"; do
    i=$((i + 1))
    if run_harness "$cand" "$work/cand$i.out"; then
        outs="$outs $work/cand$i.out"
        names="$names$cand
"
    else
        broken=$((broken + 1))
    fi
done

if ! tail -n 1 "$work/ref.out" 2>/dev/null | grep -q '^# end: '; then
    echo "1..$broken"
    echo "0 passed, $broken failed"
    exit 1
fi

# shellcheck disable=SC2086 # $outs is a list of generated paths without spaces
awk -v names="$names" -v broken="$broken" -v verbose="${DIFF_VERBOSE:-0}" '
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function group_of(id) { return substr(id, 1, 1) }
BEGIN {
    ncand = names == "" ? 0 : split(names, cname, "\n") - 1
    desc["L"] = "sd_listen_fds"
    desc["N"] = "sd_listen_fds_with_names"
    desc["W"] = "sd_watchdog_enabled"
    desc["S"] = "the notify family"
    desc["V"] = "vsock forms of NOTIFY_SOCKET"
    desc["P"] = "sd_pid_notifyf_with_fds"
    desc["B"] = "sd_notify_barrier / sd_pid_notify_barrier"
    desc["I"] = "sd_is_fifo / _special / _socket* / _mq"
    desc["T"] = "sd_booted / sd_pidfd_get_inode_id"
}
FNR == 1 { file++ }
# file 1: the expected differences, "CASE | result | why"
file == 1 {
    if ($0 ~ /^[ \t]*(#|$)/) next
    line = $0
    p = index(line, " | ")
    if (!p) { bad_list[++nbad] = "malformed line: " line; next }
    id = trim(substr(line, 1, p - 1))
    rest = substr(line, p + 3)
    q = index(rest, " | ")
    if (q) { res = trim(substr(rest, 1, q - 1)); why = trim(substr(rest, q + 3)) }
    else { res = trim(rest); why = "" }
    if (id in exp_res) bad_list[++nbad] = "listed twice: " id
    exp_res[id] = res
    exp_why[id] = why
    next
}
# file 2: the reference output; files 3..: the candidates
/^#/ { next }
{
    p = index($0, ": ")
    if (!p) next
    id = substr($0, 1, p - 1)
    res = substr($0, p + 2)
    if (file == 2) {
        if (!(id in ref)) { order[++ncase] = id }
        ref[id] = res
    } else {
        k = file - 2
        cand[k, id] = res
        if (!((k, id) in seen)) { seen[k, id] = 1; corder[k, ++ccount[k]] = id }
    }
}
END {
    passed = 0; failed = broken + 0; t = 0
    for (b = 1; b <= nbad; b++) {
        printf "not ok - expected-differences.txt: %s\n", bad_list[b]; t++; failed++
    }
    for (id in exp_res) if (!(id in ref)) {
        printf "not ok - expected-differences.txt lists %s, which the harness does not have\n", id; t++
        failed++
    }
    for (k = 1; k <= ncand; k++) {
        # every group in the order the harness prints it
        ng = 0; delete gseen
        for (n = 1; n <= ncase; n++) {
            g = group_of(order[n])
            if (!(g in gseen)) { gseen[g] = 1; glist[++ng] = g }
        }
        for (gi = 1; gi <= ng; gi++) {
            g = glist[gi]; total = 0; bad = 0; diffs = 0; notes = ""; okn = ""
            for (n = 1; n <= ncase; n++) {
                id = order[n]
                if (group_of(id) != g) continue
                total++
                r = ref[id]
                c = ((k, id) in cand) ? cand[k, id] : "<no output for this case>"
                why = ""
                if (r ~ /^(SETUP-FAILED|TIMEOUT|CRASH|NO-OUTPUT)/) {
                    why = "the reference run itself failed: " r
                } else if (id in exp_res) {
                    if (r == c) {
                        if (r !~ /^skipped/)
                            why = "listed as a spec 13 difference, but the outputs are equal"
                    } else if (c != exp_res[id]) {
                        why = "differs from the reference, and not as listed"
                    } else {
                        diffs++
                        if (verbose) okn = okn sprintf("#   %s: accepted difference: %s\n", id, exp_why[id])
                    }
                } else if (r != c) {
                    why = "differs from the reference"
                }
                if (why != "") {
                    bad++
                    notes = notes sprintf("#   %s: %s\n#     reference: %s\n#     candidate: %s\n", id, why, r, c)
                    if (id in exp_res) notes = notes sprintf("#     listed:    %s\n", exp_res[id])
                }
            }
            passed += total - bad; failed += bad
            label = (g in desc) ? desc[g] : g
            if (bad == 0) {
                printf "ok - %s: %s (%d cases%s)\n", cname[k], label, total, \
                    diffs ? sprintf(", %d accepted spec 13 difference%s", diffs, diffs > 1 ? "s" : "") : ""
                printf "%s", okn; t++
            } else {
                printf "not ok - %s: %s: %d of %d cases fail\n%s", cname[k], label, bad, total, notes; t++
            }
        }
        for (n = 1; n <= ccount[k]; n++) if (!(corder[k, n] in ref)) {
            printf "not ok - %s: case %s is not in the reference output\n", cname[k], corder[k, n]; t++
            failed++
        }
    }
    printf "1..%d\n", t + broken
    printf "# %d cases per library; reference and %d candidate(s)\n", ncase, ncand
    printf "%d passed, %d failed\n", passed, failed
    exit (failed > 0 ? 1 : 0)
}
' "$expected" "$work/ref.out" $outs
