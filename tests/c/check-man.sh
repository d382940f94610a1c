#!/usr/bin/env bash
# check-man.sh: the man pages in man/, as a reader and a packager meet them.
#
# For every page: man-db and groff format it with every warning on and print none (what
# lintian runs, plus `groff -ww`); lexgrog finds its whatis entry; it has the sections
# its kind of page needs; its .TH names the version in Cargo.toml; every `.so` stub points
# at a page that exists; every readyd page it refers to exists. Every function of
# include/readyd.map has a page. Then readyd is installed into a scratch prefix with
# `make install`: every page must land in $(MANDIR)/manN and `man` must find the aliases
# there; and each section-3 and section-7 page's SYNOPSIS, and the C program in its
# EXAMPLES, are cut out of the formatted page and compiled against the installed headers
# (the examples also linked against the installed library) with strict warnings, so the
# pages cannot drift from the API. `make uninstall` must remove the pages again.
#
# Prints TAP (tests/tap.sh), then `N passed, M failed`; exits non-zero on any failure.
# Needs man-db and groff (groff-base); without them it is a SKIP (a failure with
# READYD_REQUIRE_TOOLS=1).
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/tap.sh
. "$repo/tests/tap.sh"
indent() { sed 's/^/#   /'; }

for tool in man groff lexgrog; do
  if ! command -v "$tool" >/dev/null; then
    skip_tool "man pages" "$tool not installed (apt-get install man-db groff-base)"
    finish
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/readyd-check-man.XXXXXX")
trap 'rm -rf "$work"' EXIT
export LC_ALL=C.UTF-8 MANWIDTH=80
CC=${CC:-cc}
STRICT="-std=c11 -Wall -Wextra -Wpedantic -Werror -Wformat=2"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n 1)

cd "$repo/man" || exit 1
pages=()
for f in *; do
  case $f in *.[0-9] | *.[0-9]readyd) pages+=("$f") ;; esac
