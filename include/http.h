/* http: the libmicrohttpd daemon, the per-request state and the generic
 * checks that run before any handler (docs/CONVENTIONS.md "Requests").
 *
 * One `struct req` per request, created on libmicrohttpd's first callback
 * and freed only in the completion callback. Before a handler runs, the
 * dispatcher has: matched the route (404, or 405 with Allow), resolved the
 * credentials and checked the route's minimum role (401/403), bounded and
 * read the body (413), checked its media type (415) and parsed it as JSON
 * with a depth limit (400). Handlers never repeat those checks.
 *
 * Writes: a handler validates its input, then calls req_write() with an
 * apply function. The connection is suspended (no thread waits), the
 * function runs on the writer thread inside the shared group-commit
 * transaction, and the reply is sent once the commit is durable. */
#ifndef WARDD_HTTP_H
#define WARDD_HTTP_H

#include "db.h"
#include "principal.h"
#include "reply.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

struct app;
struct route;

#define REQ_MAX_PARAMS 3
#define REQ_PARAM_LEN  128

/* Per-request state (docs/CONVENTIONS.md "Requests"). */
struct req {
    struct MHD_Connection *conn;
    struct app *app;
    const struct route *route;
    const char *method;
    const char *url;
    char params[REQ_MAX_PARAMS][REQ_PARAM_LEN]; /* the {} segments of the path */
    int nparams;
    principal who;
    char *body; /* request body, NUL-terminated */
    size_t body_len;
    size_t body_cap;
    bool body_too_large;
    json_t *json;   /* parsed body for BODY_JSON routes */
    char allow[64]; /* Allow header for 405 */

    /* Deferred write (req_write). */
    int (*apply)(db_conn *c, struct req *r);
    bool suspended;
    bool write_done;
    int write_status;
    json_t *out;                         /* success body, built by apply */
    unsigned out_status;                 /* 200 or 201 */
    char err_msg[256];                   /* error message from apply ("" = registry's) */
    json_t *err_details;                 /* error details from apply (owned) */
    void (*after_commit)(struct req *r); /* runs on the writer thread after a commit */
    char set_cookie[512];                /* Set-Cookie header for the success reply ("" = none) */
    const char *out_header;              /* one more header for the success reply, or NULL */
    char out_header_value[512];          /* its value (FHIR's Location) */

    void *ctx;                /* handler-private state */
    void (*ctx_free)(void *); /* frees ctx at completion */

    const struct route_dialect *dialect; /* FHIR under /fhir, or NULL (route.h) */
    /* Set by hashpool_submit(): runs on the HTTP worker once the suspended
     * connection is resumed (hashpool.h). */
    enum MHD_Result (*on_resume)(struct req *r);
    char retry_after[24]; /* Retry-After for a 429/503 ("" = the registry's) */
    bool body_complete;   /* netlimits told: the body deadline no longer applies */

    bool streaming; /* a long-lived stream (SSE): kept out of latency metrics */
    unsigned status_sent;
    uint64_t start_ns;
};

/* Value of query parameter `key`, or NULL. */
const char *req_query(struct req *r, const char *key);
/* Request header value, or NULL. */
const char *req_header(struct req *r, const char *name);

/* Path parameter i as a positive integer id: 0, or -1 when it is not one. */
int req_param_id(struct req *r, int i, int64_t *out);
/* Query parameter `key` as an RFC 3339 time: 0 (absent -> dflt), -1 invalid. */
int req_query_time(struct req *r, const char *key, int64_t dflt, int64_t *out);
/* Query parameter `key` as an integer in [min, max]: 0 (absent -> dflt), -1 invalid. */
int req_query_int(struct req *r, const char *key, long dflt, long min, long max, long *out);

/* Runs `apply` on the writer thread; replies r->out with r->out_status on
 * success, or the error it returned (with r->err_msg/err_details).
 * apply returns 0, an err_code, or DB_STORAGE_FAILURE (-> 503). */
enum MHD_Result req_write(struct req *r, int (*apply)(db_conn *c, struct req *r));
/* For apply functions: records an error message/details and returns e. */
int req_fail(struct req *r, err_code e, json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Adds the transport security headers every response carries
 * (Strict-Transport-Security when wardd terminates TLS). */
void http_security_headers(struct req *r, struct MHD_Response *resp);

/* --- the daemon ---------------------------------------------------------- */
typedef struct http_options {
    const char *listen;   /* "127.0.0.1:8080", "[::1]:0", ":8080" */
    const char *tls_cert; /* PEM files, both or neither */
    const char *tls_key;
    unsigned threads; /* worker threads (0 = automatic) */
    unsigned max_connections;
    unsigned timeout_s; /* idle connection timeout */
    /* docs/security.md: trusted proxies ("a,b"), per-address connections,
     * the request-header deadline, whether plain HTTP on a non-loopback
     * address is allowed. */
    const char *behind_proxy;
    unsigned per_ip_connections;
    unsigned header_timeout_ms;
    unsigned body_timeout_ms; /* 0: 30 s */
    bool insecure;
} http_options;

/* Starts serving; fills *bound_port. 0 or -1 (logged). */
int http_start(struct app *app, const http_options *opt, uint16_t *bound_port);
/* Stops accepting new connections. */
void http_quiesce(struct app *app);
/* Waits up to timeout_ms for in-flight requests to finish, then stops. */
void http_stop(struct app *app, int timeout_ms);
/* Requests in flight now. */
long http_in_flight(void);

#endif
