/* api_ops: /healthz (process alive), /readyz (database writable) and
 * /metrics (Prometheus text). */
#include "api.h"
#include "app.h"
#include "metrics.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

enum MHD_Result api_ops_healthz(struct req *r)
{
    return reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* A write job that reads one row: it succeeds only if the writer's
 * transaction (BEGIN IMMEDIATE, COMMIT) and a query do. */
static int readyz_apply(db_conn *c, struct req *r)
{
    int64_t beds;

    if (store_bed_count(c, &beds) != 0)
        return DB_STORAGE_FAILURE;
    r->out = json_pack("{s:s}", "status", "ready");
    return 0;
}

enum MHD_Result api_ops_readyz(struct req *r)
{
    return req_write(r, readyz_apply);
}

enum MHD_Result api_ops_metrics(struct req *r)
{
    char *text = metrics_render(r->app);
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (!text)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    ret = MHD_queue_response(r->conn, 200, resp);
    MHD_destroy_response(resp);
    r->status_sent = 200;
    return ret;
}
