/* main: the subcommand table (README.md "Command line").
 *
 *   wardd serve   [--listen ADDR:PORT] [--db PATH] [--web DIR] [--rules FILE]
 *                 [--tls-cert FILE --tls-key FILE] [--config FILE]
 *                 [--threads N] [--port-file PATH] [--time-zone ZONE]
 *                 [--mllp ADDR:PORT] [--mllp-max-frame BYTES] [--mllp-idle-timeout S]
 *                 [--mllp-max-connections N] [--mllp-max-per-client N]
 *                 [--disk-warn-percent P] [--disk-warn-bytes N] [--disk-check-interval S]
 *   wardd feed add   --db PATH --name N --kind adt|device_gateway
 *                    --sending-application A [--sending-facility F] --address IP[,IP]
 *   wardd user add   --db PATH --username NAME --role ROLE   (password on stdin)
 *   wardd device add --db PATH --serial SERIAL [--bed BED] [--model MODEL]
 *   wardd bed add    --db PATH --id B1 [--label "Bed 1"]
 *   wardd migrate    --db PATH
 *   wardd backup     --db PATH OUTFILE
 *   wardd demo       --db PATH [--out FILE]   (seed the demo ward, if empty)
 *   wardd rules check FILE                    (validate a rule set)
 *   wardd audit verify --db PATH              (check the audit chain)
 *
 * Exit 0 on success; otherwise one line on stderr and a non-zero status. */
#include "app.h"
#include "cli.h"
#include "clinical.h"
#include "db.h"
#include "diskwatch.h"
#include "drift.h"
#include "events.h"
#include "http.h"
#include "log.h"
#include "migrate.h"
#include "mllp.h"
#include "secret.h"
#include "tz.h"
#include "serve_security.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One line on stderr; returns the exit status 1. */
__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "wardd: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* --- serve ------------------------------------------------------------------ */

