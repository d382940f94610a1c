#!/usr/bin/env bash
# check-deb.sh: the Debian packages, built the way a build daemon builds them, and used as
# a distribution would.
#
# In a clean Debian 13 (trixie) chroot (debootstrap --variant=buildd, cached; each run
# works on an overlay of it, thrown away at the end):
#   1. the source package: dpkg-source -b of the tracked files (git ls-files);
#   2. its Build-Depends, and nothing else, installed with apt: Debian's rustc and cargo,
#      the librust-*-dev packages of the two crates (debian/rules points cargo at
#      /usr/share/cargo/registry), debhelper;
#   3. dpkg-source -x of the .dsc, then dpkg-buildpackage -us -uc -b as an unprivileged
#      user with HOME=/nonexistent and no network at all (unshare -n): no rustup, no
#      ~/.cargo, no crates.io. The package build runs tests/c/check-c.sh;
#   4. lintian (trixie's) on the .dsc and the .changes: no error and no warning;
#   5. the three .debs installed with apt, then the autopkgtest (debian/tests) and the
#      meson, CMake, autotools and make consumers (tests/c/check-consumers.sh) against them.
# Then, on this machine: what each package holds (the compat libsystemd.so.0 only in its
# private directory, no shlibs or symbols entry offering libsystemd, the man pages where man
# finds them and clear of libsystemd-dev's names).
#
# The chroot is cached in $READYD_DEB_CACHE (default ~/.cache/readyd-deb): trixie/ is the
# bootstrapped tree (never changed after; a flock on trixie.lock guards it), archives/ the
# .debs apt downloaded, reused by later runs. Packages come from $READYD_DEB_MIRROR
# (default http://deb.debian.org/debian); only steps 2, 4 and 5 reach it.
# Needs root (debootstrap, mounts, chroot), debootstrap, unshare and dpkg-dev; without them
# it is a SKIP, a failure with READYD_REQUIRE_TOOLS=1 (CI).
# Prints TAP (tests/tap.sh), then `N passed, M failed`; exits non-zero on any failure.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/tap.sh
. "$repo/tests/tap.sh"
indent() { sed 's/^/#   /'; }

missing=""
for tool in debootstrap unshare chroot dpkg-deb dpkg-parsechangelog dpkg-architecture man; do
  command -v "$tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  skip_tool "Debian packages" "needs$missing (apt-get install debootstrap dpkg-dev man-db)"
  finish
fi
if [ "$(id -u)" != 0 ]; then
  skip_tool "Debian packages" "needs root (debootstrap, overlay mounts, chroot)"
  finish
fi
# Everything below runs in a mount namespace of its own: the overlay and the mounts inside
# the chroot go away with this process, whatever way it ends.
if [ -z "${READYD_CHECK_DEB_NS:-}" ]; then
  READYD_CHECK_DEB_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi

