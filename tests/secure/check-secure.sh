#!/usr/bin/env bash
# check-secure.sh: the compat library and processes that run with AT_SECURE.
#
# A daemon whose helper re-executes itself through a setuid binary (squid's pinger, and
# other setuid-ish helpers) runs that helper with AT_SECURE=1: the loader then ignores
# LD_LIBRARY_PATH (and removes it from the environment). tests/secure/secure-reexec.c is
# such a daemon: it starts as an unprivileged user, re-executes a setuid-root copy of
# itself, and the copy says READY=1 through <systemd/sd-daemon.h>. Both run under
# `readyd run` started as nobody, in a private mount namespace, from a scratch root (a
# tmpfs that allows setuid):
#
#   1. LD_LIBRARY_PATH: the compat library reaches the first process, and not the
#      re-executed one, which gets whatever libsystemd.so.0 the default search path holds
#      (libsystemd0's here: with liblzma and the rest);
#   2. provider mode: `make install-libsystemd` (PREFIX=/usr/local, on an overlay so the
#      machine is untouched) and ldconfig (into a scratch cache bind-mounted over
#      /etc/ld.so.cache), as on a system without libsystemd: the re-executed process maps
#      readyd's compat library from the default search path, without liblzma, and its
#      READY=1 reaches the supervisor from the daemon's pid.
#
# Needs root (unshare, mount, setuid files) and setpriv; a missing one is a SKIP, or a
# failure with READYD_REQUIRE_PEERS=1. Prints ok/not ok lines and `N passed, M failed`.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=tests/tap.sh
. "$repo/tests/tap.sh"
indent() { sed 's/^/#   /'; }
NOBODY=65534

