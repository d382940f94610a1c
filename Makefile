# readyd: build, install and test. The targets are a contract: the README and .ci/run use
# them. `make` builds everything; `make check` runs the tests a base machine can run;
# `make check-systemd` (and later check-peers) the real-supervisor ones.

VERSION    := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
SOVERSION  := $(firstword $(subst ., ,$(VERSION)))

PREFIX     ?= /usr/local
EXEC_PREFIX ?= $(PREFIX)
LIBDIR     ?= $(EXEC_PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(EXEC_PREFIX)/bin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DATAROOTDIR ?= $(PREFIX)/share
MANDIR     ?= $(DATAROOTDIR)/man
DESTDIR    ?=

CARGO      ?= cargo
CARGOFLAGS ?= --locked
CBINDGEN   ?= cbindgen
CC         ?= cc
# What a static link of libreadyd.a needs besides it (rustc --print native-static-libs).
LIBS_PRIVATE := -lc -lm -lrt -lpthread

BUILD      := build
STATIC     := target/lib/release/libreadyd.a
SHARED     := $(BUILD)/libreadyd.so.$(VERSION)
COMPAT     := target/compat/libsystemd.so.0
# The command is built with the `cli` feature (the library with std), in its own target
# directory so that it never replaces the no_std libreadyd.a.
COMMAND    := target/cli/release/readyd
RUST_SRC   := $(wildcard src/*.rs src/*.c) Cargo.toml Cargo.lock build.rs include/readyd.h
# Warnings every C program of ours must pass; the examples are held to the same.
C_STRICT   := -std=c11 -Wall -Wextra -Wpedantic -Werror -Wformat=2
# The man pages; the sd-daemon ones are in section 3readyd, beside libsystemd-dev's own.
MAN1       := $(wildcard man/*.1)
MAN3       := $(wildcard man/*.3 man/*.3readyd)
MAN7       := $(wildcard man/*.7)

# ---- Other targets: make TARGET=<triple> (see "Other architectures and musl" in the README) --
# The same files, built for another Rust target triple with its C toolchain, into their own
# folders: build/<triple>/, target/lib/<triple>/, target/cli/<triple>/ and
# target/compat/<triple>/. Without TARGET nothing here applies and `make` is unchanged.
# TARGET_RUN is how a program of the target runs on this machine (empty: directly).
TARGETS    := x86_64-unknown-linux-gnu x86_64-unknown-linux-musl i686-unknown-linux-gnu \
              aarch64-unknown-linux-gnu
TARGET_RUN :=
TARGET_LIBC := libc.so.6
ifneq ($(TARGET),)
ifeq ($(filter $(TARGET),$(TARGETS)),)
$(error TARGET=$(TARGET) is not one of: $(TARGETS))
endif
override CARGOFLAGS += --target $(TARGET)
BUILD      := build/$(TARGET)
SHARED     := $(BUILD)/libreadyd.so.$(VERSION)
STATIC     := target/lib/$(TARGET)/release/libreadyd.a
COMPAT     := target/compat/$(TARGET)/libsystemd.so.0
COMMAND    := target/cli/$(TARGET)/release/readyd
ifeq ($(TARGET),x86_64-unknown-linux-musl)
# musl-tools; the command is a static binary (Rust's musl target links libc in).
CC         := musl-gcc
TARGET_LIBC := libc.so
else ifeq ($(TARGET),i686-unknown-linux-gnu)
# gcc-12-multilib. Its -m32 lacks <asm/...> (gcc-multilib's /usr/include/asm link would
# conflict with the aarch64 cross compiler): an include folder of our own provides it.
TARGET_INCLUDE := $(abspath $(BUILD))/include
CC         := gcc -m32 -isystem $(TARGET_INCLUDE)
export CC_i686_unknown_linux_gnu := $(CC)
else ifeq ($(TARGET),aarch64-unknown-linux-gnu)
# gcc-aarch64-linux-gnu and libc6-dev-arm64-cross; programs run under qemu-user.
CC         := aarch64-linux-gnu-gcc
OBJCOPY    := aarch64-linux-gnu-objcopy
TARGET_RUN := qemu-aarch64 -L /usr/aarch64-linux-gnu
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER := aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER := $(TARGET_RUN)
endif
endif

.PHONY: all compat install uninstall check check-rust check-header check-c check-peers \
        check-man check-consumers check-daemonize check-memory check-fault fuzz check-deb \
        check-diff check-systemd demo header bench bench-startup clean check-target check-targets

all: $(SHARED) $(BUILD)/libreadyd.so.$(SOVERSION) $(BUILD)/libreadyd.so $(BUILD)/libreadyd.a \
     $(COMPAT) $(BUILD)/readyd $(BUILD)/supervise
compat: $(COMPAT)

$(COMMAND): $(RUST_SRC) $(wildcard src/bin/*.rs src/bin/*/*.rs)
	$(CARGO) build --release $(CARGOFLAGS) --features cli --bin readyd --target-dir target/cli
$(BUILD)/readyd: $(COMMAND)
	@mkdir -p $(BUILD)
	cp $< $@

# Built as a staticlib alone: next to the rlib type of Cargo.toml, cargo drops
# LTO without a word and all of core lands in the archive. Its own target directory keeps
# a plain `cargo build` from replacing it. Without the default `std` feature: no_std, libc alone.
$(STATIC): $(RUST_SRC)
	$(CARGO) rustc --release $(CARGOFLAGS) --no-default-features --lib --crate-type staticlib \
	  --target-dir target/lib

# The shipped libraries are linked here, not by cargo: rustc gives a cdylib its own
# version script, and only ours decides what is exported and under which version node.
# NEEDED must stay libc.so.6 alone. $(call link_shared,VERSION_SCRIPT,SONAME)
# Full RELRO (-z now) as libsystemd.so.0 has it: the library that replaces it in sshd must
# not leave a writable GOT behind. It costs start-up time (every import is bound at load);
# see the README's Start-up cost section. No crt files: the library has no constructors.
# -Bsymbolic-functions binds the library's calls to its own functions at link time (never
# -Bsymbolic: data must stay interposable). -O1 sizes the GNU hash table's Bloom filter
# for fewer false hits: the loader consults it for every symbol looked up past us.
# SHARED_LDFLAGS is also what `make bench` builds its minimal C notifier with, so that the
# two are compared on the same terms.
SHARED_LDFLAGS := -shared -nostartfiles -Wl,-O1 -Wl,--gc-sections -Wl,-z,defs -Wl,-z,relro \
  -Wl,-z,now -Wl,-Bsymbolic-functions -Wl,-z,noseparate-code -Wl,--as-needed -Wl,--strip-all
link_shared = @mkdir -p $(@D) && \
  $(CC) $(SHARED_LDFLAGS) -o $@ -Wl,--whole-archive $(STATIC_NOUNWIND) -Wl,--no-whole-archive \
    -Wl,--version-script=$(1) -Wl,-soname,$(2)

# The archive the .so files are linked from: libreadyd.a without unwind tables. Nothing
# unwinds through readyd (panic=abort), and the tables were 4 KiB of the .so.
# The installed libreadyd.a keeps them. (A cross build sets OBJCOPY to its own objcopy.)
OBJCOPY    ?= objcopy
STATIC_NOUNWIND := $(STATIC:.a=-nounwind.a)
$(STATIC_NOUNWIND): $(STATIC)
	$(OBJCOPY) --remove-section=.eh_frame $< $@

$(SHARED): $(STATIC_NOUNWIND) include/readyd.map
	$(call link_shared,include/readyd.map,libreadyd.so.$(SOVERSION))

# The binary drop-in for libsystemd.so.0: the same code under libsystemd's version nodes.
$(COMPAT): $(STATIC_NOUNWIND) include/libsystemd.map
	$(call link_shared,include/libsystemd.map,libsystemd.so.0)

$(BUILD)/libreadyd.so.$(SOVERSION): $(SHARED)
	ln -sf $(notdir $<) $@
$(BUILD)/libreadyd.so: $(BUILD)/libreadyd.so.$(SOVERSION)
	ln -sf $(notdir $<) $@
$(BUILD)/libreadyd.a: $(STATIC)
	@mkdir -p $(BUILD)
	cp $< $@

# The test supervisor: a notify receiver and an Upstart emulation (tests/c/supervise.c).
$(BUILD)/supervise: tests/c/supervise.c
	@mkdir -p $(BUILD)
	$(CC) $(C_STRICT) -D_GNU_SOURCE -o $@ $<

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBDIR)/readyd/compat \
	  $(DESTDIR)$(PKGCONFIGDIR) \
	  $(DESTDIR)$(INCLUDEDIR)/readyd/systemd
	install -m 0755 $(BUILD)/readyd $(DESTDIR)$(BINDIR)/
	install -m 0755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libreadyd.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libreadyd.so.$(SOVERSION)
	ln -sf libreadyd.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libreadyd.so
	install -m 0644 $(BUILD)/libreadyd.a $(DESTDIR)$(LIBDIR)/
	install -m 0755 $(COMPAT) $(DESTDIR)$(LIBDIR)/readyd/compat/
	install -m 0644 include/readyd.h $(DESTDIR)$(INCLUDEDIR)/readyd/
	install -m 0644 include/systemd/sd-daemon.h $(DESTDIR)$(INCLUDEDIR)/readyd/systemd/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|' \
	    pkgconfig/readyd.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/readyd.pc
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7
	install -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(MAN3) $(DESTDIR)$(MANDIR)/man3/
	install -m 0644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/
	@[ -n "$(DESTDIR)" ] || echo "installed in $(LIBDIR): run 'ldconfig' as root so that the loader finds libreadyd.so.0 (outside the loader's directories: an rpath or LD_LIBRARY_PATH)"

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/readyd $(DESTDIR)$(LIBDIR)/libreadyd.so.$(VERSION) \
	      $(DESTDIR)$(LIBDIR)/libreadyd.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libreadyd.so \
	      $(DESTDIR)$(LIBDIR)/libreadyd.a $(DESTDIR)$(PKGCONFIGDIR)/readyd.pc \
	      $(DESTDIR)$(LIBDIR)/readyd/compat/libsystemd.so.0 \
	      $(DESTDIR)$(INCLUDEDIR)/readyd/readyd.h \
	      $(DESTDIR)$(INCLUDEDIR)/readyd/systemd/sd-daemon.h
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1))) \
	      $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3))) \
	      $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(MAN7)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/readyd/systemd $(DESTDIR)$(INCLUDEDIR)/readyd \
	  $(DESTDIR)$(LIBDIR)/readyd/compat $(DESTDIR)$(LIBDIR)/readyd 2>/dev/null

