#!/usr/bin/env bash
# make demo: the article's daemon, built against an installed readyd through pkg-config,
# run under a notify receiver (the systemd protocol, at a path and at an abstract socket)
# and under an Upstart emulation, each printing what it saw; then upstart_ready().
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$repo/build/demo
sup=$repo/build/supervise

section() { printf '\n== %s\n' "$*"; }

"$repo/tests/c/build-examples.sh" "$out"

section "What the article's daemon loads, linked with readyd (ldd)"
ldd "$out/article-daemon"
if [ -e /usr/lib/x86_64-linux-gnu/libsystemd.so.0 ]; then
  section "...and what libsystemd.so.0 would have brought along (ldd)"
  ldd /usr/lib/x86_64-linux-gnu/libsystemd.so.0
fi

section "systemd's protocol: NOTIFY_SOCKET at a path"
"$sup" notify "$out/notify.sock" -- "$out/article-daemon"

section "systemd's protocol: NOTIFY_SOCKET at an abstract socket"
"$sup" notify "@readyd-demo-$$" -- "$out/article-daemon"

section "Upstart's expect stop: the article's raise(SIGSTOP)"
"$sup" upstart -- "$out/article-daemon"

section "Upstart's expect stop with upstart_ready(): one stop, and its worker does not stop"
"$sup" upstart -- "$out/upstart-ready"

printf '\nAll runs ended as they should.\n'
