/* store_audit: the audit log (who, when, what, before/after). */
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

#include <stdlib.h>

/* Numbers at 15 significant digits: 0.9 reads back as 0.9. */
#define AUDIT_JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15))

/* Used in #store_audit(). */
static const char SQL_AUDIT_INSERT[] =
    "INSERT INTO audit (at_ms, user_id, username, action, entity, entity_id, before, after) "
    "VALUES (:at, :user_id, :username, :action, :entity, :entity_id, :before, :after)";

/* Used in #store_audit_list(). */
static const char SQL_AUDIT_LIST[] =
    "SELECT at_ms, username, action, entity, entity_id, before, after, id FROM audit "
    "WHERE at_ms BETWEEN :from AND :to ORDER BY at_ms DESC, id DESC LIMIT :limit";

int store_audit(db_conn *c, const principal *who, const char *action, const char *entity,
                const char *entity_id, const json_t *before, const json_t *after, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_AUDIT_INSERT);
    char *b = before ? json_dumps(before, AUDIT_JSON_FLAGS) : NULL;
    char *a = after ? json_dumps(after, AUDIT_JSON_FLAGS) : NULL;
    int rc = -1;

    if (!st)
        goto out;
    db_bind_int64(st, ":at", now);
    if (who && who->id && who->role != ROLE_DEVICE && !who->station)
        db_bind_int64(st, ":user_id", who->id);
    db_bind_text(st, ":username", who ? who->name : "(command line)");
    db_bind_text(st, ":action", action);
    db_bind_text(st, ":entity", entity);
    db_bind_text(st, ":entity_id", entity_id);
    db_bind_text(st, ":before", b);
    db_bind_text(st, ":after", a);
    rc = db_step(st) == SQLITE_DONE ? 0 : -1;
out:
    db_done(st);
    free(b);
    free(a);
    return rc;
}

static json_t *parse_or_null(sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);

    return t ? json_loads(t, 0, NULL) : json_null();
}

int store_audit_list(db_conn *c, int64_t from, int64_t to, int limit, json_t **out)
{
    sqlite3_stmt *st = db_prep(c, SQL_AUDIT_LIST);
    json_t *entries = json_array();
    char when[TIMEFMT_LEN];
    int rc;

    if (!st) {
        json_decref(entries);
        return -1;
    }
    db_bind_int64(st, ":from", from);
    db_bind_int64(st, ":to", to);
    db_bind_int64(st, ":limit", limit);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        json_array_append_new(
            entries,
            json_pack("{s:I, s:s, s:s, s:s, s:s, s:s?, s:o, s:o}", "id",
                      (json_int_t)sqlite3_column_int64(st, 7), "at",
                      timefmt_format(sqlite3_column_int64(st, 0), when, sizeof when), "user",
                      db_col_text(st, 1), "action", db_col_text(st, 2), "entity",
                      db_col_text(st, 3), "entity_id", (const char *)sqlite3_column_text(st, 4),
                      "before", parse_or_null(st, 5), "after", parse_or_null(st, 6)));
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(entries);
        return -1;
    }
    *out = json_pack("{s:o}", "entries", entries);
    return 0;
}
