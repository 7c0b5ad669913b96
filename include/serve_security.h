/* serve_security: the `wardd serve` settings of docs/security.md, read
 * from flags or the config file (cli.h) into the app and HTTP options.
 *
 *   behind-proxy          trusted proxy addresses, comma-separated
 *   insecure              yes: allow plain HTTP on a non-loopback address
 *   session-idle-timeout  seconds without use before a session ends (1800)
 *   header-timeout        seconds to send a whole request header (10)
 *   body-timeout          seconds to send a whole request body, once the header is in (30)
 *   per-ip-connections    connections one client address may hold (128)
 *   sse-max               open event streams in total (512)
 *   sse-max-per-session   open event streams per session (64) */
#ifndef WARDD_SERVE_SECURITY_H
#define WARDD_SERVE_SECURITY_H

#include "app.h"
#include "cli.h"
#include "http.h"

#define SERVE_SECURITY_FLAGS                                                                       \
    "behind-proxy", "insecure", "session-idle-timeout", "header-timeout", "body-timeout",          \
        "per-ip-connections", "sse-max", "sse-max-per-session"

/* Fills app->session_idle_ms and the hopt fields; 0, or -1 after one line
 * on stderr. */
int serve_security_options(const cli_args *a, struct app *app, http_options *hopt);

#endif
