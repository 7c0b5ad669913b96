/* timefmt: RFC 3339 times <-> UTC epoch milliseconds. Pure: no I/O.
 *
 * Input accepts "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)"; 'T' and
 * 'Z' may be lower case; the fraction has 1-9 digits and is truncated to
 * milliseconds. Calendar fields are range-checked (Feb 29 only in leap
 * years; second 60 is rejected). Output is always UTC with milliseconds:
 * "2026-11-27T14:03:05.120Z". */
#ifndef WARDD_TIMEFMT_H
#define WARDD_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Room for a formatted time and its NUL, with margin. */
#define TIMEFMT_LEN 32

/* Wall-clock now, UTC epoch ms. */
int64_t timefmt_now_ms(void);

/* Parses an RFC 3339 date-time into *out_ms. Returns 0, or -1 when the text
 * is not a complete, valid RFC 3339 date-time with a zone (nothing stored).
 * Strict: the whole string must match (no leading/trailing space), years
 * 0000-9999 only, offsets +-HH:MM with HH <= 23 and MM <= 59 ("-00:00" is
 * UTC), hour 24 and second 60 (leap seconds) are rejected. */
int timefmt_parse(const char *s, int64_t *out_ms);

/* Writes ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 characters) into buf (at least
 * TIMEFMT_LEN bytes; a shorter len truncates, still NUL-terminated). Returns
 * buf. Negative ms (before 1970) round toward the past: -1 is
 * "1969-12-31T23:59:59.999Z". Times outside 0000-01-01T00:00:00.000Z ..
 * 9999-12-31T23:59:59.999Z are clamped to those ends. */
char *timefmt_format(int64_t ms, char *buf, size_t len);

/* Validates a calendar date "YYYY-MM-DD" (birth dates), exactly that and
 * nothing more. Returns 0 and stores the fields (each pointer may be NULL),
 * or -1 and stores nothing. */
int timefmt_parse_date(const char *s, int *year, int *month, int *day);

/* Days since 1970-01-01 for a proleptic Gregorian date (may be negative).
 * Howard Hinnant's days_from_civil; the date is not validated. */
int64_t timefmt_days_from_civil(int year, int month, int day);

#endif
