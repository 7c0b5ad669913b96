/* api_login: POST /api/v1/session (public): {"username", "password"} ->
 * user + token + cookie (docs/api.md "Log in").
 *
 * Log-in gives the same 401 whatever went wrong (unknown user, wrong
 * password, disabled account) and takes the same time: an unknown user is
 * verified against a dummy hash, so neither the answer nor its latency
 * tells whether a user name exists.
 *
 * Defences (docs/security.md):
 * - login_guard.h: failures per (user name, client address) and per
 *   address make the next attempt wait, growing; a waiting key gets 429
 *   with Retry-After before any password is checked. The client address is
 *   the peer, or X-Forwarded-For from a trusted proxy (netlimits.h).
 * - The password is verified on the hashing pool (hashpool.h), never on
 *   an HTTP worker; when the pool's queue is full the answer is 503 with
 *   Retry-After at once.
 * - Every failure is audited (`session.login_failed`), and so is every
 *   failure that imposes a wait (`session.lockout`), as writer jobs nobody
 *   waits for.
 * - A password hashed at other parameters than the current ones is hashed
 *   again (on the pool) and stored with the session. */
#include "api.h"
#include "app.h"
#include "auth.h"
#include "body.h"
#include "hashpool.h"
#include "log.h"
#include "login_guard.h"
#include "netlimits.h"
#include "secret.h"
#include "store.h"
#include "timefmt.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Longest user name accepted at log-in (longer ones cannot exist). */
#define LOGIN_NAME_MAX 127

struct login {
    user_row user;                    /* as read by the handler */
    bool found;                       /* the user exists */
    bool ok;                          /* verified, enabled, staff */
    const char *password;             /* in r->json */
    char addr[NET_ADDR_LEN];          /* the client */
    char token[SECRET_TOKEN_LEN];     /* the new session token */
    char new_hash[SECRET_PWHASH_LEN]; /* a re-hash at today's cost, or "" */
};

