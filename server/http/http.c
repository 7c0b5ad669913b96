/* http: see http.h. */
#include "http.h"
#include "app.h"
#include "auth.h"
#include "clock.h"
#include "body.h"
#include "csrf.h"
#include "hashpool.h"
#include "log.h"
#include "metrics.h"
#include "netlimits.h"
#include "route.h"
#include "static.h"
#include "timefmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* docs/api.md "Conventions": a body over 1 MiB is 413. */
#define BODY_MAX (1024 * 1024)
/* Public routes (log-in) take small bodies only: an anonymous client
 * cannot make the server buffer a megabyte (docs/security.md). */
#define PUBLIC_BODY_MAX (4 * 1024)
/* Deeper JSON than this is refused before jansson sees it. */
#define JSON_DEPTH_MAX 32

static atomic_long in_flight;

/* --- request helpers ------------------------------------------------------ */

const char *req_query(struct req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *req_header(struct req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

int req_param_id(struct req *r, int i, int64_t *out)
{
    char *end = NULL;
    long long v;

    /* Digits only: strtoll alone would also take " 1", "+1" and "-1". */
    if (i >= r->nparams || r->params[i][0] < '0' || r->params[i][0] > '9')
        return -1;
    errno = 0;
    v = strtoll(r->params[i], &end, 10);
    if (errno || *end || v <= 0)
        return -1;
    *out = v;
    return 0;
}

int req_query_time(struct req *r, const char *key, int64_t dflt, int64_t *out)
{
    const char *v = req_query(r, key);

    if (!v) {
        *out = dflt;
        return 0;
    }
    return timefmt_parse(v, out);
}

int req_query_int(struct req *r, const char *key, long dflt, long min, long max, long *out)
{
    const char *v = req_query(r, key);
    char *end = NULL;
    long n;

    if (!v) {
        *out = dflt;
        return 0;
    }
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || !*v || *end || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

int req_fail(struct req *r, err_code e, json_t *details, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->err_msg, sizeof r->err_msg, fmt, ap);
    va_end(ap);
    json_decref(r->err_details);
    r->err_details = details;
    return (int)e;
}

/* --- deferred writes ------------------------------------------------------ */

static int write_apply(db_conn *c, void *arg)
{
    struct req *r = arg;

    return r->apply(c, r);
}

static void write_done(void *arg, int status)
{
    struct req *r = arg;

    r->write_status = status;
    r->write_done = true;
    if (status == 0 && r->after_commit)
        r->after_commit(r);
    /* The mutex inside MHD_resume_connection orders the stores above
     * before the worker thread reads them. */
    MHD_resume_connection(r->conn);
}

enum MHD_Result req_write(struct req *r, int (*apply)(db_conn *c, struct req *r))
{
    r->apply = apply;
    r->out_status = 200;
    r->suspended = true;
    MHD_suspend_connection(r->conn);
    if (db_writer_submit(r->app->writer, write_apply, write_done, r) != 0) {
        r->write_status = ERR_SHUTTING_DOWN;
        r->write_done = true;
        MHD_resume_connection(r->conn);
    }
    return MHD_YES;
}

static enum MHD_Result reply_write_result(struct req *r)
{
    json_t *out = r->out;
    json_t *details = r->err_details;

    r->out = NULL;
    r->err_details = NULL;
    if (r->write_status == 0 && r->out_header)
        return reply_json_with_header(r, r->out_status ? r->out_status : 200, out, r->out_header,
                                      r->out_header_value);
    if (r->write_status == 0 && r->set_cookie[0])
        return reply_json_with_header(r, r->out_status ? r->out_status : 200, out,
                                      MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie);
    if (r->write_status == 0)
        return reply_json(r, r->out_status ? r->out_status : 200, out);
    json_decref(out);
    if (r->write_status == DB_STORAGE_FAILURE) {
        json_decref(details);
        metrics_count_storage_failure();
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    }
    return reply_error(r, (err_code)r->write_status, r->err_msg, details);
}

/* --- body ------------------------------------------------------------------- */

static bool content_type_is_json(const char *ct)
{
    size_t len;

    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    len = strcspn(ct, "; ");
    return (len == strlen("application/json") && strncasecmp(ct, "application/json", len) == 0) ||
           (len == strlen("application/fhir+json") &&
            strncasecmp(ct, "application/fhir+json", len) == 0);
}

static size_t body_max(const struct req *r)
{
    return r->route && r->route->min_role == ROLE_NONE ? PUBLIC_BODY_MAX : BODY_MAX;
}

static int body_append(struct req *r, const char *data, size_t size)
{
    if (r->body_too_large || r->body_len + size > body_max(r)) {
        r->body_too_large = true;
        return 0;
    }
    if (r->body_len + size + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        char *grown;
        while (cap < r->body_len + size + 1)
            cap *= 2;
        grown = realloc(r->body, cap);
        if (!grown)
            return -1;
        r->body = grown;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, size);
    r->body_len += size;
    r->body[r->body_len] = '\0';
    return 0;
}

static enum MHD_Result parse_body(struct req *r)
{
    json_error_t jerr;

    if (r->body_len == 0)
        return reply_error(r, ERR_MALFORMED_JSON, "A JSON body is required.", NULL);
    if (body_json_depth(r->body, r->body_len) > JSON_DEPTH_MAX)
        return reply_errorf(r, ERR_MALFORMED_JSON, NULL, "JSON nests deeper than %d levels.",
                            JSON_DEPTH_MAX);
    r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!r->json)
        return reply_errorf(r, ERR_MALFORMED_JSON, NULL,
                            "The body is not valid JSON: %s (line %d, column %d).", jerr.text,
                            jerr.line, jerr.column);
    return MHD_YES;
}

/* --- dispatch --------------------------------------------------------------- */

/* Checks that need only the request line and headers. Returns ERR_NONE
 * when the request may proceed; otherwise the error to send. */
static err_code check_headers(struct req *r)
{
    const char *len = req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    int rc;

    rc = auth_resolve(r);
    if (rc < 0)
        return ERR_STORAGE;
    if (!role_allows(r->who.role, r->route->min_role)) {
        if (r->who.role != ROLE_NONE)
            return ERR_FORBIDDEN;
        if (rc == AUTH_INVALID)
            snprintf(r->err_msg, sizeof r->err_msg,
                     "The token is unknown, expired or revoked; log in again.");
        return ERR_UNAUTHENTICATED;
    }
    if (r->route->min_role == ROLE_NONE && (rc = (int)csrf_check(r)) != ERR_NONE)
        return (err_code)rc; /* a cross-origin log-in */
    if (r->who.role != ROLE_NONE && (rc = (int)csrf_check(r)) != ERR_NONE)
        return (err_code)rc;
    if (len && strtoull(len, NULL, 10) > body_max(r))
        return ERR_TOO_LARGE;
    if (r->route->body != BODY_NONE && len && strcmp(len, "0") != 0 &&
        !content_type_is_json(req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE)))
        return ERR_UNSUPPORTED_MEDIA;
    return ERR_NONE;
}

