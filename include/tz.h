/* tz: IANA time zones from the system's time zone database (TZif files,
 * RFC 8536, version 2 or later, as Debian's tzdata installs them under
 * /usr/share/zoneinfo; $TZDIR overrides the directory). Thread-safe and
 * free of process-global state such as setenv("TZ"): a zone is an immutable
 * value, loaded once per name and kept for the life of the process.
 *
 * Times are UTC epoch milliseconds; "local" times are the wall clock read
 * as if it were UTC (local = utc + offset).
 *
 * Local to UTC (tz_local_to_utc):
 *  - a local time that occurs twice (the hour repeated when clocks go back)
 *    is the FIRST occurrence (the earlier instant, still on summer time);
 *  - a local time that does not exist (the hour skipped when clocks go
 *    forward) is read with the offset in force before the change, which
 *    moves it forward by the length of the gap: 02:30 on the day New York
 *    springs forward is 03:30 EDT (07:30 UTC).
 * After the last transition in the file the zone's footer rule (a POSIX TZ
 * string such as "EST5EDT,M3.2.0,M11.1.0") gives the offset, so "slim"
 * zone files work as well as "fat" ones. */
#ifndef WARDD_TZ_H
#define WARDD_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct tz_zone tz_zone;

/* Longest zone name accepted ("America/Argentina/ComodRivadavia" is 32). */
#define TZ_NAME_MAX 64

/* Parses TZif data (version 2 or later). NULL with a sentence in err on
 * malformed data. Free with tz_free. */
tz_zone *tz_parse(const unsigned char *data, size_t len, const char *name, char *err,
                  size_t errlen);
void tz_free(tz_zone *z);

/* The zone named `name` ("America/New_York", "UTC"), loaded from the
 * database on first use and cached. NULL with a sentence in err when the
 * name is not a zone name (letters, digits, '_', '-', '+', '/'; no "..")
 * or no valid zone file exists for it. "UTC" and "Etc/UTC" work without the
 * database. The pointer stays valid for the life of the process. */
const tz_zone *tz_get(const char *name, char *err, size_t errlen);

/* The ward's default zone, used where a rule set names none: set once at
 * start-up (serve --time-zone); UTC until then. 0, or -1 with err. */
int tz_set_default(const char *name, char *err, size_t errlen);
const tz_zone *tz_default(void);

const char *tz_name(const tz_zone *z);
/* The offset from UTC in force at utc_ms, in ms (-5 h in New York in
 * winter: -18000000). */
int64_t tz_offset_ms(const tz_zone *z, int64_t utc_ms);
/* utc_ms + tz_offset_ms(z, utc_ms). */
int64_t tz_to_local(const tz_zone *z, int64_t utc_ms);
/* The instant of a local wall-clock time (rules for gaps and folds above). */
int64_t tz_local_to_utc(const tz_zone *z, int64_t local_ms);
/* The local date of utc_ms as days since 1970-01-01. */
int64_t tz_local_day(const tz_zone *z, int64_t utc_ms);
/* The instant local day `day` begins (its 00:00, or the first instant after
 * a gap at midnight). */
int64_t tz_day_start(const tz_zone *z, int64_t day);

#endif
