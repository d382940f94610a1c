#!/usr/bin/env bash
# sshd.sh COMPAT_DIR
#
# Real-peer check: Debian 12's own, unchanged sshd (openssh-server 9.2p1) runs
# on readyd's compat libsystemd.so.0 from COMPAT_DIR, found first on
# LD_LIBRARY_PATH, instead of the system's libsystemd.
#
# Debian's sshd imports exactly two functions from libsystemd, both under the
# LIBSYSTEMD_209 node: sd_notify (it says READY=1 once it listens) and
# sd_listen_fds (Debian patches in systemd socket activation: with LISTEN_FDS
# it serves the sockets it was handed instead of binding its ListenAddress).
# Both paths are exercised here:
#
#   1. notify      sshd under a notify receiver; it must send exactly "READY=1"
#                  from its own pid, serve SSH, and have COMPAT_DIR's library
#                  mapped and none of libsystemd's heavy dependencies.
#   2. activated   the same, plus a listening socket passed as fd 3 with
#                  LISTEN_FDS=1 and LISTEN_PID=<sshd's pid>, as ssh.socket
#                  (Accept=no) does: the banner must come on that socket and
#                  sshd must not have bound its own ListenAddress.
#   3. other pid   LISTEN_PID names another process (pid 1): sshd must ignore
#                  fd 3 and bind its ListenAddress.
#   4. contrast    the same sshd on the system's libsystemd: its maps do show
#                  liblzma, libzstd, ... so the check in 1 can tell them apart.
#
# The .debs are fetched with `apt-get download` (never installed) and kept in
# ${XDG_CACHE_HOME:-$HOME/.cache}/readyd-peers (READYD_PEERS_CACHE overrides
# it), so reruns download nothing; they are unpacked with dpkg-deb
# into a scratch folder that is removed on the way out. Libraries sshd needs
# that the machine lacks (libwrap0 on a base machine) come the same way, and so
# does ssh-keygen (openssh-client) if the machine has none.
#
# Machine state this needs and how it is handled:
#   - root (sshd's privilege separation);
#   - the privilege-separation directory /run/sshd: created if missing (and
#     removed again afterwards if this script created it and it is empty);
#   - a user named sshd: if the machine has none, sshd runs in a private mount
#     namespace (unshare) where a scratch copy of /etc/passwd with that user
#     added is bind-mounted over /etc/passwd; the real file is never touched.
#
# Prints one `ok - ...` / `not ok - ...` line per check, `# ...` notes, then
# `N passed, M failed`; exit 0 only if every check passed. Without root, or if
# the .debs cannot be had (no network), prints `ok - sshd.sh # SKIP <why>` and exits 0,
# unless READYD_REQUIRE_PEERS=1 (then that is a failure). Every wait is bounded.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUNNER=$here/notify-run.py
CACHE=${READYD_PEERS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/readyd-peers}
RUN_LIMIT=30      # seconds one sshd run may take in all, start to stop
HEAVY="liblzma libzstd liblz4 libgcrypt libcap"   # libsystemd's own dependencies

# shellcheck source=tests/tap.sh
. "$here/../tap.sh"
scratch='' made_run_sshd=0 t0=$(date +%s%N)

note()   { echo "# $*"; }
indent() { sed 's/^/#   /'; }

