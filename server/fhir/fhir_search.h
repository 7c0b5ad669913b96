/* fhir_search: the parts of a FHIR search every resource shares (private
 * to server/fhir): the query's parameters (repeats kept), the
 * `Prefer: handling` rule for unknown ones, _count, the searchset Bundle
 * and its links. */
#ifndef WARDD_FHIR_SEARCH_H
#define WARDD_FHIR_SEARCH_H

#include "fhir.h"
#include "ingest.h"

#define FHIR_PARAMS_MAX    32
#define FHIR_COUNT_DEFAULT 50
#define FHIR_COUNT_MAX     1000

typedef struct fhir_params {
    size_t n;
    const char *key[FHIR_PARAMS_MAX];
    const char *value[FHIR_PARAMS_MAX];
    bool used[FHIR_PARAMS_MAX];
    bool overflow;
} fhir_params;

/* Collects the query's parameters (MHD keeps them for the request). */
void fhir_params_read(struct req *r, fhir_params *p);
/* The first value of key (marked used), or NULL. */
const char *fhir_param(fhir_params *p, const char *key);
/* The i-th value of key (marked used), or NULL past the last. */
const char *fhir_param_nth(fhir_params *p, const char *key, size_t i);
/* Marks the format and paging parameters every search accepts. */
void fhir_params_common(fhir_params *p);
/* Unknown parameters: with `Prefer: handling=strict` a 400; lenient (the
 * default) they are ignored and left out of the self link. True to go on. */
bool fhir_params_known_or_reply(struct req *r, fhir_params *p, enum MHD_Result *ret);
/* _count: default, capped at FHIR_COUNT_MAX; false when it replied 400. */
bool fhir_count_or_reply(struct req *r, fhir_params *p, int *count, enum MHD_Result *ret);

/* A searchset Bundle with its self link (the used parameters) and, when
 * next_cursor is not NULL, a next link with _cursor. New. */
json_t *fhir_searchset(struct req *r, const fhir_params *p, const char *resource,
                       const char *next_cursor);
/* Appends {"fullUrl", "resource", "search": {"mode": "match"}} (steals res). */
void fhir_searchset_add(struct req *r, json_t *bundle, const char *resource, const char *id,
                        json_t *res);

/* A date search value (eq, ge, gt, le, lt prefixes; a date, a month, a
 * year or a full dateTime) narrowed into [*from, *to]. 0 or -1. */
int fhir_date_narrow(const char *value, int64_t *from, int64_t *to);

/* "Patient/12" or "12" -> 12; 0 when not a patient reference. */
int64_t fhir_patient_ref(const char *value);

/* wardd's findings by id (fhir_findings.c): "decision-N", "news2-N",
 * "ctcae-N-term". 1 (*out new), 0 none, -1 failure. */
int fhir_finding_read(db_conn *c, const char *id, json_t **out);
/* A JSON object whose resourceType is `type`: true, else it replied 400. */
bool fhir_resource_or_reply(struct req *r, const json_t *body, const char *type,
                            enum MHD_Result *ret);

/* One Observation resource as a readings batch (fhir_observation.c):
 * mapped, filed (device bed or staff subject) and validated. 0 with *out
 * (a new ingest), or an HTTP status with *err. */
unsigned fhir_observation_prepare(struct req *r, const json_t *obs, ingest **out, fhir_issue *err);
/* After ingest_apply on the writer: the stored resource (new) and its
 * "Observation/ID/_history/1". 0 or -1. */
int fhir_observation_stored(db_conn *c, ingest *in, const principal *who, json_t **res,
                            char *location, size_t len);

/* --- JSON text (fhir_text.c) --- */
typedef struct fhir_buf {
    char *p; /* NUL-terminated; the owner frees it */
    size_t len, cap;
    size_t entries; /* Bundle entries written (fhir_entry_text) */
    bool oom;
} fhir_buf;
void fhir_buf_raw(fhir_buf *b, const char *s, size_t n);
void fhir_buf_add(fhir_buf *b, const char *s);
void fhir_buf_str(fhir_buf *b, const char *s);
/* The Observation fhir_observation_out() builds, as JSON text. */
void fhir_observation_text(const fhir_reading *rd, fhir_buf *b);
/* One searchset entry {"fullUrl", "resource", "search"} for a resource
 * already written as JSON text. */
void fhir_entry_text(fhir_buf *b, const char *base, const char *resource, const char *id,
                     const char *resource_json);
/* head (a searchset from fhir_searchset, stolen) with the entries
 * spliced into its empty entry list: new text (free()), or NULL. */
char *fhir_bundle_text(json_t *head, const fhir_buf *entries);
/* Whether a code's Observations claim the R4 vital-signs profile. */
bool fhir_in_vitals_profile(const obs_code *code);

#endif