cache=${READYD_DEB_CACHE:-$HOME/.cache/readyd-deb}
mirror=${READYD_DEB_MIRROR:-http://deb.debian.org/debian}
base=$cache/trixie
work=$(mktemp -d "${TMPDIR:-/tmp}/readyd-check-deb.XXXXXX")
root=$work/root
# The chroot's mounts go first: /dev and the package cache are bind mounts, and rm must
# never reach through them.
cleanup() {
  umount -R "$root" 2>/dev/null || umount -R -l "$root" 2>/dev/null
  if mountpoint -q "$root" 2>/dev/null; then echo "# $root is still mounted: $work is left"; else rm -rf "$work"; fi
}
trap cleanup EXIT
version=$(dpkg-parsechangelog -l "$repo/debian/changelog" -S Version)
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
lib=/usr/lib/$triplet
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

# --- the clean chroot ---------------------------------------------------------------------
mkdir -p "$cache/archives/partial"
exec 9>"$cache/trixie.lock"
flock 9
if [ ! -e "$base/etc/debian_version" ]; then
  echo "# first run: debootstrap --variant=buildd trixie into $base (about a minute)"
  rm -rf "$base.tmp"
  t0=$SECONDS
  if debootstrap --variant=buildd --components=main trixie "$base.tmp" "$mirror" >"$work/debootstrap.log" 2>&1 &&
     mv "$base.tmp" "$base"; then
    ok "debootstrap --variant=buildd trixie ($((SECONDS - t0)) s)"
  else
    not_ok "debootstrap --variant=buildd trixie $mirror"; tail -n 20 "$work/debootstrap.log" | indent
    finish
  fi
fi
# Shared from here on: other runs may use the tree too, none may replace it.
flock -s 9
mkdir -p "$work/upper" "$work/ovl" "$root"
if ! mount -t overlay overlay -o "lowerdir=$base,upperdir=$work/upper,workdir=$work/ovl" "$root"; then
  not_ok "an overlay of $base (mount -t overlay)"; finish
fi
mount -t proc proc "$root/proc" && mount --bind /dev "$root/dev" && mount --bind /dev/pts "$root/dev/pts" &&
  mount -t tmpfs tmpfs "$root/tmp" && mount --bind "$cache/archives" "$root/var/cache/apt/archives" ||
  { not_ok "the mounts inside the chroot"; finish; }
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf 'APT::Install-Recommends "false";\nAPT::Get::Assume-Yes "true";\nDPkg::Lock::Timeout "600";\n' \
  >"$root/etc/apt/apt.conf.d/90readyd-check-deb"
# A throw-away chroot, as sbuild's: dpkg need not fsync, and man-db need not index pages.
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/90readyd-check-deb"
# in_root COMMAND...: as root in the chroot.
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
# as_builder COMMAND...: as the unprivileged builder, in /build, HOME nowhere (as sbuild).
as_builder() {
  chroot "$root" setpriv --reuid=builder --regid=builder --init-groups \
    env -i PATH=/usr/bin:/bin LC_ALL=C.UTF-8 HOME=/nonexistent USER=builder LOGNAME=builder \
    sh -c 'cd /build && exec "$@"' sh "$@"
}
# apt_get ARGS...: apt-get in the chroot, once more after apt-get update if the cached
# package lists point at files the mirror no longer has. Its output is in $work/apt.log.
apt_get() {
  { in_root apt-get -q "$@" || { in_root apt-get -q update && in_root apt-get -q "$@"; }; } >"$work/apt.log" 2>&1
}
in_root useradd --create-home --home-dir /build builder || { not_ok "useradd builder in the chroot"; finish; }
echo "man-db man-db/auto-update boolean false" | in_root debconf-set-selections
echo "# chroot: $(cat "$root/etc/debian_version") ($base, as an overlay)"

# --- 1. the source package ------------------------------------------------------------------
src=$root/build/readyd-$version
mkdir -p "$src"
if [ -e "$repo/.git" ] && command -v git >/dev/null; then
  # The tracked files, as they are in the working tree: what a release tarball holds.
  (cd "$repo" && git ls-files -z | tar --null -T - -cf -) | tar -C "$src" -xf -
else
  tar -C "$repo" --exclude=./target --exclude=./build --exclude=./fuzz/target --exclude='./debian/tmp' \
    -cf - . | tar -C "$src" -xf -
fi
in_root chown -R builder:builder /build
if as_builder dpkg-source -b "readyd-$version" >"$work/source.log" 2>&1; then
  ok "dpkg-source -b: readyd_$version.dsc ($(cat "$src/debian/source/format"))"
else
  not_ok "dpkg-source -b"; tail -n 20 "$work/source.log" | indent; finish
fi

# --- 2. the Build-Depends ------------------------------------------------------------------
if timed "apt-get build-dep" apt_get build-dep "/build/readyd_$version.dsc"; then
  ok "apt-get build-dep readyd_$version.dsc: $(in_root dpkg-query -W -f='${Package} ${Version}, ' rustc cargo librust-libc-dev librust-cc-dev | sed 's/, $//')"
else
  not_ok "apt-get build-dep readyd_$version.dsc"; tail -n 20 "$work/apt.log" | indent; finish
fi

# --- 3. the binary packages, offline, from the .dsc ------------------------------------------
rm -rf "$src"
as_builder dpkg-source -x "readyd_$version.dsc" "readyd-$version" >"$work/extract.log" 2>&1 ||
  { not_ok "dpkg-source -x readyd_$version.dsc"; indent <"$work/extract.log"; finish; }
build() {
  unshare --net chroot "$root" setpriv --reuid=builder --regid=builder --init-groups \
    env -i PATH=/usr/bin:/bin LC_ALL=C.UTF-8 HOME=/nonexistent USER=builder LOGNAME=builder \
    sh -c 'cd /build/readyd-'"$version"' && exec dpkg-buildpackage -us -uc -b' \
    >"$work/build.log" 2>&1
}
if timed dpkg-buildpackage build; then
  ok "dpkg-buildpackage -us -uc -b, offline (unshare -n), as a user, HOME=/nonexistent"
  grep -E '^[0-9]+ passed, [0-9]+ failed' "$work/build.log" | sed 's/^/# package build test (tests\/c\/check-c.sh): /'
else
  not_ok "dpkg-buildpackage -us -uc -b, offline"; grep -E '^not ok|error' "$work/build.log" | head -n 20 | indent
  tail -n 30 "$work/build.log" | indent
  finish
fi
expect "the build used Debian's crates: cargo compiled libc and cc from /usr/share/cargo/registry's versions" \
  "$(grep -oE 'Compiling (libc|cc) v[0-9.]+' "$work/build.log" | sort -u | tr '\n' ' ')" \
  "$(in_root dpkg-query -W -f='${Package} ${Version}\n' librust-cc-dev librust-libc-dev |
     sed -E 's/^librust-(.*)-dev ([^-]*)-.*/Compiling \1 v\2/' | sort | tr '\n' ' ')"