# Kills any sshd of ours still running (each leads its own process group), and
# removes what we made. Runs on every exit.
# shellcheck disable=SC2329  # called by the EXIT trap
cleanup() {
  local f pid
  if [ -n "$scratch" ] && [ -d "$scratch" ]; then
    for f in "$scratch"/run.*/pid; do
      [ -f "$f" ] || continue
      pid=$(cat "$f")
      # only if that pid is still our sshd (not a reused number)
      if grep -qF "$scratch" "/proc/$pid/cmdline" 2>/dev/null; then
        kill -KILL -- "-$pid" 2>/dev/null
      fi
    done
    rm -rf "$scratch"
  fi
  if [ "$made_run_sshd" = 1 ]; then
    rmdir /run/sshd 2>/dev/null
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

finish() {
  local ms=$((($(date +%s%N) - t0) / 1000000))
  note "took $((ms / 1000)).$(printf %03d $((ms % 1000))) s"
  tap_summary
  [ "$failed" = 0 ]
  exit
}


# A failure that stops the run: nothing after it could be judged.
fatal() { not_ok "$1"; [ -n "${2:-}" ] && [ -f "$2" ] && indent < "$2"; finish; }

[ $# -eq 1 ] || { echo "usage: $0 COMPAT_DIR  (the folder holding the compat libsystemd.so.0)" >&2; exit 2; }
[ -e "$1/libsystemd.so.0" ] ||
  { echo "$0: $1/libsystemd.so.0 not found; build it first with 'make compat'" >&2; exit 2; }
compat_dir=$(cd "$1" && pwd)
compat_lib=$(readlink -f "$compat_dir/libsystemd.so.0")   # the path maps will show

[ "$(id -u)" = 0 ] || skip_peer "needs root (sshd's privilege separation, /run/sshd)"
for tool in python3 apt-get dpkg-deb dpkg-query timeout; do
  command -v "$tool" >/dev/null || skip_peer "$tool missing"
done

# --- the packages ------------------------------------------------------------

mkdir -p "$CACHE" || skip_peer "cannot create the cache folder $CACHE"
scratch=$(mktemp -d /tmp/readyd-sshd.XXXXXX) || fatal "cannot create a scratch folder"
root=$scratch/root
mkdir -p "$root"
updated=0

# cached_deb PKG: the newest cached .deb of PKG, if any.
cached_deb() { find "$CACHE" -maxdepth 1 -name "$1_*.deb" | sort -V | tail -n 1; }

# fetch PKG: makes sure a .deb of PKG is in the cache (one `apt-get update` at
# most, when the package lists do not know it yet), else skips.
fetch() {
  [ -n "$(cached_deb "$1")" ] && return 0
  note "fetching $1 with apt-get download into $CACHE"
  if ! (cd "$CACHE" && apt-get download "$1") > "$scratch/apt.log" 2>&1; then
    if [ "$updated" = 0 ]; then
      updated=1
      note "apt-get download $1 failed; running apt-get update once"
      apt-get update > "$scratch/apt-update.log" 2>&1 ||
        { indent < "$scratch/apt-update.log" | tail -n 5; skip_peer "apt-get update failed (no network?)"; }
      (cd "$CACHE" && apt-get download "$1") > "$scratch/apt.log" 2>&1
    fi
  fi
  [ -n "$(cached_deb "$1")" ] ||
    { indent < "$scratch/apt.log" | tail -n 5; skip_peer "apt-get download $1 failed (no network or no Debian mirror?)"; }
}

# library_deps DEB: the library packages DEB depends on (first alternative).
library_deps() {
  dpkg-deb -f "$1" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' |
    grep -E '^(lib|zlib)' || true
}
installed() { dpkg-query -W -f '${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii'; }

# unpack PKG...: fetch and unpack each PKG, and then every library package it
# depends on that the machine does not have, recursively.
declare -A unpacked=()
unpack() {
  local pkg deb dep
  for pkg in "$@"; do
    [ -n "${unpacked[$pkg]:-}" ] && continue
    unpacked[$pkg]=1
    fetch "$pkg"
    deb=$(cached_deb "$pkg")
    dpkg-deb -x "$deb" "$root" || fatal "dpkg-deb -x $deb failed"
    note "unpacked $(basename "$deb")"
    for dep in $(library_deps "$deb"); do
      installed "$dep" || unpack "$dep"
    done
  done
}

# What the brief names (libwrap0 is never on a base machine), plus whatever
# libraries the machine lacks.
unpack openssh-server libwrap0
sshd=$root/usr/sbin/sshd
[ -x "$sshd" ] || fatal "no usr/sbin/sshd in the openssh-server package"

keygen=$(command -v ssh-keygen || true)
if [ -z "$keygen" ]; then
  note "no ssh-keygen here: taking it from openssh-client"
  unpack openssh-client
  keygen=$root/usr/bin/ssh-keygen
fi

# The unpacked library folders, for LD_LIBRARY_PATH after COMPAT_DIR.
libpath=$(find "$root" -name '*.so*' -printf '%h\n' | sort -u | paste -sd: -)

missing=$(LD_LIBRARY_PATH=$libpath ldd "$sshd" 2>&1 | grep 'not found' || true)
[ -z "$missing" ] || { echo "$missing" | indent; fatal "sshd still lacks libraries after unpacking its dependencies"; }

if command -v nm >/dev/null; then
  note "Debian's sshd imports from libsystemd: $(nm -D "$sshd" | awk '/ U sd_/ {print $2}' | sort | paste -sd' ' -)"
fi

# --- the machine: /run/sshd and the sshd user ---------------------------------

if [ ! -d /run/sshd ]; then
  mkdir -m 0755 /run/sshd || fatal "cannot create /run/sshd"
  made_run_sshd=1
  note "created /run/sshd (sshd's privilege-separation directory); removed again at the end"
fi

wrap=()
if ! getent passwd sshd >/dev/null; then
  if ! command -v unshare >/dev/null || ! command -v mount >/dev/null; then
    skip_peer "no sshd user, and no unshare/mount to provide one in a private mount namespace"
  fi
  # a uid nobody uses, in the system range
  uid=$(awk -F: '{used[$3]=1} END {for (u = 999; u > 100; u--) if (!(u in used)) {print u; exit}}' /etc/passwd)
  cp /etc/passwd "$scratch/passwd"
  echo "sshd:x:$uid:65534:readyd peer test:/run/sshd:/usr/sbin/nologin" >> "$scratch/passwd"
  # shellcheck disable=SC2016  # "$1" and "$@" are the inner shell's
  wrap=(unshare --mount --propagation private -- sh -c 'mount --bind "$1" /etc/passwd && shift && exec "$@"' sh "$scratch/passwd")
  "${wrap[@]}" true 2>"$scratch/unshare.log" ||
    { indent < "$scratch/unshare.log"; skip_peer "no sshd user, and a private mount namespace cannot be made here"; }
  note "no sshd user here: sshd runs in a private mount namespace with an sshd user (uid $uid) added to a copy of /etc/passwd"
fi

# --- sshd's configuration -----------------------------------------------------

LD_LIBRARY_PATH=$libpath "$keygen" -q -t ed25519 -N '' -C readyd-peer -f "$scratch/host_ed25519_key" \
    > "$scratch/keygen.log" 2>&1 || fatal "ssh-keygen failed" "$scratch/keygen.log"

port=$(python3 "$RUNNER" free-port) || fatal "cannot find a free port"
cat > "$scratch/sshd_config" <<EOF
ListenAddress 127.0.0.1:$port
HostKey $scratch/host_ed25519_key
PidFile $scratch/sshd.pid
UsePAM no
EOF

# --- the runs -----------------------------------------------------------------

# run NAME LIBPATH [notify-run options...]: one sshd start and stop; what it
# did is left in $scratch/run.NAME (see notify-run.py).
run() {
  local name=$1 path=$2
  shift 2
  local out=$scratch/run.$name
  mkdir -p "$out"
  LD_LIBRARY_PATH=$path timeout --foreground -k 3 "$RUN_LIMIT" "${wrap[@]}" \
    python3 "$RUNNER" --out "$out" "$@" -- "$sshd" -D -e -f "$scratch/sshd_config" \
    > "$out/runner.log" 2>&1
  [ -s "$out/runner.log" ] && indent < "$out/runner.log"
  return 0
}

# started NAME WHAT: one check that sshd of run NAME came up and notified.
started() {
  local out=$scratch/run.$1
  if [ -f "$out/msg.1" ] && [ -f "$out/maps" ]; then
    ok "$2: sshd (pid $(cat "$out/pid")) started and sent a notify message in $(cat "$out/ready-ms") ms"
    return 0
  fi
  local why="no notify message"
  [ -f "$out/exited" ] && why="sshd died first ($(cat "$out/exited"))"
  [ -f "$out/error" ] && why=$(cat "$out/error")
  not_ok "$2: sshd did not come up: $why"
  [ -f "$out/log" ] && indent < "$out/log"
  return 1
}

# check_ready NAME WHAT: exactly one message, exactly READY=1, from sshd's pid.
check_ready() {
  local out=$scratch/run.$1 pid n=0 sender f
  pid=$(cat "$out/pid")
  for f in "$out"/msg.*; do case $f in *.pid) ;; *) n=$((n + 1)) ;; esac; done
  if [ "$n" = 1 ] && printf 'READY=1' | cmp -s - "$out/msg.1"; then
    ok "$2: the one message is exactly READY=1 (7 bytes)"
  else
    not_ok "$2: wanted one message, exactly READY=1; got $n, the first: $(od -An -c "$out/msg.1" | tr -s ' ' | head -n 3)"
  fi
  sender=$(cat "$out/msg.1.pid")
  if [ "$sender" = "$pid" ]; then
    ok "$2: its sender (SCM_CREDENTIALS) is sshd's pid $pid"
  else
    not_ok "$2: sender pid $sender, but sshd is $pid"
  fi
}

