/* it_netsec: the network defences of docs/security.md that need no load: CSRF
 * (Origin), idle sessions, password re-hash on log-in, lockout per (user,
 * address) with a second workstation unaffected, audit of failures and
 * lockouts, small bodies on public routes, the body deadline, and the
 * transport settings (TLS floor, HSTS, behind-proxy, refusing plain HTTP
 * off loopback). */
#include "harness.h"
#include "secret.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static wd_fixture *fx(void **state)
{
    return *state;
}

static const char *origin(wd_server *s)
{
    return wd_path(s, "Origin: http://127.0.0.1:%u", wd_port(s));
}

/* "wardd_session=..." from a log-in response. */
static const char *cookie_header(wd_server *s, const wd_resp *r)
{
    size_t n = strcspn(r->set_cookie, ";");

    return wd_path(s, "Cookie: %.*s", (int)n, r->set_cookie);
}

/* POST /api/v1/session with more headers (NULL-terminated; may be NULL). */
static wd_resp *login_h(wd_server *s, const char *user, const char *pw, const char *const *headers)
{
    char *body = NULL;
    json_t *j = json_pack("{s:s, s:s}", "username", user, "password", pw);
    wd_resp *r;

    body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    {
        wd_raw_req q = {.method = "POST",
                        .path = "/api/v1/session",
                        .content_type = "application/json",
                        .body = body,
                        .body_len = strlen(body),
                        .headers = headers};
        r = wd_raw(s, &q);
    }
    free(body);
    return r;
}

/* A request authenticated by the cookie of a fresh nurse log-in. */
static wd_resp *cookie_req(wd_fixture *f, const char *method, const char *path, const char *body,
                           const char *extra1, const char *extra2)
{
    wd_resp *l = login_h(f->s, WD_NURSE, WD_PASSWORD, NULL);
    const char *const headers[] = {cookie_header(f->s, l), extra1, extra2, NULL};
    wd_raw_req q = {.method = method,
                    .path = path,
                    .content_type = body ? "application/json" : NULL,
                    .body = body,
                    .body_len = body ? strlen(body) : 0,
                    .headers = headers};

    WD_EXPECT(l, 200);
    return wd_raw(f->s, &q);
}

static const char *admit_body(wd_server *s)
{
    return wd_path(s, "{\"name\":\"Csrf Test\",\"mrn\":\"%s\",\"bed\":\"B2\"}",
                   wd_uniq(s, "MRN-CSRF-"));
}

/* --- CSRF ---------------------------------------------------------------------------- */

/* A cookie-authenticated POST without Origin is refused with the error shape. */
static void test_csrf_cookie_without_origin(void **state)
{
    wd_fixture *f = fx(state);
    wd_resp *r = cookie_req(f, "POST", "/api/v1/patients", admit_body(f->s), NULL, NULL);

    WD_EXPECT_ERR(r, 403, "cross_origin");
}

/* ... and from another origin (another service on the same host). */
static void test_csrf_cookie_cross_origin(void **state)
{
    wd_fixture *f = fx(state);
    const char *other = wd_path(f->s, "Origin: http://127.0.0.1:%u", wd_port(f->s) + 1);

    WD_EXPECT_ERR(cookie_req(f, "POST", "/api/v1/patients", admit_body(f->s), other, NULL), 403,
                  "cross_origin");
    WD_EXPECT_ERR(cookie_req(f, "POST", "/api/v1/patients", admit_body(f->s), "Origin: null", NULL),
                  403, "cross_origin");
    WD_EXPECT_ERR(cookie_req(f, "POST", "/api/v1/patients", admit_body(f->s), other,
                             "Sec-Fetch-Site: same-site"),
                  403, "cross_origin");
    /* Nothing was written: no such patient. */
    {
        json_t *list = WD_LIST(wd_req(f->s, "GET", "/api/v1/patients", f->nurse, NULL), "patients");
        assert_null(wd_find(list, "name", "Csrf Test"));
    }
}

/* Same origin, by Origin or by Sec-Fetch-Site, goes through; so do GETs. */
static void test_csrf_same_origin_ok(void **state)
{
    wd_fixture *f = fx(state);

    WD_EXPECT(cookie_req(f, "POST", "/api/v1/patients", admit_body(f->s), origin(f->s), NULL), 201);
    WD_EXPECT(cookie_req(f, "GET", "/api/v1/patients", NULL, NULL, NULL), 200);
    WD_EXPECT(cookie_req(f, "DELETE", "/api/v1/session", NULL, "Sec-Fetch-Site: same-origin", NULL),
              200);
}

