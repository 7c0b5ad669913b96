# suite.sh: what the Node suites' runners share (tests/e2e/run.sh,
# tests/fhir/run.sh), sourced after setting
#   suite   the suite's name in messages and in the total ("browser")
#   here    the suite's directory; repo the repository's root
# It gives: finish/die (append "passed failed" to build/.results for
# tests/run-suite.sh total, and exit), a cleanup trap that stops wardd and
# removes the temporary directory (KEEP_TMP=1 keeps it), npm_ci (npm ci
# from the committed lockfile, skipped when node_modules matches it),
# check_wardd (the daemon and Node are there), start_demo_wardd (a demo
# ward served on a free port: $tmp, $pid, WARDD_URL), stop_wardd (SIGTERM,
# its exit status in $src) and tap_count (a TAP file's "# pass" etc.).
results=$repo/build/.results
tmp=""
pid=""
src=0
mkdir -p "$repo/build"

finish() {
    # $1 passed, $2 failed, $3 exit status
    echo "$1 $2" >> "$results"
    echo "$suite: $1 passed, $2 failed"
    exit "$3"
}
die() {
    echo "$suite: $*" >&2
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

# check_wardd PATH: an absolute path to an executable wardd, and Node + npm.
check_wardd() {
    case "$1" in
    /*) ;;
    *) die "usage: ${here#"$repo"/}/run.sh /absolute/path/to/wardd" ;;
    esac
    [ -x "$1" ] || die "no executable wardd at $1 (run make first)"
    command -v node >/dev/null 2>&1 || die "node not found (tools/deps.sh test installs Debian's nodejs)"
    command -v npm >/dev/null 2>&1 || die "npm not found (tools/deps.sh test installs Debian's npm)"
}

# npm_ci DIR [NPM-CI-OPTIONS]: never downloads a browser (playwright-core
# has no install step; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD for good measure).
npm_ci() {
    dir=$1
    shift
    stamp=$dir/node_modules/.wardd-lockfile
    if [ -f "$stamp" ] && cmp -s "$dir/package-lock.json" "$stamp"; then return 0; fi
    echo "$suite: npm ci in ${dir#"$repo"/}"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci "$@" --ignore-scripts --no-audit --no-fund \
        --loglevel=error >/dev/null) || die "npm ci failed in $dir"
    cp "$dir/package-lock.json" "$stamp"
}

# start_demo_wardd WARDD [SERVE-OPTIONS]: a demo ward in a new temporary
# directory ($tmp: ward.db, devices.json, the logs), served on 127.0.0.1.
start_demo_wardd() {
    wardd=$1
    shift
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/wardd-$suite.XXXXXX") || die "mktemp failed"
    "$wardd" demo --db "$tmp/ward.db" --out "$tmp/devices.json" >"$tmp/demo.log" 2>&1 ||
        { cat "$tmp/demo.log" >&2; die "wardd demo failed"; }
    "$wardd" serve --db "$tmp/ward.db" --listen 127.0.0.1:0 --port-file "$tmp/port" "$@" \
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
    WARDD_URL="http://127.0.0.1:$(cat "$tmp/port")"
    export WARDD_URL
}

# stop_wardd: SIGTERM; its exit status in $src (its log's tail if not 0).
stop_wardd() {
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    src=$?
    pid=""
    if [ "$src" != 0 ]; then
        echo "$suite: wardd exited with status $src after SIGTERM; its log:" >&2
        tail -n 20 "$tmp/server.log" >&2
    fi
}

# tap_count WHAT FILE...: the sum of "# WHAT N" (pass, fail, ...) over the files.
tap_count() {
    what=$1
    shift
    for f in "$@"; do
        [ -f "$f" ] && sed -n "s/^# $what \([0-9]*\)$/\1/p" "$f" | tail -n 1
    done | awk '{s+=$1} END {print s+0}'
}
