#!/bin/sh
# Refreshes the vendored browser files from the version locked in
# web/package-lock.json. The dashboard needs no Node at run time: the files
# below are committed and served as is by `wardd serve --web web`.
#
#   web/vendor/update.sh            after changing the uplot version in
#                                   web/package.json (then `npm install
#                                   --package-lock-only` there), commit the result
#
# tests/e2e/unit.test.mjs checks that the committed copies are byte-identical
# to node_modules/uplot/dist/ at the locked version.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
web=$(dirname "$here")
repo=$(dirname "$web")
# Install outside web/ so that node_modules is never served as static files.
deps=${WARDD_WEB_DEPS:-$repo/build/web-deps}
mkdir -p "$deps"
cp "$web/package.json" "$web/package-lock.json" "$deps/"
(cd "$deps" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
dist=$deps/node_modules/uplot/dist
for f in uPlot.iife.min.js uPlot.min.css; do
    cp "$dist/$f" "$here/$f"
done
cp "$deps/node_modules/uplot/LICENSE" "$here/uPlot.LICENSE"
ver=$(node -p "require('$deps/node_modules/uplot/package.json').version")
echo "web/vendor: uPlot $ver (uPlot.iife.min.js, uPlot.min.css, uPlot.LICENSE)"
