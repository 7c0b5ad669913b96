/* store_audit: the audit log (who, when, what, before/after), chained:
 * every row carries SHA-256 over its canonical serialisation and the
 * previous row's hash (docs/security.md "Audit chain"), so a changed,
 * removed or inserted row shows in `wardd audit verify`. Rows are only
 * ever inserted; the triggers of schema/migrations/0004_security.sql
 * refuse UPDATE and DELETE. Every insert runs inside a write transaction
 * (the writer's, or the command line's BEGIN IMMEDIATE), so reading the
 * chain's tail and appending to it cannot interleave with another writer. */
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Numbers at 15 significant digits: 0.9 reads back as 0.9. */
#define AUDIT_JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15))

/* Used in #store_audit(). */
static const char SQL_AUDIT_INSERT[] =
    "INSERT INTO audit (id, at_ms, user_id, username, action, entity, entity_id, before, after, "
    "hash) VALUES (:id, :at, :user_id, :username, :action, :entity, :entity_id, :before, :after, "
    ":hash)";

/* Used in #store_audit(): the chain's tail. */
static const char SQL_AUDIT_TAIL[] = "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1";

/* Used in #store_audit_verify() and #store_audit_chain_backfill(): every
 * row in chain order. */
static const char SQL_AUDIT_ALL[] =
    "SELECT id, at_ms, user_id, username, action, entity, entity_id, before, after, hash "
    "FROM audit ORDER BY id";

/* Used in #store_audit_chain_backfill(). */
static const char SQL_AUDIT_SET_HASH[] =
    "UPDATE audit SET hash = :hash WHERE id = :id AND hash IS NULL";

/* The hash before the first row. */
static const char AUDIT_GENESIS[STORE_AUDIT_HASH_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* One audit row as the chain sees it. Text fields may be NULL. */
typedef struct audit_fields {
    int64_t id, at_ms, user_id; /* user_id 0 = NULL */
    const char *username, *action, *entity, *entity_id, *before, *after;
} audit_fields;

static void canon_text(crypto_hash_sha256_state *h, const char *s)
{
    char head[32];
    int n;

    if (!s) {
        crypto_hash_sha256_update(h, (const unsigned char *)"N\n", 2);
        return;
    }
    n = snprintf(head, sizeof head, "T%zu:", strlen(s));
    crypto_hash_sha256_update(h, (const unsigned char *)head, (unsigned long long)n);
    crypto_hash_sha256_update(h, (const unsigned char *)s, strlen(s));
    crypto_hash_sha256_update(h, (const unsigned char *)"\n", 1);
}

static void canon_int(crypto_hash_sha256_state *h, int64_t v, bool null)
{
    char buf[32];
    int n =
        null ? snprintf(buf, sizeof buf, "N\n") : snprintf(buf, sizeof buf, "I%" PRId64 "\n", v);

    crypto_hash_sha256_update(h, (const unsigned char *)buf, (unsigned long long)n);
}

/* The row's chain hash (docs/security.md defines this serialisation; a
 * change here breaks every existing chain). */
static void audit_hash(const audit_fields *f, const char *prev, char out[STORE_AUDIT_HASH_LEN + 1])
{
    static const char magic[] = "wardd-audit-v1\n";
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state h;

    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const unsigned char *)magic, sizeof magic - 1);
    canon_int(&h, f->id, false);
    canon_int(&h, f->at_ms, false);
    canon_int(&h, f->user_id, f->user_id == 0);
    canon_text(&h, f->username);
    canon_text(&h, f->action);
    canon_text(&h, f->entity);
    canon_text(&h, f->entity_id);
    canon_text(&h, f->before);
    canon_text(&h, f->after);
    crypto_hash_sha256_update(&h, (const unsigned char *)prev, STORE_AUDIT_HASH_LEN);
    crypto_hash_sha256_final(&h, digest);
    sodium_bin2hex(out, STORE_AUDIT_HASH_LEN + 1, digest, sizeof digest);
}

