/* store_session_idle: sessions that also end after a period without use
 * (docs/security.md "Sessions"), the password re-hash after a log-in, and
 * the session generation that lets open event streams notice a logout, a
 * disabled account or a role change without a poll of their own.
 *
 * The generation follows the device generation's pattern
 * (store_devices.c): every statement here or in store_users.c that ends a
 * session or changes what a session resolves to bumps it after its commit,
 * before the reply is sent. */
#include "store.h"
#include "store_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* Used in #store_session_lookup_active(): the session exists, has not
 * reached its absolute expiry, was used within the idle window, and its
 * user is enabled. */
static const char SQL_SESSION_ACTIVE[] =
    "SELECT u.id, u.username, u.role, coalesce(su.last_used_at, s.created_at), s.expires_at "
    "FROM sessions s JOIN users u ON u.id = s.user_id "
    "LEFT JOIN session_use su ON su.token_hash = s.token_hash "
    "WHERE s.token_hash = :token_hash AND s.expires_at > :now AND u.disabled = 0 "
    "AND coalesce(su.last_used_at, s.created_at) > :now - :idle";

/* Used in #store_session_touch(); only for a session that still exists,
 * and never backwards. */
static const char SQL_SESSION_TOUCH[] =
    "INSERT INTO session_use (token_hash, last_used_at) "
    "SELECT token_hash, :now FROM sessions WHERE token_hash = :token_hash "
    "ON CONFLICT (token_hash) DO UPDATE SET last_used_at = "
    "max(last_used_at, excluded.last_used_at)";

/* Used in #store_user_rehash(): only while the old hash is still stored,
 * so a password changed meanwhile is never overwritten. */
static const char SQL_USER_REHASH[] =
    "UPDATE users SET pw_hash = :new_hash WHERE id = :id AND pw_hash = :old_hash";

static atomic_uint_fast64_t session_generation;

static void session_generation_bump(void)
{
    atomic_fetch_add(&session_generation, 1);
}

uint64_t store_session_generation(void)
{
    return (uint64_t)atomic_load(&session_generation);
}

int store_session_changed(db_conn *c)
{
    return db_after_commit(c, session_generation_bump);
}

int store_session_lookup_active(db_conn *c, const char *token_hash, int64_t now, int64_t idle_ms,
                                principal *who, int64_t *last_used, int64_t *expires_at)
{
    sqlite3_stmt *st = db_prep(c, SQL_SESSION_ACTIVE);
    role r = ROLE_NONE;
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":token_hash", token_hash);
    db_bind_int64(st, ":now", now);
    db_bind_int64(st, ":idle", idle_ms > 0 ? idle_ms : INT64_MAX / 4);
    rc = db_step(st);
    if (rc == SQLITE_ROW && role_parse(db_col_text(st, 2), &r) == 0) {
        memset(who, 0, sizeof *who);
        who->role = r;
        who->id = sqlite3_column_int64(st, 0);
        snprintf(who->name, sizeof who->name, "%s", db_col_text(st, 1));
        if (last_used)
            *last_used = sqlite3_column_int64(st, 3);
        if (expires_at)
            *expires_at = sqlite3_column_int64(st, 4);
    }
    db_done(st);
    if (rc == SQLITE_ROW)
        return r != ROLE_NONE ? 1 : 0;
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_session_touch(db_conn *c, const char *token_hash, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_SESSION_TOUCH);

    if (!st)
        return -1;
    db_bind_text(st, ":token_hash", token_hash);
    db_bind_int64(st, ":now", now);
    return db_step_done(st);
}

int store_user_rehash(db_conn *c, int64_t id, const char *old_hash, const char *new_hash)
{
    sqlite3_stmt *st = db_prep(c, SQL_USER_REHASH);

    if (!st)
        return -1;
    db_bind_int64(st, ":id", id);
    db_bind_text(st, ":old_hash", old_hash);
    db_bind_text(st, ":new_hash", new_hash);
    return db_step_done(st);
}
