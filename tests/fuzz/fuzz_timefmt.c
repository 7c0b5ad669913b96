/* fuzz_timefmt: RFC 3339 times (server/core/timefmt.c).
 * Built and run by `make fuzz` / `make fuzz-smoke` (build/fuzz/fuzz_timefmt); by hand:
 *   clang -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE -Iinclude \
 *     tests/fuzz/fuzz_timefmt.c server/core/timefmt.c -o /tmp/fuzz_timefmt
 *   /tmp/fuzz_timefmt tests/fuzz/corpus/timefmt
 * Properties beyond "no crash, no UB": a parsed time formats and parses
 * back to the same millisecond (inside the formatter's 0000-9999 range);
 * a formatted time is always 24 characters; the date parser agrees with
 * the calendar (a date it accepts parses as midnight UTC). */
#include "timefmt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z in epoch ms. */
#define MIN_MS (-62167219200000LL)
#define MAX_MS (253402300799999LL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[128], out[TIMEFMT_LEN], again_text[TIMEFMT_LEN + 16];
    int64_t ms = 0, again = 0;
    int y = 0, m = 0, d = 0;

    if (size >= sizeof text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (timefmt_parse(text, &ms) == 0) {
        timefmt_format(ms, out, sizeof out);
        if (strlen(out) != 24)
            abort();
        if (ms >= MIN_MS && ms <= MAX_MS && (timefmt_parse(out, &again) != 0 || again != ms))
            abort();
    }
    if (timefmt_parse_date(text, &y, &m, &d) == 0) {
        snprintf(again_text, sizeof again_text, "%04d-%02d-%02dT00:00:00Z", y, m, d);
        if (timefmt_parse(again_text, &again) != 0 || again % 86400000 != 0)
            abort();
    }
    if (size == 8) { /* any 64-bit value formats without overflow */
        memcpy(&ms, data, sizeof ms);
        timefmt_format(ms, out, sizeof out);
        if (strlen(out) != 24)
            abort();
    }
    return 0;
}
