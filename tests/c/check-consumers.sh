#!/usr/bin/env bash
# check-consumers.sh [--root DIR]: the article's daemon built by the build systems C
# projects use, against an installed readyd, found through pkg-config only.
#
#   meson     c-examples/meson      dependency('readyd')
#   CMake     c-examples/cmake      pkg_check_modules(READYD REQUIRED IMPORTED_TARGET readyd)
#   autotools c-examples/autotools  PKG_CHECK_MODULES([READYD], [readyd])
#   make      the README's plain Makefile (written below, as the README shows it)
#
# Without --root, readyd is installed into a scratch prefix with `make install`. With
# --root DIR, DIR is a tree unpacked from the Debian packages (tests/check-deb.sh), used
# through PKG_CONFIG_SYSROOT_DIR. Each consumer must configure and build with strict
# warnings, link libreadyd.so.0 (never libsystemd), and its daemon must send exactly the
# article's datagram, from its own pid, under tests/c/supervise.
#
# A build tool that is not installed is a SKIP (apt-get install meson ninja-build cmake
# autoconf automake); with READYD_REQUIRE_TOOLS=1 (CI) it is a failure.
# Prints TAP (tests/tap.sh), then `N passed, M failed`; exits non-zero on any failure.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
root=""
case "${1:-}" in
  --root) root=$(cd "${2:?--root needs a directory}" && pwd) ;;
  "") ;;
  *) echo "usage: $0 [--root DIR]" >&2; exit 2 ;;
esac
work=$(mktemp -d "${TMPDIR:-/tmp}/readyd-consumers.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/tap.sh
. "$repo/tests/tap.sh"
CC=${CC:-cc}
export CC

indent() { sed 's/^/#   /'; }

# --- the readyd to build against --------------------------------------------------------
if [ -z "$root" ]; then
  prefix=$work/prefix
  if out=$(make -s -C "$repo" install PREFIX="$prefix" 2>&1); then
    ok "make install PREFIX=<scratch>"
  else
    not_ok "make install PREFIX=<scratch>"; printf '%s\n' "$out" | tail -n 20 | indent
    finish
  fi
  libdir=$prefix/lib
  export PKG_CONFIG_PATH=$libdir/pkgconfig
  where="the installed readyd"
else
  triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
  libdir=$root/usr/lib/$triplet
  # Only the unpacked tree: a readyd installed on this machine must not be found instead.
  export PKG_CONFIG_LIBDIR=$libdir/pkgconfig:$root/usr/share/pkgconfig
  export PKG_CONFIG_SYSROOT_DIR=$root
  where="the unpacked .debs"
fi
if ! pkg-config --exists readyd; then
  not_ok "pkg-config finds readyd in $where"; finish
fi
ok "pkg-config finds readyd $(pkg-config --modversion readyd) in $where: $(pkg-config --cflags --libs readyd)"

# The notify receiver, built here so that this script needs nothing from build/.
sup=$work/supervise
if ! $CC -std=c11 -D_GNU_SOURCE -o "$sup" "$repo/tests/c/supervise.c" 2>"$work/sup.log"; then
  not_ok "build tests/c/supervise.c"; indent < "$work/sup.log"; finish
fi

# check_daemon NAME BINARY: links libreadyd.so.0 from $libdir and not libsystemd, and sends
# exactly the article's datagram, from the pid supervise started.
check_daemon() {
  local name=$1 bin=$2 needed out rc pid line
  needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  case " $needed" in
    *" libreadyd.so.0 "*) case "$needed" in *libsystemd*) not_ok "$name: NEEDED names libsystemd: $needed" ;;
                                            *) ok "$name: NEEDED has libreadyd.so.0 and no libsystemd" ;; esac ;;
    *) not_ok "$name: NEEDED lacks libreadyd.so.0: $needed" ;;
  esac
  expect "$name: the loader takes libreadyd.so.0 from $where" \
    "$(LD_LIBRARY_PATH=$libdir ldd "$bin" | awk '/libreadyd/ {print $3}')" "$libdir/libreadyd.so.0"
  out=$(LD_LIBRARY_PATH=$libdir "$sup" notify "$work/notify.sock" -- "$bin" 2>&1); rc=$?
  pid=$(printf '%s\n' "$out" | sed -n 's/^notify: started pid \([0-9]*\) .*/\1/p')
  line=$(printf '%s\n' "$out" | grep '^notify: datagram' | head -n 1)
  expect "$name: the daemon sends one datagram, the article's exact bytes, from pid $pid" \
    "$line|$(printf '%s\n' "$out" | grep -c '^notify: datagram')" \
    "notify: datagram from pid $pid: $((30 + ${#pid})) bytes \"READY=1\\nSTATUS=ready\\nMAINPID=$pid\\n\"|1"
  expect "$name: ready, then exits 0 on SIGTERM" "$rc" "0"
  [ "$rc" = 0 ] || printf '%s\n' "$out" | indent
}

# build NAME LOG COMMAND...: runs the build in its own log; ok or not ok with the tail.
build() {
  local name=$1 log=$2; shift 2
  if "$@" >"$log" 2>&1; then ok "$name: configures and builds against $where"; return 0; fi
  not_ok "$name: configures and builds against $where"; tail -n 30 "$log" | indent; return 1
}

# --- meson: dependency('readyd') ------------------------------------------------------------
if command -v meson >/dev/null && command -v ninja >/dev/null; then
  cp -rL "$repo/c-examples/meson" "$work/meson"
  if build "meson" "$work/meson.log" \
       sh -c "cd '$work/meson' && meson setup build && meson compile -C build"; then
    check_daemon "meson" "$work/meson/build/article-daemon"
  fi
else
  skip_tool "meson consumer" "meson or ninja not installed (apt-get install meson ninja-build)"
fi

# --- CMake: pkg_check_modules(READYD REQUIRED IMPORTED_TARGET readyd) ------------------------
if command -v cmake >/dev/null; then
  cp -rL "$repo/c-examples/cmake" "$work/cmake"
  if build "cmake" "$work/cmake.log" \
       sh -c "cd '$work/cmake' && cmake -S . -B build && cmake --build build"; then
    check_daemon "cmake" "$work/cmake/build/article-daemon"
  fi
else
  skip_tool "CMake consumer" "cmake not installed (apt-get install cmake)"
fi

# --- autotools: PKG_CHECK_MODULES([READYD], [readyd]) ------------------------------------------
if command -v autoreconf >/dev/null && command -v automake >/dev/null; then
  cp -rL "$repo/c-examples/autotools" "$work/autotools"
  if build "autotools" "$work/autotools.log" \
       sh -c "cd '$work/autotools' && autoreconf -fi && ./configure CFLAGS='-O2 -Wall -Wextra -Wpedantic -Werror' && make"; then
    check_daemon "autotools" "$work/autotools/article-daemon"
  fi
else
  skip_tool "autotools consumer" "autoconf/automake not installed (apt-get install autoconf automake)"
fi

# --- a plain Makefile, as the README's "Switching from libsystemd" shows it ----------------
mkdir -p "$work/make"
cp "$repo/c-examples/article-daemon.c" "$work/make/"
cat > "$work/make/Makefile" <<'EOF'
PKGS    = readyd
CFLAGS += $(shell pkg-config --cflags $(PKGS))
LDLIBS += $(shell pkg-config --libs $(PKGS))
CFLAGS += -std=c11 -Wall -Wextra -Wpedantic -Werror

article-daemon: article-daemon.c
EOF
if build "plain make" "$work/make.log" make -C "$work/make"; then
  check_daemon "plain make" "$work/make/article-daemon"
fi

finish
