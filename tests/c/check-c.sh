#!/usr/bin/env bash
# check-c.sh: the C side of readyd, as a user meets it.
#
# Installs readyd into a scratch prefix, builds the examples through pkg-config with strict
# warnings (tests/c/build-examples.sh), checks the shared library's ABI, and runs the
# article's daemon and the upstart_ready example under tests/c/supervise (a notify receiver
# and an Upstart emulation), plain, linked statically, under valgrind, and built with
# ASan/UBSan. The build-system consumers are in tests/c/check-consumers.sh.
# Prints TAP (tests/tap.sh), then `N passed, M failed`; exits non-zero on any failure.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/readyd-check-c.XXXXXX")
trap 'rm -rf "$work"' EXIT
sup=$repo/build/supervise
ex=$work/ex
# shellcheck source=tests/tap.sh
. "$repo/tests/tap.sh"

# check DESCRIPTION COMMAND...: ok when the command succeeds; its output is shown on failure.
check() {
  local what=$1; shift
  local out
  if out=$("$@" 2>&1); then ok "$what"; else not_ok "$what"; printf '%s\n' "$out" | sed 's/^/#   /'; fi
}

# --- build through pkg-config against an installed tree ---------------------------------
if ! out=$("$repo/tests/c/build-examples.sh" "$ex" 2>&1); then
  not_ok "install and build the examples through pkg-config"; printf '%s\n' "$out" | sed 's/^/#   /'
  finish
fi
ok "install and build the examples through pkg-config (-std=c11 -Wall -Wextra -Wpedantic -Werror)"
prefix=$ex/prefix
so=$prefix/lib/libreadyd.so.0.1.0
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig

# --- what was installed ------------------------------------------------------------------
for f in lib/libreadyd.so.0.1.0 lib/libreadyd.so.0 lib/libreadyd.so lib/libreadyd.a \
         lib/pkgconfig/readyd.pc include/readyd/readyd.h include/readyd/systemd/sd-daemon.h; do
  [ -e "$prefix/$f" ] && ok "installed $f" || not_ok "installed $f"
done
expect "libreadyd.so.0 links to the versioned file" "$(readlink "$prefix/lib/libreadyd.so.0")" "libreadyd.so.0.1.0"
expect "pkg-config --modversion" "$(pkg-config --modversion readyd)" "0.1.0"
expect "pkg-config --cflags points into include/readyd" "$(pkg-config --cflags readyd | sed "s/ *$//")" "-I$prefix/include/readyd"
expect "pkg-config --libs" "$(pkg-config --libs readyd | sed "s/ *$//")" "-L$prefix/lib -lreadyd"

# --- ABI of the installed shared library ---------------------------------------------------
expect "SONAME" "$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')" "libreadyd.so.0"
expect "NEEDED is libc.so.6 alone" "$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')" "libc.so.6 "
api=$(sed -n 's/^ *\([a-z_]*\);$/\1/p' "$repo/include/readyd.map" | sort | tr '\n' ' ')
expect "exported symbols are exactly the API of include/readyd.map" \
  "$(nm -D --defined-only "$so" | awk '$2 != "A" {print $3}' | sed 's/@.*//' | sort | tr '\n' ' ')" "$api"
expect "every export carries the READYD_0 version" \
  "$(nm -D --defined-only "$so" | awk '$2 != "A" {print $3}' | grep -vc '@@READYD_0$')" "0"
check "readyd.h and sd-daemon.h compile as C++ (extern \"C\", no C-only macro)" \
  g++ -fsyntax-only -Wall -Wextra -Werror -x c++ -include readyd.h -include systemd/sd-daemon.h \
  $(pkg-config --cflags readyd) /dev/null

