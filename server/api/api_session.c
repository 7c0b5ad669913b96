/* api_session: staff log-in and log-out (docs/api.md "Sessions").
 *   POST   /api/v1/session  (public)  {"username", "password"} -> user + token + cookie
 *   GET    /api/v1/session  (viewer)  who am I
 *   DELETE /api/v1/session  (viewer)  ends the presented session
 *
 * A session token is 256 random bits (secret.h); only its SHA-256 is
 * stored. The same token works as the wardd_session cookie (browsers) and
 * as `Authorization: Bearer` (scripts).
 *
 * Log-in gives the same 401 whatever went wrong (unknown user, wrong
 * password, disabled account) and takes the same time: an unknown user is
 * verified against a dummy hash, so neither the answer nor its latency
 * tells whether a user name exists. After LOGIN_MAX_FAILURES failures for
 * one user name within LOGIN_WINDOW_MS further attempts are refused with
 * 429 before any password is checked. The password is verified here, on the
 * HTTP worker (argon2id, ~0.1 s); only the session insert runs on the
 * writer thread. */
#include "api.h"
#include "app.h"
#include "clock.h"
#include "auth.h"
#include "body.h"
#include "log.h"
#include "secret.h"
#include "store.h"
#include "timefmt.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* --- brute-force limit --------------------------------------------------- */

/* Failed log-ins per user name within the window before 429. */
#define LOGIN_MAX_FAILURES 10
#define LOGIN_WINDOW_MS    (15 * 60 * 1000)
/* User names tracked at once; when full, the name whose latest failure is
 * oldest is forgotten. */
#define LOGIN_TABLE_SIZE 1024
/* Longest user name accepted at log-in (longer ones cannot exist). */
#define LOGIN_NAME_MAX 127

struct login_failures {
    char username[LOGIN_NAME_MAX + 1]; /* "" = free slot */
    int64_t at[LOGIN_MAX_FAILURES];    /* ring of the latest failure times (monotonic ms) */
    unsigned next;                     /* ring slot the next failure goes to */
    unsigned count;                    /* failures in the ring, at most LOGIN_MAX_FAILURES */
};

static struct login_failures failures[LOGIN_TABLE_SIZE];
static pthread_mutex_t failures_lock = PTHREAD_MUTEX_INITIALIZER;

/* The slot of `username`, or NULL. Call with failures_lock held. */
static struct login_failures *failures_find(const char *username)
{
    for (size_t i = 0; i < LOGIN_TABLE_SIZE; i++)
        if (failures[i].username[0] && strcmp(failures[i].username, username) == 0)
            return &failures[i];
    return NULL;
}

/* Whether a slot currently blocks its user name. */
static bool failures_blocking(const struct login_failures *f, int64_t now)
{
    return f->count == LOGIN_MAX_FAILURES && now - f->at[f->next] < LOGIN_WINDOW_MS;
}

static int64_t failures_latest(const struct login_failures *f)
{
    return f->at[(f->next + LOGIN_MAX_FAILURES - 1) % LOGIN_MAX_FAILURES];
}

/* When the last LOGIN_MAX_FAILURES failures for `username` all lie within
 * the window ending now: the ms until the oldest of them leaves it.
 * Otherwise 0. */
static int64_t login_blocked_ms(const char *username, int64_t now)
{
    const struct login_failures *f;
    int64_t left = 0;

    pthread_mutex_lock(&failures_lock);
    f = failures_find(username);
    /* With a full ring, at[next] is the oldest of the last N failures. */
    if (f && failures_blocking(f, now))
        left = LOGIN_WINDOW_MS - (now - f->at[f->next]);
    pthread_mutex_unlock(&failures_lock);
    return left;
}

/* The slot for `username`: its own, a free one, else the one whose latest
 * failure is oldest among those not blocking now. A name that is blocked
 * is never forgotten while any other slot can go, so failing on many other
 * names cannot reset a guessed account's counter. Call with failures_lock
 * held. */
