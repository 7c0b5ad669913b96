/* attack_client: the clients of the two attacks of docs/security.md
 * ("Ingest is never starved"), shared by the benchmark (bench/attack.c)
 * and the integration test (tests/integration/it_attack.c) so that both
 * measure the same thing: a device posting one reading on a new
 * connection, a log-in with a random user name and a wrong password, and a
 * socket that trickles header lines. Header-only (static inline): each
 * program takes what it uses. */
#ifndef WARDD_ATTACK_CLIENT_H
#define WARDD_ATTACK_CLIENT_H

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The monotonic clock in milliseconds. */
static inline double attack_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static inline size_t attack_sink(char *d, size_t size, size_t n, void *arg)
{
    (void)d;
    (void)arg;
    return size * n;
}

/* Common options of every request: no proxy, no signals, the answer
 * discarded, at most timeout_ms. */
static inline void attack_setopt(CURL *c, const char *url, struct curl_slist *h, const char *body,
                                 long timeout_ms)
{
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, attack_sink);
}

/* One device post of reading `id` (hr 80 at `when`, RFC 3339) to
 * BASE/api/v1/readings on a new connection: its status (0: no answer
 * within 10 s), *ms its duration. */
static inline long attack_device_post(const char *base, const char *token, const char *id,
                                      const char *when, double *ms)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[512], auth[256], body[256];
    long status = 0;
    double t0 = attack_now_ms();

    snprintf(url, sizeof url, "%s/api/v1/readings", base);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    snprintf(body, sizeof body,
             "{\"readings\":[{\"id\":\"%s\",\"code\":\"hr\",\"value\":80,\"time\":\"%s\"}]}", id,
             when);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    attack_setopt(c, url, h, body, 10000L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    *ms = attack_now_ms() - t0;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

/* One log-in with a random user name and a wrong password on the
 * keep-alive handle c (h: its Content-Type header): the status, 0 when
 * there was no answer within timeout_ms. */
static inline long attack_wrong_login(CURL *c, struct curl_slist *h, const char *session_url,
                                      unsigned *seed, long timeout_ms)
{
    char body[256];
    long status = 0;

    snprintf(body, sizeof body, "{\"username\":\"user%u\",\"password\":\"wrong-%u\"}",
             (unsigned)rand_r(seed), (unsigned)rand_r(seed));
    attack_setopt(c, session_url, h, body, timeout_ms);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* A non-blocking connection from `source` to 127.0.0.1:port (connecting
 * in the background), or -1. */
static inline int attack_sock_open(const char *source, unsigned port)
{
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

    if (fd < 0)
        return -1;
    inet_pton(AF_INET, source, &src.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    dst.sin_port = htons((uint16_t)port);
    if (bind(fd, (const struct sockaddr *)&src, sizeof src) != 0 ||
        (connect(fd, (const struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Whether the server closed the socket (EOF or reset); sends `line` first
 * when not NULL (a socket still connecting takes it later). */
static inline bool attack_sock_closed(int fd, const char *line)
{
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN))
        return true;
    return line && send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
           errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN;
}

#endif
