/* reply: the one JSON error shape and the JSON success replies.
 *
 * Every 4xx/5xx is {"error": {"code", "message", "details"?}} with the code
 * and status from errors.def. Replying functions return MHD_YES when a
 * response was queued and MHD_NO when none could be (the connection is then
 * closed): handlers pass that on (docs/CONVENTIONS.md "Replies"). */
#ifndef WARDD_REPLY_H
#define WARDD_REPLY_H

#include "errors.h"

#include <jansson.h>
#include <microhttpd.h>

struct req;

const char *err_code_name(err_code e);
unsigned err_http_status(err_code e);
const char *err_default_message(err_code e);

/* Queues `body` (stolen; NULL becomes {}) with `status`. */
enum MHD_Result reply_json(struct req *r, unsigned status, json_t *body);
/* reply_json() for a body already written as JSON text (stolen, freed with
 * free(); NULL queues nothing and returns MHD_NO). For big replies built
 * without jansson (store_obs_series). */
enum MHD_Result reply_json_text(struct req *r, unsigned status, char *text);
/* reply_json() with one extra response header (e.g. Set-Cookie); header
 * and value are copied. */
enum MHD_Result reply_json_with_header(struct req *r, unsigned status, json_t *body,
                                       const char *header, const char *value);
/* Queues the error shape. message NULL = the registry's message; details
 * (stolen) may be NULL. 405 adds Allow, 429/503 add Retry-After. */
enum MHD_Result reply_error(struct req *r, err_code e, const char *message, json_t *details);
/* printf-style message. */
enum MHD_Result reply_errorf(struct req *r, err_code e, json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A details entry {"field": f, "message": m} (new reference). */
json_t *reply_field_detail(const char *field, const char *message);

/* 404 not_found "No patient {id}." for the path's {id} (path parameter 0,
 * as sent): the one reply for a patient that does not exist or an {id}
 * that is not a patient id. */
enum MHD_Result reply_no_patient(struct req *r);
/* The same refusal from a writer apply function (req_fail): returns
 * ERR_NOT_FOUND with the same message. */
int req_fail_no_patient(struct req *r);
/* How a time parameter's problem is worded: reply_bad_query(r, "at",
 * "must be " REPLY_TIME_EXAMPLE). */
#define REPLY_TIME_EXAMPLE "an RFC 3339 date-time with a zone, e.g. 2026-11-27T14:03:05Z"
/* 400 bad_query naming the query parameter: message "Query parameter
 * PARAM PROBLEM." and details [{"field": PARAM, "message": PROBLEM}]. */
enum MHD_Result reply_bad_query(struct req *r, const char *param, const char *problem);

/* Builds an error body without a connection (also used for SSE/CLI). */
json_t *reply_error_body(err_code e, const char *message, json_t *details);

#endif
