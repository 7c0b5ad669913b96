/* it_clinical: the clinical layer through the HTTP API of a running wardd
 * (docs/clinical.md): every scenario folder of tests/cases replayed over
 * HTTP and checked with the same comparison as tests/unit/test_cases.c
 * (tests/unit/cases_check.h); `wardd rules check`; PUT /rules; doses and
 * the physician's override; the alert lifecycle seen on the SSE stream
 * (raised -> escalated -> acknowledged -> resolved, in order); the ward's
 * clinical fields; properties (no give while vitals are stale, discontinue
 * never reverts, at=T ignores later observations); and two measurements
 * printed as "measure: ..." lines (201-to-alert latency on the stream, the
 * worker's engine cost per reading from the server's shutdown log). */
#include "harness.h"

#include "../unit/cases_check.h"

#include <curl/curl.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HOUR (3600LL * 1000)
#define MIN  (60LL * 1000)

static double mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static const char *root(void)
{
    const char *r = getenv("WARDD_ROOT");
    return r != NULL && r[0] != '\0' ? r : ".";
}

static json_t *default_rules(void)
{
    char p[600];
    json_error_t err;
    json_t *j;

    snprintf(p, sizeof p, "%s/schema/rules/il2-default.json", root());
    j = json_load_file(p, 0, &err);
    if (j == NULL)
        fail_msg("%s: %s", p, err.text);
    return j;
}

/* --- an SSE client on its own thread (never asserts) ------------------------ */

typedef struct sse_event {
    uint64_t id;
    char type[32];
    json_t *data;
    double at_ms; /* monotonic arrival */
} sse_event;

typedef struct sse_client {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char url[256];
    char auth[600];
    sse_event *ev;
    size_t n, cap;
    char *buf;
    size_t blen, bcap;
    atomic_bool stop;
    bool connected;
} sse_client;

/* Parses complete "...\n\n" blocks out of the buffer. Locked. */
static void sse_parse(sse_client *c)
{
    char *end;

    while ((end = strstr(c->buf, "\n\n")) != NULL) {
        sse_event e = {0};
        char *line = c->buf, *data = NULL;
        size_t used = (size_t)(end - c->buf) + 2;
        *end = '\0';
        while (line && *line) {
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            if (strncmp(line, "id: ", 4) == 0)
                e.id = strtoull(line + 4, NULL, 10);
            else if (strncmp(line, "event: ", 7) == 0)
                snprintf(e.type, sizeof e.type, "%s", line + 7);
            else if (strncmp(line, "data: ", 6) == 0)
                data = line + 6;
            else if (line[0] == ':')
                c->connected = true;
            line = nl ? nl + 1 : NULL;
        }
        if (e.type[0] && data) {
            e.data = json_loads(data, 0, NULL);
            e.at_ms = mono_ms();
            if (c->n == c->cap) {
                size_t ncap = c->cap ? c->cap * 2 : 256;
                sse_event *p = realloc(c->ev, ncap * sizeof *p);
                if (p) {
                    c->ev = p;
                    c->cap = ncap;
                }
            }
            if (c->n < c->cap)
                c->ev[c->n++] = e;
            else
                json_decref(e.data);
        }
        memmove(c->buf, c->buf + used, c->blen - used + 1);
        c->blen -= used;
    }
}

static size_t sse_write(char *data, size_t size, size_t nmemb, void *arg)
{
    sse_client *c = arg;
    size_t n = size * nmemb;

    pthread_mutex_lock(&c->mu);
    if (c->blen + n + 1 > c->bcap) {
        size_t ncap = (c->blen + n + 1) * 2;
        char *p = realloc(c->buf, ncap);
        if (!p) {
            pthread_mutex_unlock(&c->mu);
            return 0;
        }
        c->buf = p;
        c->bcap = ncap;
    }
    memcpy(c->buf + c->blen, data, n);
    c->blen += n;
    c->buf[c->blen] = '\0';
    sse_parse(c);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return n;
}

static int sse_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c2, curl_off_t d)
{
    sse_client *c = arg;

    (void)a;
    (void)b;
    (void)c2;
    (void)d;
    return atomic_load(&c->stop) ? 1 : 0;
}

