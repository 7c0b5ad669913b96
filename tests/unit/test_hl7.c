/* Unit tests for the HL7 v2 parser, escapes, character sets, DTM times,
 * the ACK builder and the MLLP framer (include/hl7.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7.h"
#include "timefmt.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static hl7_msg *parse_ok(const char *text)
{
    hl7_err e = {0};
    hl7_msg *m = hl7_parse(text, strlen(text), &e);

    if (!m)
        fail_msg("rejected: %s (%d)", e.text, e.code);
    return m;
}

static const char *get(const hl7_msg *m, size_t seg, int field, int rep, int comp, int sub)
{
    static char buf[512];

    if (hl7_get(m, seg, field, rep, comp, sub, buf, sizeof buf) < 0)
        return "<error>";
    return buf;
}

static void test_fields_components_repetitions(void **state)
{
    (void)state;
    hl7_msg *m = parse_ok("MSH|^~\\&|GW^0019C0FFFE000101^EUI-64|NLH|||20260302100105-0500||"
                          "ORU^R01^ORU_R01|C1|P|2.6\rPID|||400123^^^NLH^MR~X9^^^O^PI||Okafor^Tomas"
                          "\rOBX|1|NM|a&b&c^x|");
    assert_int_equal(hl7_seg_count(m), 3);
    assert_string_equal(hl7_seg_id(m, 1), "PID");
    assert_string_equal(get(m, 0, 1, 0, 0, 0), "|");
    assert_string_equal(get(m, 0, 2, 0, 0, 0), "^~\\&");
    assert_string_equal(get(m, 0, 3, 0, 1, 0), "GW");
    assert_string_equal(get(m, 0, 3, 0, 3, 0), "EUI-64");
    assert_string_equal(get(m, 0, 9, 0, 2, 0), "R01");
    assert_string_equal(get(m, 0, 10, 0, 0, 0), "C1");
    assert_string_equal(get(m, 1, 3, 0, 1, 0), "400123");
    assert_string_equal(get(m, 1, 3, 1, 1, 0), "X9");
    assert_string_equal(get(m, 1, 3, 1, 5, 0), "PI");
    assert_int_equal(hl7_rep_count(m, 1, 3), 2);
    assert_string_equal(get(m, 1, 5, 0, 2, 0), "Tomas");
    assert_string_equal(get(m, 2, 3, 0, 1, 2), "b");
    assert_string_equal(get(m, 2, 3, 0, 2, 0), "x");
    assert_string_equal(get(m, 2, 3, 0, 5, 0), "");  /* absent component */
    assert_string_equal(get(m, 2, 40, 0, 0, 0), ""); /* absent field */
    assert_int_equal(hl7_seg_find(m, "OBX", 0), 2);
    assert_int_equal(hl7_seg_find(m, "NTE", 0), -1);
    hl7_free(m);
}

static void test_other_delimiters_and_escapes(void **state)
{
    (void)state;
    /* MSH-1/MSH-2 chosen by the sender: # as field, @ component, * repetition. */
    hl7_msg *m = parse_ok("MSH#@*/$#A#B\rNTE#1##a/F/b/S/c/T/d/R/e/E/f/X41/\r");
    assert_string_equal(get(m, 1, 3, 0, 0, 0), "a#b@c$d*e/fA");
    hl7_free(m);
    m = parse_ok("MSH|^~\\&|A\rNTE|1||x\\F\\y\\S\\z\\T\\w\\R\\v\\E\\u\\X0D0A\\\\H\\t\\N\\\r");
    assert_string_equal(get(m, 1, 3, 0, 0, 0), "x|y^z&w~v\\u\r\nt");
    hl7_free(m);
    /* malformed escapes are errors, not silently kept */
    m = parse_ok("MSH|^~\\&|A\rNTE|1||bad\\Q\\x|open\\F|odd\\X4\\\r");
    assert_string_equal(get(m, 1, 3, 0, 0, 0), "<error>");
    assert_string_equal(get(m, 1, 4, 0, 0, 0), "<error>");
    assert_string_equal(get(m, 1, 5, 0, 0, 0), "<error>");
    hl7_free(m);
}

