/* Unit tests for the HL7 code map (schema/hl7/codemap.tsv) and the PCD-01
 * OBX mapping (server/hl7/pcd01.c: pcd01_prepare, no database). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/hl7/hl7_int.h"
#include "timefmt.h"

static void test_codemap(void **state)
{
    const obs_code *oc = NULL;
    (void)state;
    assert_int_equal(codemap_load(), 0);
    assert_int_equal(codemap_obs("147842", "MDC_ECG_HEART_RATE", "MDC", &oc), CODEMAP_OBS);
    assert_string_equal(oc->code, "hr");
    /* by the reference id when the numeric code is absent */
    assert_int_equal(codemap_obs("", "MDC_PULS_OXIM_SAT_O2", "MDC", &oc), CODEMAP_OBS);
    assert_string_equal(oc->code, "spo2");
    assert_int_equal(codemap_obs("8480-6", "Systolic", "LN", &oc), CODEMAP_OBS);
    assert_string_equal(oc->code, "sbp");
    assert_int_equal(codemap_obs("150035", "", "MDC", &oc), CODEMAP_OBS);
    assert_string_equal(oc->code, "map");
    assert_int_equal(codemap_obs("148065", "MDC_ECG_V_P_C_CNT", "MDC", &oc), CODEMAP_IGNORE);
    assert_null(oc);
    assert_int_equal(codemap_obs("1500212", "MDC_PRESS_BLD_NONINV_SYS", "MDC", &oc), CODEMAP_NONE);
    assert_int_equal(codemap_obs("147842", "", "SNOMED-CT", &oc), CODEMAP_NONE);
    assert_string_equal(codemap_unit("266016", "MDC_DIM_MMHG", "MDC"), "mm[Hg]");
    assert_string_equal(codemap_unit("266560", "MDC_DIM_FAHR", "MDC"), "[degF]");
    assert_string_equal(codemap_unit("", "MDC_DIM_DEGC", "MDC"), "Cel");
    assert_string_equal(codemap_unit("/min", "/min", "UCUM"), "/min");
    assert_null(codemap_unit("999999", "MDC_DIM_BOGUS", "MDC"));
}

typedef struct prepared {
    hl7_msg *m;
    hl7_job j;
} prepared;

static void prepare(prepared *p, const char *text, int64_t now)
{
    hl7_err e;

    memset(p, 0, sizeof *p);
    p->m = hl7_parse(text, strlen(text), &e);
    if (!p->m)
        fail_msg("parse: %s", e.text);
    p->j.msg = p->m;
    p->j.now = now;
    snprintf(p->j.control_id, sizeof p->j.control_id, "C1");
    assert_int_equal(pcd01_prepare(&p->j), 0);
}

static void done(prepared *p)
{
    ingest_free(p->j.in);
    hl7_free(p->m);
}

static int64_t iso(const char *s)
{
    int64_t t;
    assert_int_equal(timefmt_parse(s, &t), 0);
    return t;
}

static const obs_reading *reading(const prepared *p, const char *code)
{
    for (size_t i = 0; i < ingest_valid_count(p->j.in); i++)
        if (strcmp(ingest_reading(p->j.in, i)->code->code, code) == 0)
            return ingest_reading(p->j.in, i);
    return NULL;
}

static bool err_at(const prepared *p, int seq, int field, int code)
{
    for (size_t i = 0; i < p->j.nerr; i++)
        if (p->j.errs[i].seq == seq && p->j.errs[i].field == field && p->j.errs[i].code == code)
            return true;
    return false;
}

