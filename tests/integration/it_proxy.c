/* it_proxy: wardd behind the nginx TLS front end of docs/deploy.md.
 *
 * The test starts Debian's nginx itself, on a free loopback port, with a
 * fresh self-signed certificate (openssl) and a configuration written into
 * the server's temporary directory (the same proxy settings as
 * docs/deploy.md; nothing under /etc or /var is used). wardd runs with
 * `behind-proxy = 127.0.0.1`. Through the proxy: log-in (the cookie is
 * Secure, HSTS is sent), device ingest, a live event stream, the CSRF
 * origin check with the browser's https origin, and the log-in limit
 * keyed on the real client: a client at 127.0.0.2 that
 * hammers a name (sending a made-up X-Forwarded-For each time) waits,
 * while the same user logs in at once from 127.0.0.3. */
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NGINX "/usr/sbin/nginx"

typedef struct proxy {
    pid_t pid;
    unsigned port;
    char dir[1024];
} proxy;

/* The running proxy, stopped by the teardown even when the test fails. */
static proxy *live;

static unsigned free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned port = 0;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static size_t collect(char *d, size_t size, size_t n, void *arg)
{
    char *buf = arg;
    size_t have = strlen(buf), len = size * n;

    if (have + len < 65535) {
        memcpy(buf + have, d, len);
        buf[have + len] = '\0';
    }
    return len;
}

/* A request through the proxy. from: source address (NULL: any); hdrs
 * NULL-terminated (may be NULL). Fills body/headers (64 KiB each). */
static long via(const proxy *p, const char *from, const char *method, const char *path,
                const char *body, const char *const *hdrs, char *out_body, char *out_hdrs)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[256];
    long status = 0;

    snprintf(url, sizeof url, "https://127.0.0.1:%u%s", p->port, path);
    out_body[0] = out_hdrs[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (from)
        curl_easy_setopt(c, CURLOPT_INTERFACE, from);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        h = curl_slist_append(h, "Content-Type: application/json");
    }
    for (size_t i = 0; hdrs && hdrs[i]; i++)
        h = curl_slist_append(h, hdrs[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out_body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out_hdrs);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

static void write_conf(const proxy *p, unsigned upstream)
{
    char path[1200];
    FILE *f;

    snprintf(path, sizeof path, "%s/nginx.conf", p->dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "daemon off;\n%s"
            "worker_processes 1;\n"
            "pid %s/nginx.pid;\n"
            "error_log %s/nginx-error.log warn;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            "  access_log off;\n"
            "  client_body_temp_path %s/tmp-body;\n"
            "  proxy_temp_path %s/tmp-proxy;\n"
            "  fastcgi_temp_path %s/tmp-fcgi;\n"
            "  uwsgi_temp_path %s/tmp-uwsgi;\n"
            "  scgi_temp_path %s/tmp-scgi;\n"
            "  server {\n"
            "    listen 127.0.0.1:%u ssl;\n"
            "    ssl_certificate %s/proxy-cert.pem;\n"
            "    ssl_certificate_key %s/proxy-key.pem;\n"
            "    ssl_protocols TLSv1.2 TLSv1.3;\n"
            "    add_header Strict-Transport-Security \"max-age=31536000\" always;\n"
            "    client_max_body_size 1m;\n"
            "    location / {\n"
            "      proxy_pass http://127.0.0.1:%u;\n"
            "      proxy_http_version 1.1;\n"
            "      proxy_set_header Host $http_host;\n"
            "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
            "      proxy_set_header X-Forwarded-Proto $scheme;\n"
            "      proxy_set_header Connection \"\";\n"
            "      proxy_buffering off;\n"
            "      proxy_read_timeout 1h;\n"
            "    }\n"
            "  }\n"
            "}\n",
            geteuid() == 0 ? "user root;\n" : "", p->dir, p->dir, p->dir, p->dir, p->dir, p->dir,
            p->dir, p->port, p->dir, p->dir, upstream);
    fclose(f);
}

static proxy *proxy_start(wd_server *s)
{
    proxy *p = calloc(1, sizeof *p);
    char cmd[4096], conf[1200], err[1200], url[128];

    assert_non_null(p);
    if (access(NGINX, X_OK) != 0)
        fail_msg("%s is missing: tools/deps.sh test installs nginx", NGINX);
    snprintf(p->dir, sizeof p->dir, "%s", wd_dir(s));
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
             "-keyout '%s/proxy-key.pem' -out '%s/proxy-cert.pem' >/dev/null 2>&1",
             p->dir, p->dir);
    assert_int_equal(system(cmd), 0);
    p->port = free_port();
    assert_true(p->port > 0);
    write_conf(p, wd_port(s));
    snprintf(conf, sizeof conf, "%s/nginx.conf", p->dir);
    snprintf(err, sizeof err, "%s/nginx-start.log", p->dir);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) { /* never hold the test runner's pipes */
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        execl(NGINX, "nginx", "-p", p->dir, "-e", err, "-c", conf, (char *)NULL);
        _exit(127);
    }
    snprintf(url, sizeof url, "/healthz");
    live = p;
    for (int i = 0; i < 100; i++) {
        static char b[65536], h[65536];
        if (via(p, NULL, "GET", url, NULL, NULL, b, h) == 200)
            return p;
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid)
            break;
        wd_sleep_ms(100);
    }
    snprintf(cmd, sizeof cmd, "cat '%s' '%s/nginx-error.log' >&2", err, p->dir);
    (void)system(cmd);
    fail_msg("nginx did not come up on port %u", p->port);
    return NULL;
}

