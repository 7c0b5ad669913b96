/* libFuzzer harness for the MLLP framer: the input is split into pieces
 * at positions taken from its first bytes (as recv() would split it), and
 * every frame found must match a one-shot feed of the same bytes.
 * Seeds: tests/fuzz/corpus/mllp/ (the fixtures, framed).
 *
 * Built and run by `make fuzz` and, briefly, by `make fuzz-smoke`. */
#include "hl7.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frames of `data` fed in steps of `step`; returns a hash of their bytes
 * and how many there were. */
static uint64_t frames(const char *data, size_t size, size_t step, size_t max, int *count)
{
    mllp_framer f;
    uint64_t h = 1469598103934665603ULL;

    *count = 0;
    if (mllp_init(&f, max) != 0)
        return 0;
    for (size_t at = 0; at < size;) {
        size_t piece = size - at < step ? size - at : step, used = 0;
        mllp_event ev = mllp_feed(&f, data + at, piece, &used);
        if (used == 0 || used > piece)
            abort();
        at += used;
        if (ev == MLLP_FRAME || ev == MLLP_OVERSIZE) {
            size_t len;
            const char *fr = mllp_frame(&f, &len);
            if (len > max)
                abort();
            for (size_t i = 0; i < len; i++)
                h = (h ^ (uint8_t)fr[i]) * 1099511628211ULL;
            h = (h ^ (ev == MLLP_FRAME ? 0x100u : 0x200u)) * 1099511628211ULL;
            (*count)++;
            if (ev == MLLP_OVERSIZE)
                break;
        }
    }
    mllp_free(&f);
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t step, max;
    int n1, n2;

    if (size < 2)
        return 0;
    step = (size_t)data[0] % 17 + 1;
    max = (size_t)data[1] * 16 + 1;
    if (frames((const char *)data + 2, size - 2, size, max, &n1) !=
            frames((const char *)data + 2, size - 2, step, max, &n2) ||
        n1 != n2)
        abort();
    return 0;
}
