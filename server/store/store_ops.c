/* store_ops: the read-only probe behind /readyz (api_ops.c). */
#include "store.h"
#include "store_int.h"

/* Used in #store_ready_probe(): touches the schema and one table's pages. */
static const char SQL_READY_PROBE[] = "SELECT count(*) FROM (SELECT 1 FROM beds LIMIT 1)";

int store_ready_probe(db_conn *c)
{
    int64_t n = 0;

    return db_step_int64(db_prep(c, SQL_READY_PROBE), &n) == 0 ? 0 : -1;
}
