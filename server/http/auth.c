/* auth: see auth.h. */
#include "auth.h"
#include "clock.h"
#include "app.h"
#include "log.h"
#include "route.h"
#include "secret.h"
#include "store.h"
#include "timefmt.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* --- the device token cache ------------------------------------------------
 * SHA-256 of a device token -> its principal, so that a device's posts
 * skip the SQLite lookup (docs/performance.md, proposal 6). An entry is
 * used only while store_device_generation() still has the value read
 * before the lookup that filled it: every committed insert, rotation or
 * revocation bumps it before its reply is sent, so the next request after
 * a change looks the token up afresh. AUTH_CACHE_TTL_MS bounds how long an
 * entry lives even then (changes by another process, e.g. an operator's
 * SQL, are not counted). Only found devices are cached: an unknown token
 * always reaches the database. Sessions are not cached (their expiry,
 * logout and user changes, also by the command line, stay exact).
 *
 * Set-associative: the first hex digits of the hash pick a set, whose ways
 * are searched under one mutex (held for a copy of ~200 bytes; the lookup
 * it saves takes microseconds). */
#define CACHE_SETS        128 /* at most 256: two hex digits pick the set */
#define CACHE_WAYS        4
#define AUTH_CACHE_TTL_MS 10000

struct cached_device {
    char hash[SECRET_HASH_HEX]; /* "" when empty */
    uint64_t generation;        /* store_device_generation() before the lookup */
    int64_t stored_ms;          /* monotonic */
    principal who;
};

static struct cached_device cache[CACHE_SETS][CACHE_WAYS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned hex_digit(char h)
{
    return h >= 'a' ? (unsigned)(h - 'a' + 10) : (unsigned)(h - '0');
}

/* The hash is uniform (SHA-256, lower-case hex): its first digits pick. */
static struct cached_device *cache_set(const char *hash)
{
    return cache[(hex_digit(hash[0]) << 4 | hex_digit(hash[1])) % CACHE_SETS];
}

static bool entry_current(const struct cached_device *e, uint64_t generation, int64_t now)
{
    return e->hash[0] && e->generation == generation && now - e->stored_ms < AUTH_CACHE_TTL_MS;
}

/* true and *who filled when `hash` has a current entry. */
static bool cache_get(const char *hash, uint64_t generation, int64_t now, principal *who)
{
    struct cached_device *set = cache_set(hash);
    bool found = false;

    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_WAYS && !found; i++) {
        if (entry_current(&set[i], generation, now) && strcmp(set[i].hash, hash) == 0) {
            *who = set[i].who;
            found = true;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return found;
}

/* Remembers a lookup made after reading `generation`: in the way that held
 * the same hash, else one not current, else the oldest. */
static void cache_put(const char *hash, uint64_t generation, int64_t now, const principal *who)
{
    struct cached_device *set = cache_set(hash), *victim = NULL;

    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_WAYS && !victim; i++)
        if (strcmp(set[i].hash, hash) == 0)
            victim = &set[i];
    for (int i = 0; i < CACHE_WAYS && !victim; i++)
        if (!entry_current(&set[i], generation, now))
            victim = &set[i];
    for (int i = 0; i < CACHE_WAYS && !victim; i++)
        if (i == 0 || set[i].stored_ms < victim->stored_ms)
            victim = &set[i];
    memcpy(victim->hash, hash, SECRET_HASH_HEX);
    victim->generation = generation;
    victim->stored_ms = now;
    victim->who = *who;
    pthread_mutex_unlock(&cache_lock);
}

/* store_device_lookup_token through the cache: 1/0/-1 like it. */
static int device_lookup(db_conn *c, const char *hash, principal *who)
{
    /* Read before the lookup: a change committed after this read bumps it,
     * so an entry filled from an older snapshot is never current. */
    uint64_t generation = store_device_generation();
    int64_t now = clock_mono_ms();
    int rc;

    if (cache_get(hash, generation, now, who))
        return 1;
    rc = store_device_lookup_token(c, hash, who);
    if (rc == 1)
        cache_put(hash, generation, now, who);
    return rc;
}

/* --- resolving a request ------------------------------------------------------ */

/* The token from the Authorization header, else from the cookie. */
static const char *presented_token(struct req *r)
{
    const char *h = req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);

    if (h) {
        if (strncasecmp(h, "Bearer ", 7) != 0)
            return "";
        h += 7;
        while (*h == ' ')
            h++;
        return h;
    }
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, AUTH_COOKIE);
}

/* --- session use (idle timeout) ---------------------------------------------
 * A session ends after app->session_idle_ms without use (docs/security.md
 * "Sessions"). Recording every use would put a write on every staff
 * request; a use is written only when the recorded one is older than a
 * tenth of the idle limit (at most a minute), as a job of its own on the
 * writer that nobody waits for. A session may so end up to that much
 * early, never late. */
struct touch_job {
    char hash[SECRET_HASH_HEX];
    int64_t now;
};

static int touch_apply(db_conn *c, void *arg)
{
    const struct touch_job *t = arg;

    return store_session_touch(c, t->hash, t->now) == 0 ? 0 : DB_STORAGE_FAILURE;
}

static void touch_done(void *arg, int status)
{
    if (status != 0)
        log_warn("could not record a session's use (status %d)", status);
    free(arg);
}

static void session_touch(struct req *r, const char *hash, int64_t now, int64_t last_used)
{
    int64_t every = r->app->session_idle_ms / 10;
    struct touch_job *t;

    if (every <= 0 || every > 60000)
        every = 60000;
    if (now - last_used < every)
        return;
    t = malloc(sizeof *t);
    if (!t)
        return;
    memcpy(t->hash, hash, SECRET_HASH_HEX);
    t->now = now;
    if (db_writer_submit(r->app->writer, touch_apply, touch_done, t) != 0)
        free(t);
}

/* A staff session for hash: 1/0/-1 like store_session_lookup. */
static int session_lookup(struct req *r, db_conn *c, const char *hash)
{
    int64_t now = timefmt_now_ms(), last_used = 0;
    int rc = store_session_lookup_active(c, hash, now, r->app ? r->app->session_idle_ms : 0,
                                         &r->who, &last_used, NULL);

    if (rc == 1 && r->app && r->app->writer)
        session_touch(r, hash, now, last_used);
    return rc;
}

int auth_resolve(struct req *r)
{
    const char *token = presented_token(r);
    char hash[SECRET_HASH_HEX];
    db_conn *c;
    int rc;

    memset(&r->who, 0, sizeof r->who);
    if (!token)
        return AUTH_NONE;
    if (!*token || strlen(token) > 256)
        return AUTH_INVALID;
    c = db_reader();
    if (!c)
        return -1;
    secret_token_hash(token, hash);
    /* Devices post far more often than staff call: on device routes look
     * among devices first, elsewhere among sessions first. */
    if (r->route && r->route->min_role == ROLE_DEVICE) {
        rc = device_lookup(c, hash, &r->who);
        if (rc == 0)
            rc = session_lookup(r, c, hash);
    } else {
        rc = session_lookup(r, c, hash);
        if (rc == 0)
            rc = device_lookup(c, hash, &r->who);
    }
    /* Stations (wall displays): their own token kind, never a session, so
     * no session expiry or idle timeout applies; not cached, so a
     * revocation holds from its commit (docs/api.md "Stations"). */
    if (rc == 0)
        rc = store_station_lookup_token(c, hash, &r->who);
    if (rc < 0)
        return -1;
    return rc ? AUTH_OK : AUTH_INVALID;
}
