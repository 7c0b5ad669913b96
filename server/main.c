/* main: the subcommand table (API.md "Command line").
 *
 *   wardd serve   [--listen ADDR:PORT] [--db PATH] [--web DIR] [--rules FILE]
 *                 [--tls-cert FILE --tls-key FILE] [--config FILE]
 *                 [--threads N] [--port-file PATH]
 *   wardd user add   --db PATH --username NAME --role ROLE   (password on stdin)
 *   wardd device add --db PATH --serial SERIAL [--bed BED] [--model MODEL]
 *   wardd bed add    --db PATH --id B1 [--label "Bed 1"]
 *   wardd migrate    --db PATH
 *   wardd backup     --db PATH OUTFILE
 *   wardd demo       --db PATH [--out FILE]   (seed the demo ward, if empty)
 *   wardd rules check FILE                    (validate a rule set)
 *
 * Exit 0 on success; otherwise one line on stderr and a non-zero status. */
#include "app.h"
#include "cli.h"
#include "clinical.h"
#include "db.h"
#include "events.h"
#include "http.h"
#include "log.h"
#include "migrate.h"
#include "secret.h"
#include "serve_security.h"

#include <errno.h>
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

static int serve(cli_args *a)
{
    struct app app = {0};
    http_options hopt = {0};
    sigset_t sigs;
    uint16_t port = 0;
    int sig = 0;
    long threads = 0;
    int status = 1;
    db_conn *c;

    app.db_path = cli_get(a, "db", "./var/ward.db");
    app.web_dir = cli_get(a, "web", NULL);
    app.session_ttl_ms = 12LL * 3600 * 1000;
    hopt.listen = cli_get(a, "listen", "127.0.0.1:8080");
    hopt.tls_cert = cli_get(a, "tls-cert", NULL);
    hopt.tls_key = cli_get(a, "tls-key", NULL);
    if (cli_get_long(a, "threads", 0, 0, 256, &threads) != 0)
        return fail("--threads must be a number from 0 to 256");
    hopt.threads = (unsigned)threads;
    if (serve_security_options(a, &app, &hopt) != 0)
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
    if (clinical_start(&app, cli_get(a, "rules", NULL)) != 0) {
        fail("cannot start clinical evaluation (rule set above)");
        goto out;
    }
    if (http_start(&app, &hopt, &port) != 0)
        goto out;
    if (write_port_file(cli_get(a, "port-file", NULL), port) != 0) {
        fail("cannot write the port file %s", cli_get(a, "port-file", ""));
        goto out;
    }
    log_info("listening on %s (port %u), database %s", hopt.listen, port, app.db_path);

    if (sigwait(&sigs, &sig) != 0)
        goto out;
    log_info("signal %d: finishing in-flight requests", sig);
    status = 0;
out:
    atomic_store(&app.shutting_down, true);
    http_quiesce(&app);
    events_shutdown(); /* ends open event streams, which http_stop would wait for */
    http_stop(&app, 10000);
    clinical_stop(); /* before the writer: it may be storing alert transitions */
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

static const char *const serve_flags[] = {
    "listen",  "db",     "web",       "rules",   "tls-cert",
    "tls-key", "config", "port-file", "threads", SERVE_SECURITY_FLAGS,
    NULL};
static const char *const user_flags[] = {"db", "username", "role", NULL};
static const char *const device_flags[] = {"db", "serial", "bed", "model", NULL};
static const char *const bed_flags[] = {"db", "id", "label", NULL};
static const char *const db_flags[] = {"db", NULL};
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
     "[--tls-cert FILE --tls-key FILE] [--config FILE]"},
    {"user", "add", user_flags, 0, cli_user_add,
     "user add --db PATH --username NAME --role ROLE  (password on stdin)"},
    {"device", "add", device_flags, 0, cli_device_add,
     "device add --db PATH --serial SERIAL [--bed BED] [--model MODEL]"},
    {"bed", "add", bed_flags, 0, cli_bed_add, "bed add --db PATH --id B1 [--label \"Bed 1\"]"},
    {"migrate", NULL, db_flags, 0, cli_migrate, "migrate --db PATH"},
    {"backup", NULL, db_flags, 1, cli_backup, "backup --db PATH OUTFILE"},
    {"demo", NULL, demo_flags, 0, cli_demo, "demo --db PATH [--out FILE]"},
    {"rules", "check", no_flags, 1, rules_check, "rules check FILE"},
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
