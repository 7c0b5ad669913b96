/* fhir_observation: POST /fhir/Observation, read, vread, search, $lastn.
 *
 * A created Observation is a wardd reading (two for a blood-pressure
 * panel) stored by the same batch path as POST /api/v1/readings
 * (include/ingest.h): validated by the observation catalogue, filed by the
 * device's bed or to the staff member's subject, 201 only once durable.
 * Its id is the reading's row id; a panel's id joins its two rows
 * ("41-42"). */
#include "app.h"
#include "fhir.h"
#include "fhir_search.h"
#include "ingest.h"
#include "store.h"
#include "timefmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- rendering ------------------------------------------------------------- */

/* A stored row as a reading FHIR shows; false for what it does not show
 * (a code without LOINC, a flag, a grade). */
static bool reading_of(const store_obs_row *row, fhir_reading *rd)
{
    memset(rd, 0, sizeof *rd);
    rd->code = obs_code_lookup(row->code);
    if (!rd->code || !rd->code->loinc || rd->code->kind != OBS_NUMERIC)
        return false;
    rd->id = row->id;
    rd->patient_id = row->patient_id;
    rd->device_id = row->device_id;
    rd->value = row->value;
    rd->time_ms = row->time_ms;
    rd->received_ms = row->received_ms;
    rd->msg_id = row->msg_id[0] ? row->msg_id : NULL;
    rd->invalid = row->invalid;
    return true;
}

/* One row as an Observation, or NULL when it is nothing FHIR shows. */
static json_t *render_row(const store_obs_row *row)
{
    fhir_reading rd;

    return reading_of(row, &rd) ? fhir_observation_out(&rd) : NULL;
}

static json_t *component_of(const json_t *obs)
{
    return json_pack("{s:O, s:O}", "code", json_object_get(obs, "code"), "valueQuantity",
                     json_object_get(obs, "valueQuantity"));
}

/* A blood-pressure panel (85354-9) from its systolic and diastolic rows. */
static json_t *render_panel(const store_obs_row *sbp, const store_obs_row *dbp)
{
    json_t *obs = render_row(sbp), *dia = render_row(dbp);
    char id[48];

    if (!obs || !dia) {
        json_decref(obs);
        json_decref(dia);
        return NULL;
    }
    snprintf(id, sizeof id, "%" PRId64 "-%" PRId64, sbp->id, dbp->id);
    json_object_set_new(obs, "component",
                        json_pack("[o, o]", component_of(obs), component_of(dia)));
    json_object_set_new(obs, "id", json_string(id));
    json_object_set_new(obs, "code",
                        json_pack("{s:[{s:s, s:s, s:s}], s:s}", "coding", "system", FHIR_LOINC,
                                  "code", "85354-9", "display", "Blood pressure panel", "text",
                                  "Blood pressure"));
    json_object_del(obs, "valueQuantity");
    json_decref(dia);
    return obs;
}

/* "41" or "41-42" (a panel): the row ids. 1 or 2, 0 when not an id. */
static int parse_obs_id(const char *s, int64_t ids[2])
{
    char *end;
    long long a = strtoll(s, &end, 10), b;

    if (end == s || a <= 0)
        return 0;
    ids[0] = a;
    if (!*end)
        return 1;
    if (*end != '-')
        return 0;
    s = end + 1;
    b = strtoll(s, &end, 10);
    if (end == s || *end || b <= 0)
        return 0;
    ids[1] = b;
    return 2;
}

/* The resource with id `s` from c: 1 found (*out new), 0 none, -1 failure. */
static int load_observation(db_conn *c, const char *s, json_t **out)
{
    int64_t ids[2];
    store_obs_row rows[2];
    int n = parse_obs_id(s, ids), rc;

    *out = NULL;
    if (n == 0)
        return 0;
    for (int i = 0; i < n; i++) {
        rc = store_obs_get(c, ids[i], &rows[i]);
        if (rc <= 0)
            return rc;
    }
    if (n == 2 && (strcmp(rows[0].code, "sbp") || strcmp(rows[1].code, "dbp") ||
                   rows[0].time_ms != rows[1].time_ms || rows[0].patient_id != rows[1].patient_id))
        return 0;
    *out = n == 2 ? render_panel(&rows[0], &rows[1]) : render_row(&rows[0]);
    return *out ? 1 : 0;
}