static int write_port_file(const char *path, uint16_t port)
{
    FILE *f;
    char tmp[4096];

    if (!path)
        return 0;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

/* The settings of docs/security.md "Times that cannot be gamed". */
static int security_settings(const cli_args *a, struct app *app)
{
    long horizon_min = 0, margin_min = 0;

    if (cli_get_long(a, "device-reading-horizon", 24 * 60, 1, 366L * 24 * 60, &horizon_min) != 0)
        return fail("--device-reading-horizon must be a number of minutes from 1 to 527040");
    if (cli_get_long(a, "dose-backentry-margin", 60, 0, 7L * 24 * 60, &margin_min) != 0)
        return fail("--dose-backentry-margin must be a number of minutes from 0 to 10080");
    app->device_reading_horizon_ms = (int64_t)horizon_min * 60000;
    app->dose_backentry_margin_ms = (int64_t)margin_min * 60000;
    return 0;
}

/* The MLLP listener's options from the flags (docs/hl7.md "Transport"). */
static int mllp_flags(const cli_args *a, const http_options *h, mllp_options *o)
{
    long frame = 0, idle = 0, conns = 0, per = 0;

    if (cli_get_long(a, "mllp-max-frame", 1024 * 1024, 1024, 64L * 1024 * 1024, &frame) != 0)
        return fail("--mllp-max-frame must be a number of bytes from 1024 to 67108864");
    if (cli_get_long(a, "mllp-idle-timeout", 300, 1, 86400, &idle) != 0)
        return fail("--mllp-idle-timeout must be a number of seconds from 1 to 86400");
    if (cli_get_long(a, "mllp-max-connections", 128, 1, 4096, &conns) != 0)
        return fail("--mllp-max-connections must be a number from 1 to 4096");
    if (cli_get_long(a, "mllp-max-per-client", 32, 1, 4096, &per) != 0)
        return fail("--mllp-max-per-client must be a number from 1 to 4096");
    o->listen = cli_get(a, "mllp", NULL);
    o->max_frame = (size_t)frame;
    o->idle_timeout_ms = (int)idle * 1000;
    o->max_connections = (int)conns;
    o->max_per_client = (int)per;
    o->tls_cert = h->tls_cert;
    o->tls_key = h->tls_key;
    return 0;
}

/* Starts the MLLP listener when --mllp is given; its port goes to
 * PORT-FILE.mllp (tests bind port 0). 0 or -1 (logged). */
static int start_mllp(struct app *app, const cli_args *a, const mllp_options *o, mllp_server **s)
{
    char path[4096];
    uint16_t port = 0;

    if (!o->listen)
        return 0;
    if (mllp_start(app, o, s, &port) != 0)
        return fail("cannot start the MLLP listener on %s", o->listen), -1;
    log_info("MLLP listening on %s (port %u)", o->listen, port);
    if (cli_get(a, "port-file", NULL)) {
        snprintf(path, sizeof path, "%s.mllp", cli_get(a, "port-file", ""));
        if (write_port_file(path, port) != 0)
            return fail("cannot write the port file %s", path), -1;
    }
    return 0;
}

/* The margin of device clock drift alerts (docs/clinical.md). */
static int drift_settings(const cli_args *a)
{
    long drift_s = DRIFT_MARGIN_DEFAULT_MS / 1000;

    if (cli_get_long(a, "clock-drift-margin", drift_s, 1, 86400, &drift_s) != 0)
        return fail("--clock-drift-margin must be a number of seconds from 1 to 86400");
    drift_set_margin_ms(drift_s * 1000);
    return 0;
}

/* The low-disk warning (docs/deploy.md "Storage"): free space below
 * --disk-warn-percent of the database's filesystem or below
 * --disk-warn-bytes, checked every --disk-check-interval seconds. */
static int disk_settings(const cli_args *a, const struct app *app, diskwatch_config *d)
{
    long percent = 0, bytes = 0, interval = 0;

    if (cli_get_long(a, "disk-warn-percent", DISKWATCH_PERCENT_DEFAULT, 0, 99, &percent) != 0)
        return fail("--disk-warn-percent must be a number from 0 to 99");
    if (cli_get_long(a, "disk-warn-bytes", DISKWATCH_BYTES_DEFAULT, 0, LONG_MAX, &bytes) != 0)
        return fail("--disk-warn-bytes must be a number of bytes from 0 to %ld", LONG_MAX);
    if (cli_get_long(a, "disk-check-interval", DISKWATCH_INTERVAL_DEFAULT, 1, 3600, &interval) != 0)
        return fail("--disk-check-interval must be a number of seconds from 1 to 3600");
    d->db_path = app->db_path;
    d->percent = (int)percent;
    d->bytes = (int64_t)bytes;
    d->interval_s = (int)interval;
    return 0;
}

/* Every serve setting from the flags and the config file. 0, or 1 after
 * saying which setting is wrong. */
static int serve_settings(const cli_args *a, struct app *app, http_options *hopt,
                          mllp_options *mopt, diskwatch_config *dopt)
{
    long threads = 0;

    app->db_path = cli_get(a, "db", "./var/ward.db");
    app->web_dir = cli_get(a, "web", NULL);
    app->session_ttl_ms = 12LL * 3600 * 1000;
    hopt->listen = cli_get(a, "listen", "127.0.0.1:8080");
    hopt->tls_cert = cli_get(a, "tls-cert", NULL);
    hopt->tls_key = cli_get(a, "tls-key", NULL);
    if (cli_get_long(a, "threads", 0, 0, 256, &threads) != 0)
        return fail("--threads must be a number from 0 to 256");
    hopt->threads = (unsigned)threads;
    if (serve_security_options(a, app, hopt) != 0)
        return 1;
    if (cli_get(a, "time-zone", NULL)) { /* the ward's zone where a rule set names none */
        char tzerr[200];
        if (tz_set_default(cli_get(a, "time-zone", NULL), tzerr, sizeof tzerr) != 0)
            return fail("--time-zone: %s", tzerr);
    }
    return drift_settings(a) != 0 || security_settings(a, app) != 0 ||
                   mllp_flags(a, hopt, mopt) != 0 || disk_settings(a, app, dopt) != 0
               ? 1
               : 0;
}

static int serve(cli_args *a)
{
    mllp_options mopt = {0};
    diskwatch_config dopt = {0};
    mllp_server *mllp = NULL;
    struct app app = {0};
    http_options hopt = {0};
    sigset_t sigs;
    uint16_t port = 0;
    int sig = 0;
    int status = 1;
    db_conn *c;

    if (serve_settings(a, &app, &hopt, &mopt, &dopt) != 0)
        return 1;

    c = db_open(app.db_path, true);
    if (!c)
        return fail("cannot open the database %s", app.db_path);
    if (migrate_apply(c) != 0) {
        db_close(c);
        return fail("cannot migrate the database %s", app.db_path);
    }
    db_close(c);

    /* Signals go to the main thread only (sigwait below); every thread
     * started from here inherits the mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    app.writer = db_writer_start(app.db_path);
    if (!app.writer)
        return fail("cannot start the database writer for %s", app.db_path);
    db_readers_init(app.db_path);
    if (events_init(10000) != 0) {
        fail("cannot start the event bus");
        goto out;
    }
    if (clinical_start(app.writer, cli_get(a, "rules", NULL)) != 0) {
        fail("cannot start clinical evaluation (rule set above)");
        goto out;
    }
    if (diskwatch_start(app.writer, &dopt) != 0)
        goto out;
    if (http_start(&app, &hopt, &port) != 0)
        goto out;
    if (write_port_file(cli_get(a, "port-file", NULL), port) != 0) {
        fail("cannot write the port file %s", cli_get(a, "port-file", ""));
        goto out;
    }
    log_info("listening on %s (port %u), database %s", hopt.listen, port, app.db_path);
    if (start_mllp(&app, a, &mopt, &mllp) != 0)
        goto out;

    if (sigwait(&sigs, &sig) != 0)
        goto out;
    log_info("signal %d: finishing in-flight requests", sig);
    status = 0;
out:
    atomic_store(&app.shutting_down, true);
    http_quiesce(&app);
    /* MLLP: in-flight messages are committed and acknowledged first */
    mllp_stop(mllp, 10000);
    events_shutdown(); /* ends open event streams, which http_stop would wait for */
    http_stop(&app, 10000);
    diskwatch_stop(); /* before the writer: it may be storing a disk_low alert */
    clinical_stop();  /* before the writer: it may be storing alert transitions */
    db_writer_stop(app.writer);
    db_readers_close_all();
    if (status == 0)
        log_info("stopped cleanly");
    return status;
}

/* --- rules check ------------------------------------------------------------ */

/* `wardd rules check FILE`: "ok: N rules, M terms" on stdout and exit 0, or
 * every problem ("FILE: rule ID: field 'PATH': message"), one a line, on
 * stderr and exit 1. */
static int rules_check(cli_args *a)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    int rc;

    if (!mem)
        return fail("out of memory");
    rc = rules_check_file(a->positional[0], mem);
    fclose(mem);
    fputs(text ? text : "", rc == 0 ? stdout : stderr);
    free(text);
    return rc == 0 ? 0 : 1;
}

