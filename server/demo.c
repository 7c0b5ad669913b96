/* demo: `wardd demo --db PATH [--out FILE]` seeds a demo ward into a
 * database that has no beds yet: eight beds with a monitor each, staff
 * logins of every role, six admitted IL-2 patients with baselines and the
 * last twelve hours of vital signs (each patient a different clinical
 * picture), so a newcomer can log in and query at once. Prints the logins;
 * writes the device tokens to --out (default ./var/demo-devices.json) for
 * the simulator. Deterministic: the same picture every time. */
#include "api.h"
#include "cli.h"
#include "principal.h"
#include "secret.h"
#include "store.h"
#include "timefmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define N_BEDS     8
#define HOUR_MS    (3600 * 1000LL)
#define HISTORY_MS (12 * HOUR_MS)
#define STEP_MS    (5 * 60 * 1000LL)

static const struct demo_user {
    const char *username;
    const char *role;
    const char *password;
} demo_users[] = {
    {"admin", "admin", "wardd-admin-demo"},
    {"physician", "physician", "wardd-physician-demo"},
    {"nurse", "nurse", "wardd-nurse-demo"},
    {"viewer", "viewer", "wardd-viewer-demo"},
};

/* One demo patient: who, and the clinical picture of the last hours. */
static const struct demo_patient {
    const char *bed;
    const char *json; /* POST /patients body without admitted_at */
    double hr, sbp, spo2, temp, rr;
    double hr_drift, sbp_drift, spo2_drift; /* change over the 12 hours */
    double fever_peak;                      /* extra Cel after each dose; 0 = none */
    const char *extra;                      /* a story told by extra observations */
} demo_patients[] = {
    {"B1",
     "{\"mrn\":\"MRN-100231\",\"name\":\"Ada Lindqvist\",\"birth_date\":\"1968-03-14\","
     "\"sex\":\"female\",\"diagnosis\":\"melanoma\",\"bed\":\"B1\",\"baseline\":{\"weight_kg\":"
     "68.0,\"creatinine_mg_dl\":0.8,\"bilirubin_mg_dl\":0.5,\"ast_u_l\":22,\"alt_u_l\":25,"
     "\"sbp_mm_hg\":122,\"stools_per_day\":1}}",
     84, 118, 97, 37.0, 16, 4, -6, 0, 0.6, "stable"},
    {"B2",
     "{\"mrn\":\"MRN-100498\",\"name\":\"Tomas Okafor\",\"birth_date\":\"1959-11-02\","
     "\"sex\":\"male\",\"diagnosis\":\"rcc\",\"bed\":\"B2\",\"baseline\":{\"weight_kg\":91.5,"
     "\"creatinine_mg_dl\":1.1,\"bilirubin_mg_dl\":0.7,\"ast_u_l\":30,\"alt_u_l\":34,"
     "\"sbp_mm_hg\":131,\"stools_per_day\":1}}",
     102, 104, 95, 37.6, 20, 14, -16, -1, 2.3, "fever"},
    {"B3",
     "{\"mrn\":\"MRN-100517\",\"name\":\"Mei Tanaka\",\"birth_date\":\"1975-06-21\","
     "\"sex\":\"female\",\"diagnosis\":\"melanoma\",\"bed\":\"B3\",\"baseline\":{\"weight_kg\":"
     "59.2,\"creatinine_mg_dl\":0.7,\"bilirubin_mg_dl\":0.4,\"ast_u_l\":19,\"alt_u_l\":21,"
     "\"sbp_mm_hg\":116,\"stools_per_day\":1}}",
     112, 96, 96, 37.9, 18, 12, -14, 0, 1.2, "hypotension"},
    {"B4",
     "{\"mrn\":\"MRN-100602\",\"name\":\"Rafael Duarte\",\"birth_date\":\"1963-09-09\","
     "\"sex\":\"male\",\"diagnosis\":\"rcc\",\"bed\":\"B4\",\"news2_scale\":1,\"baseline\":{"
     "\"weight_kg\":84.0,\"creatinine_mg_dl\":1.0,\"bilirubin_mg_dl\":0.6,\"ast_u_l\":28,"
     "\"alt_u_l\":31,\"sbp_mm_hg\":128,\"stools_per_day\":2}}",
     108, 110, 93, 37.4, 22, 8, -8, -4, 1.0, "hypoxia"},
    {"B5",
     "{\"mrn\":\"MRN-100655\",\"name\":\"Grace Mbeki\",\"birth_date\":\"1971-01-30\","
     "\"sex\":\"female\",\"diagnosis\":\"melanoma\",\"bed\":\"B5\",\"baseline\":{\"weight_kg\":"
     "72.4,\"creatinine_mg_dl\":0.9,\"bilirubin_mg_dl\":0.6,\"ast_u_l\":24,\"alt_u_l\":27,"
     "\"sbp_mm_hg\":125,\"stools_per_day\":1}}",
     98, 102, 96, 37.2, 18, 6, -10, 0, 0.8, "oliguria"},
    {"B6",
     "{\"mrn\":\"MRN-100702\",\"name\":\"Henrik Sand\",\"birth_date\":\"1956-05-17\","
     "\"sex\":\"male\",\"diagnosis\":\"rcc\",\"bed\":\"B6\",\"baseline\":{\"weight_kg\":88.1,"
     "\"creatinine_mg_dl\":1.2,\"bilirubin_mg_dl\":0.8,\"ast_u_l\":33,\"alt_u_l\":38,"
     "\"sbp_mm_hg\":138,\"stools_per_day\":1}}",
     96, 112, 96, 37.3, 19, 5, -6, 0, 0.9, "confusion"},
};

