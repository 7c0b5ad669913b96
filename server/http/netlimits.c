/* netlimits: see netlimits.h.
 *
 * One mutex guards the list of tracked connections (in accept order), the
 * per-address counts and the counters. A connection's fd is shut down only
 * under that mutex and only while the connection is in the list; MHD
 * reports the connection closed (which takes it out of the list) before it
 * closes the fd, so a shut-down never reaches a reused descriptor. */
#include "netlimits.h"
#include "threadname.h"
#include "log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IP_BUCKETS  1024
#define PROXIES_MAX 16
#define TICK_MS     250

struct tracked {
    int fd;
    char addr[NET_ADDR_LEN];
    /* When the phase the deadlines time began (monotonic): waiting for a
     * header since accept or the previous request's end; in a request
     * since its header completed. */
    int64_t since_ms;
    bool in_request; /* a header is complete and its request not over */
    /* ... and its body has all arrived. Set by the connection's own
     * worker without nl.mu (once per request, on the ingest path); the
     * timer reads it under nl.mu. */
    atomic_bool body_complete;
    bool shut;
    struct tracked *prev, *next;
};

struct ipcount {
    char addr[NET_ADDR_LEN];
    unsigned n;
    struct ipcount *next;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t tick;
    bool running;
    pthread_t timer;
    netlimits_config cfg;
    struct tracked *head, *tail;
    size_t open, pending;
    unsigned long shut;
    struct ipcount *ip[IP_BUCKETS];
    char proxies[PROXIES_MAX][NET_ADDR_LEN];
    int nproxies;
} nl = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- addresses ---------------------------------------------------------------- */

static void addr_text(const struct sockaddr *sa, char out[NET_ADDR_LEN])
{
    const void *p = NULL;

    snprintf(out, NET_ADDR_LEN, "unknown");
    if (!sa)
        return;
    if (sa->sa_family == AF_INET)
        p = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa->sa_family == AF_INET6)
        p = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (p && !inet_ntop(sa->sa_family, p, out, NET_ADDR_LEN))
        snprintf(out, NET_ADDR_LEN, "unknown");
}

/* Normalises a numeric address ("::0001" -> "::1"); false when it is not one. */
static bool addr_normalise(const char *in, size_t len, char out[NET_ADDR_LEN])
{
    char tmp[NET_ADDR_LEN];
    unsigned char bin[sizeof(struct in6_addr)];

    while (len && (*in == ' ' || *in == '\t')) {
        in++;
        len--;
    }
    while (len && (in[len - 1] == ' ' || in[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof tmp)
        return false;
    memcpy(tmp, in, len);
    tmp[len] = '\0';
    if (inet_pton(AF_INET, tmp, bin) == 1)
        return inet_ntop(AF_INET, bin, out, NET_ADDR_LEN) != NULL;
    if (inet_pton(AF_INET6, tmp, bin) == 1)
        return inet_ntop(AF_INET6, bin, out, NET_ADDR_LEN) != NULL;
    return false;
}

static bool is_proxy(const char *addr)
{
    for (int i = 0; i < nl.nproxies; i++)
        if (strcmp(nl.proxies[i], addr) == 0)
            return true;
    return false;
}

bool netlimits_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) ==
               127;
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
    return false;
}

static const struct sockaddr *peer(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    return ci ? ci->client_addr : NULL;
}

bool netlimits_behind_proxy(void)
{
    return nl.nproxies > 0;
}

bool netlimits_from_proxy(struct MHD_Connection *conn)
{
    char addr[NET_ADDR_LEN];

    if (nl.nproxies == 0)
        return false;
    addr_text(peer(conn), addr);
    return is_proxy(addr);
}

