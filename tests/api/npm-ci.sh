#!/bin/sh
# Installs tests/api's pinned npm packages (@redocly/cli, ajv, ajv-formats)
# from the committed lockfile, once: skipped when node_modules already
# matches it. Called by tools/deps.sh test.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
stamp=$here/node_modules/.wardd-lockfile
if [ -f "$stamp" ] && cmp -s "$here/package-lock.json" "$stamp"; then exit 0; fi
echo "deps.sh: npm ci in tests/api"
(cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
cp "$here/package-lock.json" "$stamp"
