/* wardsim: simulates the bedside monitors and nurses of a high-dose IL-2
 * ward against a running wardd, or generates load for benchmarks.
 *
 *   wardsim --url http://127.0.0.1:8080 --devices var/demo-devices.json
 *           [--beds N] [--interval-ms 5000] [--seed S] [--speed K]
 *           [--duration S] [--nurse USER:PASSWORD] [--start-day D]
 *           [--start-hour H] [--profiles P1,P2,...]
 *   wardsim --load --url http://127.0.0.1:PORT --devices FILE
 *           [--connections 8] [--batch 1] [--rate R] [--duration 10] [--code hr]
 *
 * Exit status: 0 success; 1 a run-time failure, or (simulation) a reading
 * the server rejected or that could not be delivered, or (load) any failed
 * request; 2 bad arguments. Every error is one line on stderr. */
#include "timefmt.h"
#include "wardsim.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: wardsim --url URL --devices FILE [--beds N] [--interval-ms MS] [--seed S]\n"
    "               [--speed K] [--duration S] [--nurse USER:PASSWORD] [--start-day D]\n"
    "               [--start-hour H] [--profiles well|leak|af|confusion|oliguria|auto,...]\n"
    "       wardsim --load --url http://127.0.0.1:PORT --devices FILE [--connections C]\n"
    "               [--batch B] [--rate R] [--duration S] [--code hr]\n"
    "Simulation: each bed's monitor posts hr, sbp, dbp, map, spo2, temp, rr every\n"
    "--interval-ms (default 5000) with its device token; --nurse also charts urine,\n"
    "weight, labs, O2 and consciousness through the staff API. --speed K (default 1)\n"
    "runs the physiology K times faster; reading times stay the real send times.\n"
    "Runs until Ctrl-C or --duration seconds, then prints a JSON summary line.\n"
    "Load: C connections (default 8) post batches of B readings (default 1) as\n"
    "fast as answered, or at --rate R requests/s on an open-loop schedule, for\n"
    "--duration seconds (default 10); prints one JSON line with throughput and\n"
    "latency percentiles. Loopback targets only.\n";

static int bad(const char *flag, const char *value, const char *why)
{
    fprintf(stderr, "wardsim: %s%s%s: %s (see wardsim --help)\n", flag, value && *value ? " " : "",
            value ? value : "", why);
    return 2;
}

static int num(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        char why[96];
        snprintf(why, sizeof why, "expected a number from %g to %g", lo, hi);
        return bad(flag, s, why);
    }
    *out = v;
    return 0;
}

/* Flags that belong to only one mode. */
static const char *const sim_only[] = {"--beds",      "--interval-ms", "--speed",    "--nurse",
                                       "--start-day", "--start-hour",  "--profiles", NULL};
static const char *const load_only[] = {"--connections", "--batch", "--rate", "--code", NULL};

