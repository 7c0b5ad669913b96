/* it_hl7: HL7 v2 over MLLP against the real daemon (docs/hl7.md): framing
 * faults, refused messages, PCD-01 readings and their ACKs, the
 * duplicate control id, ADT errors, and the ward's ADT/ORU sequence
 * (tests/hl7/fixtures/ward) replayed in order through the listener. */
#include "harness.h"
#include "hl7.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FIX "tests/hl7/fixtures/"

static const char *const mllp_args[] = {"--mllp", "127.0.0.1:0", NULL};
/* The ward sequence is dated 2 to 8 March 2026. Its times (the fixtures'
 * HL7 timestamps, all with a UTC offset, and the test's own) are moved by
 * whole weeks to end a few days before today (ward_shift_ms), so that the
 * test means the same next year; its JSON device readings are then up to
 * three weeks old, beyond the default 24 h device horizon
 * (docs/security.md), which is opened to 30 days. */
static const char *const ward_args[] = {"--mllp", "127.0.0.1:0", "--device-reading-horizon",
                                        "43200", NULL};
static const char *const small_frame_args[] = {"--mllp", "127.0.0.1:0", "--mllp-max-frame", "2048",
                                               NULL};

/* --- the wire ----------------------------------------------------------------------- */

static unsigned mllp_port(wd_server *s)
{
    char path[512];
    unsigned port = 0;
    FILE *f;

    snprintf(path, sizeof path, "%s/port.mllp", wd_dir(s));
    f = fopen(path, "r");
    if (!f || fscanf(f, "%u", &port) != 1)
        fail_msg("no MLLP port file %s", path);
    fclose(f);
    return port;
}

static int mllp_connect(wd_server *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)mllp_port(s))};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        fail_msg("cannot connect to MLLP port: %s", strerror(errno));
    return fd;
}

static void send_raw(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            fail_msg("send failed: %s", strerror(errno));
        p += k;
        n -= (size_t)k;
    }
}

/* One frame in one write (a server that refuses the connection may close
 * it after the first bytes). */
static void send_frame(int fd, const char *msg, size_t n)
{
    char *buf = malloc(n + 3);

    if (!buf)
        fail_msg("no memory");
    buf[0] = 0x0b;
    memcpy(buf + 1, msg, n);
    buf[n + 1] = 0x1c;
    buf[n + 2] = '\r';
    send_raw(fd, buf, n + 3);
    free(buf);
}

/* Reads one framed ACK (its text, malloc'd) within 10 s; NULL when the
 * server closed the connection first. */
static char *read_ack(int fd)
{
    static char buf[65536];
    size_t n = 0;

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t k;
        if (poll(&p, 1, 10000) != 1)
            fail_msg("no ACK within 10 s");
        k = recv(fd, buf + n, sizeof buf - n - 1, 0);
        if (k <= 0)
            return NULL;
        n += (size_t)k;
        if (n >= 3 && buf[n - 2] == 0x1c && buf[n - 1] == '\r') {
            if (buf[0] != 0x0b)
                fail_msg("ACK frame does not start with 0x0B");
            buf[n - 2] = '\0';
            return strdup(buf + 1);
        }
    }
}

/* True when the server closed the connection (within 5 s) without
 * sending an HL7 ACK (a TLS alert may come first). */
static bool closed_by_server(int fd)
{
    char buf[4096];

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t k;
        if (poll(&p, 1, 5000) != 1)
            return false;
        k = recv(fd, buf, sizeof buf, 0);
        if (k == 0 || (k < 0 && errno == ECONNRESET))
            return true;
        if (k < 0 || memmem(buf, (size_t)k, "MSA|", 4))
            return false;
    }
}

typedef struct ack {
    char *text;
    hl7_msg *m;
    char code[4];
    char ctl[200];
    size_t nerr;
} ack;

static void ack_parse(ack *a, char *text)
{
    memset(a, 0, sizeof *a);
    a->text = text;
    if (!text)
        fail_msg("no ACK: the connection closed");
    a->m = hl7_parse(text, strlen(text), NULL);
    if (!a->m)
        fail_msg("the ACK does not parse: %s", text);
    assert_int_equal(hl7_get_first(a->m, "MSA", 1, 0, a->code, sizeof a->code) >= 0, 1);
    assert_int_equal(hl7_get_first(a->m, "MSA", 2, 0, a->ctl, sizeof a->ctl) >= 0, 1);
    for (size_t i = 0; i < hl7_seg_count(a->m); i++)
        a->nerr += strcmp(hl7_seg_id(a->m, i), "ERR") == 0;
}

static void ack_free(ack *a)
{
    hl7_free(a->m);
    free(a->text);
}

/* Whether some ERR has table 0357 code `code` and its text contains `text`. */
static bool has_err(const ack *a, int code, const char *text)
{
    for (size_t i = 0; i < hl7_seg_count(a->m); i++) {
        char c[16], t[256];
        if (strcmp(hl7_seg_id(a->m, i), "ERR") != 0)
            continue;
        if (hl7_get(a->m, i, 3, 0, 1, 0, c, sizeof c) < 0 ||
            hl7_get(a->m, i, 8, 0, 0, 0, t, sizeof t) < 0)
            continue;
        if (atoi(c) == code && (!text || strstr(t, text)))
            return true;
    }
    return false;
}

