/* fhir_search: shared search machinery (fhir_search.h). */
#include "fhir_search.h"
#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    fhir_params *p = cls;
    (void)kind;

    if (p->n == FHIR_PARAMS_MAX) {
        p->overflow = true;
        return MHD_NO;
    }
    p->key[p->n] = key;
    p->value[p->n] = value ? value : "";
    p->used[p->n] = false;
    p->n++;
    return MHD_YES;
}

void fhir_params_read(struct req *r, fhir_params *p)
{
    memset(p, 0, sizeof *p);
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect, p);
}

const char *fhir_param_nth(fhir_params *p, const char *key, size_t i)
{
    for (size_t k = 0; k < p->n; k++) {
        if (strcmp(p->key[k], key) != 0)
            continue;
        p->used[k] = true;
        if (i-- == 0)
            return p->value[k];
    }
    return NULL;
}

const char *fhir_param(fhir_params *p, const char *key)
{
    return fhir_param_nth(p, key, 0);
}

void fhir_params_common(fhir_params *p)
{
    static const char *const common[] = {"_format", "_count", "_cursor", "_summary", "_pretty"};

    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        (void)fhir_param(p, common[i]);
}

static bool handling_strict(struct req *r)
{
    const char *prefer = req_header(r, "Prefer");

    return prefer && strstr(prefer, "handling=strict") != NULL;
}

bool fhir_params_known_or_reply(struct req *r, fhir_params *p, enum MHD_Result *ret)
{
    fhir_issue is = {.code = "not-supported"};

    if (p->overflow) {
        snprintf(is.diagnostics, sizeof is.diagnostics, "A search takes at most %d parameters.",
                 FHIR_PARAMS_MAX);
        *ret = fhir_reply_issue(r, 400, &is);
        return false;
    }
    for (size_t k = 0; k < p->n; k++) {
        if (p->used[k] || !handling_strict(r))
            continue;
        snprintf(is.diagnostics, sizeof is.diagnostics,
                 "Unknown search parameter '%.60s' (Prefer: handling=strict); "
                 "docs/fhir.md lists the supported ones.",
                 p->key[k]);
        snprintf(is.expression, sizeof is.expression, "%.60s", p->key[k]);
        *ret = fhir_reply_issue(r, 400, &is);
        return false;
    }
    return true;
}

bool fhir_count_or_reply(struct req *r, fhir_params *p, int *count, enum MHD_Result *ret)
{
    const char *v = fhir_param(p, "_count");
    char *end;
    long n;

    *count = FHIR_COUNT_DEFAULT;
    if (!v)
        return true;
    n = strtol(v, &end, 10);
    if (!*v || *end || n < 0) {
        fhir_issue is = {.code = "invalid", .expression = "_count"};
        snprintf(is.diagnostics, sizeof is.diagnostics,
                 "_count must be a whole number of 0 or more, not '%.40s'.", v);
        *ret = fhir_reply_issue(r, 400, &is);
        return false;
    }
    *count = n > FHIR_COUNT_MAX ? FHIR_COUNT_MAX : (int)n;
    return true;
}

/* Appends key=value (URL-encoded) to buf. */
static void append_param(char *buf, size_t len, const char *key, const char *value)
{
    size_t used = strlen(buf);

    snprintf(buf + used, len - used, "%s%s=", strchr(buf, '?') ? "&" : "?", key);
    for (const unsigned char *s = (const unsigned char *)value; *s; s++) {
        used = strlen(buf);
        if (used + 4 >= len)
            return;
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
            strchr("-._~|:,", *s))
            buf[used] = (char)*s, buf[used + 1] = '\0';
        else
            snprintf(buf + used, len - used, "%%%02X", *s);
    }
}

