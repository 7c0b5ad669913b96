/* hl7: HL7 v2 messages (docs/hl7.md). Pure: no I/O, no SQL.
 *
 * - hl7_parse: one message (the bytes between MLLP's 0x0B and 0x1C):
 *   delimiters from MSH-1/MSH-2, segments ended by CR, CRLF or LF (a
 *   missing final terminator is fine), MSH-18 character sets (empty,
 *   ASCII, UNICODE UTF-8 as UTF-8; 8859/1 converted to UTF-8; any other is
 *   refused), every segment id three upper-case letters or digits.
 * - hl7_get: one value, located by segment, field, repetition, component
 *   and subcomponent, with the escape sequences \F\ \S\ \T\ \R\ \E\ and
 *   \Xhh..\ decoded (\H\ and \N\ highlighting dropped).
 * - hl7_dtm: an HL7 DTM value to UTC epoch ms; a value without a zone is
 *   read at the ward's UTC offset (hl7_ward_offset_at).
 * - hl7_ack_build: an ACK with MSH, MSA and ERR segments (HL7 table 0357).
 * - mllp_*: the MLLP framer (0x0B message 0x1C 0x0D), a byte-stream state
 *   machine with a bounded frame size. */
#ifndef WARDD_HL7_H
#define WARDD_HL7_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* HL7 table 0357 (message error condition codes) used by wardd. */
enum hl7_cond {
    HL7_OK = 0,
    HL7_SEGMENT_SEQUENCE = 100,
    HL7_REQUIRED_MISSING = 101,
    HL7_DATA_TYPE = 102,
    HL7_TABLE_VALUE = 103,
    HL7_UNSUPPORTED_MESSAGE = 200,
    HL7_UNSUPPORTED_EVENT = 201,
    HL7_UNSUPPORTED_PROCESSING = 202,
    HL7_UNSUPPORTED_VERSION = 203,
    HL7_UNKNOWN_KEY = 204,
    HL7_DUPLICATE_KEY = 205,
    HL7_RECORD_LOCKED = 206,
    HL7_INTERNAL = 207,
};
/* The table's text for a code ("Required field missing"). */
const char *hl7_cond_text(int code);

/* One problem: where (segment id, its 1-based sequence among segments of
 * that id, field; 0 = not applicable), the table 0357 code, and a sentence. */
typedef struct hl7_err {
    char seg[4];
    int seq;
    int field;
    int code;
    char text[200];
} hl7_err;

/* Fills *e; text is printf-formatted. Returns e. */
hl7_err *hl7_err_set(hl7_err *e, const char *seg, int seq, int field, int code, const char *fmt,
                     ...) __attribute__((format(printf, 6, 7)));

/* --- messages ------------------------------------------------------------------ */

typedef struct hl7_msg hl7_msg;

/* Longest message hl7_parse accepts (the listener's frame limit applies
 * first; this bounds the fuzzer and the tests). */
#define HL7_MAX_SEGMENTS 4096

/* Parses `len` bytes. Returns the message (free with hl7_free), or NULL
 * with *err filled (err may be NULL): not starting with MSH and valid
 * delimiters (100), unsupported MSH-18 (103), bytes that are not valid in
 * the character set (102), a malformed segment id (100), too many
 * segments (207), no memory (207). */
hl7_msg *hl7_parse(const char *data, size_t len, hl7_err *err);
void hl7_free(hl7_msg *m);

size_t hl7_seg_count(const hl7_msg *m);
/* The id of segment i ("MSH"), or "" when out of range. */
const char *hl7_seg_id(const hl7_msg *m, size_t i);
/* The index of the first segment with this id at or after `from`, or -1. */
long hl7_seg_find(const hl7_msg *m, const char *id, size_t from);
/* How many segments with segment i's id come before it, plus one. */
int hl7_seg_seq(const hl7_msg *m, size_t i);
/* The number of fields of segment i (MSH counts MSH-1). */
int hl7_field_count(const hl7_msg *m, size_t seg);
/* The number of repetitions of a field (0 when empty or absent). */
int hl7_rep_count(const hl7_msg *m, size_t seg, int field);