/* Bearer tokens (devices, scripts) need no Origin; a cross-origin log-in
 * is refused, a script's log-in (no Origin) is not. */
static void test_csrf_bearer_unaffected(void **state)
{
    wd_fixture *f = fx(state);
    const char *const cross[] = {"Origin: http://evil.example", NULL};

    WD_EXPECT(wd_post_readings(
                  f->s, f->device,
                  json_pack("[o]", wd_item("csrf-1", "hr", json_integer(80), NULL, wd_now_ms()))),
              201);
    WD_EXPECT(wd_req(f->s, "POST", "/api/v1/patients", f->nurse, admit_body(f->s)), 201);
    WD_EXPECT_ERR(login_h(f->s, WD_NURSE, WD_PASSWORD, cross), 403, "cross_origin");
    WD_EXPECT(login_h(f->s, WD_NURSE, WD_PASSWORD, NULL), 200);
}

/* --- sessions ------------------------------------------------------------------------- */

/* A session unused for session-idle-timeout ends; one in use does not. */
static void test_idle_timeout(void **state)
{
    const char *const args[] = {"--session-idle-timeout", "2", NULL};
    wd_fixture *f;
    const char *busy, *idle;
    (void)state;

    wd_serve_args(args);
    f = wd_fixture_new();
    wd_serve_args(NULL);
    busy = wd_login(f->s, WD_NURSE, WD_PASSWORD);
    idle = wd_login(f->s, WD_VIEWER, WD_PASSWORD);
    WD_EXPECT(wd_req(f->s, "GET", "/api/v1/session", idle, NULL), 200);
    for (int i = 0; i < 8; i++) { /* 4 s of use, twice the idle limit */
        wd_sleep_ms(500);
        WD_EXPECT(wd_req(f->s, "GET", "/api/v1/session", busy, NULL), 200);
    }
    WD_EXPECT_ERR(wd_req(f->s, "GET", "/api/v1/session", idle, NULL), 401, "unauthenticated");
    WD_EXPECT(wd_req(f->s, "GET", "/api/v1/session", busy, NULL), 200);
    wd_fixture_free(f);
}

static void sql_exec(const char *db, const char *sql, const char *p1, const char *p2)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, p1, -1, SQLITE_TRANSIENT);
    if (p2)
        sqlite3_bind_text(st, 2, p2, -1, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(h);
}

static char *sql_text(const char *db, const char *sql, const char *p1)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    char *out = NULL;

    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, p1, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW)
        out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(h);
    assert_non_null(out);
    return out;
}

/* A password stored at other parameters is hashed again at log-in. */
static void test_rehash_on_login(void **state)
{
    wd_fixture *f = fx(state);
    const char *name = wd_uniq(f->s, "rehash");
    char weak[SECRET_PWHASH_LEN];
    char *stored;

    assert_int_equal(secret_init(), 0);
    wd_user_add(f->s, name, "nurse", WD_PASSWORD);
    secret_set_pwhash_cost(1); /* libsodium's minimum: what an old version stored */
    assert_int_equal(secret_password_hash(WD_PASSWORD, weak), 0);
    secret_set_pwhash_cost(0);
    assert_true(secret_password_needs_rehash(weak));
    sql_exec(wd_db(f->s), "UPDATE users SET pw_hash = ?2 WHERE username = ?1", name, weak);

    wd_login(f->s, name, WD_PASSWORD);
    stored = sql_text(wd_db(f->s), "SELECT pw_hash FROM users WHERE username = ?1", name);
    assert_string_not_equal(stored, weak);
    assert_false(secret_password_needs_rehash(stored));
    assert_int_equal(secret_password_verify(stored, WD_PASSWORD), 0);
    free(stored);
    /* The re-hashed password still logs in; the old session still works. */
    wd_login(f->s, name, WD_PASSWORD);
}

/* --- lockout -------------------------------------------------------------------------- */

static const char *xff(wd_server *s, const char *addr)
{
    return wd_path(s, "X-Forwarded-For: %s", addr);
}

