#!/usr/bin/env python3
"""`make bench`: readyd side by side with the system's libsystemd.so.0 and a raw-syscall floor.

One C program (client.c) is built five ways: against build/libreadyd.so.0, against the
system's libsystemd.so.0, against minimal-notify.so (the smallest sd_notify library in C,
linked with the same flags as readyd: the yardstick for start-up), with the floor's own
inline socket + sendto + close, and as a baseline that links and calls nothing. A draining
receiver (receiver.c) plays the supervisor. Measured:

  start-up   instructions (callgrind) of a run that notifies once, minus the baseline's;
             readyd's as a ratio to minimal-notify.so's
  per call   wall time, and the caller's CPU time, of sd_notify / sd_notifyf / with_fds /
             barrier loops: best of several runs, the variants interleaved round by round
  syscalls   per call (strace -c; a run of COUNT calls minus a run of none, divided)
  allocs     per call (alloc-count.so, an LD_PRELOAD counter; same differencing)
  footprint  .so size, NEEDED, libraries loaded with it, Rss/Pss a process gains (smaps_rollup)

It prints a Markdown table, checks the goals of the issue (it reports, it never fails on a
missed goal), and writes everything as JSON to $READYD_BENCH_JSON (default
build/bench/results.json). Exit status is non-zero only when the benchmark itself cannot
run (a build fails, a call does not return 1).

  tests/bench/run.py            full run (about 1-2 minutes)
  tests/bench/run.py --quick    the same measurements with small counts (CI: does not rot)
  tests/bench/run.py --only startup   start-up and footprint alone (seconds)
  CC=... tests/bench/run.py --only startup --target TRIPLE
                                the same for build/TRIPLE/libreadyd.so.0 (make TARGET=TRIPLE),
                                every program built with $CC (that target's compiler) and run
                                natively; no libsystemd column
  tests/bench/run.py --lib NAME=PATH ...   also measure another build of the library (for
                                example a scratch copy with a proposed change)

minimal-notify.so is linked with $READYD_BENCH_LDFLAGS, which `make bench` sets to the
Makefile's SHARED_LDFLAGS (the flags the shipped libraries are linked with); run without
it, its column is a SKIP.

Tools a machine lacks (valgrind, strace, the system's libsystemd) turn their rows into
"SKIP: ..." lines; with READYD_REQUIRE_TOOLS=1 (CI) a missing one is an error instead.
"""

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.join(ROOT, "tests", "bench")
OUT = os.path.join(ROOT, "build", "bench")
READYD_DIR = os.path.join(ROOT, "build")
READYD_SO = os.path.join(READYD_DIR, "libreadyd.so.0")
SYSTEM_LIBSYSTEMD = os.environ.get(
    "READYD_BENCH_LIBSYSTEMD", "/usr/lib/x86_64-linux-gnu/libsystemd.so.0")
CC = shlex.split(os.environ.get("CC", "cc"))
CFLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]

# The goals of the issue, checked against readyd's column.
GOALS = {
    "startup": 25_000,          # instructions added to a program that notifies once
    "startup_vs_minimal": 1.15,  # ratio to the minimal C notifier linked with the same flags
    "time_vs_libsystemd": 0.80,  # per-call time, ratio
    "time_vs_floor": 1.05,
    "syscalls_notify": 5,
    "allocs": 0,
    "so_size": 32 * 1024,
    "needed": [os.environ.get("READYD_BENCH_LIBC", "libc.so.6")],  # the target's libc alone
}

SETTINGS = {
    # rounds: interleaved timing rounds; count: calls per timed run (barrier: a quarter);
    # tracecount: calls in the strace/alloc runs.
    "full": {"rounds": 9, "count": 20_000, "tracecount": 200, "memruns": 3},
    "quick": {"rounds": 2, "count": 1_000, "tracecount": 20, "memruns": 1},
}

