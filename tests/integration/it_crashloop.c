/* it_crashloop: kill -9 in a loop at random points of a commit under load
 * (issue 15). docs/api.md "Readings": a 201 means every accepted reading
 * is durably committed and survives kill -9; docs/hl7.md section 6: an AA
 * is sent only after the message's readings are committed.
 *
 * One wardd on one database, with four device posters (two on one
 * keep-alive connection each, two on a new connection per request;
 * single readings and batches) and one HL7 v2 gateway on MLLP, each
 * filing to its own admitted patient. Every round: start the senders,
 * SIGKILL the server after a random delay (20-400 ms), join the senders,
 * start wardd again on the same database and check through the API that
 *   - every reading ever acknowledged (201, AA) is there exactly once;
 *   - a request cut off by the kill (no answer: outcome unknown) is there
 *     whole or not at all, never half (one transaction per group commit);
 *   - nothing is there that was not sent;
 *   - a resent acknowledged batch or message is a duplicate (201 with
 *     duplicates = n, the first ACK byte for byte), not stored again;
 * then resend every request of unknown outcome, as a device would, so
 * that it is acknowledged too and checked in every later round.
 *
 * Readings are identified by their time: sender k's reading number q is
 * at base_k + q * step_k (its JSON message id is "c<k>-<q>", its HL7
 * control id "CL-<first q of the message>"). The delays come from a seed
 * printed at the start: WD_CRASH_SEED=<seed> replays them
 * (WD_CRASH_ROUNDS=<n> changes the number of rounds, default 20; rounds
 * stop starting after CRASH_BUDGET_MS of wall time, at least MIN_ROUNDS). */
#include "harness.h"
#include "hl7.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HOUR_MS        3600000LL
#define POSTERS        4
#define STREAMS        (POSTERS + 1) /* the last one is the HL7 gateway */
#define DEFAULT_ROUNDS 20
#define MIN_ROUNDS     8
/* No new round after this much wall time. The sanitizer builds (run after
 * the plain one in make test) look for memory errors and races, not for
 * more kill points: half the time keeps the suite short. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CRASH_BUDGET_MS 10000
#else
#define CRASH_BUDGET_MS 20000
#endif
#define KILL_MIN_MS  20
#define KILL_MAX_MS  400
#define SAMPLE       4     /* acknowledged requests resent per sender and round */
#define ACK_WAIT_MS  30000 /* an MLLP ACK (a TSan build on a busy machine is slow) */
#define HL7_LOCATION "CRASH^101^1"
#define HL7_MRN      "CRASH-400123"
#define HL7_APP      "GW-CRASH"

/* A request's outcome: 201 / AA, 503 / AR storage unavailable (nothing
 * stored), 0 no answer (unknown), anything else is wrong (the test fails). */
enum { OUT_ACKED = 201, OUT_REFUSED = 503, OUT_UNKNOWN = 0, OUT_WRONG = 1 };

typedef struct entry {
    int64_t first; /* the first reading number */
    int n;         /* readings */
    long outcome;
    long accepted; /* 201: the "accepted" count (n expected: every id is new) */
    char *ack;     /* HL7 AA: the ACK, to compare with the ACK of a resend */
    int stored;    /* how many of its readings the last check found */
} entry;

typedef struct stream {
    pthread_t thread;
    int k;
    bool hl7;
    bool fresh; /* a new connection per request */
    const wd_server *s;
    unsigned port;     /* HL7: this round's MLLP port */
    const char *token; /* device posters */
    long long pid;     /* the patient the readings are filed to */
    int64_t base, step;
    uint64_t rng;
    int64_t next; /* the next reading number */
    entry *e;
    size_t ne, cap;
    atomic_int inflight; /* a request is on the wire */
    atomic_bool *stop;
} stream;

typedef struct tally {
    int rounds;
    int inflight_rounds; /* rounds with a request on the wire at the kill */
    long on_wire;        /* requests on the wire at the kills, summed */
    long unknown;        /* requests without an answer (cut off, or sent after the kill) */
    long unknown_stored; /* ... of which the server had committed */
    long resent;         /* acknowledged requests resent, answered as duplicates */
    long checks;         /* acknowledged readings found, summed over rounds */
    long acked;          /* distinct acknowledged readings at the end */
    long hl7_msgs;       /* ... of which HL7 messages AA'd (2 readings each) */
    char delays[1024];
} tally;