json_t *fhir_searchset(struct req *r, const fhir_params *p, const char *resource,
                       const char *next_cursor)
{
    char base[256], self[2048], next[2048];
    json_t *links;

    fhir_base_url(r, base, sizeof base);
    snprintf(self, sizeof self, "%s/%s", base, resource);
    for (size_t k = 0; k < p->n; k++)
        if (p->used[k] && strcmp(p->key[k], "_cursor") != 0)
            append_param(self, sizeof self, p->key[k], p->value[k]);
    links = json_pack("[{s:s, s:s}]", "relation", "self", "url", self);
    if (next_cursor) {
        snprintf(next, sizeof next, "%s", self);
        append_param(next, sizeof next, "_cursor", next_cursor);
        json_array_append_new(links, json_pack("{s:s, s:s}", "relation", "next", "url", next));
    }
    return json_pack("{s:s, s:s, s:o, s:[]}", "resourceType", "Bundle", "type", "searchset", "link",
                     links, "entry");
}

void fhir_searchset_add(struct req *r, json_t *bundle, const char *resource, const char *id,
                        json_t *res)
{
    char base[256], full[512];

    fhir_base_url(r, base, sizeof base);
    snprintf(full, sizeof full, "%s/%s/%s", base, resource, id);
    json_array_append_new(json_object_get(bundle, "entry"),
                          json_pack("{s:s, s:o, s:{s:s}}", "fullUrl", full, "resource", res,
                                    "search", "mode", "match"));
}

/* [start, end) of a partial date: YYYY, YYYY-MM or YYYY-MM-DD (UTC). */
static int partial_date(const char *v, int64_t *start, int64_t *end)
{
    struct tm tm = {0};
    int y = 0, m = 1, d = 1, n = 0;
    size_t len = strlen(v);

    if (len == 4 && sscanf(v, "%4d%n", &y, &n) == 1 && n == 4)
        tm.tm_year = y - 1900, tm.tm_mon = 0, tm.tm_mday = 1;
    else if (len == 7 && sscanf(v, "%4d-%2d%n", &y, &m, &n) == 2 && n == 7 && m >= 1 && m <= 12)
        tm.tm_year = y - 1900, tm.tm_mon = m - 1, tm.tm_mday = 1;
    else if (len == 10 && sscanf(v, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && n == 10 && m >= 1 &&
             m <= 12 && d >= 1 && d <= 31)
        tm.tm_year = y - 1900, tm.tm_mon = m - 1, tm.tm_mday = d;
    else
        return -1;
    *start = (int64_t)timegm(&tm) * 1000;
    /* timegm normalises 2026-02-30 to March: refuse what does not round-trip */
    if (tm.tm_year != y - 1900 || tm.tm_mon != m - 1 || tm.tm_mday != d)
        return -1;
    if (len == 4)
        tm.tm_year++;
    else if (len == 7)
        tm.tm_mon++;
    else
        tm.tm_mday++;
    *end = (int64_t)timegm(&tm) * 1000;
    return 0;
}

int fhir_date_narrow(const char *value, int64_t *from, int64_t *to)
{
    char prefix[3] = "eq";
    int64_t start, end, t;

    if (strlen(value) > 2 && value[0] >= 'a' && value[0] <= 'z') {
        memcpy(prefix, value, 2);
        value += 2;
    }
    if (timefmt_parse(value, &t) == 0) {
        start = t;
        end = t + 1;
    } else if (partial_date(value, &start, &end) != 0) {
        return -1;
    }
    if (strcmp(prefix, "eq") == 0) {
        *from = start > *from ? start : *from;
        *to = end - 1 < *to ? end - 1 : *to;
    } else if (strcmp(prefix, "ge") == 0) {
        *from = start > *from ? start : *from;
    } else if (strcmp(prefix, "gt") == 0) {
        *from = end > *from ? end : *from;
    } else if (strcmp(prefix, "le") == 0) {
        *to = end - 1 < *to ? end - 1 : *to;
    } else if (strcmp(prefix, "lt") == 0) {
        *to = start - 1 < *to ? start - 1 : *to;
    } else {
        return -1;
    }
    return 0;
}

int64_t fhir_patient_ref(const char *value)
{
    char *end;
    long long id;

    if (!value)
        return 0;
    if (strncmp(value, "Patient/", 8) == 0)
        value += 8;
    id = strtoll(value, &end, 10);
    return (*value && !*end && id > 0) ? id : 0;
}
