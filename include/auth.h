/* auth: who is calling. Resolves `Authorization: Bearer <token>` or the
 * `wardd_session` cookie to a principal: a staff session (users joined to
 * sessions, not expired, user not disabled) or a device (token not
 * revoked). Tokens are looked up by their SHA-256, never stored in clear.
 *
 * Device tokens found are remembered in a small bounded in-memory cache
 * (SHA-256 -> principal), valid only while store_device_generation() is
 * unchanged: a committed rotation, revocation or enrolment invalidates it
 * before its reply is sent, so a revoked token fails on the next request.
 * Thread-safe (MHD's worker threads). Sessions are always looked up. */
#ifndef WARDD_AUTH_H
#define WARDD_AUTH_H

#include "http.h"

#define AUTH_NONE    0 /* no credentials presented */
#define AUTH_OK      1 /* r->who is set */
#define AUTH_INVALID 2 /* credentials presented but unknown/expired/revoked */

/* The session cookie's name. */
#define AUTH_COOKIE "wardd_session"

/* Fills r->who. Returns AUTH_*, or -1 when the database failed. */
int auth_resolve(struct req *r);

#endif