static void *sse_main(void *arg)
{
    sse_client *c = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;

    if (!h)
        return NULL;
    hdr = curl_slist_append(hdr, c->auth);
    hdr = curl_slist_append(hdr, "Accept: text/event-stream");
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sse_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, sse_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    curl_easy_perform(h);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    pthread_mutex_lock(&c->mu);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static sse_client *sse_open(wd_fixture *f)
{
    sse_client *c = calloc(1, sizeof *c);
    double deadline = mono_ms() + 10000;

    assert_non_null(c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    snprintf(c->url, sizeof c->url, "http://127.0.0.1:%u/api/v1/events", wd_port(f->s));
    snprintf(c->auth, sizeof c->auth, "Authorization: Bearer %s", f->viewer);
    assert_int_equal(pthread_create(&c->th, NULL, sse_main, c), 0);
    pthread_mutex_lock(&c->mu);
    while (!c->connected && mono_ms() < deadline) {
        pthread_mutex_unlock(&c->mu);
        wd_sleep_ms(10);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    assert_true(c->connected);
    return c;
}

static void sse_close(sse_client *c)
{
    if (!c)
        return;
    atomic_store(&c->stop, true);
    pthread_join(c->th, NULL);
    for (size_t i = 0; i < c->n; i++)
        json_decref(c->ev[i].data);
    free(c->ev);
    free(c->buf);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

typedef bool (*sse_match)(const sse_event *e, const void *arg);

/* Index of the first event at or after `from` that matches, waiting up to
 * timeout_ms; -1 when none came. *copy gets the event (its data is a new
 * reference the caller keeps in the arena). */
static long sse_wait(sse_client *c, size_t from, sse_match m, const void *arg, long timeout_ms,
                     sse_event *copy)
{
    double deadline = mono_ms() + (double)timeout_ms;
    long found = -1;

    pthread_mutex_lock(&c->mu);
    for (;;) {
        for (size_t i = from; i < c->n && found < 0; i++)
            if (m(&c->ev[i], arg))
                found = (long)i;
        if (found >= 0 || mono_ms() >= deadline)
            break;
        pthread_mutex_unlock(&c->mu);
        wd_sleep_ms(5);
        pthread_mutex_lock(&c->mu);
    }
    if (found >= 0 && copy) {
        *copy = c->ev[found];
        json_incref(copy->data);
    }
    pthread_mutex_unlock(&c->mu);
    return found;
}

static size_t sse_count(sse_client *c)
{
    size_t n;

    pthread_mutex_lock(&c->mu);
    n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* An "alert" event: kind (and term), transition, optionally one alert id. */
struct alert_match {
    const char *kind;
    const char *term;
    const char *transition;
    long long id;      /* 0 = any */
    long long patient; /* 0 = any */
};

static bool match_alert(const sse_event *e, const void *arg)
{
    const struct alert_match *m = arg;
    const json_t *d = e->data;
    const char *kind = json_string_value(json_object_get(d, "kind"));
    const char *term = json_string_value(json_object_get(d, "term"));
    const char *tr = json_string_value(json_object_get(d, "transition"));

    if (strcmp(e->type, "alert") != 0 || !kind || !tr)
        return false;
    if (m->kind && strcmp(kind, m->kind) != 0)
        return false;
    if (m->term && (!term || strcmp(term, m->term) != 0))
        return false;
    if (m->transition && strcmp(tr, m->transition) != 0)
        return false;
    if (m->id && json_integer_value(json_object_get(d, "id")) != m->id)
        return false;
    if (m->patient && json_integer_value(json_object_get(d, "patient_id")) != m->patient)
        return false;
    return true;
}

/* --- helpers ------------------------------------------------------------------ */

static json_t *item(const char *code, json_t *value, int64_t t)
{
    return wd_item(NULL, code, value, NULL, t);
}

/* POST .../observations as the nurse; asserts 201. */
static void observe(wd_fixture *f, long long pid, json_t *items)
{
    wd_resp *r = wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/observations", pid),
                         f->nurse, json_pack("{s:o}", "readings", items));
    WD_EXPECT(r, 201);
}

/* Normal vitals at t (NEWS2 0 on air, alert). */
static json_t *vitals(int64_t t, double spo2, double temp)
{
    return json_pack("[o,o,o,o,o,o,o,o]", item("hr", json_integer(80), t),
                     item("sbp", json_integer(124), t), item("dbp", json_integer(76), t),
                     item("spo2", json_real(spo2), t), item("rr", json_integer(16), t),
                     item("temp", json_real(temp), t), item("o2_flow", json_integer(0), t),
                     item("consciousness", json_string("A"), t));
}

static json_t *toxicity(wd_fixture *f, long long pid, int64_t at)
{
    wd_resp *r = wd_req(f->s, "GET",
                        at ? wd_path(f->s, "/api/v1/patients/%lld/toxicity?at=%s", pid, wd_iso(at))
                           : wd_path(f->s, "/api/v1/patients/%lld/toxicity", pid),
                        f->viewer, NULL);
    WD_EXPECT(r, 200);
    return r->json;
}

static const char *action_at(wd_fixture *f, long long pid, int64_t at)
{
    return WD_STR(toxicity(f, pid, at), "decision.action");
}

/* --- the scenario folders over HTTP ---------------------------------------------- */

typedef struct case_dir {
    char name[128];
    char path[1024];
} case_dir;

static wd_fixture *cases_fx;

static int cases_setup(void **state)
{
    (void)state;
    cases_fx = wd_fixture_new();
    return cases_fx ? 0 : -1;
}

static int cases_teardown(void **state)
{
    (void)state;
    wd_fixture_free(cases_fx);
    cases_fx = NULL;
    return 0;
}

static int64_t item_time(const json_t *o)
{
    int64_t t = 0;
    const char *s = json_string_value(json_object_get(o, "time"));

    /* any RFC 3339 form: let the server's parser be the judge elsewhere */
    if (s && strlen(s) >= 19) {
        struct tm tm = {0};
        if (sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                   &tm.tm_min, &tm.tm_sec) == 6) {
            tm.tm_year -= 1900;
            tm.tm_mon -= 1;
            t = (int64_t)timegm(&tm) * 1000;
        }
    }
    return t;
}

static void put_rules(wd_fixture *f, json_t *doc, long status)
{
    wd_resp *r = wd_reqj(f->s, "PUT", "/api/v1/rules", f->admin, doc);
    WD_EXPECT(r, status);
}

/* course.json: the person's earlier courses, each an admission of the same
 * MRN with its observations, discharged at its time, and its response
 * evaluation recorded by a physician. */
static int64_t text_time(const json_t *s)
{
    json_t *o = json_pack("{s:O}", "time", s);
    int64_t t = item_time(o);

    json_decref(o);
    return t;
}

static void replay_courses(wd_fixture *f, const json_t *course, const char *mrn)
{
    size_t i;
    json_t *v;

    json_array_foreach(json_object_get(course, "previous"), i, v)
    {
        const json_t *resp = json_object_get(v, "response");
        long long prev = wd_admit(f, wd_new_bed(f), text_time(json_object_get(v, "admitted_at")),
                                  json_pack("{s:s}", "mrn", mrn));
        wd_resp *r;
        size_t k;
        json_t *d;
        if (json_array_size(json_object_get(v, "observations")) > 0)
            observe(f, prev, json_deep_copy(json_object_get(v, "observations")));
        json_array_foreach(json_object_get(v, "doses"), k, d)
        {
            json_t *body = json_deep_copy(d);
            json_object_set_new(body, "override_reason", json_string("scenario replay"));
            json_object_set_new(body, "backentry_reason", json_string("scenario replay"));
            r = wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/doses", prev),
                        f->physician, body);
            WD_EXPECT(r, 201);
        }
        r = wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/discharge", prev), f->nurse,
                    json_pack("{s:O}", "time", json_object_get(v, "discharged_at")));
        WD_EXPECT(r, 200);
        if (resp) {
            r = wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/responses", prev),
                        f->physician,
                        json_pack("{s:I, s:O, s:O}", "course", (json_int_t)(i + 1), "category",
                                  json_object_get(resp, "category"), "date",
                                  json_object_get(resp, "date")));
            WD_EXPECT(r, 201);
        }
    }
}

/* invalid.json: each listed observation is found among the patient's
 * readings (code, time, value) and marked invalid by the nurse through the
 * API, as the ward would (docs/api.md "Invalid readings"). */
static void invalidate_marked(wd_fixture *f, long long pid, const json_t *obs,
                              const json_t *invalid)
{
    size_t i, k;
    json_t *m, *it;

    json_array_foreach(invalid, i, m)
    {
        const json_t *o =
            json_array_get(obs, (size_t)json_integer_value(json_object_get(m, "index")));
        const char *code = json_string_value(json_object_get(o, "code"));
        int64_t t = item_time(o);
        long long id = 0;
        wd_resp *r =
            wd_req(f->s, "GET",
                   wd_path(f->s, "/api/v1/patients/%lld/readings?code=%s&from=%s&to=%s", pid, code,
                           wd_escape(f->s, wd_iso(t)), wd_escape(f->s, wd_iso(t))),
                   f->viewer, NULL);
        WD_EXPECT(r, 200);
        json_array_foreach(WD_ARR(r->json, "readings"), k, it)
        {
            if (WD_TIME(it, "time") == t && json_number_value(json_object_get(it, "value")) ==
                                                json_number_value(json_object_get(o, "value")))
                id = WD_INT(it, "id");
        }
        assert_true(id > 0);
        WD_EXPECT(wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/readings/%lld/invalidate", id),
                          f->nurse, json_pack("{s:O}", "reason", json_object_get(m, "reason"))),
                  200);
    }
}

