/* sse_session: an event stream lives only as long as the session that
 * opened it (docs/security.md "Streams end with their session"), and
 * streams are capped per session and in total.
 *
 * A stream remembers its session's token hash, user, role, absolute expiry
 * and last recorded use. Before each batch it writes, sse_session_valid()
 * looks the session up again when anything may have changed: the session
 * generation moved (a logout, a disabled user, a role or password change
 * was committed), the expiry or the idle limit may have been reached, or
 * SSE_RECHECK_MS passed (changes made by another process). The event bus
 * wakes parked streams at least every WARDD_SSE_RECHECK_MS (10 s), so an
 * idle stream ends within that bound of its session ending; a stream that
 * has events to send ends before sending them. Devices cannot open
 * streams. Private to server/api. */
#ifndef WARDD_SSE_SESSION_H
#define WARDD_SSE_SESSION_H

#include "http.h"
#include "secret.h"
#include "sse_limits.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sse_session {
    char hash[SECRET_HASH_HEX]; /* of the presented session token */
    int64_t user_id;
    role role;
    int64_t expires_at; /* epoch ms */
    int64_t last_used;  /* epoch ms */
    int64_t idle_ms;    /* the server's idle limit (0: none) */
    uint64_t generation;
    int64_t checked_ms; /* monotonic ms of the last look-up */
    bool counted;       /* holds a place in the caps */
    bool station;       /* a wall-display station's token, not a session */
} sse_session;

/* Fills *ss for r's session and takes a place in the caps; false after
 * replying 429 (a cap is reached) or 503. */
bool sse_session_admit_or_reply(struct req *r, sse_session *ss);
/* Whether the stream may write its next batch (see above). On the HTTP
 * worker thread that runs the stream's reader. */
bool sse_session_valid(sse_session *ss);
/* Gives the place back (idempotent). */
void sse_session_release(sse_session *ss);

#endif
