/* engine_hist: the observation history and the patient record the engine
 * reads (contract in include/engine.h). */
#include "engine_int.h"
#include "obs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

engine_hist *engine_hist_new(void)
{
    engine_hist *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->n_codes = obs_code_count();
    h->s = calloc(h->n_codes ? h->n_codes : 1, sizeof *h->s);
    if (h->s == NULL) {
        free(h);
        return NULL;
    }
    return h;
}

void engine_hist_free(engine_hist *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->n_codes; i++)
        free(h->s[i].p);
    free(h->s);
    free(h);
}

int engine_hist_add(engine_hist *h, int code_id, int64_t t_ms, double v)
{
    if (h == NULL || code_id < 0 || (size_t)code_id >= h->n_codes || !isfinite(v))
        return -1;
    engine_series *s = &h->s[code_id];
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        engine_point *p = realloc(s->p, cap * sizeof *p);
        if (p == NULL)
            return -1;
        s->p = p;
        s->cap = cap;
    }
    /* after every reading with time <= t_ms: equal times keep arrival order */
    size_t pos = s->n;
    while (pos > 0 && s->p[pos - 1].t_ms > t_ms)
        pos--;
    if (pos < s->n)
        memmove(&s->p[pos + 1], &s->p[pos], (s->n - pos) * sizeof s->p[0]);
    s->p[pos].t_ms = t_ms;
    s->p[pos].v = v;
    s->n++;
    return 0;
}

const engine_point *engine_hist_points(const engine_hist *h, int code_id, size_t *n)
{
    *n = 0;
    if (h == NULL || code_id < 0 || (size_t)code_id >= h->n_codes)
        return NULL;
    *n = h->s[code_id].n;
    return h->s[code_id].p;
}

void engine_patient_init(engine_patient *p, int64_t id)
{
    memset(p, 0, sizeof *p);
    p->id = id;
    for (int i = 0; i < RULES_BL_COUNT; i++)
        p->baseline[i] = NAN;
    for (int i = 0; i < RULES_LIM_COUNT; i++)
        p->limit[i] = NAN;
    p->news2_scale = 1;
    p->course.number = 1;
    p->course.prev_discharge_ms = ENGINE_NO_TIME;
}

static int read_numbers(const json_t *obj, const char *what, double *out, int n,
                        const char *(*name)(int), char *err, size_t errlen)
{
    if (obj == NULL || json_is_null(obj))
        return 0;
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "%s: expected an object", what);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        json_t *v = json_object_get(obj, name(i));
        if (v == NULL || json_is_null(v))
            continue;
        if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0) {
            snprintf(err, errlen, "%s.%s: expected a non-negative number", what, name(i));
            return -1;
        }
        out[i] = json_number_value(v);
    }
    return 0;
}

static const char *bl_name(int i)
{
    return rules_baseline_name(i);
}

static const char *lim_name(int i)
{
    return rules_limit_name(i);
}

int engine_patient_from_json(const json_t *j, engine_patient *p, char *err, size_t errlen)
{
    if (!json_is_object(j)) {
        snprintf(err, errlen, "patient: expected an object");
        return -1;
    }
    json_t *id = json_object_get(j, "id");
    if (json_is_integer(id))
        p->id = json_integer_value(id);
    if (read_numbers(json_object_get(j, "baseline"), "baseline", p->baseline, RULES_BL_COUNT,
                     bl_name, err, errlen) != 0)
        return -1;
    if (read_numbers(json_object_get(j, "reference_ranges"), "reference_ranges", p->limit,
                     RULES_LIM_COUNT, lim_name, err, errlen) != 0)
        return -1;
    json_t *sc = json_object_get(j, "news2_scale");
    if (sc != NULL && !json_is_null(sc)) {
        if (!json_is_integer(sc) || (json_integer_value(sc) != 1 && json_integer_value(sc) != 2)) {
            snprintf(err, errlen, "news2_scale: expected 1 or 2");
            return -1;
        }
        p->news2_scale = (int)json_integer_value(sc);
    }
    return 0;
}
