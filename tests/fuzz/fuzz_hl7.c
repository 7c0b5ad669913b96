/* libFuzzer harness for the HL7 v2 message parser, the value accessor
 * (escapes, components, repetitions), DTM times and the ACK builder.
 * Seeds: tests/fuzz/corpus/hl7/ (the fixtures of tests/hl7/fixtures).
 *
 * Built and run by `make fuzz` and, briefly, by `make fuzz-smoke`. */
#include "hl7.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hl7_err e;
    hl7_msg *m = hl7_parse((const char *)data, size, &e);
    char buf[256];
    size_t len;

    if (!m)
        return 0;
    for (size_t s = 0; s < hl7_seg_count(m) && s < 16; s++) {
        int nf = hl7_field_count(m, s);
        (void)hl7_seg_seq(m, s);
        for (int f = 1; f <= nf && f <= 24; f++) {
            int reps = hl7_rep_count(m, s, f);
            for (int r = 0; r <= reps && r < 3; r++)
                for (int c = 0; c <= 3; c++) {
                    long n = hl7_get(m, s, f, r, c, c ? 2 : 0, buf, sizeof buf);
                    if (n >= (long)sizeof buf || (n >= 0 && strlen(buf) != (size_t)n))
                        abort();
                    if (n > 0) {
                        int64_t ms;
                        (void)hl7_dtm(buf, 4, &ms, NULL);
                    }
                }
        }
    }
    char *ack = hl7_ack_build(m, "AE", &e, 0, 0, "X", &len);
    if (ack) {
        hl7_msg *back = hl7_parse(ack, len, NULL);
        if (!back) /* wardd's own ACK must always parse */
            abort();
        hl7_free(back);
        free(ack);
    }
    hl7_free(m);
    return 0;
}
