/* store_devices: bedside devices and their bearer tokens. Only the SHA-256
 * of a token is stored (secret.h); revoking clears it, so a revoked token
 * can never match again.
 *
 * Every statement that changes what store_device_lookup_token() answers
 * (insert or re-enrolment, a new token, revocation) is in this file, and
 * each of those functions bumps the device generation after its
 * transaction ends (db_after_commit), for auth.c's token cache. Touch
 * (last_seen) changes no principal and does not. */
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static atomic_uint_fast64_t device_generation;

static void device_generation_bump(void)
{
    atomic_fetch_add(&device_generation, 1);
}

uint64_t store_device_generation(void)
{
    return (uint64_t)atomic_load(&device_generation);
}

/* Used in #store_device_insert(). A serial whose device was revoked is
 * enrolled again under its old id (same physical device, same history);
 * an active serial is left alone and reported as a duplicate. */
static const char SQL_DEVICE_INSERT[] =
    "INSERT INTO devices (serial, model, bed_id, token_hash, created_at) "
    "VALUES (:serial, :model, :bed, :token_hash, :now) "
    "ON CONFLICT (serial) DO UPDATE SET model = excluded.model, bed_id = excluded.bed_id, "
    "token_hash = excluded.token_hash, revoked_at = NULL WHERE devices.revoked_at IS NOT NULL "
    "RETURNING id";

/* Used in #store_device_lookup_token(). */
static const char SQL_DEVICE_BY_TOKEN[] =
    "SELECT id, serial, bed_id FROM devices WHERE token_hash = :token_hash AND revoked_at IS NULL";

/* Used in #store_device_list(). */
static const char SQL_DEVICE_LIST[] =
    "SELECT id, serial, model, bed_id, created_at, revoked_at, last_seen FROM devices "
    "ORDER BY id";

/* Used in #store_device_get(). */
static const char SQL_DEVICE_GET[] =
    "SELECT id, serial, model, bed_id, created_at, revoked_at, last_seen FROM devices "
    "WHERE id = :id";

/* Used in #store_device_set_token(). */
static const char SQL_DEVICE_SET_TOKEN[] =
    "UPDATE devices SET token_hash = :token_hash WHERE id = :id AND revoked_at IS NULL";

/* Used in #store_device_revoke(). */
static const char SQL_DEVICE_REVOKE[] = "UPDATE devices SET revoked_at = :now, token_hash = NULL "
                                        "WHERE id = :id AND revoked_at IS NULL";

/* Used in #store_device_touch(). Never moves last_seen backwards. */
static const char SQL_DEVICE_TOUCH[] =
    "UPDATE devices SET last_seen = max(coalesce(last_seen, 0), :now) WHERE id = :id";

int store_device_insert(db_conn *c, const char *serial, const char *model, const char *bed,
                        const char *token_hash, int64_t now, int64_t *id)
{
    sqlite3_stmt *st = db_prep(c, SQL_DEVICE_INSERT);
    int rc;

    if (!st || db_after_commit(c, device_generation_bump) != 0)
        return -1;
    db_bind_text(st, ":serial", serial);
    db_bind_text(st, ":model", model);
    db_bind_text(st, ":bed", bed);
    db_bind_text(st, ":token_hash", token_hash);
    db_bind_int64(st, ":now", now);
    rc = db_step(st);
    if (rc == SQLITE_ROW && id)
        *id = sqlite3_column_int64(st, 0);
    db_done(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? ERR_ALREADY_EXISTS : -1;
}

int store_device_lookup_token(db_conn *c, const char *token_hash, principal *who)
{
    sqlite3_stmt *st = db_prep(c, SQL_DEVICE_BY_TOKEN);
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":token_hash", token_hash);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        memset(who, 0, sizeof *who);
        who->role = ROLE_DEVICE;
        who->id = sqlite3_column_int64(st, 0);
        snprintf(who->name, sizeof who->name, "%s", db_col_text(st, 1));
        snprintf(who->bed, sizeof who->bed, "%s", db_col_text(st, 2));
    }
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Column `col` as a JSON string, or null when NULL. */
static json_t *text_or_null(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    return t ? json_string((const char *)t) : json_null();
}

/* Column `col` (epoch ms) as an RFC 3339 string, or null when NULL. */
static json_t *time_or_null(sqlite3_stmt *st, int col)
{
    char buf[TIMEFMT_LEN];

    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    return json_string(timefmt_format(sqlite3_column_int64(st, col), buf, sizeof buf));
}

/* One row of SQL_DEVICE_LIST / SQL_DEVICE_GET in the API's shape (docs/api.md "Beds, devices"). */
static json_t *device_json(sqlite3_stmt *st)
{
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o}", "id",
                     (json_int_t)sqlite3_column_int64(st, 0), "serial", db_col_text(st, 1), "model",
                     text_or_null(st, 2), "bed", text_or_null(st, 3), "created_at",
                     time_or_null(st, 4), "revoked_at", time_or_null(st, 5), "last_seen",
                     time_or_null(st, 6));
}

int store_device_list(db_conn *c, json_t **out)
{
    return db_rows_json(db_prep(c, SQL_DEVICE_LIST), device_json, out);
}

int store_device_get(db_conn *c, int64_t id, json_t **out)
{
    sqlite3_stmt *st = db_prep(c, SQL_DEVICE_GET);
    json_t *dev = NULL;
    int rc;

    if (!st)
        return -1;
    db_bind_int64(st, ":id", id);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        dev = device_json(st);
    db_done(st);
    if (rc == SQLITE_ROW && dev) {
        *out = dev;
        return 1;
    }
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Runs a one-row UPDATE bound by the caller: 1 changed, 0 none, -1. */
static int update_one(db_conn *c, sqlite3_stmt *st)
{
    int rc = db_step(st);

    db_done(st);
    if (rc != SQLITE_DONE)
        return -1;
    return sqlite3_changes(db_handle(c)) > 0 ? 1 : 0;
}

int store_device_set_token(db_conn *c, int64_t id, const char *token_hash)
{
    sqlite3_stmt *st = db_prep(c, SQL_DEVICE_SET_TOKEN);

    if (!st || db_after_commit(c, device_generation_bump) != 0)
        return -1;
    db_bind_text(st, ":token_hash", token_hash);
    db_bind_int64(st, ":id", id);
    return update_one(c, st);
}

int store_device_revoke(db_conn *c, int64_t id, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_DEVICE_REVOKE);

    if (!st || db_after_commit(c, device_generation_bump) != 0)
        return -1;
    db_bind_int64(st, ":now", now);
    db_bind_int64(st, ":id", id);
    return update_one(c, st);
}

int store_device_touch(db_conn *c, int64_t id, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_DEVICE_TOUCH);

    if (!st)
        return -1;
    db_bind_int64(st, ":now", now);
    db_bind_int64(st, ":id", id);
    return update_one(c, st) < 0 ? -1 : 0;
}
