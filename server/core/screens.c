/* screens: see screens.h. A fixed table scanned linearly: a ward has tens
 * of screens, and a heartbeat every 30 s from each is nothing to scan. */
#include "screens.h"
#include "clock.h"
#include "timefmt.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct screen {
    char id[SCREEN_ID_MAX + 1]; /* "" when free */
    char who[128];
    int64_t station_id;   /* 0 for a staff screen */
    bool sound;           /* the tab says its audio is unlocked and on */
    int64_t seen_mono_ms; /* last heartbeat, monotonic (expiry) */
    int64_t seen_ms;      /* last heartbeat, wall (display) */
    int64_t paused_until; /* wall ms; 0 when not paused */
};

static struct screen table[SCREENS_MAX];
static int64_t stations_seen[SCREENS_MAX]; /* station ids heard since start */
static size_t n_stations_seen;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

bool screens_id_valid(const char *id)
{
    size_t n = strlen(id);

    if (n < 8 || n > SCREEN_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

static bool live(const struct screen *s, int64_t mono)
{
    return s->id[0] && mono - s->seen_mono_ms < SCREEN_TTL_MS;
}

/* The live entry of `id`, or NULL. Called with the lock held. */
static struct screen *find(const char *id, int64_t mono)
{
    for (int i = 0; i < SCREENS_MAX; i++)
        if (live(&table[i], mono) && strcmp(table[i].id, id) == 0)
            return &table[i];
    return NULL;
}

static struct screen *find_free(int64_t mono)
{
    for (int i = 0; i < SCREENS_MAX; i++)
        if (!live(&table[i], mono))
            return &table[i];
    return NULL;
}

int screens_beat(const char *id, const principal *who, bool sound, int64_t now_ms,
                 int64_t *paused_until_ms)
{
    int64_t mono = clock_mono_ms();
    struct screen *s;
    int rc = -1;

    pthread_mutex_lock(&lock);
    s = find(id, mono);
    if (!s && (s = find_free(mono)) != NULL) {
        memset(s, 0, sizeof *s);
        snprintf(s->id, sizeof s->id, "%s", id);
    }
    if (s) {
        snprintf(s->who, sizeof s->who, "%s", who->name);
        s->station_id = who->station ? who->id : 0;
        s->sound = sound;
        s->seen_mono_ms = mono;
        s->seen_ms = now_ms;
        if (s->paused_until && s->paused_until <= now_ms)
            s->paused_until = 0;
        *paused_until_ms = s->paused_until;
        rc = 0;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int screens_owner(const char *id, int64_t *station_id)
{
    struct screen *s;

    pthread_mutex_lock(&lock);
    s = find(id, clock_mono_ms());
    if (s)
        *station_id = s->station_id;
    pthread_mutex_unlock(&lock);
    return s ? 1 : 0;
}

int screens_pause(const char *id, int64_t until_ms)
{
    struct screen *s;

    pthread_mutex_lock(&lock);
    s = find(id, clock_mono_ms());
    if (s)
        s->paused_until = until_ms;
    pthread_mutex_unlock(&lock);
    return s ? 1 : 0;
}

static bool can_sound(const struct screen *s, int64_t now_ms)
{
    return s->sound && s->paused_until <= now_ms;
}

static json_t *screen_json(const struct screen *s, int64_t now_ms)
{
    char seen[TIMEFMT_LEN], until[TIMEFMT_LEN];
    bool paused = s->paused_until > now_ms;

    timefmt_format(s->seen_ms, seen, sizeof seen);
    if (paused)
        timefmt_format(s->paused_until, until, sizeof until);
    return json_pack("{s:s, s:s, s:o, s:b, s:b, s:s?, s:s}", "screen", s->id, "who", s->who,
                     "station", s->station_id ? json_integer(s->station_id) : json_null(), "sound",
                     s->sound, "can_sound", can_sound(s, now_ms), "paused_until",
                     paused ? until : NULL, "last_seen", seen);
}

json_t *screens_list(int64_t now_ms)
{
    int64_t mono = clock_mono_ms();
    json_t *out = json_array();

    pthread_mutex_lock(&lock);
    for (int i = 0; out && i < SCREENS_MAX; i++) {
        if (live(&table[i], mono) && json_array_append_new(out, screen_json(&table[i], now_ms))) {
            json_decref(out);
            out = NULL;
        }
    }
    pthread_mutex_unlock(&lock);
    return out;
}

void screens_count(int64_t now_ms, unsigned *on, unsigned *off)
{
    int64_t mono = clock_mono_ms();

    *on = *off = 0;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < SCREENS_MAX; i++) {
        if (!live(&table[i], mono))
            continue;
        if (can_sound(&table[i], now_ms))
            (*on)++;
        else
            (*off)++;
    }
    pthread_mutex_unlock(&lock);
}

int screens_station_sound(int64_t station_id, int64_t now_ms)
{
    int64_t mono = clock_mono_ms();
    int rc = -1;

    pthread_mutex_lock(&lock);
    for (int i = 0; i < SCREENS_MAX && rc < 1; i++)
        if (live(&table[i], mono) && table[i].station_id == station_id)
            rc = can_sound(&table[i], now_ms) ? 1 : 0;
    pthread_mutex_unlock(&lock);
    return rc;
}

bool screens_station_first(int64_t station_id)
{
    bool first = true;

    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_stations_seen && first; i++)
        if (stations_seen[i] == station_id)
            first = false;
    /* A full list (more stations than screens) audits again: never less. */
    if (first && n_stations_seen < SCREENS_MAX)
        stations_seen[n_stations_seen++] = station_id;
    pthread_mutex_unlock(&lock);
    return first;
}