static struct req *req_create(struct app *app, struct MHD_Connection *conn, const char *url,
                              const char *method)
{
    struct req *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    r->conn = conn;
    r->app = app;
    r->url = url;
    r->method = method;
    r->start_ns = clock_mono_ns();
    r->dialect = route_dialect_of(url);
    atomic_fetch_add(&in_flight, 1);
    return r;
}

static void req_free(struct req *r)
{
    if (r->ctx_free)
        r->ctx_free(r->ctx);
    json_decref(r->json);
    json_decref(r->out);
    json_decref(r->err_details);
    free(r->body);
    free(r);
    atomic_fetch_sub(&in_flight, 1);
}

static bool is_static_path(const char *url)
{
    return strncmp(url, "/api/", 5) != 0 && strcmp(url, "/api") != 0 && !route_dialect_of(url);
}

/* First callback: match, authenticate, check headers. Errors are queued at
 * once, so an oversized or unauthorised body is never read. */
static enum MHD_Result on_first(struct req *r)
{
    route_outcome o;
    err_code e;

    o = route_match(route_table, route_count, r->method, r->url, &r->route, r->params, &r->nparams,
                    r->allow, sizeof r->allow);
    if (o == ROUTE_NO_PATH && is_static_path(r->url) &&
        (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0))
        return static_serve(r);
    if (o == ROUTE_NO_PATH)
        return reply_error(r, ERR_NOT_FOUND, "No such path.", NULL);
    if (o == ROUTE_NO_METHOD)
        return reply_errorf(r, ERR_METHOD_NOT_ALLOWED, NULL, "%s is not allowed here; use %s.",
                            r->method, r->allow);
    if (atomic_load(&r->app->shutting_down))
        return reply_error(r, ERR_SHUTTING_DOWN, NULL, NULL);
    e = check_headers(r);
    if (e != ERR_NONE)
        return reply_error(r, e, r->err_msg, NULL);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct req *r = *con_cls;
    (void)version;