/* --- create ---------------------------------------------------------------- */

struct create {
    ingest *in;
    char base[256];
    bool minimal;
};

static void create_free(void *p)
{
    struct create *cr = p;

    if (!cr)
        return;
    ingest_free(cr->in);
    free(cr);
}

/* The stored row of reading i: the new row, or the earlier one with the
 * same (source, identifier). 1/0/-1 as store_obs_get. */
static int stored_row(db_conn *c, const ingest *in, const principal *who, size_t i,
                      store_obs_row *row)
{
    int64_t id = ingest_obs_id(in, i);

    if (id)
        return store_obs_get(c, id, row);
    return store_obs_by_msg(c, who->role == ROLE_DEVICE ? who->id : 0,
                            who->role == ROLE_DEVICE ? 0 : who->id, ingest_reading(in, i)->id, row);
}

static int create_apply(db_conn *c, struct req *r)
{
    struct create *cr = r->ctx;
    json_t *res = NULL;
    char path[128];

    if (ingest_apply(c, cr->in) != 0 ||
        fhir_observation_stored(c, cr->in, &r->who, &res, path, sizeof path) != 0)
        return DB_STORAGE_FAILURE;
    r->out_status = ingest_accepted(cr->in) ? 201 : 200;
    r->out_header = MHD_HTTP_HEADER_LOCATION;
    snprintf(r->out_header_value, sizeof r->out_header_value, "%s/%s", cr->base, path);
    if (cr->minimal) {
        json_decref(res);
        res = json_object();
    }
    r->out = res;
    return 0;
}

static void create_committed(struct req *r)
{
    struct create *cr = r->ctx;
    ingest *in = cr->in;

    cr->in = NULL;
    ingest_committed(in);
}

bool fhir_resource_or_reply(struct req *r, const json_t *body, const char *type,
                            enum MHD_Result *ret)
{
    const char *rt = json_string_value(json_object_get(body, "resourceType"));
    fhir_issue is = {.code = "structure", .expression = "resourceType"};

    if (json_is_object(body) && rt && strcmp(rt, type) == 0)
        return true;
    if (!json_is_object(body) || !rt)
        snprintf(is.diagnostics, sizeof is.diagnostics,
                 "The body is JSON but not a FHIR resource (no resourceType); %s expected.", type);
    else
        snprintf(is.diagnostics, sizeof is.diagnostics, "This URL takes a %s, not a %.40s.", type,
                 rt);
    *ret = fhir_reply_issue(r, 400, &is);
    return false;
}

static unsigned fail(fhir_issue *err, const char *code, const char *expression,
                     const char *diagnostics)
{
    err->code = code;
    snprintf(err->expression, sizeof err->expression, "%s", expression);
    snprintf(err->diagnostics, sizeof err->diagnostics, "%.250s", diagnostics);
    return 422;
}

/* Where the readings go: a device's bed, or the staff member's subject
 * (required, must exist). 0 or an HTTP status with *err. */
static unsigned filing(struct req *r, const fhir_obs_in *fin, ingest *in, fhir_issue *err)
{
    db_conn *c;
    json_t *p = NULL;
    int rc;

    if (r->who.role == ROLE_DEVICE) {
        ingest_from_device(in, r->who.id, r->who.name);
        ingest_label_bed(in, r->who.bed);
        return 0;
    }
    if (!fin->subject_patient)
        return fail(err, "required", "Observation.subject",
                    "Staff must name the patient: subject {\"reference\": \"Patient/{id}\"}.");
    c = db_reader();
    rc = c ? store_patient_get(c, fin->subject_patient, &p) : -1;
    json_decref(p);
    if (rc < 0) {
        fail(err, "transient", "", "The database is unavailable; nothing was written.");
        return 503;
    }
    if (rc == 0)
        return fail(err, "not-found", "Observation.subject",
                    "The subject is not a Patient of this server.");
    ingest_from_user(in, &r->who);
    ingest_file_to_patient(in, fin->subject_patient);
    return 0;
}

/* Each item through the observation catalogue, as a JSON-API reading:
 * units converted, plausibility and time checked. 0 or 422 with *err. */
