/* route: the matcher; the table itself is in server/api/route_table.c. See route.h. */
#include "route.h"

#include <string.h>

/* Matches one pattern against a path; fills params. */
static bool pattern_matches(const char *pattern, const char *path, char params[][REQ_PARAM_LEN],
                            int *nparams)
{
    const char *p = pattern;
    const char *s = path;
    int np = 0;

    while (*p && *s) {
        if (p[0] == '{' && p[1] == '}') {
            size_t len = strcspn(s, "/");
            if (len == 0 || len >= REQ_PARAM_LEN || np >= REQ_MAX_PARAMS)
                return false;
            memcpy(params[np], s, len);
            params[np][len] = '\0';
            np++;
            s += len;
            p += 2;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    if (*p || *s)
        return false;
    *nparams = np;
    return true;
}

static void allow_add(char *allow, size_t allow_len, const char *method)
{
    size_t used = strlen(allow);

    if (strstr(allow, method))
        return;
    if (used + strlen(method) + 3 > allow_len)
        return;
    if (used)
        strcat(allow, ", ");
    strcat(allow, method);
}

route_outcome route_match(const struct route *table, size_t n, const char *method, const char *path,
                          const struct route **found, char params[][REQ_PARAM_LEN], int *nparams,
                          char *allow, size_t allow_len)
{
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
    bool path_known = false;
    char scratch[REQ_MAX_PARAMS][REQ_PARAM_LEN];
    int nscratch = 0;

    if (allow_len)
        allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!pattern_matches(table[i].pattern, path, scratch, &nscratch))
            continue;
        path_known = true;
        allow_add(allow, allow_len, table[i].method);
        if (strcmp(table[i].method, "GET") == 0)
            allow_add(allow, allow_len, "HEAD");
        if (strcmp(table[i].method, want) == 0) {
            *found = &table[i];
            memcpy(params, scratch, sizeof scratch);
            *nparams = nscratch;
            return ROUTE_FOUND;
        }
    }
    return path_known ? ROUTE_NO_METHOD : ROUTE_NO_PATH;
}

const struct route_dialect *route_dialect_of(const char *path)
{
    for (size_t i = 0; path && i < route_dialect_count; i++) {
        size_t n = strlen(route_dialects[i].prefix);
        if (strncmp(path, route_dialects[i].prefix, n) == 0 && (path[n] == '\0' || path[n] == '/'))
            return &route_dialects[i];
    }
    return NULL;
}
