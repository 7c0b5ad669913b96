/* api_users: staff accounts (docs/api.md "Users"), admin only.
 *   GET   /api/v1/users              -> {"users": [...]}
 *   POST  /api/v1/users              {"username", "password", "role"} -> 201 the user
 *   PATCH /api/v1/users/{username}   any of role, password, disabled -> the user
 *
 * Passwords are hashed (argon2id, ~0.1 s) on the hashing pool
 * (hashpool.h) before req_write(), as log-ins are: neither the HTTP
 * workers, which serve the devices' posts, nor the writer thread ever wait
 * for one. A new password or disabling a user ends the user's sessions
 * (store_user_update). The last enabled admin can be neither disabled nor
 * demoted: the check runs in the apply function, inside the write
 * transaction, so two concurrent requests cannot both pass it. */
#include "api.h"
#include "body.h"
#include "hashpool.h"
#include "secret.h"
#include "store.h"
#include "timefmt.h"

#include <stdlib.h>
#include <string.h>

/* The contract leaves the user name's shape open (docs/api.md "Users"); this one is safe in URLs,
 * logs and the audit trail. */
#define USERNAME_MAX 64

static bool username_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > USERNAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') && !(ch >= '0' && ch <= '9') &&
            ch != '.' && ch != '_' && ch != '-')
            return false;
    }
    return true;
}

/* The user as the API shows it (never the password hash). */
static json_t *user_json(const char *username, role ro, bool disabled)
{
    return json_pack("{s:s, s:s, s:b}", "username", username, "role", role_name(ro), "disabled",
                     disabled);
}

/* A checked request: what to set. */
struct user_change {
    bool set_role;
    role role;
    bool set_disabled;
    bool disabled;
    const char *password;            /* the new password (in r->json), or NULL */
    char pw_hash[SECRET_PWHASH_LEN]; /* "" = unchanged */
    int (*apply)(db_conn *c, struct req *r);
};

static void user_change_free(void *p)
{
    if (p)
        explicit_bzero(p, sizeof(struct user_change));
    free(p);
}

/* Checks the role and password fields the body has (already type-checked
 * by body_check), fills u->role/set_role and u->password. Appends problems
 * to details. */
static void user_change_check(const json_t *body, struct user_change *u, json_t *details)
{
    const char *role_text = body_str(body, "role", NULL);
    const char *password = body_str(body, "password", NULL);
    const char *why = NULL;

    if (role_text) {
        u->set_role = true;
        if (role_parse(role_text, &u->role) != 0)
            json_array_append_new(
                details,
                reply_field_detail("role", "must be one of viewer, nurse, physician, admin"));
    }
    if (password && secret_password_acceptable(password, &why) != 0)
        json_array_append_new(details, reply_field_detail("password", why));
    u->password = password;
}

/* On a hashing pool thread. */
static void user_change_hash(struct req *r)
{
    struct user_change *u = r->ctx;

    if (secret_password_hash(u->password, u->pw_hash) != 0)
        u->pw_hash[0] = '\0';
}

/* Back on an HTTP worker once the pool hashed the password. */
static enum MHD_Result user_change_hashed(struct req *r)
{
    const struct user_change *u = r->ctx;

    if (!u->pw_hash[0])
        return reply_error(r, ERR_INTERNAL, "The password could not be hashed.", NULL);
    return req_write(r, u->apply);
}

/* Writes the checked change with apply, the password hashed first on the
 * pool when it has one (503 with Retry-After when the pool's queue is
 * full: a shift's log-ins come first). */
static enum MHD_Result user_change_write(struct req *r, struct user_change *u,
                                         int (*apply)(db_conn *c, struct req *r))
{
    u->apply = apply;
    if (!u->password)
        return req_write(r, apply);
    if (hashpool_submit(r, user_change_hash, user_change_hashed))
        return MHD_YES;
    return reply_error(r, ERR_BUSY, "Too many passwords to hash at once; retry in a second.", NULL);
}

/* --- GET /api/v1/users ----------------------------------------------------- */

enum MHD_Result api_users_get(struct req *r)
{
    db_conn *c = db_reader();
    json_t *users = NULL;

    if (!c || store_user_list(c, &users) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    return reply_json(r, 200, json_pack("{s:o}", "users", users));
}

/* --- POST /api/v1/users ---------------------------------------------------- */

static int users_post_apply(db_conn *c, struct req *r)
{
    const struct user_change *u = r->ctx;
    const char *name = body_str(r->json, "username", "");
    int64_t now = timefmt_now_ms(), id = 0;
    int rc = store_user_insert(c, name, u->role, u->pw_hash, now, &id);

    if (rc == ERR_ALREADY_EXISTS)
        return req_fail(r, ERR_ALREADY_EXISTS, NULL, "User %s already exists.", name);
    if (rc != 0)
        return DB_STORAGE_FAILURE;
    r->out = user_json(name, u->role, false);
    if (!r->out || store_audit(c, &r->who, "user.add", "user", name, NULL, r->out, now) != 0)
        return DB_STORAGE_FAILURE;
    r->out_status = 201;
    return 0;
}

enum MHD_Result api_users_post(struct req *r)
{
    static const field_spec specs[] = {
        {"username", F_STRING, true, false, USERNAME_MAX},
        {"password", F_STRING, true, false, SECRET_PASSWORD_MAX_BYTES},
        {"role", F_STRING, true, false, 16},
    };
    json_t *details = body_check(r->json, BODY_SPECS(specs));
    struct user_change *u;

