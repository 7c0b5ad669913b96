/* engine_int: what the engine_*.c files share. Not a public header. */
#ifndef WARDD_ENGINE_INT_H
#define WARDD_ENGINE_INT_H

#include "engine.h"

#include <stdbool.h>
#include <stdint.h>

/* Three-valued logic (Kleene): a condition whose data is missing is
 * unknown, never false. */
typedef enum etri { ETRI_FALSE = 0, ETRI_TRUE = 1, ETRI_UNKNOWN = 2 } etri;

/* An exact rational n/d, d > 0. Readings enter as round(v * 1e6) / 1e6. */
typedef struct eq {
    __int128 n;
    __int128 d;
} eq;

eq eq_from_double(double v);
eq eq_from_int(int64_t v);
double eq_to_double(eq a);
/* Arithmetic; `ok` is cleared on overflow or division by zero. */
eq eq_add(eq a, eq b, bool *ok);
eq eq_sub(eq a, eq b, bool *ok);
eq eq_mul(eq a, eq b, bool *ok);
eq eq_div(eq a, eq b, bool *ok);
/* -1, 0, 1 */
int eq_cmp(eq a, eq b);

typedef struct engine_series {
    engine_point *p;
    size_t n, cap;
} engine_series;

struct engine_hist {
    size_t n_codes;
    engine_series *s; /* per obs code id */
};

/* The evaluation context: what is visible and where to collect evidence
 * and missing data. */
typedef struct ectx {
    const rules_set *rs;
    const engine_patient *pt;
    const engine_hist *h;
    int64_t at;           /* evaluation time */
    bool excl;            /* readings at exactly `at` are not visible (the instant before) */
    int64_t hold_since;   /* onset of the hold whose resume is evaluated, ENGINE_NO_TIME */
    engine_evlist *ev;    /* NULL: do not collect */
    engine_missing *miss; /* NULL: do not collect */
} ectx;

/* Evaluates a condition. */
etri engine_cond(const ectx *c, const rules_cond *cond);

/* Readings of a code visible to the context: [0, *n). */
const engine_point *engine_visible(const ectx *c, int code, size_t *n);

/* Latest clinician grade of a code (holds until changed), -1 when none. */
int engine_latest_grade(const ectx *c, int code, engine_evlist *ev);

void engine_ev_add(engine_evlist *ev, int code, const char *what, double value, int64_t t,
                   const char *agg, double window_h);
void engine_miss_add(engine_missing *m, const char *item);

/* Scale evaluation (terms, KDIGO): level or -1 (unknown). */
int engine_scale(const ectx *c, const rules_scale *sc, const char **text);

#endif