# --- Provider mode: readyd as the system's libsystemd, for systems without one ------------
# `make install-libsystemd` is `make install` plus, where a real libsystemd would put them,
# libsystemd.pc (Name: libsystemd, Version: PROVIDER_VERSION, -lsystemd), the drop-in header
# as $(INCLUDEDIR)/systemd/sd-daemon.h, and libsystemd.so.0 and libsystemd.so, each a
# symlink to the compat library (so the link-time name leads to readyd's even where the
# run-time name is another package's, as in the Debian package). Unmodified sources that
# ask for libsystemd (pkg-config with a version check, CMake's find_library, a bare
# -lsystemd with the header on the default include path) then build against readyd. Files that are not readyd's (a real libsystemd's, elogind's)
# are never overwritten unless FORCE=1; `make uninstall-libsystemd` removes only readyd's.
# PROVIDER_VERSION: the systemd release of the newest sd-daemon function readyd exports
# (the last version node of include/libsystemd.map that holds a symbol).
PROVIDER_VERSION := $(shell awk '/^LIBSYSTEMD_[0-9]+ \{/ {node = $$1} /global:/ {v = node} \
                      END {sub("LIBSYSTEMD_", "", v); print v}' include/libsystemd.map)
PROVIDER_FILES = $(DESTDIR)$(PKGCONFIGDIR)/libsystemd.pc $(DESTDIR)$(INCLUDEDIR)/systemd/sd-daemon.h \
                 $(DESTDIR)$(LIBDIR)/libsystemd.so.0 $(DESTDIR)$(LIBDIR)/libsystemd.so
