/* store_devices: bedside devices and their bearer tokens. Only the SHA-256
 * of a token is stored (secret.h); revoking clears it, so a revoked token
 * can never match again.
 *
 * Every statement that changes what store_device_lookup_token() answers
 * (insert or re-enrolment, a new token, revocation) is in this file, and
 * each of those functions bumps the device generation after its
 * transaction ends (db_after_commit), for auth.c's token cache. Touch
 * (last_seen) changes no principal and does not.
 *
 * Every change of a device's bed goes through device_bed_moved(), which
 * keeps the device's bed history (device_beds, schema 0004): readings are
 * filed by where their device was at their own time
 * (store_device_stay_span). */
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

/* Used in #device_bed_moved(). */
static const char SQL_DEVBED_OPEN[] =
    "SELECT id, bed_id FROM device_beds WHERE device_id = :device AND to_ms IS NULL";
static const char SQL_DEVBED_CLOSE[] = "UPDATE device_beds SET to_ms = :now WHERE id = :id";
static const char SQL_DEVBED_ANY[] = "SELECT 1 FROM device_beds WHERE device_id = :device";
static const char SQL_DEVBED_INSERT[] =
    "INSERT INTO device_beds (device_id, bed_id, from_ms) VALUES (:device, :bed, :from)";

/* Used in #store_device_set_bed(). */
static const char SQL_DEVICE_SET_BED[] = "UPDATE devices SET bed_id = :bed WHERE id = :id";

/* Used in #store_device_bed_at(): the row covering t (rows never overlap). */
static const char SQL_DEVBED_AT[] =
    "SELECT bed_id, from_ms, to_ms FROM device_beds WHERE device_id = :device "
    "AND (from_ms IS NULL OR from_ms <= :t) AND (to_ms IS NULL OR to_ms > :t) "
    "ORDER BY from_ms DESC LIMIT 1";

/* The device now serves `bed` (NULL: none) from `now` on: closes its open
 * history row unless it is for the same bed, and opens one for the new
 * bed. A device's first bed is open since ever: readings a device took
 * before it was enrolled can only be of where it was enrolled (the
 * reading horizon bounds how far back that reaches). 0 or -1. */
static int device_bed_moved(db_conn *c, int64_t device_id, const char *bed, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_DEVBED_OPEN);
    int64_t open_id = 0;
    bool same = false;
    int rc, any;

    if (!st)
        return -1;
    db_bind_int64(st, ":device", device_id);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        open_id = sqlite3_column_int64(st, 0);
        same = bed && strcmp(db_col_text(st, 1), bed) == 0;
    }
    db_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    if (same)
        return 0;
    if (open_id) {
        st = db_prep(c, SQL_DEVBED_CLOSE);
        if (!st)
            return -1;
        db_bind_int64(st, ":now", now);
        db_bind_int64(st, ":id", open_id);
        if (db_step_done(st) != 0)
            return -1;
    }
    if (!bed)
        return 0;
    st = db_prep(c, SQL_DEVBED_ANY);
    if (!st)
        return -1;
    db_bind_int64(st, ":device", device_id);
    any = db_step_exists(st);
    if (any < 0 || !(st = db_prep(c, SQL_DEVBED_INSERT)))
        return -1;
    db_bind_int64(st, ":device", device_id);
    db_bind_text(st, ":bed", bed);
    if (any)
        db_bind_int64(st, ":from", now);
    return db_step_done(st);
}

int store_device_set_bed(db_conn *c, int64_t id, const char *bed, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_DEVICE_SET_BED);
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":bed", bed);
    db_bind_int64(st, ":id", id);
    rc = db_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return -1;
    if (sqlite3_changes(db_handle(c)) == 0)
        return 0;
    return device_bed_moved(c, id, bed, now) == 0 ? 1 : -1;
}

int store_device_bed_at(db_conn *c, int64_t device_id, int64_t t, store_device_bed *out)
{
    sqlite3_stmt *st = db_prep(c, SQL_DEVBED_AT);
    int rc;

    if (!st)
        return -1;
    db_bind_int64(st, ":device", device_id);
    db_bind_int64(st, ":t", t);
    rc = db_step(st);
    out->bed[0] = '\0';
    out->from_ms = t;
    out->to_ms = t + 1; /* on no bed: this instant only (rare; a lookup each) */
    if (rc == SQLITE_ROW) {
        snprintf(out->bed, sizeof out->bed, "%s", db_col_text(st, 0));
        out->from_ms =
            sqlite3_column_type(st, 1) == SQLITE_NULL ? INT64_MIN : sqlite3_column_int64(st, 1);
        out->to_ms =
            sqlite3_column_type(st, 2) == SQLITE_NULL ? INT64_MAX : sqlite3_column_int64(st, 2);
    }
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_device_stay_span(db_conn *c, int64_t device_id, int64_t t, store_device_stay *out)
{
    store_device_bed where;
    store_stay stay;
    int rc = store_device_bed_at(c, device_id, t, &where);

    if (rc < 0)
        return -1;
    snprintf(out->bed, sizeof out->bed, "%s", where.bed);
    out->patient_id = 0;
    out->from_ms = where.from_ms;
    out->to_ms = where.to_ms;
    if (rc == 0)
        return 0;
    if (store_stay_span(c, where.bed, t, &stay) < 0)
        return -1;
    out->patient_id = stay.patient_id;
    out->from_ms = stay.from_ms > where.from_ms ? stay.from_ms : where.from_ms;
    out->to_ms = stay.to_ms < where.to_ms ? stay.to_ms : where.to_ms;
    return out->patient_id ? 1 : 0;
}

int store_device_insert(db_conn *c, const char *serial, const char *model, const char *bed,
                        const char *token_hash, int64_t now, int64_t *id)
{
    sqlite3_stmt *st = db_prep(c, SQL_DEVICE_INSERT);
    int64_t dev = 0;
    int rc;

    if (!st || db_after_commit(c, device_generation_bump) != 0)
        return -1;
    db_bind_text(st, ":serial", serial);
    db_bind_text(st, ":model", model);
    db_bind_text(st, ":bed", bed);
    db_bind_text(st, ":token_hash", token_hash);
    db_bind_int64(st, ":now", now);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        dev = sqlite3_column_int64(st, 0);
    db_done(st);
    if (rc == SQLITE_ROW) {
        if (id)
            *id = dev;
        /* new, or re-enrolled (perhaps on another bed) */
        return device_bed_moved(c, dev, bed, now) == 0 ? 0 : -1;
    }
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

/* One row of SQL_DEVICE_LIST / SQL_DEVICE_GET in the API's shape (docs/api.md "Beds, devices"). */
static json_t *device_json(sqlite3_stmt *st)
{
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o}", "id",
                     (json_int_t)sqlite3_column_int64(st, 0), "serial", db_col_text(st, 1), "model",
                     db_col_json_text(st, 2), "bed", db_col_json_text(st, 3), "created_at",
                     db_col_json_time(st, 4), "revoked_at", db_col_json_time(st, 5), "last_seen",
                     db_col_json_time(st, 6));
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
