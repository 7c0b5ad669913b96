/* client: what both modes share. An HTTP client of one libcurl easy handle
 * per thread (the handle keeps its connection alive between requests), the
 * devices file, the stop flag with interruptible sleeps, and log lines. */
#include "wardsim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* --- stop flag, clock, sleeping ---------------------------------------------- */

atomic_bool ws_stopping;
static pthread_mutex_t stop_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cv;
static pthread_once_t stop_once = PTHREAD_ONCE_INIT;

static void stop_init(void)
{
    pthread_condattr_t a;

    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&stop_cv, &a);
    pthread_condattr_destroy(&a);
}

void ws_stop(void)
{
    pthread_once(&stop_once, stop_init);
    pthread_mutex_lock(&stop_mu);
    atomic_store(&ws_stopping, true);
    pthread_cond_broadcast(&stop_cv);
    pthread_mutex_unlock(&stop_mu);
}

int64_t ws_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool ws_sleep_until(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};

    pthread_once(&stop_once, stop_init);
    pthread_mutex_lock(&stop_mu);
    while (!atomic_load(&ws_stopping) && ws_mono_ns() < ns)
        pthread_cond_timedwait(&stop_cv, &stop_mu, &ts);
    pthread_mutex_unlock(&stop_mu);
    return !atomic_load(&ws_stopping);
}

bool ws_wait_signal(int64_t deadline_ns)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    for (;;) {
        int64_t left = deadline_ns - ws_mono_ns();
        struct timespec ts;
        int sig;
        if (left <= 0)
            return false;
        ts.tv_sec = left / 1000000000;
        ts.tv_nsec = left % 1000000000;
        sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            ws_stop();
            return true;
        }
        if (sig < 0 && errno != EAGAIN && errno != EINTR)
            return false;
    }
}

/* --- logging ----------------------------------------------------------------- */

void ws_log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    memcpy(line, "wardsim: ", 9);
    va_start(ap, fmt);
    n = vsnprintf(line + 9, sizeof line - 10, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    n = 9 + (n < (int)sizeof line - 10 ? n : (int)sizeof line - 11);
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr); /* one write: lines never interleave */
}

/* --- devices file ---------------------------------------------------------------- */

static int copy_field(char *dst, size_t len, json_t *obj, const char *key, const char *path,
                      size_t i)
{
    const char *s = json_string_value(json_object_get(obj, key));

    if (!s || !*s || strlen(s) >= len) {
        ws_log("%s: device %zu has no valid \"%s\" (expected [{\"bed\", \"serial\", \"id\", "
               "\"token\"}] as written by `wardd demo --out`)",
               path, i, key);
        return -1;
    }
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

int ws_devices_load(const char *path, ws_device **out, size_t *n)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *item;
    ws_device *devs = NULL;
    size_t i;
    int rc = -1;

    if (!root) {
        if (jerr.line > 0)
            ws_log("devices file %s: %s (line %d)", path, jerr.text, jerr.line);
        else
            ws_log("cannot read devices file: %s", jerr.text);
        return -1;
    }
    if (!json_is_array(root) || json_array_size(root) == 0) {
        ws_log("devices file %s: expected a non-empty JSON array", path);
        goto done;
    }
    devs = calloc(json_array_size(root), sizeof *devs);
    if (!devs) {
        ws_log("out of memory");
        goto done;
    }
    json_array_foreach(root, i, item)
    {
        if (copy_field(devs[i].bed, sizeof devs[i].bed, item, "bed", path, i) != 0 ||
            copy_field(devs[i].token, sizeof devs[i].token, item, "token", path, i) != 0)
            goto done;
        if (json_is_string(json_object_get(item, "serial")))
            snprintf(devs[i].serial, sizeof devs[i].serial, "%s",
                     json_string_value(json_object_get(item, "serial")));
        devs[i].id = json_integer_value(json_object_get(item, "id"));
    }
    *n = json_array_size(root);
    *out = devs;
    devs = NULL;
    rc = 0;
done:
    free(devs);
    json_decref(root);
    return rc;
}

