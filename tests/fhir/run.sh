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

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
wardd=${1:-}
results=$repo/build/.results
tmp=""
pid=""
mkdir -p "$repo/build"

finish() {
    echo "$1 $2" >> "$results"
    echo "fhir-clients: $1 passed, $2 failed"
    exit "$3"
}
die() {
    echo "fhir-clients: $*" >&2
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
*) die "usage: tests/fhir/run.sh /absolute/path/to/wardd" ;;
esac
[ -x "$wardd" ] || die "no executable wardd at $wardd (run make first)"
command -v node >/dev/null 2>&1 || die "node not found (tools/deps.sh test installs Debian's nodejs)"
command -v npm >/dev/null 2>&1 || die "npm not found (tools/deps.sh test installs Debian's npm)"

stamp=$here/node_modules/.wardd-lockfile
if ! { [ -f "$stamp" ] && cmp -s "$here/package-lock.json" "$stamp"; }; then
    echo "fhir-clients: npm ci in tests/fhir"
    (cd "$here" && npm ci --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) ||
        die "npm ci failed in $here"
    cp "$here/package-lock.json" "$stamp"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wardd-fhir.XXXXXX") || die "mktemp failed"
"$wardd" demo --db "$tmp/ward.db" --out "$tmp/devices.json" >"$tmp/demo.log" 2>&1 ||
    { cat "$tmp/demo.log" >&2; die "wardd demo failed"; }
"$wardd" serve --db "$tmp/ward.db" --listen 127.0.0.1:0 --port-file "$tmp/port" \
    >"$tmp/server.log" 2>&1 &
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
export WARDD_URL="http://127.0.0.1:$(cat "$tmp/port")"
echo "fhir-clients: wardd on $WARDD_URL (pid $pid), node $(node --version)"

cd "$here" || die "cd $here"
node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tmp/results.tap" clients.test.mjs
rc=$?

kill -TERM "$pid" 2>/dev/null
wait "$pid"
src=$?
pid=""
[ "$src" = 0 ] || { echo "fhir-clients: wardd exited with $src after SIGTERM" >&2; tail -n 20 "$tmp/server.log" >&2; }

count() { sed -n "s/^# $1 \([0-9]*\)$/\1/p" "$tmp/results.tap" | tail -n 1; }
passed=$(count pass); failed=$(count fail); cancelled=$(count cancelled)
passed=${passed:-0}; failed=$((${failed:-0} + ${cancelled:-0}))
[ "$rc" = 0 ] && [ "$src" = 0 ] && [ "$passed" -gt 0 ] || { [ "$failed" -gt 0 ] || failed=1; finish "$passed" "$failed" 1; }
finish "$passed" "$failed" 0
