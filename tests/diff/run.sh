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
# DIFF_AGAINST names the reference: 252 (the default: Debian 12's libsystemd, the plain
# lines of the list), 257 or newest (tests/diff/in-tree.sh runs this script inside a
# Debian trixie or sid tree against that release's libsystemd.so.0). Then the lines tagged
# "257:" or "newest:" list the accepted differences, each with the reference's own result,
# which must be what the reference prints; and against newest, every plain line's result
# (readyd's "newest" behaviour) must be what the newest libsystemd prints, unless a
# "newest:" line lists the case as a difference readyd keeps.
# HARNESS=PATH runs a harness built elsewhere instead of building one (a tree without a
# compiler).
# For other targets (tests/target/check-target.sh): CC builds the harness for the
# candidates and DIFF_RUNNER runs it (e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu");
# DIFF_REF_CC and DIFF_REF_RUNNER do the same for the reference (default: CC, DIFF_RUNNER);
# DIFF_EXPECTED replaces the list of expected differences.
set -u

usage() {
    echo "usage: $0 REFERENCE_LIB CANDIDATE_LIB..." >&2
    exit 2
}
[ $# -ge 2 ] || usage

here=$(cd "$(dirname "$0")" && pwd)
expected=${DIFF_EXPECTED:-$here/expected-differences.txt}
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

DIFF_AGAINST=${DIFF_AGAINST:-252}
case $DIFF_AGAINST in
    252 | 257 | newest) ;;
    *) echo "$0: DIFF_AGAINST must be 252, 257 or newest, not '$DIFF_AGAINST'" >&2; exit 2 ;;
esac

CC=${CC:-cc}
DIFF_REF_CC=${DIFF_REF_CC:-$CC}
DIFF_RUNNER=${DIFF_RUNNER:-}
DIFF_REF_RUNNER=${DIFF_REF_RUNNER:-$DIFF_RUNNER}
# HARNESS=PATH runs a harness built elsewhere instead of building one (a tree without a
# compiler). build_harness OUTPUT COMPILER: a compiler may come with flags (gcc -m32).
build_harness() {
    # shellcheck disable=SC2086
    if ! $2 -std=c11 -Wall -Wextra -Wpedantic -Werror -O2 -o "$1" "$here/harness.c" -ldl; then
        echo "not ok - the differential harness does not build with $2 (errors above)"
        echo "1..1"
        echo "0 passed, 1 failed"
        exit 1
    fi
}
if [ -n "${HARNESS:-}" ]; then
    cp "$HARNESS" "$work/harness" && cp "$HARNESS" "$work/ref-harness" || exit 1
else
    build_harness "$work/harness" "$CC"
    build_harness "$work/ref-harness" "$DIFF_REF_CC"
fi

# Runs the harness against one library into $2; says what went wrong if it did not finish.
# The rest of the arguments: the harness, after the command that runs it, if any.
run_harness() {
    lib=$1 out=$2
    shift 2
    if [ ! -e "$lib" ]; then
        echo "not ok - $lib: library not found (build it first: make, make compat)"
        return 1
    fi
    "$@" "$lib" >"$out" 2>"$out.err"
    rc=$?
    if [ $rc -ne 0 ] || ! tail -n 1 "$out" | grep -q '^# end: [0-9]* cases$'; then
        echo "not ok - $lib: the harness did not finish (exit $rc)"
        sed 's/^/#   /' "$out.err" | head -n 20
        return 1
    fi
    return 0
}

broken=0
# shellcheck disable=SC2086 # a runner is a command with its arguments
run_harness "$ref" "$work/ref.out" $DIFF_REF_RUNNER "$work/ref-harness" || broken=$((broken + 1))