static void run_case_http(void **state)
{
    const case_dir *cd = *state;
    wd_fixture *f = cases_fx;
    json_t *patient = cases_load_opt(cd->path, "patient.json");
    json_t *obs = cases_load_opt(cd->path, "observations.json");
    json_t *doses = cases_load_opt(cd->path, "doses.json");
    json_t *patch = cases_load_opt(cd->path, "ruleset_patch.json");
    json_t *expected = cases_load_opt(cd->path, "expected.json");
    json_t *invalid = cases_load_opt(cd->path, "invalid.json");
    json_t *course = cases_load_opt(cd->path, "course.json");
    const char *mrn = wd_uniq(f->s, "MRN-");
    json_t *extra, *v;
    int64_t first = INT64_MAX;
    int before = cases_failures;
    long long pid;
    size_t i;

    assert_non_null(patient);
    assert_non_null(expected);
    if (patch) {
        json_t *doc = default_rules();
        cases_merge_patch(doc, patch);
        put_rules(f, doc, 200);
    }
    json_array_foreach(obs, i, v)
    {
        int64_t t = item_time(v);
        if (t && t < first)
            first = t;
    }
    json_array_foreach(doses, i, v)
    {
        int64_t t = item_time(v);
        if (t && t < first)
            first = t;
    }
    extra = json_deep_copy(patient);
    json_object_del(extra, "mrn");
    json_object_del(extra, "name");
    json_object_del(extra, "bed");
    json_object_del(extra, "admitted_at");
    if (course) {
        replay_courses(f, course, mrn);
        json_object_set_new(extra, "mrn", json_string(mrn));
    }
    pid = wd_admit(f, wd_new_bed(f), first == INT64_MAX ? 0 : first - HOUR, extra);
    /* observations in chunks of at most 1000, then the doses (a dose is
     * checked against the decision at its time, so the readings come first) */
    for (i = 0; i < json_array_size(obs); i += 1000) {
        json_t *chunk = json_array();
        for (size_t k = i; k < i + 1000 && k < json_array_size(obs); k++)
            json_array_append(chunk, json_array_get(obs, k));
        observe(f, pid, chunk);
    }
    invalidate_marked(f, pid, obs, invalid);
    json_array_foreach(doses, i, v)
    {
        json_t *body = json_deep_copy(v);
        wd_resp *r;
        json_object_set_new(body, "override_reason", json_string("scenario replay"));
        json_object_set_new(body, "backentry_reason", json_string("scenario replay"));
        r = wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/doses", pid), f->physician,
                    body);
        WD_EXPECT(r, 201);
    }
    json_array_foreach(json_object_get(expected, "checks"), i, v)
    {
        const char *at = json_string_value(json_object_get(v, "at"));
        wd_resp *r =
            wd_req(f->s, "GET",
                   wd_path(f->s, "/api/v1/patients/%lld/toxicity?at=%s", pid, wd_escape(f->s, at)),
                   f->viewer, NULL);
        WD_EXPECT(r, 200);
        cases_check(cd->name, v, r->json);
    }
    if (patch)
        put_rules(f, default_rules(), 200);
    json_decref(patient);
    json_decref(obs);
    json_decref(doses);
    json_decref(patch);
    json_decref(expected);
    json_decref(course);
    json_decref(invalid);
    wd_gc(f->s);
    if (cases_failures != before)
        fail_msg("%s over HTTP: %d expectation(s) failed", cd->name, cases_failures - before);
}

static int compare_case(const void *a, const void *b)
{
    return strcmp(((const case_dir *)a)->name, ((const case_dir *)b)->name);
}

static int run_cases_group(void)
{
    char dir[600];
    DIR *d;
    struct dirent *e;
    case_dir *cases;
    struct CMUnitTest *tests;
    size_t n = 0;
    int rc;

    snprintf(dir, sizeof dir, "%s/tests/cases", root());
    d = opendir(dir);
    if (!d) {
        fprintf(stderr, "cannot open %s\n", dir);
        return 1;
    }
    cases = calloc(256, sizeof *cases);
    while (cases && (e = readdir(d)) != NULL && n < 256) {
        char p[1200];
        FILE *fp;
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof cases[0].name)
            continue;
        snprintf(p, sizeof p, "%s/%s/expected.json", dir, e->d_name);
        fp = fopen(p, "r");
        if (!fp)
            continue;
        fclose(fp);
        memcpy(cases[n].name, e->d_name, strlen(e->d_name) + 1); /* length checked above */
        snprintf(cases[n].path, sizeof cases[n].path, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (!cases || n == 0) {
        free(cases);
        return 1;
    }
    qsort(cases, n, sizeof *cases, compare_case);
    tests = calloc(n, sizeof *tests);
    for (size_t i = 0; tests && i < n; i++) {
        tests[i].name = cases[i].name;
        tests[i].test_func = run_case_http;
        tests[i].initial_state = &cases[i];
    }
    rc = tests ? _cmocka_run_group_tests("cases over HTTP", tests, n, cases_setup, cases_teardown)
               : 1;
    free(tests);
    free(cases);
    return rc;
}

/* --- wardd rules check -------------------------------------------------------------- */

static void test_rules_check_cli(void **state)
{
    char path[1200], *out = NULL;
    json_t *doc = default_rules();
    json_t *rule;
    size_t i;

    (void)state;
    snprintf(path, sizeof path, "%s/schema/rules/il2-default.json", root());
    assert_int_equal(wd_wardd_run(&out, "rules check '%s'", path), 0);
    assert_string_equal(out, "ok: 48 rules, 28 terms\n");
    free(out);
    /* a deliberately broken copy: SpO2 hold resumes on a string */
    json_array_foreach(json_object_get(doc, "rules"), i, rule)
    {
        if (strcmp(json_string_value(json_object_get(rule, "id")), "L24-RS-1") == 0)
            json_object_set_new(json_object_get(json_object_get(rule, "resume"), "when"), "gt",
                                json_string("ninety"));
    }
    snprintf(path, sizeof path, "%s/broken-rules.json",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_int_equal(json_dump_file(doc, path, JSON_INDENT(2)), 0);
    assert_int_equal(wd_wardd_run(&out, "rules check '%s'", path), 1);
    if (strcmp(out, "broken-rules.json: rule L24-RS-1: field 'resume.when.gt': expected a number "
                    "or an operand object\n") != 0)
        fail_msg("rules check printed: %s", out);
    free(out);
    unlink(path);
    json_decref(doc);
}

/* --- PUT /rules ----------------------------------------------------------------------- */

static void test_rules_put(void **state)
{
    wd_fixture *f = *state;
    json_t *doc = default_rules(), *rule, *audit, *e;
    wd_resp *r;
    size_t i;
    bool found = false;

    r = wd_req(f->s, "GET", "/api/v1/rules", f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(WD_INT(r->json, "version"), 1);
    assert_string_equal(WD_STR(r->json, "ruleset.name"), "il2-default");
    /* only an admin may change it */
    r = wd_reqj(f->s, "PUT", "/api/v1/rules", f->physician, json_deep_copy(doc));
    WD_EXPECT_ERR(r, 403, "forbidden");
    /* invalid: 422 with every problem, the active set unchanged */
    json_array_foreach(json_object_get(doc, "rules"), i, rule)
    {
        if (strcmp(json_string_value(json_object_get(rule, "id")), "L24-RS-1") == 0)
            json_object_set_new(rule, "colour", json_string("red"));
    }
    json_object_set_new(json_object_get(json_object_get(doc, "alerts"), "grade"), "high_at",
                        json_integer(9));
    r = wd_reqj(f->s, "PUT", "/api/v1/rules", f->admin, json_deep_copy(doc));
    WD_EXPECT_ERR(r, 422, "validation_failed");
    assert_int_equal(json_array_size(WD_ARR(r->json, "error.details")), 2);
    assert_string_equal(WD_STR(r->json, "error.details.0.message"),
                        "request: rule L24-RS-1: field 'colour': unknown field");
    assert_string_equal(WD_STR(r->json, "error.details.1.message"),
                        "request: alerts: field 'grade.high_at': expected an integer 1-5");
    r = wd_req(f->s, "GET", "/api/v1/rules/versions", f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(WD_ARR(r->json, "versions")), 1);
    /* valid (policy S5): version 2, active at once, audited */
    json_decref(doc);
    doc = default_rules();
    json_object_set_new(json_object_get(doc, "consensus"), "policy", json_string("S5"));
    r = wd_reqj(f->s, "PUT", "/api/v1/rules", f->admin, doc);
    WD_EXPECT(r, 200);
    assert_int_equal(WD_INT(r->json, "version"), 2);
    r = wd_req(f->s, "GET", "/api/v1/rules", f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(WD_INT(r->json, "version"), 2);
    assert_int_equal(WD_INT(r->json, "ruleset.version"), 2);
    assert_string_equal(WD_STR(r->json, "ruleset.consensus.policy"), "S5");
    assert_string_equal(WD_STR(r->json, "created_by"), WD_ADMIN);
    r = wd_req(f->s, "GET", "/api/v1/rules/versions", f->viewer, NULL);
    assert_int_equal(json_array_size(WD_ARR(r->json, "versions")), 2);
    assert_true(json_is_true(wd_get(r->json, "versions.0.active")));
    assert_true(json_is_false(wd_get(r->json, "versions.1.active")));
    /* the toxicity view uses it at once */
    {
        long long pid = wd_admit(f, wd_new_bed(f), 0, NULL);
        json_t *tox = toxicity(f, pid, 0);
        assert_int_equal(WD_INT(tox, "ruleset.version"), 2);
    }
    r = wd_req(f->s, "GET", "/api/v1/audit", f->admin, NULL);
    WD_EXPECT(r, 200);
    audit = WD_ARR(r->json, "entries");
    json_array_foreach(audit, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "action")), "rules.update") == 0) {
            found = true;
            assert_string_equal(WD_STR(e, "user"), WD_ADMIN);
            assert_int_equal(WD_INT(e, "before.version"), 1);
            assert_int_equal(WD_INT(e, "after.version"), 2);
        }
    }
    assert_true(found);
}

