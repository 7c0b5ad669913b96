/* store_stations: wall-display stations and their bearer tokens
 * (docs/api.md "Stations"). As for devices, only the SHA-256 of a token is
 * stored and revoking clears it, so a revoked token can never match again.
 * Station tokens are not cached by auth.c: every request looks the token
 * up, so a revocation holds from the commit on. */
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

#include <stdio.h>
#include <string.h>

/* Used in #store_station_insert(). The partial unique index
 * stations_active_name refuses a second active station of one name. */
static const char SQL_STATION_INSERT[] =
    "INSERT INTO stations (name, location, token_hash, created_at, created_by) "
    "VALUES (:name, :location, :token_hash, :now, :by) "
    "ON CONFLICT DO NOTHING RETURNING id";

/* Used in #store_station_lookup_token(). */
static const char SQL_STATION_BY_TOKEN[] =
    "SELECT id, name FROM stations WHERE token_hash = :token_hash AND revoked_at IS NULL";

#define STATION_COLS "id, name, location, created_at, created_by, revoked_at, last_seen"

/* Used in #store_station_list(). */
static const char SQL_STATION_LIST[] = "SELECT " STATION_COLS " FROM stations ORDER BY id";

/* Used in #store_station_get(). */
static const char SQL_STATION_GET[] = "SELECT " STATION_COLS " FROM stations WHERE id = :id";

/* Used in #store_station_revoke(). */
static const char SQL_STATION_REVOKE[] = "UPDATE stations SET revoked_at = :now, token_hash = NULL "
                                         "WHERE id = :id AND revoked_at IS NULL";

/* Used in #store_station_touch(). Never moves last_seen backwards. */
static const char SQL_STATION_TOUCH[] =
    "UPDATE stations SET last_seen = max(coalesce(last_seen, 0), :now) WHERE id = :id";

int store_station_insert(db_conn *c, const char *name, const char *location, const char *token_hash,
                         const char *created_by, int64_t now, int64_t *id)
{
    sqlite3_stmt *st = db_prep(c, SQL_STATION_INSERT);
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":name", name);
    db_bind_text(st, ":location", location);
    db_bind_text(st, ":token_hash", token_hash);
    db_bind_int64(st, ":now", now);
    db_bind_text(st, ":by", created_by);
    rc = db_step(st);
    if (rc == SQLITE_ROW && id)
        *id = sqlite3_column_int64(st, 0);
    db_done(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? ERR_ALREADY_EXISTS : -1;
}

int store_station_lookup_token(db_conn *c, const char *token_hash, principal *who)
{
    sqlite3_stmt *st = db_prep(c, SQL_STATION_BY_TOKEN);
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":token_hash", token_hash);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        memset(who, 0, sizeof *who);
        who->role = ROLE_VIEWER;
        who->station = true;
        who->id = sqlite3_column_int64(st, 0);
        snprintf(who->name, sizeof who->name, "station:%s", db_col_text(st, 1));
    }
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* One row of STATION_COLS in the API's shape (docs/api.md "Stations"). */
static json_t *station_json(sqlite3_stmt *st)
{
    return json_pack("{s:I, s:s, s:o, s:o, s:s, s:o, s:o}", "id",
                     (json_int_t)sqlite3_column_int64(st, 0), "name", db_col_text(st, 1),
                     "location", db_col_json_text(st, 2), "created_at", db_col_json_time(st, 3),
                     "created_by", db_col_text(st, 4), "revoked_at", db_col_json_time(st, 5),
                     "last_seen", db_col_json_time(st, 6));
}

int store_station_list(db_conn *c, json_t **out)
{
    return db_rows_json(db_prep(c, SQL_STATION_LIST), station_json, out);
}

int store_station_get(db_conn *c, int64_t id, json_t **out)
{
    return db_row_json_by_id(c, SQL_STATION_GET, id, station_json, out);
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

int store_station_revoke(db_conn *c, int64_t id, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_STATION_REVOKE);

    if (!st)
        return -1;
    db_bind_int64(st, ":now", now);
    db_bind_int64(st, ":id", id);
    return update_one(c, st);
}

int store_station_touch(db_conn *c, int64_t id, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_STATION_TOUCH);

    if (!st)
        return -1;
    db_bind_int64(st, ":now", now);
    db_bind_int64(st, ":id", id);
    return update_one(c, st) < 0 ? -1 : 0;
}