done
if [ ${#pages[@]} -eq 0 ]; then
  not_ok "man/ holds man pages"; finish
fi

# The directory of a page inside a man tree: man3 for foo.3 and foo.3readyd.
section_dir() { local ext=${1##*.}; echo "man${ext:0:1}"; }

# A scratch man tree laid out from man/, so that `.so man3/...` stubs resolve.
tree=$work/tree
for f in "${pages[@]}"; do
  mkdir -p "$tree/$(section_dir "$f")"
  cp "$f" "$tree/$(section_dir "$f")/"
done

is_stub() { [ "$(grep -cv '^\.\\"' "$1")" = 1 ] && grep -q '^\.so ' "$1"; }

# --- every page, as source ---------------------------------------------------------------
real=()
for f in "${pages[@]}"; do
  d=$(section_dir "$f")
  if is_stub "$f"; then
    target=$(sed -n 's/^\.so //p' "$f")
    if [ -f "$tree/$target" ] && ! is_stub "$tree/$target"; then
      ok "$f: .so stub points at $target"
    else
      not_ok "$f: .so stub points at $target, which is not a page in man/"
    fi
    continue
  fi
  real+=("$f")
  # What lintian runs (manpage-has-errors-from-man), and groff with every warning.
  out=$(cd "$tree" && man --warnings -E UTF-8 -l -Tutf8 -Z "$d/$f" 2>&1 >/dev/null)
  out2=$(cd "$tree" && groff -ww -b -z -man "$d/$f" 2>&1)
  if [ -z "$out$out2" ]; then ok "$f: man --warnings and groff -ww print no warning"
  else not_ok "$f: formatting warnings"; printf '%s\n%s\n' "$out" "$out2" | grep . | indent; fi
  # The whatis entry (lintian: manpage-has-bad-whatis-entry).
  if w=$(lexgrog "$f" 2>&1); then ok "$f: lexgrog reads its NAME line"
  else not_ok "$f: lexgrog cannot read its NAME line"; printf '%s\n' "$w" | indent; fi
  # .TH: the name, the section of the file name, and this version.
  th=$(sed -n 's/^\.TH //p' "$f" | head -n 1)
  want_section=${f##*.}
  base=${f%.*}
  if printf '%s\n' "$th" | grep -q "^${base^^} $want_section [0-9-]* \"readyd $version\" "; then
    ok "$f: .TH names ${base^^}, section $want_section and readyd $version"
  else
    not_ok "$f: .TH should be '${base^^} $want_section DATE \"readyd $version\" ...', is '$th'"
  fi
  # The sections this kind of page needs.
  case $want_section in
    1) need=(NAME SYNOPSIS DESCRIPTION "EXIT STATUS" EXAMPLES "SEE ALSO") ;;
    *) need=(NAME SYNOPSIS DESCRIPTION "RETURN VALUE" ERRORS NOTES EXAMPLES "SEE ALSO") ;;
  esac
  missing=""
  for s in "${need[@]}"; do
    grep -qx "\.SH \"\?$s\"\?" "$f" || missing="$missing [$s]"
  done
  if [ -z "$missing" ]; then ok "$f: has the sections ${need[*]}"
  else not_ok "$f: lacks$missing"; fi
  # Every readyd page it names exists (readyd's own names, and section 3readyd).
  bad=""
  while read -r ref; do
    name=${ref%%(*}; sec=${ref#*(}; sec=${sec%)}
    case "$name:$sec" in
      *:3readyd | readyd*:* | upstart_ready:*) [ -f "$tree/man${sec:0:1}/$name.$sec" ] || bad="$bad $ref" ;;
    esac
  done < <(cd "$tree" && man -l "$(section_dir "$f")/$f" 2>/dev/null | sed '1d;$d' |
             grep -o '[A-Za-z_][A-Za-z0-9_.-]*([0-9][a-z]*)' | sort -u)
  if [ -z "$bad" ]; then ok "$f: every readyd page it refers to exists"
  else not_ok "$f: refers to pages that do not exist:$bad"; fi
done

# --- every exported function has a page, under its own name ------------------------------
nopage=""
while read -r sym; do
  f=""
  for cand in "$tree"/man3/"$sym".3 "$tree"/man3/"$sym".3readyd; do [ -f "$cand" ] && f=$cand; done
  if [ -z "$f" ]; then nopage="$nopage $sym"; continue; fi
  # The page (or the page the stub points at) lists the function in its NAME line.
  is_stub "$f" && f=$tree/$(sed -n 's/^\.so //p' "$f")
  lexgrog "$f" 2>/dev/null | grep -q "\b$sym\b" || nopage="$nopage $sym(not in NAME of $(basename "$f"))"
done < <(sed -n 's/^ *\([a-z_]*\);$/\1/p' "$repo/include/readyd.map")
if [ -z "$nopage" ]; then ok "every function of include/readyd.map has a page or an alias, named in NAME"
else not_ok "functions without a page:$nopage"; fi

# --- installed by make install, found by man, removed by make uninstall --------------------
prefix=$work/prefix
if out=$(make -s -C "$repo" install PREFIX="$prefix" 2>&1); then
  ok "make install PREFIX=<scratch>"
else
  not_ok "make install PREFIX=<scratch>"; printf '%s\n' "$out" | tail -n 20 | indent
  finish
fi
mandir=$prefix/share/man
missing=""
for f in "${pages[@]}"; do
  [ -f "$mandir/$(section_dir "$f")/$f" ] || missing="$missing $(section_dir "$f")/$f"
done
if [ -z "$missing" ]; then ok "make install puts all ${#pages[@]} pages in \$(MANDIR)/manN (MANDIR=\$(PREFIX)/share/man)"
else not_ok "make install did not install:$missing (the Makefile needs MANDIR and the man install lines)"; fi
if [ -z "$missing" ]; then
  bad=""
  for f in "${pages[@]}"; do
    name=${f%.*} sec=${f##*.}
    # man finds every name in its section (an alias: the page its stub points at), and
    # formats it cleanly from the installed tree, stubs included.
    want=$mandir/$(section_dir "$f")/$f
    is_stub "$f" && want=$mandir/$(sed -n 's/^\.so //p' "$f")
    where=$(MANPATH=$mandir man -w "$sec" "$name" 2>/dev/null)
    out=$(cd "$mandir" && man --warnings -E UTF-8 -l -Tutf8 -Z "$(section_dir "$f")/$f" 2>&1 >/dev/null)
    [ "$where" = "$want" ] && [ -z "$out" ] || bad="$bad $name($sec)"
  done
  if [ -z "$bad" ]; then ok "man -M <installed> finds and formats every page and alias without a warning"
  else not_ok "installed pages man cannot find or format cleanly:$bad"; fi
fi

# --- the SYNOPSIS and the EXAMPLES compile against the installed headers -------------------
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cflags=$(pkg-config --cflags readyd) libs=$(pkg-config --libs readyd)
# section PAGE NAME: the formatted text of one section, without the page's indentation.
section() {
  (cd "$tree" && LC_ALL=C MANWIDTH=200 man -l "$(section_dir "$1")/$1" 2>/dev/null) |
    awk -v s="$2" '/^[A-Z]/ { on = ($0 == s); next } on' | sed 's/^       //'
}
for f in "${real[@]}"; do
  case ${f##*.} in 1) continue ;; esac
  # The whole SYNOPSIS is C: includes, macros and prototypes, redeclared over the headers'.
  section "$f" SYNOPSIS > "$work/synopsis.c"
  # shellcheck disable=SC2086
  if out=$($CC $STRICT $cflags -c -o "$work/synopsis.o" "$work/synopsis.c" 2>&1); then
    ok "$f: SYNOPSIS compiles against the installed headers ($(grep -c ';' "$work/synopsis.c") declarations)"
  else
    not_ok "$f: SYNOPSIS does not compile"; { printf '%s\n' "$out"; cat -n "$work/synopsis.c"; } | indent
  fi
  # The C program of EXAMPLES: from its first #include or #define to its last closing brace.
  section "$f" EXAMPLES | awk '
    !on && /^ *#(include|define)/ { on = 1; match($0, /^ */); cut = RLENGTH }
    on { lines[++n] = substr($0, cut + 1); if (substr($0, cut + 1) == "}") last = n }
    END { for (i = 1; i <= last; i++) print lines[i] }' > "$work/example.c"
  if [ ! -s "$work/example.c" ]; then not_ok "$f: EXAMPLES has no C program"; continue; fi
  # shellcheck disable=SC2086
  if out=$($CC $STRICT $cflags -o "$work/example" "$work/example.c" $libs 2>&1); then
    ok "$f: the EXAMPLES program compiles and links against the installed readyd"
  else
    not_ok "$f: the EXAMPLES program does not build"; { printf '%s\n' "$out"; cat -n "$work/example.c"; } | indent
  fi
done

# --- make uninstall takes them away --------------------------------------------------------
make -s -C "$repo" uninstall PREFIX="$prefix" >/dev/null 2>&1
left=$(find "$mandir" -type f 2>/dev/null | sed "s|^$mandir/||" | tr '\n' ' ')
if [ -z "$left" ]; then ok "make uninstall removes every page"
else not_ok "make uninstall left: $left"; fi

finish
