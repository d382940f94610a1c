#!/usr/bin/env bash
# check-switch.sh: real projects switch to readyd with no edit at all.
#
# Debian 12's own sources of four projects that use libsystemd are built unchanged, the way
# a user of a distribution without systemd (Devuan, say) would build them, against readyd's
# provider mode instead of libsystemd:
#
#   fcgiwrap   autotools; PKG_CHECK_MODULES([systemd], [libsystemd]) but its Makefile.in
#              drops the CFLAGS; sd_listen_fds (socket activation only, no notify)
#   unbound    autotools with systemd.m4 (only the libs are used); sd_notify,
#              sd_listen_fds, sd_is_socket and sd_booted
#   mpd        meson, dependency('libsystemd'); sd_notify, sd_listen_fds,
#              sd_watchdog_enabled, sd_booted (C++)
#   mosquitto  CMake, find_library(SYSTEMD_LIBRARY systemd) and a bare
#              #include <systemd/sd-daemon.h>; sd_notify
#
# The sources come from `apt-get source` with a deb-src line of this script's own: a
# sources file and package lists in the cache folder, handed to apt-get with -o options, so
# the machine's apt configuration and lists are never touched (the line exists only for
# those calls). Everything else happens in a private mount namespace (unshare -m):
#   - /usr is an overlay whose upper layer is a scratch folder: every file of
#     libsystemd-dev (headers, libsystemd.pc, libsystemd.so) is whited out, as if the
#     package were not installed; libsystemd0 stays, as on Devuan;
#   - `make install-libsystemd` with the default PREFIX=/usr/local (what a user does);
#     its files land in the overlay's upper layer, never on the machine;
#   - ldconfig writes a scratch cache that is bind-mounted over /etc/ld.so.cache.
# Each project is then configured with its own build system (no -I, -L or PKG_CONFIG_PATH
# from us; CFLAGS is -O0 alone) and built. Each binary must NEED libsystemd.so.0, the
# loader must resolve it to readyd's compat library, and it must behave under `readyd run`
# as it should: READY=1 from its own pid, serving on the socket passed with LISTEN_FDS, the
# watchdog pings, sd_booted's answer. Before any of that, still in the namespace but with
# libsystemd-dev visible, fcgiwrap, unbound and mosquitto are built against the real
# libsystemd and run the same way; what each run showed (no pids or ports) must be the
# same for both builds.
#
# Needs root (unshare, mount), network once (the sources are cached in
# ${XDG_CACHE_HOME:-~/.cache}/readyd-switch, READYD_SWITCH_CACHE overrides), and the build
# dependencies .ci/run installs (the packages+= line there). A missing one is a SKIP, or a
# failure with READYD_REQUIRE_PEERS=1. Prints ok/not ok lines and `N passed, M failed`.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
readyd=$repo/build/readyd
probe=$here/probe.py
CACHE=${READYD_SWITCH_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/readyd-switch}
# READYD_SWITCH_PROJECTS="fcgiwrap unbound" runs a part (mpd's build alone takes minutes).
read -r -a PROJECTS <<< "${READYD_SWITCH_PROJECTS:-fcgiwrap unbound mpd mosquitto}"
# Also built against the real libsystemd, to compare what they do (not mpd: its minutes are
# spent once, on readyd).
CONTRAST=()
for p in fcgiwrap unbound mosquitto; do [[ " ${PROJECTS[*]} " == *" $p "* ]] && CONTRAST+=("$p"); done
JOBS=${JOBS:-2}
# shellcheck source=tests/tap.sh
. "$repo/tests/tap.sh"
t0=$(date +%s%N)
note() { echo "# $*"; }
indent() { sed 's/^/#   /'; }
seconds() { local ms=$((($(date +%s%N) - $1) / 1000000)); echo "$((ms / 1000)).$(printf %03d $((ms % 1000))) s"; }
finish() {
  if [ "${1:-}" = --inside ]; then
    # Counts only: the outer run adds them to its own and prints the plan.
    echo "$passed passed, $failed failed"
  else
    note "took $(seconds "$t0")"
    tap_summary
  fi
  [ "$failed" = 0 ]
  exit
}

