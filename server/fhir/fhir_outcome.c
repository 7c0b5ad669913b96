/* fhir_outcome: OperationOutcome errors, resource replies (Prefer,
 * Location), the base URL and format negotiation for /fhir. */
#include "app.h"
#include "fhir.h"
#include "reply.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

json_t *fhir_outcome(const char *severity, const char *code, const char *diagnostics,
                     const char *expression)
{
    json_t *issue = json_pack("{s:s, s:s, s:s}", "severity", severity, "code", code, "diagnostics",
                              diagnostics ? diagnostics : "");

    if (issue && expression && *expression)
        json_object_set_new(issue, "expression", json_pack("[s]", expression));
    return json_pack("{s:s, s:[o]}", "resourceType", "OperationOutcome", "issue", issue);
}

/* FHIR's issue type for a wardd error (http://hl7.org/fhir/R4/valueset-issue-type.html). */
static const char *issue_type_of(err_code e)
{
    switch (e) {
    case ERR_UNAUTHENTICATED:
    case ERR_BAD_CREDENTIALS:
        return "login";
    case ERR_FORBIDDEN:
        return "forbidden";
    case ERR_NOT_FOUND:
        return "not-found";
    case ERR_METHOD_NOT_ALLOWED:
        return "not-supported";
    case ERR_CONFLICT:
    case ERR_ALREADY_EXISTS:
        return "conflict";
    case ERR_TOO_LARGE:
    case ERR_TOO_MANY_READINGS:
        return "too-costly";
    case ERR_MALFORMED_JSON:
    case ERR_UNSUPPORTED_MEDIA:
        return "structure";
    case ERR_RATE_LIMITED:
        return "throttled";
    case ERR_STORAGE:
    case ERR_SHUTTING_DOWN:
        return "transient";
    case ERR_INTERNAL:
        return "exception";
    default:
        return "invalid";
    }
}

json_t *fhir_error_body(err_code e, const char *message, json_t *details)
{
    json_t *out = fhir_outcome(err_http_status(e) >= 500 ? "fatal" : "error", issue_type_of(e),
                               message && *message ? message : err_default_message(e), NULL);
    size_t i;
    json_t *d;

    /* Field details become further issues, each naming its element. */
    json_array_foreach(details, i, d)
    {
        const char *field = json_string_value(json_object_get(d, "field"));
        const char *msg = json_string_value(json_object_get(d, "message"));
        json_t *one = fhir_outcome("error", "invalid", msg ? msg : "invalid", field);
        json_array_extend(json_object_get(out, "issue"), json_object_get(one, "issue"));
        json_decref(one);
    }
    json_decref(details);
    return out;
}

enum MHD_Result fhir_reply_issue(struct req *r, unsigned status, const fhir_issue *is)
{
    return reply_json(
        r, status,
        fhir_outcome(status >= 500 ? "fatal" : "error", is->code, is->diagnostics, is->expression));
}

void fhir_base_url(struct req *r, char *buf, size_t len)
{
    const char *host = req_header(r, MHD_HTTP_HEADER_HOST);

    snprintf(buf, len, "%s://%s/fhir", r->app->tls ? "https" : "http",
             host && *host && !strpbrk(host, " /\\\"<>") ? host : "localhost");
}

/* Prefer: return=minimal | representation | OperationOutcome (RFC 7240). */
static bool prefer_minimal(struct req *r)
{
    const char *p = req_header(r, "Prefer");

    return p && strstr(p, "return=minimal") != NULL;
}

enum MHD_Result fhir_reply_resource(struct req *r, unsigned status, json_t *body,
                                    const char *location_path)
{
    char base[256], loc[512];

    if (!location_path)
        return reply_json(r, status, body);
    fhir_base_url(r, base, sizeof base);
    snprintf(loc, sizeof loc, "%s/%s", base, location_path);
    if (prefer_minimal(r)) {
        json_decref(body);
        body = json_object();
    }
    return reply_json_with_header(r, status, body, MHD_HTTP_HEADER_LOCATION, loc);
}

/* Whether a media type (or _format value) names JSON. */
static bool names_json(const char *s, size_t n)
{
    static const char *const ok[] = {
        "json", "application/json", "application/fhir+json", "application/json+fhir",
        "*/*",  "application/*"};

    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strlen(ok[i]) == n && strncasecmp(s, ok[i], n) == 0)
            return true;
    return false;
}

/* Whether any member of an Accept list names JSON. */
static bool accept_allows_json(const char *accept)
{
    while (accept && *accept) {
        size_t n = strcspn(accept, ",;");
        if (names_json(accept, n))
            return true;
        accept += n;
        accept += strcspn(accept, ",");
        if (*accept == ',')
            accept++;
    }
    return false;
}

bool fhir_format_or_reply(struct req *r, enum MHD_Result *ret)
{
    const char *format = req_query(r, "_format");
    const char *accept = req_header(r, MHD_HTTP_HEADER_ACCEPT);
    fhir_issue is = {.code = "not-supported"};

    if (format && !names_json(format, strlen(format))) {
        snprintf(is.diagnostics, sizeof is.diagnostics,
                 "_format=%.60s is not supported; this server speaks JSON only "
                 "(json, application/fhir+json).",
                 format);
        *ret = fhir_reply_issue(r, 406, &is);
        return false;
    }
    if (!format && accept && *accept && !accept_allows_json(accept)) {
        snprintf(is.diagnostics, sizeof is.diagnostics,
                 "Accept: %.80s cannot be served; this server speaks application/fhir+json.",
                 accept);
        *ret = fhir_reply_issue(r, 406, &is);
        return false;
    }
    return true;
}
