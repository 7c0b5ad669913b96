/* migrate: see migrate.h. */
#include "migrate.h"
#include "log.h"
#include "store.h"
#include "store_int.h"

#include <limits.h>
#include <stdio.h>

#include "embedded_migrations.h"

#define N_MIGRATIONS (sizeof embedded_migrations / sizeof embedded_migrations[0])

int migrate_latest(void)
{
    return N_MIGRATIONS ? embedded_migrations[N_MIGRATIONS - 1].version : 0;
}

static int user_version(db_conn *c, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db_handle(c), "PRAGMA user_version", -1, &st, NULL);

    if (rc == SQLITE_OK && db_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    else
        rc = SQLITE_ERROR;
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : -1;
}

/* Steps a migration needs beyond its SQL, run after it in its transaction:
 * data that SQL cannot compute (named in the migration's header). */
static const struct {
    int version;
    int (*run)(db_conn *c);
} after_sql[] = {
    {3, store_series_backfill}, /* 0003_series_rollup: the packed readings */
    /* 0004_security: the audit chain */
    {4, store_audit_chain_backfill},
};

static int run_after_sql(db_conn *c, int version)
{
    for (size_t i = 0; i < sizeof after_sql / sizeof after_sql[0]; i++)
        if (after_sql[i].version == version && after_sql[i].run(c) != 0)
            return -1;
    return 0;
}

static int apply_one(db_conn *c, const struct embedded_migration *m)
{
    char pragma[64];

    snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", m->version);
    if (db_exec(c, "BEGIN IMMEDIATE") != SQLITE_OK)
        return -1;
    if (db_exec(c, m->sql) != SQLITE_OK || run_after_sql(c, m->version) != 0 ||
        db_exec(c, pragma) != SQLITE_OK) {
        db_exec(c, "ROLLBACK");
        log_error("migration %s failed; database left at the previous version", m->name);
        return -1;
    }
    if (db_exec(c, "COMMIT") != SQLITE_OK)
        return -1;
    log_info("applied migration %s", m->name);
    return 0;
}

int migrate_apply(db_conn *c)
{
    return migrate_apply_upto(c, INT_MAX);
}

int migrate_apply_upto(db_conn *c, int upto)
{
    int current = 0;

    if (user_version(c, &current) != 0)
        return -1;
    if (current > migrate_latest()) {
        log_error("database schema version %d is newer than this wardd (%d)", current,
                  migrate_latest());
        return -1;
    }
    for (size_t i = 0; i < N_MIGRATIONS; i++) {
        if (embedded_migrations[i].version <= current || embedded_migrations[i].version > upto)
            continue;
        if (apply_one(c, &embedded_migrations[i]) != 0)
            return -1;
    }
    return 0;
}
