#!/bin/sh
# Proves tools/checklayers.sh catches wrong-way includes: it must pass the
# fixture tree layers/good (every include points down) and fail
# layers/bad with exactly the violations in layers/bad.expected (a store
# file including http.h, a core file and a core header including higher
# layers, the pure engine including log.h, an unknown header, SQLite in
# an http file, the clinical worker including an HL7 header, a handler including the
# store's private header). Run by
# `make lint`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
check=$here/../../tools/checklayers.sh
fail=0
if ! out=$("$check" "$here/layers/good" 2>&1); then
    echo "test_checklayers: the good tree was refused:" >&2
    echo "$out" >&2
    fail=1
fi
out=$("$check" "$here/layers/bad" 2>/dev/null)
rc=$?
if [ "$rc" != 1 ]; then
    echo "test_checklayers: the bad tree gave exit $rc, want 1" >&2
    fail=1
fi
if [ "$out" != "$(cat "$here/layers/bad.expected")" ]; then
    echo "test_checklayers: the bad tree's report differs from bad.expected:" >&2
    echo "$out" >&2
    fail=1
fi
[ "$fail" = 0 ] && echo "test_checklayers: ok (good tree passes, bad tree fails with its 9 violations)"
exit "$fail"