out=$root/build
debs=()
for p in libreadyd0 libreadyd-dev readyd; do
  deb=$out/${p}_${version}_$arch.deb
  if [ -f "$deb" ]; then ok "built $(basename "$deb")"; debs+=("$deb"); else not_ok "built ${p}_${version}_$arch.deb"; fi
done
[ ${#debs[@]} = 3 ] || finish

# --- 4. lintian: no error, no warning --------------------------------------------------------
if timed "apt-get install lintian" apt_get install lintian; then
  t0=$SECONDS
  lint=$(as_builder lintian --display-info --pedantic "readyd_${version}_$arch.changes" "readyd_$version.dsc" 2>&1)
  echo "# lintian $(in_root dpkg-query -W -f='${Version}' lintian): $((SECONDS - t0)) s"
  bad=$(printf '%s\n' "$lint" | grep -E '^[EW]: ')
  if [ -z "$bad" ]; then
    ok "lintian --pedantic on the .changes and the .dsc: no E: and no W: ($(printf '%s\n' "$lint" | grep -c '^[IPX]:') notes)"
  else
    not_ok "lintian: $(printf '%s\n' "$bad" | grep -c .) errors and warnings"
  fi
  printf '%s\n' "$lint" | grep . | indent
else
  not_ok "apt-get install lintian in the chroot"; tail -n 20 "$work/apt.log" | indent
fi

# --- 5. installed with apt, used ---------------------------------------------------------------
if timed "apt-get install of the .debs and the consumers' tools" apt_get install "${debs[@]/#$root/}" \
     meson ninja-build cmake autoconf automake pkgconf gcc libc6-dev; then
  ok "apt-get install ./libreadyd0 ./libreadyd-dev ./readyd .debs in the chroot"
else
  not_ok "apt-get install of the .debs"; tail -n 20 "$work/apt.log" | indent; finish
fi
# debian/tests/control: the autopkgtest, run as autopkgtest would from the unpacked source.
out_t=$(as_builder sh -c "cd readyd-$version && AUTOPKGTEST_TMP=\$(mktemp -d) debian/tests/article-daemon" 2>&1)
rc=$?
if [ "$rc" = 0 ]; then ok "autopkgtest article-daemon: $(printf '%s\n' "$out_t" | tail -n 1)"
else not_ok "autopkgtest article-daemon (exit $rc)"; printf '%s\n' "$out_t" | indent; fi
out_t=$(in_root readyd --help 2>&1); rc=$?
if [ "$rc" -lt 126 ] && printf '%s\n' "$out_t" | grep -q readyd; then
  ok "the installed readyd command runs (--help: exit $rc, \"$(printf '%s\n' "$out_t" | head -n 1)\")"
else
  not_ok "the installed readyd command runs"; printf '%s\n' "$out_t" | indent
fi
found=$(in_root ldconfig -p | awk '/libreadyd\.so\.0 / {print $NF; exit}')
expect "the loader's cache finds the installed libreadyd.so.0 (ldconfig -p: $found)" \
  "$([ -n "$found" ] && in_root readlink -f "$found")" "$lib/libreadyd.so.$version"
# The build-system consumers against the installed packages (the tree's root is /).
while IFS= read -r line; do
  case $line in
    "ok - "*" # SKIP "*) w=${line#ok - }; skip ".debs: ${w%% # SKIP *}" "${w#* # SKIP }" ;;
    "ok - "*) ok ".debs: ${line#ok - }" ;;
    "not ok - "*) not_ok ".debs: ${line#not ok - }" ;;
    "#"*) echo "$line" ;;
  esac
