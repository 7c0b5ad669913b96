/* fuzz_obs: one reading item through obs_parse_reading (server/core/obs.c).
 * Input: one context byte (bit 0 require_id, bit 1 a baseline weight, bit 2
 * the 24 h device horizon), then the item's JSON text.
 * Built by `make fuzz` (build/fuzz/fuzz_obs); by hand:
 *   clang -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE -Iinclude \
 *     tests/fuzz/fuzz_obs.c server/core/obs.c server/core/timefmt.c -ljansson -o /tmp/fuzz_obs
 * Properties: an accepted reading has a known code, a time inside the
 * context's window, a numeric value inside the code's plausible range, an
 * id of at most OBS_ID_MAX printable characters, and a value that renders
 * as JSON; a rejection names a code and a message. */
#include "obs.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NOW_MS 1796000000000LL /* a fixed "now" (2026-11) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const obs_reading *o, const obs_context *ctx)
{
    json_t *v;
    char *text;

    if (!o->code || obs_code_lookup(o->code->code) != o->code)
        abort();
    if (o->time_ms > ctx->now_ms + OBS_FUTURE_MS)
        abort();
    if (ctx->max_age_ms > 0 && o->time_ms < ctx->now_ms - ctx->max_age_ms)
        abort();
    if (o->code->kind == OBS_NUMERIC &&
        (!isfinite(o->value) || o->value < o->code->min || o->value > o->code->max))
        abort();
    if (ctx->require_id && o->id[0] == '\0')
        abort();
    if (strlen(o->id) > OBS_ID_MAX)
        abort();
    v = obs_value_json(o->code, o->value, o->text);
    if (!v)
        abort();
    text = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    free(text);
    json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    obs_context ctx = {.now_ms = NOW_MS};
    obs_reading out;
    obs_error err;
    json_t *item;

    if (size < 1)
        return 0;
    ctx.require_id = data[0] & 1;
    ctx.weight_kg = (data[0] & 2) ? 70.0 : 0;
    ctx.max_age_ms = (data[0] & 4) ? 24LL * 3600 * 1000 : 0;
    item = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                      NULL);
    if (!item)
        return 0;
    memset(&out, 0, sizeof out);
    if (obs_parse_reading(item, &ctx, &out, &err) == 0)
        check_accepted(&out, &ctx);
    else if (!err.code || !err.message[0])
        abort();
    json_decref(item);
    return 0;
}