static unsigned readings(struct req *r, fhir_obs_in *fin, ingest *in, fhir_issue *err)
{
    /* devices: no reading older than the horizon (docs/security.md) */
    obs_context ctx = {.now_ms = timefmt_now_ms(),
                       .require_id = false,
                       .max_age_ms =
                           r->who.role == ROLE_DEVICE ? r->app->device_reading_horizon_ms : 0};

    for (size_t i = 0; i < fin->n; i++) {
        obs_error oe;
        char msg[240];
        if (obs_parse_reading(fin->items[i], &ctx, ingest_slot(in), &oe) == 0) {
            ingest_keep(in);
            continue;
        }
        snprintf(msg, sizeof msg, "%.200s (%.30s)", oe.message, oe.code);
        return fail(err, strcmp(oe.code, "invalid_unit") == 0 ? "value" : "invalid",
                    "Observation.value", msg);
    }
    return 0;
}

unsigned fhir_observation_prepare(struct req *r, const json_t *obs, ingest **out, fhir_issue *err)
{
    fhir_obs_in fin;
    unsigned status;

    *out = NULL;
    if (fhir_observation_in(obs, &fin, err) != 0)
        return 422;
    *out = ingest_new(fin.n);
    if (!*out) {
        fhir_obs_in_clear(&fin);
        fail(err, "exception", "", "Out of memory.");
        return 500;
    }
    status = filing(r, &fin, *out, err);
    if (!status)
        status = readings(r, &fin, *out, err);
    fhir_obs_in_clear(&fin);
    if (status) {
        ingest_free(*out);
        *out = NULL;
    }
    return status;
}

int fhir_observation_stored(db_conn *c, ingest *in, const principal *who, json_t **res,
                            char *location, size_t len)
{
    store_obs_row rows[2];
    size_t n = ingest_valid_count(in);

    if (n < 1 || n > 2)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (stored_row(c, in, who, i, &rows[i]) != 1)
            return -1;
    *res = n == 2 ? render_panel(&rows[0], &rows[1]) : render_row(&rows[0]);
    if (!*res)
        return -1;
    snprintf(location, len, "Observation/%s/_history/1",
             json_string_value(json_object_get(*res, "id")));
    return 0;
}

/* If-None-Exist: identifier=system|value. 1 replied with the existing
 * resource (or an error), 0 go on. */
static int if_none_exist(struct req *r, enum MHD_Result *ret)
{
    const char *h = req_header(r, "If-None-Exist");
    int64_t device = r->who.role == ROLE_DEVICE ? r->who.id : 0;
    int64_t user = r->who.role == ROLE_DEVICE ? 0 : r->who.id;
    char key[OBS_ID_MAX + 1], panel_key[OBS_ID_MAX + 8];
    store_obs_row row;
    json_t *ident, *res;
    db_conn *c;
    int rc;

    if (!h)
        return 0;
    if (strncmp(h, "identifier=", 11) != 0 || !strchr(h, '|')) {
        fhir_issue is = {.code = "not-supported", .expression = "If-None-Exist"};
        snprintf(is.diagnostics, sizeof is.diagnostics,
                 "If-None-Exist supports identifier=system|value only.");
        *ret = fhir_reply_issue(r, 412, &is);
        return 1;
    }
    ident = json_pack("[{s:s%, s:s}]", "system", h + 11, (size_t)(strchr(h, '|') - h - 11), "value",
                      strchr(h, '|') + 1);
    rc = ident ? fhir_identifier_key(ident, key, sizeof key) : -1;
    json_decref(ident);
    if (rc != 0)
        return 0;
    c = db_reader();
    if (!c) {
        *ret = reply_error(r, ERR_STORAGE, NULL, NULL);
        return 1;
    }
    rc = store_obs_by_msg(c, device, user, key, &row);
    /* A panel's rows carry the key with a component suffix. */
    snprintf(panel_key, sizeof panel_key, "%s#sbp", key);
    if (rc == 0)
        rc = store_obs_by_msg(c, device, user, panel_key, &row);
    if (rc < 0) {
        *ret = reply_error(r, ERR_STORAGE, NULL, NULL);
        return 1;
    }
    if (rc == 0)
        return 0;
    res = render_row(&row);
    *ret = res ? reply_json(r, 200, res) : reply_error(r, ERR_INTERNAL, NULL, NULL);
    return 1;
}

