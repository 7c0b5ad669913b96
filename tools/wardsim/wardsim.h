/* wardsim: the simulator's internal interfaces (tools/wardsim/).
 *
 *   main.c    command line, signals, the run's clock; one JSON summary line
 *   client.c  one libcurl easy handle per thread (keep-alive), the devices
 *             file, the stop flag and interruptible sleeps
 *   sim.c     simulation: one thread per bed's device, one nurse thread
 *   load.c    load generator: closed loop or fixed rate, latency percentiles
 *   model.c   the patient physiology (pure; see model.h)
 *
 * Every error is one line on stderr starting "wardsim: ". */
#ifndef WARDSIM_H
#define WARDSIM_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- options ----------------------------------------------------------------- */

typedef struct ws_opts {
    const char *url;     /* base URL, no trailing slash */
    const char *devices; /* JSON file [{"bed","serial","id","token"}] */
    int beds;            /* 0: every device in the file */
    long interval_ms;
    uint64_t seed;
    double speed;         /* simulated seconds per real second */
    double duration_s;    /* 0: until SIGINT/SIGTERM */
    const char *nurse;    /* "USER:PASSWORD" or NULL */
    int start_day;        /* 1-based course day the simulation starts on */
    double start_hour;    /* hour of that day; < 0: the current UTC time of day */
    const char *profiles; /* "well,leak,..." per bed in order, or NULL */
    bool load;
    int connections;
    int batch;
    double rate; /* requests/s; 0: closed loop */
    const char *code;
} ws_opts;

/* --- stop flag and sleeping ----------------------------------------------------- */

/* Set once by main on SIGINT/SIGTERM or at the end of --duration. */
extern atomic_bool ws_stopping;
/* Sets ws_stopping and wakes every ws_sleep_until(). */
void ws_stop(void);
/* CLOCK_MONOTONIC now in ns. */
int64_t ws_mono_ns(void);
/* Sleeps until the monotonic time `ns`; returns false early when stopping
 * (also when it already is). */
bool ws_sleep_until(int64_t ns);

/* --- logging -------------------------------------------------------------------- */

/* One line on stderr: "wardsim: " + message + "\n" (thread-safe). */
void ws_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- devices file ------------------------------------------------------------- */

typedef struct ws_device {
    char bed[33];
    char serial[65];
    long long id;
    char token[128];
} ws_device;

/* Reads the devices file. Returns 0 with *out (caller frees) and *n > 0, or
 * -1 after logging the reason. */
int ws_devices_load(const char *path, ws_device **out, size_t *n);

/* --- HTTP ------------------------------------------------------------------------- */

typedef struct ws_http {
    CURL *h;
    const char *base;
    char bearer[160];           /* the token the cached headers carry */
    struct curl_slist *headers; /* for `bearer` */
    char *body;                 /* the last response body, NUL-terminated */
    size_t len, cap;
    long retry_after_s; /* Retry-After of the last response, 0 when absent */
    char err[CURL_ERROR_SIZE];
} ws_http;

/* One handle per thread; timeout_ms bounds each whole request. 0 or -1. */
int ws_http_init(ws_http *c, const char *base, long timeout_ms);
void ws_http_free(ws_http *c);
/* Sends METHOD base+path with an optional bearer token and JSON body.
 * Returns 0 when a response arrived (*status, c->body), or -1 on a
 * transport error or timeout (c->err says which). */
int ws_http_do(ws_http *c, const char *method, const char *path, const char *bearer,
               const char *body, size_t body_len, long *status);
/* The server's error code and message from c->body ("" when absent), for
 * log lines: "409 bed_occupied: ..." */
const char *ws_http_error_text(ws_http *c, long status, char *buf, size_t len);

/* Whether the URL's host is a loopback address (127.0.0.0/8, ::1, localhost). */
bool ws_url_is_loopback(const char *url);

/* Waits (bounded) until GET /healthz answers 200. 0 or -1 (logged). */
int ws_wait_healthy(const char *base, double seconds);

/* --- the two modes ------------------------------------------------------------ */

/* Each returns the process exit status. */
int ws_sim_run(const ws_opts *o, const ws_device *devs, size_t n_devs, int64_t start_ms);
int ws_load_run(const ws_opts *o, const ws_device *devs, size_t n_devs, int64_t start_ms);

/* The main thread's wait (SIGINT and SIGTERM are blocked in every thread,
 * main.c): returns true when one arrived before the monotonic deadline
 * (having called ws_stop()), false at the deadline. */
bool ws_wait_signal(int64_t deadline_ns);

#endif