static bool in(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static int parse(int argc, char **argv, ws_opts *o, char *url, size_t url_len)
{
    bool load = false;
    char seen_sim[64] = "", seen_load[64] = "";
    double v;

    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--load") == 0)
            load = true;
    o->load = load;
    for (int i = 1; i < argc; i++) {
        char flag[64];
        const char *a = argv[i], *val, *eq = strchr(a, '=');
        if (strcmp(a, "--load") == 0)
            continue;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (strncmp(a, "--", 2) != 0)
            return bad(a, NULL, "unexpected argument");
        if (eq) { /* --flag=value */
            snprintf(flag, sizeof flag, "%.*s", (int)(eq - a), a);
            val = eq + 1;
        } else {
            snprintf(flag, sizeof flag, "%s", a);
            if (i + 1 >= argc)
                return bad(flag, NULL, "needs a value");
            val = argv[++i];
        }
        if (in(sim_only, flag) && !seen_sim[0])
            memcpy(seen_sim, flag, sizeof flag);
        if (in(load_only, flag) && !seen_load[0])
            memcpy(seen_load, flag, sizeof flag);
        if (strcmp(flag, "--url") == 0) {
            size_t n = strlen(val);
            while (n > 0 && val[n - 1] == '/')
                n--;
            if ((strncmp(val, "http://", 7) != 0 && strncmp(val, "https://", 8) != 0) ||
                n >= url_len || n <= 8)
                return bad(flag, val, "expected http://HOST:PORT");
            memcpy(url, val, n);
            url[n] = '\0';
            o->url = url;
        } else if (strcmp(flag, "--devices") == 0) {
            o->devices = val;
        } else if (strcmp(flag, "--beds") == 0) {
            if (num(flag, val, 1, 10000, &v))
                return 2;
            o->beds = (int)v;
        } else if (strcmp(flag, "--interval-ms") == 0) {
            if (num(flag, val, 50, 3600000, &v))
                return 2;
            o->interval_ms = (long)v;
        } else if (strcmp(flag, "--seed") == 0) {
            char *end;
            errno = 0;
            o->seed = strtoull(val, &end, 0);
            if (errno || end == val || *end || *val == '-')
                return bad(flag, val, "expected an unsigned integer");
        } else if (strcmp(flag, "--speed") == 0) {
            if (num(flag, val, 0.001, 100000, &o->speed))
                return 2;
        } else if (strcmp(flag, "--duration") == 0) {
            if (num(flag, val, 0, 1e7, &o->duration_s))
                return 2;
        } else if (strcmp(flag, "--nurse") == 0) {
            const char *colon = strchr(val, ':');
            if (!colon || colon == val || !colon[1])
                return bad(flag, "", "expected USER:PASSWORD");
            o->nurse = val;
        } else if (strcmp(flag, "--start-day") == 0) {
            if (num(flag, val, 1, 365, &v) || v != floor(v))
                return bad(flag, val, "expected a whole day from 1 to 365");
            o->start_day = (int)v;
        } else if (strcmp(flag, "--start-hour") == 0) {
            if (num(flag, val, 0, 23.999, &o->start_hour))
                return 2;
        } else if (strcmp(flag, "--profiles") == 0) {
            o->profiles = val;
        } else if (strcmp(flag, "--connections") == 0) {
            if (num(flag, val, 1, 1000, &v))
                return 2;
            o->connections = (int)v;
        } else if (strcmp(flag, "--batch") == 0) {
            if (num(flag, val, 1, 1000, &v))
                return 2;
            o->batch = (int)v;
        } else if (strcmp(flag, "--rate") == 0) {
            if (num(flag, val, 0.1, 1e6, &o->rate))
                return 2;
        } else if (strcmp(flag, "--code") == 0) {
            o->code = val;
        } else {
            return bad(flag, NULL, "unknown option");
        }
    }
    if (!o->url)
        return bad("--url", NULL, "is required");
    if (!o->devices)
        return bad("--devices", NULL, "is required");
    if (load && seen_sim[0])
        return bad(seen_sim, NULL, "is a simulation option, not for --load");
    if (!load && seen_load[0])
        return bad(seen_load, NULL, "is a --load option");
    if (load && o->duration_s <= 0)
        return bad("--duration", "0", "a load run needs a duration");
    if (load && !ws_url_is_loopback(o->url)) {
        fprintf(stderr,
                "wardsim: --load refuses %s: load may only target this machine's loopback "
                "(127.0.0.1, ::1, localhost); load against other hosts is not allowed here\n",
                o->url);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    ws_opts o = {.interval_ms = 5000,
                 .seed = 1,
                 .speed = 1,
                 .start_day = 1,
                 .start_hour = -1,
                 .connections = 8,
                 .batch = 1,
                 .duration_s = 0,
                 .code = "hr"};
    char url[512];
    ws_device *devs = NULL;
    size_t n = 0;
    sigset_t set;
    int rc;

    for (int i = 1; i < argc; i++) /* --load's default duration */
        if (strcmp(argv[i], "--load") == 0)
            o.duration_s = 10;
    rc = parse(argc, argv, &o, url, sizeof url);
    if (rc != 0)
        return rc;
    if (ws_devices_load(o.devices, &devs, &n) != 0)
        return 1;
    /* SIGINT/SIGTERM are taken only by the main thread's sigtimedwait(); every
     * thread inherits this mask. libcurl must not raise SIGPIPE either. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "wardsim: cannot initialise libcurl\n");
        free(devs);
        return 1;
    }
    rc = o.load ? ws_load_run(&o, devs, n, timefmt_now_ms())
                : ws_sim_run(&o, devs, n, timefmt_now_ms());
    curl_global_cleanup();
    free(devs);
    return rc;
}