/* One workstation hammering a physician's name is slowed down and
 * eventually refused; the physician logs in from another at once. The
 * failures and the lockout are audited with the address. */
static void test_lockout_per_address(void **state)
{
    const char *const args[] = {"--behind-proxy", "127.0.0.1", NULL};
    wd_fixture *f;
    wd_resp *r = NULL;
    json_t *entries;
    int i;
    (void)state;

    wd_serve_args(args);
    f = wd_fixture_new();
    wd_serve_args(NULL);
    {
        const char *const a[] = {xff(f->s, "10.1.1.1"), NULL};
        const char *const b[] = {xff(f->s, "10.2.2.2"), NULL};
        /* Until the wait outlasts the next two requests (a refusal is
         * held up to a second before it is sent). */
        for (i = 0; i < 60; i++) {
            r = login_h(f->s, WD_PHYSICIAN, "not-the-password", a);
            if (r->status == 429 && atoi(r->retry_after) >= 4)
                break;
            WD_EXPECT_ONE_OF(r, 401, 429);
        }
        if (i == 60)
            fail_msg("60 wrong passwords from one address and no wait of 4 s");
        WD_EXPECT_ERR(r, 429, "rate_limited");
        /* Even the right password waits on that address ... */
        WD_EXPECT_ERR(login_h(f->s, WD_PHYSICIAN, WD_PASSWORD, a), 429, "rate_limited");
        /* ... but not on another workstation. */
        WD_EXPECT(login_h(f->s, WD_PHYSICIAN, WD_PASSWORD, b), 200);
    }
    entries = WD_LIST(wd_req(f->s, "GET", "/api/v1/audit", f->admin, NULL), "entries");
    {
        size_t idx, failed = 0, lockouts = 0;
        json_t *e;
        json_array_foreach(entries, idx, e)
        {
            const char *action = json_string_value(wd_get(e, "action"));
            const char *addr = json_string_value(wd_get(e, "after.address"));
            if (!action || !addr || strcmp(addr, "10.1.1.1") != 0)
                continue;
            failed += strcmp(action, "session.login_failed") == 0;
            lockouts += strcmp(action, "session.lockout") == 0;
        }
        assert_true(failed >= 5);
        assert_true(lockouts >= 1);
    }
    wd_fixture_free(f);
}

/* Without behind-proxy, X-Forwarded-For is ignored: a client cannot pick
 * a fresh address for every guess. */
static void test_xff_ignored_without_proxy(void **state)
{
    wd_fixture *f = fx(state);
    wd_resp *r = NULL;
    int i;

    for (i = 0; i < 30; i++) {
        const char *const h[] = {xff(f->s, wd_path(f->s, "10.9.%d.%d", i / 200, i % 200 + 1)),
                                 NULL};
        r = login_h(f->s, WD_VIEWER, "not-the-password", h);
        if (r->status == 429)
            break;
    }
    if (i == 30)
        fail_msg("a spoofed X-Forwarded-For per guess escaped the limit");
}

/* --- bodies --------------------------------------------------------------------------- */

/* The public log-in takes a few KiB at most; staff routes keep 1 MiB. */
static void test_public_body_small(void **state)
{
    wd_fixture *f = fx(state);
    size_t n = 5 * 1024;
    char *big = malloc(n + 64);

    assert_non_null(big);
    snprintf(big, n + 64, "{\"username\":\"x\",\"password\":\"%0*d\"}", (int)n, 0);
    {
        wd_raw_req q = {.method = "POST",
                        .path = "/api/v1/session",
                        .content_type = "application/json",
                        .body = big,
                        .body_len = strlen(big)};
        WD_EXPECT_ERR(wd_raw(f->s, &q), 413, "payload_too_large");
        q.chunked = true;
        WD_EXPECT_ERR(wd_raw(f->s, &q), 413, "payload_too_large");
    }
    free(big);
}

/* --- the body deadline -------------------------------------------------------------- */

/* A body trickled a byte at a time is cut off body-timeout after its
 * header; libmicrohttpd's own timeout restarts with every byte and would
 * never end it. A request whose body is complete is not cut: an event
 * stream opened before outlives the deadline and still delivers. */