enum MHD_Result fhir_observation_post(struct req *r)
{
    enum MHD_Result ret = MHD_NO;
    fhir_issue is = {0};
    struct create *cr;
    const char *prefer = req_header(r, "Prefer");
    unsigned status;

    if (!fhir_format_or_reply(r, &ret) ||
        !fhir_resource_or_reply(r, r->json, "Observation", &ret) || if_none_exist(r, &ret))
        return ret;
    cr = calloc(1, sizeof *cr);
    if (!cr)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    r->ctx = cr;
    r->ctx_free = create_free;
    status = fhir_observation_prepare(r, r->json, &cr->in, &is);
    if (status)
        return fhir_reply_issue(r, status, &is);
    fhir_base_url(r, cr->base, sizeof cr->base);
    cr->minimal = prefer && strstr(prefer, "return=minimal");
    r->after_commit = create_committed;
    return req_write(r, create_apply);
}

/* --- read ------------------------------------------------------------------ */

static enum MHD_Result read_reply(struct req *r, const char *version)
{
    enum MHD_Result ret = MHD_NO;
    db_conn *c = db_reader();
    json_t *res = NULL;
    int rc;

    if (!fhir_format_or_reply(r, &ret))
        return ret;
    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    rc = load_observation(c, r->params[0], &res);
    if (rc == 0 && !version)
        rc = fhir_finding_read(c, r->params[0], &res);
    if (rc > 0 && strcmp(json_string_value(json_object_get(res, "resourceType")), "Observation"))
        rc = 0;
    if (rc < 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    if (rc == 0 || (version && strcmp(version, "1") != 0)) {
        json_decref(res);
        return reply_errorf(r, ERR_NOT_FOUND, NULL, "Observation/%s%s%s is not known here.",
                            r->params[0], version ? "/_history/" : "", version ? version : "");
    }
    return reply_json_with_header(r, 200, res, MHD_HTTP_HEADER_ETAG, "W/\"1\"");
}

enum MHD_Result fhir_observation_read(struct req *r)
{
    return read_reply(r, NULL);
}

enum MHD_Result fhir_observation_vread(struct req *r)
{
    return read_reply(r, r->params[1]);
}

/* --- search ---------------------------------------------------------------- */

/* code=[system|]code[,...] -> wardd codes (a panel asks for sbp and dbp). */
static int codes_of(const char *v, store_obs_find_q *q)
{
    char buf[512];
    char *save = NULL;

    snprintf(buf, sizeof buf, "%s", v);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *bar = strchr(tok, '|');
        const char *code = bar ? bar + 1 : tok;
        const obs_code *oc;
        if (bar && (size_t)(bar - tok) != strlen(FHIR_LOINC))
            return -1;
        if (bar && strncmp(tok, FHIR_LOINC, strlen(FHIR_LOINC)) != 0)
            return -1;
        if (strcmp(code, "85354-9") == 0) {
            if (q->n_codes + 2 > STORE_FIND_CODES_MAX)
                return -1;
            q->codes[q->n_codes++] = "sbp";
            q->codes[q->n_codes++] = "dbp";
            continue;
        }
        oc = fhir_code_for_loinc(code);
        if (!oc || q->n_codes == STORE_FIND_CODES_MAX)
            return -1;
        q->codes[q->n_codes++] = oc->code;
    }
    return q->n_codes ? 0 : -1;
}

/* category=vital-signs|laboratory narrows the codes (all of a category
 * when no code was asked for). */
static int category_of(const char *v, store_obs_find_q *q)
{
    const char *cat = strchr(v, '|') ? strchr(v, '|') + 1 : v;
    size_t keep = 0;

    if (strcmp(cat, "vital-signs") != 0 && strcmp(cat, "laboratory") != 0)
        return -1;
    if (q->n_codes) {
        for (size_t i = 0; i < q->n_codes; i++)
            if (strcmp(fhir_category_of(obs_code_lookup(q->codes[i])), cat) == 0)
                q->codes[keep++] = q->codes[i];
        q->n_codes = keep;
        /* nothing of that category asked: no match (an impossible code) */
        if (!keep)
            q->codes[q->n_codes++] = "";
        return 0;
    }
    for (size_t i = 0; i < obs_code_count() && q->n_codes < STORE_FIND_CODES_MAX; i++) {
        const obs_code *oc = obs_code_by_id((int)i);
        if (oc && oc->loinc && oc->kind == OBS_NUMERIC && strcmp(fhir_category_of(oc), cat) == 0)
            q->codes[q->n_codes++] = oc->code;
    }
    return 0;
}