/* The value at seg/field/rep/comp/sub (field, comp and sub 1-based; rep
 * 0-based; comp or sub 0 = the whole of the level above, still unescaped),
 * unescaped UTF-8, NUL-terminated, into buf. Returns its length (0 when
 * empty or absent), or -1 when it does not fit or an escape sequence is
 * malformed. MSH-1 is the field separator, MSH-2 the encoding characters
 * (both returned verbatim). */
long hl7_get(const hl7_msg *m, size_t seg, int field, int rep, int comp, int sub, char *buf,
             size_t len);
/* The same from the first segment with this id (none: 0, empty). */
long hl7_get_first(const hl7_msg *m, const char *id, int field, int comp, char *buf, size_t len);

/* --- times ---------------------------------------------------------------------- */

/* The ward's UTC offset in minutes at UTC time t_ms, for DTM values without
 * a zone. Today: 0 (UTC). One function so that the ward's IANA time zone
 * (`--time-zone`) replaces it in one place. */
int hl7_ward_offset_at(int64_t t_ms);

/* Parses a DTM "YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]" (at least
 * `min_digits` of the date-time digits: 8 for a date, 12 for a reading's
 * time) into UTC epoch ms (the start of the stated precision). 0, or -1
 * when malformed or out of range. *had_zone (may be NULL) tells whether
 * an offset was given. */
int hl7_dtm(const char *s, int min_digits, int64_t *ms, bool *had_zone);
/* Formats ms as "YYYYMMDDHHMMSS+0000" into buf (>= 20 bytes). */
char *hl7_dtm_format(int64_t ms, char *buf, size_t len);

/* --- ACKs ----------------------------------------------------------------------- */

/* An ACK (segments ended by CR, no MLLP frame) answering `in` (NULL when it
 * could not be parsed: MSH-3..6 and MSA-2 then stay empty): MSH (sender
 * WARDD, the receiver the inbound's sender, ACK^<trigger>^ACK, control id
 * `ack_id`, the inbound version when wardd supports it else 2.6, UNICODE
 * UTF-8), MSA (code, the inbound MSH-10), and one ERR per problem
 * (ERR-2 location SEG^seq^field, ERR-3 code^text^HL70357, ERR-4 E,
 * ERR-8 the sentence). Returns a malloc'd NUL-terminated string, *len its
 * length; NULL when out of memory. */
char *hl7_ack_build(const hl7_msg *in, const char *code, const hl7_err *errs, size_t n,
                    int64_t now_ms, const char *ack_id, size_t *len);

/* Appends `s` to out with the delimiters escaped (\F\ \S\ \T\ \R\ \E\) and
 * CR/LF dropped; returns the bytes written (at most cap - 1, NUL-terminated). */
size_t hl7_escape(const char *s, char *out, size_t cap);

/* --- MLLP framing ----------------------------------------------------------------- */

#define MLLP_SB 0x0B
#define MLLP_EB 0x1C
#define MLLP_CR 0x0D
/* Default and bounds of the frame size limit (bytes of message). */
#define MLLP_FRAME_DEFAULT (1024 * 1024)

typedef struct mllp_framer {
    char *buf;
    size_t len, cap, max;
    int state;          /* internal */
    uint64_t discarded; /* bytes outside any frame, so far */
} mllp_framer;

typedef enum mllp_event {
    MLLP_NEED_MORE, /* every byte consumed; no complete frame yet */
    MLLP_FRAME,     /* a frame is complete: mllp_frame() until the next feed */
    MLLP_OVERSIZE,  /* the frame exceeds max: mllp_frame() holds its first max bytes */
} mllp_event;

/* max: the largest message accepted. 0, or -1 (no memory). */
int mllp_init(mllp_framer *f, size_t max);
void mllp_free(mllp_framer *f);
/* Consumes bytes up to and including the end of one frame; *used gets how
 * many were consumed (call again with the rest). A 0x0B inside a frame
 * restarts it (the partial frame is discarded); 0x1C not followed by 0x0D
 * still ends the frame. After MLLP_OVERSIZE the stream cannot be resynced:
 * close the connection. */
mllp_event mllp_feed(mllp_framer *f, const char *data, size_t len, size_t *used);
/* The frame just completed (or the oversize prefix). */
const char *mllp_frame(const mllp_framer *f, size_t *len);
/* True while inside a frame (bytes of an unfinished message held). */
bool mllp_in_frame(const mllp_framer *f);

#endif
