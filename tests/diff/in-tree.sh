#!/bin/sh
# The differential test against a newer libsystemd than this machine's: Debian trixie's
# (257) and sid's (the newest Debian has).
#
#   tests/diff/in-tree.sh SUITE READYD_LIB COMPAT_LIB      SUITE: trixie or sid
#
# Runs tests/diff/run.sh inside a plain chroot of that release's debootstrapped tree (no
# systemd booted; the tree of tests/systemd/check-systemd.sh, $PEER_DIR/rootfs-SUITE,
# bootstrapped here under the same flock if it is missing) against the tree's own
# /usr/lib/<multiarch>/libsystemd.so.0, with DIFF_AGAINST=257 (trixie) or newest (sid).
# The harness is built here (the tree has no compiler; its glibc is newer than this one).
#
# The tree is never written: the chroot runs in a private mount namespace where a tmpfs on
# the tree's /mnt holds the harness, the scripts and the two libraries, a tmpfs covers its
# /tmp, and /proc and /dev are mounted; all of it goes away with the namespace.
# Needs root, unshare and chroot; prints "SKIP: ..." without them (a failure with
# READYD_REQUIRE_PEERS=1).
set -u
[ $# -eq 3 ] || { echo "usage: $0 trixie|sid READYD_LIB COMPAT_LIB" >&2; exit 2; }
suite=$1
case $suite in
    trixie) against=257 ;;
    sid) against=newest ;;
    *) echo "$0: SUITE must be trixie or sid" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
lib=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
compat=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
PEER_DIR=${PEER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/systemd-peer}
SYSTEMD_PEER=${SYSTEMD_PEER:-$root/../shared/tools/systemd-peer}
tree=$PEER_DIR/rootfs-$suite

skip() {
    if [ "${READYD_REQUIRE_PEERS:-}" = 1 ]; then
        echo "not ok - $1 (READYD_REQUIRE_PEERS=1, so this is a failure, not a skip)"
        echo "0 passed, 1 failed"
        exit 1
    fi
    echo "SKIP: $1"
    exit 0
}
[ "$(id -u)" = 0 ] || skip "the $suite differential needs root (chroot, mounts)"
command -v unshare >/dev/null || skip "unshare missing (util-linux)"

if [ ! -e "$tree/usr/lib/systemd/systemd" ]; then
    echo "# first run: debootstrapping Debian $suite into $tree (a minute or two)"
    mkdir -p "$PEER_DIR"
    command -v debootstrap >/dev/null ||
        skip "debootstrap missing (apt-get install -y --no-install-recommends debootstrap)"
    if ! SUITE=$suite ROOTFS=$tree flock "$PEER_DIR/bootstrap-$suite.lock" \
        "$SYSTEMD_PEER" bootstrap >/dev/null 2>&1; then
        echo "not ok - bootstrap of $tree failed"
        echo "0 passed, 1 failed"
        exit 1
    fi
fi
multiarch=$(${CC:-cc} -print-multiarch)
reference=/usr/lib/$multiarch/libsystemd.so.0
[ -e "$tree$reference" ] || { echo "not ok - $tree has no $reference"; echo "0 passed, 1 failed"; exit 1; }
version=$(awk '/^Package: libsystemd0$/ { p = 1 } p && /^Version: / { print $2; exit }' \
    "$tree/var/lib/dpkg/status")
echo "# reference: Debian $suite's libsystemd0 $version ($reference in $tree), DIFF_AGAINST=$against"

work=$(mktemp -d "${TMPDIR:-/tmp}/readyd-in-tree.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
if ! ${CC:-cc} -std=c11 -Wall -Wextra -Wpedantic -Werror -O2 -o "$work/harness" \
    "$here/harness.c" -ldl; then
    echo "not ok - the differential harness does not build (errors above)"
    echo "0 passed, 1 failed"
    exit 1
fi

# In the private namespace: the files under the tree's /mnt, then run.sh in the chroot.
# shellcheck disable=SC2016 # expanded by the inner shell
unshare --mount --propagation private sh -c '
    set -e
    tree=$1 work=$2 here=$3 lib=$4 compat=$5 against=$6 reference=$7
    # The tree becomes a mount point of its own: the harness makes "/" private in the
    # mount namespaces it creates (the sd_is_mq and sd_booted cases), which a chroot into
    # a plain folder refuses.
    mount --bind "$tree" "$tree"
    mount -t tmpfs -o mode=0755,size=64m readyd-diff "$tree/mnt"
    mount -t tmpfs -o mode=1777,size=64m readyd-diff-tmp "$tree/tmp"
    mount -t proc proc "$tree/proc"
    mount --rbind /dev "$tree/dev"
    mkdir "$tree/mnt/compat"
    cp "$work/harness" "$here/run.sh" "$here/expected-differences.txt" "$lib" "$tree/mnt/"
    cp "$compat" "$tree/mnt/compat/"
    exec chroot "$tree" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        DIFF_AGAINST="$against" HARNESS=/mnt/harness DIFF_VERBOSE="${DIFF_VERBOSE:-0}" \
        /bin/sh /mnt/run.sh "$reference" /mnt/"${lib##*/}" /mnt/compat/"${compat##*/}"
' sh "$tree" "$work" "$here" "$lib" "$compat" "$against" "$reference"