/* The tail: *last_id (0 when empty) and its hash (the genesis when empty).
 * 0, or -1 (also when the tail is unchained: the migration chains every
 * row, so that is damage). */
static int audit_tail(db_conn *c, int64_t *last_id, char prev[STORE_AUDIT_HASH_LEN + 1])
{
    sqlite3_stmt *st = db_prep(c, SQL_AUDIT_TAIL);
    int rc, out = -1;

    if (!st)
        return -1;
    rc = db_step(st);
    if (rc == SQLITE_DONE) {
        *last_id = 0;
        memcpy(prev, AUDIT_GENESIS, sizeof AUDIT_GENESIS);
        out = 0;
    } else if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == STORE_AUDIT_HASH_LEN) {
        *last_id = sqlite3_column_int64(st, 0);
        memcpy(prev, sqlite3_column_text(st, 1), STORE_AUDIT_HASH_LEN);
        prev[STORE_AUDIT_HASH_LEN] = '\0';
        out = 0;
    }
    db_done(st);
    return out;
}

/* Used in #store_audit_list(). */
static const char SQL_AUDIT_LIST[] =
    "SELECT at_ms, username, action, entity, entity_id, before, after, id FROM audit "
    "WHERE at_ms BETWEEN :from AND :to ORDER BY at_ms DESC, id DESC LIMIT :limit";

int store_audit(db_conn *c, const principal *who, const char *action, const char *entity,
                const char *entity_id, const json_t *before, const json_t *after, int64_t now)
{
    sqlite3_stmt *st = NULL;
    char *b = before ? json_dumps(before, AUDIT_JSON_FLAGS) : NULL;
    char *a = after ? json_dumps(after, AUDIT_JSON_FLAGS) : NULL;
    char prev[STORE_AUDIT_HASH_LEN + 1], hash[STORE_AUDIT_HASH_LEN + 1];
    audit_fields f = {.at_ms = now,
                      .username = who ? who->name : "(command line)",
                      .action = action,
                      .entity = entity,
                      .entity_id = entity_id,
                      .before = b,
                      .after = a};
    int rc = -1;

    if ((before && !b) || (after && !a) || audit_tail(c, &f.id, prev) != 0)
        goto out;
    f.id++;
    if (who && who->id && who->role != ROLE_DEVICE && !who->station)
        f.user_id = who->id;
    audit_hash(&f, prev, hash);
    st = db_prep(c, SQL_AUDIT_INSERT);
    if (!st)
        goto out;
    db_bind_int64(st, ":id", f.id);
    db_bind_int64(st, ":at", now);
    if (f.user_id)
        db_bind_int64(st, ":user_id", f.user_id);
    db_bind_text(st, ":username", f.username);
    db_bind_text(st, ":action", action);
    db_bind_text(st, ":entity", entity);
    db_bind_text(st, ":entity_id", entity_id);
    db_bind_text(st, ":before", b);
    db_bind_text(st, ":after", a);
    db_bind_text(st, ":hash", hash);
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

/* The fields of a SQL_AUDIT_ALL row (pointers valid until the next step). */
static void row_fields(sqlite3_stmt *st, audit_fields *f)
{
    f->id = sqlite3_column_int64(st, 0);
    f->at_ms = sqlite3_column_int64(st, 1);
    f->user_id = sqlite3_column_type(st, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 2);
    f->username = (const char *)sqlite3_column_text(st, 3);
    f->action = (const char *)sqlite3_column_text(st, 4);
    f->entity = (const char *)sqlite3_column_text(st, 5);
    f->entity_id = (const char *)sqlite3_column_text(st, 6);
    f->before = (const char *)sqlite3_column_text(st, 7);
    f->after = (const char *)sqlite3_column_text(st, 8);
}

int store_audit_verify(db_conn *c, store_audit_check *out)
{
    sqlite3_stmt *st = db_prep(c, SQL_AUDIT_ALL);
    char prev[STORE_AUDIT_HASH_LEN + 1], want[STORE_AUDIT_HASH_LEN + 1];
    int rc;

    if (!st)
        return -1;
    memset(out, 0, sizeof *out);
    memcpy(prev, AUDIT_GENESIS, sizeof AUDIT_GENESIS);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        audit_fields f;
        const char *have = (const char *)sqlite3_column_text(st, 9);
        row_fields(st, &f);
        audit_hash(&f, prev, want);
        if (!have || strcmp(have, want) != 0) {
            out->bad_id = f.id;
            snprintf(out->why, sizeof out->why, "%s",
                     !have ? "the row has no chain hash"
                           : "its hash does not match its contents and the row before it (the "
                             "row was changed, or a row before it removed or inserted)");
            break;
        }
        memcpy(prev, want, sizeof prev);
        out->rows++;
    }
    db_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    memcpy(out->head, prev, sizeof out->head);
    return out->bad_id ? 1 : 0;
}

