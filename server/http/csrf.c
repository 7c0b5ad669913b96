/* csrf: see csrf.h. */
#include "csrf.h"
#include "app.h"
#include "auth.h"
#include "netlimits.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool safe_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

/* The scheme the client used: https when wardd terminates TLS, or when a
 * trusted proxy says so. */
static const char *scheme(struct req *r)
{
    const char *proto;

    if (r->app->tls)
        return "https";
    if (netlimits_from_proxy(r->conn)) {
        proto = req_header(r, "X-Forwarded-Proto");
        if (proto && strcasecmp(proto, "https") == 0)
            return "https";
    }
    return "http";
}

/* Whether origin ("scheme://host[:port]") is the one the request was sent
 * to. Host is compared as sent (case-insensitive); a default port is never
 * in either (browsers omit it from Origin and from Host alike). */
static bool same_origin(struct req *r, const char *origin)
{
    const char *host = req_header(r, MHD_HTTP_HEADER_HOST);
    const char *s = scheme(r);
    size_t n = strlen(s);

    if (!origin || !host || !*host)
        return false;
    if (strncasecmp(origin, s, n) != 0 || strncmp(origin + n, "://", 3) != 0)
        return false;
    return strcasecmp(origin + n + 3, host) == 0;
}

err_code csrf_check(struct req *r)
{
    const char *origin = req_header(r, "Origin");
    const char *site = req_header(r, "Sec-Fetch-Site");
    bool by_cookie = !req_header(r, MHD_HTTP_HEADER_AUTHORIZATION) &&
                     MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, AUTH_COOKIE);

    if (safe_method(r->method))
        return ERR_NONE;
    if (!by_cookie && !origin)
        return ERR_NONE; /* bearer token, or a script's log-in */
    if (!by_cookie && req_header(r, MHD_HTTP_HEADER_AUTHORIZATION))
        return ERR_NONE; /* bearer token: not a browser's ambient credential */
    if (site && strcasecmp(site, "same-origin") == 0)
        return ERR_NONE;
    if (same_origin(r, origin))
        return ERR_NONE;
    snprintf(r->err_msg, sizeof r->err_msg, "%s",
             origin ? "The request's Origin is not this server's; cross-origin requests with "
                      "the session cookie are refused."
                    : "A request with the session cookie must carry this server's Origin (or "
                      "Sec-Fetch-Site: same-origin).");
    return ERR_CROSS_ORIGIN;
}
