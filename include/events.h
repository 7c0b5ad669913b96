/* events: the live event bus behind GET /api/v1/events (Server-Sent Events).
 *
 * Producers (any thread) publish typed events; each gets the next id and is
 * kept, already serialised as its SSE block, in a bounded replay ring so that
 * a client reconnecting with Last-Event-ID receives what it missed.
 * Publishing never blocks on clients: slow SSE clients are served from the
 * ring by the HTTP workers (a stream holds only a cursor into the ring), and
 * a client that fell further behind than the ring receives a `reset` event
 * telling it to reload.
 *
 * Ids: consecutive within a process; the first id of a process is the wall
 * clock in epoch milliseconds x 1000 at events_init(), so ids do not go
 * backwards across a restart (as long as the previous process published
 * fewer than 1000 events per millisecond of its uptime and the clock did not
 * step back) and stay below 2^53 (exact in JavaScript) until the year 2255.
 *
 * Event types (docs/events.md): reading, grade, decision, alert, patient, device,
 * sound;
 * plus `reset`, sent by the bus itself. Payload shapes are documented in
 * docs/events.md. */
#ifndef WARDD_EVENTS_H
#define WARDD_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Starts the bus with room for `replay` events (>= 1) and its keep-alive
 * timer (interval: env WARDD_SSE_KEEPALIVE_MS, default 15000). The timer
 * also wakes every parked stream every WARDD_SSE_RECHECK_MS (default
 * 10000), so its reader can re-check the session behind it. 0 or -1. */
int events_init(size_t replay);
/* Ends every open stream (at shutdown, before the HTTP server stops) and
 * frees the ring. Publishing after this is a no-op. */
void events_shutdown(void);
/* Publishes `data` (stolen) as an event of `type`; returns its id (0 when
 * the bus is not running). Thread-safe, never blocks on clients. */
uint64_t events_publish(const char *type, json_t *data);
/* Runs fn(arg) on the bus's publisher thread, after everything deferred
 * before it: producers on a busy thread (the writer, after a commit) hand it
 * the building and serialising of their events, in their order. Waits while
 * 256 items are queued (the publisher never waits on other threads, so this
 * cannot deadlock); runs fn(arg) on the calling thread when the bus is not
 * running. fn owns arg. */
void events_defer(void (*fn)(void *arg), void *arg);
/* Open SSE streams now (for /metrics). */
size_t events_clients(void);

/* --- streams (used by api_events.c; transport-neutral for unit tests) ----
 *
 * A stream is one subscriber's cursor. Its reader copies whole pending SSE
 * blocks into the caller's buffer. When nothing is pending it calls
 * park(arg) while holding the bus lock (the HTTP layer suspends the
 * connection there) and returns 0; the next publish, the keep-alive timer
 * or events_shutdown() then calls wake(arg) exactly once, without the bus
 * lock held (the HTTP layer resumes the connection), after which the reader
 * is called again. A parked stream is never woken twice, and is not touched
 * by the bus between wake(arg) and the next read. */
typedef struct events_stream events_stream;

#define EVENTS_EOF ((ssize_t)-1) /* the bus was shut down: end the stream */

/* Opens a stream. has_last: the client sent Last-Event-ID `last_id`: the
 * stream replays every later event still in the ring, preceded by a `reset`
 * event when some of them are gone; otherwise it starts at "now". Every
 * stream begins with ": connected" and "retry: 2000". NULL when the bus is
 * not running or out of memory. */
events_stream *events_stream_open(bool has_last, uint64_t last_id, void (*park)(void *arg),
                                  void (*wake)(void *arg), void *arg);
/* Fills buf with up to max bytes; 0 = parked (see above), EVENTS_EOF = end. */
ssize_t events_stream_read(events_stream *s, char *buf, size_t max);
/* Closes and frees a stream that is not parked (or whose transport is gone). */
void events_stream_close(events_stream *s);

/* Id of the newest event published (first id - 1 when none yet); 0 when the
 * bus is not running. For tests and diagnostics. */
uint64_t events_last_id(void);

#endif
