/* serve_security: see serve_security.h. */
#include "serve_security.h"
#include "sse_limits.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int bad(const char *name, const char *want)
{
    fprintf(stderr, "wardd: %s must be %s\n", name, want);
    return -1;
}

int serve_security_options(const cli_args *a, struct app *app, http_options *hopt)
{
    const char *insecure = cli_get(a, "insecure", "no");
    long idle = 0, header = 0, body = 0, per_ip = 0, sse_max = 0, sse_session = 0;

    if (cli_get_long(a, "session-idle-timeout", 1800, 0, 7L * 24 * 3600, &idle) != 0)
        return bad("session-idle-timeout", "seconds from 0 (none) to 604800");
    if (cli_get_long(a, "header-timeout", 10, 1, 600, &header) != 0)
        return bad("header-timeout", "seconds from 1 to 600");
    if (cli_get_long(a, "body-timeout", 30, 1, 3600, &body) != 0)
        return bad("body-timeout", "seconds from 1 to 3600");
    if (cli_get_long(a, "per-ip-connections", 128, 1, 100000, &per_ip) != 0)
        return bad("per-ip-connections", "a number from 1 to 100000");
    if (cli_get_long(a, "sse-max", 512, 1, 1024, &sse_max) != 0)
        return bad("sse-max", "a number from 1 to 1024");
    if (cli_get_long(a, "sse-max-per-session", 64, 1, 1024, &sse_session) != 0)
        return bad("sse-max-per-session", "a number from 1 to 1024");
    if (strcasecmp(insecure, "yes") == 0 || strcasecmp(insecure, "true") == 0 ||
        strcmp(insecure, "1") == 0)
        hopt->insecure = true;
    else if (strcasecmp(insecure, "no") != 0 && strcasecmp(insecure, "false") != 0 &&
             strcmp(insecure, "0") != 0)
        return bad("insecure", "yes or no");
    app->session_idle_ms = (int64_t)idle * 1000;
    hopt->header_timeout_ms = (unsigned)header * 1000u;
    hopt->body_timeout_ms = (unsigned)body * 1000u;
    hopt->per_ip_connections = (unsigned)per_ip;
    hopt->behind_proxy = cli_get(a, "behind-proxy", NULL);
    sse_session_limits((unsigned)sse_session, (unsigned)sse_max);
    return 0;
}