static void test_body_deadline(void **state)
{
    const char *const args[] = {"--body-timeout", "2", NULL};
    char head[1024], stream_buf[65536] = "", slow_buf[4096] = "";
    wd_fixture *f;
    int stream, slow;
    int64_t t0, took = 0;
    bool cut = false;
    (void)state;

    wd_serve_args(args);
    f = wd_fixture_new();
    wd_serve_args(NULL);
    snprintf(head, sizeof head,
             "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
             "Connection: close\r\n\r\n",
             f->nurse);
    stream = wd_raw_open(f->s, head);
    snprintf(head, sizeof head,
             "POST /api/v1/readings HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: 400\r\n\r\n[",
             f->device);
    slow = wd_raw_open(f->s, head);
    t0 = wd_mono_ms();
    while (!cut && wd_mono_ms() - t0 < 8000) {
        cut = send(slow, " ", 1, MSG_NOSIGNAL) != 1 ||
              wd_raw_read(slow, 250, slow_buf, sizeof slow_buf);
        took = wd_mono_ms() - t0;
    }
    if (!cut)
        fail_msg("a body trickled for %lld ms was not cut off (body-timeout 2 s)", (long long)took);
    if (took < 1500)
        fail_msg("the trickled body was cut off after %lld ms, before its 2 s", (long long)took);
    /* the stream is older than the deadline and still open */
    assert_false(wd_raw_read(stream, 100, stream_buf, sizeof stream_buf));
    assert_non_null(strstr(stream_buf, "HTTP/1.1 200"));
    WD_EXPECT(wd_post_readings(f->s, f->device,
                               json_pack("[o]", wd_item(wd_uniq(f->s, "after-"), "hr",
                                                        json_integer(88), NULL, wd_now_ms()))),
              201);
    for (int i = 0; i < 30 && !strstr(stream_buf, "event: reading"); i++)
        if (wd_raw_read(stream, 100, stream_buf, sizeof stream_buf))
            fail_msg("the event stream was closed: %.300s", stream_buf);
    if (!strstr(stream_buf, "event: reading"))
        fail_msg("the event stream delivered no reading after the deadline: %.300s", stream_buf);
    close(slow);
    close(stream);
    /* the setting's bounds */
    for (int i = 0; i < 2; i++) {
        char *out = NULL;
        int rc =
            wd_wardd_run(&out, "serve --db '%s/other.db' --listen 127.0.0.1:0 --body-timeout %s",
                         wd_dir(f->s), i ? "3601" : "0");
        assert_int_equal(rc, 1);
        if (!strstr(out, "body-timeout must be seconds from 1 to 3600"))
            fail_msg("--body-timeout out of bounds: %s", out);
        free(out);
    }
    wd_fixture_free(f);
}

/* --- transport ------------------------------------------------------------------------ */

/* Runs `wardd serve --listen 0.0.0.0:0` (with --insecure VALUE when not
 * NULL) and returns its exit status; fails the test when it is still
 * running after 15 s (it served). */
