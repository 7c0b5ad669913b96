/* api_events: GET /api/v1/events, the live event bus as Server-Sent Events
 * (docs/events.md).
 *
 * The response is an endless chunked body produced by a content reader
 * over an events_stream (events.h). No thread waits for events: when the
 * stream has nothing to send, the reader suspends the connection and
 * returns 0 (microhttpd.h, 0.9.75: MHD_suspend_connection may be called
 * from a MHD_ContentReaderCallback, and returning 0 is meant to be paired
 * with it; without the suspend MHD would call the reader again at once).
 * The bus resumes it on the next event, on a keep-alive tick, or at
 * shutdown (the reader then ends the body), so it never spins. The suspend
 * happens under the bus lock, before any publisher can see the stream as
 * parked: MHD_resume_connection is never called on a connection that is
 * not suspended (undefined behaviour per microhttpd.h). Lock order: bus
 * lock, then MHD's internal connection-list mutex (taken inside suspend);
 * resume is called without the bus lock. Every stream must be resumed
 * before MHD_stop_daemon (stopping with suspended connections is an API
 * violation): main.c calls events_shutdown() before http_stop().
 *
 * Start: Last-Event-ID header, else ?last_event_id= (for clients that
 * cannot set headers): replay the later events still held, preceded by
 * `event: reset` when some are gone. Neither: start now. */
#include "api.h"
#include "events.h"
#include "sse_session.h"

#include <errno.h>
#include <stdlib.h>

/* Largest buffer MHD is asked to fill per call; bigger events are sent in
 * pieces. */
#define SSE_BLOCK_SIZE (16 * 1024)

struct sse {
    struct MHD_Connection *conn;
    events_stream *stream;
    sse_session sess; /* the stream ends with it (sse_session.h) */
};

/* Called by the bus under its lock, on this connection's worker thread
 * (from sse_read): suspend before anyone can resume. */
static void sse_park(void *arg)
{
    struct sse *st = arg;

    MHD_suspend_connection(st->conn);
}

/* Called by the bus (publisher, timer, shutdown), any thread, without its
 * lock; exactly once per park. */
static void sse_wake(void *arg)
{
    struct sse *st = arg;

    MHD_resume_connection(st->conn);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct sse *st = cls;
    ssize_t n;
    (void)pos;

    /* Authorisation is checked before every batch written. */
    if (!sse_session_valid(&st->sess))
        return MHD_CONTENT_READER_END_OF_STREAM;
    n = events_stream_read(st->stream, buf, max);
    if (n == EVENTS_EOF)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return n;
}

/* The response is destroyed when the connection is done with it (closed by
 * either side, timed out, or the body ended). */
static void sse_free(void *cls)
{
    struct sse *st = cls;

    events_stream_close(st->stream);
    sse_session_release(&st->sess);
    free(st);
}

/* A decimal event id: 0 or -1. */
static int parse_id(const char *v, uint64_t *out)
{
    char *end = NULL;
    unsigned long long n;

    if (!v || *v < '0' || *v > '9')
        return -1;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno || *end)
        return -1;
    *out = n;
    return 0;
}

enum MHD_Result api_events_get(struct req *r)
{
    const char *last = req_header(r, "Last-Event-ID");
    struct MHD_Response *resp;
    struct sse *st;
    uint64_t last_id = 0;
    enum MHD_Result ret;

    if (!last)
        last = req_query(r, "last_event_id");
    /* An empty Last-Event-ID is what a browser sends after an event
     * without an id: treat it as absent. */
    if (last && !*last)
        last = NULL;
    if (last && parse_id(last, &last_id) != 0)
        return reply_error(r, ERR_BAD_QUERY, "Last-Event-ID must be an event id (digits).", NULL);
    st = calloc(1, sizeof *st);
    if (!st)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    st->conn = r->conn;
    if (!sse_session_admit_or_reply(r, &st->sess)) {
        free(st);
        return MHD_YES;
    }
    r->streaming = true;
    st->stream = events_stream_open(last != NULL, last_id, sse_park, sse_wake, st);
    if (!st->stream) {
        sse_session_release(&st->sess);
        free(st);
        return reply_error(r, ERR_SHUTTING_DOWN, NULL, NULL);
    }
    resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SSE_BLOCK_SIZE, sse_read, st, sse_free);
    if (!resp) {
        sse_free(st);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    http_security_headers(r, resp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp); /* frees st now if it was not queued */
    if (ret == MHD_YES)
        r->status_sent = MHD_HTTP_OK;
    return ret;
}