if [ "${1:-}" = --inside ]; then
  scratch=$2
  root=$scratch/root
  mkdir -p "$root"
  mount -t tmpfs -o mode=0755 tmpfs "$root" || { not_ok "a tmpfs for the scratch root"; finish; }
  mkdir -p "$root/bin" "$root/compat"
  if ! out=$(cc -std=c11 -Wall -Wextra -Werror -I"$repo/include" -o "$root/bin/secure-reexec" \
              "$here/secure-reexec.c" "$repo/target/compat/libsystemd.so.0" 2>&1); then
    not_ok "build tests/secure/secure-reexec.c"; printf '%s\n' "$out" | indent; finish
  fi
  cp "$root/bin/secure-reexec" "$root/bin/secure-reexec-setuid"
  chown 0:0 "$root/bin/secure-reexec-setuid" && chmod 4755 "$root/bin/secure-reexec-setuid"
  cp "$repo/build/readyd" "$root/bin/readyd"
  cp "$repo/target/compat/libsystemd.so.0" "$root/compat/"
  expect "secure-reexec NEEDs libsystemd.so.0" \
    "$(readelf -d "$root/bin/secure-reexec" | sed -n 's/.*(NEEDED).*\[\(libsystemd[^]]*\)\].*/\1/p')" "libsystemd.so.0"

  # run [ENV...]: readyd run as nobody, the daemon re-executing its setuid-root copy.
  run() {
    setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups -- env "$@" \
      "$root/bin/readyd" run --until ready --timeout 10 -- "$root/bin/secure-reexec" "$root/bin/secure-reexec-setuid" 2>&1
  }
  field() { printf '%s\n' "$1" | sed -n "s/^$2: \(.* \)\{0,1\}$3=\([^ ]*\).*/\2/p" | head -n 1; }

  # --- 1. LD_LIBRARY_PATH ---------------------------------------------------------------------
  out=$(run LD_LIBRARY_PATH="$root/compat")
  W="LD_LIBRARY_PATH=compat"
  expect "$W: before the re-exec, AT_SECURE=0 and the compat library is mapped" \
    "$(field "$out" "before re-exec" AT_SECURE) $(field "$out" "before re-exec" libsystemd)" "0 $root/compat/libsystemd.so.0"
  expect "$W: the re-executed setuid copy runs with AT_SECURE=1 (euid 0)" \
    "$(field "$out" "after re-exec" AT_SECURE) $(field "$out" "after re-exec" euid)" "1 0"
  lib=$(field "$out" "after re-exec" libsystemd)
  if [ -n "$lib" ] && [ "$lib" != "$root/compat/libsystemd.so.0" ]; then
    ok "$W: LD_LIBRARY_PATH does not reach it: it maps $lib (liblzma: $(field "$out" "after re-exec" liblzma))"
  else
    not_ok "$W: the re-executed copy should not map the compat library through LD_LIBRARY_PATH (saw: ${lib:-nothing})"
    printf '%s\n' "$out" | indent
  fi
  expect "$W: the loader removed LD_LIBRARY_PATH from its environment" \
    "$(field "$out" "after re-exec" LD_LIBRARY_PATH)" "(unset)"

  # --- 2. provider mode in the default search path ---------------------------------------------
  mkdir -p "$scratch/ov/upper" "$scratch/ov/work"
  if ! mount -t overlay overlay -o "lowerdir=/usr/local,upperdir=$scratch/ov/upper,workdir=$scratch/ov/work" /usr/local ||
     ! out=$(make -s -C "$repo" install-libsystemd 2>&1) ||
     ! ldconfig -X -C "$scratch/ld.so.cache" || ! mount --bind "$scratch/ld.so.cache" /etc/ld.so.cache; then
    not_ok "make install-libsystemd (PREFIX=/usr/local) and ldconfig"; printf '%s\n' "${out:-}" | indent; finish
  fi
  ok "make install-libsystemd (PREFIX=/usr/local, on an overlay) and ldconfig"
  provider=$(readlink -f /usr/local/lib/libsystemd.so.0)
  out=$(run)
  rc=$?
  W="provider mode"
  expect "$W: before the re-exec, the provider's library from the default search path" \
    "$(field "$out" "before re-exec" AT_SECURE) $(field "$out" "before re-exec" libsystemd)" "0 $provider"
  expect "$W: the re-executed setuid copy (AT_SECURE=1, euid 0) maps it too, and no liblzma" \
    "$(field "$out" "after re-exec" AT_SECURE) $(field "$out" "after re-exec" euid) $(field "$out" "after re-exec" libsystemd) $(field "$out" "after re-exec" liblzma)" \
    "1 0 $provider none"
  pid=$(printf '%s\n' "$out" | sed -n 's/.*pid \([0-9]*\)  started: .*/\1/p' | head -n 1)
  if [ "$rc" = 0 ] && [ -n "$pid" ] &&
     printf '%s\n' "$out" | grep -qF "pid $pid  READY=1 STATUS=\"AT_SECURE=1 euid=0 libsystemd=$provider\"" &&
     printf '%s\n' "$out" | grep -q "^ready after .* with MAINPID $pid$"; then
    ok "$W: READY=1 from the AT_SECURE process (pid $pid) reaches readyd run through readyd's library"
  else
    not_ok "$W: READY=1 from the AT_SECURE process reaches readyd run (rc $rc)"; printf '%s\n' "$out" | indent
  fi
  finish
fi

[ "$(id -u)" = 0 ] || skip_peer "needs root (a mount namespace, a setuid-root test binary)"
for tool in unshare mount setpriv cc readelf ldconfig; do
  command -v "$tool" >/dev/null || skip_peer "$tool missing"
done
getent passwd $NOBODY >/dev/null || skip_peer "no user with uid $NOBODY (nobody)"
[ -x "$repo/build/readyd" ] && [ -e "$repo/target/compat/libsystemd.so.0" ] ||
  { echo "$0: build readyd first (make)" >&2; exit 2; }
unshare -m --propagation private true 2>/dev/null || skip_peer "cannot make a mount namespace here"
scratch=$(mktemp -d /tmp/readyd-secure.XXXXXX)
chmod 0755 "$scratch"   # nobody walks into the scratch root
trap 'rm -rf "$scratch"' EXIT
unshare -m --propagation private -- "$0" --inside "$scratch"