void netlimits_client_addr(struct MHD_Connection *conn, char out[NET_ADDR_LEN])
{
    const char *xff, *end;

    addr_text(peer(conn), out);
    if (nl.nproxies == 0 || !is_proxy(out))
        return;
    xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
    if (!xff)
        return;
    /* Right to left: each trusted proxy appended the address it saw. */
    end = xff + strlen(xff);
    while (end > xff) {
        const char *start = end;
        char addr[NET_ADDR_LEN];
        while (start > xff && start[-1] != ',')
            start--;
        if (!addr_normalise(start, (size_t)(end - start), addr))
            return; /* garbage: keep the proxy's own address */
        if (!is_proxy(addr)) {
            memcpy(out, addr, NET_ADDR_LEN);
            return;
        }
        end = start > xff ? start - 1 : xff;
    }
}

/* --- per-address counts (locked) ------------------------------------------------ */

static unsigned bucket(const char *addr)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (const char *p = addr; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % IP_BUCKETS;
}

static struct ipcount **ip_find(const char *addr)
{
    struct ipcount **pp = &nl.ip[bucket(addr)];

    while (*pp && strcmp((*pp)->addr, addr) != 0)
        pp = &(*pp)->next;
    return pp;
}

static void ip_add(const char *addr, int delta)
{
    struct ipcount **pp = ip_find(addr), *c = *pp;

    if (!c && delta > 0) {
        c = calloc(1, sizeof *c);
        if (!c)
            return;
        snprintf(c->addr, sizeof c->addr, "%s", addr);
        *pp = c;
    }
    if (!c)
        return;
    if (delta < 0 && c->n > 0)
        c->n--;
    else if (delta > 0)
        c->n++;
    if (c->n == 0) {
        *pp = c->next;
        free(c);
    }
}

/* --- MHD callbacks ----------------------------------------------------------------- */

enum MHD_Result netlimits_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    char text[NET_ADDR_LEN];
    struct ipcount *c;
    bool ok;
    (void)cls;
    (void)addrlen;

    if (nl.cfg.per_ip_max == 0)
        return MHD_YES;
    addr_text(addr, text);
    if (is_proxy(text))
        return MHD_YES;
    pthread_mutex_lock(&nl.mu);
    c = *ip_find(text);
    ok = !c || c->n < nl.cfg.per_ip_max;
    pthread_mutex_unlock(&nl.mu);
    if (!ok)
        log_debug("connection from %s refused: %u connections already", text, nl.cfg.per_ip_max);
    return ok ? MHD_YES : MHD_NO;
}

static void shut(struct tracked *t)
{
    t->shut = true;
    nl.shut++;
    shutdown(t->fd, SHUT_RDWR);
}

/* Over the reserve: shuts the oldest connection without a request. Locked. */
static void evict_oldest_pending(void)
{
    struct tracked *oldest = NULL;

    for (struct tracked *t = nl.head; t; t = t->next)
        if (!t->in_request && !t->shut && (!oldest || t->since_ms < oldest->since_ms))
            oldest = t;
    if (oldest)
        shut(oldest);
}

static void track_start(struct MHD_Connection *conn, void **socket_context)
{
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct tracked *t = calloc(1, sizeof *t);

    *socket_context = t;
    if (!t)
        return;
    t->fd = fd ? fd->connect_fd : -1;
    addr_text(peer(conn), t->addr);
    t->since_ms = mono_ms();
    pthread_mutex_lock(&nl.mu);
    t->prev = nl.tail;
    if (nl.tail)
        nl.tail->next = t;
    else
        nl.head = t;
    nl.tail = t;
    nl.open++;
    nl.pending++;
    ip_add(t->addr, 1);
    if (nl.cfg.pending_max && nl.pending > nl.cfg.pending_max)
        evict_oldest_pending();
    pthread_mutex_unlock(&nl.mu);
}

static void track_end(void **socket_context)
{
    struct tracked *t = *socket_context;

    if (!t)
        return;
    pthread_mutex_lock(&nl.mu);
    if (t->prev)
        t->prev->next = t->next;
    else
        nl.head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        nl.tail = t->prev;
    nl.open--;
    if (!t->in_request)
        nl.pending--;
    ip_add(t->addr, -1);
    pthread_mutex_unlock(&nl.mu);
    free(t);
    *socket_context = NULL;
}