static enum MHD_Result bad_param(struct req *r, const char *param, const char *why)
{
    fhir_issue is = {.code = "invalid"};

    snprintf(is.expression, sizeof is.expression, "%s", param);
    snprintf(is.diagnostics, sizeof is.diagnostics, "%s", why);
    return fhir_reply_issue(r, 400, &is);
}

/* The search's filters from its parameters; false when it replied. */
static bool query_or_reply(struct req *r, fhir_params *p, store_obs_find_q *q, enum MHD_Result *ret)
{
    const char *v;

    memset(q, 0, sizeof *q);
    q->from = INT64_MIN;
    q->to = INT64_MAX;
    v = fhir_param(p, "patient");
    if (!v)
        v = fhir_param(p, "subject");
    if (v && !(q->patient_id = fhir_patient_ref(v)))
        return (*ret = bad_param(r, "patient", "patient must be a Patient id or Patient/{id}."),
                false);
    v = fhir_param(p, "code");
    if (v && codes_of(v, q) != 0)
        return (*ret = bad_param(r, "code",
                                 "code must list LOINC codes this server holds "
                                 "(http://loinc.org|8867-4 or 8867-4; docs/fhir.md)."),
                false);
    v = fhir_param(p, "category");
    if (v && category_of(v, q) != 0)
        return (*ret = bad_param(r, "category", "category must be vital-signs or laboratory."),
                false);
    for (size_t i = 0; (v = fhir_param_nth(p, "date", i)); i++)
        if (fhir_date_narrow(v, &q->from, &q->to) != 0)
            return (*ret = bad_param(r, "date",
                                     "date must be a FHIR date or dateTime with an optional "
                                     "eq, ge, gt, le or lt prefix (date=ge2026-03-08)."),
                    false);
    v = fhir_param(p, "_sort");
    if (v && strcmp(v, "date") != 0 && strcmp(v, "-date") != 0)
        return (*ret = bad_param(r, "_sort", "_sort must be date or -date."), false);
    q->newest_first = v && strcmp(v, "-date") == 0;
    v = fhir_param(p, "_cursor");
    if (v) {
        long long t, id;
        int used = 0;
        if (sscanf(v, "%lld.%lld%n", &t, &id, &used) != 2 || v[used])
            return (*ret = bad_param(r, "_cursor", "_cursor is not one this server gave."), false);
        q->has_cursor = true;
        q->cursor_time = t;
        q->cursor_id = id;
    }
    return true;
}

/* A page of a search, written as text (fhir_text.c). */
struct page {
    char base[256];
    fhir_buf entries, one;
    int64_t last_time, last_id;
};

static void page_free(struct page *pg)
{
    free(pg->entries.p);
    free(pg->one.p);
}

static int add_row(void *arg, const store_obs_row *row)
{
    struct page *pg = arg;
    fhir_reading rd;
    char id[32];

    pg->last_time = row->time_ms;
    pg->last_id = row->id;
    if (!reading_of(row, &rd))
        return 0;
    pg->one.len = 0;
    fhir_observation_text(&rd, &pg->one);
    snprintf(id, sizeof id, "%" PRId64, row->id);
    fhir_entry_text(&pg->entries, pg->base, "Observation", id, pg->one.p ? pg->one.p : "{}");
    return pg->entries.oom || pg->one.oom ? -1 : 0;
}

/* Replies with the searchset head and the page's entries. */
static enum MHD_Result reply_page(struct req *r, json_t *head, struct page *pg)
{
    char *text = fhir_bundle_text(head, &pg->entries);

    page_free(pg);
    return text ? reply_json_text(r, 200, text) : reply_error(r, ERR_INTERNAL, NULL, NULL);
}

/* GET /fhir/Observation?patient=&code=&date=&category=&_count=&_sort=&_summary=count */
enum MHD_Result fhir_observation_search(struct req *r)
{
    enum MHD_Result ret = MHD_NO;
    fhir_params p;
    store_obs_find_q q;
    struct page pg = {0};
    const char *summary;
    char cursor[64];
    db_conn *c = db_reader();
    bool more = false;
    int count;

