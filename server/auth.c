/* auth: see auth.h. */
#include "auth.h"
#include "route.h"
#include "secret.h"
#include "store.h"
#include "timefmt.h"

#include <string.h>
#include <strings.h>

/* The token from the Authorization header, else from the cookie. */
static const char *presented_token(struct req *r)
{
    const char *h = req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);

    if (h) {
        if (strncasecmp(h, "Bearer ", 7) != 0)
            return "";
        h += 7;
        while (*h == ' ')
            h++;
        return h;
    }
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, AUTH_COOKIE);
}

int auth_resolve(struct req *r)
{
    const char *token = presented_token(r);
    char hash[SECRET_HASH_HEX];
    db_conn *c;
    int rc;

    memset(&r->who, 0, sizeof r->who);
    if (!token)
        return AUTH_NONE;
    if (!*token || strlen(token) > 256)
        return AUTH_INVALID;
    c = db_reader();
    if (!c)
        return -1;
    secret_token_hash(token, hash);
    /* Devices post far more often than staff call: on device routes look
     * among devices first, elsewhere among sessions first. */
    if (r->route && r->route->min_role == ROLE_DEVICE) {
        rc = store_device_lookup_token(c, hash, &r->who);
        if (rc == 0)
            rc = store_session_lookup(c, hash, timefmt_now_ms(), &r->who);
    } else {
        rc = store_session_lookup(c, hash, timefmt_now_ms(), &r->who);
        if (rc == 0)
            rc = store_device_lookup_token(c, hash, &r->who);
    }
    if (rc < 0)
        return -1;
    return rc ? AUTH_OK : AUTH_INVALID;
}
