/* bench_http: the small HTTP client the benchmark programs share (libcurl
 * easy handles, jansson bodies) and the setup of benchmark beds, devices
 * and patients through wardd's API (docs/api.md). Header-only: every function is
 * static inline so that each program compiles it alone. Loopback only: the
 * URLs come from bench/run.sh, which starts every server on 127.0.0.1. */
#ifndef WARDD_BENCH_HTTP_H
#define WARDD_BENCH_HTTP_H

#include <curl/curl.h>
#include <jansson.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct bh_buf {
    char *data;
    size_t len, cap;
} bh_buf;

static inline size_t bh_collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    bh_buf *b = userdata;
    size_t n = size * nmemb;

    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        char *grown;
        while (cap < b->len + n + 1)
            cap *= 2;
        grown = realloc(b->data, cap);
        if (!grown)
            return 0;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static inline int64_t bh_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t bh_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* RFC 3339 UTC with milliseconds: 2026-11-27T14:03:05.120Z (buf >= 32). */
static inline const char *bh_time(int64_t ms, char *buf, size_t len)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;

    char sec[24];

    gmtime_r(&s, &tm);
    strftime(sec, sizeof sec, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%.19s.%03uZ", sec, (unsigned)(ms % 1000));
    return buf;
}

/* One request on a reusable handle (keep-alive). body: JSON text or NULL.
 * Returns the HTTP status (or -1 when the transfer failed); *out gets the
 * parsed JSON reply when out is not NULL (NULL when the reply is not JSON). */
static inline long bh_request(CURL *c, const char *method, const char *url, const char *token,
                              const char *body, json_t **out)
{
    struct curl_slist *h = NULL;
    char auth[512];
    bh_buf b = {0};
    long status = -1;
    CURLcode rc;

    if (out)
        *out = NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, body ? (long)strlen(body) : 0L);
    curl_easy_setopt(c, CURLOPT_HTTPGET, body ? 0L : 1L);
    if (!body)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, bh_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    h = curl_slist_append(h, "Content-Type: application/json");
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (out && b.data)
        *out = json_loads(b.data, 0, NULL);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    free(b.data);
    return status;
}

/* POST/PATCH a JSON value (borrowed). Same contract as bh_request(). */
static inline long bh_send_json(CURL *c, const char *method, const char *url, const char *token,
                                const json_t *body, json_t **out)
{
    char *text = json_dumps(body, JSON_COMPACT);
    long status;

    if (!text)
        return -1;
    status = bh_request(c, method, url, token, text, out);
    free(text);
    return status;
}

/* POST /api/v1/session; returns a malloc'd token or NULL. */
static inline char *bh_login(CURL *c, const char *base, const char *user, const char *password)
{
    char url[512];
    json_t *body = json_pack("{s:s, s:s}", "username", user, "password", password);
    json_t *out = NULL;
    char *token = NULL;
    long st;

    snprintf(url, sizeof url, "%s/api/v1/session", base);
    st = bh_send_json(c, "POST", url, NULL, body, &out);
    if (st == 200 && json_is_string(json_object_get(out, "token")))
        token = strdup(json_string_value(json_object_get(out, "token")));
    else
        fprintf(stderr, "bench: login as %s failed (HTTP %ld)\n", user, st);
    json_decref(body);
    json_decref(out);
    return token;
}

/* One occupied bench bed: what a device needs to post. */
typedef struct bh_bed {
    char bed[40];
    char token[128];
    int64_t device_id;
    int64_t patient_id;
} bh_bed;

/* Creates bed `bed`, a device in it and an admitted patient (admitted two
 * days ago, with baselines) through the API as an admin. 0 or -1. */
static inline int bh_make_bed(CURL *c, const char *base, const char *admin_token, const char *bed,
                              bh_bed *out)
{
    char url[512], when[40];
    json_t *body = NULL, *reply = NULL;
    long st;
    int rc = -1;

    memset(out, 0, sizeof *out);
    snprintf(out->bed, sizeof out->bed, "%s", bed);
    snprintf(url, sizeof url, "%s/api/v1/beds", base);
    body = json_pack("{s:s, s:s}", "id", bed, "label", bed);
    st = bh_send_json(c, "POST", url, admin_token, body, NULL);
    json_decref(body);
    if (st != 201) {
        fprintf(stderr, "bench: POST /beds %s: HTTP %ld\n", bed, st);
        return -1;
    }
    snprintf(url, sizeof url, "%s/api/v1/devices", base);
    body =
        json_pack("{s:s+, s:s, s:s}", "serial", "mon-", bed, "model", "bench monitor", "bed", bed);
    st = bh_send_json(c, "POST", url, admin_token, body, &reply);
    json_decref(body);
    if (st != 201 || !json_is_string(json_object_get(reply, "token"))) {
        fprintf(stderr, "bench: POST /devices for %s: HTTP %ld\n", bed, st);
        goto out;
    }
    snprintf(out->token, sizeof out->token, "%s",
             json_string_value(json_object_get(reply, "token")));
    out->device_id = (int64_t)json_integer_value(json_object_get(reply, "id"));
    json_decref(reply);
    reply = NULL;
    snprintf(url, sizeof url, "%s/api/v1/patients", base);
    body = json_pack("{s:s+, s:s+, s:s, s:s, s:s, s:s, s:{s:f, s:f, s:f, s:f, s:f, s:f, s:f}}",
                     "mrn", "MRN-", bed, "name", "Bench patient ", bed, "bed", bed, "sex", "female",
                     "diagnosis", "melanoma", "admitted_at",
                     bh_time(bh_wall_ms() - 2 * 86400000LL, when, sizeof when), "baseline",
                     "weight_kg", 80.0, "creatinine_mg_dl", 0.9, "bilirubin_mg_dl", 0.6, "ast_u_l",
                     25.0, "alt_u_l", 30.0, "sbp_mm_hg", 124.0, "stools_per_day", 1.0);
    st = bh_send_json(c, "POST", url, admin_token, body, &reply);
    json_decref(body);
    if (st != 201 || !json_is_integer(json_object_get(reply, "id"))) {
        fprintf(stderr, "bench: POST /patients for %s: HTTP %ld\n", bed, st);
        goto out;
    }
    out->patient_id = (int64_t)json_integer_value(json_object_get(reply, "id"));
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

#endif