/* --- the table -------------------------------------------------------------- */

/* A line per group of flags, so that branches add theirs apart. */
/* clang-format off */
static const char *const serve_flags[] = {
    "listen", "db", "web", "rules", "tls-cert", "tls-key", "config", "port-file", "threads",
    SERVE_SECURITY_FLAGS, /* transport, sessions, limits (docs/security.md) */
    "time-zone", /* the ward's IANA zone (docs/rules.md) */
    "clock-drift-margin", /* device clock drift alerts (docs/clinical.md) */
    "device-reading-horizon", "dose-backentry-margin", /* docs/security.md */
    "mllp", "mllp-max-frame", "mllp-idle-timeout", "mllp-max-connections",
    "mllp-max-per-client", /* HL7 v2 over MLLP (docs/hl7.md) */
    "disk-warn-percent", "disk-warn-bytes", "disk-check-interval", /* docs/deploy.md */
    NULL};
/* clang-format on */
static const char *const feed_flags[] = {
    "db", "name", "kind", "sending-application", "sending-facility", "address", "tls-fingerprint",
    NULL};
static const char *const user_flags[] = {"db", "username", "role", NULL};
static const char *const device_flags[] = {"db", "serial", "bed", "model", NULL};
static const char *const bed_flags[] = {"db", "id", "label", NULL};
static const char *const db_flags[] = {"db", NULL};
static const char *const migrate_flags[] = {"db", "upto", NULL};
static const char *const demo_flags[] = {"db", "out", NULL};
static const char *const no_flags[] = {NULL};

