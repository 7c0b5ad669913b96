#!/bin/sh
# Installs the Debian packages wardd needs, and only the missing ones.
# One install step for every path: the Makefile (make, make run, make test)
# and the Dockerfile's build stage both call this script.
#   tools/deps.sh build    compilers' libraries and headers (default)
#   tools/deps.sh test     build + what the test suite needs (browser tests)
#   tools/deps.sh runtime  the shared libraries the daemon links against
#   tools/deps.sh bench    build + load generator and the InfluxDB peer
set -eu
set_for() {
    case "$1" in
    runtime) echo "libmicrohttpd12 libjansson4 libsqlite3-0 libsodium23 libgnutls30 curl ca-certificates tzdata" ;;
    build) echo "build-essential pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev libcmocka-dev libsodium-dev libcurl4-openssl-dev libgnutls28-dev sqlite3" ;;
    test) echo "$(set_for build) clang cppcheck clang-format chromium fonts-dejavu-core poppler-utils nginx" ;;
    bench) echo "$(set_for build) wrk influxdb" ;;
    *) echo "deps.sh: unknown set '$1' (build, test, runtime, bench)" >&2; exit 2 ;;
    esac
}
want=$(set_for "${1:-build}")
missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# Node.js and npm drive the browser tests. A machine may already have a
# Node.js of its own (with npm bundled); only install Debian's when absent.
if [ "${1:-build}" = test ]; then
    command -v node >/dev/null 2>&1 || missing="$missing nodejs"
    command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi
# The test suites' pinned npm packages: tests/api (npm ci from its
# lockfile; once) and the HL7 clients' tests/hl7.
hl7_npm() {
    [ "${1:-build}" = test ] && [ ! -d "$(dirname "$0")/../tests/hl7/node_modules" ] || return 0
    (cd "$(dirname "$0")/../tests/hl7" && npm ci --ignore-scripts --no-audit --no-fund \
        --loglevel=error >/dev/null) || { echo "deps.sh: npm ci failed in tests/hl7" >&2; exit 1; }
}
[ "${1:-build}" = test ] && [ -z "$missing" ] && { "$(dirname "$0")/../tests/api/npm-ci.sh" || exit 1; }
[ -z "$missing" ] && hl7_npm "${1:-build}" && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "deps.sh: missing Debian packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
    exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
[ "${1:-build}" != test ] || "$(dirname "$0")/../tests/api/npm-ci.sh"
hl7_npm "${1:-build}"
