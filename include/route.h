/* route: the one route table and its matcher (docs/CONVENTIONS.md "Routes").
 *
 * Every route states its method, path pattern ("{}" matches one segment),
 * minimum role, body kind and handler. The table is static and sorted by
 * path; route_match() answers "this route", "path exists but not with
 * this method" (405 + Allow) or "no such path" (404). */
#ifndef WARDD_ROUTE_H
#define WARDD_ROUTE_H

#include "http.h"

#include <stdbool.h>
#include <stddef.h>

/* BODY_JSON_OPTIONAL: a JSON body may be sent; none leaves r->json NULL. */
typedef enum body_kind { BODY_NONE, BODY_JSON, BODY_JSON_OPTIONAL } body_kind;

typedef enum MHD_Result (*route_handler)(struct req *r);

struct route {
    const char *method;
    const char *pattern;
    role min_role;
    body_kind body;
    route_handler handler;
};

/* A URL space whose replies speak another dialect (FHIR under /fhir):
 * its content type and its error body (OperationOutcome instead of the
 * {"error": ...} shape). Same routes, auth and limits otherwise. */
struct route_dialect {
    const char *prefix;       /* "/fhir": matches "/fhir" and "/fhir/..." */
    const char *content_type; /* of every reply */
    /* The error body for e (message and details as reply_error_body). New reference. */
    json_t *(*error_body)(err_code e, const char *message, json_t *details);
};
extern const struct route_dialect route_dialects[];
extern const size_t route_dialect_count;
/* The dialect whose prefix the path starts with, or NULL. */
const struct route_dialect *route_dialect_of(const char *path);

/* The server's table. */
extern const struct route route_table[];
extern const size_t route_count;

typedef enum route_outcome { ROUTE_FOUND, ROUTE_NO_METHOD, ROUTE_NO_PATH } route_outcome;

/* Matches method and path against table[0..n). HEAD matches GET routes.
 * On ROUTE_FOUND, *found and params are set; on ROUTE_NO_METHOD, `allow`
 * lists the path's methods ("GET, POST"). Segments longer than
 * REQ_PARAM_LEN-1 never match. */
route_outcome route_match(const struct route *table, size_t n, const char *method, const char *path,
                          const struct route **found, char params[][REQ_PARAM_LEN], int *nparams,
                          char *allow, size_t allow_len);

#endif