/* Sends one message on a new connection and reads its ACK. */
static void exchange(wd_server *s, const char *msg, ack *a)
{
    int fd = mllp_connect(s);

    send_frame(fd, msg, strlen(msg));
    ack_parse(a, read_ack(fd));
    close(fd);
}

static void expect_ack(const ack *a, const char *code, const char *ctl)
{
    if (strcmp(a->code, code) != 0 || (ctl && strcmp(a->ctl, ctl) != 0))
        fail_msg("expected MSA %s|%s, got:\n%s", code, ctl ? ctl : "*", a->text);
}

#define DAY_MS  86400000LL
#define WEEK_MS (7 * DAY_MS)

/* How far the ward sequence moves: whole weeks (weekdays and times of day
 * stay), so that its last day (8 March 2026) falls 2 to 9 days ago. */
static int64_t ward_shift_ms(void)
{
    static int64_t shift = -1;
    int64_t last_day = wd_parse_time("2026-03-08T00:00:00.000Z");

    if (last_day < 0)
        fail_msg("cannot parse the ward sequence's last day");
    if (shift < 0) {
        int64_t gap = wd_now_ms() - 2 * DAY_MS - last_day;
        shift = gap > 0 ? gap / WEEK_MS * WEEK_MS : 0;
    }
    return shift;
}