static int serve_exit(const char *db, const char *port_file, const char *insecure)
{
    const char *bin = getenv("WARDD_BIN");
    pid_t pid;
    int status = 0;

    assert_non_null(bin);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        if (insecure)
            execl(bin, "wardd", "serve", "--listen", "0.0.0.0:0", "--db", db, "--port-file",
                  port_file, "--insecure", insecure, (char *)NULL);
        else
            execl(bin, "wardd", "serve", "--listen", "0.0.0.0:0", "--db", db, "--port-file",
                  port_file, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        wd_sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fail_msg("wardd served plain HTTP on 0.0.0.0 without TLS, behind-proxy or insecure");
    return -1;
}

/* Plain HTTP on an address other hosts reach needs TLS, behind-proxy or
 * insecure; the container's setting starts. */
static void test_refuses_plain_http_off_loopback(void **state)
{
    wd_fixture *f = fx(state);
    const char *db = wd_path(f->s, "%s/other.db", wd_dir(f->s));
    const char *port = wd_path(f->s, "%s/other.port", wd_dir(f->s));
    wd_server *ok;
    const char *const insecure[] = {"--listen", "0.0.0.0:0", "--insecure", "yes", NULL};
    const char *const proxied[] = {"--listen", "0.0.0.0:0", "--behind-proxy", "127.0.0.1", NULL};

    /* Bounded: a server that wrongly starts is killed after 15 s. */
    assert_int_equal(serve_exit(db, port, NULL), 1);
    assert_int_equal(serve_exit(db, port, "maybe"), 1);
    wd_serve_args(insecure);
    ok = wd_start(NULL);
    wd_serve_args(NULL);
    WD_EXPECT(wd_req(ok, "GET", "/healthz", NULL, NULL), 200);
    wd_stop(ok);
    wd_serve_args(proxied);
    ok = wd_start(NULL);
    wd_serve_args(NULL);
    WD_EXPECT(wd_req(ok, "GET", "/healthz", NULL, NULL), 200);
    wd_stop(ok);
}

/* Behind a trusted proxy the session cookie is Secure. */
static void test_behind_proxy_cookie_secure(void **state)
{
    const char *const args[] = {"--behind-proxy", "127.0.0.1", NULL};
    wd_server *s;
    wd_resp *r;
    (void)state;

    wd_serve_args(args);
    s = wd_start(NULL);
    wd_serve_args(NULL);
    wd_user_add(s, "proxied", "nurse", WD_PASSWORD);
    r = login_h(s, "proxied", WD_PASSWORD, NULL);
    WD_EXPECT(r, 200);
    if (!strstr(r->set_cookie, "; Secure"))
        fail_msg("behind a proxy the cookie \"%s\" lacks Secure", r->set_cookie);
    wd_stop(s);
}

struct hdrs {
    char hsts[256];
};

static size_t on_hdr(char *data, size_t size, size_t n, void *arg)
{
    struct hdrs *h = arg;
    size_t len = size * n;
    const char *name = "Strict-Transport-Security:";

    if (len > strlen(name) && strncasecmp(data, name, strlen(name)) == 0)
        snprintf(h->hsts, sizeof h->hsts, "%.*s", (int)(len - strlen(name)), data + strlen(name));
    return len;
}

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

/* GET /healthz over TLS with the given version range; CURLcode. */
static CURLcode tls_get(unsigned port, long version, struct hdrs *h)
{
    CURL *c = curl_easy_init();
    char url[128];
    CURLcode rc;

    snprintf(url, sizeof url, "https://127.0.0.1:%u/healthz", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_SSLVERSION, version);
    /* Let the client offer old versions at all (OpenSSL's default level
     * refuses them itself): the server must be the one saying no. */
    curl_easy_setopt(c, CURLOPT_SSL_CIPHER_LIST, "DEFAULT:@SECLEVEL=0");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_hdr);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    return rc;
}

/* TLS 1.0 and 1.1 are refused; 1.2 works and carries HSTS. */
static void test_tls_floor_and_hsts(void **state)
{
    wd_server *s = wd_start_tls(NULL);
    struct hdrs h = {""};
    (void)state;

    assert_int_not_equal(
        tls_get(wd_port(s), CURL_SSLVERSION_TLSv1_0 | CURL_SSLVERSION_MAX_TLSv1_1, &h), CURLE_OK);
    assert_int_equal(tls_get(wd_port(s), CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2, &h),
                     CURLE_OK);
    if (!strstr(h.hsts, "max-age="))
        fail_msg("no Strict-Transport-Security over TLS (got \"%s\")", h.hsts);
    wd_stop(s);
}

/* A failed test must not leave its serve flags to the next. */
static int clear_args(void **state)
{
    (void)state;
    wd_serve_args(NULL);
    return 0;
}

static int fixture_setup(void **state)
{
    wd_serve_args(NULL);
    return wd_fixture_setup(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_csrf_cookie_without_origin, fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_csrf_cookie_cross_origin, fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_csrf_same_origin_ok, fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_csrf_bearer_unaffected, fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup(test_idle_timeout, clear_args),
        cmocka_unit_test_setup_teardown(test_rehash_on_login, fixture_setup, wd_fixture_teardown),
        cmocka_unit_test_setup(test_lockout_per_address, clear_args),
        cmocka_unit_test_setup_teardown(test_xff_ignored_without_proxy, fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_public_body_small, fixture_setup, wd_fixture_teardown),
        cmocka_unit_test_setup(test_body_deadline, clear_args),
        cmocka_unit_test_setup_teardown(test_refuses_plain_http_off_loopback, fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup(test_behind_proxy_cookie_secure, clear_args),
        cmocka_unit_test_setup(test_tls_floor_and_hsts, clear_args),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