# --- the compat libsystemd.so.0 ---------------------------------------------------------------
compat=$prefix/lib/readyd/compat/libsystemd.so.0
system_systemd=/usr/lib/x86_64-linux-gnu/libsystemd.so.0
[ -e "$compat" ] && ok "installed lib/readyd/compat/libsystemd.so.0" || not_ok "installed lib/readyd/compat/libsystemd.so.0"
expect "compat SONAME" "$(readelf -d "$compat" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')" "libsystemd.so.0"
expect "compat NEEDED is libc.so.6 alone" "$(readelf -d "$compat" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')" "libc.so.6 "
exports() { objdump -T "$1" | awk '$NF ~ /^sd_(notify|pid_notify|listen_fds|is_|booted|watchdog_enabled|pidfd_get_inode_id)/ {print $NF "@" $(NF-1)}' | sort | tr '\n' ' '; }
if [ -e "$system_systemd" ]; then
  expect "compat exports the system libsystemd's sd-daemon symbols under the same nodes, plus those of the three newer ones it lacks" \
    "$(exports "$compat")" \
    "$( (exports "$system_systemd" | tr ' ' '\n'; printf '%s\n' sd_pid_notify_barrier@LIBSYSTEMD_254 sd_pid_notifyf_with_fds@LIBSYSTEMD_254 sd_pidfd_get_inode_id@LIBSYSTEMD_258) | grep . | sort -u | tr '\n' ' ')"
  expect "compat exports nothing but sd-daemon functions" \
    "$(nm -D --defined-only "$compat" | awk '$2 != "A" {print $3}' | grep -vc '^sd_')" "0"
  # A binary linked against the real libsystemd runs on the compat library unchanged.
  cc -std=c11 -Wall -Wextra -Werror -o "$work/uses-libsystemd" "$repo/tests/c/uses-libsystemd.c" "$system_systemd"
  out=$(LD_LIBRARY_PATH=$prefix/lib/readyd/compat "$sup" notify "$work/notify.sock" -- "$work/uses-libsystemd" 2>&1); rc=$?
  expect "a libsystemd binary on compat: READY=1 received, clean exit" "$rc" "0"
  expect "a libsystemd binary on compat: readyd's libsystemd.so.0 is mapped" \
    "$(printf '%s\n' "$out" | grep '^maps: libsystemd')" "maps: libsystemd.so.0 from $(readlink -f "$compat")"
  expect "a libsystemd binary on compat: liblzma is not mapped" "$(printf '%s\n' "$out" | grep '^maps: liblzma')" "maps: liblzma absent"
  # libsystemd before 256 links liblzma; from 256 on (Debian 13) it loads it only when it
  # decompresses something, and then this witness has nothing to show.
  if readelf -d "$system_systemd" | grep -q 'NEEDED.*\[liblzma'; then
    out=$("$sup" notify "$work/notify.sock" -- "$work/uses-libsystemd" 2>&1)
    expect "the same binary on the system's libsystemd maps liblzma (so the check above can fail)" \
      "$(printf '%s\n' "$out" | grep '^maps: liblzma')" "maps: liblzma mapped"
  else
    skip "the same binary on the system's libsystemd maps liblzma" "$system_systemd does not link liblzma (systemd 256 or later loads it on demand)"
  fi
  # A binary that needs a function readyd does not have: the loader names it; no stub.
  cc -std=c11 -Wall -Wextra -Werror -DUSE_SD_BUS -Wl,-z,now -o "$work/uses-sd-bus" "$repo/tests/c/uses-libsystemd.c" "$system_systemd"
  out=$(LD_LIBRARY_PATH=$prefix/lib/readyd/compat "$work/uses-sd-bus" 2>&1); rc=$?
  expect "a binary needing sd_bus_default fails to start on compat, naming the symbol" \
    "$rc:$(printf '%s\n' "$out" | grep -c 'undefined symbol: sd_bus_default')" "127:1"
else
  skip "compat compared with the system's libsystemd.so.0" "$system_systemd not present (apt-get install libsystemd0)"
fi

