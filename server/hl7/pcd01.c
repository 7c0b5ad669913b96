/* pcd01: ORU^R01 as IHE PCD-01 (Device Enterprise Communication) profiles
 * it, into wardd readings (docs/hl7.md "ORU^R01").
 *
 * Each OBX is judged on its own, like each item of a JSON batch: a row
 * without a value (the device and channel rows of the MDS/VMD/CHAN
 * hierarchy) is structure, not a reading; a known code wardd does not
 * record is acknowledged silently; anything else that cannot be stored
 * gets an ERR and the rest of the message is stored (AE). The reading
 * itself is validated by the observation catalogue (obs_parse_reading):
 * the same units, conversions, plausibility ranges and time checks as the
 * JSON path. */
#include "hl7_int.h"
#include "timefmt.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OBX 1000

/* A value of HL7 data type NM: [+|-]digits[.digits] (HL7 v2.5 2A.2.49). */
static bool nm_valid(const char *s)
{
    bool digits = false;

    if (*s == '+' || *s == '-')
        s++;
    for (; isdigit((unsigned char)*s); s++)
        digits = true;
    if (*s == '.')
        for (s++; isdigit((unsigned char)*s); s++)
            digits = true;
    return digits && *s == '\0';
}

/* 64-bit FNV-1a: a long control id becomes a short reading id. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The reading id of OBX number `pos`: "h7:<MSH-10>:<pos>", unique per
 * feed; MSH-10 hashed when that would exceed OBS_ID_MAX or is not plain
 * printable ASCII. */
static void reading_id(const char *ctl, int pos, char *out, size_t len)
{
    bool plain = true;

    for (const char *p = ctl; *p; p++)
        plain = plain && *p > 0x20 && *p < 0x7F;
    if (!plain || strlen(ctl) + 12 > OBS_ID_MAX)
        snprintf(out, len, "h7:#%016llx:%d", (unsigned long long)fnv1a(ctl), pos);
    else
        snprintf(out, len, "h7:%.52s:%d", ctl, pos); /* strlen(ctl) + 12 <= OBS_ID_MAX */
}

/* An equipment identifier (EI/HD): the serial is component 1 and the
 * EUI-64 the component before the one that says "EUI-64". */
static void equipment(const hl7_msg *m, size_t seg, int field, int rep, char *serial, size_t slen,
                      char *eui, size_t elen)
{
    char prev[128] = "", v[128];

    serial[0] = eui[0] = '\0';
    for (int comp = 1; comp <= 4; comp++) {
        if (hl7_get(m, seg, field, rep, comp, 0, v, sizeof v) < 0)
            return;
        if (strcmp(v, "EUI-64") == 0) {
            snprintf(eui, elen, "%.*s", (int)(elen - 1), prev);
            break;
        }
        if (comp == 1)
            snprintf(serial, slen, "%s", v);
        snprintf(prev, sizeof prev, "%s", v);
    }
    if (strcmp(serial, eui) == 0)
        serial[0] = '\0';
}

/* The identity parts of the message: PID-3, PV1-3 and the sender. */
static void identity(hl7_job *j)
{
    const hl7_msg *m = j->msg;
    char c1[64] = "", c2[64] = "", c3[64] = "";
    long pv1 = hl7_seg_find(m, "PV1", 0);

    if (hl7_get_first(m, "PID", 3, 1, j->mrn, sizeof j->mrn) < 0)
        j->mrn[0] = '\0';
    if (pv1 >= 0 && hl7_get(m, (size_t)pv1, 3, 0, 1, 0, c1, sizeof c1) > 0) {
        if (hl7_get(m, (size_t)pv1, 3, 0, 2, 0, c2, sizeof c2) < 0)
            c2[0] = '\0';
        if (hl7_get(m, (size_t)pv1, 3, 0, 3, 0, c3, sizeof c3) < 0)
            c3[0] = '\0';
        snprintf(j->location, sizeof j->location, "%s%s%s%s%s", c1, c2[0] || c3[0] ? "^" : "", c2,
                 c3[0] ? "^" : "", c3);
    }
    /* The equipment: the first OBX-18 (its first repetition; often on the
     * device's MDS row), else the sender in MSH-3. */
    for (long i = hl7_seg_find(m, "OBX", 0); i >= 0; i = hl7_seg_find(m, "OBX", (size_t)i + 1)) {
        equipment(m, (size_t)i, 18, 0, j->dev_serial, sizeof j->dev_serial, j->dev_eui,
                  sizeof j->dev_eui);
        if (j->dev_serial[0] || j->dev_eui[0])
            return;
    }
    equipment(m, 0, 3, 0, j->dev_serial, sizeof j->dev_serial, j->dev_eui, sizeof j->dev_eui);
}

