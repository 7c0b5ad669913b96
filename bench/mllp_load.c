/* mllp_load: HL7 v2 load for `make bench` (mllp_ingest, docs/performance.md).
 * Loopback only; every loop is bounded by time.
 *
 *   mllp_load --port P --conns N --duration-s D [--interval-ms I] [--tag T]
 *             [--app GW-BENCH] [--fac BENCH] [--poc BENCH]
 *
 * N connections (one thread each) send IHE PCD-01 ORU^R01 messages with 6
 * OBX (hr, spo2, sbp, dbp, map, rr) for the bed at location POC^<i>^1
 * (connection i, from 1), each waiting for its ACK before the next (as
 * MLLP senders do). --interval-ms 0 (default): as fast as the ACKs come
 * (closed loop); I > 0: one message per connection every I ms, the
 * connections' slots spread evenly over the interval (paced). Prints one
 * JSON object: messages, aa, not_aa, errors, readings_per_s (6 per AA),
 * ack_p50_ms, ack_p99_ms (send to ACK). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS   512
#define MAX_SAMPLES 200000

static const char *app = "GW-BENCH", *fac = "BENCH", *poc = "BENCH", *tag = "m";
static int port, conns = 64, duration_s = 10, interval_ms;
static int64_t start_ns, end_ns;

typedef struct worker {
    int id;
    unsigned long messages, aa, not_aa, errors;
    double *lat_ms;
    size_t nlat;
} worker;

static int64_t now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void sleep_until(int64_t ns)
{
    int64_t d = ns - now_ns();
    struct timespec t;

    if (d <= 0)
        return;
    t.tv_sec = d / 1000000000;
    t.tv_nsec = d % 1000000000;
    nanosleep(&t, NULL);
}

static int dial(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* One framed ORU^R01 into buf; its length. */
static size_t message(char *buf, size_t cap, int conn, unsigned long seq)
{
    char when[32];
    time_t t = time(NULL) - 1;
    struct tm tm;
    int n;

    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y%m%d%H%M%S+0000", &tm);
    n = snprintf(
        buf, cap,
        "\x0bMSH|^~\\&|%s|%s|WARDD|W|%s||ORU^R01^ORU_R01|%s-%d-%lu|P|2.6|||NE|AL||UNICODE UTF-8\r"
        "PV1||I|%s^%d^1\r"
        "OBR|1|x|x|182777000^monitoring of patient^SNOMED-CT|||%s\r"
        "OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC||%d|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R|||%s\r"
        "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||97|262688^MDC_DIM_PERCENT^MDC|||||R|||%s\r"
        "OBX|3|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC||118|266016^MDC_DIM_MMHG^MDC|||||R|||%s\r"
        "OBX|4|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC||76|266016^MDC_DIM_MMHG^MDC|||||R|||%s\r"
        "OBX|5|NM|150023^MDC_PRESS_BLD_NONINV_MEAN^MDC||90|266016^MDC_DIM_MMHG^MDC|||||R|||%s\r"
        "OBX|6|NM|151562^MDC_RESP_RATE^MDC||16|264928^MDC_DIM_RESP_PER_MIN^MDC|||||R|||%s\r"
        "\x1c\r",
        app, fac, when, tag, conn, seq, poc, conn, when, 60 + (int)(seq % 40), when, when, when,
        when, when, when);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* Reads one framed ACK; 1 AA, 0 another code, -1 error. */
static int read_ack(int fd)
{
    char buf[8192];
    size_t n = 0;

    for (;;) {
        ssize_t k = recv(fd, buf + n, sizeof buf - n - 1, 0);
        if (k <= 0)
            return -1;
        n += (size_t)k;
        if (n >= 2 && buf[n - 2] == 0x1c && buf[n - 1] == '\r') {
            buf[n] = '\0';
            return strstr(buf, "\rMSA|AA|") ? 1 : 0;
        }
        if (n + 1 >= sizeof buf)
            return -1;
    }
}

static void *run(void *arg)
{
    worker *w = arg;
    char msg[4096];
    int fd = dial();
    int64_t next =
        start_ns + (interval_ms > 0 ? (int64_t)interval_ms * 1000000 * w->id / conns : 0);

    for (unsigned long seq = 0; fd >= 0 && now_ns() < end_ns; seq++) {
        size_t len = message(msg, sizeof msg, w->id + 1, seq);
        int64_t t0;
        int rc;
        if (interval_ms > 0) {
            sleep_until(next);
            next += (int64_t)interval_ms * 1000000;
            if (now_ns() >= end_ns)
                break;
        }
        t0 = now_ns();
        if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
            w->errors++;
            break;
        }
        rc = read_ack(fd);
        w->messages++;
        if (rc < 0) {
            w->errors++;
            break;
        }
        if (rc == 1)
            w->aa++;
        else
            w->not_aa++;
        if (w->nlat < MAX_SAMPLES / MAX_CONNS * 4)
            w->lat_ms[w->nlat++] = (double)(now_ns() - t0) / 1e6;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const char *arg(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 1; i + 1 < argc; i += 2)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return dflt;
}

int main(int argc, char **argv)
{
    static worker ws[MAX_CONNS];
    pthread_t th[MAX_CONNS];
    unsigned long messages = 0, aa = 0, not_aa = 0, errors = 0;
    double *all;
    size_t nall = 0;
    double secs;

    port = atoi(arg(argc, argv, "--port", "0"));
    conns = atoi(arg(argc, argv, "--conns", "64"));
    duration_s = atoi(arg(argc, argv, "--duration-s", "10"));
    interval_ms = atoi(arg(argc, argv, "--interval-ms", "0"));
    tag = arg(argc, argv, "--tag", tag);
    app = arg(argc, argv, "--app", app);
    fac = arg(argc, argv, "--fac", fac);
    poc = arg(argc, argv, "--poc", poc);
    if (port <= 0 || conns < 1 || conns > MAX_CONNS || duration_s < 1 || interval_ms < 0) {
        fprintf(stderr,
                "usage: mllp_load --port P [--conns N] [--duration-s D] [--interval-ms I]\n");
        return 2;
    }
    all = calloc(MAX_SAMPLES * 4, sizeof *all);
    if (!all)
        return 1;
    start_ns = now_ns() + 50000000;
    end_ns = start_ns + (int64_t)duration_s * 1000000000;
    for (int i = 0; i < conns; i++) {
        ws[i].id = i;
        ws[i].lat_ms = all + (size_t)i * (MAX_SAMPLES / MAX_CONNS * 4);
        if (pthread_create(&th[i], NULL, run, &ws[i]) != 0)
            return 1;
    }
    for (int i = 0; i < conns; i++) {
        pthread_join(th[i], NULL);
        messages += ws[i].messages;
        aa += ws[i].aa;
        not_aa += ws[i].not_aa;
        errors += ws[i].errors;
    }
    /* compact the samples */
    for (int i = 0; i < conns; i++) {
        memmove(all + nall, ws[i].lat_ms, ws[i].nlat * sizeof *all);
        nall += ws[i].nlat;
    }
    qsort(all, nall, sizeof *all, cmp);
    secs = (double)(now_ns() - start_ns) / 1e9;
    if (secs > duration_s)
        secs = duration_s;
    printf("{\"conns\":%d,\"messages\":%lu,\"aa\":%lu,\"not_aa\":%lu,\"errors\":%lu,"
           "\"readings_per_s\":%.1f,\"ack_p50_ms\":%.2f,\"ack_p99_ms\":%.2f}\n",
           conns, messages, aa, not_aa, errors, (double)aa * 6 / secs, nall ? all[nall / 2] : 0.0,
           nall ? all[(size_t)((double)nall * 0.99)] : 0.0);
    free(all);
    return errors ? 1 : 0;
}
