/* api_audit: GET /api/v1/audit?from=T&to=T&limit=N (admin): the audit log,
 * newest first (docs/api.md "Audit").
 * Defaults: to = now, from = 24 hours before `to`, limit 100 (at most 1000).
 * Both bounds are inclusive. */
#include "api.h"
#include "store.h"
#include "timefmt.h"

#define AUDIT_DEFAULT_SPAN_MS (24LL * 3600 * 1000)
#define AUDIT_LIMIT_DEFAULT   100
#define AUDIT_LIMIT_MAX       1000

enum MHD_Result api_audit_get(struct req *r)
{
    int64_t now = timefmt_now_ms(), from, to;
    long limit;
    json_t *out = NULL;
    db_conn *c;

    if (req_query_time(r, "to", now, &to) != 0)
        return reply_bad_query(r, "to", "must be " REPLY_TIME_EXAMPLE);
    if (req_query_time(r, "from", to - AUDIT_DEFAULT_SPAN_MS, &from) != 0)
        return reply_bad_query(r, "from", "must be " REPLY_TIME_EXAMPLE);
    if (from > to)
        return reply_bad_query(r, "from", "must not be later than to");
    if (req_query_int(r, "limit", AUDIT_LIMIT_DEFAULT, 1, AUDIT_LIMIT_MAX, &limit) != 0)
        return reply_bad_query(r, "limit", "must be an integer from 1 to 1000");
    c = db_reader();
    if (!c || store_audit_list(c, from, to, (int)limit, &out) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    return reply_json(r, 200, out);
}
