/* login_guard: see login_guard.h. */
#include "login_guard.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define SETS 1024 /* per table */
#define WAYS 8
/* "user\naddr": a user name (<= 127 bytes) and an address (< 64). */
#define KEY_LEN 200

struct entry {
    char key[KEY_LEN]; /* "" = free */
    unsigned failures;
    int64_t last_ms;  /* latest failure */
    int64_t until_ms; /* no attempt before this */
};

struct table {
    struct entry e[SETS][WAYS];
    unsigned free_failures;
};

static struct table pairs = {.free_failures = LOGIN_PAIR_FREE};
static struct table addrs = {.free_failures = LOGIN_ADDR_FREE};
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned set_of(const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % SETS;
}

static bool recent(const struct entry *e, int64_t now)
{
    return e->key[0] && (now < e->until_ms || now - e->last_ms < LOGIN_WINDOW_MS);
}

/* The entry for key, or NULL. Locked. */
static struct entry *find(struct table *t, const char *key, int64_t now)
{
    struct entry *set = t->e[set_of(key)];

    for (int i = 0; i < WAYS; i++) {
        if (set[i].key[0] && strcmp(set[i].key, key) == 0) {
            if (!recent(&set[i], now))
                memset(&set[i], 0, sizeof set[i]); /* stale: starts over */
            else
                return &set[i];
        }
    }
    return NULL;
}

/* The entry for key, made if needed in a free or stale way; NULL when
 * every way holds a recent key. Locked. */
static struct entry *find_or_make(struct table *t, const char *key, int64_t now)
{
    struct entry *e = find(t, key, now), *set;

    if (e)
        return e;
    set = t->e[set_of(key)];
    for (int i = 0; i < WAYS; i++) {
        if (!recent(&set[i], now)) {
            memset(&set[i], 0, sizeof set[i]);
            snprintf(set[i].key, sizeof set[i].key, "%s", key);
            return &set[i];
        }
    }
    return NULL;
}

static void pair_key(char out[KEY_LEN], const char *user, const char *addr)
{
    snprintf(out, KEY_LEN, "%.127s\n%.63s", user, addr);
}

static int64_t wait_of(const struct entry *e, int64_t now)
{
    return e && now < e->until_ms ? e->until_ms - now : 0;
}

int64_t login_guard_wait_ms(const char *user, const char *addr, int64_t now)
{
    char key[KEY_LEN];
    int64_t w, wa;
    struct entry *a;

    pair_key(key, user, addr);
    pthread_mutex_lock(&lock);
    w = wait_of(find(&pairs, key, now), now);
    a = find(&addrs, addr, now);
    wa = wait_of(a, now);
    /* An address that finds no place at all waits (fail closed). */
    if (!a && !find_or_make(&addrs, addr, now))
        wa = LOGIN_OVERFLOW_MS;
    pthread_mutex_unlock(&lock);
    return w > wa ? w : wa;
}

/* Counts a failure on e; the wait it imposes (0: still free). Locked. */
static int64_t count(const struct table *t, struct entry *e, int64_t now)
{
    unsigned over;
    int64_t delay = 1000;

    if (!e)
        return 0;
    e->failures++;
    e->last_ms = now;
    if (e->failures <= t->free_failures)
        return 0;
    over = e->failures - t->free_failures; /* 1, 2, ... */
    for (unsigned i = 1; i < over && delay < LOGIN_DELAY_MAX; i++)
        delay *= 2;
    if (delay > LOGIN_DELAY_MAX)
        delay = LOGIN_DELAY_MAX;
    e->until_ms = now + delay;
    return delay;
}

int64_t login_guard_failed(const char *user, const char *addr, int64_t now)
{
    char key[KEY_LEN];
    int64_t dp, da;

    pair_key(key, user, addr);
    pthread_mutex_lock(&lock);
    dp = count(&pairs, find_or_make(&pairs, key, now), now);
    da = count(&addrs, find_or_make(&addrs, addr, now), now);
    pthread_mutex_unlock(&lock);
    return dp > da ? dp : da;
}

void login_guard_succeeded(const char *user, const char *addr)
{
    char key[KEY_LEN];
    struct entry *set;

    pair_key(key, user, addr);
    pthread_mutex_lock(&lock);
    set = pairs.e[set_of(key)];
    for (int i = 0; i < WAYS; i++)
        if (strcmp(set[i].key, key) == 0)
            memset(&set[i], 0, sizeof set[i]);
    pthread_mutex_unlock(&lock);
}

void login_guard_reset(void)
{
    pthread_mutex_lock(&lock);
    memset(pairs.e, 0, sizeof pairs.e);
    memset(addrs.e, 0, sizeof addrs.e);
    pthread_mutex_unlock(&lock);
}
