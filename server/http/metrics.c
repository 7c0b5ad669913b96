/* metrics: see metrics.h. */
#include "metrics.h"
#include "walbuf.h"
#include "app.h"
#include "clinical.h"
#include "diskwatch.h"
#include "events.h"
#include "http.h"
#include "screens.h"
#include "timefmt.h"
#include "netlimits.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Request latency histogram bounds, seconds (Prometheus `le`). */
static const double bucket_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0};
#define N_BUCKETS (sizeof bucket_le / sizeof bucket_le[0])

static atomic_uint_fast64_t req_by_class[6]; /* index = status / 100 */
static atomic_uint_fast64_t req_buckets[N_BUCKETS];
static atomic_uint_fast64_t req_count, req_ns_sum;
static atomic_uint_fast64_t readings_accepted, readings_duplicate, readings_rejected;
static atomic_uint_fast64_t storage_failures;

void metrics_observe_request(unsigned status, uint64_t ns)
{
    double s = (double)ns / 1e9;

    atomic_fetch_add(&req_by_class[status / 100 < 6 ? status / 100 : 0], 1);
    atomic_fetch_add(&req_count, 1);
    atomic_fetch_add(&req_ns_sum, ns);
    for (size_t i = 0; i < N_BUCKETS; i++)
        if (s <= bucket_le[i])
            atomic_fetch_add(&req_buckets[i], 1);
}

void metrics_count_readings(unsigned accepted, unsigned duplicates, unsigned rejected)
{
    atomic_fetch_add(&readings_accepted, accepted);
    atomic_fetch_add(&readings_duplicate, duplicates);
    atomic_fetch_add(&readings_rejected, rejected);
}

void metrics_count_storage_failure(void)
{
    atomic_fetch_add(&storage_failures, 1);
}

/* HL7 v2 messages by type, ACK code and feed (metrics_count_hl7): a small
 * table of label sets under a mutex (a ward has a handful of feeds). */
#define HL7_LABELS_MAX 128
static struct hl7_count {
    char type[16], code[4], feed[64];
    uint64_t n;
} hl7_counts[HL7_LABELS_MAX];
static size_t hl7_nlabels;
static pthread_mutex_t hl7_lock = PTHREAD_MUTEX_INITIALIZER;

/* Keeps a label value Prometheus-safe: no quotes, backslashes or newlines. */
static void label_copy(char *dst, size_t len, const char *src)
{
    size_t i = 0;

    for (; src && *src && i + 1 < len; src++)
        dst[i++] = (*src == '"' || *src == '\\' || *src == '\n') ? '_' : *src;
    dst[i] = '\0';
}

void metrics_count_hl7(const char *type, const char *code, const char *feed)
{
    char t[16], c[4], f[64];
    size_t i;

    label_copy(t, sizeof t, type && *type ? type : "unknown");
    label_copy(c, sizeof c, code);
    label_copy(f, sizeof f, feed && *feed ? feed : "(unregistered)");
    pthread_mutex_lock(&hl7_lock);
    for (i = 0; i < hl7_nlabels; i++)
        if (strcmp(hl7_counts[i].type, t) == 0 && strcmp(hl7_counts[i].code, c) == 0 &&
            strcmp(hl7_counts[i].feed, f) == 0)
            break;
    if (i == hl7_nlabels && hl7_nlabels < HL7_LABELS_MAX) {
        snprintf(hl7_counts[i].type, sizeof hl7_counts[i].type, "%s", t);
        snprintf(hl7_counts[i].code, sizeof hl7_counts[i].code, "%s", c);
        snprintf(hl7_counts[i].feed, sizeof hl7_counts[i].feed, "%s", f);
        hl7_nlabels++;
    }
    if (i < hl7_nlabels)
        hl7_counts[i].n++;
    pthread_mutex_unlock(&hl7_lock);
}

static void render_hl7(FILE *f)
{
    fprintf(f, "# HELP wardd_hl7_messages_total HL7 v2 messages answered, by message type, "
               "ACK code and feed.\n# TYPE wardd_hl7_messages_total counter\n");
    pthread_mutex_lock(&hl7_lock);
    for (size_t i = 0; i < hl7_nlabels; i++)
        fprintf(f, "wardd_hl7_messages_total{type=\"%s\",ack=\"%s\",feed=\"%s\"} %llu\n",
                hl7_counts[i].type, hl7_counts[i].code, hl7_counts[i].feed,
                (unsigned long long)hl7_counts[i].n);
    pthread_mutex_unlock(&hl7_lock);
}