/* OBX-11 (HL7 table 0085): F final, R not verified, C correction are
 * results; the rest are not (or no longer) results. NULL when storable. */
static const char *status_problem(const char *st)
{
    if (strcmp(st, "F") == 0 || strcmp(st, "R") == 0 || strcmp(st, "C") == 0)
        return NULL;
    if (strcmp(st, "X") == 0)
        return "status X: the result cannot be obtained";
    if (strcmp(st, "D") == 0)
        return "status D: the result was deleted";
    if (strcmp(st, "W") == 0)
        return "status W: the result was posted in error";
    if (strcmp(st, "P") == 0)
        return "status P: preliminary result";
    if (strcmp(st, "S") == 0)
        return "status S: partial result";
    if (st[0] == '\0')
        return "no result status (OBX-11)";
    return "result status is not F, R or C";
}

typedef struct obx_ctx {
    size_t seg;
    int seq; /* OBX sequence in the message, 1-based */
    int64_t obr_time;
    obs_context oc;
} obx_ctx;

/* The wardd code of the OBX, or NULL: silently ignored when *quiet. */
static const obs_code *obx_code(hl7_job *j, const obx_ctx *x, bool *quiet)
{
    char id[64], text[128], sys[32];
    const obs_code *oc = NULL;

    *quiet = false;
    if (hl7_get(j->msg, x->seg, 3, 0, 1, 0, id, sizeof id) < 0 ||
        hl7_get(j->msg, x->seg, 3, 0, 2, 0, text, sizeof text) < 0 ||
        hl7_get(j->msg, x->seg, 3, 0, 3, 0, sys, sizeof sys) < 0) {
        hl7_job_err(j, "OBX", x->seq, 3, HL7_DATA_TYPE, "OBX-3 is malformed");
        return NULL;
    }
    switch (codemap_obs(id, text, sys, &oc)) {
    case CODEMAP_OBS:
        return oc;
    case CODEMAP_IGNORE:
        *quiet = true;
        return NULL;
    default:
        hl7_job_err(j, "OBX", x->seq, 3, HL7_TABLE_VALUE, "observation %s^%s^%s has no wardd code",
                    id, text, sys);
        return NULL;
    }
}

/* OBX-6 as UCUM (empty: the code's canonical unit); false after an ERR. */
static bool obx_unit(hl7_job *j, const obx_ctx *x, const obs_code *oc, char *unit, size_t len)
{
    char id[64], text[64], sys[32];
    const char *ucum;

    if (hl7_get(j->msg, x->seg, 6, 0, 1, 0, id, sizeof id) < 0 ||
        hl7_get(j->msg, x->seg, 6, 0, 2, 0, text, sizeof text) < 0 ||
        hl7_get(j->msg, x->seg, 6, 0, 3, 0, sys, sizeof sys) < 0) {
        hl7_job_err(j, "OBX", x->seq, 6, HL7_DATA_TYPE, "OBX-6 is malformed");
        return false;
    }
    if (!id[0] && !text[0]) {
        snprintf(unit, len, "%s", oc->unit);
        return true;
    }
    ucum = codemap_unit(id, text, sys);
    if (!ucum) {
        hl7_job_err(j, "OBX", x->seq, 6, HL7_TABLE_VALUE, "unit %s^%s^%s is not known", id, text,
                    sys);
        return false;
    }
    snprintf(unit, len, "%s", ucum);
    return true;
}

/* OBX-14, else OBR-7; false after an ERR. */
static bool obx_time(hl7_job *j, const obx_ctx *x, int64_t *t)
{
    char v[64];

    if (hl7_get(j->msg, x->seg, 14, 0, 1, 0, v, sizeof v) > 0) {
        if (hl7_dtm(v, 12, t, NULL) == 0)
            return true;
        hl7_job_err(j, "OBX", x->seq, 14, HL7_DATA_TYPE, "OBX-14 '%s' is not a valid time", v);
        return false;
    }
    if (x->obr_time != INT64_MIN) {
        *t = x->obr_time;
        return true;
    }
    hl7_job_err(j, "OBX", x->seq, 14, HL7_REQUIRED_MISSING,
                "no observation time (OBX-14 or OBR-7)");
    return false;
}

