#!/bin/sh
# Proves tools/checkfuncs.sh catches a long function: in a scratch tree, an
# 81-line function fails the check, the same with a "Long:" reason above
# it passes, and an 80-line one passes. Run by `make lint`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
check=$here/../../tools/checkfuncs.sh
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/server/api"

# body N: a function whose body has N lines.
body() {
    i=0
    while [ "$i" -lt "$1" ]; do
        echo "    x++;"
        i=$((i + 1))
    done
}
fail=0
{ echo "static int x;"; echo "int too_long(void)"; echo "{"; body 81; echo "}"; } > "$tmp/server/api/a.c"
out=$("$check" "$tmp" 2>&1)
if [ $? -ne 1 ] || ! echo "$out" | grep -q "server/api/a.c:2: too_long() has 81 lines"; then
    echo "test_checkfuncs: an 81-line function was not refused: $out" >&2
    fail=1
fi
{ echo "static int x;"; echo "/* Long: one straight sequence of steps."; echo " * (a test's reason) */";
  echo "int long_with_reason(void)"; echo "{"; body 81; echo "}"; } > "$tmp/server/api/a.c"
if ! out=$("$check" "$tmp" 2>&1); then
    echo "test_checkfuncs: a long function with its reason was refused: $out" >&2
    fail=1
fi
{ echo "static int x;"; echo "static int short_enough(int a,"; echo "                        int b)";
  echo "{"; body 80; echo "}"; } > "$tmp/server/api/a.c"
if ! out=$("$check" "$tmp" 2>&1); then
    echo "test_checkfuncs: an 80-line function was refused: $out" >&2
    fail=1
fi
[ "$fail" = 0 ] && echo "test_checkfuncs: ok (81 lines refused, a reason or 80 lines accepted)"
exit "$fail"
