/* attack: a device's POST latency while the ward LAN attacks wardd, for
 * `make bench` (figure ingest_under_attack, docs/performance.md and
 * docs/security.md).
 *
 *   attack --url URL --token DEVICE_TOKEN --mode idle|flood|trickle
 *          [--seconds N] [--sockets N] [--source ADDR]
 *
 * A device posts one reading every 100 ms, each on a new connection (as a
 * monitor that reconnects does), for --seconds (default 10), while:
 *   idle     nothing else happens (the baseline);
 *   flood    32 clients post log-ins with random user names and wrong
 *            passwords as fast as they are answered (keep-alive);
 *   trickle  --sockets (default 1100) connections from --source (default
 *            127.0.0.2) each send "GET / HTTP/1.1" and then one more
 *            header line every 5 s; a socket the server closes is opened
 *            again a second later (a persistent attacker).
 * Prints one line: "posts=N failed=N p50_ms=X p99_ms=X max_ms=X attack=..."
 * (failed: not 201, or no answer within 10 s). */
#include "attack_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FLOOD_CLIENTS 32
#define POSTS_MAX     100000

static const char *url, *token, *mode = "idle", *source = "127.0.0.2";
static int seconds = 10, nsockets = 1100;
static atomic_bool stop;
static atomic_long flood_answers;

/* --- the device --------------------------------------------------------------------- */

static long device_post(long seq, double *ms)
{
    char id[96], when[32];
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(id, sizeof id, "atk-%s-%d-%ld", mode, (int)getpid(), seq);
    return attack_device_post(url, token, id, when, ms);
}

/* --- flood ----------------------------------------------------------------------------- */

static void *flood_main(void *arg)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char u[512];
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u;

    snprintf(u, sizeof u, "%s/api/v1/session", url);
    while (!atomic_load(&stop))
        if (attack_wrong_login(c, h, u, &seed, 30000L) != 0)
            atomic_fetch_add(&flood_answers, 1);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

/* --- trickle ---------------------------------------------------------------------------- */

struct sock {
    int fd;         /* -1: closed */
    double next_ms; /* next line, or re-open */
};

static void *trickle_main(void *arg)
{
    struct sock *s = calloc((size_t)nsockets, sizeof *s);
    const char *p = strstr(url, "://");
    unsigned port = 0;
    (void)arg;

    if (!s || !p || sscanf(strrchr(p + 3, ':') + 1, "%u", &port) != 1)
        return NULL;
    for (int i = 0; i < nsockets; i++) {
        s[i].fd = attack_sock_open(source, port);
        if (s[i].fd >= 0)
            (void)attack_sock_closed(s[i].fd, "GET / HTTP/1.1\r\n");
        s[i].next_ms = attack_now_ms() + 5000;
    }
    while (!atomic_load(&stop)) {
        double t = attack_now_ms();
        for (int i = 0; i < nsockets; i++) {
            if (s[i].fd < 0) {
                if (t >= s[i].next_ms) {
                    s[i].fd = attack_sock_open(source, port);
                    if (s[i].fd >= 0)
                        (void)attack_sock_closed(s[i].fd, "GET / HTTP/1.1\r\n");
                    s[i].next_ms = t + 5000;
                }
                continue;
            }
            if (attack_sock_closed(s[i].fd, t >= s[i].next_ms ? "X-Trickle: 1\r\n" : NULL)) {
                close(s[i].fd);
                s[i].fd = -1;
                s[i].next_ms = t + 1000;
            } else if (t >= s[i].next_ms) {
                s[i].next_ms = t + 5000;
            }
        }
        usleep(100000);
    }
    for (int i = 0; i < nsockets; i++)
        if (s[i].fd >= 0)
            close(s[i].fd);
    free(s);
    return NULL;
}

/* --- main --------------------------------------------------------------------------------- */

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static int args(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--url") == 0)
            url = argv[i + 1];
        else if (strcmp(argv[i], "--token") == 0)
            token = argv[i + 1];
        else if (strcmp(argv[i], "--mode") == 0)
            mode = argv[i + 1];
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--sockets") == 0)
            nsockets = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--source") == 0)
            source = argv[i + 1];
        else
            return -1;
    }
    return url && token && seconds > 0 && nsockets > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    static double lat[POSTS_MAX];
    pthread_t th[FLOOD_CLIENTS];
    int nth = 0;
    long posts = 0, failed = 0;
    double end;
    struct rlimit rl;

    if (args(argc, argv) != 0) {
        fprintf(stderr, "usage: attack --url URL --token T --mode idle|flood|trickle "
                        "[--seconds N] [--sockets N] [--source ADDR]\n");
        return 2;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nsockets + 256) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (strcmp(mode, "flood") == 0)
        for (; nth < FLOOD_CLIENTS; nth++)
            pthread_create(&th[nth], NULL, flood_main, (void *)(uintptr_t)(nth + 1));
    else if (strcmp(mode, "trickle") == 0 && pthread_create(&th[0], NULL, trickle_main, NULL) == 0)
        nth = 1;
    sleep(1); /* the attack is on */
    end = attack_now_ms() + seconds * 1000.0;
    while (attack_now_ms() < end && posts < POSTS_MAX) {
        double t0 = attack_now_ms();
        if (device_post(posts, &lat[posts]) != 201)
            failed++;
        posts++;
        if (attack_now_ms() - t0 < 100)
            usleep((useconds_t)((100 - (attack_now_ms() - t0)) * 1000));
    }
    atomic_store(&stop, true);
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    qsort(lat, (size_t)posts, sizeof lat[0], cmp);
    printf("posts=%ld failed=%ld p50_ms=%.2f p99_ms=%.2f max_ms=%.2f attack=%s flood_answers=%ld\n",
           posts, failed, lat[posts / 2], lat[(posts * 99 + 99) / 100 - 1], lat[posts - 1], mode,
           atomic_load(&flood_answers));
    curl_global_cleanup();
    return 0;
}
