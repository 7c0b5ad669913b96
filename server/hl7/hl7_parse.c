/* hl7_parse: one HL7 v2 message into segments, and values out of it with
 * the escape sequences decoded (include/hl7.h). Pure.
 *
 * The message is first brought to UTF-8 as a whole (MSH-18 is read from
 * the raw MSH, whose fields before MSH-18 are ASCII in every character set
 * wardd accepts), so that every value handed out is UTF-8. Delimiters are
 * ASCII, so the conversion never creates or hides one. */
#include "hl7.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hl7_seg {
    const char *p; /* the segment's text, from its id on */
    size_t len;
} hl7_seg;

struct hl7_msg {
    char *buf; /* the message in UTF-8, owned */
    size_t len;
    hl7_seg *segs;
    size_t nseg;
    char fs, cs, rs, es, ss; /* field, component, repetition, escape, subcomponent */
    bool latin1;             /* \Xhh\ bytes are ISO 8859-1 */
};

static const struct {
    int code;
    const char *text;
} cond_texts[] = {
    {0, "Message accepted"},
    {100, "Segment sequence error"},
    {101, "Required field missing"},
    {102, "Data type error"},
    {103, "Table value not found"},
    {200, "Unsupported message type"},
    {201, "Unsupported event code"},
    {202, "Unsupported processing id"},
    {203, "Unsupported version id"},
    {204, "Unknown key identifier"},
    {205, "Duplicate key identifier"},
    {206, "Application record locked"},
    {207, "Application internal error"},
};

const char *hl7_cond_text(int code)
{
    for (size_t i = 0; i < sizeof cond_texts / sizeof cond_texts[0]; i++)
        if (cond_texts[i].code == code)
            return cond_texts[i].text;
    return "Application internal error";
}

hl7_err *hl7_err_set(hl7_err *e, const char *seg, int seq, int field, int code, const char *fmt,
                     ...)
{
    va_list ap;

    if (!e)
        return NULL;
    snprintf(e->seg, sizeof e->seg, "%s", seg ? seg : "");
    e->seq = seq;
    e->field = field;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
    return e;
}

/* --- character sets ----------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (no overlongs, no surrogates,
 * at most U+10FFFF), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t need;
    unsigned cp;

    if (c == 0) /* a NUL would cut every value short: never valid in a message */
        return 0;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4, cp = c & 0x07;
    else
        return 0;
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((need == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return need;
}

static bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;

    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(u + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

/* Appends byte b of ISO 8859-1 as UTF-8; returns the bytes written. */
static size_t latin1_put(unsigned char b, char *out)
{
    if (b < 0x80) {
        out[0] = (char)b;
        return 1;
    }
    out[0] = (char)(0xC0 | (b >> 6));
    out[1] = (char)(0x80 | (b & 0x3F));
    return 2;
}

enum charset { CS_UTF8, CS_LATIN1, CS_UNSUPPORTED };

/* MSH-18 (first repetition, raw): HL7 table 0211 names. Empty is ASCII,
 * which UTF-8 contains. */
static enum charset charset_of(const char *v, size_t n)
{
    static const char *const utf8[] = {"", "ASCII", "UNICODE UTF-8", "UTF-8", "UNICODE"};
    static const char *const latin1[] = {"8859/1", "ISO-8859-1", "ISO IR100", "ISO_IR 100"};

    for (size_t i = 0; i < sizeof utf8 / sizeof utf8[0]; i++)
        if (strlen(utf8[i]) == n && strncmp(v, utf8[i], n) == 0)
            return CS_UTF8;
    for (size_t i = 0; i < sizeof latin1 / sizeof latin1[0]; i++)
        if (strlen(latin1[i]) == n && strncmp(v, latin1[i], n) == 0)
            return CS_LATIN1;
    return CS_UNSUPPORTED;
}

/* --- MSH header --------------------------------------------------------------- */

static bool delim_ok(char c)
{
    return c > 0x20 && c < 0x7F && !isalnum((unsigned char)c);
}

/* Reads MSH-1 and MSH-2; 0 or -1. */
static int read_delims(hl7_msg *m, const char *d, size_t len)
{
    if (len < 8 || memcmp(d, "MSH", 3) != 0)
        return -1;
    m->fs = d[3];
    m->cs = d[4];
    m->rs = d[5];
    m->es = d[6];
    m->ss = d[7];
    if (!delim_ok(m->fs) || !delim_ok(m->cs) || !delim_ok(m->rs) || !delim_ok(m->es) ||
        !delim_ok(m->ss))
        return -1;
    const char set[5] = {m->fs, m->cs, m->rs, m->es, m->ss};
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++)
            if (set[i] == set[j])
                return -1;
    /* MSH-2 ends at the next field separator (v2.7 adds a truncation
     * character: a fifth one is tolerated). */
    return len == 8 || d[8] == m->fs || (len > 9 && d[9] == m->fs && delim_ok(d[8])) ||
                   d[8] == '\r' || d[8] == '\n'
               ? 0
               : -1;
}

/* The raw MSH-18 (first repetition) from the raw bytes. */
static void raw_msh18(const hl7_msg *m, const char *d, size_t len, const char **v, size_t *n)
{
    size_t i = 3;
    int field = 1; /* d[3] is MSH-1 */

    *v = "";
    *n = 0;
    while (i < len && d[i] != '\r' && d[i] != '\n') {
        if (d[i] == m->fs) {
            field++;
            if (field == 18) {
                size_t j = i + 1;
                while (j < len && d[j] != m->fs && d[j] != m->rs && d[j] != '\r' && d[j] != '\n')
                    j++;
                *v = d + i + 1;
                *n = j - i - 1;
                return;
            }
        }
        i++;
    }
}

/* Copies the message into m->buf in UTF-8. 0, or an hl7_cond code. */
static int to_utf8(hl7_msg *m, const char *d, size_t len, enum charset cs)
{
    m->buf = malloc(len * 2 + 1);
    if (!m->buf)
        return HL7_INTERNAL;
    if (cs == CS_LATIN1) {
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
            if (d[i] == '\0')
                return HL7_DATA_TYPE;
            o += latin1_put((unsigned char)d[i], m->buf + o);
        }
        m->len = o;
    } else {
        if (!utf8_valid(d, len))
            return HL7_DATA_TYPE;
        memcpy(m->buf, d, len);
        m->len = len;
    }
    m->buf[m->len] = '\0';
    return 0;
}

