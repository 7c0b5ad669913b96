/* rules_int.h: private to server/clinical/rules*.c, the rule-set loader's
 * shared state and helpers (rules.c describes the loader). */
#ifndef WARDD_RULES_INT_H
#define WARDD_RULES_INT_H

#include "obs.h"
#include "rules.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct arena {
    void **ptrs;
    size_t n, cap;
} arena;

/* Loader state. `where` names the item ("rule L24-RS-1"), `path` is built
 * per call as the field path inside it ("resume.when.all[1].lt"). */
typedef struct ld {
    rules_set *rs;
    arena *ar;
    rules_errors *errs;
    const char *file;
    char where[128];
    int n_err;
    bool oom;
    bool in_resume; /* operands allowed only in resume conditions */
    size_t n_named; /* named conditions defined so far (refs may only point back) */
} ld;

typedef struct depset {
    bool *has;
    size_t n_codes;
} depset;

typedef struct opdef {
    const char *key;
    rules_opkind kind;
} opdef;

/* rules_fields.c */
int rl_name_index(const char *const *names, int n, const char *s);
void rl_arena_free(arena *a);
void rl_ld_err(ld *L, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void *rl_ld_alloc(ld *L, size_t size);
void rl_sub(char *out, size_t len, const char *path, const char *key);
void rl_subi(char *out, size_t len, const char *path, size_t i);
void rl_check_keys(ld *L, const json_t *obj, const char *path, const char *const *allowed);
const char *rl_get_str(ld *L, const json_t *obj, const char *path, const char *key, bool required);
bool rl_get_num(ld *L, const json_t *obj, const char *path, const char *key, bool required,
                double *out);
bool rl_get_int(ld *L, const json_t *obj, const char *path, const char *key, bool required, int lo,
                int hi, int *out);
int64_t rl_hours_ms(double h);
int rl_get_code(ld *L, const json_t *v, const char *path);
void rl_deps_cond(const rules_set *rs, const rules_cond *c, depset *d);
void rl_deps_finish(ld *L, depset *d, rules_deps *out);
/* The index of key s among the baselines, limits or patient attributes
 * (kind RULES_OP_BASELINE, _LIMIT or _PATIENT), or -1. */
int rl_key_index(int kind, const char *s);

/* rules_operands.c */
const opdef *rl_find_opkey(ld *L, const json_t *obj, const char *path, bool report_none);
rules_operand *rl_operand_from_obj(ld *L, const json_t *obj, const opdef *od, const char *path,
                                   const char *const *extra);
rules_operand *rl_parse_operand(ld *L, const json_t *j, const char *path);
bool rl_operand_is_categorical(const rules_operand *o);
extern const char *const rl_bound_keys[];
extern const rules_cmp rl_bound_ops[];

/* rules_cond.c */
rules_cond *rl_parse_cond(ld *L, const json_t *j, const char *path);
void rl_finish_cond_deps(ld *L, rules_cond *c, depset *d);
void rl_check_fresh_cond(ld *L, const rules_cond *c, const char *what);

/* rules_sections.c */
void rl_set_where(ld *L, const char *kind, const char *name);
void rl_parse_freshness(ld *L, const json_t *doc);
void rl_parse_interval_codes(ld *L, const json_t *doc);
void rl_parse_ranges(ld *L, const json_t *doc);
void rl_parse_required(ld *L, const json_t *doc);
void rl_parse_named(ld *L, const json_t *doc);
void rl_parse_rules(ld *L, const json_t *doc);
void rl_parse_terms(ld *L, const json_t *doc);
void rl_parse_news2(ld *L, const json_t *doc);
void rl_parse_kdigo(ld *L, const json_t *doc);
void rl_parse_consensus(ld *L, const json_t *doc);
void rl_parse_schedule(ld *L, const json_t *doc);

/* rules_alerts.c */
void rl_parse_alerts(ld *L, const json_t *doc);

#endif
