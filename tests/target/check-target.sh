#!/usr/bin/env bash
# check-target.sh: `make check-target TARGET=<triple>`, readyd built for another target and
# run for real. The Makefile has built build/<triple>/ (and the host's build/) and passes:
#   TARGET        the Rust triple        TARGET_CC     its C compiler (with flags)
#   TARGET_RUN    how its programs run here (empty: directly; qemu-aarch64 -L ... for arm64)
#   TARGET_LIBC   the libc soname its libraries need
#   TARGET_BUILD  build/<triple>         TARGET_COMPAT its compat libsystemd.so.0
#
# 1. the examples installed and built through pkg-config with the target's compiler; the
#    ABI of libreadyd.so.0 and of the compat library (exports equal to the host build's);
# 2. the article's daemon (shared and static) under the notify receiver (exact bytes, the
#    sender's pid) and the Upstart emulation, upstart_ready(), and the target's `readyd
#    run`; for musl the static `readyd` (no NEEDED) in a FROM-scratch-style chroot;
# 3. the differential harness: i686 and aarch64 against Debian's libsystemd0 of that
#    architecture (tests/target/fetch-libsystemd.sh) with the expected differences of
#    tests/diff; musl case by case against the x86_64 glibc build of readyd; on i686 and
#    aarch64 a binary linked with that libsystemd0, run on the compat library;
# 4. i686 and musl: the Rust tests, natively (the command's against the target's readyd).
# A missing tool is a SKIP, or a failure with READYD_REQUIRE_TOOLS=1.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
: "${TARGET:?run me through make check-target TARGET=<triple>}"
cc=${TARGET_CC:?} libc=${TARGET_LIBC:?} build=$repo/${TARGET_BUILD:?} compat=$repo/${TARGET_COMPAT:?}
read -r -a run <<<"${TARGET_RUN:-}"
work=$(mktemp -d "${TMPDIR:-/tmp}/readyd-check-target.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/tap.sh
. "$repo/tests/tap.sh"
echo "# $TARGET"
need_tool() {
  command -v "$1" >/dev/null && return 0
  skip_tool "$TARGET: $1" "not found ($2)"; finish
}
need_tool "${cc%% *}" "the C compiler for $TARGET; .ci/run installs it"
[ ${#run[@]} -eq 0 ] || need_tool "${run[0]}" "apt-get install qemu-user"
echo "# $TARGET: CC=$cc${run[*]:+, run with ${run[*]}}"

# --- 1. install, build the examples through pkg-config, the ABI --------------------------
ex=$work/ex
if ! out=$(TARGET=$TARGET CC=$cc tests/c/build-examples.sh "$ex" 2>&1); then
  not_ok "install and build the examples with $cc"; printf '%s\n' "$out" | sed 's/^/#   /'; finish
fi
ok "install and build the examples through pkg-config with $cc (-std=c11 -Wall -Wextra -Wpedantic -Werror)"
prefix=$ex/prefix
so=$prefix/lib/libreadyd.so.0.1.0
machine() { readelf -h "$1" | sed -n 's/^ *Machine: *//p'; }
want_machine=$(machine "$build/readyd")
case $TARGET in
  x86_64-*) expect "the target's readyd is x86-64 code" "$want_machine" "Advanced Micro Devices X86-64" ;;
  i686-*) expect "the target's readyd is i386 code" "$want_machine" "Intel 80386" ;;
  aarch64-*) expect "the target's readyd is AArch64 code" "$want_machine" "AArch64" ;;
esac
for f in "$so" "$prefix/lib/libreadyd.a" "$prefix/lib/readyd/compat/libsystemd.so.0" "$ex/article-daemon" \
         "$ex/article-daemon-static"; do
  [ "$f" = "$prefix/lib/libreadyd.a" ] && continue
  expect "$(basename "$f") is built for $TARGET" "$(machine "$f")" "$want_machine"
