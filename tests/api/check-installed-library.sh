#!/usr/bin/env bash
# Installs the build into a temporary folder (meson install --destdir), then,
# as a program outside the project would (the installed files only):
#   - finds the library, its soname link, the public headers and thinkdiff.pc;
#   - checks that libthinkdiff exports only td_-prefixed symbols (nm -D);
#   - compiles examples/generate.c in a clean folder with pkg-config's flags;
#   - writes demo models (thinkdiff make-demo-models) and runs the example on them,
#     which must write a PNG named example.png.
# Usage: check-installed-library.sh BUILD_DIR SOURCE_DIR CC PREFIX LIBDIR INCLUDEDIR SANITIZE
# TAP on stdout.
set -uo pipefail
# meson test points LD_LIBRARY_PATH at the build's library; the example must find the installed one.
unset LD_LIBRARY_PATH
build=$1 source=$2 cc=$3 prefix=$4 libdir=$5 includedir=$6 sanitize=$7

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/dest
n=0
failed=0
check () {
  n=$((n + 1))
  if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}
echo "1..7"

meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >"$work/install.log" 2>&1
check $? "meson install --destdir" || true
[ "$failed" = 0 ] || sed 's/^/# /' "$work/install.log"

# libdir and includedir may be absolute or relative to the prefix.
case $libdir in /*) lib=$dest$libdir ;; *) lib=$dest$prefix/$libdir ;; esac
case $includedir in /*) inc=$dest$includedir ;; *) inc=$dest$prefix/$includedir ;; esac
[ -L "$lib/libthinkdiff.so" ] && [ -e "$lib/libthinkdiff.so.0" ] && [ -f "$lib/pkgconfig/thinkdiff.pc" ] \
  && [ -f "$inc/thinkdiff/thinkdiff.h" ] && [ -f "$inc/thinkdiff/thinkdiff-engine.h" ] \
  && [ -x "$dest$prefix/bin/thinkdiff" ] && [ -x "$dest$prefix/bin/thinkdiff-dev" ]
check $? "library, soname link, headers, thinkdiff.pc and the CLI are installed"

exported=$(nm -D --defined-only "$lib/libthinkdiff.so.0" | awk 'NF == 3 { print $3 }')
others=$(printf '%s\n' "$exported" | grep -v '^td_' | grep -v '^_init$\|^_fini$\|^_edata$\|^_end$\|^__bss_start$')
# Exactly the functions the installed headers mark TD_API, nothing else.
declared=$(cat "$inc"/thinkdiff/*.h | grep '^TD_API ' | sed 's/ *(.*//; s/.*[ *]//' | sort)
unexpected=$(comm -13 <(printf '%s\n' "$declared") <(printf '%s\n' "$exported" | grep '^td_' | sort))
missing=$(comm -23 <(printf '%s\n' "$declared") <(printf '%s\n' "$exported" | sort))
[ -n "$exported" ] && [ -z "$others" ] && [ -z "$unexpected" ] && [ -z "$missing" ]
check $? "nm -D: only td_ symbols, exactly the $(printf '%s\n' "$declared" | wc -l) TD_API functions of the headers"
for name in $others $unexpected; do echo "# exported but not public: $name"; done
for name in $missing; do echo "# public but not exported: $name"; done

# A clean folder: only the example's source, nothing from the build.
mkdir "$work/example" && cp "$source/examples/generate.c" "$work/example/"
export PKG_CONFIG_PATH=$lib/pkgconfig
flags=$(pkg-config --define-variable=prefix="$dest$prefix" --cflags --libs thinkdiff)
check $? "pkg-config --cflags --libs thinkdiff: $flags"

extra=()
[ "$sanitize" = none ] || extra+=("-fsanitize=$sanitize")
# Warnings are errors: the public headers must be clean C99 for any caller.
(cd "$work/example" && $cc -std=c99 -Wall -Wextra -Wpedantic -Werror "${extra[@]}" generate.c $flags -Wl,-rpath,"$lib" -o generate) >"$work/cc.log" 2>&1
built=$?
# Whole output first: grep -q closing the pipe early would fail ldd under pipefail.
linked=$(ldd "$work/example/generate" 2>&1)
[ "$built" = 0 ] && [[ $linked == *"libthinkdiff.so.0 => $lib/libthinkdiff.so.0"* ]]
check $? "examples/generate.c compiles (C99, -Wall -Wextra -Wpedantic -Werror) and links against the installed library"
sed 's/^/# /' "$work/cc.log"

LD_LIBRARY_PATH=$lib "$dest$prefix/bin/thinkdiff" make-demo-models --tokenizers "$source/tests/data/tokenizers" "$work/models" \
  >"$work/demo.log" 2>&1
check $? "thinkdiff make-demo-models (the installed CLI, on the installed library)"
sed 's/^/# /' "$work/demo.log"

(cd "$work/example" && ./generate "$work/models") >"$work/run.log" 2>&1
status=$?
sed 's/^/# /' "$work/run.log"
magic=$(od -An -tx1 -N8 "$work/example/example.png" 2>/dev/null | tr -d ' \n')
[ "$status" = 0 ] && [ "$magic" = 89504e470d0a1a0a ] && grep -q '^example.png: 64x64$' "$work/run.log"
check $? "the example renders example.png (64x64 PNG) with the demo models"

exit $failed
