/* body: see body.h. */
#include "body.h"
#include "timefmt.h"

#include <stdio.h>
#include <string.h>

static const field_spec *find_spec(const field_spec *specs, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(specs[i].name, key) == 0)
            return &specs[i];
    return NULL;
}

static void add(json_t *details, const char *field, const char *message)
{
    json_array_append_new(details, json_pack("{s:s, s:s}", "field", field, "message", message));
}

/* The problem with one value, or NULL when it fits the spec. */
static const char *value_problem(const field_spec *s, const json_t *v, char *buf, size_t len)
{
    int64_t ms;
    int y, m, d;
    size_t max = s->max_len ? s->max_len : 256;

    if (json_is_null(v))
        return s->nullable ? NULL : "must not be null";
    switch (s->type) {
    case F_STRING:
        if (!json_is_string(v))
            return "must be a string";
        if (json_string_length(v) == 0)
            return "must not be empty";
        if (json_string_length(v) > max) {
            snprintf(buf, len, "must be at most %zu bytes", max);
            return buf;
        }
        return NULL;
    case F_INT:
        return json_is_integer(v) ? NULL : "must be an integer";
    case F_NUMBER:
        return json_is_number(v) ? NULL : "must be a number";
    case F_BOOL:
        return json_is_boolean(v) ? NULL : "must be true or false";
    case F_OBJECT:
        return json_is_object(v) ? NULL : "must be an object";
    case F_ARRAY:
        return json_is_array(v) ? NULL : "must be an array";
    case F_TIME:
        if (!json_is_string(v) || timefmt_parse(json_string_value(v), &ms) != 0)
            return "must be an RFC 3339 date-time with a zone, e.g. 2026-11-27T14:03:05Z";
        return NULL;
    case F_DATE:
        if (!json_is_string(v) || timefmt_parse_date(json_string_value(v), &y, &m, &d) != 0)
            return "must be a date YYYY-MM-DD";
        return NULL;
    }
    return "has an unknown type";
}

json_t *body_check(const json_t *obj, const field_spec *specs, size_t n)
{
    json_t *details = json_array();
    const char *key;
    json_t *v;
    char buf[96];

    if (!json_is_object(obj)) {
        add(details, "(body)", "must be a JSON object");
        return details;
    }
    json_object_foreach((json_t *)obj, key, v)
    {
        const field_spec *s = find_spec(specs, n, key);
        const char *problem;
        if (!s) {
            add(details, key, "is not a known field");
            continue;
        }
        problem = value_problem(s, v, buf, sizeof buf);
        if (problem)
            add(details, key, problem);
    }
    for (size_t i = 0; i < n; i++)
        if (specs[i].required && !json_object_get(obj, specs[i].name))
            add(details, specs[i].name, "is required");
    if (json_array_size(details) == 0) {
        json_decref(details);
        return NULL;
    }
    return details;
}

/* Deepest nesting of arrays/objects in text, strings skipped. */
int body_json_depth(const char *s, size_t n)
{
    int depth = 0, max = 0;
    bool in_string = false;

    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (in_string) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '[' || ch == '{') {
            if (++depth > max)
                max = depth;
        } else if (ch == ']' || ch == '}') {
            depth--;
        }
    }
    return max;
}

const char *body_str(const json_t *obj, const char *key, const char *dflt)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_string(v) ? json_string_value(v) : dflt;
}