# A shell function: `ours FILE` is true when FILE is provider mode's (a symlink that leads
# to readyd's compat library, or a file carrying the readyd-provider marker).
provider_ours = ours() { if [ -L "$$1" ]; then case $$(readlink -m -- "$$1") in \
  */readyd/compat/libsystemd.so.0) return 0 ;; esac; return 1; fi; \
  [ -f "$$1" ] && grep -q 'readyd-provider' "$$1"; }

.PHONY: install-libsystemd uninstall-libsystemd check-provider check-switch check-secure
# The check comes first, so that a refusal leaves the tree as it was.
install-libsystemd: all
	@$(provider_ours); others=; \
	for f in $(PROVIDER_FILES); do \
	  if { [ -e "$$f" ] || [ -L "$$f" ]; } && ! ours "$$f"; then others="$$others $$f"; \
	    owner=$$( [ -z "$(DESTDIR)" ] && dpkg -S "$$f" 2>/dev/null | cut -d: -f1 | head -n 1); \
	    echo "make install-libsystemd: $$f is not readyd's$${owner:+ (package $$owner)}" >&2; fi; \
	done; \
	if [ -n "$$others" ] && [ "$(FORCE)" != 1 ]; then \
	  echo "make install-libsystemd: not overwriting another libsystemd; remove it first (on Debian: apt-get remove libsystemd-dev), or run again with FORCE=1 to replace these files" >&2; \
	  exit 1; fi
	$(MAKE) install
	install -d $(DESTDIR)$(INCLUDEDIR)/systemd $(DESTDIR)$(PKGCONFIGDIR)
	rm -f $(PROVIDER_FILES)
	sed -e '1i /* readyd-provider: installed by readyd'"'"'s make install-libsystemd as the system'"'"'s <systemd/sd-daemon.h> */' \
	    -e 's|^#include "../readyd.h"$$|#include "../readyd/readyd.h"|' \
	    include/systemd/sd-daemon.h > $(DESTDIR)$(INCLUDEDIR)/systemd/sd-daemon.h
	chmod 0644 $(DESTDIR)$(INCLUDEDIR)/systemd/sd-daemon.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(PROVIDER_VERSION)|' -e 's|@READYD_VERSION@|$(VERSION)|' \
	    pkgconfig/libsystemd.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libsystemd.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/libsystemd.pc
	ln -s readyd/compat/libsystemd.so.0 $(DESTDIR)$(LIBDIR)/libsystemd.so.0
	ln -s readyd/compat/libsystemd.so.0 $(DESTDIR)$(LIBDIR)/libsystemd.so

