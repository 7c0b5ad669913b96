/* store_rules: the versioned rule sets (GET/PUT /api/v1/rules, docs/clinical.md "The rule set in
 * force"). */
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

#include <stdlib.h>

/* Used in #store_ruleset_active(). */
static const char SQL_RULES_ACTIVE[] =
    "SELECT version, name, doc, created_at, created_by FROM rulesets WHERE active = 1";

/* Used in #store_ruleset_max_version(). */
static const char SQL_RULES_MAX[] = "SELECT coalesce(max(version), 0) FROM rulesets";

/* Used in #store_ruleset_activate(): the previous set stops being active in
 * the transaction that stores the next (exactly one active). */
static const char SQL_RULES_DEACTIVATE[] = "UPDATE rulesets SET active = 0 WHERE active = 1";
static const char SQL_RULES_INSERT[] =
    "INSERT INTO rulesets (version, name, doc, created_at, created_by, active) "
    "VALUES (:version, :name, :doc, :now, :by, 1) ON CONFLICT (version) DO NOTHING";

/* Used in #store_ruleset_list(). */
static const char SQL_RULES_LIST[] =
    "SELECT version, name, created_at, created_by, active FROM rulesets ORDER BY version DESC";

int store_ruleset_active(db_conn *c, int *version, json_t **doc, json_t **meta)
{
    sqlite3_stmt *st = db_prep(c, SQL_RULES_ACTIVE);
    char when[TIMEFMT_LEN];
    json_error_t jerr;
    int rc;

    *doc = NULL;
    if (meta)
        *meta = NULL;
    if (!st)
        return -1;
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
        *doc = json_loads(db_col_text(st, 2), JSON_REJECT_DUPLICATES, &jerr);
        if (meta)
            *meta = json_pack("{s:s, s:i, s:s, s:s}", "name", db_col_text(st, 1), "version",
                              *version, "created_at",
                              timefmt_format(sqlite3_column_int64(st, 3), when, sizeof when),
                              "created_by", db_col_text(st, 4));
    }
    db_done(st);
    if (rc == SQLITE_ROW && !*doc) {
        if (meta) {
            json_decref(*meta);
            *meta = NULL;
        }
        return -1;
    }
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_ruleset_max_version(db_conn *c, int *version)
{
    int64_t v = 0;

    if (db_step_int64(db_prep(c, SQL_RULES_MAX), &v) != 0)
        return -1;
    *version = (int)v;
    return 0;
}

int store_ruleset_activate(db_conn *c, int version, const char *name, const json_t *doc,
                           const char *created_by, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_RULES_DEACTIVATE);
    char *text = NULL;
    int rc;

    if (!st)
        return -1;
    rc = db_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return -1;
    st = db_prep(c, SQL_RULES_INSERT);
    text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (!st || !text) {
        free(text);
        return -1;
    }
    db_bind_int64(st, ":version", version);
    db_bind_text(st, ":name", name);
    db_bind_text(st, ":doc", text);
    db_bind_int64(st, ":now", now);
    db_bind_text(st, ":by", created_by);
    rc = db_step(st);
    db_done(st);
    free(text);
    if (rc != SQLITE_DONE)
        return -1;
    return sqlite3_changes(db_handle(c)) == 1 ? 0 : ERR_CONFLICT;
}

int store_ruleset_list(db_conn *c, json_t **out)
{
    sqlite3_stmt *st = db_prep(c, SQL_RULES_LIST);
    json_t *list = json_array();
    char when[TIMEFMT_LEN];
    int rc;

    if (!st || !list) {
        json_decref(list);
        return -1;
    }
    while ((rc = db_step(st)) == SQLITE_ROW)
        json_array_append_new(
            list,
            json_pack("{s:i, s:s, s:s, s:s, s:b}", "version", sqlite3_column_int(st, 0), "name",
                      db_col_text(st, 1), "created_at",
                      timefmt_format(sqlite3_column_int64(st, 2), when, sizeof when), "created_by",
                      db_col_text(st, 3), "active", sqlite3_column_int(st, 4) == 1));
    db_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return -1;
    }
    *out = list;
    return 0;
}