static struct login_failures *failures_slot(const char *username, int64_t now)
{
    struct login_failures *f = failures_find(username), *victim = NULL;

    if (f)
        return f;
    for (size_t i = 0; i < LOGIN_TABLE_SIZE; i++) {
        struct login_failures *c = &failures[i];
        if (!c->username[0]) {
            victim = c;
            break;
        }
        if (failures_blocking(c, now))
            continue;
        if (!victim || failures_latest(c) < failures_latest(victim))
            victim = c;
    }
    if (!victim)
        victim = &failures[0]; /* every slot blocked: the table is under attack */
    memset(victim, 0, sizeof *victim);
    snprintf(victim->username, sizeof victim->username, "%s", username);
    return victim;
}

static void login_failed(const char *username, int64_t now)
{
    struct login_failures *f;

    pthread_mutex_lock(&failures_lock);
    f = failures_slot(username, now);
    f->at[f->next] = now;
    f->next = (f->next + 1) % LOGIN_MAX_FAILURES;
    if (f->count < LOGIN_MAX_FAILURES)
        f->count++;
    pthread_mutex_unlock(&failures_lock);
}

static void login_succeeded(const char *username)
{
    struct login_failures *f;

    pthread_mutex_lock(&failures_lock);
    f = failures_find(username);
    if (f)
        memset(f, 0, sizeof *f);
    pthread_mutex_unlock(&failures_lock);
}

/* --- timing of unknown users --------------------------------------------- */

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[SECRET_PWHASH_LEN];

/* A hash at the current cost that no password is checked against for real. */
static void dummy_init(void)
{
    if (secret_password_hash("wardd: no such user, no such password", dummy_hash) != 0)
        dummy_hash[0] = '\0';
}

/* --- helpers ------------------------------------------------------------- */

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

/* The token the caller presented, as auth.c resolved it: the Authorization
 * header first, else the cookie. */
static const char *presented_token(struct req *r)
{
    const char *h = req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);

    if (h) {
        if (strncasecmp(h, "Bearer ", 7) != 0)
            return NULL;
        h += 7;
        while (*h == ' ')
            h++;
        return h;
    }
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, AUTH_COOKIE);
}

/* Sets r->set_cookie: the session cookie with `token` living max_age_s
 * seconds, or the clearing cookie when token is "". */
static void set_session_cookie(struct req *r, const char *token, long long max_age_s)
{
    snprintf(r->set_cookie, sizeof r->set_cookie,
             "%s=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%lld%s", AUTH_COOKIE, token,
             max_age_s, r->app->tls ? "; Secure" : "");
}

/* --- POST /api/v1/session ------------------------------------------------ */

struct login {
    user_row user;                /* as read and verified by the handler */
    char token[SECRET_TOKEN_LEN]; /* the new session token */
};

static void login_free(void *p)
{
    if (p)
        explicit_bzero(p, sizeof(struct login));
    free(p);
}

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
    secret_token_hash(l->token, hash);
    if (store_session_insert(c, hash, cur.id, now, expires) != 0)
        return DB_STORAGE_FAILURE;
    who.role = cur.role;
    who.id = cur.id;
    snprintf(who.name, sizeof who.name, "%s", cur.username);
    timefmt_format(expires, expires_text, sizeof expires_text);
    after = json_pack("{s:s, s:s, s:s}", "username", cur.username, "role", role_name(cur.role),
                      "expires_at", expires_text);
    rc = after ? store_audit(c, &who, "session.login", "session", cur.username, NULL, after, now)
               : -1;
    json_decref(after);
    if (rc != 0)
        return DB_STORAGE_FAILURE;
    r->out = json_pack("{s:{s:s, s:s}, s:s, s:s}", "user", "username", cur.username, "role",
                       role_name(cur.role), "token", l->token, "expires_at", expires_text);
    return r->out ? 0 : DB_STORAGE_FAILURE;
}

