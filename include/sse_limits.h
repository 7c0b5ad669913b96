/* sse_limits: caps on open event streams (server/api/sse_session.c). */
#ifndef WARDD_SSE_LIMITS_H
#define WARDD_SSE_LIMITS_H

/* Sets the caps (0 keeps the default: 64 per session, 512 in total; at
 * most 1024). Before the server starts. */
void sse_session_limits(unsigned per_session, unsigned total);

#endif
