#!/usr/bin/env bash
# check-crate.sh: the crate as crates.io would ship it, used the way a Rust program uses it.
#
#   list     `cargo package --list` holds the library, the command, the example and the
#            headers build.rs needs, and nothing of the C packaging or the test suite;
#   depend   a scratch program with a plain dependency on the packaged crate (no features
#            named) builds in release with panic = "abort" and LTO, and in debug: the safe
#            API is there by default and no panic handler clashes with std's;
#   run      that program under `readyd run --listen`: ready, with the passed socket owned
#            and named.
#
# Offline: cargo's cache must hold the crate's dependencies (any build of readyd fetched
# them). Needs build/readyd (or $READYD_BIN). Prints `ok`/`not ok` lines, then
# `N passed, M failed`; exits non-zero on any failure.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/tap.sh
. "$repo/tests/tap.sh"
readyd_bin=${READYD_BIN:-$repo/build/readyd}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---- list ----
if ! list=$(cd "$repo" && cargo package --list --allow-dirty --locked --offline 2>"$work/list.err"); then
  not_ok "cargo package --list"; sed 's/^/#   /' "$work/list.err"
  finish
fi
missing=()
for f in Cargo.toml Cargo.lock LICENSE README.md build.rs src/lib.rs src/api.rs src/take.rs \
         src/ffi.rs src/shim.c src/static-link.c src/bin/readyd.rs include/readyd.h \
         include/systemd/sd-daemon.h examples/ready.rs; do
  grep -qx "$f" <<<"$list" || missing+=("$f")
done
expect "the package holds what a crate user builds" "${missing[*]:-}" ""
stray=$(grep -E '^(tests/|fuzz/|debian/|man/|c-examples/|pkgconfig/|\.ci/|Makefile|cbindgen\.toml|include/.*\.map)' <<<"$list" | tr '\n' ' ')
expect "the package holds nothing of the C packaging or the tests" "$stray" ""

# ---- depend ----
if ! (cd "$repo" && cargo package --no-verify --allow-dirty --locked --offline \
        --target-dir "$work/target" >"$work/package.log" 2>&1); then
  not_ok "cargo package"; sed 's/^/#   /' "$work/package.log"
  finish
fi
crate=$(ls "$work"/target/package/readyd-*.crate)
mkdir -p "$work/unpacked" "$work/user/src"
tar -xzf "$crate" -C "$work/unpacked"
unpacked=$(ls -d "$work"/unpacked/readyd-*)
cat >"$work/user/Cargo.toml" <<EOF
[package]
name = "readyd-crate-user"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
readyd = { path = "$unpacked" }

[profile.release]
panic = "abort"
lto = true

[workspace]
EOF
cat >"$work/user/src/main.rs" <<'EOF'
fn main() -> std::io::Result<()> {
    let fds: Vec<(std::os::fd::OwnedFd, String)> = readyd::listen_fds()?.collect();
    let names: Vec<&str> = fds.iter().map(|(_, name)| name.as_str()).collect();
    readyd::ready_with_status(&format!("fds={}", names.join(",")))?;
    Ok(())
}
EOF
for profile in release dev; do
  if (cd "$work/user" && cargo build --offline --profile "$profile" --target-dir "$work/user-target" \
        >"$work/build-$profile.log" 2>&1); then
    ok "a plain dependency builds ($profile$([ $profile = release ] && echo ', panic = "abort", LTO'))"
  else
    not_ok "a plain dependency builds ($profile)"; sed 's/^/#   /' "$work/build-$profile.log" | tail -n 30
  fi
done

# ---- run ----
program=$work/user-target/release/readyd-crate-user
if [ ! -x "$readyd_bin" ]; then
  not_ok "$readyd_bin is missing: run make first"
elif [ -x "$program" ]; then
  out=$(timeout 60 "$readyd_bin" run --until exit --timeout 20 \
          --listen "@readyd-check-crate-$$=api" -- "$program" 2>&1)
  status=$?
  expect "it runs under readyd run and exits 0" "$status" 0
  if grep -q "READY=1 STATUS=fds=api MAINPID=" <<<"$out" && grep -q "^ready after" <<<"$out"; then
    ok "it is ready, with the passed socket owned and named"
  else
    not_ok "it is ready, with the passed socket owned and named"; sed 's/^/#   /' <<<"$out"
  fi
fi

finish
