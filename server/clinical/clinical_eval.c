/* clinical_eval: a patient's engine input from the store, and the
 * evaluation at any time T that the toxicity view asks for. */
#include "clinical_int.h"

#include <inttypes.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Loading a patient's engine input                                        */

int clin_hist_visit(void *arg, int code_id, int64_t t_ms, double v, int64_t obs_id)
{
    struct hist_load *L = arg;

    if (engine_hist_add(L->h, code_id, t_ms, v) != 0)
        return -1;
    if (obs_id > L->max_id)
        L->max_id = obs_id;
    if (t_ms > L->newest)
        L->newest = t_ms;
    if (L->n == 0 || t_ms < L->oldest_new)
        L->oldest_new = t_ms;
    L->n++;
    return 0;
}

/* The record's engine form. 0 or -1 (logged). */
int clin_patient_input(const json_t *rec, int64_t id, engine_patient *pt)
{
    char err[160];

    engine_patient_init(pt, id);
    if (engine_patient_from_json(rec, pt, err, sizeof err) != 0) {
        log_error("patient %" PRId64 ": %s", id, err);
        return -1;
    }
    return 0;
}

const engine_reason *clinical_top_reason(const engine_result *r)
{
    for (size_t i = 0; i < r->n_reasons; i++)
        if (r->reasons[i].action == r->action)
            return &r->reasons[i];
    return r->n_reasons ? &r->reasons[0] : NULL;
}

void clinical_eval_free(clinical_eval *ev)
{
    engine_result_free(ev->r);
    engine_hist_free(ev->h);
    free(ev->doses);
    json_decref(ev->patient);
    rules_unref(ev->rs);
    memset(ev, 0, sizeof *ev);
}

int clinical_evaluate_at(db_conn *c, int64_t id, int64_t at, clinical_eval *ev)
{
    struct hist_load L = {0};
    size_t nd = 0;
    int rc;

    memset(ev, 0, sizeof *ev);
    ev->rs = clinical_rules();
    if (!ev->rs)
        return -1;
    if (store_snapshot_begin(c) != 0)
        return -1;
    rc = store_patient_get(c, id, &ev->patient);
    if (rc != 1)
        goto out;
    rc = -1;
    if (clin_patient_input(ev->patient, id, &ev->pt) != 0)
        goto out;
    if (store_dose_engine(c, id, &ev->doses, &nd) != 0)
        goto out;
    ev->pt.doses = ev->doses;
    ev->pt.n_doses = nd;
    ev->h = L.h = engine_hist_new();
    if (!ev->h || store_clinical_history(c, id, at, clin_hist_visit, &L) != 0)
        goto out;
    ev->r = engine_evaluate(ev->rs, &ev->pt, ev->h, at, NULL);
    rc = ev->r ? 1 : -1;
out:
    store_snapshot_end(c);
    return rc;
}
