/* ack: the HL7 ACK wardd answers every message with (include/hl7.h,
 * docs/hl7.md "Acknowledgements"). Pure. */
#include "hl7.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The versions wardd reads (docs/hl7.md); an ACK echoes one of them. */
static const char *const versions[] = {"2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.8"};

static const char *ack_version(const hl7_msg *in, char *buf, size_t len)
{
    if (in && hl7_get_first(in, "MSH", 12, 1, buf, len) > 0)
        for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++)
            if (strcmp(buf, versions[i]) == 0)
                return versions[i];
    return "2.6";
}

/* Up to three components of an inbound MSH field, re-escaped for the ACK's
 * own delimiters ("" when absent). */
static void hd_field(const hl7_msg *in, int field, char *out, size_t cap)
{
    size_t o = 0;

    out[0] = '\0';
    if (!in)
        return;
    for (int comp = 1; comp <= 3; comp++) {
        char v[256], esc[512];
        if (hl7_get(in, 0, field, 0, comp, 0, v, sizeof v) < 0)
            v[0] = '\0';
        hl7_escape(v, esc, sizeof esc);
        o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s%s", comp > 1 ? "^" : "", esc);
        if (o >= cap) {
            out[cap - 1] = '\0';
            return;
        }
    }
    /* drop empty trailing components */
    while (o > 0 && out[o - 1] == '^')
        out[--o] = '\0';
}

static int append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -1;
        if ((size_t)n < *cap - *len) {
            *len += (size_t)n;
            return 0;
        }
        char *grown = realloc(*buf, *cap * 2 + (size_t)n);
        if (!grown)
            return -1;
        *buf = grown;
        *cap = *cap * 2 + (size_t)n;
    }
}

static int append_err(char **buf, size_t *len, size_t *cap, const hl7_err *e)
{
    char text[sizeof e->text * 3], seg[16];

    hl7_escape(e->text, text, sizeof text);
    hl7_escape(e->seg, seg, sizeof seg);
    if (e->seg[0] && e->field > 0)
        return append(buf, len, cap, "ERR||%s^%d^%d|%d^%s^HL70357|E||||%s\r", seg,
                      e->seq > 0 ? e->seq : 1, e->field, e->code, hl7_cond_text(e->code), text);
    if (e->seg[0])
        return append(buf, len, cap, "ERR||%s^%d|%d^%s^HL70357|E||||%s\r", seg,
                      e->seq > 0 ? e->seq : 1, e->code, hl7_cond_text(e->code), text);
    return append(buf, len, cap, "ERR|||%d^%s^HL70357|E||||%s\r", e->code, hl7_cond_text(e->code),
                  text);
}

char *hl7_ack_build(const hl7_msg *in, const char *code, const hl7_err *errs, size_t n,
                    int64_t now_ms, const char *ack_id, size_t *len)
{
    char app[800], fac[800], trigger[64] = "", trig_esc[200], ver[32], when[32], ctl[256] = "",
                             ctl_esc[800], id_esc[400];
    size_t cap = 512, l = 0;
    char *buf = malloc(cap);
    int rc;

    if (!buf)
        return NULL;
    hd_field(in, 3, app, sizeof app);
    hd_field(in, 4, fac, sizeof fac);
    if (in && hl7_get_first(in, "MSH", 9, 2, trigger, sizeof trigger) < 0)
        trigger[0] = '\0';
    if (in && hl7_get_first(in, "MSH", 10, 0, ctl, sizeof ctl) < 0)
        ctl[0] = '\0';
    hl7_escape(trigger, trig_esc, sizeof trig_esc);
    hl7_escape(ctl, ctl_esc, sizeof ctl_esc);
    hl7_escape(ack_id ? ack_id : "", id_esc, sizeof id_esc);
    hl7_dtm_format(now_ms, when, sizeof when);
    rc = append(&buf, &l, &cap,
                "MSH|^~\\&|WARDD|WARDD|%s|%s|%s||ACK^%s^ACK|%s|P|%s|||NE|NE||UNICODE UTF-8\r", app,
                fac, when, trig_esc, id_esc, ack_version(in, ver, sizeof ver));
    if (rc == 0)
        rc = append(&buf, &l, &cap, "MSA|%s|%s\r", code, ctl_esc);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = append_err(&buf, &l, &cap, &errs[i]);
    if (rc != 0) {
        free(buf);
        return NULL;
    }
    *len = l;
    return buf;
}
