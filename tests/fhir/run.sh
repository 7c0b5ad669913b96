#!/bin/sh
# The FHIR client suite (docs/fhir.md). Called by `make fhir-clients` (and
# so by `make test`) as:
#   tests/fhir/run.sh /abs/path/to/build/wardd
# Installs the pinned node packages (npm ci from the committed lockfile,
# without fhirclient's optional React-Native shims), seeds a demo ward in a
# temporary directory, serves it on a free port, runs clients.test.mjs with
# Node's test runner, stops wardd with SIGTERM, and appends
# "passed failed" to build/.results for tests/run-suite.sh total.
set -u

suite=fhir-clients
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
wardd=${1:-}
. "$repo/tests/lib/suite.sh"
check_wardd "$wardd"
# Without fhirclient's optional React-Native shims.
npm_ci "$here" --omit=optional
start_demo_wardd "$wardd"
echo "fhir-clients: wardd on $WARDD_URL (pid $pid), node $(node --version)"

cd "$here" || die "cd $here"
node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tmp/results.tap" clients.test.mjs
rc=$?

stop_wardd

count() { tap_count "$1" "$tmp/results.tap"; }
passed=$(count pass); failed=$(count fail); cancelled=$(count cancelled)
passed=${passed:-0}; failed=$((${failed:-0} + ${cancelled:-0}))
[ "$rc" = 0 ] && [ "$src" = 0 ] && [ "$passed" -gt 0 ] || { [ "$failed" -gt 0 ] || failed=1; finish "$passed" "$failed" 1; }
finish "$passed" "$failed" 0
