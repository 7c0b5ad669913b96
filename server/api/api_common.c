/* api_common: helpers shared by the handlers. Helpers that may reply
 * follow the project's one convention (docs/CONVENTIONS.md): named
 * *_or_reply, they return true to go on, or false when they have already
 * replied, with the reply's result in *ret for the handler to return. */
#include "api.h"
#include "store.h"

bool patient_id_or_reply(struct req *r, int64_t *id, enum MHD_Result *ret)
{
    if (req_param_id(r, 0, id) == 0)
        return true;
    *ret = reply_no_patient(r);
    return false;
}

bool patient_or_reply(struct req *r, int64_t *id, enum MHD_Result *ret)
{
    db_conn *c;
    json_t *p = NULL;
    int rc;

    if (!patient_id_or_reply(r, id, ret))
        return false;
    c = db_reader();
    rc = c ? store_patient_get(c, *id, &p) : -1;
    json_decref(p);
    if (rc == 1)
        return true;
    *ret = rc == 0 ? reply_no_patient(r) : reply_error(r, ERR_STORAGE, NULL, NULL);
    return false;
}

int audit_revoked(db_conn *c, struct req *r, const char *entity, int64_t id, json_t *after,
                  int64_t now)
{
    char id_text[24], action[32];
    json_t *before = json_deep_copy(after);
    int rc = -1;

    if (!before)
        return DB_STORAGE_FAILURE;
    json_object_set_new(before, "revoked_at", json_null());
    snprintf(id_text, sizeof id_text, "%lld", (long long)id);
    snprintf(action, sizeof action, "%s.revoke", entity);
    rc = store_audit(c, &r->who, action, entity, id_text, before, after, now);
    if (rc == 0)
        r->out = json_pack("{s:I, s:O}", "id", (json_int_t)id, "revoked_at",
                           json_object_get(after, "revoked_at"));
    json_decref(before);
    return rc == 0 && r->out ? 0 : DB_STORAGE_FAILURE;
}
