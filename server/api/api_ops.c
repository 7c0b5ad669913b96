/* api_ops: /healthz (process alive), /readyz (database writable) and
 * /metrics (Prometheus text). */
#include "api.h"
#include "app.h"
#include "diskwatch.h"
#include "metrics.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

enum MHD_Result api_ops_healthz(struct req *r)
{
    return reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* The disk as the last check saw it (diskwatch.h): a low disk still
 * takes writes, so it is reported, not a reason to be unready. */
static json_t *disk_json(void)
{
    diskwatch_status d;

    diskwatch_get(&d);
    return json_pack("{s:s, s:I, s:I, s:I, s:I}", "state", diskwatch_state_name(d.state),
                     "free_bytes", (json_int_t)d.sample.free_bytes, "size_bytes",
                     (json_int_t)d.sample.size_bytes, "threshold_bytes",
                     (json_int_t)d.threshold_bytes, "db_bytes", (json_int_t)d.sample.db_bytes);
}

/* Ready when the writer's last transaction did not fail (it records every
 * outcome: db_writer_ready) and a read on this worker's connection works.
 * No write job per request: a probe polled every second by a load balancer
 * would otherwise cost a transaction and an fsync each time, and queue
 * behind ingest on the one writer. */
enum MHD_Result api_ops_readyz(struct req *r)
{
    db_conn *c = db_reader();

    if (!db_writer_ready(r->app->writer) || !c || store_ready_probe(c) != 0)
        return reply_error(r, ERR_STORAGE, "The database is not ready.", NULL);
    return reply_json(r, 200, json_pack("{s:s, s:o}", "status", "ready", "disk", disk_json()));
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