/* Splits m->buf into segments; 0 or an hl7_cond code. */
static int split_segments(hl7_msg *m, hl7_err *err)
{
    size_t cap = 16, i = 0;

    m->segs = malloc(cap * sizeof *m->segs);
    if (!m->segs)
        return HL7_INTERNAL;
    while (i < m->len) {
        size_t j = i;
        while (j < m->len && m->buf[j] != '\r' && m->buf[j] != '\n')
            j++;
        if (j > i) {
            const char *s = m->buf + i;
            size_t n = j - i;
            bool id_ok = n >= 3 && (n == 3 || s[3] == m->fs);
            for (int k = 0; id_ok && k < 3; k++)
                id_ok = isupper((unsigned char)s[k]) || isdigit((unsigned char)s[k]);
            if (!id_ok) {
                hl7_err_set(err, "", (int)m->nseg + 1, 0, HL7_SEGMENT_SEQUENCE,
                            "segment %zu does not start with a segment id", m->nseg + 1);
                return HL7_SEGMENT_SEQUENCE;
            }
            if (m->nseg == HL7_MAX_SEGMENTS) {
                hl7_err_set(err, "", 0, 0, HL7_INTERNAL, "more than %d segments", HL7_MAX_SEGMENTS);
                return HL7_INTERNAL;
            }
            if (m->nseg == cap) {
                hl7_seg *grown = realloc(m->segs, 2 * cap * sizeof *m->segs);
                if (!grown)
                    return HL7_INTERNAL;
                m->segs = grown;
                cap *= 2;
            }
            m->segs[m->nseg].p = s;
            m->segs[m->nseg].len = n;
            m->nseg++;
        }
        i = j + 1;
    }
    return 0;
}