    if (!r) {
        netlimits_request_begin(conn); /* the header is complete */
        r = req_create(cls, conn, url, method);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        return on_first(r);
    }
    if (r->status_sent && !r->write_done) {
        /* An early reply is queued; discard whatever body still arrives. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (body_append(r, upload_data, *upload_data_size) != 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!r->body_complete) { /* the first call after the whole body */
        r->body_complete = true;
        netlimits_body_complete(conn);
    }
    if (r->on_resume) {
        enum MHD_Result (*cont)(struct req * r) = r->on_resume;
        r->on_resume = NULL;
        r->suspended = false;
        return cont(r);
    }
    if (r->write_done)
        return reply_write_result(r);
    if (r->suspended)
        return MHD_YES;
    if (r->body_too_large)
        return reply_errorf(r, ERR_TOO_LARGE, NULL, "The request body is larger than %s.",
                            body_max(r) == BODY_MAX ? "1 MiB" : "4 KiB");
    if (r->route->body == BODY_JSON || (r->route->body == BODY_JSON_OPTIONAL && r->body_len)) {
        if (r->body_len && !content_type_is_json(req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE)))
            return reply_error(r, ERR_UNSUPPORTED_MEDIA, NULL, NULL);
        if (parse_body(r) != MHD_YES || r->status_sent)
            return r->status_sent ? MHD_YES : MHD_NO;
    }
    return r->route->handler(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *r = *con_cls;
    (void)cls;
    (void)toe;

    netlimits_request_end(conn);
    if (!r)
        return;
    if (!r->streaming)
        metrics_observe_request(r->status_sent, clock_mono_ns() - r->start_ns);
    log_debug("%s %s -> %u", r->method, r->url, r->status_sent);
    req_free(r);
    *con_cls = NULL;
}

long http_in_flight(void)
{
    return atomic_load(&in_flight);
}

/* --- the daemon ------------------------------------------------------------- */

static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen)
{
    char host[256];
    const char *port;
    struct addrinfo hints = {0}, *res = NULL;
    int rc;

    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':' || (size_t)(end - listen - 1) >= sizeof host)
            return -1;
        memcpy(host, listen + 1, (size_t)(end - listen - 1));
        host[end - listen - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof host)
            return -1;
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
        port = colon + 1;
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0 || !res) {
        log_error("cannot resolve listen address %s: %s", listen, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    } else if (buf) {
        buf[n] = '\0';
    }
out:
    fclose(f);
    return buf;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;
    (void)cls;

    vsnprintf(line, sizeof line, fmt, ap);
    n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = '\0';
    /* A client that goes away mid-response (an SSE viewer closing its tab)
     * is routine, not a warning. */
    if (strstr(line, "Failed to send") || strstr(line, "onnection reset"))
        log_debug("http: %s", line);
    else
        log_warn("http: %s", line);
}

static char *tls_cert_pem, *tls_key_pem;

/* TLS 1.2 or newer only (docs/security.md "Transport"). */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
/* A year; sent only when wardd itself terminates TLS (behind a proxy, the
 * proxy sends it: docs/deploy.md). */
#define HSTS_VALUE "max-age=31536000"

void http_security_headers(struct req *r, struct MHD_Response *resp)
{
    if (r->app && r->app->tls)
        MHD_add_response_header(resp, "Strict-Transport-Security", HSTS_VALUE);
}

/* Plain HTTP on an address other hosts can reach needs TLS, a trusted
 * proxy in front, or the operator's explicit `insecure`. */
static int transport_allowed(const http_options *opt, const struct sockaddr_storage *ss)
{
    if (netlimits_is_loopback((const struct sockaddr *)ss) || opt->tls_cert ||
        (opt->behind_proxy && *opt->behind_proxy) || opt->insecure)
        return 0;
    log_error("refusing to serve plain HTTP on %s, which other hosts can reach: give "
              "tls-cert/tls-key, behind-proxy (docs/deploy.md) or insecure = yes",
              opt->listen);
    return -1;
}