    fhir_params_read(r, &p);
    fhir_params_common(&p);
    if (!fhir_format_or_reply(r, &ret) || !query_or_reply(r, &p, &q, &ret) ||
        !fhir_count_or_reply(r, &p, &count, &ret) || !fhir_params_known_or_reply(r, &p, &ret))
        return ret;
    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    summary = fhir_param(&p, "_summary");
    if (summary && strcmp(summary, "count") == 0) {
        int64_t n;
        if (store_obs_count(c, &q, &n) != 0)
            return reply_error(r, ERR_STORAGE, NULL, NULL);
        json_t *out = fhir_searchset(r, &p, "Observation", NULL);
        json_object_set_new(out, "total", json_integer(n));
        return reply_json(r, 200, out);
    }
    q.limit = count;
    fhir_base_url(r, pg.base, sizeof pg.base);
    if (store_obs_find(c, &q, add_row, &pg, &more) != 0) {
        page_free(&pg);
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    }
    snprintf(cursor, sizeof cursor, "%" PRId64 ".%" PRId64, pg.last_time, pg.last_id);
    return reply_page(r, fhir_searchset(r, &p, "Observation", more ? cursor : NULL), &pg);
}

/* The newest `max` readings of each of q's codes for one patient. */
static int lastn_patient(db_conn *c, const store_obs_find_q *q, int64_t patient, long max,
                         struct page *pg)
{
    for (size_t i = 0; i < q->n_codes; i++) {
        store_obs_find_q one = *q;
        bool more;
        one.patient_id = patient;
        one.codes[0] = q->codes[i];
        one.n_codes = 1;
        one.newest_first = true;
        one.has_cursor = false;
        one.limit = (int)max;
        if (store_obs_find(c, &one, add_row, pg, &more) != 0)
            return -1;
    }
    return 0;
}

/* $lastn for the patient asked for, else for every admitted patient (the
 * ward's newest vitals in one request). max=1 reads the writer's `latest`
 * table in one query; more walks each patient's codes newest first. */
static int lastn_all(db_conn *c, const store_obs_find_q *q, long max, struct page *pg)
{
    store_admitted *list = NULL;
    size_t n = 0;
    int rc = 0;

    if (max == 1 && q->from == INT64_MIN && q->to == INT64_MAX)
        return store_obs_latest_rows(c, q->patient_id, q->codes, q->n_codes, add_row, pg);
    if (q->patient_id)
        return lastn_patient(c, q, q->patient_id, max, pg);
    if (store_snapshot_begin(c) != 0)
        return -1;
    if (store_clinical_admitted(c, &list, &n) != 0)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = lastn_patient(c, q, list[i].id, max, pg);
    store_snapshot_end(c);
    free(list);
    return rc;
}

/* GET /fhir/Observation/$lastn?patient=&category=&code=&max=N: the N
 * newest readings of each code, per patient (FHIR R4 Observation $lastn). */
enum MHD_Result fhir_observation_lastn(struct req *r)
{
    enum MHD_Result ret = MHD_NO;
    fhir_params p;
    store_obs_find_q q;
    struct page pg = {0};
    const char *max_s;
    db_conn *c = db_reader();
    long max = 1;

    fhir_params_read(r, &p);
    fhir_params_common(&p);
    if (!fhir_format_or_reply(r, &ret) || !query_or_reply(r, &p, &q, &ret))
        return ret;
    max_s = fhir_param(&p, "max");
    if (max_s) {
        char *end;
        max = strtol(max_s, &end, 10);
        if (!*max_s || *end || max < 1 || max > 100)
            return bad_param(r, "max", "max must be a whole number from 1 to 100.");
    }
    if (!fhir_params_known_or_reply(r, &p, &ret))
        return ret;
    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    if (q.n_codes == 0 && category_of("vital-signs", &q) != 0)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    fhir_base_url(r, pg.base, sizeof pg.base);
    if (lastn_all(c, &q, max, &pg) != 0) {
        page_free(&pg);
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    }
    return reply_page(r, fhir_searchset(r, &p, "Observation/$lastn", NULL), &pg);
}
