/* store_users: staff accounts and their sessions. Sessions are keyed by the
 * SHA-256 of the token (secret.h); neither tokens nor password hashes ever
 * leave this file except pw_hash in user_row, for verification. */
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

#include <stdio.h>
#include <string.h>

/* Used in #store_user_insert(). */
static const char SQL_USER_INSERT[] =
    "INSERT INTO users (username, role, pw_hash, disabled, created_at, updated_at) "
    "VALUES (:username, :role, :pw_hash, 0, :now, :now) "
    "ON CONFLICT (username) DO NOTHING";

/* Used in #store_user_get(). */
static const char SQL_USER_GET[] =
    "SELECT id, username, role, pw_hash, disabled FROM users WHERE username = :username";

/* Used in #store_user_list(). */
static const char SQL_USER_LIST[] =
    "SELECT username, role, disabled, created_at, updated_at FROM users ORDER BY username";

/* Used in #store_user_update(). A NULL parameter keeps the column. */
static const char SQL_USER_UPDATE[] =
    "UPDATE users SET role = coalesce(:role, role), pw_hash = coalesce(:pw_hash, pw_hash), "
    "disabled = coalesce(:disabled, disabled), updated_at = :now WHERE id = :id";

/* Used in #store_user_update(). */
static const char SQL_USER_END_SESSIONS[] = "DELETE FROM sessions WHERE user_id = :user_id";

/* Used in #store_session_insert(): the user's expired sessions go when a
 * new one starts, so the table stays bounded without a sweeper. */
static const char SQL_SESSION_PURGE[] =
    "DELETE FROM sessions WHERE user_id = :user_id AND expires_at <= :now";

/* Used in #store_session_insert(). */
static const char SQL_SESSION_INSERT[] =
    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) "
    "VALUES (:token_hash, :user_id, :now, :expires)";

/* Used in #store_session_delete(). */
static const char SQL_SESSION_DELETE[] = "DELETE FROM sessions WHERE token_hash = :token_hash";

/* Used in #store_session_lookup(). */
static const char SQL_SESSION_LOOKUP[] =
    "SELECT u.id, u.username, u.role FROM sessions s JOIN users u ON u.id = s.user_id "
    "WHERE s.token_hash = :token_hash AND s.expires_at > :now AND u.disabled = 0";

int store_user_insert(db_conn *c, const char *username, role r, const char *pw_hash, int64_t now,
                      int64_t *id)
{
    sqlite3_stmt *st = db_prep(c, SQL_USER_INSERT);
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":username", username);
    db_bind_text(st, ":role", role_name(r));
    db_bind_text(st, ":pw_hash", pw_hash);
    db_bind_int64(st, ":now", now);
    rc = db_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return -1;
    if (sqlite3_changes(db_handle(c)) != 1)
        return ERR_ALREADY_EXISTS;
    if (id)
        *id = sqlite3_last_insert_rowid(db_handle(c));
    return 0;
}

int store_user_get(db_conn *c, const char *username, user_row *out)
{
    sqlite3_stmt *st = db_prep(c, SQL_USER_GET);
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":username", username);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->id = sqlite3_column_int64(st, 0);
        snprintf(out->username, sizeof out->username, "%s", db_col_text(st, 1));
        if (role_parse(db_col_text(st, 2), &out->role) != 0)
            out->role = ROLE_NONE;
        snprintf(out->pw_hash, sizeof out->pw_hash, "%s", db_col_text(st, 3));
        out->disabled = sqlite3_column_int(st, 4) != 0;
    }
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_user_list(db_conn *c, json_t **out)
{
    sqlite3_stmt *st = db_prep(c, SQL_USER_LIST);
    json_t *users = json_array();
    char created[TIMEFMT_LEN], updated[TIMEFMT_LEN];
    int rc;

    if (!st || !users) {
        json_decref(users);
        return -1;
    }
    while ((rc = db_step(st)) == SQLITE_ROW) {
        json_array_append_new(
            users,
            json_pack("{s:s, s:s, s:b, s:s, s:s}", "username", db_col_text(st, 0), "role",
                      db_col_text(st, 1), "disabled", sqlite3_column_int(st, 2) != 0, "created_at",
                      timefmt_format(sqlite3_column_int64(st, 3), created, sizeof created),
                      "updated_at",
                      timefmt_format(sqlite3_column_int64(st, 4), updated, sizeof updated)));
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(users);
        return -1;
    }
    *out = users;
    return 0;
}

static int end_sessions(db_conn *c, int64_t user_id)
{
    sqlite3_stmt *st = db_prep(c, SQL_USER_END_SESSIONS);
    int rc;

    if (!st)
        return -1;
    db_bind_int64(st, ":user_id", user_id);
    rc = db_step(st);
    db_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_user_update(db_conn *c, int64_t id, const role *r, const char *pw_hash,
                      const bool *disabled, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_USER_UPDATE);
    int rc;

    /* A role, password or enabled change: open event streams re-check. */
    if (!st || store_session_changed(c) != 0)
        return -1;
    db_bind_text(st, ":role", r ? role_name(*r) : NULL);
    db_bind_text(st, ":pw_hash", pw_hash);
    if (disabled)
        db_bind_int64(st, ":disabled", *disabled ? 1 : 0);
    db_bind_int64(st, ":now", now);
    db_bind_int64(st, ":id", id);
    rc = db_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return -1;
    if (sqlite3_changes(db_handle(c)) != 1)
        return ERR_NOT_FOUND;
    if (pw_hash || (disabled && *disabled))
        return end_sessions(c, id);
    return 0;
}

int store_session_insert(db_conn *c, const char *token_hash, int64_t user_id, int64_t now,
                         int64_t expires)
{
    sqlite3_stmt *st = db_prep(c, SQL_SESSION_PURGE);
    int rc;

    if (!st)
        return -1;
    db_bind_int64(st, ":user_id", user_id);
    db_bind_int64(st, ":now", now);
    rc = db_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return -1;
    st = db_prep(c, SQL_SESSION_INSERT);
    if (!st)
        return -1;
    db_bind_text(st, ":token_hash", token_hash);
    db_bind_int64(st, ":user_id", user_id);
    db_bind_int64(st, ":now", now);
    db_bind_int64(st, ":expires", expires);
    rc = db_step(st);
    db_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_session_delete(db_conn *c, const char *token_hash)
{
    sqlite3_stmt *st = db_prep(c, SQL_SESSION_DELETE);
    int rc;

    if (!st || store_session_changed(c) != 0)
        return -1;
    db_bind_text(st, ":token_hash", token_hash);
    rc = db_step(st);
    db_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_session_lookup(db_conn *c, const char *token_hash, int64_t now, principal *who)
{
    sqlite3_stmt *st = db_prep(c, SQL_SESSION_LOOKUP);
    role r = ROLE_NONE;
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":token_hash", token_hash);
    db_bind_int64(st, ":now", now);
    rc = db_step(st);
    if (rc == SQLITE_ROW && role_parse(db_col_text(st, 2), &r) == 0) {
        memset(who, 0, sizeof *who);
        who->role = r;
        who->id = sqlite3_column_int64(st, 0);
        snprintf(who->name, sizeof who->name, "%s", db_col_text(st, 1));
    }
    db_done(st);
    if (rc == SQLITE_ROW)
        return r != ROLE_NONE ? 1 : 0;
    return rc == SQLITE_DONE ? 0 : -1;
}
