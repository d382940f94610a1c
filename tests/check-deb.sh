#!/usr/bin/env bash
# check-deb.sh: the Debian packages, built and used as a distribution would.
#
# Copies the source tree (without .git, target/ and build/) to a scratch directory, builds
# the source package (dpkg-source -b) and the binary packages (dpkg-buildpackage -us -uc -b;
# the package build runs tests/c/check-c.sh unless DEB_BUILD_OPTIONS has nocheck), runs
# lintian on both (no error allowed; warnings and notes are shown), checks what each
# package holds (the compat libsystemd.so.0 only in its private directory, no shlibs or
# symbols entry offering libsystemd, the man pages where man finds them and clear of
# libsystemd-dev's names), then unpacks the three .debs into a scratch root (dpkg -x) and
# builds the article's daemon against them through pkg-config: by hand, then with meson,
# CMake, autotools and make (tests/c/check-consumers.sh --root).
#
# Toolchain: Debian's cargo and rustc when dpkg-checkbuilddeps accepts them; otherwise the
# rustup toolchain in ~/.cargo, through the build profile pkg.readyd.rustup (Debian 12).
# Missing debhelper, dpkg-dev or lintian is a SKIP (apt-get install debhelper dpkg-dev
# lintian); with READYD_REQUIRE_TOOLS=1 (CI) it is a failure.
# Prints TAP (tests/tap.sh), then `N passed, M failed`; exits non-zero on any failure.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/tap.sh
. "$repo/tests/tap.sh"
indent() { sed 's/^/#   /'; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" = 0 ]; exit; }

missing=""
for tool in dpkg-buildpackage dpkg-source dh lintian dpkg-deb; do
  command -v "$tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  if [ "${READYD_REQUIRE_TOOLS:-0}" = 1 ]; then
    not_ok "Debian packaging tools:$missing not installed (READYD_REQUIRE_TOOLS=1)"
  else
    echo "SKIP: Debian packages:$missing not installed (apt-get install debhelper dpkg-dev lintian)"
  fi
  finish
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/readyd-check-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
version=$(dpkg-parsechangelog -l "$repo/debian/changelog" -S Version)
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
src=$work/readyd-$version
# timed NAME COMMAND...: runs it, printing how long it took as a comment.
timed() {
  local name=$1 t0=$SECONDS rc
  shift
  "$@"; rc=$?
  echo "# $name: $((SECONDS - t0)) s"
  return $rc
}

expect "debian/changelog's version is Cargo.toml's" "$version" \
  "$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n 1)"

# --- the source, as a packager gets it ----------------------------------------------------
mkdir -p "$src"
tar -C "$repo" --exclude=./.git --exclude=./target --exclude=./build --exclude=./fuzz/target \
  --exclude=./debian/.debhelper --exclude=./debian/tmp --exclude='./debian/*.substvars' \
  --exclude='./debian/*.debhelper.log' --exclude=./debian/files \
  --exclude=./debian/libreadyd0 --exclude=./debian/libreadyd-dev --exclude=./debian/readyd \
  -cf - . | tar -C "$src" -xf -
if out=$(cd "$work" && dpkg-source -b "readyd-$version" 2>&1); then
  ok "dpkg-source -b: readyd_$version.dsc (3.0 (native))"
else
  not_ok "dpkg-source -b"; printf '%s\n' "$out" | tail -n 20 | indent
fi

# --- the binary packages --------------------------------------------------------------------
profile=()
if (cd "$src" && dpkg-checkbuilddeps >/dev/null 2>&1); then
  echo "# toolchain: Debian's cargo and rustc (Build-Depends satisfied)"
elif [ -x "$HOME/.cargo/bin/cargo" ]; then
  profile=(--build-profiles=pkg.readyd.rustup)
  echo "# toolchain: rustup's, in $HOME/.cargo (build profile pkg.readyd.rustup): $(cd "$src" && dpkg-checkbuilddeps 2>&1 | sed 's/^dpkg-checkbuilddeps: error: //')"
fi
if timed dpkg-buildpackage sh -c "cd '$src' && dpkg-buildpackage -us -uc -b ${profile[*]} >'$work/build.log' 2>&1"; then
  ok "dpkg-buildpackage -us -uc -b ${profile[*]}"
  grep -E '^[0-9]+ passed, [0-9]+ failed$' "$work/build.log" | sed 's/^/# package build test (tests\/c\/check-c.sh): /'
else
  not_ok "dpkg-buildpackage -us -uc -b ${profile[*]}"; tail -n 40 "$work/build.log" | indent
  finish
fi
debs=()
for p in libreadyd0 libreadyd-dev readyd; do
  deb=$work/${p}_${version}_$arch.deb
  if [ -f "$deb" ]; then ok "built $(basename "$deb")"; debs+=("$deb"); else not_ok "built ${p}_${version}_$arch.deb"; fi
done
[ ${#debs[@]} = 3 ] || finish

# --- lintian: no error ------------------------------------------------------------------------
t0=$SECONDS
lint=$(cd "$work" && lintian --pedantic --display-info "readyd_${version}_$arch.changes" "readyd_$version.dsc" 2>&1 |
       grep -v 'running with root privileges')
echo "# lintian: $((SECONDS - t0)) s"
errors=$(printf '%s\n' "$lint" | grep -c '^E:')
if [ "$errors" = 0 ]; then
  ok "lintian --pedantic on the .changes and the .dsc: no error ($(printf '%s\n' "$lint" | grep -c '^W:') warnings, $(printf '%s\n' "$lint" | grep -c '^[IP]:') notes)"
else
  not_ok "lintian: $errors errors"
fi
printf '%s\n' "$lint" | grep . | indent

# --- what each package holds ---------------------------------------------------------------------
contents() { dpkg-deb -c "$work/${1}_${version}_$arch.deb" | awk '{print $6}' | sed 's|^\./|/|'; }
has() {
  local pkg=$1; shift
  local list miss=""
  list=$(contents "$pkg")
  for f in "$@"; do printf '%s\n' "$list" | grep -qx "$f" || miss="$miss $f"; done
  if [ -z "$miss" ]; then ok "$pkg holds $*"; else not_ok "$pkg lacks$miss"; fi
}
lib=/usr/lib/$triplet
has libreadyd0 "$lib/libreadyd.so.$version" "$lib/libreadyd.so.0" "$lib/readyd/compat/libsystemd.so.0"
has libreadyd-dev /usr/include/readyd/readyd.h /usr/include/readyd/systemd/sd-daemon.h \
  "$lib/libreadyd.a" "$lib/libreadyd.so" "$lib/pkgconfig/readyd.pc" \
  /usr/share/man/man3/sd_notify.3readyd.gz /usr/share/man/man3/sd_notifyf.3readyd.gz \
  /usr/share/man/man3/readyd_ready.3.gz /usr/share/man/man3/readyd_daemonize.3.gz \
  /usr/share/man/man3/upstart_ready.3.gz /usr/share/man/man7/readyd.7.gz
has readyd /usr/bin/readyd /usr/share/man/man1/readyd.1.gz
all=$(for p in libreadyd0 libreadyd-dev readyd; do contents "$p" | grep -v '/$'; done)
expect "no file is in two packages" "$(printf '%s\n' "$all" | sort | uniq -d | tr '\n' ' ')" ""
expect "nothing is installed as libsystemd outside $lib/readyd/compat" \
  "$(printf '%s\n' "$all" | grep libsystemd | grep -v "^$lib/readyd/compat/libsystemd.so.0$" | tr '\n' ' ')" ""
expect "no man page takes a name of libsystemd-dev's (sd_*.3): they are sd_*.3readyd" \
  "$(printf '%s\n' "$all" | grep -E '/man3/(sd_|SD_)[^/]*\.3\.gz$' | tr '\n' ' ')" ""
ctrl=$work/ctrl
dpkg-deb -e "$work/libreadyd0_${version}_$arch.deb" "$ctrl"
expect "libreadyd0's shlibs offers libreadyd.so.0 alone (never libsystemd.so.0)" \
  "$(cat "$ctrl/shlibs")" "libreadyd 0 libreadyd0 (>= $version)"
expect "libreadyd0's symbols file covers libreadyd.so.0 alone: the READYD_0 node and 27 functions" \
  "$(grep -v '^[ *]' "$ctrl/symbols")|$(grep -c '@READYD_0 ' "$ctrl/symbols")" \
  "libreadyd.so.0 libreadyd0 #MINVER#|28"
expect "libreadyd-dev depends on the same libreadyd0" \
  "$(dpkg-deb -f "$work/libreadyd-dev_${version}_$arch.deb" Depends)" "libreadyd0 (= $version)"
expect "Multi-Arch: libreadyd0 same, libreadyd-dev same, readyd foreign" \
  "$(for p in libreadyd0 libreadyd-dev readyd; do dpkg-deb -f "$work/${p}_${version}_$arch.deb" Multi-Arch; done | tr '\n' ' ')" \
  "same same foreign "
expect "libreadyd0 depends on libc6 alone" \
  "$(dpkg-deb -f "$work/libreadyd0_${version}_$arch.deb" Depends | sed 's/ (.*//')" "libc6"

# --- unpacked into a scratch root ----------------------------------------------------------------
root=$work/root
for deb in "${debs[@]}"; do dpkg-deb -x "$deb" "$root"; done
ok "dpkg -x of the three .debs into a scratch root"
expect "compat library: SONAME libsystemd.so.0, NEEDED libc.so.6 alone" \
  "$(readelf -d "$root$lib/readyd/compat/libsystemd.so.0" | sed -n 's/.*(\(SONAME\|NEEDED\)).*\[\(.*\)\]/\2/p' | tr '\n' ' ')" \
  "libc.so.6 libsystemd.so.0 "
bad=""
for name in sd_notify sd_notifyf sd_listen_fds_with_names sd_is_socket sd_watchdog_enabled sd_booted \
            sd_pidfd_get_inode_id; do
  page=$(MANPATH=$root/usr/share/man man -w 3readyd "$name" 2>/dev/null)
  out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
  [ -n "$page" ] && [ -z "$out" ] || bad="$bad $name"
done
for spec in "3 readyd_failed" "3 readyd_daemonize" "3 upstart_ready" "7 readyd" "1 readyd"; do
  page=$(MANPATH=$root/usr/share/man man -w "${spec%% *}" "${spec#* }" 2>/dev/null)
  out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
  [ -n "$page" ] && [ -z "$out" ] || bad="$bad ${spec#* }(${spec%% *})"
done
expect "man finds the packaged pages (aliases through symlinks) and formats them without a warning" "$bad" ""
out=$("$root/usr/bin/readyd" --help 2>&1); rc=$?
if [ "$rc" -lt 126 ] && printf '%s\n' "$out" | grep -q readyd; then
  ok "the packaged readyd command runs (--help: exit $rc, \"$(printf '%s\n' "$out" | head -n 1)\")"
else
  not_ok "the packaged readyd command runs"; printf '%s\n' "$out" | indent
fi

# --- the article's daemon against the unpacked packages, through pkg-config ----------------------
export PKG_CONFIG_LIBDIR=$root$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root
expect "pkg-config --cflags --libs readyd points into the unpacked packages" \
  "$(pkg-config --cflags --libs readyd | sed 's/ *$//')" "-I$root/usr/include/readyd -L$root$lib -lreadyd"
cc -std=c11 -D_GNU_SOURCE -o "$work/supervise" "$repo/tests/c/supervise.c"
# shellcheck disable=SC2046 # pkg-config output is meant to be split
if out=$(cc -std=c11 -Wall -Wextra -Wpedantic -Werror -Wformat=2 $(pkg-config --cflags readyd) \
           -o "$work/article-daemon" "$repo/c-examples/article-daemon.c" $(pkg-config --libs readyd) 2>&1); then
  ok "the article's daemon builds against the .debs with pkg-config (-std=c11 -Wall -Wextra -Wpedantic -Werror)"
  out=$(LD_LIBRARY_PATH=$root$lib "$work/supervise" notify "$work/notify.sock" -- "$work/article-daemon" 2>&1); rc=$?
  pid=$(printf '%s\n' "$out" | sed -n 's/^notify: started pid \([0-9]*\) .*/\1/p')
  expect "it runs on the packaged libreadyd.so.0 and sends the article's datagram from pid $pid, then exits 0" \
    "$(printf '%s\n' "$out" | grep '^notify: datagram')|$rc" \
    "notify: datagram from pid $pid: $((30 + ${#pid})) bytes \"READY=1\\nSTATUS=ready\\nMAINPID=$pid\\n\"|0"
  expect "the loader takes libreadyd.so.0 from the unpacked libreadyd0" \
    "$(LD_LIBRARY_PATH=$root$lib ldd "$work/article-daemon" | awk '/libreadyd/ {print $3}')" "$root$lib/libreadyd.so.0"
else
  not_ok "the article's daemon builds against the .debs with pkg-config"; printf '%s\n' "$out" | indent
fi
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR

# --- and with meson, CMake, autotools and make ------------------------------------------------
while IFS= read -r line; do
  case $line in
    "ok - "*) ok ".debs: ${line#ok - }" ;;
    "not ok - "*) not_ok ".debs: ${line#not ok - }" ;;
    SKIP*|"#"*) echo "$line" ;;
  esac
done < <("$repo/tests/c/check-consumers.sh" --root "$root" 2>&1)

finish