/* The clinical worker's counters (clinical.h). */
/* The WAL writes SQLite asked for and the write calls walbuf made (walbuf.h). */
static void render_walbuf(FILE *f)
{
    walbuf_stats w;

    walbuf_get_stats(&w);
    fprintf(
        f,
        "# HELP wardd_db_wal_writes_total WAL writes asked for by SQLite (writer connections).\n"
        "# TYPE wardd_db_wal_writes_total counter\nwardd_db_wal_writes_total %llu\n"
        "# HELP wardd_db_wal_write_calls_total Write calls that carried them (walbuf).\n"
        "# TYPE wardd_db_wal_write_calls_total counter\nwardd_db_wal_write_calls_total %llu\n"
        "# HELP wardd_db_wal_write_seconds_total Time in those write calls.\n"
        "# TYPE wardd_db_wal_write_seconds_total counter\nwardd_db_wal_write_seconds_total %.6f\n"
        "# HELP wardd_db_wal_syncs_total WAL syncs (about one per commit: the fsync behind a "
        "201).\n"
        "# TYPE wardd_db_wal_syncs_total counter\nwardd_db_wal_syncs_total %llu\n"
        "# HELP wardd_db_wal_sync_seconds_total Time in those syncs.\n"
        "# TYPE wardd_db_wal_sync_seconds_total counter\nwardd_db_wal_sync_seconds_total %.6f\n",
        (unsigned long long)w.writes, (unsigned long long)w.flushes, (double)w.flush_ns / 1e9,
        (unsigned long long)w.syncs, (double)w.sync_ns / 1e9);
}

static void render_clinical(FILE *f)
{
    clinical_stats cs;

    clinical_get_stats(&cs);
    fprintf(f,
            "# HELP wardd_clinical_jobs_total Patient jobs on the live path.\n"
            "# TYPE wardd_clinical_jobs_total counter\nwardd_clinical_jobs_total %llu\n"
            "# HELP wardd_clinical_skipped_total Live jobs whose readings changed nothing the "
            "last full evaluation published (no evaluation needed).\n"
            "# TYPE wardd_clinical_skipped_total counter\nwardd_clinical_skipped_total %llu\n"
            "# HELP wardd_clinical_readings_total Readings the live path evaluated.\n"
            "# TYPE wardd_clinical_readings_total counter\n"
            "wardd_clinical_readings_total %llu\n"
            "# HELP wardd_clinical_engine_seconds_total Engine CPU time on the live path.\n"
            "# TYPE wardd_clinical_engine_seconds_total counter\n"
            "wardd_clinical_engine_seconds_total{phase=\"ingest\"} %.6f\n"
            "wardd_clinical_engine_seconds_total{phase=\"evaluate\"} %.6f\n"
            "# HELP wardd_clinical_tick_seconds_total Time in timed re-evaluations.\n"
            "# TYPE wardd_clinical_tick_seconds_total counter\n"
            "wardd_clinical_tick_seconds_total %.6f\n"
            "# HELP wardd_clinical_ticks_total Timed re-evaluation rounds.\n"
            "# TYPE wardd_clinical_ticks_total counter\nwardd_clinical_ticks_total %llu\n",
            (unsigned long long)cs.jobs, (unsigned long long)cs.skipped,
            (unsigned long long)cs.readings, (double)cs.ingest_ns / 1e9, (double)cs.eval_ns / 1e9,
            (double)cs.tick_ns / 1e9, (unsigned long long)cs.ticks);
}

/* Dashboards that can sound alarms now and those that cannot
 * (docs/dashboard.md "Alarms"): a ward must not believe it has alarms it
 * does not. */
static void render_screens(FILE *f)
{
    unsigned on, off;

    screens_count(timefmt_now_ms(), &on, &off);
    fprintf(f,
            "# HELP wardd_screens Open dashboards by whether they can sound alarms.\n"
            "# TYPE wardd_screens gauge\n"
            "wardd_screens{sound=\"on\"} %u\nwardd_screens{sound=\"off\"} %u\n",
            on, off);
}

/* The database's disk (diskwatch.h): sizes measured now (stat and
 * statvfs, no lock), the state and threshold of the last check. */
static void render_disk(FILE *f)
{
    diskwatch_sample now;
    diskwatch_status last;

    diskwatch_get(&last);
    if (diskwatch_measure(&now) == 0)
        fprintf(f,
                "# HELP wardd_db_bytes The database's size on disk: main file plus WAL.\n"
                "# TYPE wardd_db_bytes gauge\nwardd_db_bytes %llu\n"
                "# HELP wardd_db_fs_free_bytes Free space wardd may use on the database's "
                "filesystem.\n"
                "# TYPE wardd_db_fs_free_bytes gauge\nwardd_db_fs_free_bytes %llu\n"
                "# HELP wardd_db_fs_size_bytes Size of the database's filesystem.\n"
                "# TYPE wardd_db_fs_size_bytes gauge\nwardd_db_fs_size_bytes %llu\n",
                (unsigned long long)now.db_bytes, (unsigned long long)now.free_bytes,
                (unsigned long long)now.size_bytes);
    fprintf(f,
            "# HELP wardd_db_fs_threshold_bytes Free space below which the disk is low "
            "(last check).\n"
            "# TYPE wardd_db_fs_threshold_bytes gauge\nwardd_db_fs_threshold_bytes %llu\n"
            "# HELP wardd_db_disk_low 1 while the last check found the disk low.\n"
            "# TYPE wardd_db_disk_low gauge\nwardd_db_disk_low %d\n"
            "# HELP wardd_db_disk_checks_total Disk checks completed.\n"
            "# TYPE wardd_db_disk_checks_total counter\nwardd_db_disk_checks_total %llu\n",
            (unsigned long long)last.threshold_bytes, last.state == DISK_LOW ? 1 : 0,
            (unsigned long long)last.checks);
}