/* The same reading twice in one message (a repeated OBR group): kept once. */
static bool already_in(const ingest *in, const obs_reading *r)
{
    for (size_t i = 0; i < ingest_valid_count(in); i++) {
        const obs_reading *o = ingest_reading(in, i);
        if (o->code == r->code && o->time_ms == r->time_ms && o->value == r->value)
            return true;
    }
    return false;
}

/* Validates the value through the catalogue and keeps the reading. */
static void obx_keep(hl7_job *j, const obx_ctx *x, const obs_code *oc, const char *value,
                     const char *unit, int64_t t)
{
    char id[OBS_ID_MAX + 16], when[TIMEFMT_LEN];
    obs_reading *slot = ingest_slot(j->in);
    obs_error err;
    json_t *item;

    if (!slot)
        return;
    reading_id(j->control_id, x->seq, id, sizeof id);
    item =
        json_pack("{s:s, s:s, s:f, s:s, s:s}", "id", id, "code", oc->code, "value",
                  strtod(value, NULL), "unit", unit, "time", timefmt_format(t, when, sizeof when));
    if (!item) {
        hl7_job_err(j, "OBX", x->seq, 5, HL7_INTERNAL, "out of memory");
        return;
    }
    if (obs_parse_reading(item, &x->oc, slot, &err) != 0) {
        int field = strcmp(err.code, "invalid_unit") == 0 ? 6
                    : strstr(err.code, "time") != NULL    ? 14
                                                          : 5;
        hl7_job_err(j, "OBX", x->seq, field, field == 6 ? HL7_TABLE_VALUE : HL7_DATA_TYPE, "%s: %s",
                    err.code, err.message);
    } else if (!already_in(j->in, slot)) {
        ingest_keep(j->in);
        if (j->first_time == INT64_MIN)
            j->first_time = t;
    }
    json_decref(item);
}

/* One OBX. */
static void obx(hl7_job *j, const obx_ctx *x)
{
    char type[8], value[64], status[8], unit[32];
    const char *problem;
    const obs_code *oc;
    bool quiet;
    int64_t t;

    if (hl7_get(j->msg, x->seg, 5, 0, 0, 0, value, sizeof value) < 0)
        value[0] = '\x01'; /* present but malformed or too long */
    if (value[0] == '\0')
        return; /* a device, channel or group row: structure, not a reading */
    /* The code first: a known code wardd does not record is silent
     * whatever its status (device metadata rows often carry none). */
    oc = obx_code(j, x, &quiet);
    if (!oc)
        return;
    if (hl7_get(j->msg, x->seg, 11, 0, 0, 0, status, sizeof status) < 0)
        status[0] = '?';
    problem = status_problem(status);
    if (problem) {
        hl7_job_err(j, "OBX", x->seq, 11, HL7_TABLE_VALUE, "not stored: %s", problem);
        return;
    }
    if (hl7_get(j->msg, x->seg, 2, 0, 0, 0, type, sizeof type) < 0 || strcmp(type, "NM") != 0) {
        hl7_job_err(j, "OBX", x->seq, 2, HL7_DATA_TYPE, "%s needs value type NM", oc->code);
        return;
    }
    if (!nm_valid(value)) {
        hl7_job_err(j, "OBX", x->seq, 5, HL7_DATA_TYPE, "%s value is not a number", oc->code);
        return;
    }
    if (obx_unit(j, x, oc, unit, sizeof unit) && obx_time(j, x, &t))
        obx_keep(j, x, oc, value, unit, t);
}

int pcd01_prepare(hl7_job *j)
{
    obx_ctx x = {.obr_time = INT64_MIN, .oc = {.now_ms = j->now, .require_id = true}};
    size_t n = 0;

    for (size_t i = 0; i < hl7_seg_count(j->msg); i++)
        n += strcmp(hl7_seg_id(j->msg, i), "OBX") == 0;
    if (n > MAX_OBX) {
        hl7_job_err(j, "OBX", MAX_OBX + 1, 0, HL7_INTERNAL, "more than %d OBX segments", MAX_OBX);
        j->reject = true;
        return 0;
    }
    j->in = ingest_new(n);
    if (!j->in)
        return -1;
    j->first_time = INT64_MIN;
    identity(j);
    for (size_t i = 0; i < hl7_seg_count(j->msg); i++) {
        const char *id = hl7_seg_id(j->msg, i);
        char v[64];
        if (strcmp(id, "OBR") == 0) {
            x.obr_time = INT64_MIN;
            if (hl7_get(j->msg, i, 7, 0, 1, 0, v, sizeof v) > 0 &&
                hl7_dtm(v, 12, &x.obr_time, NULL) != 0) {
                x.obr_time = INT64_MIN;
                hl7_job_err(j, "OBR", hl7_seg_seq(j->msg, i), 7, HL7_DATA_TYPE,
                            "OBR-7 '%s' is not a valid time", v);
            }
        } else if (strcmp(id, "OBX") == 0) {
            x.seg = i;
            x.seq++;
            obx(j, &x);
        }
    }
    return 0;
}

