/* events: see events.h.
 *
 * One mutex guards everything: the ring of serialised events, the id
 * counter, and the list of parked streams. The ring holds events with
 * consecutive ids first..next-1 (at most `cap` of them); the event with id
 * n lives in slot n % cap. A stream is a cursor (the last id it delivered)
 * plus at most one partly sent block, so its memory is bounded by the
 * largest event no matter how far behind it is.
 *
 * Waking: publish/shutdown/the keep-alive timer unlink parked streams under
 * the lock into a private chain, and call wake() on each after unlocking.
 * A parked stream's transport is suspended, so nothing else touches it
 * until its wake(); the chain's next pointer is read before wake(). */
#include "clock.h"
#include "threadname.h"
#include "envnum.h"
#include "events.h"
#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEEPALIVE_DEFAULT_MS 15000L
/* Every parked stream is also woken this often, so that its reader can
 * re-check the session behind it (api_events.c): a stream ends within
 * this bound of its session ending even when nothing is published. */
#define RECHECK_DEFAULT_MS 10000L
/* The ring also keeps under this many bytes of event text: a burst of huge
 * events (1000-reading batches) drops the oldest early, as if the ring
 * were smaller, rather than holding hundreds of MiB. */
#define REPLAY_MAX_BYTES ((size_t)64 * 1024 * 1024)
#define PREAMBLE         ": connected\nretry: 2000\n\n"
#define KEEPALIVE        ": keep-alive\n\n"

struct slot {
    uint64_t id;
    char *text; /* "id: N\nevent: T\ndata: {...}\n\n" */
    size_t len;
};

struct events_stream {
    uint64_t cursor; /* last id delivered (or skipped by a reset) */
    bool reset;      /* a `reset` block is due before the next event */
    bool keepalive;  /* the timer woke it: send a keep-alive if idle */
    bool parked;
    int64_t last_write_ms;
    /* The block being sent: small[] (preamble, reset, keep-alive) or big
     * (a copy of one event larger than the caller's buffer). */
    const char *pend;
    size_t pend_len, pend_off;
    char small[160];
    char *big;
    void (*park)(void *arg);
    void (*wake)(void *arg);
    void *arg;
    events_stream *prev, *next; /* parked list, or a wake chain */
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t tick; /* wakes the timer at shutdown */
    bool running;
    struct slot *ring;
    size_t cap;
    uint64_t first, next; /* ids in the ring: [first, next) */
    size_t bytes;         /* text held by the ring */
    events_stream *parked;
    long keepalive_ms;
    long recheck_ms;
    pthread_t timer;
    bool timer_started;
} bus = {.mu = PTHREAD_MUTEX_INITIALIZER};

static atomic_size_t clients;

/* --- parked list ------------------------------------------------------------ */

static void park_add(events_stream *s)
{
    s->parked = true;
    s->prev = NULL;
    s->next = bus.parked;
    if (bus.parked)
        bus.parked->prev = s;
    bus.parked = s;
}

static void park_remove(events_stream *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        bus.parked = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->parked = false;
    s->prev = s->next = NULL;
}

/* Unlinks every parked stream into a chain for wake_chain(). Locked. */
static events_stream *take_all_parked(void)
{
    events_stream *chain = bus.parked;

    for (events_stream *s = chain; s; s = s->next)
        s->parked = false;
    bus.parked = NULL;
    return chain;
}

/* Calls wake() on each stream of a chain. Not locked. */
static void wake_chain(events_stream *s)
{
    while (s) {
        events_stream *next = s->next;
        s->prev = s->next = NULL;
        s->wake(s->arg);
        s = next;
    }
}

/* --- keep-alive timer ------------------------------------------------------ */

/* Wakes every parked stream idle for keepalive_ms; sleeps until the next
 * one is due, at most a quarter interval (a stream parked meanwhile is not
 * signalled, so its keep-alive comes 1 to 1.25 intervals after its last
 * write). */
