/* fuzz_tz: libFuzzer harness for the TZif parser (server/core/tz.c): any
 * input is parsed; a zone that loads is queried around its transitions and
 * at the ends of the time range: offsets stay within a day and local ->
 * UTC stays near the instant it came from.
 *
 * Seed corpus: tests/fuzz/corpus/tz/ (zone files copied from Debian's
 * tzdata 2025b: Asia/Kolkata, Etc/UTC, America/New_York, Australia/Sydney).
 * Built and run by `make fuzz` and, briefly, by `make fuzz-smoke`.
 */
#include "tz.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[200];
    tz_zone *z = tz_parse(data, size, "fuzz", err, sizeof err);
    static const int64_t probes[] = {INT64_C(-8000000000000000), INT64_C(-1), 0,
                                     INT64_C(1772953200000), /* 2026-03-08T07:00Z */
                                     INT64_C(1793512800000), /* 2026-11-01T06:00Z */
                                     INT64_C(4102444800000), /* 2100 */
                                     INT64_C(8000000000000000)};

    if (z == NULL)
        return 0;
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        int64_t t = probes[i];
        int64_t off = tz_offset_ms(z, t);
        if (off < -INT64_C(26) * 3600000 || off > INT64_C(26) * 3600000)
            abort();
        /* local -> UTC lands within a day of the instant whatever the data
         * (an arbitrary file may change offsets more often than real zones,
         * so an exact round trip is not required here; test_tz checks it) */
        int64_t back = tz_local_to_utc(z, tz_to_local(z, t));
        if (back - t > INT64_C(2) * 86400000 || t - back > INT64_C(2) * 86400000)
            abort();
        (void)tz_day_start(z, tz_local_day(z, t));
    }
    tz_free(z);
    return 0;
}
