#!/bin/sh
# Runs the libFuzzer harnesses (docs/security.md "Fuzzing"). Called by the
# Makefile from the repository root:
#   tests/fuzz/run.sh smoke SECONDS BIN...   (make fuzz-smoke, part of make test)
#       replays each harness's committed corpus tests/fuzz/corpus/NAME/ once
#       (-runs=0), then fuzzes it for SECONDS; one test per harness in
#       build/.results for tests/run-suite.sh total
#   tests/fuzz/run.sh fuzz SECONDS BIN...    (make fuzz)
#       fuzzes each harness for SECONDS
# New inputs go to build/fuzz/work/NAME/ (the committed seeds stay small:
# copy an input worth keeping into tests/fuzz/corpus/NAME/ by hand), crashes
# to build/fuzz/crashes/NAME-crash-<sha1>; each run's log is
# build/fuzz/NAME.log. Prints one line per harness: executions, seconds,
# corpus size, result.
set -u
mode=$1
secs=$2
shift 2
out=build/fuzz
mkdir -p "$out/work" "$out/crashes"
passed=0
failed=0
for bin in "$@"; do
    name=$(basename "$bin")
    name=${name#fuzz_}
    seeds=tests/fuzz/corpus/$name
    work=$out/work/$name
    log=$out/$name.log
    mkdir -p "$seeds" "$work"
    if [ "$mode" = smoke ] && ! "$bin" -runs=0 "$seeds" >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "FAIL fuzz/$name: replaying $seeds crashed (log: $log)"
        failed=$((failed + 1))
        continue
    fi
    start=$(date +%s)
    "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$out/crashes/$name-" "$work" "$seeds" >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    corpus=$(find "$work" "$seeds" -type f | wc -l)
    if [ "$rc" != 0 ]; then
        tail -n 60 "$log"
        echo "FAIL fuzz/$name: exit $rc after ${execs:-?} executions in ${took}s (log: $log; crash inputs in $out/crashes/)"
        failed=$((failed + 1))
    else
        echo "ok   fuzz/$name: ${execs:-?} executions in ${took}s, corpus $corpus inputs, no crash"
        passed=$((passed + 1))
    fi
done
if [ "$mode" = smoke ]; then
    mkdir -p build
    echo "$passed $failed" >>build/.results
fi
echo "fuzz: $passed harnesses passed, $failed failed"
[ "$failed" = 0 ]