/* Chains the rows that have no hash yet, in id order, after the last
 * chained one; in the migration's transaction (schema 0004). Reads every
 * row first, then updates: the statement is not stepped while rows of the
 * same table change. */
int store_audit_chain_backfill(db_conn *c)
{
    sqlite3_stmt *st = db_prep(c, SQL_AUDIT_ALL);
    char prev[STORE_AUDIT_HASH_LEN + 1];
    struct pending {
        int64_t id;
        char hash[STORE_AUDIT_HASH_LEN + 1];
    } *todo = NULL;
    size_t n = 0, cap = 0;
    int rc, result = -1;

    if (!st)
        return -1;
    memcpy(prev, AUDIT_GENESIS, sizeof AUDIT_GENESIS);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        audit_fields f;
        const char *have = (const char *)sqlite3_column_text(st, 9);
        if (have) {
            snprintf(prev, sizeof prev, "%s", have);
            continue;
        }
        if (n == cap) {
            struct pending *grown = realloc(todo, (cap = cap ? cap * 2 : 256) * sizeof *todo);
            if (!grown)
                goto out;
            todo = grown;
        }
        row_fields(st, &f);
        todo[n].id = f.id;
        audit_hash(&f, prev, todo[n].hash);
        memcpy(prev, todo[n].hash, sizeof prev);
        n++;
    }
    if (rc != SQLITE_DONE)
        goto out;
    db_done(st);
    st = NULL;
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *up = db_prep(c, SQL_AUDIT_SET_HASH);
        if (!up)
            goto out;
        db_bind_text(up, ":hash", todo[i].hash);
        db_bind_int64(up, ":id", todo[i].id);
        if (db_step_done(up) != 0)
            goto out;
    }
    result = 0;
out:
    db_done(st);
    free(todo);
    return result;
}

/* One reading of a staff entry, for the audit row. */
static json_t *entry_json(const obs_reading *o, int64_t filed)
{
    char when[TIMEFMT_LEN];

    return json_pack("{s:s, s:o, s:s?, s:s, s:s?, s:s}", "code", o->code->code, "value",
                     obs_value_json(o->code, o->value, o->text), "unit", o->code->unit, "time",
                     timefmt_format(o->time_ms, when, sizeof when), "id", o->id[0] ? o->id : NULL,
                     "outcome", filed < 0 ? "duplicate" : "stored");
}

int store_audit_staff_entry(db_conn *c, const principal *who, int64_t patient_id,
                            const obs_reading *readings, const int64_t *filed, size_t n,
                            int64_t now)
{
    json_t *items = json_array(), *after;
    char idbuf[24];
    int rc;

    if (!items)
        return -1;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, entry_json(&readings[i], filed[i]));
    after = json_pack("{s:o}", "readings", items);
    if (!after)
        return -1;
    snprintf(idbuf, sizeof idbuf, "%" PRId64, patient_id);
    rc = store_audit(c, who, "observations.record", "patient", idbuf, NULL, after, now);
    json_decref(after);
    return rc;
}