static void test_segment_ends(void **state)
{
    (void)state;
    hl7_msg *m = parse_ok("MSH|^~\\&|A\r\nPID|1\r\nOBX|1\r\n");
    assert_int_equal(hl7_seg_count(m), 3);
    assert_string_equal(hl7_seg_id(m, 2), "OBX");
    hl7_free(m);
    m = parse_ok("MSH|^~\\&|A\rPID|1\rOBX|1"); /* no final CR */
    assert_int_equal(hl7_seg_count(m), 3);
    assert_string_equal(get(m, 2, 1, 0, 0, 0), "1");
    hl7_free(m);
}

static void expect_reject(const char *text, size_t len, int code, int field)
{
    hl7_err e = {0};
    hl7_msg *m = hl7_parse(text, len, &e);

    if (m)
        fail_msg("accepted: %.40s", text);
    assert_int_equal(e.code, code);
    assert_int_equal(e.field, field);
    assert_true(e.text[0] != '\0');
}

static void test_rejects(void **state)
{
    (void)state;
    expect_reject("", 0, HL7_SEGMENT_SEQUENCE, 1);
    expect_reject("PID|1", 5, HL7_SEGMENT_SEQUENCE, 1);
    expect_reject("MSH|^^\\&|A", 10, HL7_SEGMENT_SEQUENCE, 1); /* repeated delimiter */
    expect_reject("MSH|^~\\&A|B", 11, HL7_SEGMENT_SEQUENCE, 1);
    expect_reject("MSH|^~\\&|A\rpid|1\r", 17, HL7_SEGMENT_SEQUENCE, 0);
    const char *shift_jis = "MSH|^~\\&|A|B|C|D|E||ADT^A01|1|P|2.5||||||ISO IR87\r";
    expect_reject(shift_jis, strlen(shift_jis), HL7_TABLE_VALUE, 18);
    const char bad_utf8[] =
        "MSH|^~\\&|A|B|C|D|E||ADT^A01|1|P|2.5||||||UNICODE UTF-8\rPID|||\xC3(\r";
    expect_reject(bad_utf8, sizeof bad_utf8 - 1, HL7_DATA_TYPE, 18);
}

static void test_charsets(void **state)
{
    (void)state;
    /* ISO 8859-1 "Müller" comes out as UTF-8, \XFC\ too */
    const char latin[] = "MSH|^~\\&|A|B|C|D|E||ADT^A01|1|P|2.5||||||8859/1\rPID|||1||M\xFCller^J"
                         "\\XFC\\rg\r";
    hl7_msg *m = hl7_parse(latin, sizeof latin - 1, NULL);
    assert_non_null(m);
    assert_string_equal(get(m, 1, 5, 0, 1, 0), "M\xC3\xBCller");
    assert_string_equal(get(m, 1, 5, 0, 2, 0), "J\xC3\xBCrg");
    hl7_free(m);
    const char utf8[] = "MSH|^~\\&|A|B|C|D|E||ADT^A01|1|P|2.5||||||UNICODE UTF-8\rPID|||1||"
                        "M\xC3\xBCller^\\XC3BC\\\r";
    m = hl7_parse(utf8, sizeof utf8 - 1, NULL);
    assert_non_null(m);
    assert_string_equal(get(m, 1, 5, 0, 1, 0), "M\xC3\xBCller");
    assert_string_equal(get(m, 1, 5, 0, 2, 0), "\xC3\xBC");
    hl7_free(m);
    /* \X\ that makes invalid UTF-8 in a UTF-8 message */
    m = parse_ok("MSH|^~\\&|A\rNTE|1||\\XC3\\\r");
    assert_string_equal(get(m, 1, 3, 0, 0, 0), "<error>");
    hl7_free(m);
}

static int64_t dtm(const char *s, int min)
{
    int64_t ms = 0;
    if (hl7_dtm(s, min, &ms, NULL) != 0)
        return INT64_MIN;
    return ms;
}

static int64_t iso(const char *s)
{
    int64_t ms = 0;
    assert_int_equal(timefmt_parse(s, &ms), 0);
    return ms;
}