/* A small deterministic generator (xorshift) for measurement noise. */
static double noise(unsigned *state, double amplitude)
{
    unsigned x = *state;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return ((double)(x % 2001) / 1000.0 - 1.0) * amplitude;
}

static int add_reading(db_conn *c, const obs_source *src, int64_t patient, const char *code,
                       double value, const char *text, int64_t t, unsigned *seq)
{
    obs_reading o = {0};
    int64_t id = 0;

    o.code = obs_code_lookup(code);
    if (!o.code)
        return -1;
    o.value = value;
    o.text = text;
    o.time_ms = t;
    snprintf(o.id, sizeof o.id, "demo-%u", (*seq)++);
    return store_obs_insert(c, src, patient, &o, t, &id) < 0 ? -1 : 0;
}

/* Hours since the latest q8h dose (00/08/16 UTC) before t. */
static double hours_since_dose(int64_t t)
{
    int64_t day_ms = t % (24 * HOUR_MS);

    return (double)(day_ms % (8 * HOUR_MS)) / (double)HOUR_MS;
}

static int seed_vitals(db_conn *c, const struct demo_patient *p, const obs_source *src,
                       int64_t patient, int64_t now, unsigned *seq)
{
    unsigned rng = 2463534242u ^ (unsigned)(p - demo_patients);

    for (int64_t t = now - HISTORY_MS; t <= now; t += STEP_MS) {
        double f = (double)(t - (now - HISTORY_MS)) / (double)HISTORY_MS;
        double h = hours_since_dose(t);
        /* Fever peaks 2-4 h after each dose: the demo shape of the simulator\n         *
         * (tools/wardsim/model.h, with its sources). */
        double fever = p->fever_peak * exp(-pow((h - 3.0) / 1.2, 2));
        double hr = p->hr + p->hr_drift * f + 8 * fever / (p->fever_peak + 0.01) + noise(&rng, 3);
        double sbp = p->sbp + p->sbp_drift * f + noise(&rng, 4);
        double dbp = sbp * 0.58 + noise(&rng, 3);
        double spo2 = p->spo2 + p->spo2_drift * f + noise(&rng, 1);
        if (spo2 > 100)
            spo2 = 100;
        if (add_reading(c, src, patient, "hr", round(hr), NULL, t, seq) ||
            add_reading(c, src, patient, "sbp", round(sbp), NULL, t, seq) ||
            add_reading(c, src, patient, "dbp", round(dbp), NULL, t, seq) ||
            add_reading(c, src, patient, "map", round((sbp + 2 * dbp) / 3), NULL, t, seq) ||
            add_reading(c, src, patient, "spo2", round(spo2), NULL, t, seq) ||
            add_reading(c, src, patient, "rr", round(p->rr + 4 * f + noise(&rng, 1.5)), NULL, t,
                        seq) ||
            add_reading(c, src, patient, "temp",
                        round((p->temp + fever + noise(&rng, 0.1)) * 10) / 10, NULL, t, seq))
            return -1;
    }
    return 0;
}

/* Nurse-charted observations that tell each patient's story. */
static int seed_story(db_conn *c, const struct demo_patient *p, const obs_source *src,
                      int64_t patient, int64_t now, unsigned *seq)
{
    const obs_source *s = src;
    int rc = 0;

    for (int64_t t = now - HISTORY_MS; t <= now; t += 2 * HOUR_MS) {
        double urine = strcmp(p->extra, "oliguria") == 0 ? 30 - (double)(t - now) / -HOUR_MS : 140;
        rc |= add_reading(c, s, patient, "urine", urine, NULL, t, seq);
        rc |= add_reading(c, s, patient, "consciousness", 0,
                          strcmp(p->extra, "confusion") == 0 && t > now - 3 * HOUR_MS ? "C" : "A",
                          t, seq);
    }
    rc |= add_reading(c, s, patient, "o2_flow", strcmp(p->extra, "hypoxia") == 0 ? 4 : 0, NULL,
                      now - HOUR_MS, seq);
    rc |= add_reading(c, s, patient, "rhythm", 0, "sinus", now - 30 * 60 * 1000LL, seq);
    rc |= add_reading(c, s, patient, "creatinine", strcmp(p->extra, "oliguria") == 0 ? 2.6 : 1.1,
                      NULL, now - 6 * HOUR_MS, seq);
    if (strcmp(p->extra, "confusion") == 0)
        rc |= add_reading(c, s, patient, "ctcae.confusion", 2, NULL, now - 2 * HOUR_MS, seq);
    return rc ? -1 : 0;
}