static void proxy_stop(proxy *p)
{
    if (!p)
        return;
    live = NULL;
    kill(p->pid, SIGQUIT); /* graceful */
    for (int i = 0; i < 100 && waitpid(p->pid, NULL, WNOHANG) == 0; i++)
        wd_sleep_ms(50);
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    free(p);
}

/* --- the live stream ----------------------------------------------------------------- */

struct stream {
    const proxy *p;
    char token[128];
    char buf[65536];
    pthread_mutex_t mu;
    atomic_bool stop;
    long status;
};

static size_t stream_write(char *d, size_t size, size_t n, void *arg)
{
    struct stream *st = arg;
    size_t have, len = size * n;

    if (atomic_load(&st->stop))
        return 0;
    pthread_mutex_lock(&st->mu);
    have = strlen(st->buf);
    if (have + len < sizeof st->buf) {
        memcpy(st->buf + have, d, len);
        st->buf[have + len] = '\0';
    }
    pthread_mutex_unlock(&st->mu);
    return len;
}

static int stream_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct stream *st = arg;
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return atomic_load(&st->stop) ? 1 : 0;
}

static void *stream_main(void *arg)
{
    struct stream *st = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[256], auth[256];

    snprintf(url, sizeof url, "https://127.0.0.1:%u/api/v1/events", st->p->port);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", st->token);
    h = curl_slist_append(h, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, st);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stream_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, st);
    curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static bool stream_has(struct stream *st, const char *needle)
{
    bool yes;

    pthread_mutex_lock(&st->mu);
    yes = strstr(st->buf, needle) != NULL;
    pthread_mutex_unlock(&st->mu);
    return yes;
}

/* --- the test ------------------------------------------------------------------------ */

static const char *token_of(const char *body, char *out, size_t len)
{
    const char *t = strstr(body, "\"token\":\"");

    out[0] = '\0';
    if (t)
        snprintf(out, len, "%.*s", (int)strcspn(t + 9, "\""), t + 9);
    return out;
}