char *metrics_render(struct app *app)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    db_writer_counters wc = {0};

    if (!f)
        return NULL;
    fprintf(f, "# HELP wardd_http_requests_total HTTP requests by status class.\n"
               "# TYPE wardd_http_requests_total counter\n");
    for (int c = 1; c < 6; c++)
        fprintf(f, "wardd_http_requests_total{class=\"%dxx\"} %llu\n", c,
                (unsigned long long)atomic_load(&req_by_class[c]));
    fprintf(f, "# HELP wardd_http_request_seconds Request latency.\n"
               "# TYPE wardd_http_request_seconds histogram\n");
    for (size_t i = 0; i < N_BUCKETS; i++)
        fprintf(f, "wardd_http_request_seconds_bucket{le=\"%g\"} %llu\n", bucket_le[i],
                (unsigned long long)atomic_load(&req_buckets[i]));
    fprintf(f, "wardd_http_request_seconds_bucket{le=\"+Inf\"} %llu\n",
            (unsigned long long)atomic_load(&req_count));
    fprintf(f, "wardd_http_request_seconds_sum %.6f\n", (double)atomic_load(&req_ns_sum) / 1e9);
    fprintf(f, "wardd_http_request_seconds_count %llu\n",
            (unsigned long long)atomic_load(&req_count));
    fprintf(f,
            "# HELP wardd_http_in_flight Requests being handled now (event streams excluded).\n"
            "# TYPE wardd_http_in_flight gauge\nwardd_http_in_flight %ld\n",
            http_in_flight() - (long)events_clients());
    fprintf(f,
            "# HELP wardd_sse_clients Open event streams (GET /api/v1/events).\n"
            "# TYPE wardd_sse_clients gauge\nwardd_sse_clients %zu\n",
            events_clients());
    fprintf(f,
            "# HELP wardd_readings_total Readings received, by outcome.\n"
            "# TYPE wardd_readings_total counter\n"
            "wardd_readings_total{outcome=\"accepted\"} %llu\n"
            "wardd_readings_total{outcome=\"duplicate\"} %llu\n"
            "wardd_readings_total{outcome=\"rejected\"} %llu\n",
            (unsigned long long)atomic_load(&readings_accepted),
            (unsigned long long)atomic_load(&readings_duplicate),
            (unsigned long long)atomic_load(&readings_rejected));
    if (app && app->writer)
        db_writer_stats(app->writer, &wc);
    fprintf(f,
            "# HELP wardd_db_commits_total Group commits (one fsync each).\n"
            "# TYPE wardd_db_commits_total counter\nwardd_db_commits_total %llu\n"
            "# HELP wardd_db_jobs_total Write jobs committed or rolled back.\n"
            "# TYPE wardd_db_jobs_total counter\nwardd_db_jobs_total %llu\n"
            "# HELP wardd_db_commit_seconds_total Time spent in write transactions.\n"
            "# TYPE wardd_db_commit_seconds_total counter\nwardd_db_commit_seconds_total %.6f\n"
            "# HELP wardd_db_job_seconds_total Of that, time in the jobs' SQL.\n"
            "# TYPE wardd_db_job_seconds_total counter\nwardd_db_job_seconds_total %.6f\n"
            "# HELP wardd_db_commit_step_seconds_total Of that, time in COMMIT (WAL writes, "
            "sync, checkpoints).\n"
            "# TYPE wardd_db_commit_step_seconds_total counter\n"
            "wardd_db_commit_step_seconds_total %.6f\n"
            "# HELP wardd_db_storage_failures_total Requests answered 503 for storage.\n"
            "# TYPE wardd_db_storage_failures_total counter\n"
            "wardd_db_storage_failures_total %llu\n",
            (unsigned long long)wc.commits, (unsigned long long)wc.jobs, (double)wc.txn_ns / 1e9,
            (double)wc.jobs_ns / 1e9, (double)wc.commit_step_ns / 1e9,
            (unsigned long long)atomic_load(&storage_failures));
    render_walbuf(f);
    render_disk(f);
    render_clinical(f);
    render_hl7(f);
    render_screens(f);
    fprintf(f,
            "# HELP wardd_http_connections Open connections.\n"
            "# TYPE wardd_http_connections gauge\nwardd_http_connections %zu\n"
            "# HELP wardd_http_connections_shut_total Connections shut for missing the header "
            "or body deadline, or over the reserve (docs/security.md).\n"
            "# TYPE wardd_http_connections_shut_total counter\n"
            "wardd_http_connections_shut_total %lu\n",
            netlimits_open(), netlimits_shut_total());
    fclose(f);
    return buf;
}