/* After a restart: the active rule set is the stored version (not the file
 * again), and open alerts are carried on, not raised a second time. */
static void test_restart_keeps_rules_and_alerts(void **state)
{
    wd_fixture *f = *state;
    json_t *doc = default_rules();
    long long pid = wd_admit(f, wd_new_bed(f), wd_now_ms() - 10 * MIN, NULL);
    long long id = 0;
    wd_resp *r;

    json_object_set_new(json_object_get(doc, "consensus"), "policy", json_string("S5"));
    put_rules(f, doc, 200);
    observe(f, pid, vitals(wd_now_ms(), 97, 40.3)); /* fever grade 3: high */
    for (int k = 0; k < 200 && !id; k++) {
        json_t *a;
        r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/alerts?patient=%lld", pid), f->viewer, NULL);
        a = wd_find(WD_ARR(r->json, "alerts"), "kind", "grade");
        if (a)
            id = WD_INT(a, "id");
        else
            wd_sleep_ms(20);
    }
    assert_true(id > 0);
    wd_restart(f->s);
    wd_fixture_login(f);
    r = wd_req(f->s, "GET", "/api/v1/rules", f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(WD_INT(r->json, "version"), 2);
    assert_string_equal(WD_STR(r->json, "ruleset.consensus.policy"), "S5");
    /* the start-up pass has evaluated everyone once the ward shows a decision */
    for (int k = 0; k < 200; k++) {
        json_t *bed = NULL, *e;
        size_t i;
        r = wd_req(f->s, "GET", "/api/v1/ward", f->viewer, NULL);
        json_array_foreach(WD_ARR(r->json, "beds"), i, e)
        {
            if (json_integer_value(wd_get(e, "patient.id")) == pid)
                bed = e;
        }
        if (bed && json_is_object(json_object_get(bed, "decision")))
            break;
        wd_sleep_ms(20);
    }
    r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/alerts?state=all&patient=%lld", pid), f->viewer,
               NULL);
    WD_EXPECT(r, 200);
    {
        size_t i, grade_alerts = 0;
        json_t *e;
        json_array_foreach(WD_ARR(r->json, "alerts"), i, e)
        {
            if (strcmp(json_string_value(json_object_get(e, "kind")), "grade") == 0)
                grade_alerts++;
        }
        assert_int_equal(grade_alerts, 1);
    }
    assert_string_equal(WD_STR(wd_find_int(WD_ARR(r->json, "alerts"), "id", id), "state"),
                        "active");
}

/* --- toxicity errors ---------------------------------------------------------------------- */

static void test_toxicity_errors(void **state)
{
    wd_fixture *f = *state;
    long long pid = wd_admit(f, wd_new_bed(f), 0, NULL);
    wd_resp *r;

    r = wd_req(f->s, "GET", "/api/v1/patients/999999/toxicity", f->viewer, NULL);
    WD_EXPECT_ERR(r, 404, "not_found");
    r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld/toxicity?at=yesterday", pid),
               f->viewer, NULL);
    WD_EXPECT_ERR(r, 400, "bad_query");
    r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld/toxicity", pid), NULL, NULL);
    WD_EXPECT_ERR(r, 401, "unauthenticated");
    /* no readings: every term listed, no give */
    r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld/toxicity", pid), f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(WD_ARR(r->json, "terms")), 28);
    assert_string_equal(WD_STR(r->json, "decision.action"), "insufficient_data");
    assert_non_null(WD_OBJ(r->json, "schedule"));
    assert_non_null(WD_OBJ(r->json, "kdigo"));
    assert_non_null(WD_OBJ(r->json, "news2"));
}

/* --- doses ---------------------------------------------------------------------------------- */

