/* clinical_install: the first rule set, read from a file and stored as
 * version 1 when the database has none. */
#include "clinical_int.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Where the default rule set is looked for when --rules is not given: the
 * source tree (make run, tests), then the container image's copy. */
static const char *const default_rules[] = {
    "schema/rules/il2-default.json",
    "/usr/share/wardd/rules/il2-default.json",
};

/* ---------------------------------------------------------------------- */
/* Start and stop                                                          */

struct install {
    int version;
    const char *name;
    const json_t *doc;
};

static int install_apply(db_conn *c, void *arg)
{
    const struct install *in = arg;
    int64_t now = timefmt_now_ms();
    char idbuf[24];
    json_t *after;
    int rc = store_ruleset_activate(c, in->version, in->name, in->doc, clin_wardd_user.name, now);

    if (rc != 0)
        return rc < 0 ? DB_STORAGE_FAILURE : rc;
    snprintf(idbuf, sizeof idbuf, "%d", in->version);
    after = json_pack("{s:s, s:i}", "name", in->name, "version", in->version);
    rc = store_audit(c, &clin_wardd_user, "rules.install", "ruleset", idbuf, NULL, after, now);
    json_decref(after);
    return rc == 0 ? 0 : DB_STORAGE_FAILURE;
}

void clin_log_rule_errors(const rules_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        log_error("%s", errs->items[i].text);
}

/* DIR/../schema/rules/il2-default.json for the directory DIR of the
 * running binary. 0 or -1. */
static int exe_relative_rules(char *out, size_t len)
{
    char exe[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;

    if (n <= 0)
        return -1;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return snprintf(out, len, "%s/../schema/rules/il2-default.json", exe) < (int)len ? 0 : -1;
}

/* No rule set in the database: load the file, store it as version 1. */
rules_set *clin_install_from_file(db_writer *writer, const char *path)
{
    char beside[2200];
    rules_errors errs = {0};
    rules_set *rs = NULL, *file_rs;
    json_t *doc = NULL;
    struct install in = {.version = 1};
    int rc;

    if (!path) {
        for (size_t i = 0; i < sizeof default_rules / sizeof default_rules[0] && !path; i++)
            if (access(default_rules[i], R_OK) == 0)
                path = default_rules[i];
        /* beside the binary's tree: build/wardd -> schema/rules/... */
        if (!path && exe_relative_rules(beside, sizeof beside) == 0 && access(beside, R_OK) == 0)
            path = beside;
        if (!path) {
            log_error("no rule set: the database has none, --rules was not given, and neither "
                      "%s nor %s exists",
                      default_rules[0], default_rules[1]);
            return NULL;
        }
    }
    file_rs = rules_load_file(path, &errs);
    if (!file_rs) {
        log_error("rule set %s is invalid:", path);
        clin_log_rule_errors(&errs);
        goto out;
    }
    /* The database numbers the versions: the stored document says 1. */
    doc = json_deep_copy(file_rs->doc);
    if (!doc || json_object_set_new(doc, "version", json_integer(in.version)) != 0)
        goto out;
    rules_errors_free(&errs);
    rs = rules_load_json(doc, path, &errs);
    if (!rs)
        goto out;
    in.name = rs->name;
    in.doc = doc;
    rc = db_writer_run(writer, install_apply, &in);
    if (rc != 0) {
        log_error("cannot store the rule set %s (status %d)", path, rc);
        rules_unref(rs);
        rs = NULL;
        goto out;
    }
    log_info("installed rule set %s from %s as version %d", rs->name, path, in.version);
out:
    rules_unref(file_rs);
    rules_errors_free(&errs);
    json_decref(doc);
    return rs;
}