/* --- HTTP ------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    ws_http *c = user;
    size_t n = size * nmemb;

    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        char *p;
        while (cap < c->len + n + 1)
            cap *= 2;
        p = realloc(c->body, cap);
        if (!p)
            return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
        c->body = p;
        c->cap = cap;
    }
    memcpy(c->body + c->len, data, n);
    c->len += n;
    c->body[c->len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
    ws_http *c = user;
    size_t n = size * nmemb;

    if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0)
        c->retry_after_s = strtol(data + 12, NULL, 10);
    return n;
}

int ws_http_init(ws_http *c, const char *base, long timeout_ms)
{
    memset(c, 0, sizeof *c);
    c->base = base;
    c->h = curl_easy_init();
    if (!c->h) {
        ws_log("cannot create a libcurl handle");
        return -1;
    }
    curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 3000 ? timeout_ms : 3000L);
    curl_easy_setopt(c->h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->err);
    return 0;
}

void ws_http_free(ws_http *c)
{
    if (c->h)
        curl_easy_cleanup(c->h);
    curl_slist_free_all(c->headers);
    free(c->body);
    memset(c, 0, sizeof *c);
}

/* Headers for `bearer` ("" for none), rebuilt only when the token changes. */
static int set_headers(ws_http *c, const char *bearer)
{
    char auth[200];
    struct curl_slist *h = NULL, *t;

    if (c->headers && strcmp(c->bearer, bearer) == 0)
        return 0;
    /* "Expect:" stops libcurl from waiting for 100-continue on larger batches */
    h = curl_slist_append(NULL, "Content-Type: application/json");
    if (h && (t = curl_slist_append(h, "Expect:")) != NULL)
        h = t;
    else {
        curl_slist_free_all(h);
        return -1;
    }
    if (*bearer) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        if ((t = curl_slist_append(h, auth)) == NULL) {
            curl_slist_free_all(h);
            return -1;
        }
        h = t;
    }
    curl_slist_free_all(c->headers);
    c->headers = h;
    snprintf(c->bearer, sizeof c->bearer, "%s", bearer);
    return 0;
}

int ws_http_do(ws_http *c, const char *method, const char *path, const char *bearer,
               const char *body, size_t body_len, long *status)
{
    char url[1024];
    CURLcode rc;

    *status = 0;
    c->len = 0;
    c->retry_after_s = 0;
    c->err[0] = '\0';
    if (c->body)
        c->body[0] = '\0';
    if ((size_t)snprintf(url, sizeof url, "%s%s", c->base, path) >= sizeof url ||
        set_headers(c, bearer ? bearer : "") != 0) {
        snprintf(c->err, sizeof c->err, "request too large or out of memory");
        return -1;
    }
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, NULL);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c->h, CURLOPT_POST, 1L);
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, method);
    }
    rc = curl_easy_perform(c->h);
    if (rc != CURLE_OK) {
        if (!c->err[0])
            snprintf(c->err, sizeof c->err, "%s", curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

const char *ws_http_error_text(ws_http *c, long status, char *buf, size_t len)
{
    json_t *j = c->body && c->len ? json_loadb(c->body, c->len, 0, NULL) : NULL;
    json_t *e = json_object_get(j, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));

    snprintf(buf, len, "HTTP %ld %s%s%s", status, code ? code : "", code && msg ? ": " : "",
             msg ? msg : "");
    json_decref(j);
    return buf;
}

bool ws_url_is_loopback(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL;
    bool ok = false;
    unsigned char addr[16];

    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host) {
        if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
            ok = true;
        else if (inet_pton(AF_INET, host, addr) == 1)
            ok = addr[0] == 127;
    }
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

int ws_wait_healthy(const char *base, double seconds)
{
    ws_http c;
    long status = 0;
    int64_t end = ws_mono_ns() + (int64_t)(seconds * 1e9);
    int rc = -1;

    if (ws_http_init(&c, base, 2000) != 0)
        return -1;
    for (;;) {
        if (ws_http_do(&c, "GET", "/healthz", NULL, NULL, 0, &status) == 0 && status == 200) {
            rc = 0;
            break;
        }
        if (ws_mono_ns() >= end) {
            ws_log("server at %s not healthy after %.0f s: %s", base, seconds,
                   c.err[0] ? c.err : "GET /healthz did not answer 200");
            break;
        }
        if (ws_wait_signal(ws_mono_ns() + 200000000)) /* Ctrl-C while waiting */
            break;
    }
    ws_http_free(&c);
    return rc;
}