uninstall-libsystemd:
	@$(provider_ours); \
	for f in $(PROVIDER_FILES); do \
	  if ours "$$f"; then rm -f "$$f"; \
	  elif [ -e "$$f" ] || [ -L "$$f" ]; then echo "make uninstall-libsystemd: leaving $$f alone: it is not readyd's" >&2; fi; \
	done
	-rmdir $(DESTDIR)$(INCLUDEDIR)/systemd 2>/dev/null
	$(MAKE) uninstall

# Debian 12's fcgiwrap, unbound, mpd (meson) and mosquitto (CMake), built from their
# unchanged sources against provider mode, with libsystemd-dev hidden in a mount namespace,
# and run under readyd run (root; the build dependencies .ci/run installs; the sources are
# downloaded once, with a deb-src line of its own).
check-switch: all
	tests/switch/check-switch.sh

# A daemon that re-executes a setuid copy of itself (AT_SECURE): LD_LIBRARY_PATH does not
# reach the copy; provider mode in the default search path does (root; a mount namespace).
check-secure: all
	tests/secure/check-secure.sh

# Provider mode in scratch roots: the files, version checks through pkg-config, a program
# built with a bare -lsystemd and <systemd/sd-daemon.h>, refusal and FORCE=1, uninstall.
check-provider: all
	tests/c/check-provider.sh

header:
	$(CBINDGEN) --config cbindgen.toml --crate readyd --output include/readyd.h

# `make check` runs each of these (all of them, even after a failure) and ends with one line
# for the whole run, "total: N passed, M failed, K skipped" (tests/run-checks.sh counts what
# they print: TAP lines, SKIP lines, cargo test's results).
CHECKS := check-rust check-header check-c check-diff check-man check-consumers check-daemonize \
       check-memory check-fault check-crate check-provider
check:
	@MAKE='$(MAKE)' tests/run-checks.sh $(CHECKS)

# `cargo test` (default features: std, the safe Rust API) runs the library's tests, the
# Rust API's doc tests and builds the examples; the command's integration tests run
# build/readyd (as built above). The command is behind the `cli` feature: were it built
# by this `cargo test`, cargo would build the library twice into the same file names (once
# unwinding for the tests, once panic=abort for the binary; cargo#6313), a hard error.
check-rust: $(BUILD)/readyd
	$(CARGO) fmt --check
	$(CARGO) clippy $(CARGOFLAGS) --all-targets -- -D warnings
	$(CARGO) clippy $(CARGOFLAGS) --all-targets --no-default-features -- -D warnings
	$(CARGO) clippy $(CARGOFLAGS) --all-targets --features cli -- -D warnings
	$(CARGO) test $(CARGOFLAGS)
	$(CARGO) test $(CARGOFLAGS) --features cli --bins

