#!/bin/sh
# Runs test binaries, tallies cmocka's results, and keeps a running total in
# build/.results so that `make test` can close with one "N passed, N failed".
#   run-suite.sh NAME BIN...   run the binaries of one suite
#   run-suite.sh total         print the total and reset it
set -u
results=build/.results
mkdir -p build
if [ "$1" = total ]; then
    [ -f "$results" ] || { echo "no tests were run"; exit 1; }
    awk '{p+=$1; f+=$2} END {printf "total: %d passed, %d failed\n", p, f; exit (f>0 || p==0)}' "$results"
    st=$?
    rm -f "$results"
    exit $st
fi
suite=$1; shift
passed=0; failed=0; log=$(mktemp)
for bin in "$@"; do
    name=$(basename "$bin")
    t0=$(date +%s%N)
    if "$bin" >"$log" 2>&1; then rc=0; else rc=$?; fi
    secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN {printf "%.1f", (b - a) / 1e9}')
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
    if [ "$rc" != 0 ] || [ "$f" != 0 ]; then
        cat "$log"
        echo "FAIL $suite/$name: $p passed, $f failed (exit $rc, ${secs} s)"
    else
        echo "ok   $suite/$name: $p passed (${secs} s)"
    fi
    passed=$((passed + p)); failed=$((failed + f))
done
rm -f "$log"
echo "$passed $failed" >> "$results"
echo "$suite: $passed passed, $failed failed"
[ "$failed" = 0 ]
