/* reply: see reply.h. */
#include "reply.h"
#include "http.h"
#include "route.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct err_row {
    const char *code;
    unsigned status;
    const char *message;
} err_rows[] = {
    [ERR_NONE] = {"ok", 200, "OK"},
#define X(name, code, status, message) [name] = {code, status, message},
#include "errors.def"
#undef X
};

const char *err_code_name(err_code e)
{
    return (e > ERR_NONE && e < ERR__COUNT) ? err_rows[e].code : "internal_error";
}

unsigned err_http_status(err_code e)
{
    return (e > ERR_NONE && e < ERR__COUNT) ? err_rows[e].status : 500;
}

const char *err_default_message(err_code e)
{
    return (e > ERR_NONE && e < ERR__COUNT) ? err_rows[e].message : "An internal error occurred.";
}

json_t *reply_error_body(err_code e, const char *message, json_t *details)
{
    json_t *err = json_pack("{s:s, s:s}", "code", err_code_name(e), "message",
                            message && *message ? message : err_default_message(e));

    if (err && details)
        json_object_set_new(err, "details", details);
    else
        json_decref(details);
    return err ? json_pack("{s:o}", "error", err) : NULL;
}

/* Queues JSON text (stolen, freed with free()) with status; the error e
 * adds its headers, and `header` (may be NULL) one more. */
static enum MHD_Result queue_text(struct req *r, unsigned status, char *text, err_code e,
                                  const char *header, const char *value)
{
    struct MHD_Response *resp;
    enum MHD_Result ret = MHD_NO;

    if (!text)
        return MHD_NO;
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->dialect ? r->dialect->content_type : "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (e == ERR_METHOD_NOT_ALLOWED && r->allow[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (e == ERR_STORAGE || e == ERR_SHUTTING_DOWN)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "2");
    if (e == ERR_BUSY && !r->retry_after[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (r->retry_after[0] && (e == ERR_RATE_LIMITED || e == ERR_BUSY))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, r->retry_after);
    else if (e == ERR_RATE_LIMITED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "60");
    http_security_headers(r, resp);
    if (e == ERR_UNAUTHENTICATED || e == ERR_BAD_CREDENTIALS)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"wardd\"");
    if (header && value)
        MHD_add_response_header(resp, header, value);
    ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->status_sent = status;
    return ret;
}

/* Queues body (stolen) with status, as queue_text. */
static enum MHD_Result queue_with(struct req *r, unsigned status, json_t *body, err_code e,
                                  const char *header, const char *value)
{
    char *text = json_dumps(body ? body : json_object(), JSON_COMPACT | JSON_REAL_PRECISION(15));

    json_decref(body);
    return queue_text(r, status, text, e, header, value);
}

static enum MHD_Result queue(struct req *r, unsigned status, json_t *body, err_code e)
{
    return queue_with(r, status, body, e, NULL, NULL);
}

enum MHD_Result reply_json(struct req *r, unsigned status, json_t *body)
{
    return queue(r, status, body, ERR_NONE);
}

enum MHD_Result reply_json_text(struct req *r, unsigned status, char *text)
{
    return queue_text(r, status, text, ERR_NONE, NULL, NULL);
}

enum MHD_Result reply_json_with_header(struct req *r, unsigned status, json_t *body,
                                       const char *header, const char *value)
{
    return queue_with(r, status, body, ERR_NONE, header, value);
}

enum MHD_Result reply_error(struct req *r, err_code e, const char *message, json_t *details)
{
    if (err_http_status(e) >= 500)
        log_warn("%s %s -> %u %s", r->method, r->url, err_http_status(e), err_code_name(e));
    if (r->dialect)
        return queue(r, err_http_status(e), r->dialect->error_body(e, message, details), e);
    return queue(r, err_http_status(e), reply_error_body(e, message, details), e);
}

enum MHD_Result reply_errorf(struct req *r, err_code e, json_t *details, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return reply_error(r, e, msg, details);
}

json_t *reply_field_detail(const char *field, const char *message)
{
    return json_pack("{s:s, s:s}", "field", field, "message", message);
}

/* --- the replies many handlers share ---------------------------------------- */

/* The one wording for a patient that does not exist, or a path {id} that
 * is not one: it names the path segment as the client sent it. */
static const char NO_PATIENT_FMT[] = "No patient %s.";

static const char *path_patient(const struct req *r)
{
    return r->nparams > 0 ? r->params[0] : "";
}

enum MHD_Result reply_no_patient(struct req *r)
{
    return reply_errorf(r, ERR_NOT_FOUND, NULL, NO_PATIENT_FMT, path_patient(r));
}

int req_fail_no_patient(struct req *r)
{
    return req_fail(r, ERR_NOT_FOUND, NULL, NO_PATIENT_FMT, path_patient(r));
}

enum MHD_Result reply_bad_query(struct req *r, const char *param, const char *problem)
{
    return reply_errorf(r, ERR_BAD_QUERY, json_pack("[o]", reply_field_detail(param, problem)),
                        "Query parameter %s %s.", param, problem);
}
