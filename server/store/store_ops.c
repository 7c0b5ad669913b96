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

/* One fixed name: savepoints here are never nested. */
int store_savepoint(db_conn *c)
{
    return db_exec(c, "SAVEPOINT wardd_part") == SQLITE_OK ? 0 : -1;
}

int store_savepoint_rollback(db_conn *c)
{
    return db_exec(c, "ROLLBACK TO wardd_part") == SQLITE_OK ? 0 : -1;
}

int store_savepoint_release(db_conn *c)
{
    return db_exec(c, "RELEASE wardd_part") == SQLITE_OK ? 0 : -1;
}
