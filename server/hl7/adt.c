/* adt: ADT events into admissions, transfers and discharges (docs/hl7.md
 * "ADT"). Runs on the writer thread inside the message's transaction, and
 * uses the store functions the REST admissions use (store_patient_admit,
 * _transfer, _discharge, _update), so both paths behave the same; the
 * cancellations (A11, A12, A13) are in store_feeds.c. An event applies at
 * EVN-6 (when it happened), else EVN-2, else MSH-7. A refused event changes
 * nothing (its ERR says why). Every change is audited as done by the feed. */
#include "hl7_int.h"
#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct adt_ctx {
    hl7_job *j;
    db_conn *c;
    principal who; /* "feed:<name>" */
    int64_t at;    /* when the event happened */
    char mrn[64];
    char poc[64]; /* PV1-3.1 */
    char location[200];
    char bed[64];    /* the mapped bed, "" when none */
    bool other_unit; /* PV1-3 names a point of care no bed has */
    store_mrn_patient p;
    bool known; /* a record with this MRN exists */
} adt_ctx;

/* EVN-6, else EVN-2, else MSH-7; false after an ERR. */
static bool event_time(adt_ctx *a)
{
    static const struct {
        const char *seg;
        int field;
    } order[] = {{"EVN", 6}, {"EVN", 2}, {"MSH", 7}};
    char v[64];

    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (hl7_get_first(a->j->msg, order[i].seg, order[i].field, 1, v, sizeof v) <= 0)
            continue;
        if (hl7_dtm(v, 12, &a->at, NULL) == 0)
            return true;
        hl7_job_err(a->j, order[i].seg, 1, order[i].field, HL7_DATA_TYPE,
                    "%s-%d '%s' is not a valid time", order[i].seg, order[i].field, v);
        return false;
    }
    hl7_job_err(a->j, "EVN", 1, 2, HL7_REQUIRED_MISSING, "no event time (EVN-6, EVN-2, MSH-7)");
    return false;
}

/* PV1-3 (point of care^room^bed) into a bed; other_unit when the point of
 * care is not this ward's. false after an ERR (or a storage failure: *fail). */
static bool location(adt_ctx *a, int field, bool *fail)
{
    const hl7_msg *m = a->j->msg;
    long pv1 = hl7_seg_find(m, "PV1", 0);
    char room[64] = "", bedc[64] = "";
    int rc;

    a->bed[0] = a->poc[0] = '\0';
    a->other_unit = false;
    if (pv1 < 0 || hl7_get(m, (size_t)pv1, field, 0, 1, 0, a->poc, sizeof a->poc) <= 0) {
        hl7_job_err(a->j, "PV1", 1, field, HL7_REQUIRED_MISSING, "PV1-%d (location) is missing",
                    field);
        return false;
    }
    if (hl7_get(m, (size_t)pv1, field, 0, 2, 0, room, sizeof room) < 0 ||
        hl7_get(m, (size_t)pv1, field, 0, 3, 0, bedc, sizeof bedc) < 0)
        room[0] = bedc[0] = '\0';
    snprintf(a->location, sizeof a->location, "%s^%s^%s", a->poc, room, bedc);
    rc = store_unit_known(a->c, a->poc);
    if (rc < 0)
        return !(*fail = true);
    if (rc == 0) {
        a->other_unit = true;
        return true;
    }
    rc = store_bed_by_location(a->c, a->location, a->bed, sizeof a->bed);
    if (rc < 0)
        return !(*fail = true);
    if (rc == 0) {
        hl7_job_err(a->j, "PV1", 1, field, HL7_UNKNOWN_KEY, "location %s is not a bed of this ward",
                    a->location);
        return false;
    }
    return true;
}

/* "Given Middle Family" from PID-5 (XPN family^given^middle). */
static void patient_name(const hl7_msg *m, char *out, size_t len)
{
    char fam[80] = "", given[80] = "", mid[80] = "";
    long pid = hl7_seg_find(m, "PID", 0);

    if (pid >= 0) {
        if (hl7_get(m, (size_t)pid, 5, 0, 1, 0, fam, sizeof fam) < 0)
            fam[0] = '\0';
        if (hl7_get(m, (size_t)pid, 5, 0, 2, 0, given, sizeof given) < 0)
            given[0] = '\0';
        if (hl7_get(m, (size_t)pid, 5, 0, 3, 0, mid, sizeof mid) < 0)
            mid[0] = '\0';
    }
    snprintf(out, len, "%s%s%s%s%s", given, given[0] && (mid[0] || fam[0]) ? " " : "", mid,
             mid[0] && fam[0] ? " " : "", fam);
}

