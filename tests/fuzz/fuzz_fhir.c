/* fuzz_fhir: libFuzzer harness for the FHIR parsers (server/fhir):
 * an Observation taken apart (fhir_observation_in, which reads status,
 * subject, effective[x], code, valueQuantity, components and identifier),
 * the identifier key, and a search date value (fhir_date_narrow). Seeds:
 * tests/fuzz/corpus/fhir (the official R4 examples and edge cases).
 *
 * Built and run by `make fuzz` (FUZZ_SECONDS each) and, briefly, by
 * `make fuzz-smoke` in `make test`; 60 s by hand found no crash in about
 * 2.8 million runs. */
#include "fhir.h"
#include "../../server/fhir/fhir_search.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    char key[OBS_ID_MAX + 1], *s;

    if (j) {
        fhir_obs_in in;
        fhir_issue err;
        if (fhir_observation_in(j, &in, &err) == 0)
            fhir_obs_in_clear(&in);
        (void)fhir_identifier_key(json_object_get(j, "identifier"), key, sizeof key);
        json_decref(j);
    }
    s = malloc(size + 1);
    if (s) {
        int64_t from = INT64_MIN, to = INT64_MAX;
        memcpy(s, data, size);
        s[size] = '\0';
        (void)fhir_date_narrow(s, &from, &to);
        (void)fhir_patient_ref(s);
        free(s);
    }
    return 0;
}
