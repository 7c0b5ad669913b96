/* mhd_floor: the HTTP floor of this machine for `make bench` (docs/performance.md).
 *
 * A minimal libmicrohttpd server started with the same daemon flags, thread
 * pool size and limits as wardd (server/http/http.c http_start): every POST body
 * is buffered, checked for nesting depth and parsed with jansson exactly as
 * wardd parses a request body (JSON_REJECT_DUPLICATES), then answered 201
 * with a small JSON object shaped like wardd's ingest reply. Nothing is
 * authenticated, validated or stored. GET answers 200 {"ok":true}.
 *
 *   mhd_floor --port-file FILE [--threads N] [--max-seconds S]
 *
 * Listens on 127.0.0.1, on a port the kernel picks (written to FILE). Stops
 * on SIGTERM/SIGINT or after --max-seconds (default 3600), whichever first. */
#include <jansson.h>
#include <microhttpd.h>

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BODY_MAX       (1024 * 1024) /* as wardd: 1 MiB */
#define JSON_DEPTH_MAX 32

struct fl_req {
    char *body;
    size_t len, cap;
    bool too_large;
};

static int json_depth(const char *s, size_t n)
{
    int depth = 0, max = 0;
    bool in_string = false;

    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (in_string) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '[' || ch == '{') {
            if (++depth > max)
                max = depth;
        } else if (ch == ']' || ch == '}') {
            depth--;
        }
    }
    return max;
}

static int body_append(struct fl_req *r, const char *data, size_t size)
{
    if (r->too_large || r->len + size > BODY_MAX) {
        r->too_large = true;
        return 0;
    }
    if (r->len + size + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        char *grown;
        while (cap < r->len + size + 1)
            cap *= 2;
        grown = realloc(r->body, cap);
        if (!grown)
            return -1;
        r->body = grown;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, size);
    r->len += size;
    r->body[r->len] = '\0';
    return 0;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    struct MHD_Response *resp;
    enum MHD_Result ret = MHD_NO;

    json_decref(body);
    if (!text)
        return MHD_NO;
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct fl_req *r = *con_cls;
    json_error_t jerr;
    json_t *doc;
    size_t n;
    (void)cls;
    (void)url;
    (void)version;

    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (body_append(r, upload_data, *upload_data_size) != 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0)
        return reply(conn, 200, json_pack("{s:b}", "ok", 1));
    if (r->too_large)
        return reply(conn, 413, json_pack("{s:{s:s}}", "error", "code", "too_large"));
    if (r->len == 0 || json_depth(r->body, r->len) > JSON_DEPTH_MAX)
        return reply(conn, 400, json_pack("{s:{s:s}}", "error", "code", "malformed_json"));
    doc = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return reply(conn, 400, json_pack("{s:{s:s}}", "error", "code", "malformed_json"));
    n = json_array_size(json_object_get(doc, "readings"));
    json_decref(doc);
    return reply(
        conn, 201,
        json_pack("{s:I, s:i, s:[]}", "accepted", (json_int_t)n, "duplicates", 0, "rejected"));
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct fl_req *r = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;

    if (r) {
        free(r->body);
        free(r);
    }
    *con_cls = NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: mhd_floor --port-file FILE [--threads N] [--max-seconds S]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    long threads = 0, max_seconds = 3600;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    const union MHD_DaemonInfo *info;
    struct MHD_Daemon *d;
    struct timespec deadline;
    sigset_t sigs;
    FILE *f;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port-file") == 0)
            port_file = argv[i + 1];
        else if (strcmp(argv[i], "--threads") == 0)
            threads = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--max-seconds") == 0)
            max_seconds = strtol(argv[i + 1], NULL, 10);
        else
            usage();
    }
    if (!port_file || argc % 2 == 0 || threads < 0 || threads > 256 || max_seconds < 1)
        usage();
    if (threads == 0)
        threads = cores > 1 ? cores * 2 : 2; /* wardd's default (server/http/http.c) */
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The same flags and options as wardd's http_start(). */
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
                             MHD_USE_ITC | MHD_USE_ERROR_LOG,
                         0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
                         MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
                         MHD_OPTION_PER_IP_CONNECTION_LIMIT, 0u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                         (size_t)64 * 1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                         MHD_OPTION_LISTEN_BACKLOG_SIZE, 512u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "mhd_floor: cannot start the daemon: %s\n", strerror(errno));
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    f = fopen(port_file, "w");
    if (!f || !info || fprintf(f, "%u\n", info->port) < 0 || fclose(f) != 0) {
        fprintf(stderr, "mhd_floor: cannot write %s\n", port_file);
        MHD_stop_daemon(d);
        return 1;
    }
    deadline.tv_sec = max_seconds;
    deadline.tv_nsec = 0;
    /* Either a signal or the deadline ends the process. */
    (void)sigtimedwait(&sigs, NULL, &deadline);
    MHD_stop_daemon(d);
    return 0;
}