# The crate as `cargo package` makes it for crates.io: only what belongs in it; a plain
# dependency on it builds (release with panic = "abort" and LTO, and debug) and runs under
# build/readyd. Offline, about 30 s.
.PHONY: check-crate
check-crate: $(BUILD)/readyd
	tests/check-crate.sh

# The committed header must be what cbindgen makes of the sources now.
check-header:
	@if ! command -v $(CBINDGEN) >/dev/null; then \
	  echo "ok - header drift check # SKIP cbindgen not found (cargo install cbindgen --version 0.29.4 --locked)"; \
	  echo "1..1"; \
	else \
	  t=$$(mktemp) && $(CBINDGEN) --quiet --config cbindgen.toml --crate readyd --output $$t && \
	  if diff -u include/readyd.h $$t; then echo "ok - include/readyd.h matches the sources"; echo "1..1"; rm -f $$t; \
	  else rm -f $$t; echo "not ok - include/readyd.h is stale: run 'make header' and commit it"; echo "1..1"; exit 1; fi; \
	fi

# The C layer: install into a scratch prefix, build the examples through pkg-config with
# strict warnings, check the ABI, run them under the receiver and the Upstart emulation.
check-c: all
	tests/c/check-c.sh

# Differential: the same 499 cases against the system's libsystemd.so.0 and both of our
# libraries; only the 252-vs-newest differences listed in tests/diff are allowed.
SYSTEMD_REF ?= /usr/lib/$(shell $(CC) -print-multiarch 2>/dev/null)/libsystemd.so.0
check-diff: all
	tests/diff/run.sh $(SYSTEMD_REF) $(BUILD)/libreadyd.so.0 $(COMPAT)

# The man pages: no formatting warning, the sections each needs, every function covered,
# SYNOPSIS and EXAMPLES compiled against the installed headers.
check-man: all
	tests/c/check-man.sh

# The meson, CMake, autotools and plain-Makefile consumers built against an installed
# readyd (a build tool that is not installed is a SKIP).
check-consumers: all
	tests/c/check-consumers.sh

# readyd_daemonize() and readyd_notify_fd() from a plain shell (flock(1); python3 connects).
check-daemonize: all
	tests/c/check-daemonize.sh
	tests/c/check-daemonize-cases.sh

# Memory safety beyond check-c: the differential harness under valgrind memcheck (136 of its
# cases, in every process it forks) and built with ASan+UBSan (all of them), every example
# and supervise built with ASan+UBSan and run, and the examples check-c does not cover under
# valgrind. MEMCHECK_ALL=1 runs the whole harness under valgrind (about 40 s).
check-memory: all
	tests/c/check-memory.sh

# Fault injection: each libc call a readyd call makes fails in turn (an LD_PRELOAD shim);
# the right negative errno, no fd leaked, unset_environment honoured, no crash.
check-fault: all
	tests/fault/run.sh $(BUILD)/libreadyd.so.0 $(COMPAT)

# The cargo-fuzz targets in fuzz/, FUZZ_SECONDS each, from the committed corpus (needs
# cargo-fuzz; see fuzz/README.md). `tests/fuzz.sh -t 600 --grow TARGET` for long runs.
FUZZ_SECONDS ?= 25
fuzz:
	tests/fuzz.sh -t $(FUZZ_SECONDS)

# The Debian packages, built as a build daemon builds them: a clean Debian 13 chroot
# (debootstrap, cached in ~/.cache/readyd-deb), offline, then lintian and the .debs in use
# (root, debootstrap, dpkg-dev; see tests/check-deb.sh).
check-deb:
	tests/check-deb.sh

# Real peers on this machine: Debian 12's unchanged sshd on the compat library (root;
# downloads the .debs once), and s6 (Debian's package) with readyd_ready.
check-peers: all
	tests/peers/sshd.sh target/compat
	tests/peers/s6.sh