/* Moves an HL7 date (YYYYMMDD at p) by ward_shift_ms(), in place. */
static void shift_hl7_date(char *p)
{
    struct tm tm = {0};
    char out[32];
    time_t t;

    if (sscanf(p, "%4d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
        fail_msg("bad HL7 date %.8s", p);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    t = timegm(&tm) + (time_t)(ward_shift_ms() / 1000);
    gmtime_r(&t, &tm);
    snprintf(out, sizeof out, "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    memcpy(p, out, 8);
}

/* Every timestamp of the ward fixtures (8 or more digits starting with
 * 2026) moved by ward_shift_ms(). */
static void shift_ward_times(char *msg)
{
    for (char *p = msg; *p; p++) {
        size_t digits = strspn(p, "0123456789");

        if (digits >= 8 && strncmp(p, "2026", 4) == 0 &&
            (p == msg || !isdigit((unsigned char)p[-1])))
            shift_hl7_date(p);
        if (digits)
            p += digits - 1;
    }
}

static char *fixture(const char *name)
{
    char path[256];
    FILE *f;
    long n;
    char *buf;

    snprintf(path, sizeof path, FIX "%s", name);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        fail_msg("cannot read %s", path);
    fclose(f);
    if (strncmp(name, "ward/", 5) == 0)
        shift_ward_times(buf);
    return buf;
}

/* --- the ward ---------------------------------------------------------------------- */

typedef struct ward {
    wd_fixture *f;
    const char *b4_token; /* a device on B4 (JSON readings) */
} ward;

static void api_ok(wd_fixture *f, const char *method, const char *path, json_t *body, long st)
{
    WD_EXPECT(wd_reqj(f->s, method, path, f->admin, body), st);
}

/* Beds B1-B4 at IL2U^101^1 .. IL2U^104^1, monitor MON-101 on B1, the
 * gateway and the ADT system registered as feeds from 127.0.0.1. */
static ward ward_new(const char *const *args)
{
    ward w;
    char loc[32], path[64];

    wd_serve_args(args);
    w.f = wd_fixture_new();
    api_ok(w.f, "POST", "/api/v1/beds",
           json_pack("{s:s, s:s}", "id", "B4", "location", "IL2U^104^1"), 201);
    for (int i = 1; i <= 3; i++) {
        snprintf(loc, sizeof loc, "IL2U^10%d^1", i);
        snprintf(path, sizeof path, "/api/v1/beds/B%d", i);
        api_ok(w.f, "PATCH", path, json_pack("{s:s}", "location", loc), 200);
    }
    wd_resp *r = wd_reqj(w.f->s, "POST", "/api/v1/devices", w.f->admin,
                         json_pack("{s:s, s:s}", "serial", "MON-101", "bed", "B1"));
    WD_EXPECT(r, 201);
    api_ok(w.f, "PATCH", wd_path(w.f->s, "/api/v1/devices/%lld", WD_INT(r->json, "id")),
           json_pack("{s:s}", "eui64", "0019C0FFFE001011"), 200);
    w.b4_token = wd_new_device(w.f, "B4", NULL);
    /* an EUI-64 on POST; the same EUI-64 or location again is a conflict */
    api_ok(
        w.f, "POST", "/api/v1/devices",
        json_pack("{s:s, s:s, s:s}", "serial", "MON-104", "bed", "B4", "eui64", "0019C0FFFE001014"),
        201);
    api_ok(w.f, "POST", "/api/v1/devices",
           json_pack("{s:s, s:s}", "serial", "MON-X", "eui64", "0019C0FFFE001014"), 409);
    api_ok(w.f, "PATCH", "/api/v1/beds/B3", json_pack("{s:s}", "location", "IL2U^104^1"), 409);
    api_ok(w.f, "POST", "/api/v1/beds", json_pack("{s:s, s:s}", "id", "B5", "location", "a|b"),
           422);
    api_ok(w.f, "POST", "/api/v1/feeds",
           json_pack("{s:s, s:s, s:s, s:s, s:[s]}", "name", "GW", "kind", "device_gateway",
                     "sending_application", "GW-IL2U", "sending_facility", "NLH", "addresses",
                     "127.0.0.1"),
           201);
    api_ok(w.f, "POST", "/api/v1/feeds",
           json_pack("{s:s, s:s, s:s, s:s, s:[s]}", "name", "ADT", "kind", "adt",
                     "sending_application", "EPICADT", "sending_facility", "NLH", "addresses",
                     "127.0.0.1"),
           201);
    wd_serve_args(NULL);
    return w;
}

/* The patient record with this MRN that is admitted, else the latest; NULL when none. */
static json_t *patient(wd_fixture *f, const char *mrn)
{
    wd_resp *r = wd_req(f->s, "GET", "/api/v1/patients?status=all", f->viewer, NULL);
    json_t *list, *p, *best = NULL;
    size_t i;

    WD_EXPECT(r, 200);
    list = WD_LIST(r, "patients");
    json_array_foreach(list, i, p)
    {
        if (strcmp(WD_STR(p, "mrn"), mrn) != 0)
            continue;
        if (!best || strcmp(WD_STR(p, "status"), "admitted") == 0)
            best = p;
    }
    return best;
}

static long long admitted_id(wd_fixture *f, const char *mrn, const char *bed)
{
    json_t *p = patient(f, mrn);

    if (!p || strcmp(WD_STR(p, "status"), "admitted") != 0)
        fail_msg("MRN %s is not admitted", mrn);
    if (bed && strcmp(WD_STR(p, "bed"), bed) != 0)
        fail_msg("MRN %s is in %s, not %s", mrn, WD_STR(p, "bed"), bed);
    return WD_INT(p, "id");
}

/* Every reading of a patient (of `code` when not NULL) since 2000: the
 * ward sequence is weeks old (wd_all_readings looks 30 days back). */
static json_t *all_readings(wd_fixture *f, long long pid, const char *code)
{
    wd_resp *r =
        wd_req(f->s, "GET",
               wd_path(f->s,
                       "/api/v1/patients/%lld/readings?limit=1000&from=2000-01-01T00:00:00Z"
                       "&to=%s%s%s",
                       pid, wd_iso(wd_now_ms() + 86400000), code ? "&code=" : "", code ? code : ""),
               f->viewer, NULL);

    WD_EXPECT(r, 200);
    return WD_ARR(r->json, "readings");
}

/* How many readings of `code` with `value` the patient has (at `t` when > 0). */
static int readings_of(wd_fixture *f, long long pid, const char *code, double value, int64_t t)
{
    json_t *all = all_readings(f, pid, code), *r;
    size_t i;
    int n = 0;

    json_array_foreach(all, i, r)
    {
        if (WD_NUM(r, "value") == value && (t <= 0 || WD_TIME(r, "time") == t))
            n++;
    }
    return n;
}

/* A time of the ward sequence (as dated in its README), moved as its
 * fixtures are (ward_shift_ms). */
static int64_t iso(const char *s)
{
    int64_t t = wd_parse_time(s);
    if (t < 0)
        fail_msg("bad time %s", s);
    return t + ward_shift_ms();
}

/* Sends a ward fixture and checks the ACK code. */
static void step(ward *w, const char *file, const char *code, ack *a)
{
    char *msg = fixture(file);

    exchange(w->f->s, msg, a);
    free(msg);
    if (strcmp(a->code, code) != 0)
        fail_msg("%s: expected %s, got:\n%s", file, code, a->text);
}

/* A JSON reading posted by B4's device (or another token). */
static void post_reading(wd_fixture *f, const char *token, const char *code, double v, int64_t t)
{
    wd_resp *r = wd_post_readings(
        f->s, token, json_pack("[o]", wd_item(wd_uniq(f->s, "j-"), code, json_real(v), NULL, t)));
    WD_EXPECT(r, 201);
}

/* The ordered table of tests/hl7/fixtures/ward (README there), one row at
 * a time, each with its expected outcome. */
static void test_ward_sequence(void **state)
{
    ward w = ward_new(ward_args);
    wd_fixture *f = w.f;
    ack a, again;
    long long p123, p456;
    (void)state;

    /* 1-2 admissions at EVN-6 */
    step(&w, "ward/adt-a01-admit.hl7", "AA", &a);
    ack_free(&a);
    p123 = admitted_id(f, "400123", "B1");
    assert_int_equal(WD_TIME(patient(f, "400123"), "admitted_at"), iso("2026-03-02T12:25:00.000Z"));
    step(&w, "ward/adt-a01-second-patient.hl7", "AA", &a);
    ack_free(&a);
    admitted_id(f, "400456", "B2");
    /* 3 another unit: accepted, ignored */
    step(&w, "ward/adt-a01-other-unit.hl7", "AA", &a);
    ack_free(&a);
    assert_null(patient(f, "400789"));
    /* 4 an unknown bed of this ward */
    step(&w, "ward/adt-a01-unknown-bed.hl7", "AE", &a);
    assert_true(has_err(&a, 204, "IL2U^199^1"));
    ack_free(&a);
    assert_null(patient(f, "400999"));
    /* 5 demographics */
    step(&w, "ward/adt-a08-update.hl7", "AA", &a);
    ack_free(&a);
    assert_string_equal(WD_STR(patient(f, "400123"), "name"), "Tomas Chidi Okafor");
    /* 6 vitals, each at its OBX-14 time; the same control id again: the same ACK */
    step(&w, "ward/oru-r01-bedside-vitals.hl7", "AA", &a);
    step(&w, "ward/oru-r01-bedside-vitals.hl7", "AA", &again);
    assert_string_equal(a.text, again.text);
    ack_free(&a);
    ack_free(&again);
    assert_int_equal(readings_of(f, p123, "hr", 118, iso("2026-03-02T15:01:00.000Z")), 1);
    assert_int_equal(readings_of(f, p123, "sbp", 96, iso("2026-03-02T15:00:00.000Z")), 1);
    assert_int_equal(readings_of(f, p123, "temp", 38.4, 0), 1);
    assert_int_equal(json_array_size(all_readings(f, p123, NULL)), 7);
    /* OBX-18 MON-101 (by serial; EUI-64 0019C0FFFE001011) is the registered monitor */
    assert_string_equal(WD_STR(json_array_get(all_readings(f, p123, "hr"), 0), "device"),
                        "MON-101");
    /* 7 identity mismatch: held, alerted, AE */
    step(&w, "ward/oru-r01-identity-mismatch.hl7", "AE", &a);
    assert_true(has_err(&a, 207, "identity mismatch"));
    ack_free(&a);
    assert_int_equal(readings_of(f, p123, "hr", 77, 0), 0);
    p456 = admitted_id(f, "400456", "B2");
    assert_int_equal(readings_of(f, p456, "hr", 77, 0), 0);
    wd_resp *r = wd_req(f->s, "GET", "/api/v1/technical-alerts", f->viewer, NULL);
    WD_EXPECT(r, 200);
    json_t *mm = wd_find(WD_ARR(r->json, "alerts"), "kind", "identity_mismatch");
    assert_non_null(mm);
    assert_string_equal(WD_STR(mm, "bed"), "B1");
    assert_string_equal(WD_STR(mm, "control_id"), "GW1-000002");
    WD_EXPECT(wd_reqj(f->s, "POST",
                      wd_path(f->s, "/api/v1/technical-alerts/%lld/resolve", WD_INT(mm, "id")),
                      f->nurse, json_pack("{s:s}", "note", "wristband checked")),
              200);
    WD_EXPECT_ERR(wd_reqj(f->s, "POST",
                          wd_path(f->s, "/api/v1/technical-alerts/%lld/resolve", WD_INT(mm, "id")),
                          f->nurse, json_object()),
                  409, "conflict");
    /* 8 the admission of 400456 never happened */
    step(&w, "ward/adt-a11-cancel-admit.hl7", "AA", &a);
    ack_free(&a);
    assert_string_equal(WD_STR(patient(f, "400456"), "status"), "discharged");
    /* 9-10 a transfer and its cancellation */
    step(&w, "ward/adt-a02-transfer.hl7", "AA", &a);
    ack_free(&a);
    admitted_id(f, "400123", "B3");
    step(&w, "ward/adt-a12-cancel-transfer.hl7", "AA", &a);
    ack_free(&a);
    assert_int_equal(admitted_id(f, "400123", "B1"), p123);
    /* 11 readmission (a new control id) */
    step(&w, "ward/adt-a01-readmit.hl7", "AA", &a);
    ack_free(&a);
    p456 = admitted_id(f, "400456", "B2");
    /* 12 a late transfer: B4's readings between 15:20 and 16:00 -0500 follow */
    post_reading(f, w.b4_token, "hr", 101, iso("2026-03-03T20:30:00.000Z"));
    post_reading(f, w.b4_token, "hr", 102, iso("2026-03-03T20:50:00.000Z"));
    post_reading(f, w.b4_token, "hr", 99, iso("2026-03-03T20:10:00.000Z")); /* before: not hers */
    step(&w, "ward/adt-a02-transfer-late.hl7", "AA", &a);
    ack_free(&a);
    admitted_id(f, "400456", "B4");
    assert_int_equal(readings_of(f, p456, "hr", 101, 0), 1);
    assert_int_equal(readings_of(f, p456, "hr", 102, 0), 1);
    assert_int_equal(readings_of(f, p456, "hr", 99, 0), 0);
    /* 13 discharge; a later reading from B1 is nobody's */
    step(&w, "ward/adt-a03-discharge.hl7", "AA", &a);
    ack_free(&a);
    assert_string_equal(WD_STR(patient(f, "400123"), "status"), "discharged");
    post_reading(f, f->device, "hr", 88, iso("2026-03-07T16:05:00.000Z"));
    assert_int_equal(readings_of(f, p123, "hr", 88, 0), 0);
    /* 14 the discharge never happened: the stay goes on, the reading is his */
    step(&w, "ward/adt-a13-cancel-discharge.hl7", "AA", &a);
    ack_free(&a);
    assert_int_equal(admitted_id(f, "400123", "B1"), p123);
    assert_int_equal(readings_of(f, p123, "hr", 88, 0), 1);
    /* 15 after the change to daylight saving time: -0400 */
    step(&w, "ward/oru-r01-after-dst.hl7", "AA", &a);
    ack_free(&a);
    assert_int_equal(readings_of(f, p123, "temp", 40.6, iso("2026-03-08T07:10:00.000Z")), 1);
    assert_int_equal(readings_of(f, p123, "hr", 134, iso("2026-03-08T07:10:00.000Z")), 1);
    /* every change audited as done by the feed */
    r = wd_req(f->s, "GET", "/api/v1/audit", f->admin, NULL);
    WD_EXPECT(r, 200);
    assert_non_null(wd_find(WD_LIST(r, "entries"), "action", "patient.cancel_discharge"));
    assert_string_equal(
        WD_STR(wd_find(WD_LIST(r, "entries"), "action", "patient.cancel_transfer"), "user"),
        "feed:ADT");
    wd_fixture_free(f);
}

/* --- bad input ------------------------------------------------------------------------ */

/* An ORU^R01 from the registered gateway with the given OBX rows. */
static char *oru(const char *ctl, const char *version, const char *obx)
{
    char *m = NULL;
    char now[32];

    hl7_dtm_format(wd_now_ms() - 60000, now, sizeof now);
    if (asprintf(&m,
                 "MSH|^~\\&|GW-IL2U^0019C0FFFE000101^EUI-64|NLH|WARDD|IL2U|%s||ORU^R01^ORU_R01|%s|"
                 "P|%s|||NE|AL||UNICODE UTF-8\rPID|||400123^^^NLH^MR\rPV1||I|IL2U^101^1\r"
                 "OBR|1|X|X|182777000^monitoring of patient^SNOMED-CT|||%s\r%s",
                 now, ctl, version, now, obx) < 0)
        fail_msg("no memory");
    return m;
}

static const char *obx(int seq, const char *code, const char *value, const char *unit)
{
    static char buf[8][256];

    snprintf(buf[seq % 8], sizeof buf[0], "OBX|%d|NM|%s||%s|%s|||||F\r", seq, code, value, unit);
    return buf[seq % 8];
}

static long long admit_400123(ward *w)
{
    ack a;

    step(w, "ward/adt-a01-admit.hl7", "AA", &a);
    ack_free(&a);
    return admitted_id(w->f, "400123", "B1");
}

static void test_content_errors(void **state)
{
    ward w = ward_new(mllp_args);
    wd_fixture *f = w.f;
    long long pid = admit_400123(&w);
    char future[32], body[8192], *m;
    ack a;
    (void)state;

    hl7_dtm_format(wd_now_ms() + 10LL * 365 * 86400000, future, sizeof future);
    snprintf(body, sizeof body,
             "%s%s%s%s%s%sOBX|7|NM|150364^MDC_TEMP_BODY^MDC||37.5|268192^"
             "MDC_DIM_DEGC^MDC|||||R|||%s\r",
             obx(1, "147842^MDC_ECG_HEART_RATE^MDC", "1O1", "264864^MDC_DIM_BEAT_PER_MIN^MDC"),
             obx(2, "150456^MDC_PULS_OXIM_SAT_O2^MDC", "93", "262688^MDC_DIM_PERCENT^MDC"),
             obx(3, "147842^MDC_ECG_HEART_RATE^MDC", "90", "266016^MDC_DIM_MMHG^MDC"),
             obx(4, "999999^MDC_BOGUS^MDC", "5", "262688^MDC_DIM_PERCENT^MDC"),
             obx(5, "151562^MDC_RESP_RATE^MDC", "19", ""),
             obx(6, "150364^MDC_TEMP_BODY^MDC", "101.3", "266560^MDC_DIM_FAHR^MDC"), future);
    m = oru("C-1", "2.6", body);
    exchange(f->s, m, &a);
    free(m);
    expect_ack(&a, "AE", "C-1");
    assert_true(has_err(&a, 102, "not a number"));  /* non-numeric NM */
    assert_true(has_err(&a, 103, "invalid_unit"));  /* mm[Hg] for a heart rate */
    assert_true(has_err(&a, 103, "no wardd code")); /* unknown code */
    assert_true(has_err(&a, 102, "future_time"));   /* 10 years ahead */
    assert_int_equal(a.nerr, 4);
    ack_free(&a);
    /* the rest is stored: spo2, rr in its canonical unit, 101.3 degF as 38.5 Cel */
    assert_int_equal(readings_of(f, pid, "spo2", 93, 0), 1);
    assert_int_equal(readings_of(f, pid, "rr", 19, 0), 1);
    assert_int_equal(readings_of(f, pid, "temp", 38.5, 0), 1);
    assert_int_equal(json_array_size(all_readings(f, pid, NULL)), 3);
    wd_fixture_free(f);
}

static void test_refused_messages(void **state)
{
    ward w = ward_new(mllp_args);
    wd_fixture *f = w.f;
    char *m;
    ack a;
    wd_resp *r;
    (void)state;

    /* wrong version */
    m = oru("V-1", "2.9", obx(1, "147842^MDC_ECG_HEART_RATE^MDC", "80", ""));
    exchange(f->s, m, &a);
    free(m);
    expect_ack(&a, "AR", "V-1");
    assert_true(has_err(&a, 203, "2.9"));
    ack_free(&a);
    /* missing MSH-10 */
    m = oru("", "2.6", obx(1, "147842^MDC_ECG_HEART_RATE^MDC", "80", ""));
    exchange(f->s, m, &a);
    free(m);
    expect_ack(&a, "AR", "");
    assert_true(has_err(&a, 101, "MSH-10"));
    ack_free(&a);
    /* unknown message type */
    exchange(f->s,
             "MSH|^~\\&|GW-IL2U|NLH|WARDD|IL2U|20260302100105-0500||QRY^A19^QRY_A19|Q-1|P|2.5\r"
             "QRD|20260302|R|I|Q1\r",
             &a);
    expect_ack(&a, "AR", "Q-1");
    assert_true(has_err(&a, 200, "QRY^A19"));
    ack_free(&a);
    /* an unregistered sender: AR, audited, nothing stored */
    exchange(f->s,
             "MSH|^~\\&|ROGUE|NLH|WARDD|IL2U|20260302100105-0500||ADT^A01^ADT_A01|R-1|P|2.5.1\r"
             "EVN|A01|20260302073000-0500\rPID|1||400555^^^NLH^MR||X^Y\rPV1|1|I|IL2U^103^1\r",
             &a);
    expect_ack(&a, "AR", "R-1");
    assert_true(has_err(&a, 204, "not a registered feed"));
    ack_free(&a);
    assert_null(patient(f, "400555"));
    wd_sleep_ms(200); /* the refusal's audit row is written after the answer */
    r = wd_req(f->s, "GET", "/api/v1/audit", f->admin, NULL);
    WD_EXPECT(r, 200);
    assert_non_null(wd_find(WD_LIST(r, "entries"), "action", "hl7.refused"));
    /* not HL7 at all */
    exchange(f->s, "hello", &a);
    expect_ack(&a, "AR", "");
    ack_free(&a);
    /* /metrics counts by type, ACK code and feed */
    r = wd_req(f->s, "GET", "/metrics", NULL, NULL);
    WD_EXPECT(r, 200);
    assert_non_null(
        strstr(r->body, "wardd_hl7_messages_total{type=\"ORU^R01\",ack=\"AR\",feed=\"GW\"} 2"));
    assert_non_null(strstr(r->body, "feed=\"(unregistered)\""));
    /* the feed lists its counts and last error */
    r = wd_req(f->s, "GET", "/api/v1/feeds", f->admin, NULL);
    WD_EXPECT(r, 200);
    json_t *gw = wd_find(WD_ARR(r->json, "feeds"), "name", "GW");
    assert_int_equal(WD_INT(gw, "counts.AR"), 2);
    assert_non_null(strstr(WD_STR(gw, "last_error"), "QRY^A19"));
    wd_fixture_free(f);
}

static void test_adt_errors(void **state)
{
    ward w = ward_new(mllp_args);
    wd_fixture *f = w.f;
    ack a;
    (void)state;

    /* an A02 for a patient not admitted here */
    step(&w, "ward/adt-a02-transfer.hl7", "AE", &a);
    assert_true(has_err(&a, 207, "not admitted"));
    ack_free(&a);
    assert_null(patient(f, "400123"));
    /* an ADT for an unknown bed */
    step(&w, "ward/adt-a01-unknown-bed.hl7", "AE", &a);
    ack_free(&a);
    admit_400123(&w);
    /* an A13 for a patient never discharged */
    step(&w, "ward/adt-a13-cancel-discharge.hl7", "AE", &a);
    assert_true(has_err(&a, 207, "nothing to undo"));
    ack_free(&a);
    admitted_id(f, "400123", "B1");
    /* an A12 with no transfer to cancel changes nothing */
    step(&w, "ward/adt-a12-cancel-transfer.hl7", "AE", &a);
    ack_free(&a);
    admitted_id(f, "400123", "B1");
    /* other events: AA, ignored */
    exchange(f->s,
             "MSH|^~\\&|EPICADT|NLH|WARDD|IL2U|20260302100105-0500||ADT^A31^ADT_A05|O-1|P|2.5.1\r"
             "EVN|A31|20260302100105-0500\rPID|1||400123^^^NLH^MR\r",
             &a);
    expect_ack(&a, "AA", "O-1");
    ack_free(&a);
    wd_fixture_free(f);
}

/* --- framing ----------------------------------------------------------------------- */

static void test_framing(void **state)
{
    ward w = ward_new(small_frame_args);
    wd_fixture *f = w.f;
    char *m1 = oru("F-1", "2.6", obx(1, "147842^MDC_ECG_HEART_RATE^MDC", "81", ""));
    char *m2 = oru("F-2", "2.6", obx(1, "147842^MDC_ECG_HEART_RATE^MDC", "82", ""));
    char *both = NULL, big[4096];
    long long pid = admit_400123(&w);
    ack a, b;
    int fd;
    (void)state;

    /* garbage before 0x0B, then two frames in one write */
    if (asprintf(&both, "GARBAGE\r\n\x0b%s\x1c\r\x0b%s\x1c\r", m1, m2) < 0)
        fail_msg("no memory");
    fd = mllp_connect(f->s);
    send_raw(fd, both, strlen(both));
    ack_parse(&a, read_ack(fd));
    ack_parse(&b, read_ack(fd));
    expect_ack(&a, "AA", "F-1");
    expect_ack(&b, "AA", "F-2");
    ack_free(&a);
    ack_free(&b);
    /* one frame across many writes, one byte at a time, same connection */
    char *m3 = oru("F-3", "2.6", obx(1, "147842^MDC_ECG_HEART_RATE^MDC", "83", ""));
    send_raw(fd, "\x0b", 1);
    for (size_t i = 0; m3[i]; i++) {
        send_raw(fd, m3 + i, 1);
        if (i % 50 == 0)
            wd_sleep_ms(1);
    }
    send_raw(fd, "\x1c\r", 2);
    ack_parse(&a, read_ack(fd));
    expect_ack(&a, "AA", "F-3");
    ack_free(&a);
    /* a frame without its end, then the client goes away: nothing stored */
    char *m4 = oru("F-4", "2.6", obx(1, "147842^MDC_ECG_HEART_RATE^MDC", "84", ""));
    send_raw(fd, "\x0b", 1);
    send_raw(fd, m4, strlen(m4));
    close(fd);
    /* over the frame limit (2048): AR, then closed */
    memset(big, 'A', sizeof big);
    memcpy(big, m1, strlen(m1));
    fd = mllp_connect(f->s);
    send_frame(fd, big, sizeof big);
    ack_parse(&a, read_ack(fd));
    expect_ack(&a, "AR", NULL);
    assert_true(has_err(&a, 207, "larger than 2048"));
    ack_free(&a);
    assert_true(closed_by_server(fd));
    close(fd);
    /* the server is unharmed */
    char *m5 = oru("F-5", "2.6", obx(1, "147842^MDC_ECG_HEART_RATE^MDC", "85", ""));
    exchange(f->s, m5, &a);
    expect_ack(&a, "AA", "F-5");
    ack_free(&a);
    for (int v = 81; v <= 85; v++)
        assert_int_equal(readings_of(f, pid, "hr", v, 0), v == 84 ? 0 : 1);
    free(m1);
    free(m2);
    free(m3);
    free(m4);
    free(m5);
    free(both);
    wd_fixture_free(f);
}

/* The PCD-01 conformance fixtures (tests/hl7/fixtures/README.md), each on
 * a fresh ward so that their shared control id MSGID1234 is new each time. */
static void test_pcd01_fixtures(void **state)
{
    static const struct {
        const char *file, *feed_app, *feed_fac, *code;
        int stored;
    } cases[] = {
        {"pcd01/pcd01-nibp-bp-monitor.hl7", "AcmeInc", "", "AA", 3},
        {"pcd01/pcd01-icu-gateway-ecg-hr-artbp.hl7", "HL7", "MMS", "AA", 4},
        {"pcd01-crlf/pcd01-icu-gateway-ecg-hr-artbp.hl7", "HL7", "MMS", "AA", 4},
        {"pcd01/pcd01-maximal-nte-repeats.hl7", "AcmeInc", "SendFac", "AE", 2},
        {"pcd01/continua-wan-pulse-oximeter-spo2.hl7", "AcmeInc", "", "AA", 1},
        {"pcd01/continua-wan-thermometer-degF.hl7", "AcmeInc", "", "AA", 1},
        {"pcd01/continua-wan-scale-weight.hl7", "AcmeInc", "", "AA", 1},
        {"pcd01/pcd01-ack-response.hl7", "Stepstone", "", "AR", 0},
    };
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wd_fixture *f;
        char *msg = fixture(cases[i].file), cmd[128];
        ack a;
        wd_serve_args(mllp_args);
        f = wd_fixture_new();
        wd_serve_args(NULL);
        api_ok(f, "POST", "/api/v1/feeds",
               json_pack("{s:s, s:s, s:s, s:s, s:[s]}", "name", "PCD", "kind", "device_gateway",
                         "sending_application", cases[i].feed_app, "sending_facility",
                         cases[i].feed_fac, "addresses", "127.0.0.1"),
               201);
        exchange(f->s, msg, &a);
        if (strcmp(a.code, cases[i].code) != 0)
            fail_msg("%s: expected %s, got\n%s", cases[i].file, cases[i].code, a.text);
        ack_free(&a);
        free(msg);
        snprintf(cmd, sizeof cmd, "sqlite3 %s 'SELECT count(*) FROM observations' ", wd_db(f->s));
        FILE *p = popen(cmd, "r");
        int n = -1;
        if (!p || fscanf(p, "%d", &n) != 1)
            fail_msg("cannot count observations");
        pclose(p);
        if (n != cases[i].stored)
            fail_msg("%s: %d readings stored, expected %d", cases[i].file, n, cases[i].stored);
        wd_fixture_free(f);
    }
}

/* SIGTERM: idle connections are closed at once, the server exits 0. */
static void test_shutdown(void **state)
{
    ward w = ward_new(mllp_args);
    int idle = mllp_connect(w.f->s), busy = mllp_connect(w.f->s);
    char *m = oru("S-1", "2.6", obx(1, "147842^MDC_ECG_HEART_RATE^MDC", "80", ""));
    ack a;
    (void)state;

    send_frame(busy, m, strlen(m));
    free(m);
    ack_parse(&a, read_ack(busy));
    expect_ack(&a, "AA", "S-1");
    ack_free(&a);
    wd_signal(w.f->s, SIGTERM);
    assert_true(closed_by_server(idle));
    assert_true(closed_by_server(busy));
    assert_int_equal(wd_wait_exit(w.f->s, 10000), 0);
    close(idle);
    close(busy);
    wd_fixture_free(w.f);
}

/* --- MLLP over TLS --------------------------------------------------------------------- */

/* A TLS client session on a new connection (the server's self-signed
 * certificate is not verified: the test checks the transport). */
static gnutls_session_t tls_connect(wd_server *s, gnutls_certificate_credentials_t cred, int *fd)
{
    gnutls_session_t t;
    int rc;

    *fd = mllp_connect(s);
    assert_int_equal(gnutls_init(&t, GNUTLS_CLIENT), GNUTLS_E_SUCCESS);
    assert_int_equal(gnutls_set_default_priority(t), GNUTLS_E_SUCCESS);
    assert_int_equal(gnutls_credentials_set(t, GNUTLS_CRD_CERTIFICATE, cred), GNUTLS_E_SUCCESS);
    gnutls_transport_set_int(t, *fd);
    gnutls_handshake_set_timeout(t, 10000);
    do
        rc = gnutls_handshake(t);
    while (rc < 0 && !gnutls_error_is_fatal(rc));
    if (rc < 0)
        fail_msg("TLS handshake failed: %s", gnutls_strerror(rc));
    return t;
}

static char *tls_exchange(gnutls_session_t t, const char *msg)
{
    static char buf[65536];
    size_t n = 0, len = strlen(msg);
    char *framed = malloc(len + 3);

    framed[0] = 0x0b;
    memcpy(framed + 1, msg, len);
    framed[len + 1] = 0x1c;
    framed[len + 2] = '\r';
    assert_int_equal(gnutls_record_send(t, framed, len + 3), (ssize_t)(len + 3));
    free(framed);
    while (n < 3 || buf[n - 2] != 0x1c || buf[n - 1] != '\r') {
        ssize_t k = gnutls_record_recv(t, buf + n, sizeof buf - n - 1);
        if (k <= 0)
            return NULL;
        n += (size_t)k;
    }
    buf[n - 2] = '\0';
    return strdup(buf + 1);
}

static void test_tls(void **state)
{
    static const char *const fp =
        "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:"
        "45:67:89";
    gnutls_certificate_credentials_t cred;
    gnutls_session_t t;
    wd_server *s;
    char *m;
    ack a;
    int fd;
    (void)state;

    wd_serve_args(mllp_args);
    s = wd_start_tls(NULL);
    wd_serve_args(NULL);
    assert_int_equal(wd_cli(s, NULL, NULL, "feed", "add", "--db", wd_db(s), "--name", "GW",
                            "--kind", "device_gateway", "--sending-application", "GW-IL2U",
                            "--sending-facility", "NLH", "--address", "127.0.0.1", (char *)NULL),
                     0);
    assert_int_equal(wd_cli(s, NULL, NULL, "feed", "add", "--db", wd_db(s), "--name", "ADT",
                            "--kind", "adt", "--sending-application", "EPICADT",
                            "--sending-facility", "NLH", "--address", "127.0.0.1",
                            "--tls-fingerprint", fp, (char *)NULL),
                     0);
    /* plain MLLP to a TLS listener: no ACK, closed */
    fd = mllp_connect(s);
    m = oru("T-0", "2.6", obx(1, "147842^MDC_ECG_HEART_RATE^MDC", "80", ""));
    send_frame(fd, m, strlen(m));
    free(m);
    assert_true(closed_by_server(fd));
    close(fd);
    /* over TLS: AA */
    assert_int_equal(gnutls_certificate_allocate_credentials(&cred), GNUTLS_E_SUCCESS);
    t = tls_connect(s, cred, &fd);
    m = oru("T-1", "2.6", obx(1, "147842^MDC_ECG_HEART_RATE^MDC", "80", ""));
    ack_parse(&a, tls_exchange(t, m));
    free(m);
    expect_ack(&a, "AA", "T-1");
    ack_free(&a);
    /* a feed pinned to a client certificate this client does not present: AR */
    char *adt = fixture("ward/adt-a01-admit.hl7");
    ack_parse(&a, tls_exchange(t, adt));
    free(adt);
    expect_ack(&a, "AR", "NLH-ADT-0001");
    assert_true(has_err(&a, 204, "TLS client certificate"));
    ack_free(&a);
    gnutls_bye(t, GNUTLS_SHUT_RDWR);
    gnutls_deinit(t);
    close(fd);
    gnutls_certificate_free_credentials(cred);
    wd_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ward_sequence),
        cmocka_unit_test(test_content_errors),
        cmocka_unit_test(test_refused_messages),
        cmocka_unit_test(test_adt_errors),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_pcd01_fixtures),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_shutdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
