/* api_handover: GET /api/v1/handover?hours=8|12[&patient=ID] (viewer)
 * (docs/api.md "Handover", docs/dashboard.md "Handover").
 *
 * For each admitted patient (or the one asked for), what happened in the
 * last `hours`: the decision now with its reasons and the decision at the
 * window's start, the CTCAE terms whose grade differs between the two,
 * the doses recorded in the window (given and held), the alerts open at
 * any time in it with how they ended, and the trend of each vital sign.
 * Grades and decisions come from two replays of the engine (at the start
 * and at the end of the window, like GET /toxicity?at=), so they are the
 * same statements the toxicity view makes for those times. */
#include "api.h"
#include "clinical.h"
#include "store.h"
#include "timefmt.h"

#include <stdlib.h>
#include <string.h>

#define HANDOVER_ALERTS_MAX 500

/* The toxicity object of patient `id` at `at` (new reference); 1/0/-1
 * like clinical_evaluate_at. */
static int toxicity_at(db_conn *c, int64_t id, int64_t at, json_t **tox, json_t **patient)
{
    clinical_eval ev;
    int rc = clinical_evaluate_at(c, id, at, &ev);

    if (rc == 1) {
        *tox = engine_result_to_json(ev.r);
        if (patient)
            *patient = json_incref(ev.patient);
        if (!*tox)
            rc = -1;
    }
    clinical_eval_free(&ev);
    return rc;
}

/* The terms whose grade at the end differs from the start:
 * [{"term", "label", "from", "to", "since"}]. */
static json_t *grade_changes(const json_t *start, const json_t *end)
{
    json_t *out = json_array(), *t;
    size_t i;

    json_array_foreach(json_object_get(end, "terms"), i, t)
    {
        const json_t *before = json_array_get(json_object_get(start, "terms"), i);
        json_t *g0 = json_object_get(before, "grade"), *g1 = json_object_get(t, "grade");

        if (json_equal(g0, g1) || (json_is_null(g0) && json_is_null(g1)) ||
            (!g0 && json_is_null(g1)))
            continue;
        json_array_append_new(
            out, json_pack("{s:O, s:O, s:O, s:O, s:O}", "term", json_object_get(t, "term"), "label",
                           json_object_get(t, "label"), "from", g0 ? g0 : json_null(), "to", g1,
                           "since", json_object_get(t, "since")));
    }
    return out;
}

/* Whether an item's time field lies in [from, to]. */
static bool time_in(const json_t *item, const char *key, int64_t from, int64_t to)
{
    int64_t t;
    const char *s = json_string_value(json_object_get(item, key));

    return s && timefmt_parse(s, &t) == 0 && t >= from && t <= to;
}

/* Alerts open at any time in [from, to]: raised before its end and not
 * resolved before its start. */
static bool alert_in(const json_t *a, int64_t from, int64_t to)
{
    int64_t raised, resolved;
    const char *rs = json_string_value(json_object_get(a, "raised_at"));
    const char *rv = json_string_value(json_object_get(a, "resolved_at"));

    if (!rs || timefmt_parse(rs, &raised) != 0 || raised > to)
        return false;
    return !rv || (timefmt_parse(rv, &resolved) == 0 && resolved >= from);
}

/* Keeps the items of `list` (stolen) that `keep` accepts; a new array. */
static json_t *filter(json_t *list, bool (*keep)(const json_t *, int64_t, int64_t), int64_t from,
                      int64_t to)
{
    json_t *out = json_array(), *item;
    size_t i;

    json_array_foreach(list, i, item)
    {
        if (keep(item, from, to))
            json_array_append(out, item);
    }
    json_decref(list);
    return out;
}

static bool dose_in(const json_t *d, int64_t from, int64_t to)
{
    return time_in(d, "time", from, to);
}

/* The decision without its evidence: {"action", "reasons": [{"rule", "text", "source"}]}. */
static json_t *decision_brief(const json_t *tox)
{
    const json_t *d = json_object_get(tox, "decision");
    json_t *reasons = json_array(), *rs;
    size_t i;

    json_array_foreach(json_object_get(d, "reasons"), i, rs)
    {
        json_array_append_new(reasons,
                              json_pack("{s:O, s:O, s:O}", "rule", json_object_get(rs, "rule"),
                                        "text", json_object_get(rs, "text"), "source",
                                        json_object_get(rs, "source")));
    }
    return json_pack("{s:O, s:o}", "action", json_object_get(d, "action"), "reasons", reasons);
}