static void test_mapping(void **state)
{
    prepared p;
    (void)state;
    prepare(
        &p,
        "MSH|^~\\&|GW^0019C0FFFE000101^EUI-64|NLH|||20260302100105-0500||ORU^R01^ORU_R01|C1|P|2.6\r"
        "PID|||400123^^^NLH^MR\rPV1||I|IL2U^101^1^NLH^^^^IL2U\r"
        "OBR|1|x|x|182777000^monitoring^SNOMED-CT|||20260302100000-0500\r"
        "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1|||||||R|||||||MON-101^^"
        "0019C0FFFE001011^EUI-64\r"
        "OBX|2|NM|147842^MDC_ECG_HEART_RATE^MDC|1.0.0.1|118|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R||"
        "|20260302100100-0500\r"
        "OBX|3|NM|150364^MDC_TEMP_BODY^MDC|1.0.0.4|102.2|266560^MDC_DIM_FAHR^MDC|||||F\r"
        "OBX|4|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC||70|266016^MDC_DIM_MMHG^MDC|||||D\r"
        "OBX|5|ST|150021^MDC_PRESS_BLD_NONINV_SYS^MDC||high|266016^MDC_DIM_MMHG^MDC|||||F\r"
        "OBX|6|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||9x|262688^MDC_DIM_PERCENT^MDC|||||F\r"
        "OBX|7|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||150|262688^MDC_DIM_PERCENT^MDC|||||F\r"
        "OBX|8|NM|8478-0^Mean BP^LN||85|mm[Hg]^mm[Hg]^UCUM|||||C\r"
        "OBX|9|NM|8478-0^Mean BP^LN||85|mm[Hg]^mm[Hg]^UCUM|||||C\r",
        iso("2026-03-02T16:00:00Z"));
    /* identity parts */
    assert_string_equal(p.j.mrn, "400123");
    assert_string_equal(p.j.location, "IL2U^101^1");
    /* the equipment: OBX-18 of the MDS row, before MSH-3 */
    assert_string_equal(p.j.dev_serial, "MON-101");
    assert_string_equal(p.j.dev_eui, "0019C0FFFE001011");
    /* hr at OBX-14, temp at OBR-7 converted from degF, map once (repeated) */
    assert_int_equal(ingest_valid_count(p.j.in), 3);
    assert_int_equal(reading(&p, "hr")->time_ms, iso("2026-03-02T15:01:00Z"));
    assert_string_equal(reading(&p, "hr")->id, "h7:C1:2");
    assert_true(reading(&p, "temp")->value == 39.0);
    assert_int_equal(reading(&p, "temp")->time_ms, iso("2026-03-02T15:00:00Z"));
    assert_true(reading(&p, "map")->value == 85);
    /* the rest, each with its reason */
    assert_true(err_at(&p, 4, 11, HL7_TABLE_VALUE)); /* status D */
    assert_true(err_at(&p, 5, 2, HL7_DATA_TYPE));    /* ST where NM is needed */
    assert_true(err_at(&p, 6, 5, HL7_DATA_TYPE));    /* not a number */
    assert_true(err_at(&p, 7, 5, HL7_DATA_TYPE));    /* implausible 150 % */
    assert_int_equal(p.j.nerr, 4);
    assert_false(p.j.reject);
    done(&p);
}

static void test_long_control_id(void **state)
{
    char msg[1024], ctl[120];
    prepared p;
    (void)state;
    memset(ctl, 'Z', sizeof ctl - 1);
    ctl[sizeof ctl - 1] = '\0';
    snprintf(msg, sizeof msg,
             "MSH|^~\\&|GW|NLH|||20260302100105-0500||ORU^R01|%s|P|2.6\r"
             "OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC||80||||||F|||20260302100100-0500\r",
             ctl);
    /* the reading id is hashed to fit OBS_ID_MAX */
    memset(&p, 0, sizeof p);
    p.m = hl7_parse(msg, strlen(msg), NULL);
    p.j.msg = p.m;
    p.j.now = iso("2026-03-02T16:00:00Z");
    snprintf(p.j.control_id, sizeof p.j.control_id, "%s", ctl);
    assert_int_equal(pcd01_prepare(&p.j), 0);
    assert_int_equal(ingest_valid_count(p.j.in), 1);
    assert_true(strlen(ingest_reading(p.j.in, 0)->id) <= OBS_ID_MAX);
    assert_memory_equal(ingest_reading(p.j.in, 0)->id, "h7:#", 4);
    assert_string_equal(p.j.dev_serial, "GW"); /* no OBX-18: MSH-3 */
    done(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codemap),
        cmocka_unit_test(test_mapping),
        cmocka_unit_test(test_long_control_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
