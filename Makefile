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
# The command is built with the library's std feature, in its own target directory so
# that it never replaces the no_std libreadyd.a.
COMMAND    := target/cli/release/readyd
RUST_SRC   := $(wildcard src/*.rs src/*.c) Cargo.toml Cargo.lock build.rs include/readyd.h
# Warnings every C program of ours must pass; the examples are held to the same.
C_STRICT   := -std=c11 -Wall -Wextra -Wpedantic -Werror -Wformat=2
# The man pages; the sd-daemon ones are in section 3readyd, beside libsystemd-dev's own.
MAN1       := $(wildcard man/*.1)
MAN3       := $(wildcard man/*.3 man/*.3readyd)
MAN7       := $(wildcard man/*.7)

.PHONY: all compat install uninstall check check-rust check-header check-c check-peers \
        check-man check-consumers check-daemonize check-memory check-fault fuzz check-deb \
        check-diff check-systemd demo header bench clean

all: $(SHARED) $(BUILD)/libreadyd.so.$(SOVERSION) $(BUILD)/libreadyd.so $(BUILD)/libreadyd.a \
     $(COMPAT) $(BUILD)/readyd $(BUILD)/supervise
compat: $(COMPAT)

$(COMMAND): $(RUST_SRC) $(wildcard src/bin/*.rs src/bin/*/*.rs)
	$(CARGO) build --release $(CARGOFLAGS) --features std --bin readyd --target-dir target/cli
$(BUILD)/readyd: $(COMMAND)
	@mkdir -p $(BUILD)
	cp $< $@

# Built as a staticlib alone: next to the rlib and cdylib types of Cargo.toml, cargo drops
# LTO without a word and all of core lands in the archive. Its own target directory keeps
# a plain `cargo build` from replacing it.
$(STATIC): $(RUST_SRC)
	$(CARGO) rustc --release $(CARGOFLAGS) --lib --crate-type staticlib --target-dir target/lib

# The shipped libraries are linked here, not by cargo: rustc gives a cdylib its own
# version script, and only ours decides what is exported and under which version node.
# NEEDED must stay libc.so.6 alone. $(call link_shared,VERSION_SCRIPT,SONAME)
# Full RELRO (-z now) as libsystemd.so.0 has it: the library that replaces it in sshd must
# not leave a writable GOT behind. It costs start-up time (every import is bound at load);
# see the README's Performance section. No crt files: the library has no constructors.
link_shared = @mkdir -p $(@D) && \
  $(CC) -shared -nostartfiles -o $@ -Wl,--whole-archive $(STATIC) -Wl,--no-whole-archive \
    -Wl,--version-script=$(1) -Wl,-soname,$(2) -Wl,--gc-sections -Wl,-z,defs \
    -Wl,-z,relro -Wl,-z,now -Wl,-z,noseparate-code -Wl,--as-needed -Wl,--strip-all

$(SHARED): $(STATIC) include/readyd.map
	$(call link_shared,include/readyd.map,libreadyd.so.$(SOVERSION))

# The binary drop-in for libsystemd.so.0: the same code under libsystemd's version nodes.
$(COMPAT): $(STATIC) include/libsystemd.map
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

header:
	$(CBINDGEN) --config cbindgen.toml --crate readyd --output include/readyd.h

# `make check` runs each of these (all of them, even after a failure) and ends with one line
# for the whole run, "total: N passed, M failed, K skipped" (tests/run-checks.sh counts what
# they print: TAP lines, SKIP lines, cargo test's results).
CHECKS := check-rust check-header check-c check-diff check-man check-consumers check-daemonize \
       check-memory check-fault
check:
	@MAKE='$(MAKE)' tests/run-checks.sh $(CHECKS)

# The library's tests run without the std feature. The command's integration tests run
# build/readyd (as built above); with the feature on, cargo would also build the library
# twice into the same file names (once unwinding for the tests, once panic=abort).
check-rust: $(BUILD)/readyd
	$(CARGO) fmt --check
	$(CARGO) clippy $(CARGOFLAGS) --all-targets -- -D warnings
	$(CARGO) clippy $(CARGOFLAGS) --all-targets --features std -- -D warnings
	$(CARGO) test $(CARGOFLAGS)
	$(CARGO) test $(CARGOFLAGS) --features std --bins

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

# Differential: the same 496 cases against the system's libsystemd.so.0 and both of our
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

# Real systemd 252 in a container (root; about two minutes the first time).
check-systemd: all
	tests/c/build-examples.sh $(BUILD)/examples
	tests/systemd/check-systemd.sh $(BUILD)/examples

demo: all
	tests/demo.sh

# readyd against the system's libsystemd.so.0 and a raw-syscall floor (tests/bench/run.py):
# prints a Markdown table and writes JSON to $(BENCH_JSON). It reports, it never fails on a
# number. QUICK=1: every measurement with small counts, in seconds (what CI runs).
BENCH_JSON ?= $(BUILD)/bench/results.json
bench: all
	READYD_BENCH_JSON=$(BENCH_JSON) python3 tests/bench/run.py $(if $(QUICK),--quick)

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