# What the client's loop modes call (see client.c). Counted: all of them; timed: all but
# the 4 KiB one, which is there for the allocation count.
LOOPS = ["notify", "notifyf", "notifyf4k", "fds", "barrier"]
# The yardstick library: measured like the others, never judged against the goals.
MINIMAL = "minimal-c"
# Which goal limits a ratio part of a verdict: the part is the column compared with.
RATIO_GOALS = {"libsystemd": "time_vs_libsystemd", "floor": "time_vs_floor",
               MINIMAL: "startup_vs_minimal"}
TIMED = ["notify", "notifyf", "fds", "barrier"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def fail(msg):
    log(f"bench: {msg}")
    sys.exit(1)


def run(cmd, env=None, check=True, timeout=120):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        fail(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}{p.stderr}")
    return p


def keyvals(text):
    return {k: float(v) for k, v in re.findall(r"^(\w+)=([-\d.]+)$", text, re.M)}


class Variant:
    """One column: a build of client.c and, for libraries, the .so it loads."""

    def __init__(self, name, kind, lib=None, label=None):
        self.name, self.kind, self.lib = name, kind, lib
        self.label = label or name
        self.binary = os.path.join(OUT, f"client-{name}")
        self.source = lib and os.path.realpath(lib)

    def snapshot(self, where):
        """Copies a library of ours to WHERE/NAME/ under its SONAME: a rebuild in the work
        tree during the run cannot change what is measured, and the rpath the loader walks
        has the same length wherever the tree is checked out."""
        real = os.path.realpath(self.lib)
        soname = re.search(r"\(SONAME\)\s+Library soname: \[(.*?)\]",
                           run(["readelf", "-dW", real]).stdout)
        d = os.path.join(where, self.name)
        os.makedirs(d)
        self.source = real
        self.lib = os.path.join(d, soname.group(1) if soname else os.path.basename(real))
        shutil.copy2(real, self.lib)

    def build(self):
        src = os.path.join(HERE, "client.c")
        cmd = [*CC, *CFLAGS, "-o", self.binary, src]
        if self.kind == "floor":
            cmd.insert(1, "-DVARIANT_FLOOR")
        elif self.kind == "lib":
            cmd.insert(1, "-DVARIANT_LIB")
            if self.name == "readyd":
                # as a user links it: -L/-l, found at run time through the rpath
                d = os.path.dirname(self.lib)
                os.symlink(os.path.basename(self.lib), os.path.join(d, "libreadyd.so"))
                cmd += [f"-L{d}", "-lreadyd", f"-Wl,-rpath,{d}"]
            else:
                # by file path (no -dev package needed); an rpath for libraries that are
                # not in the loader's search path
                cmd += [self.lib]
                if not self.lib.startswith("/usr/lib"):
                    cmd += [f"-Wl,-rpath,{os.path.dirname(self.lib)}"]
        run(cmd)


def loadavg():
    try:
        return [float(x) for x in open("/proc/loadavg").read().split()[:3]]
    except OSError:
        return [0.0, 0.0, 0.0]


def machine_info():
    info = {"kernel": platform.release(), "arch": platform.machine(),
            "cores": os.cpu_count()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                info["os"] = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    info["glibc"] = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else "?"
    for tool, args in (("gcc", [*CC, "--version"]), ("rustc", ["rustc", "--version"])):
        try:
            info[tool] = subprocess.run(args, capture_output=True, text=True).stdout.splitlines()[0]
        except (OSError, IndexError):
            pass
    if shutil.which("dpkg-query"):
        p = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libsystemd0"],
                           capture_output=True, text=True)
        if p.returncode == 0:
            info["libsystemd"] = p.stdout.strip()
    return info


# ---------------------------------------------------------------- measurements

def startup(variants, base, env, results):
    """callgrind instruction counts: `once` minus the baseline; `linked` (loaded, no call)
    splits that into the loader's share and the first call's."""
    if not shutil.which("valgrind"):
        return
    def instructions(v, mode):
        out = os.path.join(OUT, f"callgrind.{v.name}.{mode}")
        p = run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                 v.binary, mode], env=env)
        m = re.search(r"Collected : (\d+)", p.stderr)
        if not m:
            fail(f"no callgrind total for {v.name}:\n{p.stderr}")
        return int(m.group(1))
    b = instructions(base, "once")
    results["startup_baseline"] = b
    for v in variants:
        once = instructions(v, "once") - b
        entry = {"once": once}
        if v.kind == "lib":
            entry["loader"] = instructions(v, "linked") - b
            entry["first_call"] = once - entry["loader"]
        results["startup"][v.name] = entry


