#!/bin/sh
# Runs test binaries, tallies cmocka's results, and keeps a running total in
# build/.results so that `make test` can close with one "N passed, N failed".
#   run-suite.sh NAME BIN...   run the binaries of one suite
#   run-suite.sh total         print the total and reset it
# SUITE_JOBS (default 1): how many binaries run side by side. Each binary
# starts its own wardd on its own port (port 0) and database (mkdtemp), so
# they do not share state; a binary named in SUITE_ALONE (basenames,
# space-separated) measures time or load and runs only after the others
# have finished, with the machine to itself.
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
jobs=${SUITE_JOBS:-1}
alone=" ${SUITE_ALONE:-} "
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

is_alone() {
    case "$alone" in *" $(basename "$1") "*) return 0 ;; esac
    return 1
}

# run_one I BIN: runs binary number I; prints its line (after its output
# when it failed) in one piece and leaves "passed failed" in $tmp/count.I.
run_one() {
    name=$(basename "$2")
    log=$tmp/log.$1
    t0=$(date +%s%N)
    if "$2" >"$log" 2>&1; then rc=0; else rc=$?; fi
    secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN {printf "%.1f", (b - a) / 1e9}')
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
    if [ "$rc" != 0 ] || [ "$f" != 0 ]; then
        { cat "$log"; echo "FAIL $suite/$name: $p passed, $f failed (exit $rc, ${secs} s)"; } >"$log.out"
    else
        echo "ok   $suite/$name: $p passed (${secs} s)" >"$log.out"
    fi
    cat "$log.out"
    echo "$p $f" >"$tmp/count.$1"
}

# lane BIN...: takes the next binary no other lane has claimed (mkdir is
# atomic), in the order given, until none is left.
lane() {
    i=0
    for bin in "$@"; do
        i=$((i + 1))
        if is_alone "$bin" || ! mkdir "$tmp/claim.$i" 2>/dev/null; then continue; fi
        run_one "$i" "$bin"
    done
}

n=0
while [ "$n" -lt "$jobs" ]; do
    lane "$@" &
    n=$((n + 1))
done
wait
i=0
for bin in "$@"; do
    i=$((i + 1))
    if is_alone "$bin"; then run_one "$i" "$bin"; fi
done

passed=0; failed=0; i=0
for bin in "$@"; do
    i=$((i + 1))
    if [ -f "$tmp/count.$i" ]; then
        read -r p f <"$tmp/count.$i"
    else
        echo "FAIL $suite/$(basename "$bin"): no result (its runner stopped)"
        p=0; f=1
    fi
    passed=$((passed + p)); failed=$((failed + f))
done
echo "$passed $failed" >> "$results"
echo "$suite: $passed passed, $failed failed"
[ "$failed" = 0 ]