static void test_dtm(void **state)
{
    bool zoned = true;
    int64_t ms = 0;
    (void)state;
    assert_int_equal(dtm("20260302100105-0500", 12), iso("2026-03-02T15:01:05Z"));
    assert_int_equal(dtm("20260308031000-0400", 12), iso("2026-03-08T07:10:00Z"));
    assert_int_equal(dtm("20090713090030+0500", 12), iso("2009-07-13T04:00:30Z"));
    assert_int_equal(dtm("202603021001", 12), iso("2026-03-02T10:01:00Z"));
    assert_int_equal(dtm("20260302100105.25+0000", 12), iso("2026-03-02T10:01:05.250Z"));
    assert_int_equal(dtm("19680412", 8), iso("1968-04-12T00:00:00Z"));
    /* without a zone: the ward's offset (hl7_ward_offset_at) */
    assert_int_equal(hl7_dtm("20081211144500", 12, &ms, &zoned), 0);
    assert_false(zoned);
    assert_int_equal(ms, iso("2008-12-11T14:45:00Z") - hl7_ward_offset_at(ms) * 60000LL);
    assert_int_equal(dtm("1968", 4), iso("1968-01-01T00:00:00Z"));
    /* malformed or out of range */
    const char *bad[] = {"",
                         "2026030",
                         "20260230",
                         "2026130110",
                         "202603021",
                         "2026030224",
                         "20260302105960",
                         "20260302+05",
                         "202603021001+2500",
                         "20260302100105.+0000",
                         "20260302x",
                         "202603021001-05000",
                         "19000229"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (dtm(bad[i], 4) != INT64_MIN)
            fail_msg("accepted DTM \"%s\"", bad[i]);
    assert_int_equal(dtm("20260302", 12), INT64_MIN); /* too coarse for a reading */
    char buf[32];
    assert_string_equal(hl7_dtm_format(iso("2026-03-02T15:01:05.999Z"), buf, sizeof buf),
                        "20260302150105+0000");
}

static void test_ack(void **state)
{
    (void)state;
    hl7_msg *in = parse_ok("MSH|^~\\&|AcmeInc^ACDE48234567ABCD^EUI-64|Fac|||20090713090030+0000||"
                           "ORU^R01^ORU_R01|MSGID1234|P|2.6\r");
    hl7_err errs[2];
    size_t len = 0;
    char *ack = hl7_ack_build(in, "AA", NULL, 0, iso("2026-03-02T15:01:05Z"), "A1", &len);
    assert_non_null(ack);
    assert_int_equal(strlen(ack), len);
    assert_string_equal(ack, "MSH|^~\\&|WARDD|WARDD|AcmeInc^ACDE48234567ABCD^EUI-64|Fac|"
                             "20260302150105+0000||ACK^R01^ACK|A1|P|2.6|||NE|NE||UNICODE UTF-8\r"
                             "MSA|AA|MSGID1234\r");
    free(ack);
    hl7_err_set(&errs[0], "OBX", 3, 3, HL7_TABLE_VALUE, "code 1500212 has no wardd code");
    hl7_err_set(&errs[1], "PID", 1, 3, HL7_REQUIRED_MISSING, "a|b^c"); /* escaped */
    ack = hl7_ack_build(in, "AE", errs, 2, iso("2026-03-02T15:01:05Z"), "A2", &len);
    hl7_msg *back = parse_ok(ack);
    assert_int_equal(hl7_seg_count(back), 4);
    assert_string_equal(get(back, 1, 1, 0, 0, 0), "AE");
    assert_string_equal(get(back, 2, 2, 0, 0, 0), "OBX^3^3");
    assert_string_equal(get(back, 2, 3, 0, 1, 0), "103");
    assert_string_equal(get(back, 2, 3, 0, 2, 0), "Table value not found");
    assert_string_equal(get(back, 2, 3, 0, 3, 0), "HL70357");
    assert_string_equal(get(back, 2, 4, 0, 0, 0), "E");
    assert_string_equal(get(back, 2, 8, 0, 0, 0), "code 1500212 has no wardd code");
    assert_string_equal(get(back, 3, 8, 0, 0, 0), "a|b^c");
    hl7_free(back);
    free(ack);
    hl7_free(in);
    /* no inbound message: MSA-2 empty, version 2.6 */
    ack = hl7_ack_build(NULL, "AR", NULL, 0, 0, "A3", &len);
    back = parse_ok(ack);
    assert_string_equal(get(back, 0, 12, 0, 0, 0), "2.6");
    assert_string_equal(get(back, 1, 2, 0, 0, 0), "");
    hl7_free(back);
    free(ack);
}

static void test_fixtures_parse(void **state)
{
    static const char *const files[] = {"pcd01/continua-wan-pulse-oximeter-spo2.hl7",
                                        "pcd01/continua-wan-scale-weight.hl7",
                                        "pcd01/pcd01-maximal-nte-repeats.hl7",
                                        "pcd01-crlf/pcd01-icu-gateway-ecg-hr-artbp.hl7",
                                        "ward/oru-r01-bedside-vitals.hl7",
                                        "ward/adt-a02-transfer-late.hl7"};
    static const size_t segs[] = {6, 16, 28, 13, 12, 4};
    (void)state;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[256];
        size_t len;
        snprintf(path, sizeof path, "tests/hl7/fixtures/%s", files[i]);
        char *text = slurp(path, &len);
        hl7_err e = {0};
        hl7_msg *m = hl7_parse(text, len, &e);
        if (!m)
            fail_msg("%s: %s", files[i], e.text);
        if (hl7_seg_count(m) != segs[i])
            fail_msg("%s: %zu segments", files[i], hl7_seg_count(m));
        hl7_free(m);
        free(text);
    }
}

