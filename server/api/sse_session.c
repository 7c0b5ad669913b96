/* sse_session: see sse_session.h. */
#include "sse_session.h"
#include "app.h"
#include "auth.h"
#include "log.h"
#include "store.h"
#include "timefmt.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PER_SESSION_DEFAULT 64u
#define TOTAL_DEFAULT       512u
/* A stream looks its session up at least this often even when nothing
 * says it changed (another process, e.g. `wardd user add`, may have). */
#define SSE_RECHECK_MS 10000

/* Open streams per session; a slot is free when n == 0. */
struct open_count {
    char hash[SECRET_HASH_HEX];
    unsigned n;
};

static struct {
    pthread_mutex_t mu;
    unsigned per_session, total, open;
    struct open_count slots[1024];
} caps = {
    .mu = PTHREAD_MUTEX_INITIALIZER, .per_session = PER_SESSION_DEFAULT, .total = TOTAL_DEFAULT};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sse_session_limits(unsigned per_session, unsigned total)
{
    pthread_mutex_lock(&caps.mu);
    if (per_session)
        caps.per_session = per_session;
    if (total)
        caps.total = total < 1024 ? total : 1024;
    pthread_mutex_unlock(&caps.mu);
}

/* The presented token, as auth.c resolved it: Authorization first. */
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

/* Takes a place for hash: 0, or -1 when a cap is reached. */
static int caps_take(const char *hash)
{
    struct open_count *mine = NULL, *free_slot = NULL;
    int rc = -1;

    pthread_mutex_lock(&caps.mu);
    for (size_t i = 0; i < sizeof caps.slots / sizeof caps.slots[0]; i++) {
        struct open_count *c = &caps.slots[i];
        if (c->n && strcmp(c->hash, hash) == 0) {
            mine = c;
            break;
        }
        if (!c->n && !free_slot)
            free_slot = c;
    }
    if (caps.open < caps.total && (mine ? mine->n < caps.per_session : free_slot != NULL)) {
        if (!mine) {
            mine = free_slot;
            memcpy(mine->hash, hash, SECRET_HASH_HEX);
        }
        mine->n++;
        caps.open++;
        rc = 0;
    }
    pthread_mutex_unlock(&caps.mu);
    return rc;
}

static void caps_give(const char *hash)
{
    pthread_mutex_lock(&caps.mu);
    for (size_t i = 0; i < sizeof caps.slots / sizeof caps.slots[0]; i++) {
        struct open_count *c = &caps.slots[i];
        if (c->n && strcmp(c->hash, hash) == 0) {
            c->n--;
            caps.open--;
            break;
        }
    }
    pthread_mutex_unlock(&caps.mu);
}

/* A station's token (docs/dashboard.md "Stations"): valid until it is
 * revoked; it has no expiry and no idle limit. 1 valid, 0 not, -1. */
static int lookup_station(sse_session *ss, principal *who)
{
    db_conn *c = db_reader();
    int rc = c ? store_station_lookup_token(c, ss->hash, who) : -1;

    if (rc == 1) {
        ss->expires_at = INT64_MAX;
        ss->last_used = INT64_MAX / 2;
        ss->generation = store_session_generation();
        ss->checked_ms = mono_ms();
    }
    return rc;
}

/* Looks the session up; fills the stream's view of it. 1 valid, 0 not,
 * -1 storage failure. */
static int lookup(sse_session *ss, principal *who)
{
    db_conn *c = db_reader();
    int64_t now = timefmt_now_ms();
    uint64_t generation = store_session_generation(); /* before the read */
    int rc;

    if (ss->station)
        return lookup_station(ss, who);
    if (!c)
        return -1;
    rc = store_session_lookup_active(c, ss->hash, now, ss->idle_ms, who, &ss->last_used,
                                     &ss->expires_at);
    if (rc == 1) {
        ss->generation = generation;
        ss->checked_ms = mono_ms();
    }
    return rc;
}

bool sse_session_admit_or_reply(struct req *r, sse_session *ss)
{
    const char *token = presented_token(r);
    principal who;

    memset(ss, 0, sizeof *ss);
    if (!token || r->who.role < ROLE_VIEWER) {
        reply_error(r, ERR_FORBIDDEN, "Only staff sessions can follow events.", NULL);
        return false;
    }
    secret_token_hash(token, ss->hash);
    ss->station = r->who.station;
    ss->idle_ms = ss->station ? 0 : r->app->session_idle_ms;
    if (lookup(ss, &who) != 1) {
        reply_error(r, ERR_UNAUTHENTICATED, NULL, NULL);
        return false;
    }
    ss->user_id = who.id;
    ss->role = who.role;
    if (caps_take(ss->hash) != 0) {
        log_warn("event stream refused for \"%s\": stream limit reached", r->who.name);
        reply_error(r, ERR_RATE_LIMITED,
                    "Too many open event streams; close one (another tab?) and retry.", NULL);
        return false;
    }
    ss->counted = true;
    return true;
}

bool sse_session_valid(sse_session *ss)
{
    int64_t now = timefmt_now_ms();
    principal who;

    if (!ss->counted)
        return false;
    if (store_session_generation() == ss->generation &&
        mono_ms() - ss->checked_ms < SSE_RECHECK_MS && now < ss->expires_at &&
        (ss->idle_ms <= 0 || now < ss->last_used + ss->idle_ms))
        return true;
    /* Something may have changed: the session must still exist, unexpired,
     * for the same user with the same role. */
    return lookup(ss, &who) == 1 && who.id == ss->user_id && who.role == ss->role;
}

void sse_session_release(sse_session *ss)
{
    if (!ss->counted)
        return;
    caps_give(ss->hash);
    ss->counted = false;
}
