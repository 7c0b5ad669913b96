/* csrf: cross-site request forgery defence (docs/security.md "CSRF").
 *
 * A browser attaches the session cookie to requests that another page
 * starts; SameSite=Strict stops other *sites*, but not another service on
 * the same host name under a different port or scheme. So a request with
 * an unsafe method (anything but GET, HEAD, OPTIONS) that is authenticated
 * by the cookie must come from wardd's own origin: `Sec-Fetch-Site:
 * same-origin`, or an `Origin` header equal to the origin the request was
 * sent to (scheme from TLS, or X-Forwarded-Proto from a trusted proxy;
 * host and port from Host). Browsers send Origin with every such request.
 * Requests authenticated by `Authorization: Bearer` (devices, scripts) are
 * not affected: no browser attaches that header by itself. A log-in (no
 * cookie) that carries an Origin must be same-origin too, so a page
 * elsewhere cannot log a browser in as someone else. */
#ifndef WARDD_CSRF_H
#define WARDD_CSRF_H

#include "http.h"
#include "reply.h"

/* ERR_NONE when the request may proceed; else the error (its message in
 * r->err_msg). Call after the route matched. */
err_code csrf_check(struct req *r);

#endif