# ============================ inside the mount namespace ====================================
if [ "${1:-}" = --inside ]; then
  scratch=$2
  logs=$scratch/logs
  mkdir -p "$logs"
  fatal() { not_ok "$1"; [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 30 "$2" | indent; finish --inside; }
  # No optimisation: the builds are what is checked, and mpd's C++ takes minutes even so.
  # Not a path among the flags: the projects find libsystemd by the default paths alone.
  export CFLAGS="-O0" CXXFLAGS="-O0"
  unset PKG_CONFIG_PATH CPATH C_INCLUDE_PATH LIBRARY_PATH LD_LIBRARY_PATH

  # --- helpers ---------------------------------------------------------------------------------
  # build LABEL DIR COMMAND...: the project's own build steps in its source tree.
  build() {
    local label=$1 dir=$2 t
    shift 2
    t=$(date +%s%N)
    if (cd "$dir" && nice -n 10 "$@") > "$logs/build.${label// /-}" 2>&1; then
      note "$label built in $(seconds "$t")"
      return 0
    fi
    not_ok "$label: the unchanged sources build"
    tail -n 30 "$logs/build.${label// /-}" | indent
    return 1
  }
  # linked LABEL BINARY LIB: NEEDED libsystemd.so.0, which the loader resolves to LIB.
  linked() {
    local label=$1 bin=$2 want=$3 resolved
    if readelf -d "$bin" | grep -q '(NEEDED).*\[libsystemd\.so\.0\]'; then
      ok "$label: $(basename "$bin") NEEDs libsystemd.so.0"
    else
      not_ok "$label: $(basename "$bin") NEEDs libsystemd.so.0 (it does not: built without systemd support?)"
    fi
    resolved=$(ldd "$bin" | awk '$1 == "libsystemd.so.0" {print $3}')
    expect "$label: the loader resolves its libsystemd.so.0 to $want" "$(readlink -f "$resolved" 2>/dev/null)" "$want"
  }
  # seen LABEL FACT: what a run showed, without pids or ports; the libsystemd build's list
  # and readyd's are compared at the end.
  seen() { echo "$2" >> "$scratch/seen.$1"; }
  # start LABEL [readyd run options] -- CMD...: `readyd run --json` in the background.
  start() {
    local label=$1
    shift
    run_dir=$scratch/run.$label
    mkdir -p "$run_dir"
    "$readyd" run --json --until exit --timeout 60 "$@" > "$run_dir/events" 2> "$run_dir/stderr" &
    run_pid=$!
  }
  # wait_event PATTERN: until an event line matches (at most 60 s; readyd run's own timeout).
  wait_event() {
    local i
    for i in $(seq 600); do
      grep -q "$1" "$run_dir/events" && return 0
      kill -0 "$run_pid" 2>/dev/null || return 1
      sleep 0.1
    done
    return 1
  }
  # stop: SIGTERM to readyd run, which passes it on to the daemon; then waits for both.
  stop() { kill -TERM "$run_pid" 2>/dev/null; wait "$run_pid"; }
  main_pid() { sed -n 's/.*"pid":\([0-9]*\),"event":"start".*/\1/p' "$run_dir/events" | head -n 1; }
  show() { indent < "$run_dir/events"; tail -n 15 "$run_dir/stderr" | indent; }
  exit_event() { sed -n 's/.*"event":"exit",//p' "$run_dir/events" | tr -d '{}"' | head -n 1; }
  # ready_from_main LABEL WHAT: READY=1 came from the started process itself.
  ready_from_main() {
    local pid from
    pid=$(main_pid)
    from=$(grep '"READY":"1"' "$run_dir/events" | sed -n 's/.*"pid":\([0-9]*\),"event":"message".*/\1/p' | head -n 1)
    if [ -n "$pid" ] && [ "$from" = "$pid" ]; then
      ok "$1${2:+ $2}: READY=1 from its own pid $pid"; seen "$1" "${2:+$2: }READY=1 from the main pid"
    else
      not_ok "$1${2:+ $2}: READY=1 from its own pid (started $pid, READY=1 from ${from:-nobody})"; show
    fi
  }
  listen_port() { sed -n 's/.*"event":"listen".*"address":"127\.0\.0\.1:\([0-9]*\)".*/\1/p' "$run_dir/events" | head -n 1; }

  # --- the projects: how each is built, and what it must do under readyd run ----------------
  build_fcgiwrap() { build "$1" "$2" sh -c 'autoreconf -fi && ./configure && make'; }
  run_fcgiwrap() {
    local label=$1 bin=$2 out
    printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\nhello from pid %%s\\n" "$$"\n' > "$scratch/hello.cgi"
    chmod 0755 "$scratch/hello.cgi"
    start "$label" --listen "$scratch/$label.sock" -- "$bin"
    if wait_event '"event":"start"' && out=$(python3 "$probe" fcgi "$scratch/$label.sock" "$scratch/hello.cgi" 2>&1) &&
       printf '%s\n' "$out" | grep -q '^hello from pid'; then
      ok "$label: accepts on the socket passed with LISTEN_FDS and runs the CGI script: $(printf '%s' "$out" | tail -n 1)"
      seen "$label" "a CGI request on the LISTEN_FDS socket is answered"
    else
      not_ok "$label: accepts on the socket passed with LISTEN_FDS (${out:-no answer})"; show
    fi
    stop
    if grep -q '"event":"exit"' "$run_dir/events"; then
      ok "$label: stops on SIGTERM ($(exit_event))"; seen "$label" "on SIGTERM: $(exit_event)"
    else
      not_ok "$label: stops on SIGTERM"; show
    fi
  }

  build_unbound() {
    build "$1" "$2" sh -c "./configure --enable-systemd --disable-flto --disable-static && make -j$JOBS unbound"
  }
  unbound_conf() {
    printf 'server:\n  interface: 127.0.0.1@%s\n  do-ip6: no\n  use-systemd: yes\n  do-daemonize: no\n' "$1"
    printf '  username: ""\n  chroot: ""\n  directory: "%s"\n  pidfile: ""\n  use-syslog: no\n' "$scratch"
    printf '  logfile: ""\n  so-reuseport: no\n  num-threads: 1\n  module-config: "iterator"\n'
    printf '  local-zone: "readyd.test." static\n  local-data: "ready.readyd.test. A 192.0.2.7"\n'
    printf 'remote-control:\n  control-enable: no\n'
  }
  run_unbound() {
    local label=$1 bin=$2 port out W
    # Not booted with systemd (this machine, and every system without it): sd_booted() is 0,
    # so unbound ignores the passed socket and binds its interface itself.
    W="not booted with systemd"
    port=$(python3 "$probe" free-port)
    unbound_conf "$port" > "$scratch/$label.conf"
    start "$label" --listen "127.0.0.1:0" -- "$bin" -d -c "$scratch/$label.conf"
    if wait_event '"event":"verdict","ready":true'; then
      ready_from_main "$label" "$W"
      out=$(python3 "$probe" dns 127.0.0.1 "$port" ready.readyd.test 2>&1)
      expect "$label $W: answers on the port it bound itself" "$out" "192.0.2.7" && seen "$label" "$W: answers on its own port"
      if grep -q 'systemd is not running' "$run_dir/stderr"; then
        ok "$label $W: sd_booted() said so ('systemd is not running')"; seen "$label" "$W: sd_booted() is 0"
      else
        not_ok "$label $W: sd_booted() said so"; show
      fi
    else
      not_ok "$label $W: ready"; show
    fi
    stop
    # Booted with systemd (/run/systemd/system exists, in a namespace of its own): unbound
    # takes its TCP socket from LISTEN_FDS (its own bind would fail: the port is taken).
    W="booted with systemd"
    port=$(python3 "$probe" free-port)
    unbound_conf "$port" > "$scratch/$label.conf"
    # shellcheck disable=SC2016  # the inner shell's $@
    start "$label-booted" --listen "127.0.0.1:$port" -- unshare -m --propagation private -- sh -c \
      'mount -t tmpfs tmpfs /run/systemd 2>/dev/null || mount -t tmpfs tmpfs /run; mkdir -p /run/systemd/system && exec "$@"' \
      sh "$bin" -d -c "$scratch/$label.conf"
    if wait_event '"event":"verdict","ready":true'; then
      ready_from_main "$label" "$W"
      out=$(python3 "$probe" dns 127.0.0.1 "$port" ready.readyd.test 2>&1)
      expect "$label $W: answers over TCP on the socket passed with LISTEN_FDS" "$out" "192.0.2.7" &&
        seen "$label" "$W: answers on the LISTEN_FDS socket"
    else
      not_ok "$label $W: ready"; show
    fi
    stop
  }

  build_mpd() {
    build "$1" "$2" sh -c "meson setup b --buildtype=plain --auto-features=disabled -Dsystemd=enabled \
       -Ddatabase=false -Dneighbor=false -Dinotify=false -Dhtml_manual=false -Dmanpages=false \
       -Ddsd=false -Dcue=false -Dwave_encoder=false -Dfifo=false -Dhttpd=false -Dpipe=false \
       -Drecorder=false -Dsnapcast=false -Dupnp=disabled -Dzeroconf=disabled && ninja -j$JOBS -C b mpd"
  }
  run_mpd() {
    local label=$1 bin=$2 port activated out
    port=$(python3 "$probe" free-port)
    printf 'bind_to_address "127.0.0.1"\nport "%s"\naudio_output {\n  type "null"\n  name "null"\n}\n' "$port" \
      > "$scratch/$label.conf"
    # socket activation, and a watchdog of 1 s: mpd pings every half interval
    start "$label" --listen "127.0.0.1:0" --watchdog 1000000 -- "$bin" --no-daemon --stderr "$scratch/$label.conf"
    if wait_event '"event":"verdict","ready":true'; then
      ready_from_main "$label" ""
      activated=$(listen_port)
      out=$(python3 "$probe" mpd 127.0.0.1 "$activated" 2>&1)
      case $out in
        "OK MPD "*) ok "$label: serves on the socket passed with LISTEN_FDS (port $activated): $out" ;;
        *) not_ok "$label: serves on the socket passed with LISTEN_FDS: $out"; show ;;
      esac
      if python3 "$probe" mpd 127.0.0.1 "$port" >/dev/null 2>&1; then
        not_ok "$label: did not bind its own port $port as well"
      else
        ok "$label: did not bind its configured port $port (it took LISTEN_FDS instead)"
      fi
      if wait_event '"WATCHDOG":"1"'; then
        ok "$label: sd_watchdog_enabled() saw WATCHDOG_USEC; it sends WATCHDOG=1"
      else
        not_ok "$label: sends WATCHDOG=1"; show
      fi
    else
      not_ok "$label: ready"; show
    fi
    stop
  }

  build_mosquitto() {
    build "$1" "$2" sh -c "cmake -S . -B b -DWITH_SYSTEMD=ON -DDOCUMENTATION=OFF -DWITH_CJSON=OFF \
       -DWITH_BUNDLED_DEPS=OFF && cmake --build b --target mosquitto -j $JOBS"
  }
  run_mosquitto() {
    local label=$1 bin=$2 port
    port=$(python3 "$probe" free-port)
    # As root, mosquitto drops to its default user before READY=1: readyd run's notify
    # socket takes the message from another uid, as systemd's does.
    printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" > "$scratch/$label.conf"
    start "$label" -- "$bin" -c "$scratch/$label.conf"
    if wait_event '"event":"verdict","ready":true'; then
      ready_from_main "$label" ""
      expect "$label: answers an MQTT CONNECT with CONNACK, accepted" \
        "$(python3 "$probe" mqtt 127.0.0.1 "$port" 2>&1)" "20020000" && seen "$label" "CONNACK accepted"
    else
      not_ok "$label: ready"; show
    fi
    stop
  }
  binary_of() {
    case $1 in fcgiwrap) echo fcgiwrap ;; unbound) echo unbound ;; mpd) echo b/mpd ;; mosquitto) echo b/src/mosquitto ;; esac
  }

  # --- 1. the libsystemd builds, for contrast (mpd's minutes are spent once, on readyd) --------
  system_lib=$(readlink -f "$(ldconfig -p | awk '$1 == "libsystemd.so.0" {print $NF; exit}')")
  for p in "${CONTRAST[@]}"; do
    dir=$scratch/ref/$p
    if build_"$p" "$p with libsystemd" "$dir"; then
      linked "$p with libsystemd" "$dir/$(binary_of "$p")" "$system_lib"
      run_"$p" "$p-libsystemd" "$dir/$(binary_of "$p")"
    fi
  done

  # --- 2. a system without libsystemd-dev, and provider mode ----------------------------------
  set_up_root() {
    local upper=$scratch/overlay/upper work=$scratch/overlay/work path
    mkdir -p "$upper" "$work"
    # libsystemd-dev's files, as /usr paths (with merged /usr, /lib is /usr/lib)
    dpkg-query -L libsystemd-dev | sed 's|^/lib/|/usr/lib/|' | while read -r path; do
      [ -d "$path" ] && continue
      case $path in /usr/*) ;; *) continue ;; esac
      mkdir -p "$upper$(dirname "${path#/usr}")"
      mknod "$upper${path#/usr}" c 0 0          # an overlay whiteout: the name is gone
    done
    mount -t overlay overlay -o "lowerdir=/usr,upperdir=$upper,workdir=$work" /usr
  }
  set_up_root 2>"$logs/overlay" || fatal "an overlay over /usr hiding libsystemd-dev" "$logs/overlay"
  cc_sees() { echo '#include <systemd/sd-daemon.h>' | cc -E -x c - >/dev/null 2>&1; }
  if ! pkg-config --exists libsystemd && ! cc_sees && [ ! -e "/usr/lib/$(cc -print-multiarch)/libsystemd.so" ]; then
    ok "libsystemd-dev is hidden: no libsystemd.pc, no <systemd/sd-daemon.h>, no libsystemd.so"
  else
    fatal "libsystemd-dev is hidden (pkg-config or cc still finds it)"
  fi
  # What a user of a system without libsystemd does: make install-libsystemd; ldconfig.
  if ! make -s -C "$repo" install-libsystemd > "$logs/install" 2>&1; then
    fatal "make install-libsystemd (PREFIX=/usr/local)" "$logs/install"
  fi
  ldconfig -X -C "$scratch/ld.so.cache" 2>"$logs/ldconfig" && mount --bind "$scratch/ld.so.cache" /etc/ld.so.cache ||
    fatal "ldconfig into a scratch cache" "$logs/ldconfig"
  compat=$(readlink -f /usr/local/lib/readyd/compat/libsystemd.so.0)
  expect "make install-libsystemd; pkg-config --modversion libsystemd" "$(pkg-config --modversion libsystemd)" \
    "$(awk '/^LIBSYSTEMD_[0-9]+ \{/ {n = $1} /global:/ {v = n} END {sub("LIBSYSTEMD_", "", v); print v}' \
       "$repo/include/libsystemd.map")"
  expect "the loader's cache leads libsystemd.so.0 to readyd's first" \
    "$(ldconfig -p | awk '$1 == "libsystemd.so.0" {print $NF; exit}')" "/usr/local/lib/libsystemd.so.0"

  for p in "${PROJECTS[@]}"; do
    dir=$scratch/src/$p
    build_"$p" "$p" "$dir" || continue
    ok "$p: the unchanged sources build against provider mode"
    if [ "$p" = mosquitto ]; then
      expect "mosquitto: CMake's find_library found the provider's libsystemd.so" \
        "$(sed -n 's/^SYSTEMD_LIBRARY:FILEPATH=//p' "$dir/b/CMakeCache.txt")" "/usr/local/lib/libsystemd.so"
    fi
    linked "$p" "$dir/$(binary_of "$p")" "$compat"
    run_"$p" "$p" "$dir/$(binary_of "$p")"
  done

  # --- 3. the same behaviour ---------------------------------------------------------------------
  for p in "${CONTRAST[@]}"; do
    if [ -s "$scratch/seen.$p-libsystemd" ] && cmp -s "$scratch/seen.$p-libsystemd" "$scratch/seen.$p"; then
      ok "$p behaves on readyd as its libsystemd build does: $(paste -sd';' "$scratch/seen.$p")"
    else
      not_ok "$p behaves on readyd as its libsystemd build does"
      diff "$scratch/seen.$p-libsystemd" "$scratch/seen.$p" 2>&1 | indent
    fi
  done
  finish --inside
fi

# ============================ outside: checks and the sources ================================
[ "$(id -u)" = 0 ] || skip_peer "needs root (a mount namespace with an overlay over /usr)"
for tool in unshare mount apt-get dpkg-source dpkg-query python3 autoreconf make cc c++ meson ninja cmake readelf ldd; do
  command -v "$tool" >/dev/null || skip_peer "$tool missing (.ci/run installs it)"
done
missing=()
for p in libsystemd-dev libfcgi-dev libssl-dev libexpat1-dev libfmt-dev libboost-dev uthash-dev bison flex libtool; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} = 0 ] || skip_peer "build dependencies missing: ${missing[*]} (.ci/run installs them)"
[ -x "$readyd" ] && [ -e "$repo/target/compat/libsystemd.so.0" ] ||
  { echo "$0: build readyd first (make)" >&2; exit 2; }
unshare -m --propagation private true 2>/dev/null || skip_peer "cannot make a mount namespace here"

# The deb-src line, in a sources file of our own that only these apt-get calls read.
apt_dir=$CACHE/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache" "$CACHE/src" || skip_peer "cannot create $CACHE"
mirror=$(sed -n 's/^URIs: *\([^ ]*debian\/*\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb  *\(http[^ ]*\)  *bookworm .*/\1/p' /etc/apt/sources.list 2>/dev/null | head -n 1)
echo "deb-src ${mirror:-http://deb.debian.org/debian} bookworm main" > "$apt_dir/sources.list"
apt_src=(apt-get -q -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
         -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Debug::NoLocking=1
         -o APT::Sandbox::User=root)
scratch=$(mktemp -d /tmp/readyd-switch.XXXXXX)
# shellcheck disable=SC2329  # the EXIT trap's
cleanup() { rm -rf "$scratch"; rm -f "$apt_dir/sources.list"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

t=$(date +%s%N)
fetched=0
for p in "${PROJECTS[@]}"; do
  compgen -G "$CACHE/src/${p}_*.dsc" >/dev/null && continue
  if [ "$fetched" = 0 ]; then
    fetched=1
    note "apt-get update for the deb-src line (lists in $apt_dir)"
    "${apt_src[@]}" update > "$scratch/apt-update.log" 2>&1 ||
      { indent < "$scratch/apt-update.log" | tail -n 5; skip_peer "apt-get update for deb-src failed (no network?)"; }
  fi
  (cd "$CACHE/src" && "${apt_src[@]}" source --download-only "$p") > "$scratch/apt-source.log" 2>&1 ||
    { indent < "$scratch/apt-source.log" | tail -n 5; skip_peer "apt-get source $p failed (no network?)"; }
done
[ "$fetched" = 1 ] && note "sources fetched in $(seconds "$t")"
rm -f "$apt_dir/sources.list"

mkdir -p "$scratch/src"
for p in "${PROJECTS[@]}"; do
  dsc=$(find "$CACHE/src" -name "${p}_*.dsc" | sort -V | tail -n 1)
  if [[ " ${CONTRAST[*]} " == *" $p "* ]]; then
    mkdir -p "$scratch/ref"
    dpkg-source --no-check -x "$dsc" "$scratch/ref/$p" > /dev/null 2>&1 || not_ok "$p: dpkg-source -x $dsc (for the contrast)"
  fi
  if dpkg-source --no-check -x "$dsc" "$scratch/src/$p" > "$scratch/dpkg-source.$p.log" 2>&1; then
    ok "$p: Debian 12's $(basename "$dsc" .dsc) unpacked (dpkg-source -x, Debian's patches applied, nothing else)"
  else
    not_ok "$p: dpkg-source -x $dsc"; indent < "$scratch/dpkg-source.$p.log"
  fi
done
note "readyd's provider mode, the projects' builds and runs, in a private mount namespace"
# The inner run prints its own checks and closing line; its counts are added to ours.
: > "$scratch/inner.out"   # before tail -f looks for it
unshare -m --propagation private -- "$0" --inside "$scratch" > "$scratch/inner.out" 2>&1 &
inner=$!
tail -n +1 --pid=$inner -f "$scratch/inner.out" | grep --line-buffered -v '^[0-9]* passed, [0-9]* failed$'
wait $inner
line=$(grep '^[0-9]* passed, [0-9]* failed$' "$scratch/inner.out" | tail -n 1)
if [ -n "$line" ]; then
  passed=$((passed + ${line%% passed*}))
  f=${line#*passed, }; failed=$((failed + ${f%% failed}))
else
  not_ok "the namespace run ended without a summary"
fi
finish
