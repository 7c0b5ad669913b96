#!/bin/sh
# The API contract's checks (make api-contract; docs/api.md, "The OpenAPI
# document"), run from the repository's root:
#   tests/api/run.sh /abs/path/to/build/wardd [RESPONSES.jsonl ...]
#   1. redocly lint docs/openapi.json (tests/api/redocly.yaml), and the
#      house rules redocly cannot know (check-document.mjs);
#   2. validate-responses.mjs on each response log given (the integration
#      and browser suites write them when WARDD_RESPONSE_LOG is set);
#   3. fuzz-requests.mjs: random requests per role against that wardd.
# Each step appends "passed failed" to build/.results for
# tests/run-suite.sh total. API_FUZZ_SECONDS bounds step 3 (default 40).
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
wardd=${1:-}
[ $# -gt 0 ] && shift
results=$repo/build/.results
mkdir -p "$repo/build"
passed=0
failed=0
step() {
    # $1 name; the rest the command
    name=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok   api-contract/$name"
    else
        failed=$((failed + 1))
        echo "FAIL api-contract/$name"
    fi
}
case "$wardd" in
/*) ;;
*) echo "usage: tests/api/run.sh /abs/path/to/wardd [RESPONSES.jsonl ...]" >&2; exit 2 ;;
esac
[ -d "$here/node_modules/@redocly/cli" ] || "$here/npm-ci.sh" || exit 1

step lint sh -c "cd '$here' && node_modules/.bin/redocly lint --format=stylish --config redocly.yaml ../../docs/openapi.json"
step house-rules node "$here/check-document.mjs"
for log in "$@"; do
    step "responses($(basename "$log"))" node "$here/validate-responses.mjs" "$log"
done
step fuzz node "$here/fuzz-requests.mjs" "$wardd" --seconds "${API_FUZZ_SECONDS:-40}"

echo "$passed $failed" >> "$results"
echo "api-contract: $passed passed, $failed failed"
[ "$failed" = 0 ]