# --- the article's daemon under a notify receiver: exact bytes, the sender's pid ------------
# notify_run ADDRESS BINARY [WRAPPER...]: the datagram line must be exactly what the
# article's sd_notify call means, with the pid that supervise started.
notify_run() {
  local addr=$1 bin=$2; shift 2
  local out pid line want
  out=$("$sup" notify "$addr" -- "$@" "$bin" 2>&1); local rc=$?
  pid=$(printf '%s\n' "$out" | sed -n 's/^notify: started pid \([0-9]*\) .*/\1/p')
  line=$(printf '%s\n' "$out" | grep '^notify: datagram' | head -n 1)
  local payload="READY=1\\nSTATUS=ready\\nMAINPID=$pid\\n"
  want="notify: datagram from pid $pid: $((30 + ${#pid})) bytes \"$payload\""
  expect "$(basename "$bin") ${*:+under $1 }at $addr: one datagram, exact bytes, sender pid $pid" "$line" "$want"
  expect "$(basename "$bin") ${*:+under $1 }at $addr: only one datagram" \
    "$(printf '%s\n' "$out" | grep -c '^notify: datagram')" "1"
  expect "$(basename "$bin") ${*:+under $1 }at $addr: ready, then exits 0 on SIGTERM (supervise rc)" "$rc" "0"
  [ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
}
notify_run "$work/notify.sock" "$ex/article-daemon"
notify_run "@readyd-check-$$" "$ex/article-daemon"
notify_run "$work/notify.sock" "$ex/article-daemon-static"

# --- the article's daemon under the Upstart emulation ---------------------------------------
out=$("$sup" upstart -- "$ex/article-daemon" 2>&1); rc=$?
pid=$(printf '%s\n' "$out" | sed -n 's/^upstart: started pid \([0-9]*\) .*/\1/p')
expect "article-daemon under Upstart: stopped itself with SIGSTOP" \
  "$(printf '%s\n' "$out" | grep -c "^upstart: pid $pid stopped itself with signal 19")" "1"
expect "article-daemon under Upstart: stopped exactly once, exited 0" \
  "$(printf '%s\n' "$out" | tail -n 2 | tr '\n' '|')" "upstart: pid $pid exited with status 0|upstart: pid $pid stopped 1 time(s)|"
expect "article-daemon under Upstart: supervise rc" "$rc" "0"

# --- upstart_ready(): stops once, and its worker does not stop again ----------------------
out=$("$sup" upstart -- "$ex/upstart-ready" 2>&1); rc=$?
expect "upstart_ready() returns 1 under Upstart" \
  "$(printf '%s\n' "$out" | grep '^upstart_ready()')" "upstart_ready() = 1: stopped once, resumed by the supervisor"
expect "upstart_ready() in a later worker returns 0, UPSTART_JOB gone" \
  "$(printf '%s\n' "$out" | grep '^worker:')" "worker: upstart_ready() = 0, UPSTART_JOB unset"
expect "upstart-ready under Upstart: stopped once, exited 0 (supervise rc)" "$rc" "0"
[ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
expect "upstart_ready() without UPSTART_JOB returns 0 and does not stop" \
  "$(env -u UPSTART_JOB timeout 10 "$ex/upstart-ready" </dev/null 2>&1 & p=$!; sleep 0.5; kill -TERM $p; wait $p; echo "rc=$?")" \
  "$(printf 'upstart_ready() = 0: not started by Upstart\nworker: upstart_ready() = 0, UPSTART_JOB unset\nrc=0')"

# --- the fork branch: the parent returns at once, the daemon lives on in its own session ----
cp "$ex/article-daemon" "$work/article-daemon-fork"
if env -u NOTIFY_SOCKET -u UPSTART_JOB timeout 10 "$work/article-daemon-fork" </dev/null; then
  ok "article-daemon without a supervisor: the parent exits 0"
else
  not_ok "article-daemon without a supervisor: the parent exits 0"
fi
dpid=""
for _ in $(seq 50); do dpid=$(pgrep -f "^$work/article-daemon-fork\$" | head -n 1); [ -n "$dpid" ] && break; sleep 0.1; done
if [ -n "$dpid" ]; then
  expect "forked daemon leads its own session" "$(ps -o sid= -p "$dpid" | tr -d ' ')" "$dpid"
  expect "forked daemon has /dev/null as fds 0-2" \
    "$(readlink "/proc/$dpid/fd/0" "/proc/$dpid/fd/1" "/proc/$dpid/fd/2" | sort -u)" "/dev/null"
  kill -TERM "$dpid"
else
  not_ok "forked daemon is running"
fi

# --- memory checks -------------------------------------------------------------------------
if command -v valgrind >/dev/null; then
  notify_run "$work/notify.sock" "$ex/article-daemon" valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
  out=$("$sup" upstart -- valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$ex/upstart-ready" 2>&1)
  expect "upstart-ready under valgrind and Upstart: clean, exits 0" "$?" "0"
else
  skip "the article's daemon and upstart-ready under valgrind" "valgrind not installed (apt-get install valgrind)"
fi
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# shellcheck disable=SC2086
if cc -std=c11 -Wall -Wextra -Wpedantic -Werror $san $(pkg-config --cflags readyd) -o "$work/article-daemon-asan" \
     "$repo/c-examples/article-daemon.c" $(pkg-config --libs readyd) -Wl,-rpath,"$prefix/lib" 2>"$work/asan.log"; then
  notify_run "$work/notify.sock" "$work/article-daemon-asan"
else
  not_ok "ASan/UBSan build of article-daemon"; sed 's/^/#   /' "$work/asan.log"
fi

finish
