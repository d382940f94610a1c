#!/usr/bin/env bash
# build-examples.sh OUTDIR
#
# Installs readyd into OUTDIR/prefix with `make install`, then builds the C examples the way
# a user would: through pkg-config against that installed tree, with strict warnings. The
# programs land in OUTDIR (rpath'd to the installed library), with a copy of
# libreadyd.so.0 beside them for places where that path does not exist (a container).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
prefix=$out/prefix
CC=${CC:-cc}
STRICT="-std=c11 -Wall -Wextra -Wpedantic -Werror -Wformat=2"

rm -rf "$prefix"
make -s -C "$repo" install PREFIX="$prefix" >/dev/null

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cflags=$(pkg-config --cflags readyd)
libs=$(pkg-config --libs readyd)
libdir=$(pkg-config --variable=libdir readyd)

for ex in article-daemon upstart-ready socket-activated watchdog fdstore daemonize ready-anywhere notify-fd; do
  # shellcheck disable=SC2086 # pkg-config output is meant to be split
  $CC $STRICT $cflags -o "$out/$ex" "$repo/c-examples/$ex.c" $libs -Wl,-rpath,"$libdir"
done
# The same daemon linked statically against libreadyd.a, with the .pc's Libs.private.
static_libs=$(pkg-config --libs --static readyd | sed 's/-lreadyd/-l:libreadyd.a/')
# shellcheck disable=SC2086
$CC $STRICT $cflags -o "$out/article-daemon-static" "$repo/c-examples/article-daemon.c" $static_libs
cp -L "$libdir/libreadyd.so.0" "$out/libreadyd.so.0"