static void test_doses_override(void **state)
{
    wd_fixture *f = *state;
    int64_t now = wd_now_ms();
    long long pid = wd_admit(f, wd_new_bed(f), now - 2 * HOUR, NULL);
    long long other = wd_admit(f, wd_new_bed(f), now - 2 * HOUR, NULL);
    const char *path = wd_path(f->s, "/api/v1/patients/%lld/doses", pid);
    wd_resp *r;
    json_t *e;
    size_t i;
    bool audited = false;

    observe(f, pid, vitals(now - 10 * MIN, 88, 37.0)); /* SpO2 < 90: hold */
    assert_string_equal(action_at(f, pid, now - MIN), "hold");
    /* a nurse may not give against a hold */
    r = wd_reqj(f->s, "POST", path, f->nurse,
                json_pack("{s:s, s:s}", "time", wd_iso(now - MIN), "status", "given"));
    WD_EXPECT_ERR(r, 403, "forbidden");
    assert_non_null(strstr(WD_STR(r->json, "error.message"), "physician's override"));
    assert_non_null(strstr(WD_STR(r->json, "error.message"), "SpO2 < 90"));
    /* a physician needs a reason */
    r = wd_reqj(f->s, "POST", path, f->physician,
                json_pack("{s:s, s:s}", "time", wd_iso(now - MIN), "status", "given"));
    WD_EXPECT_ERR(r, 422, "validation_failed");
    assert_string_equal(WD_STR(r->json, "error.details.0.field"), "override_reason");
    r = wd_reqj(f->s, "POST", path, f->physician,
                json_pack("{s:s, s:s, s:s}", "time", wd_iso(now - MIN), "status", "given",
                          "override_reason", "   "));
    WD_EXPECT_ERR(r, 422, "validation_failed");
    /* with one: 201, recorded with the decision, audited as an override */
    r = wd_reqj(f->s, "POST", path, f->physician,
                json_pack("{s:s, s:s, s:s}", "time", wd_iso(now - MIN), "status", "given",
                          "override_reason", "SpO2 probe artefact, ABG 96 %"));
    WD_EXPECT(r, 201);
    assert_string_equal(WD_STR(r->json, "status"), "given");
    assert_string_equal(WD_STR(r->json, "decision"), "hold");
    assert_string_equal(WD_STR(r->json, "override_reason"), "SpO2 probe artefact, ABG 96 %");
    assert_string_equal(WD_STR(r->json, "recorded_by"), WD_PHYSICIAN);
    /* the same slot twice: 409 */
    r = wd_reqj(f->s, "POST", path, f->physician,
                json_pack("{s:s, s:s, s:s}", "time", wd_iso(now - MIN), "status", "given",
                          "override_reason", "again"));
    WD_EXPECT_ERR(r, 409, "already_exists");
    /* a nurse may record a held dose */
    r = wd_reqj(f->s, "POST", path, f->nurse,
                json_pack("{s:s, s:s, s:s}", "time", wd_iso(now - 30 * 1000), "status", "held",
                          "reason", "SpO2 88"));
    WD_EXPECT(r, 201);
    r = wd_req(f->s, "GET", path, f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(WD_ARR(r->json, "doses")), 2);
    assert_string_equal(WD_STR(r->json, "doses.0.status"), "given");
    assert_string_equal(WD_STR(r->json, "doses.1.status"), "held");
    /* the schedule counts the given dose */
    assert_int_equal(WD_INT(toxicity(f, pid, 0), "schedule.doses_given_course"), 1);
    /* insufficient_data (no vitals): an override too */
    r = wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/doses", other), f->nurse,
                json_pack("{s:s, s:s}", "time", wd_iso(now - MIN), "status", "given"));
    WD_EXPECT_ERR(r, 403, "forbidden");
    assert_non_null(strstr(WD_STR(r->json, "error.message"), "insufficient_data"));
    /* bad bodies */
    r = wd_reqj(f->s, "POST", path, f->nurse,
                json_pack("{s:s, s:s}", "time", wd_iso(now), "status", "skipped"));
    WD_EXPECT_ERR(r, 422, "validation_failed");
    r = wd_reqj(f->s, "POST", path, f->nurse,
                json_pack("{s:s, s:s}", "time", wd_iso(now + HOUR), "status", "held"));
    WD_EXPECT_ERR(r, 422, "validation_failed");
    r = wd_reqj(f->s, "POST", "/api/v1/patients/999999/doses", f->nurse,
                json_pack("{s:s, s:s}", "time", wd_iso(now), "status", "held"));
    WD_EXPECT_ERR(r, 404, "not_found");
    r = wd_reqj(f->s, "POST", path, f->viewer,
                json_pack("{s:s, s:s}", "time", wd_iso(now), "status", "held"));
    WD_EXPECT_ERR(r, 403, "forbidden");
    r = wd_req(f->s, "GET", "/api/v1/audit", f->admin, NULL);
    json_array_foreach(WD_ARR(r->json, "entries"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "action")), "dose.override") != 0)
            continue;
        audited = true;
        assert_string_equal(WD_STR(e, "user"), WD_PHYSICIAN);
        assert_string_equal(WD_STR(e, "after.decision.action"), "hold");
        assert_string_equal(WD_STR(e, "after.decision.reasons.0.rule"), "L24-RS-1");
        assert_string_equal(WD_STR(e, "after.dose.override_reason"),
                            "SpO2 probe artefact, ABG 96 %");
    }
    assert_true(audited);
}

/* --- the alert lifecycle on the SSE stream ------------------------------------------------ */

static int lifecycle_setup(void **state)
{
    int rc;

    setenv("WARDD_CLINICAL_TICK_MS", "200", 1);
    setenv("WARDD_ALERT_ESCALATE_MS", "1500", 1);
    setenv("WARDD_ALERT_RESOLVE_MS", "800", 1);
    setenv("WARDD_DEVICE_SILENT_MS", "1000", 1);
    rc = wd_fixture_setup(state);
    unsetenv("WARDD_CLINICAL_TICK_MS");
    unsetenv("WARDD_ALERT_ESCALATE_MS");
    unsetenv("WARDD_ALERT_RESOLVE_MS");
    unsetenv("WARDD_DEVICE_SILENT_MS");
    return rc;
}

