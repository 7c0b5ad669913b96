/* cli: see cli.h. */
#include "cli.h"
#include "log.h"
#include "migrate.h"
#include "principal.h"
#include "secret.h"
#include "store.h"
#include "timefmt.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One line on stderr; returns -1. */
__attribute__((format(printf, 1, 2))) static int cli_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "wardd: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

static bool allowed_flag(const char *const *allowed, const char *name)
{
    for (; *allowed; allowed++)
        if (strcmp(*allowed, name) == 0)
            return true;
    return false;
}

/* Sets a flag unless already set (the command line is parsed first, so it
 * wins over the config file). */
static int set_flag(cli_args *a, const char *const *allowed, const char *name, const char *value)
{
    for (int i = 0; i < a->nflags; i++)
        if (strcmp(a->names[i], name) == 0)
            return 0;
    for (; *allowed; allowed++) {
        if (strcmp(*allowed, name) != 0)
            continue;
        if (a->nflags >= CLI_MAX_FLAGS)
            return -1;
        a->names[a->nflags] = *allowed;
        a->values[a->nflags] = strdup(value);
        if (!a->values[a->nflags])
            return -1;
        a->nflags++;
        return 0;
    }
    return -1;
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int load_config(cli_args *a, const char *path, const char *const *allowed)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int lineno = 0;
    int rc = 0;

    if (!f)
        return cli_error("cannot read config file %s", path);
    while (fgets(line, sizeof line, f)) {
        char *eq, *key, *value;
        lineno++;
        key = trim(line);
        if (*key == '\0' || *key == '#')
            continue;
        eq = strchr(key, '=');
        if (!eq) {
            fprintf(stderr, "wardd: %s:%d: expected 'name = value'\n", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        key = trim(key);
        value = trim(eq + 1);
        if (strcmp(key, "config") == 0 || !allowed_flag(allowed, key) ||
            set_flag(a, allowed, key, value) != 0) {
            fprintf(stderr, "wardd: %s:%d: unknown setting '%s'\n", path, lineno, key);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

int cli_parse(cli_args *a, int argc, char **argv, const char *const *allowed)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        char name[64];
        const char *value;
        const char *eq;

        if (strncmp(arg, "--", 2) != 0) {
            if (a->npositional >= CLI_MAX_POS)
                goto fail_msg;
            a->positional[a->npositional++] = arg;
            continue;
        }
        arg += 2;
        eq = strchr(arg, '=');
        if (eq) {
            if ((size_t)(eq - arg) >= sizeof name)
                goto fail_msg;
            memcpy(name, arg, (size_t)(eq - arg));
            name[eq - arg] = '\0';
            value = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", arg);
            if (i + 1 >= argc) {
                cli_error("--%s needs a value", name);
                goto fail;
            }
            value = argv[++i];
        }
        if (!allowed_flag(allowed, name)) {
            cli_error("unknown option --%s", name);
            goto fail;
        }
        if (set_flag(a, allowed, name, value) != 0)
            goto fail_msg;
    }
    if (cli_get(a, "config", NULL) && load_config(a, cli_get(a, "config", NULL), allowed) != 0)
        goto fail;
    return 0;
fail_msg:
    cli_error("too many arguments");
fail:
    cli_free(a);
    return -1;
}

void cli_free(cli_args *a)
{
    for (int i = 0; i < a->nflags; i++)
        free(a->values[i]);
    a->nflags = 0;
}

const char *cli_get(const cli_args *a, const char *name, const char *dflt)
{
    for (int i = 0; i < a->nflags; i++)
        if (strcmp(a->names[i], name) == 0)
            return a->values[i];
    return dflt;
}

int cli_get_long(const cli_args *a, const char *name, long dflt, long min, long max, long *out)
{
    const char *v = cli_get(a, name, NULL);
    char *end = NULL;
    long n;

    if (!v) {
        *out = dflt;
        return 0;
    }
    n = strtol(v, &end, 10);
    if (!*v || *end || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

/* --- subcommands that write -------------------------------------------------- */

db_conn *cli_open_db(const cli_args *a)
{
    const char *path = cli_get(a, "db", NULL);
    db_conn *c;

    if (!path) {
        cli_error("--db PATH is required");
        return NULL;
    }
    c = db_open(path, true);
    if (!c) {
        cli_error("cannot open the database %s", path);
        return NULL;
    }
    if (migrate_apply(c) != 0) {
        cli_error("cannot migrate the database %s", path);
        db_close(c);
        return NULL;
    }
    return c;
}

struct cli_tx {
    int (*fn)(db_conn *c, const cli_args *a, void *out);
    const cli_args *a;
    void *out;
};

static int cli_tx_run(db_conn *c, void *arg)
{
    struct cli_tx *t = arg;

    return t->fn(c, t->a, t->out);
}

/* Runs fn in one transaction; 0 or its error. */
static int in_transaction(db_conn *c, int (*fn)(db_conn *c, const cli_args *a, void *out),
                          const cli_args *a, void *out)
{
    struct cli_tx t = {fn, a, out};

    return db_transaction(c, cli_tx_run, &t);
}

static int read_password(char *buf, size_t len)
{
    size_t n;

    if (!fgets(buf, (int)len, stdin))
        return -1;
    n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return 0;
}

struct user_add {
    role role;
    char pw_hash[SECRET_PWHASH_LEN];
};

static int user_add_tx(db_conn *c, const cli_args *a, void *arg)
{
    struct user_add *u = arg;
    const char *name = cli_get(a, "username", "");
    int64_t now = timefmt_now_ms(), id = 0;
    int rc = store_user_insert(c, name, u->role, u->pw_hash, now, &id);
    json_t *after;

    if (rc != 0)
        return rc;
    after = json_pack("{s:s, s:s}", "username", name, "role", role_name(u->role));
    rc = store_audit(c, NULL, "user.add", "user", name, NULL, after, now);
    json_decref(after);
    return rc;
}

int cli_user_add(cli_args *a)
{
    struct user_add u;
    char password[1100];
    const char *why = NULL;
    const char *name = cli_get(a, "username", NULL);
    db_conn *c = NULL;
    int rc = 1;

    if (!name || !*name || strlen(name) > 64)
        return cli_error("--username NAME is required (1-64 characters)"), 1;
    if (role_parse(cli_get(a, "role", ""), &u.role) != 0)
        return cli_error("--role must be viewer, nurse, physician or admin"), 1;
    if (read_password(password, sizeof password) != 0)
        return cli_error("expected the password on standard input"), 1;
    if (secret_password_acceptable(password, &why) != 0)
        return cli_error("password rejected: %s", why), 1;
    if (secret_password_hash(password, u.pw_hash) != 0)
        return cli_error("cannot hash the password"), 1;
    c = cli_open_db(a);
    if (!c)
        return 1;
    switch (in_transaction(c, user_add_tx, a, &u)) {
    case 0:
        printf("{\"username\":\"%s\",\"role\":\"%s\"}\n", name, role_name(u.role));
        rc = 0;
        break;
    case ERR_ALREADY_EXISTS:
        cli_error("user %s already exists", name);
        break;
    default:
        cli_error("cannot add user %s", name);
    }
    db_close(c);
    return rc;
}

struct device_add {
    char token[SECRET_TOKEN_LEN];
    int64_t id;
};

static int device_add_tx(db_conn *c, const cli_args *a, void *arg)
{
    struct device_add *d = arg;
    char hash[SECRET_HASH_HEX];
    const char *bed = cli_get(a, "bed", NULL);
    int64_t now = timefmt_now_ms();
    json_t *after;
    char id[32];
    int rc;

    if (bed) {
        rc = store_bed_exists(c, bed);
        if (rc != 1)
            return rc == 0 ? ERR_NOT_FOUND : -1;
    }
    secret_token_hash(d->token, hash);
    rc = store_device_insert(c, cli_get(a, "serial", ""), cli_get(a, "model", NULL), bed, hash, now,
                             &d->id);
    if (rc != 0)
        return rc;
    snprintf(id, sizeof id, "%lld", (long long)d->id);
    after = json_pack("{s:I, s:s, s:s?}", "id", (json_int_t)d->id, "serial",
                      cli_get(a, "serial", ""), "bed", bed);
    rc = store_audit(c, NULL, "device.add", "device", id, NULL, after, now);
    json_decref(after);
    return rc;
}

int cli_device_add(cli_args *a)
{
    struct device_add d = {.id = 0};
    const char *serial = cli_get(a, "serial", NULL);
    db_conn *c;
    json_t *out;
    int rc = 1;

    if (!serial || !*serial || strlen(serial) > 64)
        return cli_error("--serial SERIAL is required (1-64 characters)"), 1;
    if (secret_token_new(d.token, sizeof d.token) != 0)
        return cli_error("cannot make a token"), 1;
    c = cli_open_db(a);
    if (!c)
        return 1;
    switch (in_transaction(c, device_add_tx, a, &d)) {
    case 0:
        out = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)d.id, "serial", serial, "token",
                        d.token);
        json_dumpf(out, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(out);
        rc = 0;
        break;
    case ERR_ALREADY_EXISTS:
        cli_error("a device with serial %s already exists", serial);
        break;
    case ERR_NOT_FOUND:
        cli_error("no bed %s; add it first with 'wardd bed add'", cli_get(a, "bed", ""));
        break;
    default:
        cli_error("cannot add device %s", serial);
    }
    db_close(c);
    return rc;
}

static int bed_add_tx(db_conn *c, const cli_args *a, void *arg)
{
    const char *id = cli_get(a, "id", "");
    const char *label = cli_get(a, "label", id);
    int64_t now = timefmt_now_ms();
    json_t *after;
    int rc = store_bed_insert(c, id, label, now);
    (void)arg;

    if (rc != 0)
        return rc;
    after = json_pack("{s:s, s:s}", "id", id, "label", label);
    rc = store_audit(c, NULL, "bed.add", "bed", id, NULL, after, now);
    json_decref(after);
    return rc;
}

int cli_bed_add(cli_args *a)
{
    const char *id = cli_get(a, "id", NULL);
    db_conn *c;
    int rc = 1;

    if (!id || !*id || strlen(id) > 32 ||
        strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                   "qrstuvwxyz0123456789-_") != strlen(id))
        return cli_error("--id must be 1-32 letters, digits, - or _"), 1;
    c = cli_open_db(a);
    if (!c)
        return 1;
    switch (in_transaction(c, bed_add_tx, a, NULL)) {
    case 0:
        printf("{\"id\":\"%s\"}\n", id);
        rc = 0;
        break;
    case ERR_ALREADY_EXISTS:
        cli_error("bed %s already exists", id);
        break;
    default:
        cli_error("cannot add bed %s", id);
    }
    db_close(c);
    return rc;
}

/* `wardd migrate --db PATH [--upto N]`: every migration, or those up to
 * version N (an older schema, for upgrade tests and staged roll-outs). */
int cli_migrate(cli_args *a)
{
    const char *path = cli_get(a, "db", NULL);
    long upto = 0;
    db_conn *c;

    if (cli_get_long(a, "upto", migrate_latest(), 1, migrate_latest(), &upto) != 0) {
        cli_error("--upto must be a schema version from 1 to %d", migrate_latest());
        return 2;
    }
    if (upto == migrate_latest()) {
        c = cli_open_db(a);
        if (!c)
            return 1;
        db_close(c);
        printf("{\"schema_version\":%d}\n", migrate_latest());
        return 0;
    }
    if (!path) {
        cli_error("--db PATH is required");
        return 2;
    }
    c = db_open(path, true);
    if (!c || migrate_apply_upto(c, (int)upto) != 0) {
        cli_error("cannot migrate the database %s", path);
        db_close(c);
        return 1;
    }
    db_close(c);
    printf("{\"schema_version\":%ld}\n", upto);
    return 0;
}

/* Online, consistent copy through SQLite's backup API into OUTFILE.tmp,
 * renamed over OUTFILE only when complete. */
int cli_backup(cli_args *a)
{
    const char *out = a->positional[0];
    char err[4200];
    db_conn *src;
    int rc = 1;

    src = cli_open_db(a);
    if (!src)
        return 1;
    if (db_backup(src, out, err, sizeof err) != 0) {
        cli_error("%s", err);
    } else {
        printf("{\"backup\":\"%s\"}\n", out);
        rc = 0;
    }
    db_close(src);
    return rc;
}

/* --- feed add (HL7 v2 feeds, docs/hl7.md) ------------------------------------------ */

/* The feed from the flags as POST /api/v1/feeds would take it; --address
 * may list several, comma-separated. NULL after one line on stderr. */
static json_t *feed_from_flags(const cli_args *a)
{
    const char *kind = cli_get(a, "kind", "");
    char *addrs = strdup(cli_get(a, "address", "")), *save = NULL;
    json_t *list = json_array(), *feed;

    if (!addrs || !list) {
        free(addrs);
        json_decref(list);
        return NULL;
    }
    for (char *t = strtok_r(addrs, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(list, json_string(t));
    free(addrs);
    if (strcmp(kind, "adt") != 0 && strcmp(kind, "device_gateway") != 0) {
        json_decref(list);
        cli_error("--kind must be adt or device_gateway");
        return NULL;
    }
    if (!cli_get(a, "name", NULL) || !cli_get(a, "sending-application", NULL) ||
        json_array_size(list) == 0) {
        json_decref(list);
        cli_error("--name, --sending-application and --address are required");
        return NULL;
    }
    feed = json_pack("{s:s, s:s, s:s, s:s, s:o}", "name", cli_get(a, "name", ""), "kind", kind,
                     "sending_application", cli_get(a, "sending-application", ""),
                     "sending_facility", cli_get(a, "sending-facility", ""), "addresses", list);
    if (feed && cli_get(a, "tls-fingerprint", NULL))
        json_object_set_new(feed, "tls_fingerprint",
                            json_string(cli_get(a, "tls-fingerprint", "")));
    return feed;
}

static int feed_add_tx(db_conn *c, const cli_args *a, void *arg)
{
    json_t **out = arg;
    int64_t now = timefmt_now_ms(), id = 0;
    char idbuf[32];
    int rc = store_feed_insert(c, *out, now, &id);
    (void)a;

    if (rc != 0)
        return rc;
    json_decref(*out);
    *out = NULL;
    if (store_feed_get(c, id, out) != 1)
        return -1;
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
    return store_audit(c, NULL, "feed.add", "feed", idbuf, NULL, *out, now);
}

int cli_feed_add(cli_args *a)
{
    json_t *feed = feed_from_flags(a);
    db_conn *c;
    int rc = 1;

    if (!feed)
        return 1;
    c = cli_open_db(a);
    if (!c) {
        json_decref(feed);
        return 1;
    }
    switch (in_transaction(c, feed_add_tx, a, &feed)) {
    case 0: {
        char *text = json_dumps(feed, JSON_COMPACT);
        printf("%s\n", text ? text : "{}");
        free(text);
        rc = 0;
        break;
    }
    case ERR_ALREADY_EXISTS:
        cli_error("an enabled feed already has this sending application and facility");
        break;
    default:
        cli_error("cannot add the feed");
    }
    json_decref(feed);
    db_close(c);
    return rc;
}