static const struct command {
    const char *name;
    const char *sub; /* second word, or NULL */
    const char *const *flags;
    int positional; /* number of positional arguments required */
    int (*run)(cli_args *a);
    const char *usage;
} commands[] = {
    {"serve", NULL, serve_flags, 0, serve,
     "serve [--listen ADDR:PORT] [--db PATH] [--web DIR] [--rules FILE] "
     "[--tls-cert FILE --tls-key FILE] [--config FILE] [--time-zone ZONE]"},
    {"user", "add", user_flags, 0, cli_user_add,
     "user add --db PATH --username NAME --role ROLE  (password on stdin)"},
    {"device", "add", device_flags, 0, cli_device_add,
     "device add --db PATH --serial SERIAL [--bed BED] [--model MODEL]"},
    {"bed", "add", bed_flags, 0, cli_bed_add, "bed add --db PATH --id B1 [--label \"Bed 1\"]"},
    {"feed", "add", feed_flags, 0, cli_feed_add,
     "feed add --db PATH --name N --kind adt|device_gateway --sending-application A "
     "[--sending-facility F] --address IP[,IP] [--tls-fingerprint HEX]"},
    {"migrate", NULL, migrate_flags, 0, cli_migrate, "migrate --db PATH [--upto VERSION]"},
    {"backup", NULL, db_flags, 1, cli_backup, "backup --db PATH OUTFILE"},
    {"demo", NULL, demo_flags, 0, cli_demo, "demo --db PATH [--out FILE]"},
    {"rules", "check", no_flags, 1, rules_check, "rules check FILE"},
    {"audit", "verify", db_flags, 0, cli_audit_verify, "audit verify --db PATH"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  wardd %s\n", commands[i].usage);
}

int main(int argc, char **argv)
{
    const struct command *cmd = NULL;
    cli_args args;
    int first;
    int rc;

    if (getenv("WARDD_LOG") && strcmp(getenv("WARDD_LOG"), "debug") == 0)
        log_set_level(LOG_DEBUG);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (commands[i].sub && (argc < 3 || strcmp(argv[2], commands[i].sub) != 0))
            continue;
        cmd = &commands[i];
        break;
    }
    if (!cmd) {
        fprintf(stderr, "wardd: unknown command '%s'; try 'wardd --help'\n", argv[1]);
        return 2;
    }
    if (secret_init() != 0)
        return fail("libsodium failed to initialise");
    first = cmd->sub ? 3 : 2;
    if (cli_parse(&args, argc - first, argv + first, cmd->flags) != 0)
        return 2;
    if (args.npositional != cmd->positional) {
        fprintf(stderr, "wardd: usage: wardd %s\n", cmd->usage);
        cli_free(&args);
        return 2;
    }
    rc = cmd->run(&args);
    cli_free(&args);
    return rc;
}
