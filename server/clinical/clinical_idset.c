/* clinical_idset: an open-addressing set of patient ids with flags, the
 * worker's queue (clinical.c). */
#include "clinical_int.h"

#include <stdlib.h>
#include <string.h>

static size_t idset_slot(const idset *s, int64_t id)
{
    uint64_t h = (uint64_t)id * UINT64_C(0x9E3779B97F4A7C15);

    return (size_t)(h >> 32) & (s->cap - 1);
}

static int idset_grow(idset *s)
{
    idset bigger = {.cap = s->cap ? s->cap * 2 : 64};

    bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
    bigger.flags = calloc(bigger.cap, sizeof *bigger.flags);
    if (!bigger.keys || !bigger.flags) {
        free(bigger.keys);
        free(bigger.flags);
        return -1;
    }
    for (size_t i = 0; i < s->cap; i++) {
        size_t j;
        if (!s->keys[i])
            continue;
        for (j = idset_slot(&bigger, s->keys[i]); bigger.keys[j]; j = (j + 1) & (bigger.cap - 1))
            ;
        bigger.keys[j] = s->keys[i];
        bigger.flags[j] = s->flags[i];
        bigger.n++;
    }
    free(s->keys);
    free(s->flags);
    *s = bigger;
    return 0;
}

/* Amortised O(1). */
int clin_idset_put(idset *s, int64_t id, uint8_t flag)
{
    size_t i;

    if ((s->n + 1) * 2 > s->cap && idset_grow(s) != 0)
        return -1;
    for (i = idset_slot(s, id); s->keys[i]; i = (i + 1) & (s->cap - 1))
        if (s->keys[i] == id) {
            s->flags[i] |= flag;
            return 0;
        }
    s->keys[i] = id;
    s->flags[i] = flag;
    s->n++;
    return 0;
}

void clin_idset_clear(idset *s)
{
    if (s->cap) {
        memset(s->keys, 0, s->cap * sizeof *s->keys);
        memset(s->flags, 0, s->cap * sizeof *s->flags);
    }
    s->n = 0;
}

void clin_idset_free(idset *s)
{
    free(s->keys);
    free(s->flags);
    memset(s, 0, sizeof *s);
}