/* Feeds `s` to the framer in pieces of `step` bytes; collects frames. */
static int frames_of(const char *s, size_t n, size_t step, size_t max, char out[][64],
                     int *oversize)
{
    mllp_framer f;
    int count = 0;

    assert_int_equal(mllp_init(&f, max), 0);
    *oversize = 0;
    for (size_t at = 0; at < n;) {
        size_t piece = n - at < step ? n - at : step, off = 0;
        while (off < piece) {
            size_t used = 0, flen;
            mllp_event ev = mllp_feed(&f, s + at + off, piece - off, &used);
            off += used;
            if (ev == MLLP_FRAME) {
                const char *fr = mllp_frame(&f, &flen);
                snprintf(out[count++], 64, "%.*s", (int)flen, fr);
            } else if (ev == MLLP_OVERSIZE) {
                (*oversize)++;
            }
        }
        at += piece;
    }
    mllp_free(&f);
    return count;
}

static void test_mllp(void **state)
{
    char out[8][64];
    int over;
    (void)state;
    const char two[] = "junk\x0b"
                       "A1\x1c\r\x0b"
                       "B2\x1c\r";
    for (size_t step = 1; step <= sizeof two; step++) {
        assert_int_equal(frames_of(two, sizeof two - 1, step, 100, out, &over), 2);
        assert_string_equal(out[0], "A1");
        assert_string_equal(out[1], "B2");
        assert_int_equal(over, 0);
    }
    /* a frame without its end yields nothing; a restart drops the partial */
    assert_int_equal(frames_of("\x0b"
                               "AB",
                               3, 1, 100, out, &over),
                     0);
    assert_int_equal(frames_of("\x0b"
                               "AB\x0b"
                               "CD\x1c\r",
                               8, 3, 100, out, &over),
                     1);
    assert_string_equal(out[0], "CD");
    /* 0x1C without 0x0D still ends the frame */
    assert_int_equal(frames_of("\x0b"
                               "AB\x1c\x0b"
                               "C\x1c",
                               7, 7, 100, out, &over),
                     2);
    assert_string_equal(out[1], "C");
    /* over the limit */
    assert_int_equal(frames_of("\x0b"
                               "ABCDEFGH\x1c\r",
                               11, 4, 4, out, &over),
                     0);
    assert_int_equal(over, 1);
    assert_int_equal(frames_of("\x0b"
                               "ABCD\x1c\r",
                               7, 7, 4, out, &over),
                     1); /* exactly max */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_components_repetitions),
        cmocka_unit_test(test_other_delimiters_and_escapes),
        cmocka_unit_test(test_segment_ends),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_charsets),
        cmocka_unit_test(test_dtm),
        cmocka_unit_test(test_ack),
        cmocka_unit_test(test_fixtures_parse),
        cmocka_unit_test(test_mllp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
