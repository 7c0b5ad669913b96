/* hl7_int: private to server/hl7/ (the code map, the PCD-01 and ADT
 * mappings, the inbound path). */
#ifndef WARDD_HL7_INT_H
#define WARDD_HL7_INT_H

#include "hl7.h"
#include "ingest.h"
#include "obs.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- the code map (codemap.c, schema/hl7/codemap.tsv) --------------------- */
typedef enum codemap_kind { CODEMAP_NONE, CODEMAP_OBS, CODEMAP_IGNORE } codemap_kind;
/* Loads and checks the embedded map once (any thread); 0, or -1 after
 * logging every problem. */
int codemap_load(void);
/* OBX-3 (identifier, text, coding system): what it is; *code gets the
 * wardd code for CODEMAP_OBS. */
codemap_kind codemap_obs(const char *id, const char *text, const char *system,
                         const obs_code **code);
/* OBX-6 (identifier, text, coding system) to UCUM, or NULL when unknown. */
const char *codemap_unit(const char *id, const char *text, const char *system);

/* --- the message being answered ------------------------------------------------ */
#define HL7_MAX_ERRS 32

typedef struct hl7_job {
    /* in */
    const hl7_msg *msg;
    store_feed feed;
    char control_id[200];
    char type[8], trigger[8]; /* MSH-9.1, MSH-9.2 */
    int64_t now;
    /* PCD-01 */
    ingest *in;
    char mrn[64], location[200], dev_serial[128], dev_eui[32];
    int64_t first_time;
    char bed[64];         /* the bed the message names ("" none): pcd01_resolve */
    store_device_ref dev; /* the registered device (id 0 none): pcd01_resolve */
    /* outcome */
    hl7_err errs[HL7_MAX_ERRS];
    size_t nerr;
    bool reject;           /* AR */
    bool ignored;          /* accepted, nothing to do (other unit, other event) */
    int64_t patient_id;    /* ADT: the patient changed (after-commit hooks) */
    const char *action;    /* ADT: the patient event action ("admit", ...) */
    char *ack;             /* the ACK sent (malloc'd) */
    char code[4];          /* its MSA-1 */
    int64_t tech_alert_id; /* an identity_mismatch alert raised (event after commit) */
    char tech_alert_msg[300];
    size_t ack_len;
    bool duplicate; /* the control id was answered before: ack is that answer */
} hl7_job;

/* Adds a problem (dropped once HL7_MAX_ERRS are recorded). */
void hl7_job_err(hl7_job *j, const char *seg, int seq, int field, int code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* pcd01.c: validates every OBX into j->in (caller thread); AR problems set
 * j->reject. 0, or -1 when out of memory. */
int pcd01_prepare(hl7_job *j);
/* pcd01.c: the bed and device the message names, from the mapping data
 * on a read connection (caller thread). 0, or -1 (storage). */
int pcd01_resolve(hl7_job *j);
/* pcd01.c: on the writer thread: files and stores j->in (identity checks
 * and the identity_mismatch alert). 0 or DB_STORAGE_FAILURE. */
int pcd01_apply(db_conn *c, hl7_job *j);
/* adt.c: on the writer thread: applies the ADT event (problems go to
 * j->errs: nothing changes then). 0 or DB_STORAGE_FAILURE. */
int adt_apply(db_conn *c, hl7_job *j);

#endif