struct demo_tokens {
    json_t *devices; /* [{"bed", "serial", "token"}] */
};

static int seed(db_conn *c, void *arg)
{
    struct demo_tokens *tok = arg;
    int64_t now = timefmt_now_ms(), id = 0;
    unsigned seq = 0;
    char bed[16], label[24], serial[32];

    for (int i = 1; i <= N_BEDS; i++) {
        snprintf(bed, sizeof bed, "B%d", i);
        snprintf(label, sizeof label, "Bed %d", i);
        if (store_bed_insert(c, bed, label, now) != 0)
            return -1;
    }
    for (size_t i = 0; i < sizeof demo_users / sizeof demo_users[0]; i++) {
        char hash[SECRET_PWHASH_LEN];
        role rl;
        if (role_parse(demo_users[i].role, &rl) != 0 ||
            secret_password_hash(demo_users[i].password, hash) != 0 ||
            store_user_insert(c, demo_users[i].username, rl, hash, now, &id) != 0)
            return -1;
    }
    for (int i = 1; i <= N_BEDS; i++) {
        char token[SECRET_TOKEN_LEN], hash[SECRET_HASH_HEX];
        snprintf(bed, sizeof bed, "B%d", i);
        snprintf(serial, sizeof serial, "MON-%04d", 1000 + i);
        if (secret_token_new(token, sizeof token) != 0)
            return -1;
        secret_token_hash(token, hash);
        if (store_device_insert(c, serial, "Demo bedside monitor", bed, hash, now, &id) != 0)
            return -1;
        json_array_append_new(tok->devices,
                              json_pack("{s:s, s:s, s:I, s:s}", "bed", bed, "serial", serial, "id",
                                        (json_int_t)id, "token", token));
    }
    for (size_t i = 0; i < sizeof demo_patients / sizeof demo_patients[0]; i++) {
        const struct demo_patient *p = &demo_patients[i];
        json_t *body = json_loads(p->json, 0, NULL);
        int64_t device_id = json_integer_value(
            json_object_get(json_array_get(tok->devices, (size_t)(p->bed[1] - '1')), "id"));
        obs_source src = {.device_id = device_id, .bed = p->bed};
        store_patient_fields f;
        int rc = -1;

        if (body) {
            api_patient_fields(body, &f);
            rc = store_patient_admit(c, &f, now - 2 * 24 * HOUR_MS, now, &id);
        }
        json_decref(body);
        if (rc != 0 || seed_vitals(c, p, &src, id, now, &seq) != 0 ||
            seed_story(c, p, &src, id, now, &seq) != 0)
            return -1;
    }
    return store_audit(c, NULL, "demo.seed", "ward", NULL, NULL, NULL, now);
}

static int write_tokens(const char *path, json_t *devices)
{
    FILE *f = fopen(path, "w");
    int rc;

    if (!f)
        return -1;
    chmod(path, 0600);
    rc = json_dumpf(devices, f, JSON_INDENT(2));
    fputc('\n', f);
    return (fclose(f) != 0 || rc != 0) ? -1 : 0;
}

int cli_demo(cli_args *a)
{
    struct demo_tokens tok = {.devices = json_array()};
    const char *out = cli_get(a, "out", "./var/demo-devices.json");
    db_conn *c = cli_open_db(a);
    json_t *beds = NULL;
    int rc = 1;

    if (!c)
        goto done;
    if (store_bed_list(c, &beds) != 0) {
        fprintf(stderr, "wardd: cannot read the database\n");
        goto done;
    }
    if (json_array_size(beds) > 0) {
        printf("demo: the database already has beds; not seeding again.\n");
        rc = 0;
        goto logins;
    }
    if (db_transaction(c, seed, &tok) != 0) {
        fprintf(stderr, "wardd: cannot seed the demo ward\n");
        goto done;
    }
    if (write_tokens(out, tok.devices) != 0)
        fprintf(stderr, "wardd: could not write device tokens to %s\n", out);
    printf("demo: seeded %d beds, %zu patients with 12 h of readings, device tokens in %s\n",
           N_BEDS, sizeof demo_patients / sizeof demo_patients[0], out);
    rc = 0;
logins:
    printf("demo logins (user / password):\n");
    for (size_t i = 0; i < sizeof demo_users / sizeof demo_users[0]; i++)
        printf("  %-10s %-22s (%s)\n", demo_users[i].username, demo_users[i].password,
               demo_users[i].role);
done:
    json_decref(beds);
    json_decref(tok.devices);
    db_close(c);
    return rc;
}
