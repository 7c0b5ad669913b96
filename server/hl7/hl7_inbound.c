/* hl7_inbound: one HL7 v2 message from a client to its ACK (docs/hl7.md
 * "Acknowledgements"): who sent it (a registered feed, by MSH-3/MSH-4,
 * client address and TLS certificate), what it is (MSH-9, MSH-12), then
 * one writer job that applies it, stores its ACK under (feed, MSH-10) and
 * counts it, all in one transaction. The ACK is returned only after the
 * group commit is durable, so an AA always means stored. */
#include "mllp.h"
#include "app.h"
#include "clinical.h"
#include "events.h"
#include "hl7_int.h"
#include "log.h"
#include "metrics.h"
#include "timefmt.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The versions wardd reads (docs/hl7.md "Versions"). */
static const char *const versions[] = {"2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.8"};
/* ADT events applied; others are acknowledged and counted. */
static const char *const adt_events[] = {"A01", "A02", "A03", "A08", "A11", "A12", "A13"};

void hl7_job_err(hl7_job *j, const char *seg, int seq, int field, int code, const char *fmt, ...)
{
    va_list ap;
    hl7_err *e;

    if (j->nerr >= HL7_MAX_ERRS)
        return;
    e = &j->errs[j->nerr++];
    hl7_err_set(e, seg, seq, field, code, "%s", "");
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
}

static void ack_id(int64_t now, char *buf, size_t len)
{
    static atomic_uint_fast64_t seq;

    snprintf(buf, len, "WARDD-%lld-%llu", (long long)now,
             (unsigned long long)atomic_fetch_add(&seq, 1));
}

/* An ACK not stored (the message was not accepted for processing). */
static char *answer_now(const hl7_msg *m, const char *code, const hl7_err *e, size_t n,
                        const char *type, const char *feed, size_t *len)
{
    char id[64];
    int64_t now = timefmt_now_ms();

    ack_id(now, id, sizeof id);
    metrics_count_hl7(type, code, feed);
    return hl7_ack_build(m, code, e, n, now, id, len);
}

/* --- the refused-sender audit (fire and forget) ------------------------------------ */

typedef struct refusal {
    json_t *after;
} refusal;

static int refusal_apply(db_conn *c, void *arg)
{
    refusal *r = arg;
    principal who = {.role = ROLE_NONE};

    snprintf(who.name, sizeof who.name, "mllp");
    return store_audit(c, &who, "hl7.refused", "feed", NULL, NULL, r->after, timefmt_now_ms()) == 0
               ? 0
               : DB_STORAGE_FAILURE;
}

static void refusal_done(void *arg, int status)
{
    refusal *r = arg;

    (void)status;
    json_decref(r->after);
    free(r);
}

static void audit_refusal(struct app *app, const char *app_name, const char *fac, const char *peer,
                          const char *why)
{
    refusal *r = malloc(sizeof *r);

    if (!r)
        return;
    r->after = json_pack("{s:s, s:s, s:s, s:s}", "sending_application", app_name,
                         "sending_facility", fac, "address", peer, "reason", why);
    if (!r->after || db_writer_submit(app->writer, refusal_apply, refusal_done, r) != 0) {
        json_decref(r->after);
        free(r);
    }
}

/* --- the sender ---------------------------------------------------------------- */

static bool address_allowed(const store_feed *f, const char *peer)
{
    json_t *list = json_loads(f->addresses, 0, NULL);
    bool ok = false;
    size_t i;
    json_t *a;

    json_array_foreach(list, i, a)
    {
        if (json_is_string(a) && strcmp(json_string_value(a), peer) == 0)
            ok = true;
    }
    json_decref(list);
    return ok;
}

/* Compares fingerprints ignoring case and colons. */
static bool fingerprint_matches(const char *want, const char *have)
{
    while (*want || *have) {
        if (*want == ':') {
            want++;
            continue;
        }
        if (*have == ':') {
            have++;
            continue;
        }
        if (!*want || !*have || (*want | 0x20) != (*have | 0x20))
            return false;
        want++;
        have++;
    }
    return true;
}

/* The registered feed that sent m: 1 found, 0 refused (*why), -1 storage. */
static int sender(const hl7_msg *m, const char *peer, const char *fp, store_feed *f, char *app,
                  size_t alen, char *fac, size_t flen, const char **why)
{
    db_conn *c = db_reader();
    int rc;

    if (hl7_get_first(m, "MSH", 3, 1, app, alen) < 0)
        app[0] = '\0';
    if (hl7_get_first(m, "MSH", 4, 1, fac, flen) < 0)
        fac[0] = '\0';
    rc = c ? store_feed_match(c, app, fac, f) : -1;
    if (rc <= 0) {
        *why = "not a registered feed";
        return rc;
    }
    if (!address_allowed(f, peer)) {
        *why = "client address not allowed for this feed";
        return 0;
    }
    if (f->fingerprint[0] && (!fp || !fingerprint_matches(f->fingerprint, fp))) {
        *why = "TLS client certificate does not match this feed";
        return 0;
    }
    return 1;
}