/* The demographics of PID (name, birth date, sex), in buffers the
 * patient fields point into. */
typedef struct adt_demo {
    char name[256], birth_date[16], sex[8];
} adt_demo;

/* PID's demographics as patient fields: name always, birth date and sex
 * when PID carries them (f->set names what it sets, for an update). */
static void demographics(const hl7_msg *m, adt_demo *d, store_patient_fields *f)
{
    char dob[16] = "", sex[8] = "";

    memset(f, 0, sizeof *f);
    patient_name(m, d->name, sizeof d->name);
    if (!d->name[0])
        snprintf(d->name, sizeof d->name, "(no name)");
    f->name = d->name;
    f->set = STORE_PF_NAME;
    if (hl7_get_first(m, "PID", 7, 1, dob, sizeof dob) >= 8 && strlen(dob) >= 8) {
        snprintf(d->birth_date, sizeof d->birth_date, "%.4s-%.2s-%.2s", dob, dob + 4, dob + 6);
        if (timefmt_parse_date(d->birth_date, NULL, NULL, NULL) == 0) {
            f->birth_date = d->birth_date;
            f->set |= STORE_PF_BIRTH_DATE;
        }
    }
    if (hl7_get_first(m, "PID", 8, 1, sex, sizeof sex) > 0) {
        snprintf(d->sex, sizeof d->sex, "%s",
                 strcmp(sex, "M") == 0   ? "male"
                 : strcmp(sex, "F") == 0 ? "female"
                                         : "other");
        f->sex = d->sex;
        f->set |= STORE_PF_SEX;
    }
}

/* Audits the change (patient before/after) as done by the feed. */
static int audit(adt_ctx *a, const char *action, int64_t id, json_t *before)
{
    json_t *after = NULL;
    char idbuf[32];
    int rc;

    snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
    if (store_patient_get(a->c, id, &after) != 1) {
        json_decref(before);
        return -1;
    }
    json_object_set_new(after, "hl7",
                        json_pack("{s:s, s:s, s:s}", "control_id", a->j->control_id, "event",
                                  a->j->trigger, "at",
                                  timefmt_format(a->at, (char[TIMEFMT_LEN]){0}, TIMEFMT_LEN)));
    rc = store_audit(a->c, &a->who, action, "patient", idbuf, before, after, a->j->now);
    json_decref(before);
    json_decref(after);
    a->j->patient_id = id;
    return rc;
}

/* A store refusal as an ERR; DB_STORAGE_FAILURE passes through. */
static int refused(adt_ctx *a, int rc, const char *what)
{
    const char *why = rc == ERR_BED_OCCUPIED       ? "the bed is occupied at that time"
                      : rc == ERR_ALREADY_ADMITTED ? "the MRN is already admitted"
                      : rc == ERR_NOT_ADMITTED     ? "the patient is not admitted here"
                      : rc == ERR_NOT_FOUND        ? "no such bed or patient"
                      : rc == ERR_VALIDATION       ? "the time is before the current stay began"
                      : rc == ERR_CONFLICT         ? "there is nothing to undo"
                                                   : "refused";
    if (rc < 0)
        return DB_STORAGE_FAILURE;
    hl7_job_err(a->j, "PID", 1, 3, HL7_INTERNAL, "%s MRN %s: %s", what, a->mrn, why);
    return 0;
}

static int admit(adt_ctx *a)
{
    store_patient_fields f;
    adt_demo d;
    int64_t id = 0;
    int rc;

    if (a->p.admitted)
        return refused(a, ERR_ALREADY_ADMITTED, "cannot admit");
    demographics(a->j->msg, &d, &f);
    f.mrn = a->mrn;
    f.bed = a->bed;
    rc = store_patient_admit(a->c, &f, a->at, a->j->now, &id);
    if (rc != 0)
        return refused(a, rc, "cannot admit");
    a->j->action = "admit";
    return audit(a, "patient.admit", id, NULL) == 0 ? 0 : DB_STORAGE_FAILURE;
}

/* The record before a change (for the audit); NULL on failure. */
static json_t *before(adt_ctx *a)
{
    json_t *b = NULL;

    return store_patient_get(a->c, a->p.id, &b) == 1 ? b : NULL;
}

