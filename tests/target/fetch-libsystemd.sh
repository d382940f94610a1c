#!/usr/bin/env bash
# fetch-libsystemd.sh DEBIAN_ARCH DIR
#
# The reference for a foreign architecture's differential run: Debian's libsystemd0 for
# DEBIAN_ARCH (i386, arm64) and the libraries it needs, unpacked into DIR with dpkg-deb -x
# (not installed: no foreign dependency chains on this machine). Adds the architecture to
# dpkg and refreshes apt's lists only when apt does not know the package yet (root).
# Prints the path of the unpacked libsystemd.so.0; exits 1 with the reason if it cannot.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 DEBIAN_ARCH DIR" >&2; exit 2; }
arch=$1 dir=$2
multiarch=$(case $arch in i386) echo i386-linux-gnu ;; arm64) echo aarch64-linux-gnu ;;
            *) echo "fetch-libsystemd.sh: no multiarch triple known for $arch" >&2; exit 2 ;; esac)
lib=$dir/usr/lib/$multiarch/libsystemd.so.0
if [ -e "$lib" ]; then echo "$lib"; exit 0; fi

# libsystemd0 and what it NEEDs (libgcrypt20 needs libgpg-error0).
pkgs=(libsystemd0 libcap2 libgcrypt20 libgpg-error0 liblz4-1 liblzma5 libzstd1)
apt_get() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }
if ! apt-cache show "libsystemd0:$arch" >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "fetch-libsystemd.sh: apt does not know libsystemd0:$arch; as root: dpkg --add-architecture $arch && apt-get update" >&2
    exit 1
  fi
  dpkg --print-foreign-architectures | grep -qx "$arch" || dpkg --add-architecture "$arch"
  apt_get update -qq >&2
fi
debs=$(mktemp -d)
trap 'rm -rf "$debs"' EXIT
( cd "$debs" && apt_get -o APT::Sandbox::User=root download -qq "${pkgs[@]/%/:$arch}" ) >&2 || {
  echo "fetch-libsystemd.sh: apt-get download of ${pkgs[*]} for $arch failed" >&2; exit 1; }
mkdir -p "$dir"
for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$dir"; done
[ -e "$lib" ] || { echo "fetch-libsystemd.sh: $lib missing after unpacking" >&2; exit 1; }
echo "$lib"