/* --- the writer job ---------------------------------------------------------------- */

typedef struct inbound {
    hl7_job j;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    int status;
    bool adt;
} inbound;

static int apply_content(db_conn *c, inbound *ib)
{
    hl7_job *j = &ib->j;
    int rc;

    if (j->reject || j->ignored)
        return 0;
    if (!ib->adt)
        return pcd01_apply(c, j);
    /* An ADT message answered AE changes nothing: its own savepoint. */
    if (store_savepoint(c) != 0)
        return DB_STORAGE_FAILURE;
    rc = adt_apply(c, j);
    if (rc != 0 || j->nerr > 0) {
        j->patient_id = 0;
        if (store_savepoint_rollback(c) != 0)
            return DB_STORAGE_FAILURE;
    }
    return store_savepoint_release(c) == 0 ? rc : DB_STORAGE_FAILURE;
}

static int inbound_apply(db_conn *c, void *arg)
{
    inbound *ib = arg;
    hl7_job *j = &ib->j;
    const char *code;
    char id[64];
    int rc = store_hl7_ack_get(c, j->feed.id, j->control_id, &j->ack);

    if (rc != 0) {
        j->duplicate = rc == 1;
        return rc == 1 ? 0 : DB_STORAGE_FAILURE;
    }
    j->nerr = ib->adt ? 0 : j->nerr; /* a retried ADT job starts over */
    if (apply_content(c, ib) != 0)
        return DB_STORAGE_FAILURE;
    code = j->reject ? "AR" : j->nerr ? "AE" : "AA";
    snprintf(j->code, sizeof j->code, "%s", code);
    ack_id(j->now, id, sizeof id);
    j->ack = hl7_ack_build(j->msg, code, j->errs, j->nerr, j->now, id, &j->ack_len);
    if (!j->ack || store_hl7_ack_put(c, j->feed.id, j->control_id, code, j->ack, j->now) != 0 ||
        store_feed_note(c, j->feed.id, code, j->nerr ? j->errs[0].text : NULL, j->now) != 0)
        return DB_STORAGE_FAILURE;
    return 0;
}

/* After the commit (writer thread): readings go on to the events and the
 * clinical worker; a changed patient is re-evaluated. */
static void inbound_done(void *arg, int status)
{
    inbound *ib = arg;
    hl7_job *j = &ib->j;

    if (status == 0 && !j->duplicate && j->in) {
        ingest_committed(j->in);
        j->in = NULL;
    }
    if (status == 0 && !j->duplicate && j->tech_alert_id > 0)
        events_publish("technical_alert",
                       json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "id",
                                 (json_int_t)j->tech_alert_id, "kind", "identity_mismatch", "feed",
                                 j->feed.name, "control_id", j->control_id, "bed", j->bed,
                                 "message", j->tech_alert_msg));
    if (status == 0 && !j->duplicate && j->patient_id > 0) {
        events_publish("patient", json_pack("{s:s, s:I, s:s}", "action", j->action, "patient_id",
                                            (json_int_t)j->patient_id, "source", "hl7"));
        clinical_patient_changed(j->patient_id);
    }
    pthread_mutex_lock(&ib->lock);
    ib->status = status;
    ib->done = true;
    pthread_cond_signal(&ib->cond);
    pthread_mutex_unlock(&ib->lock);
}

/* Submits the job and waits for its durable end. */
static int run_job(struct app *app, inbound *ib)
{
    pthread_mutex_init(&ib->lock, NULL);
    pthread_cond_init(&ib->cond, NULL);
    if (db_writer_submit(app->writer, inbound_apply, inbound_done, ib) != 0)
        ib->status = DB_STORAGE_FAILURE;
    else {
        pthread_mutex_lock(&ib->lock);
        while (!ib->done)
            pthread_cond_wait(&ib->cond, &ib->lock);
        pthread_mutex_unlock(&ib->lock);
    }
    pthread_cond_destroy(&ib->cond);
    pthread_mutex_destroy(&ib->lock);
    return ib->status;
}

/* --- message kinds ------------------------------------------------------------------ */

static bool listed(const char *v, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v, list[i]) == 0)
            return true;
    return false;
}

/* What the message is and whether this feed may send it; sets j->reject
 * or j->ignored, or prepares the content. 0, or -1 (memory). */