static uint64_t next_rand(uint64_t *x)
{
    /* xorshift64*: enough for delays and samples, replayable from the seed */
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 2685821657736338717ULL;
}

static void add_entry(stream *st, int64_t first, int n, long outcome, long accepted, char *ack)
{
    if (st->ne == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 256;
        entry *grown = realloc(st->e, cap * sizeof *grown);
        if (!grown) {
            fprintf(stderr, "it_crashloop: out of memory\n");
            abort();
        }
        st->e = grown;
        st->cap = cap;
    }
    st->e[st->ne++] = (entry){first, n, outcome, accepted, ack, 0};
}

/* --- device posters --------------------------------------------------------------------- */

/* The batch of readings first .. first + n - 1 of poster k. */
static char *batch_body(const stream *st, int64_t first, int n)
{
    json_t *items = json_array();
    json_t *body;
    char *text;

    for (int i = 0; i < n; i++) {
        char id[64];
        int64_t q = first + i;
        snprintf(id, sizeof id, "c%d-%lld", st->k, (long long)q);
        json_array_append_new(
            items, wd_item(id, "hr", json_integer(60 + q % 40), NULL, st->base + q * st->step));
    }
    body = json_pack("{s:o}", "readings", items);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

/* Half the posters send single readings, the others batches of 1-12. */
static int batch_size(stream *st)
{
    return st->k % 2 ? 1 : 1 + (int)(next_rand(&st->rng) % 12);
}

static void *poster_run(void *arg)
{
    stream *st = arg;
    wd_client *c = wd_client_new(st->s);

    if (c)
        wd_client_fresh(c, st->fresh);
    while (c && !atomic_load(st->stop)) {
        int n = batch_size(st);
        char *body = batch_body(st, st->next, n);
        json_t *j = NULL;
        long status;
        atomic_store(&st->inflight, 1);
        status = wd_client_req(c, "POST", "/api/v1/readings", st->token, body, &j);
        atomic_store(&st->inflight, 0);
        free(body);
        add_entry(st, st->next, n,
                  status == 201 || status == 503 || status == 0 ? status : OUT_WRONG,
                  json_integer_value(json_object_get(j, "accepted")), NULL);
        json_decref(j);
        st->next += n;
        if (status != 201) /* the server is gone (or wrong: the check says so) */
            break;
    }
    wd_client_free(c);
    return NULL;
}

/* --- the HL7 gateway ------------------------------------------------------------------------ */

static unsigned read_mllp_port(const wd_server *s)
{
    char path[1100];
    unsigned port = 0;
    FILE *f;

    snprintf(path, sizeof path, "%s/port.mllp", wd_dir(s));
    f = fopen(path, "r");
    if (!f)
        return 0;
    if (fscanf(f, "%u", &port) != 1)
        port = 0;
    fclose(f);
    return port;
}

static int mllp_open(unsigned port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* An ORU^R01 with readings first and first + 1 (OBX-14 each), control id
 * CL-<first>: malloc'd. */
static char *oru_msg(const stream *st, int64_t first)
{
    char now[32], t0[32], t1[32];
    char *m = NULL;

    hl7_dtm_format(wd_now_ms(), now, sizeof now);
    hl7_dtm_format(st->base + first * st->step, t0, sizeof t0);
    hl7_dtm_format(st->base + (first + 1) * st->step, t1, sizeof t1);
    if (asprintf(&m,
                 "MSH|^~\\&|" HL7_APP "|NLH|WARDD|IL2U|%s||ORU^R01^ORU_R01|CL-%lld|P|2.6|||NE|AL||"
                 "UNICODE UTF-8\rPID|||" HL7_MRN "^^^NLH^MR\rPV1||I|" HL7_LOCATION "\r"
                 "OBR|1|X|X|182777000^monitoring of patient^SNOMED-CT|||%s\r"
                 "OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC||%d|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||F"
                 "|||%s\r"
                 "OBX|2|NM|147842^MDC_ECG_HEART_RATE^MDC||%d|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||F"
                 "|||%s\r",
                 now, (long long)first, t0, (int)(60 + first % 40), t0, (int)(61 + first % 40),
                 t1) < 0)
        return NULL;
    return m;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* Sends one framed message and reads its ACK: the ACK's text (malloc'd),
 * or NULL when the connection failed or closed first. Never asserts. */
static char *mllp_exchange(int fd, const char *msg)
{
    size_t len = strlen(msg), n = 0;
    char *frame = malloc(len + 3);
    static _Thread_local char buf[16384];
    bool sent;

    if (!frame)
        return NULL;
    frame[0] = 0x0b;
    memcpy(frame + 1, msg, len);
    frame[len + 1] = 0x1c;
    frame[len + 2] = '\r';
    sent = send_all(fd, frame, len + 3);
    free(frame);
    while (sent && n < sizeof buf - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t k;
        if (poll(&p, 1, ACK_WAIT_MS) != 1)
            return NULL;
        k = recv(fd, buf + n, sizeof buf - n - 1, 0);
        if (k <= 0)
            return NULL;
        n += (size_t)k;
        if (n >= 3 && buf[0] == 0x0b && buf[n - 2] == 0x1c && buf[n - 1] == '\r') {
            buf[n - 2] = '\0';
            return strdup(buf + 1);
        }
    }
    return NULL;
}

/* The outcome an ACK says for control id CL-<first>: MSA-1 and MSA-2. */
static long ack_outcome(const char *ack, int64_t first)
{
    const char *msa = ack ? strstr(ack, "\rMSA|") : NULL;
    char code[3] = "", ctl[64] = "", want[64];
    size_t n;

    if (!ack)
        return OUT_UNKNOWN;
    if (!msa || strlen(msa) < 8)
        return OUT_WRONG;
    memcpy(code, msa + 5, 2);
    msa += 8; /* after "\rMSA|XX|" */
    n = strcspn(msa, "|\r");
    snprintf(ctl, sizeof ctl, "%.*s", (int)(n < sizeof ctl ? n : sizeof ctl - 1), msa);
    snprintf(want, sizeof want, "CL-%lld", (long long)first);
    if (strcmp(ctl, want) != 0)
        return OUT_WRONG;
    if (strcmp(code, "AA") == 0)
        return OUT_ACKED;
    if (strcmp(code, "AR") == 0 && strstr(ack, "storage unavailable"))
        return OUT_REFUSED;
    return OUT_WRONG;
}

static void *gateway_run(void *arg)
{
    stream *st = arg;
    int fd = mllp_open(st->port);

    while (!atomic_load(st->stop)) {
        char *msg = oru_msg(st, st->next);
        char *ack = NULL;
        long outcome;
        if (msg && fd >= 0) {
            atomic_store(&st->inflight, 1);
            ack = mllp_exchange(fd, msg);
            atomic_store(&st->inflight, 0);
        }
        free(msg);
        outcome = ack_outcome(ack, st->next);
        if (outcome != OUT_ACKED) {
            if (outcome == OUT_WRONG)
                fprintf(stderr, "it_crashloop: unexpected ACK for CL-%lld: %s\n",
                        (long long)st->next, ack);
            free(ack);
            ack = NULL;
        }
        add_entry(st, st->next, 2, outcome, 2, ack);
        st->next += 2;
        if (outcome != OUT_ACKED)
            break;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* --- set-up ------------------------------------------------------------------------------ */

/* Poster k: its own bed, device and admitted patient; readings 1 ms apart
 * from five hours ago (inside the 24 h device horizon). */
static void poster_init(wd_fixture *f, stream *st, int k, uint64_t seed, atomic_bool *stop)
{
    const char *bed = wd_new_bed(f);

    memset(st, 0, sizeof *st);
    st->k = k;
    st->fresh = k >= POSTERS / 2;
    st->token = wd_new_device(f, bed, NULL);
    st->pid = wd_admit(f, bed, wd_now_ms() - 6 * HOUR_MS, NULL);
    st->base = wd_now_ms() / 1000 * 1000 - 5 * HOUR_MS;
    st->step = 1;
    st->rng = seed + (uint64_t)k + 1;
    st->stop = stop;
}

/* The gateway: a bed at HL7_LOCATION, a patient HL7_MRN in it, the feed
 * HL7_APP registered from 127.0.0.1; readings 1 s apart (HL7 times are to
 * the second) from five hours ago. */
static void gateway_init(wd_fixture *f, stream *st, int k, atomic_bool *stop)
{
    const char *bed = wd_uniq(f->s, "H");

    WD_EXPECT(wd_reqj(f->s, "POST", "/api/v1/beds", f->admin,
                      json_pack("{s:s, s:s}", "id", bed, "location", HL7_LOCATION)),
              201);
    WD_EXPECT(wd_reqj(f->s, "POST", "/api/v1/feeds", f->admin,
                      json_pack("{s:s, s:s, s:s, s:s, s:[s]}", "name", "CRASHGW", "kind",
                                "device_gateway", "sending_application", HL7_APP,
                                "sending_facility", "NLH", "addresses", "127.0.0.1")),
              201);
    memset(st, 0, sizeof *st);
    st->k = k;
    st->hl7 = true;
    st->pid = wd_admit(f, bed, wd_now_ms() - 6 * HOUR_MS, json_pack("{s:s}", "mrn", HL7_MRN));
    st->base = wd_now_ms() / 1000 * 1000 - 5 * HOUR_MS;
    st->step = 1000;
    st->stop = stop;
}

static void streams_free(stream *sts)
{
    for (int k = 0; k < STREAMS; k++) {
        for (size_t i = 0; i < sts[k].ne; i++)
            free(sts[k].e[i].ack);
        free(sts[k].e);
    }
}

/* --- checking ------------------------------------------------------------------------------ */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* The sorted times of every stored reading of the patient (pages of
 * 1000); *n gets the count. malloc'd. */
static int64_t *stored_times(wd_fixture *f, const stream *st, size_t *n)
{
    int64_t *t = NULL;
    size_t cap = 0;
    char cursor[512] = "";

    *n = 0;
    for (;;) {
        wd_resp *r =
            wd_req(f->s, "GET",
                   wd_path(f->s, "/api/v1/patients/%lld/readings?limit=1000&from=%s&to=%s%s%s",
                           st->pid, wd_iso(st->base - HOUR_MS), wd_iso(wd_now_ms() + 86400000),
                           cursor[0] ? "&cursor=" : "", cursor),
                   f->viewer, NULL);
        json_t *next, *v;
        size_t i;
        WD_EXPECT(r, 200);
        json_array_foreach(WD_ARR(r->json, "readings"), i, v)
        {
            if (*n == cap) {
                int64_t *grown;
                cap = cap ? cap * 2 : 4096;
                grown = realloc(t, cap * sizeof *t);
                if (!grown)
                    free(t);
                assert_non_null(grown);
                t = grown;
            }
            t[(*n)++] = WD_TIME(v, "time");
        }
        next = json_object_get(r->json, "next");
        if (json_is_null(next))
            break;
        if (!json_is_string(next) || json_array_size(WD_ARR(r->json, "readings")) == 0)
            fail_msg("GET readings: \"next\" is neither an opaque cursor nor null, or the page "
                     "is empty");
        snprintf(cursor, sizeof cursor, "%s", wd_escape(f->s, json_string_value(next)));
    }
    if (t)
        qsort(t, *n, sizeof *t, cmp_i64);
    return t;
}

/* How many of the entry's readings are stored (each at most once: the
 * caller checked there are no two at one time). */
static int present(const stream *st, const entry *e, const int64_t *t, size_t nt)
{
    int n = 0;

    for (int i = 0; i < e->n; i++) {
        int64_t want = st->base + (e->first + i) * st->step;
        n += t && bsearch(&want, t, nt, sizeof *t, cmp_i64) != NULL;
    }
    return n;
}

/* Problems found by one check, over every sender, reported together. */
typedef struct report {
    char text[8192];
    size_t len;
    long n;
} report;

__attribute__((format(printf, 3, 4))) static void problem(report *rp, const stream *st,
                                                          const char *fmt, ...)
{
    va_list ap;

    rp->n++;
    if (rp->len > sizeof rp->text - 300)
        return;
    rp->len += (size_t)snprintf(rp->text + rp->len, sizeof rp->text - rp->len,
                                "  sender %d (%s): ", st->k, st->hl7 ? "HL7" : "JSON");
    va_start(ap, fmt);
    rp->len += (size_t)vsnprintf(rp->text + rp->len, sizeof rp->text - rp->len, fmt, ap);
    va_end(ap);
}

/* Checks one entry against the number of its readings stored. */
static void check_entry(report *rp, const stream *st, const entry *e, int p)
{
    if (e->outcome == OUT_ACKED && e->accepted != e->n)
        problem(rp, st, "request %lld: 201 with accepted %ld of %d new readings\n",
                (long long)e->first, e->accepted, e->n);
    if (e->outcome == OUT_ACKED && p != e->n)
        problem(rp, st, "request %lld (%d readings) was acknowledged; %d are stored\n",
                (long long)e->first, e->n, p);
    else if (e->outcome == OUT_UNKNOWN && p != 0 && p != e->n)
        problem(rp, st, "request %lld got no answer: %d of %d stored (half-written)\n",
                (long long)e->first, p, e->n);
    else if (e->outcome == OUT_REFUSED && p != 0)
        problem(rp, st, "request %lld was refused (storage unavailable) and %d are stored\n",
                (long long)e->first, p);
    else if (e->outcome == OUT_WRONG)
        problem(rp, st, "request %lld got an answer that is neither 201/AA nor 503/AR\n",
                (long long)e->first);
}

/* Checks the stored readings of one sender against what it was told;
 * adds each problem to *rp. *found gets the number of acknowledged
 * readings found. */
static void check_stream(wd_fixture *f, stream *st, report *rp, long *found)
{
    size_t nt = 0;
    int64_t *t = stored_times(f, st, &nt);
    long counted = 0;

    for (size_t i = 1; i < nt; i++)
        if (t[i] == t[i - 1])
            problem(rp, st, "a reading at %s is stored twice\n", wd_iso(t[i]));
    for (size_t i = 0; i < st->ne; i++) {
        entry *e = &st->e[i];
        int p = present(st, e, t, nt);
        e->stored = p;
        counted += p;
        check_entry(rp, st, e, p);
        if (e->outcome == OUT_ACKED)
            *found += p;
    }
    if ((long)nt != counted)
        problem(rp, st, "%zu readings stored, %ld of them sent by this sender\n", nt, counted);
    free(t);
}

/* Checks every sender; fails the test with every problem found. */
static void check_all(wd_fixture *f, stream *sts, int round, long *found)
{
    static report rp;

    memset(&rp, 0, sizeof rp);
    for (int k = 0; k < STREAMS; k++)
        check_stream(f, &sts[k], &rp, found);
    if (rp.n)
        fail_msg("round %d: %ld problems after kill -9 and restart:\n%s", round, rp.n, rp.text);
}

/* --- resending --------------------------------------------------------------------------- */

/* POSTs the entry's batch again; returns the response. */
static wd_resp *repost(wd_fixture *f, const stream *st, const entry *e)
{
    char *body = batch_body(st, e->first, e->n);
    wd_resp *r = wd_req(f->s, "POST", "/api/v1/readings", st->token, body);

    free(body);
    WD_EXPECT(r, 201);
    return r;
}

/* Sends the entry's message again on `fd`; returns the ACK (malloc'd),
 * failing the test unless it is an AA. */
static char *resend_hl7(const stream *st, int fd, const entry *e)
{
    char *msg = oru_msg(st, e->first);
    char *ack = msg && fd >= 0 ? mllp_exchange(fd, msg) : NULL;
    char text[512];

    free(msg);
    if (ack_outcome(ack, e->first) == OUT_ACKED)
        return ack;
    snprintf(text, sizeof text, "%s", ack ? ack : "(no ACK)");
    free(ack);
    fail_msg("CL-%lld resent after the restart: expected AA, got %s", (long long)e->first, text);
    return NULL;
}

/* A request of unknown outcome is sent again, as its sender would: it was
 * stored whole (a duplicate now) or not at all (stored now). From here on
 * it is acknowledged. */
static void resend_unknown(wd_fixture *f, stream *st, int fd, tally *ty)
{
    for (size_t i = 0; i < st->ne; i++) {
        entry *e = &st->e[i];
        if (e->outcome != OUT_UNKNOWN && e->outcome != OUT_REFUSED)
            continue;
        if (st->hl7) {
            e->ack = resend_hl7(st, fd, e);
        } else {
            wd_resp *r = repost(f, st, e);
            assert_int_equal(WD_INT(r->json, "duplicates"), e->stored);
            assert_int_equal(WD_INT(r->json, "accepted"), e->n - e->stored);
        }
        ty->unknown_stored += e->outcome == OUT_UNKNOWN && e->stored == e->n;
        e->outcome = OUT_ACKED;
        e->accepted = e->n;
    }
}

/* A few acknowledged requests, from any round so far, sent again: each is
 * a duplicate (the HL7 ACK the same, byte for byte), nothing is stored
 * twice (the next check counts). */
static void resend_sample(wd_fixture *f, stream *st, int fd, uint64_t *rng, tally *ty)
{
    for (int tries = 0, sent = 0; tries < SAMPLE * 8 && sent < SAMPLE && st->ne; tries++) {
        entry *e = &st->e[next_rand(rng) % st->ne];
        if (e->outcome != OUT_ACKED)
            continue;
        if (st->hl7) {
            char *ack = resend_hl7(st, fd, e);
            bool same = e->ack && strcmp(ack, e->ack) == 0;
            if (!same) {
                print_error("first ACK:\n%s\nACK of the resend:\n%s\n", e->ack, ack);
                free(ack);
                fail_msg("CL-%lld: a resent control id must get its first ACK byte for byte",
                         (long long)e->first);
            }
            free(ack);
        } else {
            wd_resp *r = repost(f, st, e);
            assert_int_equal(WD_INT(r->json, "accepted"), 0);
            assert_int_equal(WD_INT(r->json, "duplicates"), e->n);
        }
        sent++;
        ty->resent++;
    }
}

/* --- the loop ------------------------------------------------------------------------------ */

static atomic_bool stop_senders;

static void senders_start(wd_fixture *f, stream *sts)
{
    atomic_store(&stop_senders, false);
    for (int k = 0; k < STREAMS; k++) {
        sts[k].s = f->s;
        if (sts[k].hl7) {
            sts[k].port = read_mllp_port(f->s);
            assert_true(sts[k].port > 0);
        }
        assert_int_equal(
            pthread_create(&sts[k].thread, NULL, sts[k].hl7 ? gateway_run : poster_run, &sts[k]),
            0);
    }
}

/* Kills the server `delay` ms after the senders started; joins them. */
static void kill_under_load(wd_fixture *f, stream *sts, long delay, tally *ty)
{
    int inflight = 0;

    wd_sleep_ms(delay);
    for (int k = 0; k < STREAMS; k++)
        inflight += atomic_load(&sts[k].inflight);
    wd_kill9(f->s);
    atomic_store(&stop_senders, true);
    for (int k = 0; k < STREAMS; k++)
        pthread_join(sts[k].thread, NULL);
    ty->inflight_rounds += inflight > 0;
    ty->on_wire += inflight;
}

static void run_round(wd_fixture *f, stream *sts, int round, long delay, uint64_t *rng, tally *ty)
{
    int fd;

    senders_start(f, sts);
    kill_under_load(f, sts, delay, ty);
    for (int k = 0; k < STREAMS; k++)
        for (size_t i = 0; i < sts[k].ne; i++)
            ty->unknown += sts[k].e[i].outcome == OUT_UNKNOWN;
    wd_restart(f->s); /* the same database; new ports */
    f->viewer = wd_login(f->s, WD_VIEWER, WD_PASSWORD);
    /* The same lists, read again each round: the response log (make
     * api-contract) keeps the first round's copy, not hundreds. */
    wd_response_log(round == 1);
    check_all(f, sts, round, &ty->checks);
    wd_response_log(true);
    fd = mllp_open(read_mllp_port(f->s));
    assert_true(fd >= 0);
    for (int k = 0; k < STREAMS; k++) {
        resend_sample(f, &sts[k], fd, rng, ty);
        resend_unknown(f, &sts[k], fd, ty);
    }
    close(fd);
    wd_gc(f->s);
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    char *end;
    unsigned long long x;

    if (!v || !*v)
        return dflt;
    errno = 0;
    x = strtoull(v, &end, 10);
    if (errno || *end)
        fail_msg("%s=%s is not a number", name, v);
    return (uint64_t)x;
}

/* After the loop: a clean stop and start, every request is acknowledged
 * by now and stored exactly once. */
static void final_check(wd_fixture *f, stream *sts, int round, tally *ty)
{
    long found = 0;

    wd_restart(f->s);
    f->viewer = wd_login(f->s, WD_VIEWER, WD_PASSWORD);
    wd_response_log(false);
    check_all(f, sts, round, &found);
    for (int k = 0; k < STREAMS; k++) {
        for (size_t i = 0; i < sts[k].ne; i++) {
            ty->acked += sts[k].e[i].n;
            ty->hl7_msgs += sts[k].hl7;
        }
    }
    wd_response_log(true);
    assert_int_equal(found, ty->acked);
}

static void test_kill_loop(void **state)
{
    wd_fixture *f = *state;
    static stream sts[STREAMS];
    uint64_t seed = env_u64("WD_CRASH_SEED", (uint64_t)wd_now_ms() ^ ((uint64_t)getpid() << 32));
    int rounds = (int)env_u64("WD_CRASH_ROUNDS", DEFAULT_ROUNDS);
    uint64_t rng = seed | 1;
    int64_t t0;
    tally ty = {0};
    size_t dlen = 0;

    print_message("kill loop: seed %llu (replay the delays with WD_CRASH_SEED=%llu)\n",
                  (unsigned long long)seed, (unsigned long long)seed);
    for (int k = 0; k < POSTERS; k++)
        poster_init(f, &sts[k], k, seed, &stop_senders);
    gateway_init(f, &sts[POSTERS], POSTERS, &stop_senders);
    t0 = wd_now_ms();
    while (ty.rounds < rounds && (ty.rounds < MIN_ROUNDS || wd_now_ms() - t0 < CRASH_BUDGET_MS)) {
        long delay = KILL_MIN_MS + (long)(next_rand(&rng) % (KILL_MAX_MS - KILL_MIN_MS + 1));
        if (dlen < sizeof ty.delays - 16)
            dlen += (size_t)snprintf(ty.delays + dlen, sizeof ty.delays - dlen, "%s%ld",
                                     dlen ? " " : "", delay);
        run_round(f, sts, ++ty.rounds, delay, &rng, &ty);
    }
    final_check(f, sts, ty.rounds, &ty);
    print_message("kill loop: %d rounds in %.1f s; %ld acknowledged readings (%ld of them in %ld "
                  "HL7 messages) all present once; %ld acknowledged readings checked over the "
                  "rounds; %d rounds killed with requests in flight (%ld on the wire at the "
                  "kills); %ld requests without an answer (%ld of them had been committed); %ld "
                  "acknowledged requests resent as duplicates; kill "
                  "delays (ms): %s\n",
                  ty.rounds, (double)(wd_now_ms() - t0) / 1000.0, ty.acked, 2 * ty.hl7_msgs,
                  ty.hl7_msgs, ty.checks, ty.inflight_rounds, ty.on_wire, ty.unknown,
                  ty.unknown_stored, ty.resent, ty.delays);
    streams_free(sts);
    /* It must have tested something: load, and kills in the middle of it. */
    assert_true(ty.acked > 1000);
    assert_true(ty.inflight_rounds * 2 >= ty.rounds);
    assert_true(ty.on_wire >= ty.rounds);
}

static const char *const mllp_args[] = {"--mllp", "127.0.0.1:0", NULL};

static int setup(void **state)
{
    wd_serve_args(mllp_args); /* kept by the server across restarts */
    *state = wd_fixture_new();
    wd_serve_args(NULL);
    return *state ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kill_loop, setup, wd_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