done
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' '; }
soname() { readelf -d "$1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p'; }
# Defined dynamic symbols with their versions, as readelf prints them for any ELF machine.
exports() { readelf --dyn-syms -W "$1" | awk '$7 != "UND" && $8 ~ /^(sd_|readyd_|upstart_)/ {print $8}' | sort | tr '\n' ' '; }
expect "SONAME" "$(soname "$so")" "libreadyd.so.0"
expect "NEEDED is $libc alone" "$(needed "$so")" "$libc "
expect "exported symbols are exactly the API of include/readyd.map, as READYD_0" "$(exports "$so")" \
  "$(sed -n 's/^ *\([a-z_]*\);$/\1@@READYD_0/p' include/readyd.map | sort | tr '\n' ' ')"
c=$prefix/lib/readyd/compat/libsystemd.so.0
expect "compat SONAME" "$(soname "$c")" "libsystemd.so.0"
expect "compat NEEDED is $libc alone" "$(needed "$c")" "$libc "
expect "compat exports the same symbols under the same nodes as the host's compat library" \
  "$(exports "$c")" "$(exports target/compat/libsystemd.so.0)"
cmp -s "$c" "$compat" && ok "the installed compat library is $TARGET_COMPAT" || not_ok "the installed compat library is $TARGET_COMPAT"

# --- 2. the daemons under the notify receiver and the Upstart emulation ----------------------
# supervise is the test's instrument, built for this machine; the daemons are the target's.
sup=$work/supervise
cc -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$sup" tests/c/supervise.c || { not_ok "build supervise"; finish; }
notify_run() {
  local addr=$1 bin=$2 out rc pid line
  out=$("$sup" notify "$addr" -- "${run[@]}" "$bin" 2>&1); rc=$?
  pid=$(printf '%s\n' "$out" | sed -n 's/^notify: started pid \([0-9]*\) .*/\1/p')
  line=$(printf '%s\n' "$out" | grep '^notify: datagram' | head -n 1)
  expect "$(basename "$bin") at $addr: one datagram, exact bytes, sender pid $pid" "$line" \
    "notify: datagram from pid $pid: $((30 + ${#pid})) bytes \"READY=1\\nSTATUS=ready\\nMAINPID=$pid\\n\""
  expect "$(basename "$bin") at $addr: only one datagram, exits 0 on SIGTERM" \
    "$(printf '%s\n' "$out" | grep -c '^notify: datagram'):$rc" "1:0"
}
notify_run "$work/notify.sock" "$ex/article-daemon"
notify_run "@readyd-check-target-$$" "$ex/article-daemon"
notify_run "$work/notify.sock" "$ex/article-daemon-static"
out=$("$sup" upstart -- "${run[@]}" "$ex/article-daemon" 2>&1); rc=$?
pid=$(printf '%s\n' "$out" | sed -n 's/^upstart: started pid \([0-9]*\) .*/\1/p')
expect "article-daemon under Upstart: stopped itself once with SIGSTOP, exited 0" \
  "$(printf '%s\n' "$out" | grep -c "^upstart: pid $pid stopped itself with signal 19"):$(printf '%s\n' "$out" | tail -n 2 | tr '\n' '|'):$rc" \
  "1:upstart: pid $pid exited with status 0|upstart: pid $pid stopped 1 time(s)|:0"
out=$("$sup" upstart -- "${run[@]}" "$ex/upstart-ready" 2>&1); rc=$?
expect "upstart_ready() under Upstart: 1, then 0 in its worker, exits 0" \
  "$(printf '%s\n' "$out" | grep -E '^(upstart_ready\(\)|worker:)' | tr '\n' '|'):$rc" \
  "upstart_ready() = 1: stopped once, resumed by the supervisor|worker: upstart_ready() = 0, UPSTART_JOB unset|:0"

# The target's readyd command runs the article's daemon to READY.
readyd_run() {
  env -u NOTIFY_SOCKET -u UPSTART_JOB -u READYD_NOTIFY_FD "$@" 2>&1
}
out=$(readyd_run "${run[@]}" "$build/readyd" run --until ready --timeout 10 -- "${run[@]}" "$ex/article-daemon"); rc=$?
expect "the target's readyd run: the article's daemon is ready, MAINPID its own pid" \
  "$rc:$(printf '%s\n' "$out" | grep -c '^ready after .* with MAINPID ')" "0:1"
[ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'

if [ "$TARGET" = x86_64-unknown-linux-musl ]; then
  expect "musl readyd: a static binary, no NEEDED at all" "$(needed "$build/readyd")" ""
  # The article's daemon linked statically, libc and all, against the installed libreadyd.a.
  # shellcheck disable=SC2046
  $cc -std=c11 -Wall -Wextra -Wpedantic -Werror -static $(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags readyd) \
    -o "$work/article-daemon" c-examples/article-daemon.c \
    $(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --libs --static readyd | sed 's/-lreadyd/-l:libreadyd.a/')
  expect "musl article-daemon built with -static: no NEEDED at all" "$(needed "$work/article-daemon")" ""
  # A FROM-scratch-style root: the two binaries and the /dev/null a container runtime gives.
  root=$work/scratch
  mkdir -p "$root/dev"
  cp "$build/readyd" "$work/article-daemon" "$root/"
  if [ "$(id -u)" = 0 ] && mknod -m 666 "$root/dev/null" c 1 3 2>/dev/null; then
    out=$(env -i TMPDIR=/ "$(command -v chroot)" "$root" /readyd run --until ready --timeout 10 -- /article-daemon 2>&1); rc=$?
    printf '%s\n' "$out" | sed 's/^/#   /'
    expect "static readyd in a root holding only itself, the daemon and /dev/null: ready" \
      "$rc:$(printf '%s\n' "$out" | grep -c '^ready after .* with MAINPID ')" "0:1"
  elif [ "${READYD_REQUIRE_TOOLS:-}" = 1 ]; then
    not_ok "a FROM-scratch-style root needs root (chroot, mknod)"
  else
    echo "SKIP: the FROM-scratch-style root needs root (chroot, mknod)"
  fi
fi

# --- 3. the differential harness ----------------------------------------------------------------
diff_run() {
  local out rc
  out=$(tests/diff/run.sh "$@" 2>&1); rc=$?
  printf '%s\n' "$out" | awk '!/^ok / || /skipped/' | sed 's/^/#   /'
  if [ "$rc" = 0 ]; then ok "differential: $(printf '%s\n' "$out" | tail -n 1)"; else not_ok "differential: $(printf '%s\n' "$out" | tail -n 1)"; fi
}
case $TARGET in
  i686-unknown-linux-gnu | aarch64-unknown-linux-gnu)
    arch=$([ "$TARGET" = i686-unknown-linux-gnu ] && echo i386 || echo arm64)
    if ref=$(tests/target/fetch-libsystemd.sh "$arch" "$build/libsystemd0"); then
      refdir=$build/libsystemd0
      multiarch=$(basename "$(dirname "$ref")")
      libpath=$refdir/usr/lib/$multiarch:$refdir/lib/$multiarch
      # The expected differences, with this target's own lines in place of the shared ones.
      list=$work/expected-differences.txt
      override=tests/diff/expected-differences.$TARGET.txt
      if [ -e "$override" ]; then
        awk -F' *[|] *' 'FNR == 1 { f++ } f == 1 && $0 !~ /^[ \t]*(#|$)/ { mine[$1] = 1 }
          f == 1 { print; next } !($1 in mine) { print }' "$override" tests/diff/expected-differences.txt >"$list"
      else
        cp tests/diff/expected-differences.txt "$list"
      fi
      if [ "$arch" = i386 ]; then runner="env LD_LIBRARY_PATH=$libpath"; else runner="${run[*]} -E LD_LIBRARY_PATH=$libpath"; fi
      echo "# reference: Debian's libsystemd0:$arch ($(dpkg-deb -f "$(ls /var/cache/apt/archives/libsystemd0_*_"$arch".deb 2>/dev/null | head -n 1)" Version 2>/dev/null || echo unpacked)) from $ref"
      CC=$cc DIFF_RUNNER=$runner DIFF_EXPECTED=$list diff_run "$ref" "$build/libreadyd.so.0" "$compat"

      # A binary linked against this architecture's libsystemd runs unchanged on the compat
      # library, which brings no liblzma along; on the real one it does (so the check can fail).
      if $cc -std=c11 -Wall -Wextra -Werror -o "$work/uses-libsystemd" tests/c/uses-libsystemd.c "$ref" \
           -Wl,-rpath-link,"$libpath" 2>"$work/uses.log"; then
        uses() {  # LIBRARY_PATH: run it under the notify receiver with that library path
          if [ "$arch" = i386 ]; then
            "$sup" notify "$work/notify.sock" -- env LD_LIBRARY_PATH="$1" "$work/uses-libsystemd" 2>&1
          else
            "$sup" notify "$work/notify.sock" -- "${run[@]}" -E LD_LIBRARY_PATH="$1" "$work/uses-libsystemd" 2>&1
          fi
        }
        out=$(uses "$(dirname "$compat")"); rc=$?
        expect "a binary linked with libsystemd0:$arch, on compat: READY=1, readyd's library mapped, no liblzma" \
          "$rc|$(printf '%s\n' "$out" | grep '^maps: ' | tr '\n' '|')" \
          "0|maps: libsystemd.so.0 from $(readlink -f "$compat")|maps: liblzma absent|"
        out=$(uses "$libpath"); rc=$?
        expect "the same binary on libsystemd0:$arch maps liblzma" \
          "$rc|$(printf '%s\n' "$out" | grep '^maps: liblzma')" "0|maps: liblzma mapped"
      else
        not_ok "build tests/c/uses-libsystemd.c against libsystemd0:$arch"; sed 's/^/#   /' "$work/uses.log"
      fi
    elif [ "${READYD_REQUIRE_TOOLS:-}" = 1 ]; then
      not_ok "differential: no libsystemd0:$arch (above)"
    else
      echo "SKIP: differential: no libsystemd0:$arch (above)"
    fi
    ;;
  x86_64-unknown-linux-musl)
    # No libsystemd for musl: the reference is readyd itself as built for x86_64 glibc
    # (build/, by make), run by a glibc harness; every case must come out the same.
    list=$work/no-differences.txt
    echo "# musl against x86_64 glibc: no case may differ" >"$list"
    CC=$cc DIFF_REF_CC=cc DIFF_EXPECTED=$list diff_run build/libreadyd.so.0 "$build/libreadyd.so.0" "$compat"
    ;;
esac

# --- 4. the Rust tests where the target runs natively ----------------------------------------
if [ "$TARGET" = i686-unknown-linux-gnu ] || [ "$TARGET" = x86_64-unknown-linux-musl ]; then
  for args in "" "--features cli --bins"; do
    # shellcheck disable=SC2086
    if out=$(READYD_BIN=$build/readyd "${CARGO:-cargo}" test --locked --target "$TARGET" --target-dir target/test $args 2>&1); then
      ok "cargo test --target $TARGET $args: $(printf '%s\n' "$out" | awk '/^test result: ok/ {n += $4} END {print n " passed"}')"
    else
      not_ok "cargo test --target $TARGET $args"; printf '%s\n' "$out" | grep -E '^(test .*FAILED|---- |thread |error)' | sed 's/^/#   /' | head -n 40
    fi
  done
fi
finish
