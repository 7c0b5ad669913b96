/* api_session: staff log-in and log-out (docs/api.md "Sessions").
 *   POST   /api/v1/session  (public)  {"username", "password"} -> user + token + cookie
 *                                     (api_login.c: lockout, hashing pool, re-hash)
 *   GET    /api/v1/session  (viewer)  who am I
 *   DELETE /api/v1/session  (viewer)  ends the presented session
 *
 * A session token is 256 random bits (secret.h); only its SHA-256 is
 * stored. The same token works as the wardd_session cookie (browsers) and
 * as `Authorization: Bearer` (scripts).
 */
#include "api.h"
#include "app.h"
#include "clock.h"
#include "auth.h"
#include "body.h"
#include "secret.h"
#include "store.h"
#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- helpers ------------------------------------------------------------- */

/* The token the caller presented, as auth.c resolved it: the Authorization
 * header first, else the cookie. */
static const char *presented_token(struct req *r)
{
    const char *h = req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);

    if (h) {
        if (strncasecmp(h, "Bearer ", 7) != 0)
            return NULL;
        h += 7;
        while (*h == ' ')
            h++;
        return h;
    }
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, AUTH_COOKIE);
}

/* Sets r->set_cookie: the session cookie with `token` living max_age_s
 * seconds, or the clearing cookie when token is "". */
static void set_session_cookie(struct req *r, const char *token, long long max_age_s)
{
    snprintf(r->set_cookie, sizeof r->set_cookie,
             "%s=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%lld%s", AUTH_COOKIE, token,
             max_age_s, r->app->tls || r->app->behind_proxy ? "; Secure" : "");
}

/* --- GET /api/v1/session ------------------------------------------------- */

enum MHD_Result api_session_get(struct req *r)
{
    return reply_json(r, 200,
                      json_pack("{s:{s:s, s:s}}", "user", "username", r->who.name, "role",
                                role_name(r->who.role)));
}

/* --- DELETE /api/v1/session ---------------------------------------------- */

struct logout {
    char token_hash[SECRET_HASH_HEX]; /* of the presented token */
};

static int session_delete_apply(db_conn *c, struct req *r)
{
    const struct logout *lo = r->ctx;
    int64_t now = timefmt_now_ms();
    json_t *before;
    int rc;

    if (store_session_delete(c, lo->token_hash) != 0)
        return DB_STORAGE_FAILURE;
    before = json_pack("{s:s, s:s}", "username", r->who.name, "role", role_name(r->who.role));
    rc = before
             ? store_audit(c, &r->who, "session.logout", "session", r->who.name, before, NULL, now)
             : -1;
    json_decref(before);
    if (rc != 0)
        return DB_STORAGE_FAILURE;
    r->out = json_pack("{s:s}", "status", "logged_out");
    return r->out ? 0 : DB_STORAGE_FAILURE;
}

enum MHD_Result api_session_delete(struct req *r)
{
    struct logout *lo;

    /* A station's token is not a session: an admin revokes it. */
    if (r->who.station)
        return reply_error(r, ERR_CONFLICT,
                           "A station is not signed in; an admin revokes its token.", NULL);
    lo = calloc(1, sizeof *lo);
    if (!lo)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    r->ctx = lo;
    r->ctx_free = free;
    /* The dispatcher resolved this token to r->who, so it is a session. */
    secret_token_hash(presented_token(r), lo->token_hash);
    set_session_cookie(r, "", 0);
    return req_write(r, session_delete_apply);
}