# Real systemd 252, 257 and the newest (Debian bookworm, trixie, sid), each in a container
# (root; SYSTEMD_SUITES= picks releases; a minute or two per tree the first time).
check-systemd: all
	tests/c/build-examples.sh $(BUILD)/examples
	tests/systemd/check-systemd.sh $(BUILD)/examples

# The differential against newer libsystemd releases: Debian 13's 257 and sid's (the
# newest), each run in a plain chroot of that release's tree (root; the trees of
# check-systemd, bootstrapped if missing; about 10 s each once they are there).
.PHONY: check-diff-newest
check-diff-newest: all
	tests/diff/in-tree.sh trixie $(BUILD)/libreadyd.so.0 $(COMPAT)
	tests/diff/in-tree.sh sid $(BUILD)/libreadyd.so.0 $(COMPAT)

demo: all
	tests/demo.sh

# readyd against the system's libsystemd.so.0 and a raw-syscall floor (tests/bench/run.py):
# prints a Markdown table and writes JSON to $(BENCH_JSON). It reports, it never fails on a
# number. QUICK=1: every measurement with small counts, in seconds (what CI runs).
# ONLY=startup: the start-up and footprint rows alone.
BENCH_JSON ?= $(BUILD)/bench/results.json
bench: all
	READYD_BENCH_JSON=$(BENCH_JSON) READYD_BENCH_LDFLAGS="$(SHARED_LDFLAGS)" \
	  python3 tests/bench/run.py $(if $(QUICK),--quick) $(if $(ONLY),--only $(ONLY))
	@for t in $(BENCH_TARGETS); do \
	  if $(MAKE) -s TARGET=$$t bench-startup >$(BUILD)/bench/$$t.log 2>&1; then \
	    sed -n '/^readyd benchmark/,$$p' $(BUILD)/bench/$$t.log; \
	  else echo "SKIP: start-up on $$t: make TARGET=$$t bench-startup failed ($(BUILD)/bench/$$t.log)"; \
	    [ "$$READYD_REQUIRE_TOOLS" != 1 ] || exit 1; fi; \
	done

# The start-up rows for the targets that run natively under valgrind, as `make bench` shows
# them after its own table: the library built for TARGET (make TARGET=<triple>), the client
# and the minimal C notifier built with that target's compiler and the same link flags.
BENCH_TARGETS ?= i686-unknown-linux-gnu x86_64-unknown-linux-musl
bench-startup: $(BUILD)/libreadyd.so.$(SOVERSION)
	@[ -n "$(TARGET)" ] || { echo "make bench-startup: say which, e.g. TARGET=i686-unknown-linux-gnu"; exit 2; }
	CC='$(CC)' READYD_BENCH_LIBC='$(TARGET_LIBC)' READYD_BENCH_JSON=$(BUILD)/bench/results.json \
	  READYD_BENCH_LDFLAGS="$(SHARED_LDFLAGS)" \
	  python3 tests/bench/run.py --only startup --target $(TARGET)

clean:
	$(CARGO) clean
	rm -rf $(BUILD)

# ---- Other targets: the checks (tests/target/check-target.sh) ---------------------------
ifneq ($(TARGET_INCLUDE),)
$(TARGET_INCLUDE)/asm:
	@mkdir -p $(@D)
	ln -sfn /usr/include/x86_64-linux-gnu/asm $@
$(BUILD)/supervise $(STATIC): | $(TARGET_INCLUDE)/asm
endif

# make check-target TARGET=<triple>: the C checks, the differential harness (against that
# architecture's libsystemd0, or for musl against the x86_64 glibc results) and, where
# the target runs natively, the Rust tests. make check-targets: every triple but the host's.
check-target:
	@[ -n "$(TARGET)" ] || { echo "make check-target: say which, e.g. TARGET=x86_64-unknown-linux-musl ($(TARGETS))"; exit 2; }
	$(MAKE) TARGET= all
	$(MAKE) TARGET=$(TARGET) all
	TARGET='$(TARGET)' TARGET_CC='$(CC)' TARGET_RUN='$(TARGET_RUN)' TARGET_LIBC='$(TARGET_LIBC)' \
	  TARGET_BUILD='$(BUILD)' TARGET_COMPAT='$(COMPAT)' CARGO='$(CARGO)' \
	  tests/target/check-target.sh
check-targets:
	$(foreach t,$(filter-out x86_64-unknown-linux-gnu,$(TARGETS)),$(MAKE) check-target TARGET=$(t) &&) true