    if (details)
        return reply_error(r, ERR_VALIDATION, "The user is invalid.", details);
    u = calloc(1, sizeof *u);
    details = json_array();
    if (!u || !details) {
        free(u);
        json_decref(details);
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    }
    r->ctx = u;
    r->ctx_free = user_change_free;
    if (!username_valid(body_str(r->json, "username", "")))
        json_array_append_new(
            details,
            reply_field_detail("username", "must be 1-64 letters, digits, '.', '_' or '-'"));
    user_change_check(r->json, u, details);
    if (json_array_size(details) > 0)
        return reply_error(r, ERR_VALIDATION, "The user is invalid.", details);
    json_decref(details);
    return user_change_write(r, u, users_post_apply);
}

/* --- PATCH /api/v1/users/{username} ---------------------------------------- */

/* Enabled admins other than `username`: the count, or -1. */
static int other_enabled_admins(db_conn *c, const char *username)
{
    json_t *users = NULL, *u;
    size_t i;
    int n = 0;

    if (store_user_list(c, &users) != 0)
        return -1;
    json_array_foreach(users, i, u)
    {
        if (strcmp(body_str(u, "role", ""), "admin") == 0 &&
            !json_is_true(json_object_get(u, "disabled")) &&
            strcmp(body_str(u, "username", ""), username) != 0)
            n++;
    }
    json_decref(users);
    return n;
}

static int users_patch_apply(db_conn *c, struct req *r)
{
    const struct user_change *u = r->ctx;
    const char *name = r->params[0];
    int64_t now = timefmt_now_ms();
    json_t *before = NULL, *after = NULL;
    user_row row;
    role new_role;
    bool new_disabled;
    int rc = store_user_get(c, name, &row);

    if (rc < 0)
        return DB_STORAGE_FAILURE;
    if (rc == 0)
        return req_fail(r, ERR_NOT_FOUND, NULL, "No user named %s.", name);
    new_role = u->set_role ? u->role : row.role;
    new_disabled = u->set_disabled ? u->disabled : row.disabled;
    if (row.role == ROLE_ADMIN && !row.disabled && (new_role != ROLE_ADMIN || new_disabled)) {
        rc = other_enabled_admins(c, row.username);
        if (rc < 0)
            return DB_STORAGE_FAILURE;
        if (rc == 0)
            return req_fail(r, ERR_CONFLICT, NULL,
                            "%s is the last enabled admin and cannot be %s; make another user "
                            "admin first, so that someone can still manage the ward.",
                            row.username, new_disabled ? "disabled" : "demoted");
    }
    rc = store_user_update(c, row.id, u->set_role ? &u->role : NULL,
                           u->pw_hash[0] ? u->pw_hash : NULL, u->set_disabled ? &u->disabled : NULL,
                           now);
    if (rc == ERR_NOT_FOUND)
        return req_fail(r, ERR_NOT_FOUND, NULL, "No user named %s.", name);
    if (rc != 0)
        return DB_STORAGE_FAILURE;
    before = user_json(row.username, row.role, row.disabled);
    after = user_json(row.username, new_role, new_disabled);
    if (after && u->pw_hash[0])
        json_object_set_new(after, "password_changed", json_true());
    rc = before && after
             ? store_audit(c, &r->who, "user.update", "user", row.username, before, after, now)
             : -1;
    json_decref(before);
    json_decref(after);
    if (rc != 0)
        return DB_STORAGE_FAILURE;
    r->out = user_json(row.username, new_role, new_disabled);
    return r->out ? 0 : DB_STORAGE_FAILURE;
}

enum MHD_Result api_users_patch(struct req *r)
{
    static const field_spec specs[] = {
        {"role", F_STRING, false, false, 16},
        {"password", F_STRING, false, false, SECRET_PASSWORD_MAX_BYTES},
        {"disabled", F_BOOL, false, false, 0},
    };
    json_t *details = body_check(r->json, BODY_SPECS(specs));
    const json_t *disabled;
    struct user_change *u;
    user_row row;
    db_conn *c;
    int rc;

    if (!details && json_object_size(r->json) == 0)
        details = json_pack(
            "[o]",
            reply_field_detail("(body)", "must set at least one of role, password, disabled"));
    if (details)
        return reply_error(r, ERR_VALIDATION, "The change is invalid.", details);
    /* Fail fast before hashing; users_patch_apply() checks again. */
    c = db_reader();
    rc = c ? store_user_get(c, r->params[0], &row) : -1;
    explicit_bzero(&row, sizeof row);
    if (rc < 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    if (rc == 0)
        return reply_errorf(r, ERR_NOT_FOUND, NULL, "No user named %s.", r->params[0]);
    u = calloc(1, sizeof *u);
    details = json_array();
    if (!u || !details) {
        free(u);
        json_decref(details);
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    }
    r->ctx = u;
    r->ctx_free = user_change_free;
    disabled = json_object_get(r->json, "disabled");
    if (disabled) {
        u->set_disabled = true;
        u->disabled = json_is_true(disabled);
    }
    user_change_check(r->json, u, details);
    if (json_array_size(details) > 0)
        return reply_error(r, ERR_VALIDATION, "The change is invalid.", details);
    json_decref(details);
    return user_change_write(r, u, users_patch_apply);
}