done < <(as_builder env READYD_REQUIRE_TOOLS=1 "readyd-$version/tests/c/check-consumers.sh" --root / 2>&1)

# --- what each package holds (on this machine) --------------------------------------------------
contents() { dpkg-deb -c "$out/${1}_${version}_$arch.deb" | awk '{print $6}' | sed 's|^\./|/|'; }
has() {
  local pkg=$1; shift
  local list miss=""
  list=$(contents "$pkg")
  for f in "$@"; do printf '%s\n' "$list" | grep -qx "$f" || miss="$miss $f"; done
  if [ -z "$miss" ]; then ok "$pkg holds $*"; else not_ok "$pkg lacks$miss"; fi
}
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
dpkg-deb -e "$out/libreadyd0_${version}_$arch.deb" "$ctrl"
expect "libreadyd0's shlibs offers libreadyd.so.0 alone (never libsystemd.so.0)" \
  "$(cat "$ctrl/shlibs")" "libreadyd 0 libreadyd0 (>= $version)"
expect "libreadyd0's symbols file covers libreadyd.so.0 alone: the READYD_0 node and 28 functions" \
  "$(grep -v '^[ *]' "$ctrl/symbols")|$(grep -c '@READYD_0 ' "$ctrl/symbols")" \
  "libreadyd.so.0 libreadyd0 #MINVER#|29"
expect "libreadyd-dev depends on the same libreadyd0" \
  "$(dpkg-deb -f "$out/libreadyd-dev_${version}_$arch.deb" Depends)" "libreadyd0 (= $version)"
expect "Multi-Arch: libreadyd0 same, libreadyd-dev same, readyd foreign" \
  "$(for p in libreadyd0 libreadyd-dev readyd; do dpkg-deb -f "$out/${p}_${version}_$arch.deb" Multi-Arch; done | tr '\n' ' ')" \
  "same same foreign "
expect "libreadyd0 depends on libc6 alone" \
  "$(dpkg-deb -f "$out/libreadyd0_${version}_$arch.deb" Depends | sed 's/ (.*//')" "libc6"
expect "compat library: SONAME libsystemd.so.0, NEEDED libc.so.6 alone" \
  "$(readelf -d "$root$lib/readyd/compat/libsystemd.so.0" | sed -n 's/.*(\(SONAME\|NEEDED\)).*\[\(.*\)\]/\2/p' | tr '\n' ' ')" \
  "libc.so.6 libsystemd.so.0 "
bad=""
for name in sd_notify sd_notifyf sd_listen_fds_with_names sd_is_socket sd_watchdog_enabled sd_booted \
            sd_pidfd_get_inode_id; do
  page=$(MANPATH=$root/usr/share/man man -w 3readyd "$name" 2>/dev/null)
  out_t=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
  [ -n "$page" ] && [ -z "$out_t" ] || bad="$bad $name"
done
for spec in "3 readyd_failed" "3 readyd_daemonize" "3 upstart_ready" "7 readyd" "1 readyd"; do
  page=$(MANPATH=$root/usr/share/man man -w "${spec%% *}" "${spec#* }" 2>/dev/null)
  out_t=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
  [ -n "$page" ] && [ -z "$out_t" ] || bad="$bad ${spec#* }(${spec%% *})"
done
expect "man finds the installed pages (aliases through symlinks) and formats them without a warning" "$bad" ""

finish