/* Per-address limits, the header deadline and the hashing pool. */
static int limits_start(struct app *app, const http_options *opt, unsigned max_conn)
{
    netlimits_config nc = {
        .per_ip_max = opt->per_ip_connections ? opt->per_ip_connections : 128u,
        .pending_max = max_conn / 2,
        .header_timeout_ms = opt->header_timeout_ms ? opt->header_timeout_ms : 10000u,
        .body_timeout_ms = opt->body_timeout_ms ? opt->body_timeout_ms : 30000u,
        .trusted_proxies = opt->behind_proxy,
    };

    if (netlimits_start(&nc) != 0)
        return -1;
    app->behind_proxy = netlimits_behind_proxy();
    if (hashpool_start(0, 0) != 0) {
        netlimits_stop();
        return -1;
    }
    return 0;
}

int http_start(struct app *app, const http_options *opt, uint16_t *bound_port)
{
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = opt->threads ? opt->threads : (unsigned)(cores > 1 ? cores * 2 : 2);
    const union MHD_DaemonInfo *info;
    struct MHD_OptionItem tls_opts[4] = {{MHD_OPTION_END, 0, NULL}};
    unsigned max_conn = opt->max_connections ? opt->max_connections : 1024u;

    if (parse_listen(opt->listen, &ss, &sslen) != 0) {
        log_error("invalid listen address '%s' (want HOST:PORT or [V6]:PORT)", opt->listen);
        return -1;
    }
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (transport_allowed(opt, &ss) != 0)
        return -1;
    if (opt->tls_cert || opt->tls_key) {
        if (!opt->tls_cert || !opt->tls_key) {
            log_error("--tls-cert and --tls-key go together");
            return -1;
        }
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            log_error("this libmicrohttpd was built without TLS");
            return -1;
        }
        tls_cert_pem = read_file(opt->tls_cert);
        tls_key_pem = read_file(opt->tls_key);
        if (!tls_cert_pem || !tls_key_pem) {
            log_error("cannot read %s or %s", opt->tls_cert, opt->tls_key);
            return -1;
        }
        flags |= MHD_USE_TLS;
        tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, tls_cert_pem};
        tls_opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, tls_key_pem};
        tls_opts[2] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, TLS_PRIORITIES};
        app->tls = true;
    }
    if (limits_start(app, opt, max_conn) != 0)
        return -1;
    /* Backlog 4096 (Linux caps it at net.core.somaxconn): a burst of
     * connects must not fill the accept queue, or the kernel drops a
     * device's SYN and the device waits 1 s to retry (docs/security.md). */
    app->daemon = MHD_start_daemon(
        flags, 0, netlimits_accept, NULL, on_request, app, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, max_conn, MHD_OPTION_NOTIFY_CONNECTION, netlimits_notify, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, opt->timeout_s ? opt->timeout_s : 60u,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, 0u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)64 * 1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed, app,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!app->daemon) {
        log_error("cannot listen on %s: %s", opt->listen, strerror(errno));
        hashpool_stop();
        netlimits_stop();
        return -1;
    }
    info = MHD_get_daemon_info(app->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : 0;
    return 0;
}

static MHD_socket quiesced_fd = MHD_INVALID_SOCKET;

void http_quiesce(struct app *app)
{
    if (app->daemon && quiesced_fd == MHD_INVALID_SOCKET)
        quiesced_fd = MHD_quiesce_daemon(app->daemon);
}

void http_stop(struct app *app, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms && http_in_flight() > 0; waited += 10) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (http_in_flight() > 0)
        log_warn("stopping with %ld requests still in flight", http_in_flight());
    hashpool_stop(); /* resumes the connections its jobs suspended */
    if (app->daemon)
        MHD_stop_daemon(app->daemon);
    app->daemon = NULL;
    netlimits_stop();
    /* A quiesced daemon hands its listening socket back to us. */
    if (quiesced_fd != MHD_INVALID_SOCKET)
        close(quiesced_fd);
    quiesced_fd = MHD_INVALID_SOCKET;
    free(tls_cert_pem);
    free(tls_key_pem);
    tls_cert_pem = tls_key_pem = NULL;
}
