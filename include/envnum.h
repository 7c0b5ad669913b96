/* envnum: integer settings from the environment (tuning knobs the tests
 * and benchmarks use: WARDD_SSE_KEEPALIVE_MS, WARDD_CLINICAL_TICK_MS...).
 * Kept apart from clock.h: a setting is not a clock, though most are
 * durations in ms. */
#ifndef WARDD_ENVNUM_H
#define WARDD_ENVNUM_H

/* The decimal integer in environment variable `name`, or dflt when it is
 * unset or empty. A value that is not an integer in [min, max] is logged
 * (warning) and gives dflt: a typo never stops the server. */
long long env_number(const char *name, long long dflt, long long min, long long max);

#endif
