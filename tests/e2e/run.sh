#!/bin/sh
# Browser tests of the dashboard (issue #4). Called by `make browser` (and
# so by `make test`) as:
#   tests/e2e/run.sh /abs/path/to/build/wardd
# Installs the pinned node packages (npm ci, from the committed lockfiles),
# seeds a demo ward in a temporary directory, serves it with wardd on a free
# port with --web pointing at this checkout's web/, runs the unit and
# browser tests with Node's own test runner in Debian's chromium, saves
# screenshots under build/screenshots/, stops wardd with SIGTERM, and
# appends "passed failed" to build/.results for tests/run-suite.sh total.
# Environment: CHROMIUM (default /usr/bin/chromium), KEEP_TMP=1 keeps the
# temporary directory (database, server log) for a look afterwards.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
wardd=${1:-}
results=$repo/build/.results
shots=$repo/build/screenshots
tmp=""
pid=""
mkdir -p "$repo/build"

finish() {
    # $1 passed, $2 failed, $3 exit status
    echo "$1 $2" >> "$results"
    echo "browser: $1 passed, $2 failed"
    exit "$3"
}
die() {
    echo "browser: $*" >&2
    finish 0 1 1
}
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    if [ -n "$tmp" ] && [ "${KEEP_TMP:-0}" != 1 ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

case "$wardd" in
/*) ;;
*) die "usage: tests/e2e/run.sh /absolute/path/to/wardd" ;;
esac
[ -x "$wardd" ] || die "no executable wardd at $wardd (run make first)"
command -v node >/dev/null 2>&1 || die "node not found (tools/deps.sh test installs Debian's nodejs)"
command -v npm >/dev/null 2>&1 || die "npm not found (tools/deps.sh test installs Debian's npm)"
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || die "no chromium at $chromium (apt-get install chromium; tools/deps.sh test does)"
export CHROMIUM="$chromium"
if command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list 2>/dev/null | head -n 1)" ]; then
    echo "browser: warning: no fonts installed; screenshots will show boxes (apt-get install fonts-dejavu-core)" >&2
fi

# npm ci from the committed lockfile, skipped when node_modules already
# matches it. Never downloads a browser: playwright-core has no install step.
npm_ci() {
    dir=$1
    stamp=$dir/node_modules/.wardd-lockfile
    if [ -f "$stamp" ] && cmp -s "$dir/package-lock.json" "$stamp"; then return 0; fi
    echo "browser: npm ci in ${dir#"$repo"/}"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) ||
        die "npm ci failed in $dir"
    cp "$dir/package-lock.json" "$stamp"
}
npm_ci "$here"
# uPlot at the version web/package-lock.json locks, installed outside web/
# (web/ is served as is) to check the vendored copy against it.
webdeps=$repo/build/web-deps
mkdir -p "$webdeps"
cp "$repo/web/package.json" "$repo/web/package-lock.json" "$webdeps/"
npm_ci "$webdeps"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wardd-e2e.XXXXXX") || die "mktemp failed"
"$wardd" demo --db "$tmp/ward.db" --out "$tmp/devices.json" >"$tmp/demo.log" 2>&1 ||
    { cat "$tmp/demo.log" >&2; die "wardd demo failed"; }
"$wardd" serve --db "$tmp/ward.db" --listen 127.0.0.1:0 --port-file "$tmp/port" \
    --web "$repo/web" >"$tmp/server.log" 2>&1 &
pid=$!
i=0
while [ ! -s "$tmp/port" ]; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
        cat "$tmp/server.log" >&2
        die "wardd did not start"
    fi
    sleep 0.1
done
port=$(cat "$tmp/port")
rm -rf "$shots"
mkdir -p "$shots"

export WARDD_URL="http://127.0.0.1:$port"
export WARDD_DEVICES="$tmp/devices.json"
export WARDD_SHOTS="$shots"
export WARDD_WEB_DEPS="$webdeps"
# For tests that start a short-lived wardd of their own (lib.mjs startWardd).
export WARDD_BIN="$wardd"
# Every /api response the pages receive, for make api-contract (response-log.mjs).
export WARDD_RESPONSE_LOG="$repo/build/responses-browser.jsonl"
rm -f "$WARDD_RESPONSE_LOG"
echo "browser: wardd on $WARDD_URL (pid $pid), chromium $("$chromium" --version 2>/dev/null | sed -n 's/^Chromium \([^ ]*\).*/\1/p'), node $(node --version)"

# One report for people (spec, on stdout) and one to count (TAP, in a file).
cd "$here" || die "cd $here"
node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tmp/results.tap" \
    unit.test.mjs dashboard.test.mjs csp.test.mjs feeds.test.mjs invalid.test.mjs screens.test.mjs \
    technical.test.mjs
rc=$?
# courses.test.mjs admits patients: it runs after the board's tests, which
# count the seeded patients, not beside them (node runs files in parallel).
node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tmp/courses.tap" \
    courses.test.mjs || rc=1

kill -TERM "$pid" 2>/dev/null
wait "$pid"
src=$?
pid=""
if [ "$src" != 0 ]; then
    echo "browser: wardd exited with status $src after SIGTERM; its log:" >&2
    tail -n 20 "$tmp/server.log" >&2
fi

count() {
    for f in "$tmp/results.tap" "$tmp/courses.tap"; do
        [ -f "$f" ] && sed -n "s/^# $1 \([0-9]*\)$/\1/p" "$f" | tail -n 1
    done | awk '{s+=$1} END {print s+0}'
}
passed=$(count pass); failed=$(count fail); cancelled=$(count cancelled); skipped=$(count skipped)
passed=${passed:-0}; failed=$((${failed:-0} + ${cancelled:-0})); skipped=${skipped:-0}
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
if [ "$src" != 0 ]; then failed=$((failed + 1)); fi
if [ "$skipped" != 0 ]; then
    echo "browser: $skipped SKIPPED (see the !!!!! lines above: they wait for the clinical engine)"
fi
echo "browser: screenshots in ${shots#"$repo"/}/"
status=0
[ "$failed" = 0 ] || status=1
[ "${KEEP_TMP:-0}" = 1 ] && echo "browser: kept $tmp"
finish "$passed" "$failed" "$status"