outs=
names=
i=0
for cand in "$@"; do
    i=$((i + 1))
    # shellcheck disable=SC2086
    if run_harness "$cand" "$work/cand$i.out" $DIFF_RUNNER "$work/harness"; then
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
awk -v names="$names" -v broken="$broken" -v verbose="${DIFF_VERBOSE:-0}" \
    -v against="$DIFF_AGAINST" '
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
# file 1: the expected differences, "CASE | result | why" (against 252), or
# "TAG: CASE | readyd result | result of the reference | why" (TAG 257 or newest)
file == 1 {
    if ($0 ~ /^[ \t]*(#|$)/) next
    line = $0
    tag = "252"
    if (match(line, /^[ \t]*[0-9a-z]+:[ \t]/)) {
        tag = trim(substr(line, 1, RLENGTH - 1)); sub(/:$/, "", tag)
        line = substr(line, RLENGTH + 1)
    }
    p = index(line, " | ")
    if (!p) { bad_list[++nbad] = "malformed line: " $0; next }
    id = trim(substr(line, 1, p - 1))
    rest = substr(line, p + 3)
    lib = ""
    if (tag != "252") {
        q = index(rest, " | ")
        if (!q) { bad_list[++nbad] = "malformed line (no reference result): " $0; next }
        res = trim(substr(rest, 1, q - 1)); rest = substr(rest, q + 3)
        q = index(rest, " | ")
        if (q) { lib = trim(substr(rest, 1, q - 1)); why = trim(substr(rest, q + 3)) }
        else { lib = trim(rest); why = "" }
    } else {
        q = index(rest, " | ")
        if (q) { res = trim(substr(rest, 1, q - 1)); why = trim(substr(rest, q + 3)) }
        else { res = trim(rest); why = "" }
    }
    if ((tag, id) in listed) bad_list[++nbad] = "listed twice: " (tag == "252" ? "" : tag ": ") id
    listed[tag, id] = 1
    all_ids[id] = 1
    if (tag == "252" && against == "newest") { newest_res[id] = res; next }
    if (tag != against) next
    exp_res[id] = res
    exp_why[id] = why
    if (tag != "252") exp_lib[id] = lib
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
    passed = 0; failed = broken + 0; t = 0; skipped = 0
    for (b = 1; b <= nbad; b++) {
        printf "not ok - expected-differences.txt: %s\n", bad_list[b]; t++; failed++
    }
    for (id in all_ids) if (!(id in ref)) {
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
            g = glist[gi]; total = 0; bad = 0; diffs = 0; skips = 0; notes = ""; okn = ""
            for (n = 1; n <= ncase; n++) {
                id = order[n]
                if (group_of(id) != g) continue
                total++
                r = ref[id]
                c = ((k, id) in cand) ? cand[k, id] : "<no output for this case>"
                why = ""
                if (r ~ /^(SETUP-FAILED|TIMEOUT|CRASH|NO-OUTPUT)/) {
                    why = "the reference run itself failed: " r
                } else if (c ~ /^skipped/ && r ~ /^(skipped|absent)/) {
                    # this machine cannot run the case (RLIMIT_AS under qemu-user)
                    skips++
                } else if ((id in exp_lib) && r != exp_lib[id]) {
                    why = "the reference does not print the result listed for it"
                } else if ((id in newest_res) && !(id in exp_res) && r != newest_res[id]) {
                    why = "the newest libsystemd does not print the listed (newest) result"
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
                    if (id in exp_lib) notes = notes sprintf("#     listed reference: %s\n", exp_lib[id])
                    if ((id in newest_res) && !(id in exp_res))
                        notes = notes sprintf("#     listed newest: %s\n", newest_res[id])
                }
            }
            passed += total - bad - skips; failed += bad; skipped += skips
            label = (g in desc) ? desc[g] : g
            if (bad == 0) {
                printf "ok - %s: %s (%d cases%s%s)\n", cname[k], label, total, \
                    diffs ? sprintf(", %d accepted spec 13 difference%s", diffs, diffs > 1 ? "s" : "") : "", \
                    skips ? sprintf(", %d skipped on this machine", skips) : ""
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
    if (skipped) printf "# %d skipped on this machine (equal in every library)\n", skipped
    printf "%d passed, %d failed\n", passed, failed
    exit (failed > 0 ? 1 : 0)
}
' "$expected" "$work/ref.out" $outs