def timing(variants, env, s, results):
    """Per-call wall time, best of `rounds` runs. Each round runs every variant once per
    loop, starting with a different variant each round, so slow phases of a shared machine
    hit every column alike."""
    best = {}
    for r in range(s["rounds"]):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for loop in TIMED:
            count = s["count"] // 4 if loop == "barrier" else s["count"]
            for v in order:
                p = run([v.binary, loop, str(count), str(count // 10)], env=env)
                kv = keyvals(p.stdout)
                key = (v.name, loop)
                if key not in best or kv["ns_per_call"] < best[key]["ns_per_call"]:
                    # the CPU time's best is kept on its own: the run with the best wall
                    # time need not be the one with the least CPU time
                    cpu = min(kv["cpu_ns_per_call"], best.get(key, kv)["cpu_ns_per_call"])
                    best[key] = dict(kv, cpu_ns_per_call=cpu)
                else:
                    best[key]["cpu_ns_per_call"] = min(best[key]["cpu_ns_per_call"],
                                                       kv["cpu_ns_per_call"])
        log(f"bench: timing round {r + 1}/{s['rounds']} done")
    for (name, loop), kv in best.items():
        results["time"].setdefault(name, {})[loop] = {
            "ns": round(kv["ns_per_call"], 1),
            "cpu_ns": round(kv["cpu_ns_per_call"], 1),
            "waits": kv["waits_per_call"],
            "preempts": kv["preempts_per_call"],
        }


def strace_counts(binary, mode, count, env):
    """Syscall name -> calls, from strace's summary of one run."""
    with tempfile.NamedTemporaryFile(dir=OUT, suffix=".strace") as f:
        cmd = [binary, mode, str(count), "0"]
        # -U (strace 5.19 and later) prints just the two columns; older ones print
        # "% time seconds usecs/call calls [errors] syscall"
        columns = run(["strace", "-c", "-U", "name,calls", "-o", f.name, *cmd], env=env,
                      check=False).returncode == 0
        if not columns:
            run(["strace", "-c", "-o", f.name, *cmd], env=env)
        counts = {}
        for line in open(f.name):
            parts = line.split()
            if columns and len(parts) == 2 and parts[1].isdigit():
                name, calls = parts[0], int(parts[1])
            elif not columns and len(parts) >= 5 and parts[3].isdigit():
                name, calls = parts[-1], int(parts[3])
            else:
                continue
            if name != "total":
                counts[name] = calls
        return counts


def syscalls(variants, env, s, results):
    if not shutil.which("strace"):
        return
    n = s["tracecount"]
    for v in variants:
        for loop in LOOPS:
            with_calls = strace_counts(v.binary, loop, n, env)
            without = strace_counts(v.binary, loop, 0, env)
            per = {k: (with_calls.get(k, 0) - without.get(k, 0)) / n
                   for k in set(with_calls) | set(without)}
            per = {k: round(x, 2) for k, x in sorted(per.items()) if abs(x) >= 0.005}
            results["syscalls"].setdefault(v.name, {})[loop] = {
                "total": round(sum(per.values()), 2), "each": per}


def allocations(variants, env, s, results, preload):
    n = s["tracecount"] * 5
    for v in variants:
        for loop in LOOPS:
            counts = []
            for calls in (n, 0):
                with tempfile.NamedTemporaryFile(dir=OUT, suffix=".allocs") as f:
                    e = dict(env, LD_PRELOAD=preload, ALLOC_COUNT_OUT=f.name)
                    run([v.binary, loop, str(calls), "0"], env=e)
                    kv = keyvals(open(f.name).read())
                    if "allocs" not in kv:
                        fail(f"alloc counter wrote nothing for {v.name} {loop}")
                    counts.append(kv["allocs"])
            results["allocs"].setdefault(v.name, {})[loop] = round((counts[0] - counts[1]) / n, 3)


def loaded_libraries(path):
    """What the loader maps for this library: its own dependencies, transitively."""
    p = run(["ldd", path], check=False)
    libs = []
    for line in p.stdout.splitlines():
        name = line.strip().split()[0] if line.strip() else ""
        if not name or name.startswith("linux-vdso") or "ld-linux" in name or name == "statically":
            continue
        libs.append(os.path.basename(name))
    return libs


def imports(path):
    """The symbols the library takes from others: each is bound when a program starts
    (full RELRO), which is most of a library's start-up cost."""
    out = run(["readelf", "--dyn-syms", "-W", path]).stdout
    names = set()
    for line in out.splitlines():
        f = line.split()
        # Num: Value Size Type Bind Vis Ndx Name; undefined, and not a weak reference
        if len(f) >= 8 and f[6] == "UND" and f[4] != "WEAK" and f[7]:
            names.add(f[7].split("@")[0])
    return sorted(names)


def footprint(variants, base, env, s, results):
    def memory(v):
        best = None
        for _ in range(s["memruns"]):
            kv = keyvals(run([v.binary, "mem"], env=env).stdout)
            if best is None or kv["rss_kb"] + kv["pss_kb"] < best["rss_kb"] + best["pss_kb"]:
                best = kv
        return best
    b = memory(base)
    results["memory_baseline_kb"] = {"rss": b["rss_kb"], "pss": b["pss_kb"]}
    for v in variants:
        m = memory(v)
        entry = {"rss_kb": m["rss_kb"] - b["rss_kb"], "pss_kb": m["pss_kb"] - b["pss_kb"]}
        if v.kind == "lib":
            real = os.path.realpath(v.lib)
            entry["file"] = v.source
            entry["size"] = os.path.getsize(real)
            d = run(["readelf", "-dW", real]).stdout
            entry["needed"] = re.findall(r"\(NEEDED\)\s+Shared library: \[(.*?)\]", d)
            entry["imports"] = imports(real)
            entry["loaded"] = loaded_libraries(real)
        results["footprint"][v.name] = entry


# ---------------------------------------------------------------- report

def fmt_int(x):
    return f"{x:,}" if isinstance(x, int) else f"{x:,.0f}"


def fmt_num(x, digits=2):
    if x is None:
        return "–"
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.{digits}f}"


def metrics(results):
    """The table's rows: (title, {variant: value}, format, goal text, goal check, ratios).
    A goal check takes (value, values) for one library and says whether it is met."""
    rows = []
    st, tm, sc, al, fp = (results[k] for k in ("startup", "time", "syscalls", "allocs", "footprint"))
    pick = lambda table, *keys: {n: _dig(table.get(n), keys) for n in results["names"]}
    if st:
        def startup_check(x, v):
            parts = {"": x <= GOALS["startup"]}
            if v.get(MINIMAL):
                parts[MINIMAL] = x <= GOALS["startup_vs_minimal"] * v[MINIMAL]
            return parts
        rows.append(("start-up: instructions added (notify once)", pick(st, "once"), fmt_int,
                     f"≤ {GOALS['startup']:,}, ≤ {GOALS['startup_vs_minimal']}× minimal C",
                     startup_check, True))
        rows.append(("  of which the loader (linked, no call)", pick(st, "loader"), fmt_int,
                     "", None, False))
    for loop in TIMED:
        goal, check = "", None
        if loop in ("notify", "notifyf"):
            goal = f"≤ {GOALS['time_vs_libsystemd']}× libsystemd, ≤ {GOALS['time_vs_floor']}× floor"
            def check(x, v):
                parts = {}
                if v.get("libsystemd"):
                    parts["libsystemd"] = x <= GOALS["time_vs_libsystemd"] * v["libsystemd"]
                parts["floor"] = x <= GOALS["time_vs_floor"] * v["floor"]
                return parts
        rows.append((f"time per call, ns: {loop}", pick(tm, loop, "ns"), fmt_round, goal, check, True))
        if loop in ("notify", "notifyf"):
            # The same goal on the caller's CPU time, which waiting for a busy machine's
            # CPUs does not inflate.
            rows.append((f"  CPU time of the caller, ns: {loop}", pick(tm, loop, "cpu_ns"),
                         fmt_round, goal, check, True))
    for loop in LOOPS:
        goal, check = "", None
        if loop == "notify":
            goal, check = f"≤ {GOALS['syscalls_notify']}", lambda x, v: x <= GOALS["syscalls_notify"]
        rows.append((f"syscalls per call: {loop}", pick(sc, loop, "total"), fmt_num, goal, check, True))
    for loop in LOOPS:
        rows.append((f"heap allocations per call: {loop}", pick(al, loop), fmt_num,
                     str(GOALS["allocs"]), lambda x, v: x <= GOALS["allocs"], False))
    rows.append((".so size, bytes", pick(fp, "size"), fmt_int, f"≤ {GOALS['so_size']:,}",
                 lambda x, v: x <= GOALS["so_size"], True))
    count = {n: (len(x) if x is not None else None) for n, x in pick(fp, "imports").items()}
    rows.append(("imports (bound at start-up)", count, fmt_num, "", None, True))
    rows.append(("NEEDED", pick(fp, "needed"), ", ".join, f"{GOALS['needed'][0]} only",
                 lambda x, v: x == GOALS["needed"], False))
    loaded = {n: (len(x) if x is not None else None) for n, x in pick(fp, "loaded").items()}
    rows.append(("libraries loaded with it", loaded, fmt_num, "", None, False))
    rows.append(("resident memory gained, kB (Rss)", pick(fp, "rss_kb"), fmt_num, "", None, False))
    rows.append(("proportional memory gained, kB (Pss)", pick(fp, "pss_kb"), fmt_num, "", None, False))
    return rows


def _dig(d, keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def fmt_round(x):
    return fmt_int(round(x))


def report(variants, results):
    """The Markdown table (goals checked for readyd) and the goal verdicts for every
    library that is not libsystemd (readyd and any --lib)."""
    names = results["names"]
    have_sd = "libsystemd" in names
    have_min = MINIMAL in names
    rows = metrics(results)
    candidates = [v.name for v in variants
                  if v.kind == "lib" and v.name not in ("libsystemd", MINIMAL)]
    verdicts = {n: [] for n in candidates}
    header = (["metric"] + [v.label for v in variants] +
              (["readyd ÷ libsystemd"] if have_sd else []) + ["readyd ÷ floor"] +
              (["readyd ÷ minimal C"] if have_min else []) + ["goal", "met"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for title, values, fmt, goal, check, ratios in rows:
        if all(values.get(n) is None for n in names):
            continue  # not measured in this run (--only)
        cells = [fmt(values[n]) if values.get(n) is not None else "–" for n in names]
        r = values.get("readyd")
        ratio_cells = []
        for other in (["libsystemd"] if have_sd else []) + ["floor"] + ([MINIMAL] if have_min else []):
            o = values.get(other)
            ratio_cells.append(f"{r / o:.2f}×" if ratios and r is not None and o else "")
        met = ""
        if check is not None:
            for n in candidates:
                if values.get(n) is None:
                    continue
                verdict = check(values[n], values)
                # a goal with parts (time: against libsystemd, against the floor) gives
                # one verdict per part
                parts = verdict.items() if isinstance(verdict, dict) else [(None, verdict)]
                for part, ok in parts:
                    name = title.strip() + (f" vs {part}" if part else "")
                    if part:
                        ratio = values[n] / values[part]
                        limit = GOALS[RATIO_GOALS[part]]
                        target = f"{ratio:.3f}×, goal ≤ {limit}×"
                    else:
                        target = f"{values[n]}, goal {goal}"
                    verdicts[n].append({"goal": name, "value": values[n], "detail": target,
                                        "met": bool(ok)})
            if r is not None:
                verdict = check(r, values)
                if isinstance(verdict, dict):
                    met = ", ".join(f"{'sd' if k == 'libsystemd' else k or 'abs'}: "
                                    f"{'yes' if ok else '**no**'}" for k, ok in verdict.items())
                else:
                    met = "yes" if verdict else "**no**"
        lines.append("| " + " | ".join([title] + cells + ratio_cells + [goal, met]) + " |")
    return "\n".join(lines), verdicts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small counts, for CI")
    ap.add_argument("--only", choices=["startup"],
                    help="startup: the start-up and footprint rows alone (no syscall, "
                         "allocation or timing runs)")
    ap.add_argument("--target", metavar="TRIPLE",
                    help="measure build/TRIPLE/libreadyd.so.0, built and run with $CC")
    ap.add_argument("--lib", action="append", default=[], metavar="NAME=PATH",
                    help="also measure this sd-daemon library (e.g. a scratch build)")
    args = ap.parse_args()
    global OUT, READYD_SO, SYSTEM_LIBSYSTEMD
    if args.target:
        if not re.fullmatch(r"[\w.-]+", args.target):
            fail(f"--target {args.target}: want a target triple")
        OUT = os.path.join(ROOT, "build", args.target, "bench")
        READYD_SO = os.path.join(ROOT, "build", args.target, "libreadyd.so.0")
        SYSTEM_LIBSYSTEMD = os.environ.get("READYD_BENCH_LIBSYSTEMD", "")
    mode = "quick" if args.quick or os.environ.get("READYD_BENCH_QUICK") == "1" else "full"
    s = SETTINGS[mode]
    json_path = os.environ.get("READYD_BENCH_JSON", os.path.join(OUT, "results.json"))
    started = time.monotonic()

    if not os.path.exists(READYD_SO):
        fail(f"{READYD_SO} not found: run `make` first")
    os.makedirs(OUT, exist_ok=True)

    base = Variant("baseline", "none")
    variants = [Variant("floor", "floor"), Variant("readyd", "lib", READYD_SO)]
    skips = []
    if args.target and not SYSTEM_LIBSYSTEMD:
        # Not a missing tool: this machine has no libsystemd of that architecture installed.
        print(f"note: no libsystemd column for {args.target} (READYD_BENCH_LIBSYSTEMD names one)")
    elif os.path.exists(SYSTEM_LIBSYSTEMD):
        variants.append(Variant("libsystemd", "lib", SYSTEM_LIBSYSTEMD, "libsystemd"))
    else:
        skips.append(f"libsystemd column: {SYSTEM_LIBSYSTEMD} not found (apt-get install libsystemd0)")
    ldflags = os.environ.get("READYD_BENCH_LDFLAGS")
    if ldflags:
        # Built here, from the source, with the shipped libraries' own link flags.
        d = os.path.join(OUT, "minimal")
        os.makedirs(d, exist_ok=True)
        minimal = os.path.join(d, "libminimal-notify.so")
        run([*CC, *CFLAGS, "-fPIC", *ldflags.split(), "-Wl,-soname,libminimal-notify.so",
             "-o", minimal, os.path.join(HERE, "minimal-notify.c")])
        variants.append(Variant(MINIMAL, "lib", minimal, "minimal C"))
    else:
        skips.append("minimal C column: READYD_BENCH_LDFLAGS is unset (run `make bench`)")
    for spec in args.lib:
        name, _, path = spec.partition("=")
        if not re.fullmatch(r"[\w.-]+", name) or not os.path.exists(path):
            fail(f"--lib {spec}: want NAME=PATH to an existing library")
        if name in ("baseline", "floor", "readyd", "libsystemd", MINIMAL):
            fail(f"--lib {spec}: {name} is taken; choose another name")
        variants.append(Variant(name, "lib", os.path.abspath(path)))

    for tool in ("valgrind", "strace"):
        if not shutil.which(tool):
            skips.append(f"{tool} not found, its rows are empty (apt-get install {tool})")
    if skips and os.environ.get("READYD_REQUIRE_TOOLS") == "1":
        fail("missing with READYD_REQUIRE_TOOLS=1: " + "; ".join(skips))

    load_before = loadavg()
    tmp = tempfile.mkdtemp(prefix="readyd-bench-")
    receiver = None
    try:
        for v in [base] + variants:
            if v.kind == "lib" and v.name != "libsystemd":
                v.snapshot(tmp)
            v.build()
        run([*CC, *CFLAGS, "-o", os.path.join(OUT, "receiver"), os.path.join(HERE, "receiver.c")])
        preload = os.path.join(OUT, "alloc-count.so")
        run([*CC, *CFLAGS, "-shared", "-fPIC", "-o", preload, os.path.join(HERE, "alloc-count.c")])

        sock = os.path.join(tmp, "notify")
        receiver = subprocess.Popen([os.path.join(OUT, "receiver"), sock, "900"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if receiver.stdout.readline().strip() != "ready":
            fail("the receiver did not start: " + receiver.stderr.read())
        # A small, fixed environment: every run sees the same one.
        env = {"NOTIFY_SOCKET": sock, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
        results = {"startup": {}, "time": {}, "syscalls": {}, "allocs": {}, "footprint": {},
                   "skips": skips, "names": [v.name for v in variants]}
        log(f"bench: {mode} mode; variants: {', '.join(v.name for v in variants)}")
        startup(variants, base, env, results)
        log("bench: start-up done")
        if not args.only:
            syscalls(variants, env, s, results)
            allocations(variants, env, s, results, preload)
        footprint(variants, base, env, s, results)
        log("bench: counts done")
        if not args.only:
            timing(variants, env, s, results)
    finally:
        if receiver:
            receiver.terminate()
            try:
                receiver.wait(timeout=5)
            except subprocess.TimeoutExpired:
                receiver.kill()
        # the clients in build/bench/ are rebuilt on every run: the libraries they were
        # linked with go with the run
        shutil.rmtree(tmp, ignore_errors=True)

    load_after = loadavg()
    results["loadavg"] = {"before": load_before, "after": load_after}
    table, verdicts = report(variants, results)
    info = machine_info()
    results.update({"mode": mode, "settings": s, "machine": info, "goals": verdicts,
                    "seconds": round(time.monotonic() - started, 1),
                    "variants": {v.name: {"kind": v.kind, "library": v.source} for v in variants}})
    os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)

    print(f"readyd benchmark ({mode} mode{', ' + args.target if args.target else ''}): "
          f"{info.get('cpu', '?')}, {info.get('cores', '?')} cores, Linux {info.get('kernel', '?')}, "
          f"{info.get('os', '?')}, {info.get('glibc', '?')}, libsystemd {info.get('libsystemd', '?')}")
    if not args.only:
        print(f"times: best of {s['rounds']} interleaved runs of {s['count']:,} calls "
              f"(barrier {s['count'] // 4:,}) against a draining receiver; "
              f"counts: {s['tracecount']} calls (allocations {s['tracecount'] * 5}) minus none")
    print()
    print(table)
    print()
    for v in variants:
        each = results["syscalls"].get(v.name, {}).get("notify", {}).get("each")
        if each:
            print(f"syscalls per sd_notify, {v.label}: " +
                  ", ".join(f"{k} {fmt_num(x)}" for k, x in each.items()))
    # Waiting for a CPU shows as wall time well above CPU time in the plain notify loops.
    stretch = max((t[loop]["ns"] / t[loop]["cpu_ns"] for t in results["time"].values()
                   for loop in ("notify", "notifyf") if t.get(loop, {}).get("cpu_ns")), default=1)
    if stretch > 1.15:
        print(f"note: the machine was busy (wall time up to {stretch:.2f}× the CPU time; load "
              f"average {load_before[0]:.1f} before, {load_after[0]:.1f} after, on "
              f"{os.cpu_count()} cores): the CPU-time rows are the steadier measure.")
    for skip in results["skips"]:
        print(f"SKIP: {skip}")
    for name, goals in verdicts.items():
        met = sum(g["met"] for g in goals)
        print(f"goals met by {name}: {met} of {len(goals)}" +
              "".join(f"\n  missed: {g['goal']}: {g['detail']}" for g in goals if not g["met"]))
    print(f"JSON: {json_path} ({results['seconds']} s)")


if __name__ == "__main__":
    main()
