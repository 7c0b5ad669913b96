/* body: declarative checks of a JSON request object (docs/CONVENTIONS.md "Requests").
 * A handler lists its fields once; body_check() rejects unknown keys,
 * missing required ones and wrong types, naming each field in the details. */
#ifndef WARDD_BODY_H
#define WARDD_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum field_type {
    F_STRING, /* non-empty string of at most max_len bytes (0 = 256) */
    F_INT,    /* integer */
    F_NUMBER, /* integer or real */
    F_BOOL,
    F_OBJECT,
    F_ARRAY,
    F_TIME, /* RFC 3339 date-time string */
    F_DATE, /* YYYY-MM-DD string */
} field_type;

typedef struct field_spec {
    const char *name;
    field_type type;
    bool required;
    bool nullable; /* JSON null accepted (means "clear") */
    size_t max_len;
} field_spec;

/* NULL when `obj` satisfies the specs; otherwise a new array of
 * {"field", "message"} details. A non-object `obj` gives one detail for
 * field "(body)". */
json_t *body_check(const json_t *obj, const field_spec *specs, size_t n);

/* Deepest nesting of arrays and objects in JSON text (strings skipped),
 * checked before parsing so that deep input never reaches the parser. */
int body_json_depth(const char *s, size_t n);

/* Convenience readers for checked objects: the value or the default. */
const char *body_str(const json_t *obj, const char *key, const char *dflt);

#define BODY_SPECS(a) (a), (sizeof(a) / sizeof((a)[0]))

#endif