static int classify(inbound *ib, const char *version)
{
    hl7_job *j = &ib->j;
    bool gateway = strcmp(j->feed.kind, "device_gateway") == 0;

    if (!listed(version, versions, sizeof versions / sizeof versions[0])) {
        hl7_job_err(j, "MSH", 1, 12, HL7_UNSUPPORTED_VERSION,
                    "version '%s' is not supported (2.3 to 2.8)", version);
        j->reject = true;
    } else if (strcmp(j->type, "ORU") == 0 && strcmp(j->trigger, "R01") == 0 && gateway) {
        /* Out of memory or no read connection: no ACK at all (the
         * connection closes and the sender resends). */
        if (pcd01_prepare(j) != 0 || (!j->reject && pcd01_resolve(j) != 0))
            return -1;
    } else if (strcmp(j->type, "ADT") == 0 && !gateway) {
        ib->adt = listed(j->trigger, adt_events, sizeof adt_events / sizeof adt_events[0]);
        j->ignored = !ib->adt;
    } else {
        hl7_job_err(j, "MSH", 1, 9, HL7_UNSUPPORTED_MESSAGE,
                    "message type %s^%s is not accepted from a %s feed", j->type, j->trigger,
                    j->feed.kind);
        j->reject = true;
    }
    return 0;
}

/* Runs an accepted message through its job; the ACK to send. */
static char *process(struct app *app, inbound *ib, size_t *len, const char *label)
{
    hl7_job *j = &ib->j;
    hl7_err e;
    char *ack;
    int status = run_job(app, ib);

    if (status != 0) {
        /* Nothing was stored and no ACK was kept: the sender may resend. */
        free(j->ack);
        j->ack = NULL;
        hl7_err_set(&e, "", 0, 0, HL7_INTERNAL, "storage unavailable; nothing stored; resend");
        metrics_count_storage_failure();
        return answer_now(j->msg, "AR", &e, 1, label, j->feed.name, len);
    }
    ack = j->ack;
    j->ack = NULL;
    *len = strlen(ack);
    if (j->duplicate) /* the stored answer: its code is MSA-1 */
        snprintf(j->code, sizeof j->code, "%.2s",
                 strstr(ack, "\rMSA|") ? strstr(ack, "\rMSA|") + 5 : "");
    metrics_count_hl7(label, j->code, j->feed.name);
    return ack;
}

char *hl7_inbound(struct app *app, const char *peer, const char *fingerprint, const char *data,
                  size_t n, size_t *len)
{
    inbound *ib = calloc(1, sizeof *ib);
    hl7_err e;
    char sapp[180], sfac[180], version[16] = "", label[20];
    const char *why = "";
    char *ack = NULL;
    hl7_msg *m;
    int rc;

    if (!ib)
        return NULL;
    m = hl7_parse(data, n, &e);
    if (!m) {
        ack = answer_now(NULL, "AR", &e, 1, "unparsed", NULL, len);
        goto out;
    }
    ib->j.msg = m;
    ib->j.now = timefmt_now_ms();
    if (hl7_get_first(m, "MSH", 9, 1, ib->j.type, sizeof ib->j.type) < 0 ||
        hl7_get_first(m, "MSH", 9, 2, ib->j.trigger, sizeof ib->j.trigger) < 0)
        ib->j.type[0] = ib->j.trigger[0] = '\0';
    snprintf(label, sizeof label, "%s^%s", ib->j.type, ib->j.trigger);
    rc = sender(m, peer, fingerprint, &ib->j.feed, sapp, sizeof sapp, sfac, sizeof sfac, &why);
    if (rc != 1) {
        hl7_err_set(&e, "MSH", 1, 3, rc < 0 ? HL7_INTERNAL : HL7_UNKNOWN_KEY,
                    "sender %s/%s from %s: %s", sapp, sfac, peer,
                    rc < 0 ? "storage unavailable" : why);
        if (rc == 0) {
            log_info("hl7: refused %s/%s from %s: %s", sapp, sfac, peer, why);
            audit_refusal(app, sapp, sfac, peer, why);
        }
        ack = answer_now(m, "AR", &e, 1, label, NULL, len);
        goto out;
    }
    if (hl7_get_first(m, "MSH", 10, 0, ib->j.control_id, sizeof ib->j.control_id) <= 0) {
        hl7_err_set(&e, "MSH", 1, 10, HL7_REQUIRED_MISSING,
                    "MSH-10 (message control id) is "
                    "missing or too long");
        ack = answer_now(m, "AR", &e, 1, label, ib->j.feed.name, len);
        goto out;
    }
    if (hl7_get_first(m, "MSH", 12, 1, version, sizeof version) < 0)
        version[0] = '\0';
    if (classify(ib, version) != 0)
        goto out;
    ack = process(app, ib, len, label);
out:
    ingest_free(ib->j.in);
    free(ib->j.ack);
    hl7_free(m);
    free(ib);
    return ack;
}
