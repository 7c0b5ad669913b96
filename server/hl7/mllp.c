/* mllp: the MLLP framer (include/hl7.h): 0x0B <message> 0x1C 0x0D over a
 * byte stream, as HL7's Minimal Lower Layer Protocol (HL7 v2 Implementation
 * Guide, Appendix C) defines it. Pure: the listener feeds it what recv()
 * returned, in whatever pieces the network made. */
#include "hl7.h"

#include <stdlib.h>
#include <string.h>

enum { HUNT, BODY, END_SEEN, DEAD };

int mllp_init(mllp_framer *f, size_t max)
{
    memset(f, 0, sizeof *f);
    f->max = max ? max : MLLP_FRAME_DEFAULT;
    f->cap = 4096;
    f->buf = malloc(f->cap);
    f->state = HUNT;
    return f->buf ? 0 : -1;
}

void mllp_free(mllp_framer *f)
{
    free(f->buf);
    f->buf = NULL;
}

static int put(mllp_framer *f, char c)
{
    if (f->len == f->cap) {
        size_t cap = f->cap * 2 > f->max + 1 ? f->max + 1 : f->cap * 2;
        char *grown = realloc(f->buf, cap);
        if (!grown)
            return -1;
        f->buf = grown;
        f->cap = cap;
    }
    f->buf[f->len++] = c;
    return 0;
}

mllp_event mllp_feed(mllp_framer *f, const char *data, size_t len, size_t *used)
{
    size_t i = 0;

    if (f->state == DEAD) {
        *used = len;
        return MLLP_NEED_MORE;
    }
    for (; i < len; i++) {
        char c = data[i];
        switch (f->state) {
        case END_SEEN:
            /* A frame is delivered once its 0x1C arrived (a missing 0x0D is
             * tolerated); here a new one begins. */
            f->len = 0;
            f->state = HUNT;
            if (c == MLLP_CR)
                continue;
            /* fall through */
        case HUNT:
            if (c == MLLP_SB) {
                f->len = 0;
                f->state = BODY;
            } else {
                f->discarded++;
            }
            continue;
        case BODY:
            if (c == MLLP_EB) {
                f->state = END_SEEN;
                *used = i + 1;
                return MLLP_FRAME;
            }
            if (c == MLLP_SB) { /* a new start: the unfinished frame is lost */
                f->discarded += f->len;
                f->len = 0;
                continue;
            }
            if (f->len >= f->max) {
                f->state = DEAD;
                *used = len;
                return MLLP_OVERSIZE;
            }
            if (put(f, c) != 0) {
                f->state = DEAD;
                *used = len;
                return MLLP_OVERSIZE;
            }
            continue;
        default:
            break;
        }
    }
    *used = len;
    return MLLP_NEED_MORE;
}

const char *mllp_frame(const mllp_framer *f, size_t *len)
{
    *len = f->len;
    return f->buf;
}

bool mllp_in_frame(const mllp_framer *f)
{
    return f->state == BODY;
}
