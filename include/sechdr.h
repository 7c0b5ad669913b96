/* sechdr: the security headers of the dashboard's responses
 * (docs/security.md "Content-Security-Policy"). */
#ifndef WARDD_SECHDR_H
#define WARDD_SECHDR_H

#include <microhttpd.h>

/* The policy: everything from wardd's own origin, nothing inline, no
 * plugins, no framing, no <base>, forms post only to wardd. The dashboard
 * has no inline script, style or handler, and uPlot styles its elements
 * through element.style (CSSOM), which style-src does not govern. */
#define SECHDR_CSP                                                                                 \
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "                 \
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

/* Adds Content-Security-Policy to a response that serves the dashboard
 * (static.c sets nosniff, Referrer-Policy and X-Frame-Options itself). */
void sechdr_dashboard(struct MHD_Response *resp);

#endif
