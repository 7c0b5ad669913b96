/* hashpool: slow, CPU-bound work (argon2id password verification, ~50-100
 * ms each) runs here instead of on the HTTP workers, so that a flood of
 * log-ins cannot occupy the threads that serve device ingest
 * (docs/security.md "Ingest is never starved").
 *
 * A fixed set of threads at lowered CPU priority (nice +10) takes jobs
 * from a bounded queue. hashpool_submit() suspends the request's
 * connection (as req_write does); once the job has run, the connection is
 * resumed and `cont` runs on an HTTP worker to reply. When the queue is
 * full the caller is told at once and answers 503 with Retry-After: no
 * request ever waits for a place.
 *
 * Refusals (429 for an address that must wait, 503 when the queue is
 * full) are held for a moment before they are sent (hashpool_hold): a
 * client that hammers the log-in gets a few answers a second per
 * connection instead of thousands, so refusing it costs the server
 * almost nothing. Holding needs no thread per connection: the
 * connection is suspended and one timer thread resumes it. */
#ifndef WARDD_HASHPOOL_H
#define WARDD_HASHPOOL_H

#include "http.h"

#include <stdbool.h>
#include <stdint.h>

/* Starts `threads` threads (0: one per two cores, at least 1) with room
 * for `queue_max` waiting jobs (0: 16 per thread: a shift change logging
 * in together waits about a second, not 503). 0 or -1. */
int hashpool_start(unsigned threads, unsigned queue_max);
/* Runs what is queued, then stops the threads (before the daemon stops:
 * every suspended connection must be resumed first). */
void hashpool_stop(void);
/* Queues work(r); false when the queue is full or the pool is stopped
 * (nothing was suspended: reply at once). On true the caller returns
 * MHD_YES and does not touch r again; cont(r) replies later. */
bool hashpool_submit(struct req *r, void (*work)(struct req *r),
                     enum MHD_Result (*cont)(struct req *r));

/* Suspends r's connection for ms, then runs cont(r) on an HTTP worker to
 * reply. false when too many are held (reply at once). */
bool hashpool_hold(struct req *r, int64_t ms, enum MHD_Result (*cont)(struct req *r));

#endif
