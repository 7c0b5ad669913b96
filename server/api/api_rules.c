/* api_rules: the rule set in force (docs/clinical.md "The rule set in force").
 *   GET /api/v1/rules            viewer: {"name", "version", "created_at",
 *                                "created_by", "ruleset": the document}
 *   GET /api/v1/rules/versions   viewer: {"versions": [{"version", "name",
 *                                "created_at", "created_by", "active"}]}
 *   PUT /api/v1/rules            admin: body = a rule set document
 *
 * PUT validates with the loader the engine uses (rules_load_json): an
 * invalid set is 422 with every problem in details ("FILE: rule ID: field
 * 'PATH': message", file named "request") and the active set is untouched.
 * A valid set gets the next version number (the document's own "version"
 * is replaced by it), is stored and activated in one transaction with its
 * audit row ("rules.update", before/after name and version), becomes the
 * set every evaluation uses as soon as the transaction commits, and the
 * clinical worker rebuilds every patient's cache and re-evaluates them.
 * Two PUTs racing for the same version: the second is 409. The body limit
 * is the server's 1 MiB (the default set is about 60 KiB). */
#include "api.h"
#include "clinical.h"
#include "store.h"
#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>

enum MHD_Result api_rules_get(struct req *r)
{
    db_conn *c = db_reader();
    json_t *doc = NULL, *meta = NULL;
    int version = 0, rc;

    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    rc = store_ruleset_active(c, &version, &doc, &meta);
    if (rc < 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    if (rc == 0)
        return reply_error(r, ERR_NOT_FOUND, "No rule set is active.", NULL);
    json_object_set_new(meta, "ruleset", doc);
    return reply_json(r, 200, meta);
}

enum MHD_Result api_rules_versions(struct req *r)
{
    db_conn *c = db_reader();
    json_t *list = NULL;

    if (!c || store_ruleset_list(c, &list) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    return reply_json(r, 200, json_pack("{s:o}", "versions", list));
}

struct rules_put {
    rules_set *rs; /* the new set, until handed to clinical after the commit */
    json_t *doc;   /* as stored: version replaced */
    int version;
    json_t *before; /* {"name", "version"} of the set it replaces, or NULL */
};

static void rules_put_free(void *p)
{
    struct rules_put *u = p;

    if (!u)
        return;
    rules_unref(u->rs);
    json_decref(u->doc);
    json_decref(u->before);
    free(u);
}

static int rules_put_apply(db_conn *c, struct req *r)
{
    struct rules_put *u = r->ctx;
    int64_t now = timefmt_now_ms();
    char idbuf[24];
    json_t *after;
    int rc = store_ruleset_activate(c, u->version, u->rs->name, u->doc, r->who.name, now);

    if (rc == ERR_CONFLICT)
        return req_fail(r, ERR_CONFLICT, NULL,
                        "Rule set version %d was stored by another request meanwhile; reload "
                        "and try again.",
                        u->version);
    if (rc != 0)
        return rc < 0 ? DB_STORAGE_FAILURE : rc;
    snprintf(idbuf, sizeof idbuf, "%d", u->version);
    after = json_pack("{s:s, s:i}", "name", u->rs->name, "version", u->version);
    rc = store_audit(c, &r->who, "rules.update", "ruleset", idbuf, u->before, after, now);
    if (rc != 0) {
        json_decref(after);
        return DB_STORAGE_FAILURE;
    }
    json_object_set_new(after, "created_by", json_string(r->who.name));
    json_object_set_new(after, "rules", json_integer((json_int_t)u->rs->n_rules));
    json_object_set_new(after, "terms", json_integer((json_int_t)u->rs->n_terms));
    r->out = after;
    return 0;
}

/* Writer thread, after the commit: the new set is in force from now on. */
static void rules_put_committed(struct req *r)
{
    struct rules_put *u = r->ctx;

    clinical_rules_activated(u->rs);
    u->rs = NULL;
}

enum MHD_Result api_rules_put(struct req *r)
{
    struct rules_put *u = calloc(1, sizeof *u);
    rules_errors errs = {0};
    db_conn *c = db_reader();
    rules_set *current = NULL;
    int max_version = 0;

    if (!u)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    r->ctx = u;
    r->ctx_free = rules_put_free;
    if (!json_is_object(r->json))
        return reply_error(r, ERR_VALIDATION, "The body must be a rule set object.",
                           json_pack("[o]", reply_field_detail("(body)", "must be a JSON object")));
    if (!c || store_ruleset_max_version(c, &max_version) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    u->version = max_version + 1;
    u->doc = json_deep_copy(r->json);
    if (!u->doc)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    /* the version is the database's; an absent or wrong one is not an error */
    json_object_set_new(u->doc, "version", json_integer(u->version));
    u->rs = rules_load_json(u->doc, "request", &errs);
    if (!u->rs) {
        json_t *details = json_array();
        for (size_t i = 0; i < errs.n; i++)
            json_array_append_new(
                details, json_pack("{s:s, s:s}", "field", "(body)", "message", errs.items[i].text));
        rules_errors_free(&errs);
        return reply_errorf(r, ERR_VALIDATION, details,
                            "The rule set is invalid (%zu problem%s); the active rule set is "
                            "unchanged.",
                            json_array_size(details), json_array_size(details) == 1 ? "" : "s");
    }
    rules_errors_free(&errs);
    current = clinical_rules();
    if (current)
        u->before = json_pack("{s:s, s:i}", "name", current->name, "version", current->version);
    rules_unref(current);
    r->after_commit = rules_put_committed;
    return req_write(r, rules_put_apply);
}