hl7_msg *hl7_parse(const char *data, size_t len, hl7_err *err)
{
    hl7_msg *m = calloc(1, sizeof *m);
    const char *v;
    size_t n;
    enum charset cs;
    int rc;

    if (!m) {
        hl7_err_set(err, "", 0, 0, HL7_INTERNAL, "out of memory");
        return NULL;
    }
    if (read_delims(m, data, len) != 0) {
        hl7_err_set(err, "MSH", 1, 1, HL7_SEGMENT_SEQUENCE,
                    "the message does not begin with MSH and valid delimiters");
        goto fail;
    }
    raw_msh18(m, data, len, &v, &n);
    cs = charset_of(v, n);
    if (cs == CS_UNSUPPORTED) {
        hl7_err_set(err, "MSH", 1, 18, HL7_TABLE_VALUE,
                    "character set '%.*s' is not supported (UTF-8 or 8859/1)",
                    (int)(n > 40 ? 40 : n), v);
        goto fail;
    }
    m->latin1 = cs == CS_LATIN1;
    rc = to_utf8(m, data, len, cs);
    if (rc != 0) {
        hl7_err_set(err, "MSH", 1, 18, rc,
                    rc == HL7_DATA_TYPE ? "the message is not valid UTF-8" : "out of memory");
        goto fail;
    }
    rc = split_segments(m, err);
    if (rc != 0) {
        if (rc == HL7_INTERNAL && err && !err->text[0])
            hl7_err_set(err, "", 0, 0, HL7_INTERNAL, "out of memory");
        goto fail;
    }
    return m;
fail:
    hl7_free(m);
    return NULL;
}

void hl7_free(hl7_msg *m)
{
    if (!m)
        return;
    free(m->buf);
    free(m->segs);
    free(m);
}

size_t hl7_seg_count(const hl7_msg *m)
{
    return m->nseg;
}

const char *hl7_seg_id(const hl7_msg *m, size_t i)
{
    static _Thread_local char id[4];

    if (i >= m->nseg)
        return "";
    memcpy(id, m->segs[i].p, 3);
    id[3] = '\0';
    return id;
}

long hl7_seg_find(const hl7_msg *m, const char *id, size_t from)
{
    for (size_t i = from; i < m->nseg; i++)
        if (strncmp(m->segs[i].p, id, 3) == 0)
            return (long)i;
    return -1;
}

int hl7_seg_seq(const hl7_msg *m, size_t i)
{
    int n = 1;

    for (size_t j = 0; j < i && i < m->nseg; j++)
        if (strncmp(m->segs[j].p, m->segs[i].p, 3) == 0)
            n++;
    return n;
}

/* --- values ----------------------------------------------------------------- */

/* The raw text of a field: MSH-1 and MSH-2 are handled by the caller. */
static bool field_raw(const hl7_msg *m, size_t seg, int field, const char **p, size_t *n)
{
    const hl7_seg *s;
    bool msh;
    int want, at = 0;
    size_t i = 3;

    if (seg >= m->nseg || field < 1)
        return false;
    s = &m->segs[seg];
    msh = strncmp(s->p, "MSH", 3) == 0;
    /* In MSH the separator after the id is MSH-1 itself, so MSH-n starts
     * after the (n-1)th separator; elsewhere SEG-n after the nth. */
    want = msh ? field - 1 : field;
    while (i < s->len) {
        if (s->p[i] == m->fs) {
            at++;
            if (at == want) {
                size_t j = i + 1;
                while (j < s->len && s->p[j] != m->fs)
                    j++;
                *p = s->p + i + 1;
                *n = j - i - 1;
                return true;
            }
        }
        i++;
    }
    return false;
}

int hl7_field_count(const hl7_msg *m, size_t seg)
{
    int n = 0;

    if (seg >= m->nseg)
        return 0;
    for (size_t i = 3; i < m->segs[seg].len; i++)
        if (m->segs[seg].p[i] == m->fs)
            n++;
    return strncmp(m->segs[seg].p, "MSH", 3) == 0 ? n + 1 : n;
}

/* The idx-th (0-based) piece of [p, p+n) split on sep. */
static bool piece(const char *p, size_t n, char sep, int idx, const char **out, size_t *on)
{
    size_t start = 0;
    int at = 0;

    for (size_t i = 0; i <= n; i++) {
        if (i == n || p[i] == sep) {
            if (at == idx) {
                *out = p + start;
                *on = i - start;
                return true;
            }
            at++;
            start = i + 1;
        }
    }
    return false;
}

int hl7_rep_count(const hl7_msg *m, size_t seg, int field)
{
    const char *p;
    size_t n;
    int reps = 1;

    if (!field_raw(m, seg, field, &p, &n) || n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] == m->rs)
            reps++;
    return reps;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes \Xhh..\ (the hex between X and the closing escape) into out;
 * -1 when malformed or out of room. */