enum MHD_Result api_session_post(struct req *r)
{
    static const field_spec specs[] = {
        {"username", F_STRING, true, false, LOGIN_NAME_MAX},
        {"password", F_STRING, true, false, SECRET_PASSWORD_MAX_BYTES},
    };
    json_t *details = body_check(r->json, BODY_SPECS(specs));
    const char *username, *password;
    char safe[68];
    struct login *l;
    int64_t blocked_ms;
    db_conn *c;
    bool ok;
    int rc;

    if (details)
        return reply_error(r, ERR_VALIDATION, "The log-in request is invalid.", details);
    username = body_str(r->json, "username", "");
    password = body_str(r->json, "password", "");
    blocked_ms = login_blocked_ms(username, clock_mono_ms());
    if (blocked_ms > 0) {
        log_warn("log-in refused for user \"%s\": too many failures", log_safe(username, safe));
        return reply_errorf(r, ERR_RATE_LIMITED, NULL,
                            "Too many failed log-ins for this user name; try again in %lld "
                            "minute%s.",
                            (long long)((blocked_ms + 59999) / 60000),
                            blocked_ms > 60000 ? "s" : "");
    }
    c = db_reader();
    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    l = calloc(1, sizeof *l);
    if (!l)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    r->ctx = l;
    r->ctx_free = login_free;
    rc = store_user_get(c, username, &l->user);
    if (rc < 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    if (rc == 1) {
        ok = secret_password_verify(l->user.pw_hash, password) == 0;
        ok = ok && !l->user.disabled && l->user.role >= ROLE_VIEWER;
    } else {
        pthread_once(&dummy_once, dummy_init);
        (void)secret_password_verify(dummy_hash, password);
        ok = false;
    }
    if (!ok) {
        login_failed(username, clock_mono_ms());
        log_warn("failed log-in for user \"%s\"", log_safe(username, safe));
        return reply_error(r, ERR_BAD_CREDENTIALS, NULL, NULL);
    }
    login_succeeded(username);
    if (secret_token_new(l->token, sizeof l->token) != 0)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    set_session_cookie(r, l->token, (long long)(r->app->session_ttl_ms / 1000));
    return req_write(r, session_post_apply);
}

/* --- GET /api/v1/session ------------------------------------------------- */

enum MHD_Result api_session_get(struct req *r)
{
    return reply_json(r, 200,
                      json_pack("{s:{s:s, s:s}}", "user", "username", r->who.name, "role",
                                role_name(r->who.role)));
}

/* --- DELETE /api/v1/session ---------------------------------------------- */

struct logout {
    char token_hash[SECRET_HASH_HEX]; /* of the presented token */
};

static int session_delete_apply(db_conn *c, struct req *r)
{
    const struct logout *lo = r->ctx;
    int64_t now = timefmt_now_ms();
    json_t *before;
    int rc;

    if (store_session_delete(c, lo->token_hash) != 0)
        return DB_STORAGE_FAILURE;
    before = json_pack("{s:s, s:s}", "username", r->who.name, "role", role_name(r->who.role));
    rc = before
             ? store_audit(c, &r->who, "session.logout", "session", r->who.name, before, NULL, now)
             : -1;
    json_decref(before);
    if (rc != 0)
        return DB_STORAGE_FAILURE;
    r->out = json_pack("{s:s}", "status", "logged_out");
    return r->out ? 0 : DB_STORAGE_FAILURE;
}

enum MHD_Result api_session_delete(struct req *r)
{
    struct logout *lo;

    /* A station's token is not a session: an admin revokes it. */
    if (r->who.station)
        return reply_error(r, ERR_CONFLICT,
                           "A station is not signed in; an admin revokes its token.", NULL);
    lo = calloc(1, sizeof *lo);
    if (!lo)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    r->ctx = lo;
    r->ctx_free = free;
    /* The dispatcher resolved this token to r->who, so it is a session. */
    secret_token_hash(presented_token(r), lo->token_hash);
    set_session_cookie(r, "", 0);
    return req_write(r, session_delete_apply);
}