static void test_alert_lifecycle_sse(void **state)
{
    wd_fixture *f = *state;
    sse_client *sse = sse_open(f);
    int64_t now = wd_now_ms();
    long long pid = wd_admit(f, wd_new_bed(f), now - 10 * MIN, NULL);
    struct alert_match m = {.kind = "grade", .term = "fever", .patient = pid};
    sse_event raised, escalated, acked, resolved;
    long i_raised, i_esc, i_ack, i_res;
    long long id;
    wd_resp *r;
    json_t *e, *bed = NULL;
    size_t i;
    int transitions = 0;

    /* fever 39.5 Cel: CTCAE grade 2 -> one medium alert */
    observe(f, pid, vitals(wd_now_ms(), 97, 39.5));
    m.transition = "raised";
    i_raised = sse_wait(sse, 0, match_alert, &m, 10000, &raised);
    assert_true(i_raised >= 0);
    wd_keep(f->s, raised.data);
    id = WD_INT(raised.data, "id");
    assert_string_equal(WD_STR(raised.data, "priority"), "medium");
    assert_int_equal(WD_INT(raised.data, "grade"), 2);
    assert_string_equal(WD_STR(raised.data, "state"), "active");
    assert_string_equal(WD_STR(raised.data, "message"), "Fever: CTCAE grade 2");
    /* the same condition again: no second alert */
    observe(f, pid, vitals(wd_now_ms(), 97, 39.6));
    /* unacknowledged for 1.5 s: escalated one step */
    m.id = id;
    m.transition = "escalated";
    i_esc = sse_wait(sse, (size_t)i_raised, match_alert, &m, 10000, &escalated);
    assert_true(i_esc > i_raised);
    wd_keep(f->s, escalated.data);
    assert_string_equal(WD_STR(escalated.data, "priority"), "high");
    assert_string_equal(WD_STR(escalated.data, "base_priority"), "medium");
    /* the ward shows it */
    r = wd_req(f->s, "GET", "/api/v1/ward", f->viewer, NULL);
    WD_EXPECT(r, 200);
    json_array_foreach(WD_ARR(r->json, "beds"), i, e)
    {
        if (json_integer_value(wd_get(e, "patient.id")) == pid)
            bed = e;
    }
    assert_non_null(bed);
    assert_int_equal(WD_INT(bed, "max_grade"), 2);
    assert_string_equal(WD_STR(bed, "decision.action"), "give");
    assert_true(WD_INT(bed, "active_alerts") >= 1);
    /* acknowledged by the nurse with a note */
    r = wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/alerts/%lld/ack", id), f->nurse,
                json_pack("{s:s}", "note", "paracetamol given"));
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "state"), "acknowledged");
    assert_string_equal(WD_STR(r->json, "acked_by"), WD_NURSE);
    assert_string_equal(WD_STR(r->json, "ack_note"), "paracetamol given");
    m.transition = "acknowledged";
    i_ack = sse_wait(sse, (size_t)i_esc, match_alert, &m, 10000, &acked);
    assert_true(i_ack > i_esc);
    wd_keep(f->s, acked.data);
    /* not again */
    r = wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/alerts/%lld/ack", id), f->nurse,
                json_pack("{s:s}", "note", "twice"));
    WD_EXPECT_ERR(r, 409, "conflict");
    /* afebrile: resolved only after the clear period, not on the first value */
    observe(f, pid, vitals(wd_now_ms(), 97, 37.0));
    wd_sleep_ms(300);
    r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/alerts?state=acknowledged&patient=%lld", pid),
               f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_non_null(wd_find_int(WD_ARR(r->json, "alerts"), "id", id));
    m.transition = "resolved";
    i_res = sse_wait(sse, (size_t)i_ack, match_alert, &m, 10000, &resolved);
    assert_true(i_res > i_ack);
    wd_keep(f->s, resolved.data);
    assert_string_equal(WD_STR(resolved.data, "state"), "resolved");
    assert_true(resolved.at_ms - acked.at_ms >= 700);
    /* in order on the stream, and by event id */
    assert_true(raised.id < escalated.id && escalated.id < acked.id && acked.id < resolved.id);
    /* exactly one alert for the condition, every transition audited */
    m.id = 0;
    m.transition = "raised";
    assert_true(sse_wait(sse, (size_t)i_raised + 1, match_alert, &m, 0, NULL) < 0);
    r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/alerts?state=all&patient=%lld", pid), f->viewer,
               NULL);
    WD_EXPECT(r, 200);
    json_array_foreach(WD_ARR(r->json, "alerts"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "kind")), "grade") == 0)
            assert_int_equal(WD_INT(e, "id"), id);
    }
    e = wd_find_int(WD_ARR(r->json, "alerts"), "id", id);
    assert_string_equal(WD_STR(e, "state"), "resolved");
    assert_string_equal(WD_STR(e, "acked_by"), WD_NURSE);
    WD_TIME(e, "resolved_at");
    r = wd_req(f->s, "GET", "/api/v1/audit", f->admin, NULL);
    json_array_foreach(WD_ARR(r->json, "entries"), i, e)
    {
        const char *a = json_string_value(json_object_get(e, "action"));
        const char *who = json_string_value(json_object_get(e, "user"));
        if (strcmp(json_string_value(json_object_get(e, "entity")), "alert") != 0 ||
            atoll(json_string_value(json_object_get(e, "entity_id"))) != id)
            continue;
        transitions++;
        if (strcmp(a, "alert.acknowledged") == 0)
            assert_string_equal(who, WD_NURSE);
        else
            assert_string_equal(who, "(wardd)");
    }
    assert_int_equal(transitions, 4);
    sse_close(sse);
}

/* A device on an occupied bed that stops sending: one device_silent alert,
 * resolved when it sends again; a discharge resolves the patient's alerts. */
static void test_device_silent_and_discharge(void **state)
{
    wd_fixture *f = *state;
    sse_client *sse = sse_open(f);
    int64_t now = wd_now_ms();
    long long pid = wd_admit(f, "B1", now - 10 * MIN, NULL);
    struct alert_match m = {.kind = "device_silent", .transition = "raised", .patient = pid};
    sse_event ev;
    long at;
    wd_resp *r;

    at = sse_wait(sse, 0, match_alert, &m, 10000, &ev);
    assert_true(at >= 0);
    wd_keep(f->s, ev.data);
    assert_string_equal(WD_STR(ev.data, "bed"), "B1");
    assert_int_equal(WD_INT(ev.data, "device_id"), f->device_id);
    r = wd_post_readings(
        f->s, f->device,
        json_pack("[o]", wd_item("m1", "hr", json_integer(80), NULL, wd_now_ms())));
    WD_EXPECT(r, 201);
    m.transition = "resolved";
    m.id = WD_INT(ev.data, "id");
    assert_true(sse_wait(sse, (size_t)at, match_alert, &m, 10000, NULL) > at);
    /* silent again: a new alert (the previous one is resolved) */
    m.transition = "raised";
    m.id = 0;
    at = sse_wait(sse, (size_t)at + 1, match_alert, &m, 10000, &ev);
    assert_true(at >= 0);
    wd_keep(f->s, ev.data);
    /* discharge: every open alert of the patient resolves */
    r = wd_req(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/discharge", pid), f->nurse, NULL);
    WD_EXPECT(r, 200);
    m.transition = "resolved";
    m.id = WD_INT(ev.data, "id");
    assert_true(sse_wait(sse, (size_t)at, match_alert, &m, 10000, NULL) > at);
    for (int k = 0; k < 100; k++) {
        r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/alerts?state=active&patient=%lld", pid),
                   f->viewer, NULL);
        WD_EXPECT(r, 200);
        if (json_array_size(WD_ARR(r->json, "alerts")) == 0)
            break;
        wd_sleep_ms(50);
    }
    assert_int_equal(json_array_size(WD_ARR(r->json, "alerts")), 0);
    sse_close(sse);
}

