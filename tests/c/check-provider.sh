#!/usr/bin/env bash
# check-provider.sh: provider mode (`make install-libsystemd`) in scratch prefixes, as a user
# of a system without libsystemd meets it.
#
#   1. the files: libsystemd.pc, <systemd/sd-daemon.h>, libsystemd.so.0 and libsystemd.so
#      (symlinks to the compat library), beside the normal install;
#   2. what unmodified builds ask for: pkg-config version checks (libsystemd >= 209,
#      > 216), a program built with a bare -lsystemd and the header found on the include
#      path (not readyd's own include dir), NEEDED libsystemd.so.0 resolving to readyd's,
#      READY=1 under `readyd run`; CMake's find_library(... systemd) and find_path;
#   3. files of another libsystemd are refused, left unchanged, and replaced with FORCE=1;
#   4. uninstall-libsystemd removes exactly what was installed, and leaves alone a file
#      another libsystemd put there afterwards.
# Prints ok/not ok lines, then `N passed, M failed`; exits non-zero on any failure.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/readyd-check-provider.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/tap.sh
. "$repo/tests/tap.sh"
unset MAKEFLAGS MAKELEVEL MFLAGS

indent() { sed 's/^/#   /'; }
check() {
  local what=$1; shift
  local out
  if out=$("$@" 2>&1); then ok "$what"; else not_ok "$what"; printf '%s\n' "$out" | indent; fi
}
mk() { make -s -C "$repo" "$@"; }
# every file and symlink under a root, relative, sorted
tree() { (cd "$1" && find . \( -type f -o -type l \) | sort); }

# --- 1. the files ---------------------------------------------------------------------------
p=$work/prefix
if ! out=$(mk install-libsystemd PREFIX="$p" 2>&1); then
  not_ok "make install-libsystemd PREFIX=$p"; printf '%s\n' "$out" | indent
  finish
fi
ok "make install-libsystemd PREFIX=<scratch>"
for f in lib/libreadyd.so.0 include/readyd/readyd.h lib/readyd/compat/libsystemd.so.0 \
         lib/pkgconfig/libsystemd.pc include/systemd/sd-daemon.h lib/libsystemd.so.0 lib/libsystemd.so; do
  [ -e "$p/$f" ] && ok "installed $f" || not_ok "installed $f"
done
expect "libsystemd.so.0 is a symlink to the compat library" "$(readlink "$p/lib/libsystemd.so.0")" \
  "readyd/compat/libsystemd.so.0"
expect "libsystemd.so is a symlink to the compat library" "$(readlink "$p/lib/libsystemd.so")" \
  "readyd/compat/libsystemd.so.0"
version=$(awk '/^LIBSYSTEMD_[0-9]+ \{/ {n = $1} /global:/ {v = n} END {sub("LIBSYSTEMD_", "", v); print v}' \
  "$repo/include/libsystemd.map")
expect "the newest sd-daemon node of libsystemd.map is 258 (sd_pidfd_get_inode_id)" "$version" "258"

# --- 2. what unmodified builds ask for ------------------------------------------------------
export PKG_CONFIG_PATH=$p/lib/pkgconfig
expect "pkg-config --modversion libsystemd" "$(pkg-config --modversion libsystemd)" "$version"
for req in 'libsystemd' 'libsystemd >= 209' 'libsystemd > 216' 'libsystemd >= 230'; do
  check "pkg-config --exists '$req'" pkg-config --exists "$req"
done
expect "pkg-config --libs libsystemd" "$(pkg-config --libs libsystemd | sed 's/ *$//')" "-L$p/lib -lsystemd"
expect "pkg-config --cflags libsystemd (the include dir itself, as libsystemd's)" \
  "$(pkg-config --cflags libsystemd | sed 's/ *$//')" "-I$p/include"

