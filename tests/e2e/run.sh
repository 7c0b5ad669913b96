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

suite=browser
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
wardd=${1:-}
shots=$repo/build/screenshots
. "$repo/tests/lib/suite.sh"
check_wardd "$wardd"
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || die "no chromium at $chromium (apt-get install chromium; tools/deps.sh test does)"
export CHROMIUM="$chromium"
if command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list 2>/dev/null | head -n 1)" ]; then
    echo "browser: warning: no fonts installed; screenshots will show boxes (apt-get install fonts-dejavu-core)" >&2
fi

npm_ci "$here"
# uPlot at the version web/package-lock.json locks, installed outside web/
# (web/ is served as is) to check the vendored copy against it.
webdeps=$repo/build/web-deps
mkdir -p "$webdeps"
cp "$repo/web/package.json" "$repo/web/package-lock.json" "$webdeps/"
npm_ci "$webdeps"

start_demo_wardd "$wardd" --web "$repo/web"
rm -rf "$shots"
mkdir -p "$shots"

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

stop_wardd

count() { tap_count "$1" "$tmp/results.tap" "$tmp/courses.tap"; }
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