static void test_alert_ack_errors(void **state)
{
    wd_fixture *f = *state;
    wd_resp *r;

    r = wd_reqj(f->s, "POST", "/api/v1/alerts/424242/ack", f->nurse,
                json_pack("{s:s}", "note", "x"));
    WD_EXPECT_ERR(r, 404, "not_found");
    r = wd_reqj(f->s, "POST", "/api/v1/alerts/1/ack", f->viewer, json_pack("{s:s}", "note", "x"));
    WD_EXPECT_ERR(r, 403, "forbidden");
    r = wd_reqj(f->s, "POST", "/api/v1/alerts/1/ack", f->nurse, json_object());
    WD_EXPECT_ERR(r, 422, "validation_failed");
    r = wd_req(f->s, "GET", "/api/v1/alerts?state=open", f->viewer, NULL);
    WD_EXPECT_ERR(r, 400, "bad_query");
    r = wd_req(f->s, "GET", "/api/v1/alerts?patient=x", f->viewer, NULL);
    WD_EXPECT_ERR(r, 400, "bad_query");
    r = wd_req(f->s, "GET", "/api/v1/alerts?state=all", f->viewer, NULL);
    WD_EXPECT(r, 200);
}

/* Median time from a reading's 201 to its alert on the stream (decision
 * hold on SpO2 < 90, then resolved by SpO2 > 90), over 20 rounds. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_alert_latency(void **state)
{
    wd_fixture *f = *state;
    sse_client *sse = sse_open(f);
    int64_t now = wd_now_ms();
    long long pid = wd_admit(f, wd_new_bed(f), now - 10 * MIN, NULL);
    struct alert_match m = {.kind = "decision", .patient = pid};
    double raise_ms[20], resolve_ms[20];
    size_t from;

    observe(f, pid, vitals(wd_now_ms(), 97, 37.0));
    for (int k = 0; k < 20; k++) {
        sse_event ev;
        double t201;
        long at;
        from = sse_count(sse);
        observe(f, pid, json_pack("[o]", item("spo2", json_integer(88), wd_now_ms())));
        t201 = mono_ms();
        m.transition = "raised";
        at = sse_wait(sse, from, match_alert, &m, 10000, &ev);
        assert_true(at >= 0);
        json_decref(ev.data);
        raise_ms[k] = ev.at_ms - t201;
        from = (size_t)at + 1;
        observe(f, pid, json_pack("[o]", item("spo2", json_integer(95), wd_now_ms())));
        t201 = mono_ms();
        m.transition = "resolved";
        at = sse_wait(sse, from, match_alert, &m, 10000, &ev);
        assert_true(at >= 0);
        json_decref(ev.data);
        resolve_ms[k] = ev.at_ms - t201;
    }
    qsort(raise_ms, 20, sizeof raise_ms[0], cmp_double);
    qsort(resolve_ms, 20, sizeof resolve_ms[0], cmp_double);
    fprintf(stderr,
            "measure: reading 201 -> alert on the SSE stream: median %.2f ms (min %.2f, max "
            "%.2f) raised; median %.2f ms resolved; 20 rounds\n",
            (raise_ms[9] + raise_ms[10]) / 2, raise_ms[0], raise_ms[19],
            (resolve_ms[9] + resolve_ms[10]) / 2);
    sse_close(sse);
}

/* --- many patients at once ------------------------------------------------------------ */

/* The ward's max_grade for the patient (the worker's summary), -1 when none. */
static long long ward_grade(wd_fixture *f, long long pid)
{
    wd_resp *r = wd_req(f->s, "GET", "/api/v1/ward", f->viewer, NULL);
    json_t *e;
    size_t i;

    WD_EXPECT(r, 200);
    json_array_foreach(WD_ARR(r->json, "beds"), i, e)
    {
        if (json_integer_value(wd_get(e, "patient.id")) == pid)
            return json_is_integer(json_object_get(e, "max_grade"))
                       ? json_integer_value(json_object_get(e, "max_grade"))
                       : -1;
    }
    return -1;
}

/* Waits up to 10 s for each patient's ward grade to be want[i]. */
static void wait_grades(wd_fixture *f, const long long *pid, const long long *want, int n)
{
    for (int i = 0; i < n; i++) {
        long long g = -1;
        for (int k = 0; k < 200 && (g = ward_grade(f, pid[i])) != want[i]; k++)
            wd_sleep_ms(50);
        if (g != want[i])
            fail_msg("patient %d (%lld): ward grade %lld, want %lld", i, pid[i], g, want[i]);
    }
}

/* One thread's post of a temperature to its patient (post_together()). */
struct together {
    wd_server *s;
    pthread_barrier_t *go;
    const char *token;
    char path[96];
    char body[160];
    long status;
};

static void *post_one(void *arg)
{
    struct together *t = arg;
    wd_client *c = wd_client_new(t->s);

    pthread_barrier_wait(t->go);
    t->status = c ? wd_client_req(c, "POST", t->path, t->token, t->body, NULL) : 0;
    wd_client_free(c);
    return NULL;
}

/* Posts temp[i] to patient pid[i] for i in [1, n), from n - 1 threads
 * released together, so that the worker finds several patients queued in
 * one round. */
static void post_together(wd_fixture *f, const long long *pid, const double *temp, int n)
{
    struct together t[16];
    pthread_t th[16];
    pthread_barrier_t go;
    char when[40];

    assert_true(n <= 16);
    snprintf(when, sizeof when, "%s", wd_iso(wd_now_ms()));
    pthread_barrier_init(&go, NULL, (unsigned)(n - 1));
    for (int i = 1; i < n; i++) {
        t[i] = (struct together){.s = f->s, .go = &go, .token = f->nurse, .status = 0};
        snprintf(t[i].path, sizeof t[i].path, "/api/v1/patients/%lld/observations", pid[i]);
        snprintf(t[i].body, sizeof t[i].body,
                 "{\"readings\": [{\"code\": \"temp\", \"value\": %.1f, \"time\": \"%s\"}]}",
                 temp[i], when);
        assert_int_equal(pthread_create(&th[i], NULL, post_one, &t[i]), 0);
    }
    for (int i = 1; i < n; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].status, 201);
    }
    pthread_barrier_destroy(&go);
}

/* Many patients at once: the worker reads the new rows of every patient
 * queued in one round with one scan (clinical.c, "One scan of new rows
 * per round"). Each patient must get exactly its own readings, also one
 * that stayed silent while the others posted (its cursor moved on). */