cat > "$work/ready.c" <<'EOF'
#include <stdio.h>
#include <systemd/sd-daemon.h>
int main(void) {
  if (sd_listen_fds(0) < 0) return 2;
  printf("booted=%d\n", sd_booted() > 0);
  return sd_notify(0, "READY=1\nSTATUS=built with -lsystemd") > 0 ? 0 : 1;
}
EOF
# The way projects that ignore the pkg-config CFLAGS build: the prefix is on the default
# search paths (here given with -I/-L, as /usr/local's are), and -lsystemd.
check "a program with <systemd/sd-daemon.h> and a bare -lsystemd builds (-Wall -Wextra -Werror)" \
  cc -std=c11 -Wall -Wextra -Werror -I"$p/include" -L"$p/lib" -o "$work/ready" "$work/ready.c" -lsystemd
headers=$(cc -std=c11 -I"$p/include" -M "$work/ready.c" 2>/dev/null | tr ' \\' '\n\n' | grep -E 'sd-daemon\.h|readyd\.h' |
  xargs -n 1 readlink -m | sort | tr '\n' ' ')
expect "it includes the provider's header and, through it, readyd.h" "$headers" \
  "$p/include/readyd/readyd.h $p/include/systemd/sd-daemon.h "
expect "NEEDED libsystemd.so.0" "$(readelf -d "$work/ready" | sed -n 's/.*(NEEDED).*\[\(libsystemd[^]]*\)\].*/\1/p')" \
  "libsystemd.so.0"
resolved=$(LD_LIBRARY_PATH=$p/lib ldd "$work/ready" | awk '$1 == "libsystemd.so.0" {print $3}')
expect "libsystemd.so.0 resolves to readyd's compat library" "$(readlink -f "$resolved")" \
  "$(readlink -f "$p/lib/readyd/compat/libsystemd.so.0")"
if out=$(LD_LIBRARY_PATH=$p/lib "$repo/build/readyd" run --until ready --timeout 10 -- "$work/ready" 2>&1) &&
   printf '%s\n' "$out" | grep -q 'READY=1 STATUS="built with -lsystemd"'; then
  ok "it says READY=1 under readyd run"
else
  not_ok "it says READY=1 under readyd run"; printf '%s\n' "$out" | indent
fi

if command -v cmake >/dev/null; then
  mkdir -p "$work/cm"
  cat > "$work/cm/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.13)
project(findlib C)
find_library(SYSTEMD_LIBRARY systemd REQUIRED)
find_path(SYSTEMD_INCLUDE_DIR systemd/sd-daemon.h REQUIRED)
message(STATUS "found: ${SYSTEMD_LIBRARY} ${SYSTEMD_INCLUDE_DIR}")
add_executable(ready ../ready.c)
target_include_directories(ready PRIVATE ${SYSTEMD_INCLUDE_DIR})
target_link_libraries(ready ${SYSTEMD_LIBRARY})
EOF
  # CMAKE_PREFIX_PATH stands in for /usr/local, which CMake searches by itself.
  if out=$(cd "$work/cm" && cmake -S . -B b -DCMAKE_PREFIX_PATH="$p" 2>&1 && cmake --build b 2>&1); then
    expect "CMake find_library(... systemd) and find_path find the provider's files" \
      "$(printf '%s\n' "$out" | sed -n 's/^-- found: //p')" "$p/lib/libsystemd.so $p/include"
    resolved=$(LD_LIBRARY_PATH=$p/lib ldd "$work/cm/b/ready" | awk '$1 == "libsystemd.so.0" {print $3}')
    expect "the CMake-built program resolves libsystemd.so.0 to readyd's" "$(readlink -f "$resolved")" \
      "$(readlink -f "$p/lib/readyd/compat/libsystemd.so.0")"
  else
    not_ok "CMake with find_library(... systemd)"; printf '%s\n' "$out" | indent
  fi
