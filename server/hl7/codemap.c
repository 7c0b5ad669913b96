/* codemap: the HL7 code map (schema/hl7/codemap.tsv, embedded at build
 * time), parsed once and checked against the observation catalogue. */
#include "hl7_int.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char codemap_text[] =
#include "hl7_codemap.h"
    ;

typedef struct cm_row {
    codemap_kind kind; /* CODEMAP_OBS, CODEMAP_IGNORE, or CODEMAP_NONE for a unit */
    char system[8];
    char code[32];
    char name[64];
    char target[32]; /* wardd code, or UCUM unit */
    const obs_code *obs;
} cm_row;

#define CM_MAX 256
static cm_row rows[CM_MAX];
static size_t nrows;
static int load_status = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Whether a numeric code accepts `unit` (its canonical unit or an alternative). */
static bool unit_fits(const obs_code *oc, const char *unit)
{
    if (oc->unit && strcmp(oc->unit, unit) == 0)
        return true;
    for (const obs_unit_alt *a = oc->alts; a && a->unit; a++)
        if (strcmp(a->unit, unit) == 0)
            return true;
    return false;
}

/* One line into rows; 0, or -1 (logged). */
static int parse_line(char *line, int lineno)
{
    char *f[5], *save = NULL;
    int n = 0;
    cm_row *r;

    for (char *t = strtok_r(line, "\t", &save); t && n < 5; t = strtok_r(NULL, "\t", &save))
        f[n++] = t;
    if (n != 5 || nrows == CM_MAX) {
        log_error("hl7 code map line %d: expected 5 TAB-separated columns", lineno);
        return -1;
    }
    r = &rows[nrows];
    r->kind = strcmp(f[0], "obs") == 0      ? CODEMAP_OBS
              : strcmp(f[0], "ignore") == 0 ? CODEMAP_IGNORE
                                            : CODEMAP_NONE;
    if (r->kind == CODEMAP_NONE && strcmp(f[0], "unit") != 0) {
        log_error("hl7 code map line %d: unknown row kind '%s'", lineno, f[0]);
        return -1;
    }
    snprintf(r->system, sizeof r->system, "%s", f[1]);
    snprintf(r->code, sizeof r->code, "%s", f[2]);
    snprintf(r->name, sizeof r->name, "%s", f[3]);
    snprintf(r->target, sizeof r->target, "%s", f[4]);
    if (r->kind == CODEMAP_OBS) {
        r->obs = obs_code_lookup(r->target);
        if (!r->obs || r->obs->kind != OBS_NUMERIC) {
            log_error("hl7 code map line %d: '%s' is not a numeric wardd code", lineno, f[4]);
            return -1;
        }
    }
    nrows++;
    return 0;
}

/* Every unit row must fit at least one mapped code (a typo would
 * otherwise refuse every reading in that unit). */
static int check_units(void)
{
    int bad = 0;

    for (size_t i = 0; i < nrows; i++) {
        bool fits = rows[i].kind != CODEMAP_NONE;
        for (size_t j = 0; !fits && j < nrows; j++)
            fits = rows[j].kind == CODEMAP_OBS && unit_fits(rows[j].obs, rows[i].target);
        if (!fits) {
            log_error("hl7 code map: unit %s (%s) fits no mapped code", rows[i].target,
                      rows[i].name);
            bad = -1;
        }
    }
    return bad;
}

static void load(void)
{
    char *text = strdup(codemap_text), *save = NULL;
    int lineno = 0, status = 0;

    if (!text)
        return;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (parse_line(line, lineno) != 0)
            status = -1;
    }
    free(text);
    load_status = status == 0 ? check_units() : -1;
}

int codemap_load(void)
{
    pthread_once(&once, load);
    return load_status;
}

/* The MDC and LOINC coding-system names senders use. */
static const char *system_of(const char *system)
{
    if (strcmp(system, "MDC") == 0 || strcmp(system, "ISO11073") == 0)
        return "MDC";
    if (strcmp(system, "LN") == 0 || strcmp(system, "LOINC") == 0)
        return "LN";
    if (strcmp(system, "UCUM") == 0)
        return "UCUM";
    return system;
}

static const cm_row *find(bool unit, const char *id, const char *text, const char *system)
{
    const char *sys = system_of(system);

    if (codemap_load() != 0)
        return NULL;
    for (size_t i = 0; i < nrows; i++) {
        const cm_row *r = &rows[i];
        if ((r->kind == CODEMAP_NONE) != unit || strcmp(r->system, sys) != 0)
            continue;
        if (strcmp(r->code, id) == 0 ||
            (strcmp(sys, "MDC") == 0 && text[0] && !id[0] && strcmp(r->name, text) == 0))
            return r;
    }
    return NULL;
}

codemap_kind codemap_obs(const char *id, const char *text, const char *system,
                         const obs_code **code)
{
    const cm_row *r = find(false, id, text, system);

    *code = r ? r->obs : NULL;
    return r ? r->kind : CODEMAP_NONE;
}

const char *codemap_unit(const char *id, const char *text, const char *system)
{
    const cm_row *r;

    /* UCUM in OBX-6 ("mm[Hg]^mm[Hg]^UCUM") is already the unit. */
    if (strcmp(system, "UCUM") == 0)
        return id[0] ? id : NULL;
    r = find(true, id, text, system);
    return r ? r->target : NULL;
}