static void login_free(void *p)
{
    if (p)
        explicit_bzero(p, sizeof(struct login));
    free(p);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A user name fit for a log line: printable ASCII, at most 64 characters,
 * anything else as '?' (no log injection). */
static const char *log_safe(const char *in, char out[68])
{
    size_t n = 0;

    for (; n < 64 && in[n]; n++)
        out[n] = (in[n] >= 0x20 && in[n] < 0x7f && in[n] != '"') ? in[n] : '?';
    if (in[n]) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

/* --- audit of failures ------------------------------------------------------- */

struct audit_job {
    principal who; /* name = the user name tried; anonymous */
    const char *action;
    json_t *after;
    int64_t at;
};

static int audit_apply(db_conn *c, void *arg)
{
    const struct audit_job *j = arg;

    return store_audit(c, &j->who, j->action, "session", j->who.name, NULL, j->after, j->at) == 0
               ? 0
               : DB_STORAGE_FAILURE;
}

static void audit_done(void *arg, int status)
{
    struct audit_job *j = arg;

    if (status != 0)
        log_warn("could not audit %s (status %d)", j->action, status);
    json_decref(j->after);
    free(j);
}

/* Queues an audit row; nobody waits for it. */
static void audit_failure(struct req *r, const char *action, const char *user, json_t *after)
{
    struct audit_job *j = calloc(1, sizeof *j);

    if (!j || !after) {
        free(j);
        json_decref(after);
        return;
    }
    snprintf(j->who.name, sizeof j->who.name, "%s", user);
    j->action = action;
    j->after = after;
    j->at = timefmt_now_ms();
    if (db_writer_submit(r->app->writer, audit_apply, audit_done, j) != 0)
        audit_done(j, 0);
}

/* --- the hashing job ---------------------------------------------------------- */

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[SECRET_PWHASH_LEN];

/* A hash at the current cost that no password is checked against for real. */
static void dummy_init(void)
{
    if (secret_password_hash("wardd: no such user, no such password", dummy_hash) != 0)
        dummy_hash[0] = '\0';
}

/* On a pool thread. */
static void login_verify(struct req *r)
{
    struct login *l = r->ctx;

    if (l->found) {
        l->ok = secret_password_verify(l->user.pw_hash, l->password) == 0 && !l->user.disabled &&
                l->user.role >= ROLE_VIEWER;
        if (l->ok && secret_password_needs_rehash(l->user.pw_hash) &&
            secret_password_hash(l->password, l->new_hash) != 0)
            l->new_hash[0] = '\0';
    } else {
        pthread_once(&dummy_once, dummy_init);
        (void)secret_password_verify(dummy_hash, l->password);
        l->ok = false;
    }
}

/* --- the session ----------------------------------------------------------------- */

static int session_post_apply(db_conn *c, struct req *r)
{
    struct login *l = r->ctx;
    user_row cur;
    principal who = {.role = ROLE_NONE};
    char hash[SECRET_HASH_HEX], expires_text[TIMEFMT_LEN];
    int64_t now = timefmt_now_ms(), expires = now + r->app->session_ttl_ms;
    json_t *after;
    int rc = store_user_get(c, l->user.username, &cur);

    if (rc < 0)
        return DB_STORAGE_FAILURE;
    /* Disabled, removed or given a new password since the handler checked. */
    if (rc == 0 || cur.id != l->user.id || cur.disabled || cur.role < ROLE_VIEWER ||
        strcmp(cur.pw_hash, l->user.pw_hash) != 0)
        return req_fail(r, ERR_BAD_CREDENTIALS, NULL, "%s",
                        err_default_message(ERR_BAD_CREDENTIALS));
    if (l->new_hash[0] && store_user_rehash(c, cur.id, cur.pw_hash, l->new_hash) != 0)
        return DB_STORAGE_FAILURE;
    secret_token_hash(l->token, hash);
    if (store_session_insert(c, hash, cur.id, now, expires) != 0)
        return DB_STORAGE_FAILURE;
    who.role = cur.role;
    who.id = cur.id;
    snprintf(who.name, sizeof who.name, "%s", cur.username);
    timefmt_format(expires, expires_text, sizeof expires_text);
    after = json_pack("{s:s, s:s, s:s, s:s, s:b}", "username", cur.username, "role",
                      role_name(cur.role), "expires_at", expires_text, "address", l->addr,
                      "password_rehashed", l->new_hash[0] != '\0');
    rc = after ? store_audit(c, &who, "session.login", "session", cur.username, NULL, after, now)
               : -1;
    json_decref(after);
    if (rc != 0)
        return DB_STORAGE_FAILURE;
    r->out = json_pack("{s:{s:s, s:s}, s:s, s:s}", "user", "username", cur.username, "role",
                       role_name(cur.role), "token", l->token, "expires_at", expires_text);
    return r->out ? 0 : DB_STORAGE_FAILURE;
}

/* The session cookie with `token`, living max_age_s seconds. Secure when
 * the browser reaches wardd over TLS: wardd's own or a trusted proxy's. */
static void set_login_cookie(struct req *r, const char *token, long long max_age_s)
{
    snprintf(r->set_cookie, sizeof r->set_cookie,
             "%s=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%lld%s", AUTH_COOKIE, token,
             max_age_s, r->app->tls || r->app->behind_proxy ? "; Secure" : "");
}

/* Refusals are held this long before they are sent (hashpool_hold). */
#define REFUSAL_HOLD_MS 1000

static enum MHD_Result send_wait(struct req *r)
{
    return reply_error(r, ERR_RATE_LIMITED, r->err_msg, NULL);
}

static enum MHD_Result send_busy(struct req *r)
{
    return reply_error(r, ERR_BUSY, "Too many log-ins at once; retry in a second.", NULL);
}

/* 429 with Retry-After, held for up to a second first. */
static enum MHD_Result reply_wait(struct req *r, int64_t wait_ms, const char *why)
{
    long long secs = (wait_ms + 999) / 1000;

    snprintf(r->retry_after, sizeof r->retry_after, "%lld", secs > 0 ? secs : 1);
    snprintf(r->err_msg, sizeof r->err_msg, "%s; try again in %lld second%s.", why, secs,
             secs == 1 ? "" : "s");
    if (hashpool_hold(r, wait_ms < REFUSAL_HOLD_MS ? wait_ms : REFUSAL_HOLD_MS, send_wait))
        return MHD_YES;
    return send_wait(r);
}

/* Back on an HTTP worker once the pool verified the password. */
static enum MHD_Result login_verified(struct req *r)
{
    struct login *l = r->ctx;
    char safe[68];
    int64_t wait_ms;

    if (!l->ok) {
        const char *user = body_str(r->json, "username", "");
        wait_ms = login_guard_failed(user, l->addr, mono_ms());
        log_warn("failed log-in for user \"%s\" from %s", log_safe(user, safe), l->addr);
        audit_failure(r, "session.login_failed", user, json_pack("{s:s}", "address", l->addr));
        if (wait_ms > 0)
            audit_failure(
                r, "session.lockout", user,
                json_pack("{s:s, s:I}", "address", l->addr, "wait_ms", (json_int_t)wait_ms));
        return reply_error(r, ERR_BAD_CREDENTIALS, NULL, NULL);
    }
    login_guard_succeeded(l->user.username, l->addr);
    if (secret_token_new(l->token, sizeof l->token) != 0)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    set_login_cookie(r, l->token, (long long)(r->app->session_ttl_ms / 1000));
    return req_write(r, session_post_apply);
}

enum MHD_Result api_session_post(struct req *r)
{
    static const field_spec specs[] = {
        {"username", F_STRING, true, false, LOGIN_NAME_MAX},
        {"password", F_STRING, true, false, SECRET_PASSWORD_MAX_BYTES},
    };
    json_t *details = body_check(r->json, BODY_SPECS(specs));
    const char *username;
    struct login *l;
    char safe[68];
    int64_t wait_ms;
    db_conn *c;
    int rc;

    if (details)
        return reply_error(r, ERR_VALIDATION, "The log-in request is invalid.", details);
    l = calloc(1, sizeof *l);
    if (!l)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    r->ctx = l;
    r->ctx_free = login_free;
    username = body_str(r->json, "username", "");
    l->password = body_str(r->json, "password", "");
    netlimits_client_addr(r->conn, l->addr);
    wait_ms = login_guard_wait_ms(username, l->addr, mono_ms());
    if (wait_ms > 0) {
        log_debug("log-in refused for \"%s\" from %s: waiting", log_safe(username, safe), l->addr);
        return reply_wait(r, wait_ms, "Too many failed log-ins from this address");
    }
    c = db_reader();
    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    rc = store_user_get(c, username, &l->user);
    if (rc < 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    l->found = rc == 1;
    if (hashpool_submit(r, login_verify, login_verified))
        return MHD_YES;
    if (hashpool_hold(r, REFUSAL_HOLD_MS / 2, send_busy))
        return MHD_YES;
    return send_busy(r);
}
