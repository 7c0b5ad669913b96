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