static void *timer_main(void *unused)
{
    int64_t next_recheck = clock_mono_ms() + bus.recheck_ms;
    (void)unused;
    thread_name("wd-events-timer");
    pthread_mutex_lock(&bus.mu);
    while (bus.running) {
        int64_t now = clock_mono_ms();
        long sleep_ms = bus.keepalive_ms / 4;
        events_stream *chain = NULL, *s = bus.parked;
        struct timespec until;

        if (now >= next_recheck) {
            /* Re-check wake: every parked stream's reader runs once. */
            next_recheck = now + bus.recheck_ms;
            chain = take_all_parked();
            pthread_mutex_unlock(&bus.mu);
            wake_chain(chain);
            pthread_mutex_lock(&bus.mu);
            continue;
        }
        if (next_recheck - now < sleep_ms)
            sleep_ms = (long)(next_recheck - now);
        while (s) {
            events_stream *next = s->next;
            int64_t idle = now - s->last_write_ms;
            if (idle >= bus.keepalive_ms) {
                park_remove(s);
                s->keepalive = true;
                s->next = chain;
                chain = s;
            } else if (bus.keepalive_ms - idle < sleep_ms) {
                sleep_ms = (long)(bus.keepalive_ms - idle);
            }
            s = next;
        }
        if (chain) {
            pthread_mutex_unlock(&bus.mu);
            wake_chain(chain);
            pthread_mutex_lock(&bus.mu);
            continue;
        }
        until = clock_mono_after(sleep_ms);
        pthread_cond_timedwait(&bus.tick, &bus.mu, &until);
    }
    pthread_mutex_unlock(&bus.mu);
    return NULL;
}

/* --- the bus --------------------------------------------------------------- */

/* ---------------------------------------------------------------------- */
/* The publisher thread: work deferred by events_defer(), in order         */

#define PUB_MAX 256 /* queued items before events_defer() waits (each may hold a batch) */

typedef struct pub_item {
    void (*fn)(void *arg);
    void *arg;
    struct pub_item *next;
} pub_item;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work, room;
    pub_item *head, *tail;
    size_t n;
    bool running, stop;
    pthread_t thread;
} pub = {.mu = PTHREAD_MUTEX_INITIALIZER,
         .work = PTHREAD_COND_INITIALIZER,
         .room = PTHREAD_COND_INITIALIZER};

static void *pub_main(void *unused)
{
    (void)unused;
    thread_name("wd-events");
    pthread_mutex_lock(&pub.mu);
    for (;;) {
        pub_item *it;
        while (!pub.head && !pub.stop)
            pthread_cond_wait(&pub.work, &pub.mu);
        it = pub.head;
        if (!it)
            break; /* stopping, and everything queued has run */
        pub.head = it->next;
        if (!pub.head)
            pub.tail = NULL;
        pub.n--;
        pthread_cond_signal(&pub.room);
        pthread_mutex_unlock(&pub.mu);
        it->fn(it->arg);
        free(it);
        pthread_mutex_lock(&pub.mu);
    }
    pthread_mutex_unlock(&pub.mu);
    return NULL;
}

void events_defer(void (*fn)(void *arg), void *arg)
{
    pub_item *it = malloc(sizeof *it);

    pthread_mutex_lock(&pub.mu);
    while (it && pub.running && !pub.stop && pub.n >= PUB_MAX)
        pthread_cond_wait(&pub.room, &pub.mu);
    if (it && pub.running && !pub.stop) {
        *it = (pub_item){.fn = fn, .arg = arg};
        if (pub.tail)
            pub.tail->next = it;
        else
            pub.head = it;
        pub.tail = it;
        pub.n++;
        pthread_cond_signal(&pub.work);
        pthread_mutex_unlock(&pub.mu);
        return;
    }
    pthread_mutex_unlock(&pub.mu);
    free(it);
    fn(arg); /* no publisher (not started, stopped, or out of memory): here */
}

static void pub_start(void)
{
    pthread_mutex_lock(&pub.mu);
    pub.stop = false;
    pub.running = pthread_create(&pub.thread, NULL, pub_main, NULL) == 0;
    pthread_mutex_unlock(&pub.mu);
    if (!pub.running)
        log_warn("events: no publisher thread; deferred work runs on the caller's thread");
}

/* Runs what is queued, then ends the thread. */
static void pub_stop(void)
{
    bool running;

    pthread_mutex_lock(&pub.mu);
    running = pub.running;
    pub.stop = true;
    pthread_cond_broadcast(&pub.work);
    pthread_cond_broadcast(&pub.room);
    pthread_mutex_unlock(&pub.mu);
    if (running)
        pthread_join(pub.thread, NULL);
    pthread_mutex_lock(&pub.mu);
    pub.running = false;
    pthread_mutex_unlock(&pub.mu);
}