elif [ "${READYD_REQUIRE_TOOLS:-0}" = 1 ]; then
  not_ok "CMake find_library: cmake not found (READYD_REQUIRE_TOOLS=1)"
else
  echo "SKIP: CMake find_library: cmake not found"
fi
check "make install-libsystemd again over its own files" mk install-libsystemd PREFIX="$p"

# --- 3. another libsystemd's files ------------------------------------------------------------
r=$work/other
mkdir -p "$r/usr/lib/pkgconfig" "$r/usr/include/systemd"
printf 'Name: libsystemd\nDescription: the real one\nVersion: 252\nLibs: -lsystemd\n' > "$r/usr/lib/pkgconfig/libsystemd.pc"
printf '/* systemd'"'"'s own header */\n' > "$r/usr/include/systemd/sd-daemon.h"
cp "$repo/build/libreadyd.so.0" "$r/usr/lib/libsystemd.so.0.35.0"   # any real file
ln -s libsystemd.so.0.35.0 "$r/usr/lib/libsystemd.so.0"
before=$(cd "$r" && find . -type f -exec md5sum {} + | sort; find . -type l -printf '%p -> %l\n' | sort)
out=$(mk install-libsystemd PREFIX=/usr DESTDIR="$r" 2>&1); rc=$?
if [ "$rc" != 0 ] && printf '%s\n' "$out" | grep -q 'FORCE=1'; then
  ok "install-libsystemd over another libsystemd fails and names FORCE=1"
else
  not_ok "install-libsystemd over another libsystemd fails and names FORCE=1 (rc $rc)"; printf '%s\n' "$out" | indent
fi
for f in usr/lib/pkgconfig/libsystemd.pc usr/include/systemd/sd-daemon.h usr/lib/libsystemd.so.0; do
  printf '%s\n' "$out" | grep -q "$r/$f is not readyd's" && ok "refusal names $f" || not_ok "refusal names $f"
done
after=$(cd "$r" && find . -type f -exec md5sum {} + | sort; find . -type l -printf '%p -> %l\n' | sort)
expect "the other libsystemd's files are unchanged" "$(diff <(echo "$before") <(echo "$after") | grep -c '^[<>]')" "0"
check "FORCE=1 replaces them" mk install-libsystemd PREFIX=/usr DESTDIR="$r" FORCE=1
grep -q readyd-provider "$r/usr/lib/pkgconfig/libsystemd.pc" && ok "FORCE=1: libsystemd.pc is readyd's" ||
  not_ok "FORCE=1: libsystemd.pc is readyd's"
expect "FORCE=1: libsystemd.so.0 leads to the compat library" "$(readlink "$r/usr/lib/libsystemd.so.0")" \
  "readyd/compat/libsystemd.so.0"

# --- 4. uninstall -------------------------------------------------------------------------------
d=$work/dest
mk install-libsystemd PREFIX=/usr DESTDIR="$d" >/dev/null 2>&1
check "uninstall-libsystemd" mk uninstall-libsystemd PREFIX=/usr DESTDIR="$d"
expect "after uninstall-libsystemd no file or link is left" "$(tree "$d" | tr '\n' ' ')" ""
mk install-libsystemd PREFIX=/usr DESTDIR="$d" >/dev/null 2>&1
printf 'Name: libsystemd\nVersion: 252\n' > "$d/usr/lib/pkgconfig/libsystemd.pc"   # installed later by someone else
out=$(mk uninstall-libsystemd PREFIX=/usr DESTDIR="$d" 2>&1)
expect "uninstall-libsystemd leaves another libsystemd's libsystemd.pc, and only it" "$(tree "$d" | tr '\n' ' ')" \
  "./usr/lib/pkgconfig/libsystemd.pc "
printf '%s\n' "$out" | grep -q "leaving $d/usr/lib/pkgconfig/libsystemd.pc alone" &&
  ok "and says so" || { not_ok "and says so"; printf '%s\n' "$out" | indent; }

finish