void netlimits_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        track_start(conn, socket_context);
    else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
        track_end(socket_context);
}

static struct tracked *tracked_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci ? ci->socket_context : NULL;
}

void netlimits_request_begin(struct MHD_Connection *conn)
{
    struct tracked *t = tracked_of(conn);

    if (!t)
        return;
    pthread_mutex_lock(&nl.mu);
    if (!t->in_request) {
        t->in_request = true;
        atomic_store(&t->body_complete, false);
        t->since_ms = mono_ms();
        nl.pending--;
    }
    pthread_mutex_unlock(&nl.mu);
}

void netlimits_body_complete(struct MHD_Connection *conn)
{
    struct tracked *t = tracked_of(conn);

    if (t)
        atomic_store(&t->body_complete, true);
}

void netlimits_request_end(struct MHD_Connection *conn)
{
    struct tracked *t = tracked_of(conn);

    if (!t)
        return;
    pthread_mutex_lock(&nl.mu);
    if (t->in_request) {
        t->in_request = false;
        t->since_ms = mono_ms();
        nl.pending++;
    }
    pthread_mutex_unlock(&nl.mu);
}

/* --- the deadline timer -------------------------------------------------------------- */

/* Whether t has missed its header or body deadline at now. Locked. */
static bool past_deadline(struct tracked *t, int64_t now)
{
    unsigned limit_ms = t->in_request ? nl.cfg.body_timeout_ms : nl.cfg.header_timeout_ms;

    if (t->shut || limit_ms == 0 || (t->in_request && atomic_load(&t->body_complete)))
        return false;
    return now - t->since_ms >= limit_ms;
}

static void *timer_main(void *unused)
{
    struct timespec until;
    (void)unused;
    thread_name("wd-netlimits");

    pthread_mutex_lock(&nl.mu);
    while (nl.running) {
        int64_t now = mono_ms();
        for (struct tracked *t = nl.head; t; t = t->next)
            if (past_deadline(t, now))
                shut(t);
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&nl.tick, &nl.mu, &until);
    }
    pthread_mutex_unlock(&nl.mu);
    return NULL;
}

static int parse_proxies(const char *list)
{
    const char *p = list;

    nl.nproxies = 0;
    while (p && *p) {
        size_t len = strcspn(p, ",");
        if (nl.nproxies == PROXIES_MAX || !addr_normalise(p, len, nl.proxies[nl.nproxies])) {
            log_error("behind-proxy: '%.*s' is not a numeric address (at most %d)", (int)len, p,
                      PROXIES_MAX);
            return -1;
        }
        nl.nproxies++;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

int netlimits_start(const netlimits_config *cfg)
{
    pthread_condattr_t ca;

    if (parse_proxies(cfg->trusted_proxies) != 0)
        return -1;
    nl.cfg = *cfg;
    if (cfg->header_timeout_ms == 0 && cfg->body_timeout_ms == 0)
        return 0;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&nl.tick, &ca);
    pthread_condattr_destroy(&ca);
    nl.running = true;
    if (pthread_create(&nl.timer, NULL, timer_main, NULL) != 0) {
        nl.running = false;
        log_error("cannot start the header- and body-deadline timer");
        return -1;
    }
    return 0;
}

void netlimits_stop(void)
{
    bool was;

    pthread_mutex_lock(&nl.mu);
    was = nl.running;
    nl.running = false;
    if (was)
        pthread_cond_broadcast(&nl.tick);
    pthread_mutex_unlock(&nl.mu);
    if (was) {
        pthread_join(nl.timer, NULL);
        pthread_cond_destroy(&nl.tick);
    }
}

size_t netlimits_open(void)
{
    size_t n;

    pthread_mutex_lock(&nl.mu);
    n = nl.open;
    pthread_mutex_unlock(&nl.mu);
    return n;
}

unsigned long netlimits_shut_total(void)
{
    unsigned long n;

    pthread_mutex_lock(&nl.mu);
    n = nl.shut;
    pthread_mutex_unlock(&nl.mu);
    return n;
}