# mapped_libs NAME: the file paths mapped in sshd of run NAME.
mapped_libs() { awk 'NF >= 6 && $6 ~ /^\// {print $6}' "$scratch/run.$1/maps" | sort -u; }

# check_compat_maps NAME WHAT: COMPAT_DIR's library is the only libsystemd, and
# none of its usual dependencies came along.
check_compat_maps() {
  local libs heavy=() h systemds
  libs=$(mapped_libs "$1")
  systemds=$(echo "$libs" | grep '/libsystemd\.so' || true)
  if [ "$systemds" = "$compat_lib" ]; then
    ok "$2: maps show $compat_lib and no other libsystemd"
  else
    not_ok "$2: wanted $compat_lib as the only libsystemd in maps, saw: ${systemds:-none}"
  fi
  for h in $HEAVY; do
    echo "$libs" | grep -q "/$h\.so" && heavy+=("$(echo "$libs" | grep "/$h\.so" | head -n 1)")
  done
  if [ ${#heavy[@]} = 0 ]; then
    ok "$2: none of ${HEAVY// /, } is mapped"
  else
    not_ok "$2: mapped anyway: ${heavy[*]}"
  fi
}

probe() { cat "$scratch/run.$1/probe.$2" 2>/dev/null || echo "(not probed)"; }
is_banner() { case $1 in SSH-2.0-OpenSSH*) return 0 ;; *) return 1 ;; esac; }
is_refused() { case $1 in *ECONNREFUSED*) return 0 ;; *) return 1 ;; esac; }