/* The doses, alerts and vitals of the window into `p`. 0 or -1. */
static int add_records(db_conn *c, int64_t id, int64_t from, int64_t to, json_t *p)
{
    json_t *doses = NULL, *alerts = NULL, *vitals = NULL;

    if (store_dose_list(c, id, &doses) != 0 ||
        store_alert_list(c, "all", id, HANDOVER_ALERTS_MAX, &alerts) != 0 ||
        store_handover_vitals(c, id, from, to, &vitals) != 0) {
        json_decref(doses);
        json_decref(alerts);
        return -1;
    }
    json_object_set_new(p, "doses", filter(doses, dose_in, from, to));
    json_object_set_new(p, "alerts",
                        filter(json_incref(json_object_get(alerts, "alerts")), alert_in, from, to));
    json_object_set_new(p, "vitals", vitals);
    json_decref(alerts);
    return 0;
}

/* One patient's handover; 1 with *out, 0 no such patient, -1. */
static int patient_handover(db_conn *c, int64_t id, int64_t from, int64_t to, json_t **out)
{
    json_t *start = NULL, *end = NULL, *patient = NULL, *p = NULL;
    int rc = toxicity_at(c, id, to, &end, &patient);

    if (rc != 1)
        goto out;
    rc = toxicity_at(c, id, from, &start, NULL);
    if (rc != 1)
        goto out;
    p = json_pack("{s:{s:O, s:O, s:O, s:O, s:O}, s:o, s:O, s:o, s:O}", "patient", "id",
                  json_object_get(patient, "id"), "name", json_object_get(patient, "name"), "mrn",
                  json_object_get(patient, "mrn"), "bed",
                  json_object_get(patient, "bed") ? json_object_get(patient, "bed") : json_null(),
                  "status", json_object_get(patient, "status"), "decision", decision_brief(end),
                  "decision_at_start",
                  json_object_get(json_object_get(start, "decision"), "action"), "grades",
                  grade_changes(start, end), "news2", json_object_get(end, "news2"));
    rc = p && add_records(c, id, from, to, p) == 0 ? 1 : -1;
out:
    if (rc == 1)
        *out = p;
    else
        json_decref(p);
    json_decref(start);
    json_decref(end);
    json_decref(patient);
    return rc;
}

/* The ids to report: the one asked for, or every admitted patient. */
static int handover_ids(db_conn *c, int64_t one, int64_t **ids, size_t *n)
{
    store_admitted *adm = NULL;

    if (one) {
        *ids = malloc(sizeof **ids);
        if (!*ids)
            return -1;
        (*ids)[0] = one;
        *n = 1;
        return 0;
    }
    if (store_clinical_admitted(c, &adm, n) != 0)
        return -1;
    *ids = calloc(*n ? *n : 1, sizeof **ids);
    for (size_t i = 0; *ids && i < *n; i++)
        (*ids)[i] = adm[i].id;
    free(adm);
    return *ids ? 0 : -1;
}

static bool window_or_reply(struct req *r, long *hours, int64_t *patient, enum MHD_Result *ret)
{
    long pid = 0;

    if (req_query_int(r, "hours", 12, 8, 12, hours) != 0 || (*hours != 8 && *hours != 12)) {
        *ret = reply_bad_query(r, "hours", "must be 8 or 12");
        return false;
    }
    if (req_query_int(r, "patient", 0, 1, 0x7fffffffL, &pid) != 0) {
        *ret = reply_bad_query(r, "patient", "must be a patient id");
        return false;
    }
    *patient = pid;
    return true;
}

enum MHD_Result api_handover_get(struct req *r)
{
    enum MHD_Result ret;
    int64_t one, to = timefmt_now_ms(), from, *ids = NULL;
    json_t *list = json_array(), *p = NULL;
    char t0[TIMEFMT_LEN], t1[TIMEFMT_LEN];
    db_conn *c = db_reader();
    size_t n = 0;
    long hours;
    int rc = 0;

    if (!window_or_reply(r, &hours, &one, &ret)) {
        json_decref(list);
        return ret;
    }
    from = to - hours * 3600000LL;
    if (!c || !list || handover_ids(c, one, &ids, &n) != 0)
        rc = -1;
    for (size_t i = 0; rc >= 0 && i < n; i++) {
        rc = patient_handover(c, ids[i], from, to, &p);
        if (rc == 1)
            json_array_append_new(list, p);
    }
    free(ids);
    if (rc < 0 || (one && rc == 0)) {
        json_decref(list);
        return rc < 0 ? reply_error(r, ERR_STORAGE, NULL, NULL) : reply_no_patient(r);
    }
    return reply_json(r, 200,
                      json_pack("{s:I, s:s, s:s, s:o}", "hours", (json_int_t)hours, "from",
                                timefmt_format(from, t0, sizeof t0), "to",
                                timefmt_format(to, t1, sizeof t1), "patients", list));
}