static long hex_escape(const hl7_msg *m, const char *h, size_t n, char *out, size_t room)
{
    size_t o = 0;

    if (n == 0 || n % 2 != 0)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(h[i]), lo = hexval(h[i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0) || room - o < 3)
            return -1;
        unsigned char b = (unsigned char)(hi * 16 + lo);
        if (m->latin1)
            o += latin1_put(b, out + o);
        else
            out[o++] = (char)b;
    }
    return (long)o;
}

/* One escape sequence body (between the escape characters) into out;
 * bytes written, or -1. */
static long one_escape(const hl7_msg *m, const char *e, size_t n, char *out, size_t room)
{
    char c = 0;

    if (n == 1) {
        switch (e[0]) {
        case 'F':
            c = m->fs;
            break;
        case 'S':
            c = m->cs;
            break;
        case 'T':
            c = m->ss;
            break;
        case 'R':
            c = m->rs;
            break;
        case 'E':
            c = m->es;
            break;
        case 'H': /* highlighting on/off: no text */
        case 'N':
            return 0;
        default:
            return -1;
        }
        if (room < 2)
            return -1;
        out[0] = c;
        return 1;
    }
    if (n >= 1 && e[0] == 'X')
        return hex_escape(m, e + 1, n - 1, out, room);
    return -1;
}

/* Unescapes [p, p+n) into buf (NUL-terminated); length or -1. */
static long unescape(const hl7_msg *m, const char *p, size_t n, char *buf, size_t len)
{
    size_t o = 0;

    if (len == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == m->es) {
            size_t j = i + 1;
            long k;
            while (j < n && p[j] != m->es)
                j++;
            if (j == n)
                return -1;
            k = one_escape(m, p + i + 1, j - i - 1, buf + o, len - o);
            if (k < 0)
                return -1;
            o += (size_t)k;
            i = j;
            continue;
        }
        if (len - o < 2)
            return -1;
        buf[o++] = p[i];
    }
    buf[o] = '\0';
    /* \Xhh\ may have produced bytes that are not UTF-8. */
    return utf8_valid(buf, o) ? (long)o : -1;
}

long hl7_get(const hl7_msg *m, size_t seg, int field, int rep, int comp, int sub, char *buf,
             size_t len)
{
    const char *p;
    size_t n;
    bool msh = seg < m->nseg && strncmp(m->segs[seg].p, "MSH", 3) == 0;

    if (len == 0)
        return -1;
    buf[0] = '\0';
    if (msh && (field == 1 || field == 2)) {
        const char d[6] = {m->fs, m->cs, m->rs, m->es, m->ss, '\0'};
        const char fs[2] = {m->fs, '\0'};
        snprintf(buf, len, "%s", field == 1 ? fs : d + 1);
        return (long)strlen(buf);
    }
    if (!field_raw(m, seg, field, &p, &n) || !piece(p, n, m->rs, rep, &p, &n))
        return 0;
    if (comp > 0 && !piece(p, n, m->cs, comp - 1, &p, &n))
        return 0;
    if (comp > 0 && sub > 0 && !piece(p, n, m->ss, sub - 1, &p, &n))
        return 0;
    return unescape(m, p, n, buf, len);
}

long hl7_get_first(const hl7_msg *m, const char *id, int field, int comp, char *buf, size_t len)
{
    long seg = hl7_seg_find(m, id, 0);

    if (len)
        buf[0] = '\0';
    return seg < 0 ? 0 : hl7_get(m, (size_t)seg, field, 0, comp, 0, buf, len);
}

size_t hl7_escape(const char *s, char *out, size_t cap)
{
    static const struct {
        char c;
        const char *esc;
    } map[] = {{'|', "\\F\\"}, {'^', "\\S\\"}, {'&', "\\T\\"}, {'~', "\\R\\"}, {'\\', "\\E\\"}};
    size_t o = 0;

    if (cap == 0)
        return 0;
    for (; *s; s++) {
        const char *rep = NULL;
        if (*s == '\r' || *s == '\n')
            continue;
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (map[i].c == *s)
                rep = map[i].esc;
        size_t need = rep ? 3 : 1;
        if (o + need >= cap)
            break;
        if (rep)
            memcpy(out + o, rep, 3);
        else
            out[o] = *s;
        o += need;
    }
    out[o] = '\0';
    return o;
}
