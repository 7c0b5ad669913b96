#!/bin/sh
# checklayers.sh: fails on an #include that points up the layers
# (docs/ARCHITECTURE.md "Layers", docs/CONVENTIONS.md). In the spirit of
# curl's checksrc: one small script, run by `make lint`, whose messages say
# file:line and the rule broken.
#
#   tools/checklayers.sh [ROOT]     checks ROOT (default .): exit 0 clean,
#                                   1 a violation, 2 usage or I/O error
#
# Every `#include "x.h"` in server/**.[ch] and include/*.h is classified by
# the layer of the module that implements x: include/x.h belongs to the
# folder holding server/<layer>/x.c; a header in the including file's own
# folder is that folder's private header; headers without a .c are in the
# table below. Layers, highest first (a file may include its own layer and
# any lower one, never a higher one):
#
#   main      server/*.c           composition root: subcommands, demo
#   api       server/api/, server/hl7/, server/fhir/
#   http      server/http/         transport, dispatch, replies, auth
#   clinical  server/clinical/     the clinical worker (clinical*.c), drift
#   store     server/store/        every SQL statement, behind store.h
#   engine    server/clinical/{rules*.[ch],engine*.[ch],alerts.c}
#                                  the pure engine; the store keeps its
#                                  types (alerts, doses), so it ranks below
#   core      server/core/         obs catalogue, time, clock, secrets,
#                                  principal, events bus, log
#
# No file outside server/store/ includes <sqlite3.h> or calls sqlite3_*.
# A header in a server/ folder is that folder's private header: no other
# folder includes it (server/store/store_int.h, server/clinical/engine_int.h).
#
# The pure engine files may include only engine_int.h, engine.h,
# rules_int.h, rules.h, alerts.h, obs.h, timefmt.h and tz.h: nothing that
# does I/O. (tz.h's conversions are pure on a zone loaded once, when a rule
# set is installed; the engine never opens a file.)
#
# POSIX sh + awk only (Debian 12 minimal has mawk, no python).
set -u
root=${1:-.}
cd "$root" || exit 2
[ -d server ] && [ -d include ] || {
    echo "checklayers: $root has no server/ and include/" >&2
    exit 2
}

# Headers with no server/<layer>/x.c of the same name: "header layer".
table='
app.h http
store.h store
api.h api
fhir.h api
hl7.h api
hl7_codemap.h api
sse_limits.h api
openapi_json.h api
cli.h main
errors.def core
errors.h core
embedded_migrations.h store
engine.h engine
rules.h engine
alerts.h engine
'

# Known exceptions, reported but not failing: "file header owner". They are
# clinical-side includes the clinical branch removes (clinical.h does not
# need http.h; clinical_start should take the db_writer, not struct app).
# EMPTY THIS LIST AT MERGE once those changes are in.
allow='
'

# Input to awk: the server's .c files (module -> layer), the table, the
# allow-list, then the files to check.
srcs=$(find server -name '*.c' | sort)
hdrs=$(find server -name '*.h' | sort)
files=$(find server include -name '*.[ch]' | sort)
{
    for s in $srcs; do echo "SRC $s"; done
    for h in $hdrs; do echo "PRIV $h"; done
    echo "$table" | awk 'NF == 2 { print "TAB " $1 " " $2 }'
    echo "$allow" | awk 'NF == 3 { print "ALLOW " $1 " " $2 " " $3 }'
} | awk '
function rank(l) {
    if (l == "main") return 7
    if (l == "api") return 6
    if (l == "http") return 5
    if (l == "clinical") return 4
    if (l == "store") return 3
    if (l == "engine") return 2
    if (l == "core") return 1
    return 0
}
# The layer of a file by where it lives.
function path_layer(p,   n, a, base) {
    n = split(p, a, "/")
    base = a[n]
    if (a[1] != "server")
        return ""
    if (n == 2)
        return "main"
    if (a[2] == "clinical") {
        if (base ~ /^(rules[a-z_]*\.[ch]|engine[a-z_]*\.[ch]|alerts\.c)$/)
            return "engine"
        return "clinical"
    }
    if (a[2] == "hl7" || a[2] == "fhir")
        return "api"
    if (rank(a[2]) > 0)
        return a[2]
    return ""
}
function dirname(p,   i) {
    i = length(p)
    while (i > 0 && substr(p, i, 1) != "/")
        i--
    return substr(p, 1, i - 1)
}
# The layer of header h as included from file f.
function header_layer(h, f,   d, mod) {
    d = dirname(f)
    if ((d "/" h) in priv)
        return path_layer(d "/" h)
    if (h in tab)
        return tab[h]
    mod = h
    sub(/\.h$/, "", mod)
    if (mod in src)
        return src[mod]
    return ""
}
function is_engine_ok(h) {
    return h ~ /^(engine_int|engine|rules_int|rules|alerts|obs|timefmt|tz)\.h$/
}
function report(f, line, msg,   key) {
    key = f " " inc
    if (key in allow) {
        printf "%s:%d: %s (known exception, fixed by %s)\n", f, line, msg, allow[key] > "/dev/stderr"
        return
    }
    printf "%s:%d: %s\n", f, line, msg
    bad = 1
}
FNR == NR && $1 == "SRC" {
    m = $2
    sub(/^.*\//, "", m)
    sub(/\.c$/, "", m)
    src[m] = path_layer($2)
    next
}
FNR == NR && $1 == "PRIV" {
    priv[$2] = 1
    b = $2
    sub(/^.*\//, "", b)
    privdir[b] = dirname($2)
    next
}
FNR == NR && $1 == "TAB" { tab[$2] = $3; next }
FNR == NR && $1 == "ALLOW" { allow[$2 " " $3] = $4; next }
FNR == 1 {
    fl = path_layer(FILENAME)
    if (FILENAME ~ /^include\//) {
        h = FILENAME
        sub(/^include\//, "", h)
        fl = header_layer(h, FILENAME)
    }
    if (fl == "") {
        printf "%s:1: no layer for this file (put it in a layer folder, or in the table of tools/checklayers.sh)\n", FILENAME
        bad = 1
    }
}
# SQLite (its header or an sqlite3_ call) outside server/store/: the store
# is the one place that knows the backend.
FILENAME !~ /^server\/store\// && (/^[ \t]*#[ \t]*include[ \t]*<sqlite3\.h>/ || /sqlite3_[a-z_0-9]+[ \t]*\(/) {
    inc = "sqlite3"
    report(FILENAME, FNR, "SQLite outside server/store/: SQL and the backend stay behind store.h and db.h")
}
/^[ \t]*#[ \t]*include[ \t]*"/ {
    inc = $0
    sub(/^[^"]*"/, "", inc)
    sub(/".*$/, "", inc)
    if (fl == "")
        next
    il = header_layer(inc, FILENAME)
    if (il == "" && (inc in privdir)) {
        report(FILENAME, FNR, "\"" inc "\" is private to " privdir[inc] "/: only that folder includes it")
        next
    }
    if (il == "") {
        report(FILENAME, FNR, "\"" inc "\": no layer known for this header (add it to the table of tools/checklayers.sh)")
        next
    }
    if (fl == "engine" && !is_engine_ok(inc)) {
        report(FILENAME, FNR, "\"" inc "\" (" il "): the pure engine includes only engine_int.h, engine.h, rules_int.h, rules.h, alerts.h, obs.h, timefmt.h, tz.h (no I/O)")
        next
    }
    if (rank(il) > rank(fl))
        report(FILENAME, FNR, "\"" inc "\" is " il ", above " fl ": includes point down only (main > api > http > clinical > store > engine > core)")
}
END { exit bad }
' - $files