int events_init(size_t replay)
{
    struct timespec now;
    struct slot *ring;

    if (replay == 0)
        return -1;
    ring = calloc(replay, sizeof *ring);
    if (!ring)
        return -1;
    clock_gettime(CLOCK_REALTIME, &now);
    pthread_mutex_lock(&bus.mu);
    if (bus.running) {
        pthread_mutex_unlock(&bus.mu);
        free(ring);
        return -1;
    }
    bus.ring = ring;
    bus.cap = replay;
    bus.first = bus.next =
        ((uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u) * 1000u;
    bus.bytes = 0;
    bus.parked = NULL;
    bus.keepalive_ms =
        (long)env_number("WARDD_SSE_KEEPALIVE_MS", KEEPALIVE_DEFAULT_MS, 10, 3600L * 1000);
    bus.recheck_ms = (long)env_number("WARDD_SSE_RECHECK_MS", RECHECK_DEFAULT_MS, 10, 3600L * 1000);
    bus.running = true;
    /* Without a monotonic condition the timer would not start: streams then
     * get no keep-alive comments, which is logged, not fatal. */
    bus.timer_started = clock_cond_init_mono(&bus.tick) == 0 &&
                        pthread_create(&bus.timer, NULL, timer_main, NULL) == 0;
    pthread_mutex_unlock(&bus.mu);
    if (!bus.timer_started)
        log_warn("events: no keep-alive timer thread");
    pub_start();
    return 0;
}

void events_shutdown(void)
{
    events_stream *chain;
    struct slot *ring;
    size_t cap;

    pub_stop(); /* what was deferred is published first */
    pthread_mutex_lock(&bus.mu);
    if (!bus.running) {
        pthread_mutex_unlock(&bus.mu);
        return;
    }
    bus.running = false;
    chain = take_all_parked();
    ring = bus.ring;
    cap = bus.cap;
    bus.ring = NULL;
    bus.cap = 0;
    pthread_cond_broadcast(&bus.tick);
    pthread_mutex_unlock(&bus.mu);

    wake_chain(chain);
    if (bus.timer_started)
        pthread_join(bus.timer, NULL);
    bus.timer_started = false;
    pthread_cond_destroy(&bus.tick);
    for (size_t i = 0; i < cap; i++)
        free(ring[i].text);
    free(ring);
}

/* Forgets the oldest event. Locked. */
static void drop_oldest(void)
{
    struct slot *old = &bus.ring[bus.first % bus.cap];

    bus.bytes -= old->len;
    free(old->text);
    old->text = NULL;
    old->len = 0;
    bus.first++;
}

static bool type_ok(const char *type)
{
    if (!type || !*type || strlen(type) > 32)
        return false;
    for (const char *p = type; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == ':')
            return false;
    return true;
}

uint64_t events_publish(const char *type, json_t *data)
{
    char *json, *text;
    size_t json_len, text_cap;
    int n;
    uint64_t id;
    struct slot *slot;
    events_stream *chain;

    if (!type_ok(type) || !data) {
        json_decref(data);
        return 0;
    }
    /* Compact JSON escapes control characters: the data line is one line. */
    json = json_dumps(data, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(data);
    if (!json)
        return 0;
    json_len = strlen(json);
    text_cap = json_len + strlen(type) + 64;
    text = malloc(text_cap);
    if (!text) {
        free(json);
        return 0;
    }

    pthread_mutex_lock(&bus.mu);
    if (!bus.running) {
        pthread_mutex_unlock(&bus.mu);
        free(json);
        free(text);
        return 0;
    }
    id = bus.next++;
    n = snprintf(text, text_cap, "id: %llu\nevent: %s\ndata: %s\n\n", (unsigned long long)id, type,
                 json);
    if (bus.next - bus.first > bus.cap)
        drop_oldest(); /* its slot is the one reused below */
    slot = &bus.ring[id % bus.cap];
    slot->id = id;
    slot->text = text;
    slot->len = (size_t)n;
    bus.bytes += slot->len;
    while (bus.bytes > REPLAY_MAX_BYTES && bus.first < id)
        drop_oldest();
    chain = take_all_parked();
    pthread_mutex_unlock(&bus.mu);

    free(json);
    wake_chain(chain);
    return id;
}

size_t events_clients(void)
{
    return atomic_load(&clients);
}

uint64_t events_last_id(void)
{
    uint64_t id = 0;

    pthread_mutex_lock(&bus.mu);
    if (bus.running)
        id = bus.next - 1;
    pthread_mutex_unlock(&bus.mu);
    return id;
}

/* --- streams --------------------------------------------------------------- */

static void set_small(events_stream *s, const char *text)
{
    size_t len = strlen(text);

    if (len >= sizeof s->small)
        len = sizeof s->small - 1;
    memcpy(s->small, text, len);
    s->small[len] = '\0';
    s->pend = s->small;
    s->pend_len = len;
    s->pend_off = 0;
}

events_stream *events_stream_open(bool has_last, uint64_t last_id, void (*park)(void *arg),
                                  void (*wake)(void *arg), void *arg)
{
    events_stream *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->park = park;
    s->wake = wake;
    s->arg = arg;
    s->last_write_ms = clock_mono_ms();
    set_small(s, PREAMBLE);
    pthread_mutex_lock(&bus.mu);
    if (!bus.running) {
        pthread_mutex_unlock(&bus.mu);
        free(s);
        return NULL;
    }
    if (!has_last || last_id >= bus.next) {
        /* No id, or one this process never issued (a clock step back
         * between runs): start now; the unknown id also gets a reset. */
        s->cursor = bus.next - 1;
        s->reset = has_last && last_id != bus.next - 1;
    } else {
        s->cursor = last_id; /* read() resets when cursor + 1 < first */
    }
    atomic_fetch_add(&clients, 1);
    pthread_mutex_unlock(&bus.mu);
    return s;
}

/* Copies what fits of the pending block; true when it is all sent. */
static bool copy_pending(events_stream *s, char *buf, size_t max, size_t *out)
{
    size_t n = s->pend_len - s->pend_off;

    if (n > max - *out)
        n = max - *out;
    memcpy(buf + *out, s->pend + s->pend_off, n);
    s->pend_off += n;
    *out += n;
    if (s->pend_off < s->pend_len)
        return false;
    free(s->big);
    s->big = NULL;
    s->pend = NULL;
    s->pend_len = s->pend_off = 0;
    return true;
}

ssize_t events_stream_read(events_stream *s, char *buf, size_t max)
{
    size_t out = 0;

    if (max == 0)
        return 0; /* cannot happen with MHD; never park on it */
    pthread_mutex_lock(&bus.mu);
    if (!bus.running) {
        pthread_mutex_unlock(&bus.mu);
        return EVENTS_EOF;
    }
    for (;;) {
        if (s->pend) {
            if (!copy_pending(s, buf, max, &out))
                break; /* buffer full */
            continue;
        }
        if (s->cursor + 1 < bus.first) {
            /* Fell out of the replay window (at open, or while its socket
             * was too slow): skip to the oldest event still held. */
            s->cursor = bus.first - 1;
            s->reset = true;
        }
        if (s->reset) {
            char block[sizeof s->small];
            snprintf(block, sizeof block,
                     "id: %llu\nevent: reset\ndata: {\"reason\":\"replay window exceeded\"}\n\n",
                     (unsigned long long)s->cursor);
            set_small(s, block);
            s->reset = false;
            continue;
        }
        if (s->cursor + 1 < bus.next) {
            const struct slot *e = &bus.ring[(s->cursor + 1) % bus.cap];
            if (e->len <= max - out) {
                memcpy(buf + out, e->text, e->len);
                out += e->len;
                s->cursor++;
                continue;
            }
            if (out > 0)
                break; /* whole blocks only; the rest next time */
            s->big = malloc(e->len);
            if (!s->big) {
                pthread_mutex_unlock(&bus.mu);
                return EVENTS_EOF;
            }
            memcpy(s->big, e->text, e->len);
            s->pend = s->big;
            s->pend_len = e->len;
            s->pend_off = 0;
            s->cursor++;
            continue;
        }
        break;
    }
    if (out == 0 && s->keepalive) {
        set_small(s, KEEPALIVE);
        copy_pending(s, buf, max, &out);
    }
    s->keepalive = false;
    if (out > 0) {
        s->last_write_ms = clock_mono_ms();
    } else {
        park_add(s);
        s->park(s->arg);
    }
    pthread_mutex_unlock(&bus.mu);
    return (ssize_t)out;
}

void events_stream_close(events_stream *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&bus.mu);
    if (s->parked)
        park_remove(s);
    pthread_mutex_unlock(&bus.mu);
    atomic_fetch_sub(&clients, 1);
    free(s->big);
    free(s);
}
