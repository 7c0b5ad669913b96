/* fuzz_readings: a POST /api/v1/readings body as the HTTP layer and the
 * ingest validation see it: the nesting check (body_json_depth), jansson
 * with duplicate keys rejected, the body spec {"readings": [...]}
 * (body_check), then every item through obs_parse_reading as a device
 * (id required, 24 h horizon) and as staff (no horizon, a weight).
 * Built by `make fuzz` (build/fuzz/fuzz_readings); by hand:
 *   clang -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE -Iinclude \
 *     tests/fuzz/fuzz_readings.c server/http/body.c server/core/obs.c \
 *     server/core/timefmt.c -ljansson -o /tmp/fuzz_readings
 * (body.c may pull more of the daemon: `make fuzz` links all of it.)
 * Properties: the depth check is bounded, a body the spec accepts has an
 * array of readings, and each item is either accepted within the
 * context's window or rejected with a code. */
#include "body.h"
#include "obs.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#define NOW_MS     1796000000000LL
#define DEPTH_MAX  32 /* server/http/http.c JSON_DEPTH_MAX */
#define BATCH_MAX  1000
#define HORIZON_MS (24LL * 3600 * 1000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_item(const json_t *item, const obs_context *ctx)
{
    obs_reading out;
    obs_error err;

    if (obs_parse_reading(item, ctx, &out, &err) == 0) {
        if (!out.code || out.time_ms > ctx->now_ms + OBS_FUTURE_MS ||
            (ctx->max_age_ms && out.time_ms < ctx->now_ms - ctx->max_age_ms))
            abort();
        json_decref(obs_value_json(out.code, out.value, out.text));
    } else if (!err.code) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const field_spec specs[] = {{"readings", F_ARRAY, true, false, 0}};
    const obs_context device = {.now_ms = NOW_MS, .require_id = true, .max_age_ms = HORIZON_MS};
    const obs_context staff = {.now_ms = NOW_MS, .weight_kg = 72.5};
    json_t *doc, *details, *items;
    size_t n;

    if (body_json_depth((const char *)data, size) > DEPTH_MAX)
        return 0;
    doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!doc)
        return 0;
    details = body_check(doc, BODY_SPECS(specs));
    items = json_object_get(doc, "readings");
    if (!details && !json_is_array(items))
        abort();
    json_decref(details);
    n = json_array_size(items);
    for (size_t i = 0; i < n && i < BATCH_MAX; i++) {
        one_item(json_array_get(items, i), &device);
        one_item(json_array_get(items, i), &staff);
    }
    json_decref(doc);
    return 0;
}