compat_path=$compat_dir:$libpath
note "sshd: $(LD_LIBRARY_PATH=$libpath "$sshd" -V 2>&1 | head -n 1)"
note "compat library: $compat_lib"

# 1. Plain notify start on the compat library.
W="notify (compat)"
run notify "$compat_path" --probe "$port"
if started notify "$W"; then
  check_ready notify "$W"
  check_compat_maps notify "$W"
  b=$(probe notify "$port")
  if is_banner "$b"; then ok "$W: serves SSH on its ListenAddress: $b"; else not_ok "$W: no SSH banner on port $port: $b"; fi
fi

# 2. Socket-activated start on the compat library, as ssh.socket would do it.
W="socket-activated (compat)"
run activated "$compat_path" --activate --probe activated --probe "$port"
if started activated "$W"; then
  check_ready activated "$W"
  check_compat_maps activated "$W"
  b=$(probe activated activated)
  if is_banner "$b"; then
    ok "$W: the banner comes on the passed socket (fd 3, port $(cat "$scratch/run.activated/activated-port")): $b"
  else
    not_ok "$W: no SSH banner on the passed socket: $b"
    indent < "$scratch/run.activated/log"
  fi
  b=$(probe activated "$port")
  if is_refused "$b"; then
    ok "$W: sshd did not bind its ListenAddress (port $port refused): it took the socket from LISTEN_FDS"
  else
    not_ok "$W: port $port answered ($b): sshd bound its own socket as well"
  fi
fi

# 3. LISTEN_PID names another process: the passed socket is not for sshd. Not
# sshd's pid + 1: that is often the pid of the child sshd forks (and re-execs)
# for the probe's connection, which would then take itself for socket-activated.
W="LISTEN_PID of another process (compat)"
run otherpid "$compat_path" --activate --listen-pid 1 --probe "$port" --probe activated
if started otherpid "$W"; then
  b=$(probe otherpid "$port")
  if is_banner "$b"; then
    ok "$W: sshd ignored fd 3 and bound its ListenAddress: $b"
  else
    not_ok "$W: no banner on ListenAddress port $port: $b"
    indent < "$scratch/run.otherpid/log"
  fi
fi

# 4. Contrast: the same sshd on the system's libsystemd.
W="contrast (system libsystemd)"
run system "$libpath" --probe "$port"
if started system "$W"; then
  check_ready system "$W"
  libs=$(mapped_libs system)
  sys=$(echo "$libs" | grep '/libsystemd\.so' || true)
  absent=()
  for h in $HEAVY; do echo "$libs" | grep -q "/$h\.so" || absent+=("$h"); done
  if [ -n "$sys" ] && [ "$sys" != "$compat_lib" ] && [ ${#absent[@]} = 0 ]; then
    ok "$W: maps show $sys and ${HEAVY// /, }, so the check above can tell the difference"
  else
    not_ok "$W: wanted the system libsystemd and all of ${HEAVY// /, } in maps; libsystemd: ${sys:-none}, absent: ${absent[*]:-none}"
  fi
fi

finish