/* --- filing, on the writer thread ------------------------------------------------- */

/* The bed the message names: PV1-3 through the location map, else the
 * registered device's bed. Mapping data (bed locations, devices), read on
 * the caller's read connection so the writer thread does not spend time
 * on them. 0 or -1. */
int pcd01_resolve(hl7_job *j)
{
    db_conn *c = db_reader();
    int rc;

    j->bed[0] = '\0';
    memset(&j->dev, 0, sizeof j->dev);
    if (!c)
        return -1;
    if (j->dev_serial[0] || j->dev_eui[0]) {
        rc = store_device_by_ident(c, j->dev_serial, j->dev_eui, &j->dev);
        if (rc < 0)
            return -1;
    }
    if (j->location[0]) {
        rc = store_bed_by_location(c, j->location, j->bed, sizeof j->bed);
        if (rc < 0)
            return -1;
    }
    if (!j->bed[0] && j->dev.bed[0])
        snprintf(j->bed, sizeof j->bed, "%s", j->dev.bed);
    return 0;
}

/* The identity_mismatch alert and ERR. */
static int mismatch(db_conn *c, hl7_job *j, const char *bed, int64_t named, int64_t occupant)
{
    char msg[300];
    int64_t id;
    store_tech_alert a = {.kind = "identity_mismatch",
                          .feed_id = j->feed.id,
                          .control_id = j->control_id,
                          .bed = bed,
                          .patient_id = named,
                          .occupant_id = occupant,
                          .message = msg};

    snprintf(
        msg, sizeof msg,
        "Feed %.60s message %.60s: PID-3 names MRN %.40s but bed %.40s holds %s; %zu readings held "
        "unassigned.",
        j->feed.name, j->control_id, j->mrn, bed, occupant ? "another patient" : "nobody",
        ingest_valid_count(j->in));
    hl7_job_err(j, "PID", 1, 3, HL7_INTERNAL,
                "identity mismatch: MRN %s is not the patient in bed %s; readings held unassigned",
                j->mrn, bed);
    if (store_technical_alert(c, &a, j->now, &id) != 0)
        return -1;
    j->tech_alert_id = id;
    snprintf(j->tech_alert_msg, sizeof j->tech_alert_msg, "%s", msg);
    return 0;
}

/* Files the batch (PID-3 when admitted, else the bed at each reading's
 * time; identity mismatch holds it unassigned) and stores it. */
int pcd01_apply(db_conn *c, hl7_job *j)
{
    store_mrn_patient p = {0};
    const char *bed = j->bed;
    int64_t occupant = 0;
    int rc = 0;

    if (ingest_valid_count(j->in) == 0)
        return 0;
    ingest_from_feed(j->in, j->feed.id, j->dev.id, j->dev.id ? j->dev.serial : j->feed.name);
    if (j->mrn[0]) {
        rc = store_patient_by_mrn(c, j->mrn, &p);
        if (rc < 0)
            return DB_STORAGE_FAILURE;
        if (!p.admitted)
            p.id = 0;
    }
    if (j->mrn[0] && bed[0]) {
        rc = store_stay_at(c, bed, j->first_time, &occupant);
        if (rc < 0)
            return DB_STORAGE_FAILURE;
        if (occupant != p.id && (occupant != 0 || p.id != 0)) {
            ingest_file_by_bed(j->in, NULL);
            ingest_file_to_patient(j->in, 0);
            if (mismatch(c, j, bed, p.id, occupant) != 0)
                return DB_STORAGE_FAILURE;
            return ingest_apply(c, j->in) == 0 ? 0 : DB_STORAGE_FAILURE;
        }
    }
    ingest_file_by_bed(j->in, bed);
    ingest_file_to_patient(j->in, p.id);
    return ingest_apply(c, j->in) == 0 ? 0 : DB_STORAGE_FAILURE;
}
