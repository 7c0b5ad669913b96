/* clock: the monotonic clock, for intervals, timeouts and rate windows
 * that must not move when the wall clock is set (wall-clock times, as
 * stored and shown, are timefmt.h's epoch ms).
 *
 * One copy for the process: server code does not call
 * clock_gettime(CLOCK_MONOTONIC) itself. */
#ifndef WARDD_CLOCK_H
#define WARDD_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC (an arbitrary origin: compare, never show). */
int64_t clock_mono_ms(void);
/* Nanoseconds on CLOCK_MONOTONIC, for latency measurements. */
uint64_t clock_mono_ns(void);
/* The absolute CLOCK_MONOTONIC time `ms` from now, for
 * pthread_cond_timedwait() on a condition made by clock_cond_init_mono(). */
struct timespec clock_mono_after(int64_t ms);
/* Initialises *c to time its waits on CLOCK_MONOTONIC. 0 or an errno value. */
int clock_cond_init_mono(pthread_cond_t *c);

#endif
