/* Shared by the unit tests: the repository root, the default rule file, and
 * the term identifiers of docs/clinical-policy.md "Term identifiers" (an
 * independent copy of the spec, on purpose: tests check the catalogue and
 * the rule file against it, which a list read from the rule file could
 * not do).
 * Include after <cmocka.h>; everything here is static inline so a test that
 * uses only part of it does not warn. */
#ifndef WARDD_TEST_SUPPORT_H
#define WARDD_TEST_SUPPORT_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

/* The repository root: $WARDD_ROOT, else the working directory. */
static inline const char *test_root(void)
{
    const char *r = getenv("WARDD_ROOT");

    return r != NULL && r[0] != '\0' ? r : ".";
}

/* schema/rules/il2-default.json parsed; fails the test when it does not load. */
static inline json_t *test_default_rules_doc(void)
{
    char p[600];
    json_error_t err;
    json_t *j;

    snprintf(p, sizeof p, "%s/schema/rules/il2-default.json", test_root());
    j = json_load_file(p, 0, &err);
    if (j == NULL)
        fail_msg("%s: %s", p, err.text);
    return j;
}

/* docs/clinical-policy.md "Term identifiers": every term the default set grades, and
 * the terms a clinician may grade as ctcae.<term>. */
static const char *const test_clinical_terms[] = {
    "fever",
    "hypotension",
    "hypertension",
    "sinus_tachycardia",
    "atrial_fibrillation",
    "supraventricular_tachycardia",
    "ventricular_tachycardia",
    "hypoxia",
    "creatinine_increased",
    "acute_kidney_injury",
    "blood_bilirubin_increased",
    "aspartate_aminotransferase_increased",
    "alanine_aminotransferase_increased",
    "platelet_count_decreased",
    "weight_gain",
    "edema_limbs",
    "capillary_leak_syndrome",
    "confusion",
    "somnolence",
    "depressed_level_of_consciousness",
    "hypokalemia",
    "hyperkalemia",
    "acidosis",
    "diarrhea",
    "nausea",
    "vomiting",
    "chills",
    "urine_output_decreased",
};
#define TEST_N_CLINICAL_TERMS (sizeof test_clinical_terms / sizeof test_clinical_terms[0])

#endif