static void test_through_nginx(void **state)
{
    const char *const args[] = {"--behind-proxy", "127.0.0.1", NULL};
    static char body[65536], hdrs[65536];
    static struct stream st;
    char token[128], login_body[256];
    wd_fixture *f;
    proxy *p;
    pthread_t th;
    long status = 0;
    int i;
    (void)state;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    wd_serve_args(args);
    f = wd_fixture_new();
    wd_serve_args(NULL);
    wd_admit(f, "B1", 0, NULL);
    p = proxy_start(f->s);

    /* Log-in: Secure cookie, HSTS. */
    snprintf(login_body, sizeof login_body, "{\"username\":\"%s\",\"password\":\"%s\"}", WD_NURSE,
             WD_PASSWORD);
    assert_int_equal(via(p, NULL, "POST", "/api/v1/session", login_body, NULL, body, hdrs), 200);
    if (!strcasestr(hdrs, "Set-Cookie: wardd_session=") || !strstr(hdrs, "; Secure"))
        fail_msg("the cookie through the proxy is not Secure:\n%s", hdrs);
    if (!strcasestr(hdrs, "Strict-Transport-Security: max-age="))
        fail_msg("no HSTS through the proxy:\n%s", hdrs);
    token_of(body, token, sizeof token);
    assert_true(strlen(token) > 10);

    /* The live stream through the proxy, then a device's reading. */
    memset(&st, 0, sizeof st);
    st.p = p;
    pthread_mutex_init(&st.mu, NULL);
    snprintf(st.token, sizeof st.token, "%s", token);
    assert_int_equal(pthread_create(&th, NULL, stream_main, &st), 0);
    for (i = 0; i < 100 && !stream_has(&st, ": connected"); i++)
        wd_sleep_ms(50);
    assert_true(stream_has(&st, ": connected"));
    {
        char auth[256];
        const char *const h[] = {auth, NULL};
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", f->device);
        snprintf(login_body, sizeof login_body,
                 "{\"readings\":[{\"id\":\"px-1\",\"code\":\"hr\",\"value\":77,\"time\":\"%s\"}]}",
                 wd_iso(wd_now_ms()));
        assert_int_equal(via(p, NULL, "POST", "/api/v1/readings", login_body, h, body, hdrs), 201);
    }
    for (i = 0; i < 100 && !stream_has(&st, "event: reading"); i++)
        wd_sleep_ms(50);
    atomic_store(&st.stop, true);
    pthread_join(th, NULL);
    if (!strstr(st.buf, "event: reading"))
        fail_msg("no reading event through the proxy: %.300s", st.buf);

    /* The limit is keyed on the real client, whatever it claims. */
    snprintf(login_body, sizeof login_body, "{\"username\":\"%s\",\"password\":\"wrong-one\"}",
             WD_PHYSICIAN);
    /* Until the wait is long enough to outlast the next two requests. */
    for (i = 0; i < 60; i++) {
        char spoof[64];
        const char *const h[] = {spoof, NULL};
        const char *ra;
        snprintf(spoof, sizeof spoof, "X-Forwarded-For: 10.77.%d.%d", i / 250, i % 250 + 1);
        status = via(p, "127.0.0.2", "POST", "/api/v1/session", login_body, h, body, hdrs);
        ra = strcasestr(hdrs, "Retry-After: ");
        if (status == 429 && ra && atoi(ra + 13) >= 4)
            break;
        assert_true(status == 401 || status == 429);
    }
    if (status != 429)
        fail_msg("60 wrong passwords through the proxy and no 429 of 4 s or more");
    snprintf(login_body, sizeof login_body, "{\"username\":\"%s\",\"password\":\"%s\"}",
             WD_PHYSICIAN, WD_PASSWORD);
    assert_int_equal(via(p, "127.0.0.2", "POST", "/api/v1/session", login_body, NULL, body, hdrs),
                     429);
    assert_int_equal(via(p, "127.0.0.3", "POST", "/api/v1/session", login_body, NULL, body, hdrs),
                     200);
    {
        json_t *e = WD_LIST(wd_req(f->s, "GET", "/api/v1/audit", f->admin, NULL), "entries");
        json_t *row = wd_find(e, "action", "session.lockout");
        assert_non_null(row);
        assert_string_equal(WD_STR(row, "after.address"), "127.0.0.2");
    }
    /* CSRF through the proxy: the browser's origin is https (from
     * X-Forwarded-Proto) on the proxy's host and port. */
    snprintf(login_body, sizeof login_body, "{\"username\":\"%s\",\"password\":\"%s\"}", WD_VIEWER,
             WD_PASSWORD);
    assert_int_equal(via(p, "127.0.0.4", "POST", "/api/v1/session", login_body, NULL, body, hdrs),
                     200);
    {
        const char *c = strcasestr(hdrs, "Set-Cookie: ");
        char cookie[256], wrong[128], right[128];
        assert_non_null(c);
        snprintf(cookie, sizeof cookie, "Cookie: %.*s", (int)strcspn(c + 12, ";"), c + 12);
        snprintf(wrong, sizeof wrong, "Origin: http://127.0.0.1:%u", p->port);
        snprintf(right, sizeof right, "Origin: https://127.0.0.1:%u", p->port);
        {
            const char *const h[] = {cookie, wrong, NULL};
            assert_int_equal(via(p, "127.0.0.4", "DELETE", "/api/v1/session", NULL, h, body, hdrs),
                             403);
            assert_non_null(strstr(body, "cross_origin"));
        }
        {
            const char *const h[] = {cookie, right, NULL};
            assert_int_equal(via(p, "127.0.0.4", "DELETE", "/api/v1/session", NULL, h, body, hdrs),
                             200);
        }
    }
    proxy_stop(p);
    wd_fixture_free(f);
    curl_global_cleanup();
}

static int teardown(void **state)
{
    (void)state;
    proxy_stop(live);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_through_nginx, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