/* Runs one store change on the MRN's patient and audits it. */
static int change(adt_ctx *a, int rc, json_t *was, const char *action, const char *event,
                  const char *what)
{
    if (rc != 0) {
        json_decref(was);
        return refused(a, rc, what);
    }
    a->j->action = event;
    return audit(a, action, a->p.id, was) == 0 ? 0 : DB_STORAGE_FAILURE;
}

static int transfer(adt_ctx *a)
{
    json_t *was;

    if (!a->p.admitted)
        return refused(a, ERR_NOT_ADMITTED, "cannot transfer");
    was = before(a);
    if (!was)
        return DB_STORAGE_FAILURE;
    /* A transfer to another unit takes the patient out of this ward. */
    if (a->other_unit)
        return change(a, store_patient_discharge(a->c, a->p.id, a->at, a->j->now), was,
                      "patient.discharge", "discharge", "cannot transfer out");
    return change(a, store_patient_transfer(a->c, a->p.id, a->bed, a->at, a->j->now), was,
                  "patient.transfer", "transfer", "cannot transfer");
}

static int update(adt_ctx *a)
{
    store_patient_fields f;
    adt_demo d;
    json_t *was;
    int rc;

    demographics(a->j->msg, &d, &f);
    was = before(a);
    if (!was)
        return DB_STORAGE_FAILURE;
    rc = store_patient_update(a->c, a->p.id, &f, a->j->now);
    return change(a, rc, was, "patient.update", "update", "cannot update");
}

static int dispatch(adt_ctx *a)
{
    const char *t = a->j->trigger;
    json_t *was;

    if (strcmp(t, "A01") == 0)
        return admit(a);
    if (strcmp(t, "A02") == 0)
        return transfer(a);
    if (!a->known)
        return strcmp(t, "A08") == 0 ? (a->j->ignored = true, 0)
                                     : refused(a, ERR_NOT_ADMITTED, "cannot apply");
    if (strcmp(t, "A08") == 0)
        return update(a);
    if (strcmp(t, "A13") == 0) {
        if (a->p.admitted)
            return refused(a, ERR_CONFLICT, "cannot cancel the discharge of");
        was = before(a);
        return was ? change(a, store_patient_cancel_discharge(a->c, a->p.id, a->j->now), was,
                            "patient.cancel_discharge", "cancel_discharge",
                            "cannot cancel the discharge of")
                   : DB_STORAGE_FAILURE;
    }
    if (!a->p.admitted)
        return refused(a, ERR_NOT_ADMITTED, "cannot apply");
    was = before(a);
    if (!was)
        return DB_STORAGE_FAILURE;
    if (strcmp(t, "A03") == 0)
        return change(a, store_patient_discharge(a->c, a->p.id, a->at, a->j->now), was,
                      "patient.discharge", "discharge", "cannot discharge");
    if (strcmp(t, "A11") == 0)
        return change(a, store_patient_cancel_admit(a->c, a->p.id, a->j->now), was,
                      "patient.cancel_admit", "cancel_admit", "cannot cancel the admission of");
    return change(a, store_patient_cancel_transfer(a->c, a->p.id, a->j->now), was,
                  "patient.cancel_transfer", "cancel_transfer", "cannot cancel the transfer of");
}

int adt_apply(db_conn *c, hl7_job *j)
{
    adt_ctx a = {.j = j, .c = c};
    bool fail = false;
    int rc;

    a.who.role = ROLE_NONE;
    snprintf(a.who.name, sizeof a.who.name, "feed:%.120s", j->feed.name);
    if (hl7_get_first(j->msg, "PID", 3, 1, a.mrn, sizeof a.mrn) <= 0) {
        hl7_job_err(j, "PID", 1, 3, HL7_REQUIRED_MISSING, "PID-3 (MRN) is missing");
        return 0;
    }
    if (!event_time(&a))
        return 0;
    /* PV1-3 names the location for every event handled (A02: the new one,
     * A12: the one restored) */
    if (!location(&a, 3, &fail))
        return fail ? DB_STORAGE_FAILURE : 0;
    rc = store_patient_by_mrn(c, a.mrn, &a.p);
    if (rc < 0)
        return DB_STORAGE_FAILURE;
    a.known = rc == 1;
    /* Admissions to other units are none of this ward's business; a
     * transfer out of the ward is a discharge from it. */
    if (a.other_unit && strcmp(j->trigger, "A02") != 0) {
        j->ignored = true;
        return 0;
    }
    if (a.other_unit && !a.p.admitted) {
        j->ignored = true;
        return 0;
    }
    return dispatch(&a);
}