static void test_many_patients_at_once(void **state)
{
    enum { N = 12 };
    wd_fixture *f = *state;
    static const double fever[3] = {38.5, 39.5, 40.5}; /* CTCAE grades 1, 2, 3 */
    long long pid[N], want[N], base = -1;
    int64_t now = wd_now_ms();

    for (int i = 0; i < N; i++) {
        pid[i] = wd_admit(f, wd_new_bed(f), now - 10 * MIN, NULL);
        observe(f, pid[i], vitals(now - 5 * MIN, 97, 37.0));
    }
    /* afebrile: the grade of the rest (the same for all), below 2 */
    for (int k = 0; k < 200 && (base = ward_grade(f, pid[N - 1])) < 0; k++)
        wd_sleep_ms(50);
    assert_true(base >= 0 && base < 2);
    for (int i = 0; i < N; i++)
        want[i] = base;
    wait_grades(f, pid, want, N);
    /* all but the first get a fever, all at once; then each another */
    for (int round = 0; round < 3; round++) {
        double temp[N];
        for (int i = 1; i < N; i++) {
            int g = (i + round) % 3 + 1;
            temp[i] = fever[g - 1];
            want[i] = g > base ? g : base;
        }
        post_together(f, pid, temp, N);
        wait_grades(f, pid, want, N);
    }
    /* the silent one, at last */
    observe(f, pid[0], json_pack("[o]", item("temp", json_real(40.5), wd_now_ms())));
    want[0] = 3;
    wait_grades(f, pid, want, N);
}

/* --- properties ---------------------------------------------------------------------------- */

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* No give while sbp, hr or spo2 has no reading in the 4 h before T. */
static void test_property_no_give_when_stale(void **state)
{
    wd_fixture *f = *state;
    int64_t t0 = wd_now_ms() - 48 * HOUR;
    long long pid = wd_admit(f, wd_new_bed(f), t0 - HOUR, NULL);
    static const char *const req[] = {"sbp", "hr", "spo2"};
    int64_t last[3] = {INT64_MIN, INT64_MIN, INT64_MIN};
    int64_t times[3][200];
    int nt[3] = {0, 0, 0};
    json_t *items = json_array();
    int checked = 0, stale_seen = 0;

    /* each vital at random gaps of 10 min to 7 h over 48 h, normal values */
    for (int c = 0; c < 3; c++) {
        int64_t t = t0 + (int64_t)(rng() % (3 * HOUR));
        while (t < t0 + 48 * HOUR && nt[c] < 200) {
            times[c][nt[c]++] = t;
            json_array_append_new(items, item(req[c],
                                              json_integer(c == 0   ? 120
                                                           : c == 1 ? 80
                                                                    : 97),
                                              t));
            t += 10 * MIN + (int64_t)(rng() % (7 * HOUR));
        }
    }
    observe(f, pid, items);
    for (int k = 0; k < 60; k++) {
        int64_t T = t0 + (int64_t)(rng() % (49 * HOUR));
        bool stale = false;
        const char *a = action_at(f, pid, T);
        for (int c = 0; c < 3; c++) {
            last[c] = INT64_MIN;
            for (int i = 0; i < nt[c]; i++)
                if (times[c][i] <= T)
                    last[c] = times[c][i];
            stale |= last[c] == INT64_MIN || T - last[c] > 4 * HOUR;
        }
        if (stale) {
            stale_seen++;
            if (strcmp(a, "give") == 0)
                fail_msg("give at %s although a required vital is stale", wd_iso(T));
        }
        checked++;
        wd_gc(f->s);
    }
    assert_int_equal(checked, 60);
    assert_true(stale_seen > 0);
}

/* Once a permanent discontinue criterion fired, every later T says
 * discontinue, whatever follows (flag back to false, normal vitals). */
static void test_property_discontinue_sticky(void **state)
{
    wd_fixture *f = *state;
    int64_t t0 = wd_now_ms() - 24 * HOUR;
    long long pid = wd_admit(f, wd_new_bed(f), t0 - HOUR, NULL);
    json_t *items = json_array();
    int64_t onset = t0 + 3 * HOUR;

    for (int64_t t = t0; t < t0 + 24 * HOUR; t += HOUR) {
        json_t *v = vitals(t, 96 + (double)(rng() % 4), 36.5 + (double)(rng() % 10) / 10);
        json_array_extend(items, v);
        json_decref(v);
    }
    json_array_append_new(items, item("ecg_ischemia", json_true(), onset));
    json_array_append_new(items, item("ecg_ischemia", json_false(), onset + 30 * MIN));
    observe(f, pid, items);
    assert_string_equal(action_at(f, pid, onset - MIN), "give");
    for (int k = 0; k < 25; k++) {
        int64_t T = onset + (int64_t)(rng() % (21 * HOUR));
        if (strcmp(action_at(f, pid, T), "discontinue") != 0)
            fail_msg("decision at %s is not discontinue after ischemia at %s", wd_iso(T),
                     wd_iso(onset));
        wd_gc(f->s);
    }
}

/* GET ?at=T is the same before and after readings later than T arrive. */
static void test_property_at_ignores_later(void **state)
{
    wd_fixture *f = *state;
    int64_t t0 = wd_now_ms() - 12 * HOUR;
    long long pid = wd_admit(f, wd_new_bed(f), t0 - HOUR, NULL);
    int64_t T[5];
    json_t *before[5];

    observe(f, pid, vitals(t0, 95, 38.4));
    observe(f, pid, vitals(t0 + 2 * HOUR, 93, 39.2));
    for (int k = 0; k < 5; k++) {
        T[k] = t0 + (int64_t)(rng() % (3 * HOUR));
        before[k] = json_deep_copy(toxicity(f, pid, T[k]));
    }
    /* later: hold, fever grade 3, ischemia (discontinue), labs */
    observe(f, pid, vitals(t0 + 4 * HOUR, 85, 40.5));
    observe(f, pid,
            json_pack("[o,o,o]", item("ecg_ischemia", json_true(), t0 + 5 * HOUR),
                      item("creatinine", json_real(4.2), t0 + 5 * HOUR),
                      item("platelets", json_integer(20), t0 + 5 * HOUR)));
    for (int k = 0; k < 5; k++) {
        json_t *after = toxicity(f, pid, T[k]);
        if (!json_equal(before[k], after)) {
            char *a = json_dumps(before[k], JSON_COMPACT), *b = json_dumps(after, JSON_COMPACT);
            fprintf(stderr, "before: %s\nafter:  %s\n", a, b);
            free(a);
            free(b);
            fail_msg("toxicity at %s changed after later readings", wd_iso(T[k]));
        }
        json_decref(before[k]);
    }
    assert_string_equal(action_at(f, pid, t0 + 6 * HOUR), "discontinue");
}

int main(void)
{
    const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_rules_check_cli),
    };
    const struct CMUnitTest fixtures[] = {
        cmocka_unit_test_setup_teardown(test_rules_put, wd_fixture_setup, wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_rules_and_alerts, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_toxicity_errors, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_doses_override, wd_fixture_setup, wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_alert_lifecycle_sse, lifecycle_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_device_silent_and_discharge, lifecycle_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_alert_ack_errors, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_alert_latency, wd_fixture_setup, wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_many_patients_at_once, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_property_no_give_when_stale, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_property_discontinue_sticky, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_property_at_ignores_later, wd_fixture_setup,
                                        wd_fixture_teardown),
    };
    int rc = 0;

    curl_global_init(CURL_GLOBAL_ALL);
    rc |= cmocka_run_group_tests_name("rules check", plain, NULL, NULL);
    rc |= cmocka_run_group_tests_name("clinical API", fixtures, NULL, NULL);
    rc |= run_cases_group();
    return rc;
}
